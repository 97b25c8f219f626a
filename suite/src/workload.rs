//! The queue workload: workers that send keyed, unique, increasing values
//! and poll them back, each worker one *process* of the history, plus the
//! final reads of every partition after heal.

use crate::client::{ClientSettings, Consumer, PollResult, Producer, Rebalanced, SendOutcome};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rdkafka::Offset;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_histories::values::{Assignment, FinalRead, Partition, Poll, Record, Send, Subscribe};
use trial_histories::{HistoryWriter, Op, OpType, Process, F};

/// How consumers get their partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SubVia {
    /// Manual assignment of a random subset of partitions, read from the start.
    Assign,
    /// Subscription in one consumer group shared by all workers.
    Subscribe,
}

/// The workload's knobs.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    pub partitions: u32,
    /// Number of distinct keys.
    pub keys: u64,
    pub concurrency: usize,
    /// Target ops/s over all workers (0 = as fast as possible).
    pub rate: f64,
    pub sub_via: SubVia,
    /// Chance per op that a worker crashes its clients and opens new ones.
    pub crash_probability: f64,
    /// Share of ops that are sends (the rest are polls).
    pub send_ratio: f64,
    pub seed: u64,
    pub group: String,
    /// Pipelined senders: this many send-only processes share one producer,
    /// each with one send outstanding, so librdkafka batches across them
    /// (0: every worker sends and polls with its own clients).
    pub pipeline: usize,
}

/// Live counters for the progress line.
#[derive(Debug, Default)]
pub struct Counters {
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
    pub sends_ok: AtomicU64,
}

impl Counters {
    fn count(&self, t: OpType) {
        match t {
            OpType::Ok => self.ok.fetch_add(1, Ordering::Relaxed),
            OpType::Fail => self.fail.fetch_add(1, Ordering::Relaxed),
            OpType::Info => self.info.fetch_add(1, Ordering::Relaxed),
            OpType::Invoke => 0,
        };
    }
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.ok.load(Ordering::Relaxed),
            self.fail.load(Ordering::Relaxed),
            self.info.load(Ordering::Relaxed),
        )
    }
}

struct Shared {
    history: Arc<HistoryWriter>,
    settings: ClientSettings,
    opts: QueueOptions,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    next_value: AtomicU64,
    counters: Arc<Counters>,
}

/// A running workload: join it to wait for every worker.
pub struct Workload {
    threads: Vec<(u64, std::thread::JoinHandle<()>)>,
}

impl Workload {
    /// Start `concurrency` worker threads that run until `time_limit` has
    /// passed or `stop` is set. Each worker is history process `0..n`.
    pub fn start(
        history: Arc<HistoryWriter>,
        settings: ClientSettings,
        opts: QueueOptions,
        time_limit: Duration,
        stop: Arc<AtomicBool>,
        counters: Arc<Counters>,
    ) -> Workload {
        let shared = Arc::new(Shared {
            history,
            settings,
            deadline: Instant::now() + time_limit,
            opts,
            stop,
            next_value: AtomicU64::new(0),
            counters,
        });
        let mut threads: Vec<(u64, std::thread::JoinHandle<()>)> = (0..shared.opts.concurrency)
            .map(|i| {
                let s = shared.clone();
                let h = std::thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn(move || worker(i as u64, &s))
                    .expect("spawning a worker thread");
                (i as u64, h)
            })
            .collect();
        if shared.opts.pipeline > 0 {
            let s = shared.clone();
            let h = std::thread::Builder::new()
                .name("pipeline".into())
                .spawn(move || pipeline(&s))
                .expect("spawning the pipeline thread");
            threads.push((u64::MAX, h));
        }
        Workload { threads }
    }

