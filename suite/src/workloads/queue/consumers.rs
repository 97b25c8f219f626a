//! The consumer processes of the queue workload: each owns a consumer
//! (assigned a random subset of partitions from the start, or subscribed
//! in the run's group) and polls; with no logical senders they also send,
//! one blocking send at a time. Now and then a process crashes: it closes
//! its clients and opens new ones under a fresh process id.

use super::Shared;
use crate::clients::{Consumer, PollResult, SendOutcome, StartAt};
use crate::workloads::pacing::Pacer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::Ordering;
use std::time::Duration;
use trial_histories::values::{Assignment, Partition, Poll, Record, Send};
use trial_histories::{Op, OpType, Process, F};

struct Clients {
    consumer: Option<Box<dyn Consumer>>,
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
    let ctx = &s.ctx;
    let consumer = match ctx.driver.consumer(&ctx.settings, &ctx.group) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!("process {p}: cannot create a consumer: {e}");
            None
        }
    };
    if let Some(c) = &consumer {
        attach(s, p, c.as_ref(), rng);
    }
    Clients { consumer }
}

/// Assign a random subset of the partitions, each read from its start.
fn attach(s: &Shared, p: &Process, c: &dyn Consumer, rng: &mut ChaCha8Rng) {
    let ctx = &s.ctx;
    let parts = random_partitions(rng, s.opts.partitions);
    // Every partition starts again from the beginning: all of them are
    // (re)positioned, so no `revoked` is needed to reset them.
    let v = Assignment {
        seek: parts.iter().map(|&p| (p, 0)).collect(),
        partitions: parts,
        revoked: vec![],
        ..Default::default()
    };
    ctx.record(Op::new(p.clone(), OpType::Invoke, F::Assign).with_value(&v));
    let done = match c.assign(&v.partitions, StartAt::Beginning) {
        Ok(()) => Op::new(p.clone(), OpType::Ok, F::Assign).with_value(&v),
        Err(e) => Op::new(p.clone(), OpType::Fail, F::Assign)
            .with_value(&v)
            .with_error(e),
    };
    ctx.record(done);
}

/// Close the clients (recorded as a `crash` of process `p`) and open new
/// ones under a fresh process id, which is returned.
fn crash(
    s: &Shared,
    p: &Process,
    clients: &mut Clients,
    why: &str,
    rng: &mut ChaCha8Rng,
) -> Process {
    let ctx = &s.ctx;
    ctx.record(Op::new(p.clone(), OpType::Invoke, F::Crash));
    // Dropping closes the consumer.
    clients.consumer = None;
    ctx.record(
        Op::new(p.clone(), OpType::Info, F::Crash)
            .with_error(format!("client closed and reopened: {why}")),
    );
    let fresh = Process::Worker(s.fresh_process());
    *clients = open(s, &fresh, rng);
    fresh
}

/// The completion op of a send with this outcome (and the ok counter).
pub(crate) fn send_completion(s: &Shared, p: Process, v: Send, o: SendOutcome) -> Op {
    match o {
        SendOutcome::Ok { partition, offset } => {
            s.ctx.counters.sends_ok.fetch_add(1, Ordering::Relaxed);
            Op::new(p, OpType::Ok, F::Send).with_value(&Send {
                partition: Some(partition),
                offset: Some(offset),
                ..v
            })
        }
        SendOutcome::Fail(e) => Op::new(p, OpType::Fail, F::Send)
            .with_value(&v)
            .with_error(e),
        SendOutcome::Info(e) => Op::new(p, OpType::Info, F::Send)
            .with_value(&v)
            .with_error(e),
    }
}

fn record_poll(s: &Shared, p: &Process, records: Vec<Record>, error: Option<String>) {
    let (t, v) = match error {
        Some(e) if records.is_empty() => (OpType::Fail, Some(e)),
        // Records came back before the error: the poll did happen.
        _ => (OpType::Ok, None),
    };
    let mut op = Op::new(p.clone(), t, F::Poll).with_value(&Poll {
        records,
        ..Default::default()
    });
    if let Some(e) = v {
        op = op.with_error(e);
    }
    s.ctx.record(op);
}

fn do_poll(s: &Shared, p: &Process, c: &dyn Consumer) -> OpType {
    let ctx = &s.ctx;
    ctx.record(Op::new(p.clone(), OpType::Invoke, F::Poll));
    let PollResult { records, error } = c.poll(200, Duration::from_millis(100));
    let failed = error.is_some() && records.is_empty();
    record_poll(s, p, records, error);
    if failed {
        OpType::Fail
    } else {
        OpType::Ok
    }
}

/// One consumer process (first id `i`), until the deadline.
pub(crate) fn consumer_process(i: u64, s: &Shared) {
    let ctx = &s.ctx;
    let mut p = Process::Worker(i);
    let mut rng =
        ChaCha8Rng::seed_from_u64(ctx.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i + 1)));
    // The logical senders send; these processes only poll, at the polls'
    // share of the rate.
    let my_rate = s.opts.rate * (1.0 - s.opts.send_ratio);
    let gap = if my_rate > 0.0 {
        s.opts.concurrency as f64 / my_rate
    } else {
        0.0
    };
    let mut clients = open(s, &p, &mut rng);
    let mut pacer = Pacer::new(gap);
    while !ctx.done() {
        if !pacer.wait(&mut rng, ctx.deadline) {
            break;
        }
        if rng.gen_bool(s.opts.crash_probability.clamp(0.0, 1.0)) {
            p = crash(s, &p, &mut clients, "scheduled crash", &mut rng);
            continue;
        }
        let outcome = match &clients.consumer {
            Some(c) => do_poll(s, &p, c.as_ref()),
            None => OpType::Fail,
        };
        let missing = clients.consumer.is_none();
        if missing || outcome == OpType::Info {
            // A real application reopens its clients after an error; an
            // indeterminate op retires the process.
            std::thread::sleep(Duration::from_millis(100));
            p = crash(
                s,
                &p,
                &mut clients,
                "after an indeterminate operation",
                &mut rng,
            );
        }
    }
}
