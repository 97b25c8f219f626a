//! One process of the transactional workload: its clients, its
//! assignment, and the loop of transactions (the outcome mapping is the
//! table in [`crate::clients`]).

use super::{transactional_id, Shared};
use crate::clients::{resuming, SendOutcome, TxnClient, TxnError, TxnErrorKind, TxnSettings};
use crate::workloads::pacing::Pacer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trial_histories::values::{Assignment, MicroOp, Offset, Partition, Poll, Send, Txn};
use trial_histories::{Op, OpType, Process, F};

/// Chance per transaction that the process picks new partitions.
const REASSIGN_PROBABILITY: f64 = 0.02;

/// How a transaction ended, and whether its clients must be replaced.
pub(crate) struct End {
    pub kind: OpType,
    pub error: Option<String>,
    /// The producer is unusable or in an unknown state (fatal error,
    /// outcome unknown): replace the clients.
    pub replace: bool,
}

impl End {
    fn new(kind: OpType, error: impl Into<Option<String>>, replace: bool) -> End {
        End {
            kind,
            error: error.into(),
            replace,
        }
    }
}

pub(crate) struct Proc<'a> {
    s: &'a Shared,
    slot: usize,
    p: Process,
    rng: ChaCha8Rng,
    client: Option<Box<dyn TxnClient>>,
    assigned: Vec<Partition>,
}