    /// Wait, at most `limit`, for every worker to finish its current op.
    /// Returns the workers still running then: they are stuck inside the
    /// client library (librdkafka has lock-order deadlocks around leader
    /// changes, e.g. confluentinc/librdkafka#5476) and are abandoned. Their
    /// last op stays without a completion, which checkers read as unknown —
    /// exactly what a client that never answers means.
    pub fn join_within(self, limit: Duration) -> Vec<u64> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && self.threads.iter().any(|(_, h)| !h.is_finished()) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut stuck = vec![];
        for (i, h) in self.threads {
            if h.is_finished() {
                let _ = h.join();
            } else {
                tracing::warn!(
                    "worker {i} did not return within {limit:?}: stuck inside librdkafka; abandoned, its open op counts as indeterminate"
                );
                stuck.push(i);
            }
        }
        stuck
    }
}

/// Paces a loop at a mean gap (seconds; 0 = no pacing) with exponential
/// gaps: Poisson arrivals at the target rate.
struct Pacer {
    gap: f64,
    next: Instant,
}

impl Pacer {
    fn new(gap: f64) -> Pacer {
        Pacer {
            gap,
            next: Instant::now(),
        }
    }

    /// Sleep until the next arrival; false if `deadline` came first.
    fn wait(&mut self, rng: &mut ChaCha8Rng, deadline: Instant) -> bool {
        if self.gap <= 0.0 {
            return true;
        }
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        self.next += Duration::from_secs_f64(-u.ln() * self.gap);
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep((self.next - now).min(deadline.saturating_duration_since(now)));
            return Instant::now() < deadline;
        }
        if now - self.next > Duration::from_secs(1) {
            self.next = now; // do not burst after a long stall
        }
        true
    }
}

struct Clients {
    producer: Option<Producer>,
    consumer: Option<Consumer>,
}

fn record(s: &Shared, op: Op) {
    if op.kind != OpType::Invoke {
        s.counters.count(op.kind);
    }
    if let Err(e) = s.history.append(op) {
        tracing::error!("cannot append to the history: {e}");
        s.stop.store(true, Ordering::Relaxed);
    }
}

fn random_partitions(rng: &mut ChaCha8Rng, n: u32) -> Vec<Partition> {
    let mut v: Vec<Partition> = (0..n as Partition).filter(|_| rng.gen_bool(0.5)).collect();
    if v.is_empty() {
        v.push(rng.gen_range(0..n as Partition));
    }
    v
}

/// Open clients and attach the consumer (assign or subscribe), recording it.
fn open(s: &Shared, p: &Process, rng: &mut ChaCha8Rng) -> Clients {
    let producer = match Producer::new(&s.settings) {
        Ok(pr) => Some(pr),
        Err(e) => {
            tracing::warn!("worker {p}: cannot create a producer: {e}");
            None
        }
    };
    let consumer = match Consumer::new(&s.settings, &s.opts.group) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!("worker {p}: cannot create a consumer: {e}");
            None
        }
    };
    if let Some(c) = &consumer {
        attach(s, p, c, rng);
    }
    Clients { producer, consumer }
}

fn attach(s: &Shared, p: &Process, c: &Consumer, rng: &mut ChaCha8Rng) {
    match s.opts.sub_via {
        SubVia::Assign => {
            let parts = random_partitions(rng, s.opts.partitions);
            let v = Assignment {
                seek: parts.iter().map(|&p| (p, 0)).collect(),
                partitions: parts,
            };
            record(
                s,
                Op::new(p.clone(), OpType::Invoke, F::Assign).with_value(&v),
            );
            let done = match c.assign(&v.partitions, Offset::Beginning) {
                Ok(()) => Op::new(p.clone(), OpType::Ok, F::Assign).with_value(&v),
                Err(e) => Op::new(p.clone(), OpType::Fail, F::Assign)
                    .with_value(&v)
                    .with_error(e.to_string()),
            };
            record(s, done);
        }
        SubVia::Subscribe => {
            let v = Subscribe {
                topics: vec![s.settings.topic.clone()],
                group: Some(s.opts.group.clone()),
            };
            record(
                s,
                Op::new(p.clone(), OpType::Invoke, F::Subscribe).with_value(&v),
            );
            let done = match c.subscribe() {
                Ok(()) => Op::new(p.clone(), OpType::Ok, F::Subscribe).with_value(&v),
                Err(e) => Op::new(p.clone(), OpType::Fail, F::Subscribe)
                    .with_value(&v)
                    .with_error(e.to_string()),
            };
            record(s, done);
        }
    }
}

fn crash(s: &Shared, p: &Process, clients: &mut Clients, why: &str, rng: &mut ChaCha8Rng) {
    record(s, Op::new(p.clone(), OpType::Invoke, F::Crash));
    // Dropping closes the clients; a producer drop flushes for a bounded time.
    if let Some(pr) = clients.producer.take() {
        pr.flush(Duration::from_millis(200));
    }
    clients.consumer = None;
    record(
        s,
        Op::new(p.clone(), OpType::Info, F::Crash)
            .with_error(format!("client closed and reopened: {why}")),
    );
    *clients = open(s, p, rng);
}

fn do_send(s: &Shared, p: &Process, pr: &Producer, key: u64) -> OpType {
    let value = s.next_value.fetch_add(1, Ordering::Relaxed) + 1;
    let v = Send {
        key,
        value,
        partition: None,
        offset: None,
    };
    record(
        s,
        Op::new(p.clone(), OpType::Invoke, F::Send).with_value(&v),
    );
    let (t, v, err) = match pr.send(key, value) {
        SendOutcome::Ok { partition, offset } => {
            s.counters.sends_ok.fetch_add(1, Ordering::Relaxed);
            (
                OpType::Ok,
                Send {
                    partition: Some(partition),
                    offset: Some(offset),
                    ..v
                },
                None,
            )
        }
        SendOutcome::Fail(e) => (OpType::Fail, v, Some(e)),
        SendOutcome::Info(e) => (OpType::Info, v, Some(e)),
    };
    let mut op = Op::new(p.clone(), t, F::Send).with_value(&v);
    if let Some(e) = err {
        op = op.with_error(e);
    }
    record(s, op);
    t
}

fn record_poll(s: &Shared, p: &Process, records: Vec<Record>, error: Option<String>) {
    let (t, v) = match error {
        Some(e) if records.is_empty() => (OpType::Fail, Some(e)),
        // Records came back before the error: the poll did happen.
        _ => (OpType::Ok, None),
    };
    let mut op = Op::new(p.clone(), t, F::Poll).with_value(&Poll { records });
    if let Some(e) = v {
        op = op.with_error(e);
    }
    record(s, op);
}

fn do_poll(s: &Shared, p: &Process, c: &Consumer) -> OpType {
    record(s, Op::new(p.clone(), OpType::Invoke, F::Poll));
    let PollResult {
        records,
        rebalance,
        after,
        error,
    } = c.poll(200, Duration::from_millis(100));
    let failed = error.is_some() && records.is_empty() && rebalance.is_none();
    match rebalance {
        None => record_poll(s, p, records, error),
        Some(ev) => {
            // The assignment changed inside this poll: close the poll with
            // what came before, record the rebalance, and record what came
            // after as a poll of its own.
            record_poll(s, p, records, None);
            let parts = match &ev {
                Rebalanced::Assigned(v) => v.clone(),
                Rebalanced::Revoked(_) => vec![],
            };
            let v = Assignment {
                partitions: parts,
                seek: vec![],
            };
            record(
                s,
                Op::new(p.clone(), OpType::Invoke, F::Rebalance).with_value(&v),
            );
            record(
                s,
                Op::new(p.clone(), OpType::Ok, F::Rebalance).with_value(&v),
            );
            record(s, Op::new(p.clone(), OpType::Invoke, F::Poll));
            record_poll(s, p, after, error);
        }
    }
    if failed {
        OpType::Fail
    } else {
        OpType::Ok
    }
}