impl<'a> Proc<'a> {
    /// The process of slot `slot`, its clients not yet open.
    pub fn new(slot: usize, s: &'a Shared) -> Proc<'a> {
        Proc {
            s,
            slot,
            p: Process::Worker(slot as u64),
            rng: ChaCha8Rng::seed_from_u64(
                s.ctx.seed
                    ^ 0x7A7A_0000_0000_0000
                    ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(slot as u64 + 1),
            ),
            client: None,
            assigned: vec![],
        }
    }

    /// [`resuming`] for as long as the run goes on: a transaction caught by
    /// a whole-cluster outage stays open and completes when the cluster
    /// comes back, instead of being given up as `info` and its producer
    /// replaced. Once the run is over the first retriable error is
    /// returned, so a process ends at most one call (its own timeout) after
    /// the run does, within the time the trial waits for its workers.
    fn resume(&self, f: impl FnMut() -> Result<(), TxnError>) -> Result<(), TxnError> {
        let ctx = &self.s.ctx;
        resuming(|| !ctx.done(), f)
    }

    fn txn_settings(&self) -> TxnSettings {
        let ctx = &self.s.ctx;
        // Longer than a send may be retried (librdkafka requires it), short
        // enough that an abandoned transaction does not hold the last
        // stable offset for long.
        let transaction_timeout = (ctx.settings.message_timeout * 2)
            .clamp(Duration::from_secs(10), Duration::from_secs(600));
        TxnSettings {
            transactional_id: transactional_id(self.slot),
            group: ctx.group.clone(),
            isolation: self.s.opts.isolation,
            transaction_timeout,
            // While the run goes on (a process has nothing else to do
            // until its clients are open), at most a transaction timeout
            // at a time so that a stop is seen.
            init_within: ctx
                .deadline
                .saturating_duration_since(Instant::now())
                .min(transaction_timeout),
        }
    }

    fn random_partitions(&mut self) -> Vec<Partition> {
        let n = self.s.opts.partitions as Partition;
        let mut v: Vec<Partition> = (0..n).filter(|_| self.rng.gen_bool(0.5)).collect();
        if v.is_empty() {
            v.push(self.rng.gen_range(0..n));
        }
        v
    }

    /// Open the clients (init_transactions fences the predecessor) and
    /// assign random partitions. False if the clients could not be made.
    pub fn open(&mut self) -> bool {
        let ctx = &self.s.ctx;
        match ctx
            .driver
            .transactional(&ctx.settings, &self.txn_settings())
        {
            Ok(c) => {
                self.client = Some(c);
                self.assigned.clear();
                let parts = self.random_partitions();
                self.assign(parts);
                true
            }
            Err(e) => {
                tracing::warn!("process {}: cannot open transactional clients: {e}", self.p);
                false
            }
        }
    }

    /// Assign `parts` at the group's committed offsets (0 where nothing is
    /// committed), recorded as an `assign` whose `seek` holds the start
    /// positions and `revoked` the partitions dropped.
    fn assign(&mut self, parts: Vec<Partition>) {
        let Some(client) = self.client.as_ref() else {
            return;
        };
        let ctx = &self.s.ctx;
        let revoked: Vec<Partition> = self
            .assigned
            .iter()
            .filter(|p| !parts.contains(p))
            .copied()
            .collect();
        let mut v = Assignment {
            partitions: parts.clone(),
            seek: vec![],
            revoked,
            ..Default::default()
        };
        ctx.record(Op::new(self.p.clone(), OpType::Invoke, F::Assign).with_value(&v));
        let result = client
            .committed(&parts, ctx.settings.request_timeout)
            .and_then(|committed| {
                v.seek = committed
                    .into_iter()
                    .map(|(p, o)| (p, o.unwrap_or(0)))
                    .collect();
                client.consumer().assign_at(&v.seek)
            });
        match result {
            Ok(()) => {
                self.assigned = parts;
                ctx.record(Op::new(self.p.clone(), OpType::Ok, F::Assign).with_value(&v));
            }
            Err(e) => {
                v.seek.clear();
                ctx.record(
                    Op::new(self.p.clone(), OpType::Fail, F::Assign)
                        .with_value(&v)
                        .with_error(e),
                );
            }
        }
    }

    /// Record a `crash` of the process, drop its clients, go on under a
    /// fresh process id with new clients.
    fn crash(&mut self, why: &str) {
        let ctx = &self.s.ctx;
        ctx.record(Op::new(self.p.clone(), OpType::Invoke, F::Crash));
        self.client = None;
        self.assigned.clear();
        ctx.record(
            Op::new(self.p.clone(), OpType::Info, F::Crash)
                .with_error(format!("clients closed and reopened: {why}")),
        );
        self.p = Process::Worker(self.s.fresh_process());
        self.open();
    }

    /// Abort after an error that came before the commit was sent: the
    /// transaction did not commit whatever the abort answers (`fail`).
    fn abort_after(&self, client: &dyn TxnClient, why: String) -> End {
        let w = self.s.ctx.settings.message_timeout;
        match self.resume(|| client.abort(w)) {
            Ok(()) => End::new(OpType::Fail, why, false),
            Err(e) => End::new(OpType::Fail, format!("{why}; then abort: {e}"), true),
        }
    }

    /// Run one transaction and record it; returns how it ended.
    pub fn transaction(&mut self) -> End {
        let s = self.s;
        let ctx = &s.ctx;
        let n = self.rng.gen_range(1..=4usize);
        let abort = self.rng.gen_bool(s.opts.abort_probability.clamp(0.0, 1.0));
        let mut ops: Vec<MicroOp> = (0..n)
            .map(|_| {
                if self.rng.gen_bool(s.opts.send_ratio.clamp(0.0, 1.0)) {
                    let partition = self.rng.gen_range(0..s.opts.partitions as Partition);
                    MicroOp::Send(Send {
                        key: partition as u64,
                        value: s.fresh_value(),
                        partition: None,
                        offset: None,
                    })
                } else {
                    MicroOp::Poll(Poll::default())
                }
            })
            .collect();
        let mut value = Txn {
            ops: ops.clone(),
            offsets: vec![],
            abort,
        };
        ctx.record(Op::new(self.p.clone(), OpType::Invoke, F::Txn).with_value(&value));
        let client = self.client.as_ref().expect("clients are open");
        let reports: Arc<Mutex<Vec<Option<SendOutcome>>>> = Arc::new(Mutex::new(vec![None; n]));
        let end = self.run(
            client.as_ref(),
            &mut ops,
            &mut value.offsets,
            abort,
            &reports,
        );
        // Delivery reports come from the client's own thread: give the
        // stragglers a moment (abort purges what was not sent).
        wait_reports(&ops, &reports, Duration::from_secs(2));
        let r = reports.lock().expect("reports").clone();
        let mut acknowledged = 0;
        for (i, op) in ops.iter_mut().enumerate() {
            if let (MicroOp::Send(sv), Some(SendOutcome::Ok { partition, offset })) = (op, &r[i]) {
                sv.partition = Some(*partition);
                sv.offset = Some(*offset);
                acknowledged += 1;
            }
        }
        if end.kind == OpType::Ok {
            ctx.counters
                .sends_ok
                .fetch_add(acknowledged, Ordering::Relaxed);
        }
        value.ops = ops;
        let mut op = Op::new(self.p.clone(), end.kind, F::Txn).with_value(&value);
        if let Some(e) = &end.error {
            op = op.with_error(e.clone());
        }
        ctx.record(op);
        end
    }

    /// The transaction's calls: begin, micro-ops, offsets, commit or abort.
    fn run(
        &self,
        client: &dyn TxnClient,
        ops: &mut [MicroOp],
        offsets: &mut Vec<(Partition, Offset)>,
        abort: bool,
        reports: &Arc<Mutex<Vec<Option<SendOutcome>>>>,
    ) -> End {
        let settings = &self.s.ctx.settings;
        let w = settings.message_timeout;
        if let Err(e) = client.begin() {
            // Nothing was sent: the transaction did not happen.
            return End::new(OpType::Fail, format!("begin: {e}"), true);
        }
        let mut read_to: BTreeMap<Partition, Offset> = BTreeMap::new();
        for (i, op) in ops.iter_mut().enumerate() {
            match op {
                MicroOp::Send(sv) => {
                    let slot = reports.clone();
                    let done = Box::new(move |o: SendOutcome| {
                        if let Ok(mut r) = slot.lock() {
                            r[i] = Some(o);
                        }
                    });
                    if let Err(refused) = client.send_async(
                        sv.partition.unwrap_or(sv.key as Partition),
                        sv.key,
                        sv.value,
                        done,
                    ) {
                        // A send that never left the client must not be
                        // committed without it: abort.
                        let why = format!("send refused: {refused:?}");
                        reports.lock().expect("reports")[i] = Some(refused);
                        return self.abort_after(client, why);
                    }
                }
                MicroOp::Poll(pv) => {
                    // A short wait: an empty poll should not hold the transaction open.
                    let r = client.consumer().poll(200, Duration::from_millis(25));
                    for rec in r.records {
                        let next = read_to.entry(rec.partition).or_insert(rec.offset + 1);
                        *next = (*next).max(rec.offset + 1);
                        pv.records.push(rec);
                    }
                }
            }
        }
        // Every send's delivery report before the end (as Jepsen's client
        // waits for its send futures): the records, aborted ones included,
        // then have known offsets. librdkafka fails a commit whose sends
        // failed with an abortable error.
        wait_reports(ops, reports, w + Duration::from_secs(1));
        if abort {
            return match self.resume(|| client.abort(w)) {
                Ok(()) => End::new(OpType::Fail, "aborted on purpose".to_string(), false),
                Err(e) => End::new(OpType::Info, format!("abort: {e}"), true),
            };
        }
        *offsets = read_to.into_iter().collect();
        if !offsets.is_empty() {
            match self.resume(|| client.send_offsets(offsets, settings.request_timeout)) {
                Ok(()) => {}
                Err(e) if matches!(e.kind, TxnErrorKind::Fatal | TxnErrorKind::Other) => {
                    return End::new(OpType::Fail, format!("send_offsets: {e}"), true);
                }
                Err(e) => return self.abort_after(client, format!("send_offsets: {e}")),
            }
        }
        match self.resume(|| client.commit(w)) {
            Ok(()) => End::new(OpType::Ok, None, false),
            // librdkafka raises abortable errors before EndTxn(commit) is
            // sent; if the abort then succeeds, nothing was committed.
            Err(e) if e.kind == TxnErrorKind::Abortable => match self.resume(|| client.abort(w)) {
                Ok(()) => End::new(OpType::Fail, format!("commit: {e}; aborted"), false),
                Err(a) => End::new(OpType::Info, format!("commit: {e}; then abort: {a}"), true),
            },
            // Retries exhausted, fenced while committing, …: EndTxn may
            // have been sent.
            Err(e) => End::new(OpType::Info, format!("commit: {e}"), true),
        }
    }
}

/// Wait (at most `limit`) until every send of `ops` has its report.
fn wait_reports(ops: &[MicroOp], reports: &Mutex<Vec<Option<SendOutcome>>>, limit: Duration) {
    let until = Instant::now() + limit;
    loop {
        let all = {
            let r = reports.lock().expect("reports");
            ops.iter()
                .enumerate()
                .all(|(i, o)| !matches!(o, MicroOp::Send(_)) || r[i].is_some())
        };
        if all || Instant::now() >= until {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One process (slot `slot`), until the deadline.
pub(crate) fn txn_process(slot: usize, s: &Shared) {
    let ctx = &s.ctx;
    let mut pr = Proc::new(slot, s);
    let gap = if s.opts.rate > 0.0 {
        s.opts.concurrency as f64 / s.opts.rate
    } else {
        0.0
    };
    let mut pacer = Pacer::new(gap);
    while !ctx.done() {
        if !pacer.wait(&mut pr.rng, ctx.deadline) {
            break;
        }
        if pr.client.is_none() && !pr.open() {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        // A process whose assignment failed (its clients were reopened
        // while the group coordinator was away) asks again before its next
        // transaction, instead of polling nothing until a reassignment
        // happens to come.
        if pr.assigned.is_empty() || pr.rng.gen_bool(REASSIGN_PROBABILITY) {
            let parts = pr.random_partitions();
            pr.assign(parts);
        }
        let end = pr.transaction();
        if end.replace || end.kind == OpType::Info {
            let why = end.error.unwrap_or_default();
            pr.crash(&why);
        } else if end.kind == OpType::Fail {
            // Consume-transform-produce: what was read in a transaction
            // that did not commit is read again, from the group's offsets.
            let parts = pr.assigned.clone();
            pr.assign(parts);
        }
    }
}