fn worker(i: u64, s: &Shared) {
    let p = Process::Worker(i);
    let mut rng =
        ChaCha8Rng::seed_from_u64(s.opts.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i + 1)));
    let per_worker = if s.opts.rate > 0.0 {
        s.opts.concurrency as f64 / s.opts.rate
    } else {
        0.0
    };
    let mut clients = open(s, &p, &mut rng);
    let mut pacer = Pacer::new(per_worker);
    while !s.stop.load(Ordering::Relaxed) && Instant::now() < s.deadline {
        if !pacer.wait(&mut rng, s.deadline) {
            break;
        }
        if rng.gen_bool(s.opts.crash_probability.clamp(0.0, 1.0)) {
            crash(s, &p, &mut clients, "scheduled crash", &mut rng);
            continue;
        }
        // With pipelined senders the workers only poll.
        let ratio = if s.opts.pipeline > 0 {
            0.0
        } else {
            s.opts.send_ratio
        };
        let send = rng.gen_bool(ratio.clamp(0.0, 1.0));
        let outcome = if send {
            match &clients.producer {
                Some(pr) => {
                    let key = rng.gen_range(0..s.opts.keys.max(1));
                    do_send(s, &p, pr, key)
                }
                None => OpType::Fail,
            }
        } else {
            match &clients.consumer {
                Some(c) => do_poll(s, &p, c),
                None => OpType::Fail,
            }
        };
        if (clients.producer.is_none() || clients.consumer.is_none())
            || (outcome == OpType::Info && rng.gen_bool(0.5))
        {
            // A real application reopens its clients after an error.
            std::thread::sleep(Duration::from_millis(100));
            crash(
                s,
                &p,
                &mut clients,
                "after an indeterminate operation",
                &mut rng,
            );
        }
    }
    if let Some(pr) = clients.producer.take() {
        pr.flush(Duration::from_secs(1));
    }
}

/// Read every partition from its start to its high watermark with a fresh
/// consumer, recording one `final-read` op per partition (process `final`).
/// Returns whether every partition was read completely.
pub fn final_reads(
    history: &HistoryWriter,
    settings: &ClientSettings,
    partitions: u32,
    timeout: Duration,
) -> bool {
    let proc_ = Process::Named("final".into());
    let mut all = true;
    for part in 0..partitions as Partition {
        let _ = history.append(
            Op::new(proc_.clone(), OpType::Invoke, F::FinalRead)
                .with_value(&serde_json::json!({ "partition": part })),
        );
        let (kind, value, err) = final_read_one(settings, part, timeout);
        all &= kind == OpType::Ok;
        let mut op = Op::new(proc_.clone(), kind, F::FinalRead).with_value(&value);
        if let Some(e) = err {
            op = op.with_error(e);
        }
        let _ = history.append(op);
    }
    all
}

fn final_read_one(
    settings: &ClientSettings,
    part: Partition,
    timeout: Duration,
) -> (OpType, FinalRead, Option<String>) {
    let deadline = Instant::now() + timeout;
    let mut fr = FinalRead {
        partition: part,
        ..Default::default()
    };
    let c = match Consumer::new(settings, &format!("kt-final-{part}")) {
        Ok(c) => c,
        Err(e) => return (OpType::Fail, fr, Some(e.to_string())),
    };
    // Watermarks first: everything below the high watermark is committed to
    // the ISR, and the read must reach it.
    let (lo, hi) = loop {
        match c.watermarks(part, Duration::from_secs(5)) {
            Ok(w) => break w,
            Err(e) if Instant::now() >= deadline => {
                return (OpType::Fail, fr, Some(format!("watermarks: {e}")))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    fr.start_offset = lo;
    fr.high_watermark = hi;
    if hi <= lo {
        return (OpType::Ok, fr, None);
    }
    if let Err(e) = c.assign(&[part], Offset::Offset(lo)) {
        return (OpType::Fail, fr, Some(e.to_string()));
    }
    let mut last = lo - 1;
    while last + 1 < hi {
        if Instant::now() >= deadline {
            return (
                OpType::Info,
                fr,
                Some(format!(
                    "timed out at offset {} of high watermark {hi}",
                    last + 1
                )),
            );
        }
        let r = c.poll(10_000, Duration::from_millis(500));
        for rec in r.records.into_iter().chain(r.after) {
            if rec.partition == part && rec.offset < hi {
                last = last.max(rec.offset);
                fr.records.push(rec);
            }
        }
    }
    (OpType::Ok, fr, None)
}

/// Delivery reports of the pipelined senders: each completes its send in
/// the history and frees its process for the next one.
struct PipelineContext {
    history: Arc<HistoryWriter>,
    counters: Arc<Counters>,
    idle: std::sync::mpsc::Sender<u64>,
}

impl rdkafka::ClientContext for PipelineContext {}

impl rdkafka::producer::ProducerContext for PipelineContext {
    /// (process, key, value)
    type DeliveryOpaque = Box<(u64, u64, u64)>;

    fn delivery(&self, r: &rdkafka::message::DeliveryResult<'_>, o: Self::DeliveryOpaque) {
        let (process, key, value) = *o;
        let v = Send {
            key,
            value,
            partition: None,
            offset: None,
        };
        let op = match crate::client::classify(r) {
            SendOutcome::Ok { partition, offset } => {
                self.counters.sends_ok.fetch_add(1, Ordering::Relaxed);
                Op::new(Process::Worker(process), OpType::Ok, F::Send).with_value(&Send {
                    partition: Some(partition),
                    offset: Some(offset),
                    ..v
                })
            }
            SendOutcome::Fail(e) => Op::new(Process::Worker(process), OpType::Fail, F::Send)
                .with_value(&v)
                .with_error(e),
            SendOutcome::Info(e) => Op::new(Process::Worker(process), OpType::Info, F::Send)
                .with_value(&v)
                .with_error(e),
        };
        self.counters.count(op.kind);
        let _ = self.history.append(op);
        let _ = self.idle.send(process);
    }
}

/// The pipelined senders: processes `concurrency .. concurrency+pipeline`,
/// each with at most one send outstanding, all through one producer.
fn pipeline(s: &Shared) {
    use rdkafka::producer::{BaseRecord, Producer as _, ThreadedProducer};
    let first = s.opts.concurrency as u64;
    let (idle_tx, idle_rx) = std::sync::mpsc::channel::<u64>();
    for p in first..first + s.opts.pipeline as u64 {
        let _ = idle_tx.send(p);
    }
    let ctx = PipelineContext {
        history: s.history.clone(),
        counters: s.counters.clone(),
        idle: idle_tx.clone(),
    };
    let mut cfg = s.settings.producer_config();
    // Batch across the in-flight sends, as a real high-throughput producer would.
    if !s.settings.producer_overrides.contains_key("linger.ms") {
        cfg.set("linger.ms", "5");
    }
    let producer: ThreadedProducer<PipelineContext> = match cfg.create_with_context(ctx) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("cannot create the pipelined producer: {e}");
            return;
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(s.opts.seed ^ 0x5EED_F00D);
    let gap = if s.opts.rate > 0.0 {
        1.0 / (s.opts.rate * s.opts.send_ratio.max(0.01))
    } else {
        0.0
    };
    let mut pacer = Pacer::new(gap);
    while !s.stop.load(Ordering::Relaxed) && Instant::now() < s.deadline {
        if !pacer.wait(&mut rng, s.deadline) {
            break;
        }
        let Ok(p) = idle_rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let key = rng.gen_range(0..s.opts.keys.max(1));
        let value = s.next_value.fetch_add(1, Ordering::Relaxed) + 1;
        let v = Send {
            key,
            value,
            partition: None,
            offset: None,
        };
        record(
            s,
            Op::new(Process::Worker(p), OpType::Invoke, F::Send).with_value(&v),
        );
        let (k, pl) = (key.to_string(), value.to_string());
        let rec = BaseRecord::with_opaque_to(&s.settings.topic, Box::new((p, key, value)))
            .key(&k)
            .payload(&pl);
        if let Err((e, _)) = producer.send(rec) {
            record(
                s,
                Op::new(Process::Worker(p), OpType::Fail, F::Send)
                    .with_value(&v)
                    .with_error(format!("refused by the client before sending: {e}")),
            );
            let _ = idle_tx.send(p);
            if matches!(
                e,
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull
                )
            ) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    // Every outstanding send gets its report within message.timeout.ms.
    let _ = producer.flush(s.settings.message_timeout + Duration::from_secs(5));
}
