//! One member of the group, from join to the deadline, through crashes,
//! leaves and stalls (each crash or leave retires the process id; the
//! member rejoins under a fresh one).
//!
//! What is recorded, in the order it happened (histories/README.md):
//! `subscribe`; per poll a `poll` whose records all came before the
//! rebalance events written after it (standalone `rebalance` completions
//! carrying `at`, the client's own report time); in `sync` mode a `commit`
//! invoke/completion after every poll that returned records; in `async`
//! and `auto` modes a standalone `commit` completion for every outcome the
//! client's commit callback reports; `stall`, `leave`, `crash`.

use crate::clients::{CommitOutcome, GroupEvent, GroupMember, GroupSettings};
use crate::workloads::queue::Shared;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use trial_histories::values::{Assignment, Commit, CommitMode, Partition, Poll, Stall, Subscribe};
use trial_histories::{Op, OpType, Process, F};

/// Records per poll at most.
const POLL_MAX: usize = 500;
/// How long one poll waits for records.
const POLL_WITHIN: Duration = Duration::from_millis(200);

/// The settings of this run's members.
fn settings(s: &Shared) -> GroupSettings {
    let g = &s.opts.group;
    // At least the session timeout (librdkafka requires it of `classic`).
    let max_poll = s.ctx.settings.session_timeout.max(Duration::from_secs(3));
    GroupSettings {
        group: s.ctx.group.clone(),
        protocol: g.protocol,
        assignor: g.assignor.clone(),
        commit: g.commit,
        max_poll_interval: max_poll,
    }
}

struct Member<'a> {
    s: &'a Shared,
    p: Process,
    gs: GroupSettings,
    client: Option<Box<dyn GroupMember>>,
    /// The whole assignment as the last rebalance event gave it.
    owned: std::cell::RefCell<std::collections::BTreeSet<Partition>>,
}

impl Member<'_> {
    fn record(&self, op: Op) {
        self.s.ctx.record(op);
    }

    fn ns(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.s.ctx.history.start())
            .as_nanos() as u64
    }

    /// Open a client and subscribe, recording the subscription.
    fn join(&mut self) {
        let v = Subscribe {
            topics: vec![self.s.ctx.settings.topic.clone()],
            group: Some(self.gs.group.clone()),
            protocol: Some(self.gs.protocol.as_str().into()),
            assignor: self.gs.assignor.clone(),
            commit: Some(self.gs.commit),
        };
        self.record(Op::new(self.p.clone(), OpType::Invoke, F::Subscribe).with_value(&v));
        let done = self
            .s
            .ctx
            .driver
            .group_member(&self.s.ctx.settings, &self.gs)
            .and_then(|c| c.subscribe().map(|()| c));
        match done {
            Ok(c) => {
                self.client = Some(c);
                self.record(Op::new(self.p.clone(), OpType::Ok, F::Subscribe).with_value(&v));
            }
            Err(e) => {
                self.client = None;
                self.record(
                    Op::new(self.p.clone(), OpType::Fail, F::Subscribe)
                        .with_value(&v)
                        .with_error(e),
                );
            }
        }
    }

    /// Record what the client reported, in order.
    fn events(&self, evs: Vec<GroupEvent>) {
        for e in evs {
            match e {
                GroupEvent::Assigned {
                    added,
                    whole,
                    generation,
                    member,
                    committed,
                    at,
                } => {
                    *self.owned.borrow_mut() = whole.iter().copied().collect();
                    let v = Assignment {
                        partitions: whole,
                        added,
                        generation,
                        member,
                        committed,
                        at: Some(self.ns(at)),
                        ..Default::default()
                    };
                    self.record(Op::new(self.p.clone(), OpType::Ok, F::Rebalance).with_value(&v));
                }
                GroupEvent::Revoked {
                    revoked,
                    whole,
                    lost,
                    generation,
                    member,
                    at,
                } => {
                    *self.owned.borrow_mut() = whole.iter().copied().collect();
                    let v = Assignment {
                        partitions: whole,
                        revoked,
                        lost,
                        generation,
                        member,
                        at: Some(self.ns(at)),
                        ..Default::default()
                    };
                    self.record(Op::new(self.p.clone(), OpType::Ok, F::Rebalance).with_value(&v));
                }
                GroupEvent::Committed {
                    offsets,
                    outcome,
                    generation,
                    at: _,
                } => {
                    if offsets.is_empty() && outcome == CommitOutcome::Ok {
                        continue;
                    }
                    let v = Commit {
                        group: Some(self.gs.group.clone()),
                        mode: self.gs.commit,
                        offsets,
                        generation,
                        reset: false,
                    };
                    self.record(completion(&self.p, &v, outcome));
                }
            }
        }
    }

    /// Close the client (recorded as `kind`: `crash` or `leave`), then
    /// take a fresh process id.
    fn close(&mut self, kind: F, why: &str) {
        self.record(Op::new(self.p.clone(), OpType::Invoke, kind.clone()));
        if let Some(c) = self.client.take() {
            let evs = c.close();
            self.events(evs);
        }
        let done = if kind == F::Crash {
            Op::new(self.p.clone(), OpType::Info, F::Crash)
                .with_error(format!("member closed and will rejoin: {why}"))
        } else {
            Op::new(self.p.clone(), OpType::Ok, kind)
        };
        self.record(done);
        self.p = Process::Worker(self.s.fresh_process());
    }

    /// One poll, recorded, with the events after it; the records' next
    /// offsets per partition.
    fn poll(&self, rng: &mut ChaCha8Rng) -> (Vec<(Partition, i64)>, bool) {
        let Some(c) = &self.client else {
            return (vec![], false);
        };
        self.record(Op::new(self.p.clone(), OpType::Invoke, F::Poll));
        let r = c.poll(POLL_MAX, POLL_WITHIN);
        // The application dies before processing what this poll returned.
        let crash =
            !r.records.is_empty() && rng.gen_bool(self.s.opts.crash_probability.clamp(0.0, 1.0));
        let mut next: BTreeMap<Partition, i64> = BTreeMap::new();
        for rec in &r.records {
            let n = next.entry(rec.partition).or_insert(0);
            *n = (*n).max(rec.offset + 1);
        }
        let (t, err) = match &r.error {
            Some(e) if r.records.is_empty() => (OpType::Fail, Some(e.clone())),
            _ => (OpType::Ok, None),
        };
        let mut op = Op::new(self.p.clone(), t, F::Poll).with_value(&Poll {
            records: r.records,
            unprocessed: crash,
        });
        if let Some(e) = err {
            op = op.with_error(e);
        }
        self.record(op);
        self.events(r.events);
        // Commit only what the member still owns after the events (a
        // partition revoked meanwhile is the next owner's to commit).
        let owned = self.owned.borrow();
        next.retain(|p, _| owned.contains(p));
        (next.into_iter().collect(), crash)
    }

    fn commit(&self, offsets: &[(Partition, i64)]) {
        let Some(c) = &self.client else { return };
        let v = Commit {
            group: Some(self.gs.group.clone()),
            mode: self.gs.commit,
            offsets: offsets.to_vec(),
            generation: c.generation(),
            reset: false,
        };
        match self.gs.commit {
            CommitMode::Sync => {
                self.record(Op::new(self.p.clone(), OpType::Invoke, F::Commit).with_value(&v));
                let o = c.commit_sync(offsets);
                self.record(completion(&self.p, &v, o));
            }
            CommitMode::Async => {
                if let Err(e) = c.commit_async(offsets) {
                    self.record(completion(&self.p, &v, CommitOutcome::Fail(e)));
                }
            }
            CommitMode::Auto => {}
        }
    }

    /// Stop polling past `max.poll.interval.ms` (heartbeats go on in the
    /// client's own threads; librdkafka leaves the group when the interval
    /// passes).
    fn stall(&self) {
        let ms = (self.gs.max_poll_interval + Duration::from_secs(2)).as_millis() as u64;
        let v = Stall { ms };
        self.record(Op::new(self.p.clone(), OpType::Invoke, F::Stall).with_value(&v));
        let until = (Instant::now() + Duration::from_millis(ms)).min(self.s.ctx.deadline);
        while Instant::now() < until && !self.s.ctx.stop.load(std::sync::atomic::Ordering::Relaxed)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.record(Op::new(self.p.clone(), OpType::Ok, F::Stall).with_value(&v));
    }
}

/// The completion op of a commit with this outcome.
fn completion(p: &Process, v: &Commit, o: CommitOutcome) -> Op {
    match o {
        CommitOutcome::Ok => Op::new(p.clone(), OpType::Ok, F::Commit).with_value(v),
        CommitOutcome::Fail(e) => Op::new(p.clone(), OpType::Fail, F::Commit)
            .with_value(v)
            .with_error(e),
        CommitOutcome::Info(e) => Op::new(p.clone(), OpType::Info, F::Commit)
            .with_value(v)
            .with_error(e),
    }
}

/// One member (first process id `i`), until the deadline.
pub(crate) fn member_process(i: u64, s: &Shared) {
    let ctx = &s.ctx;
    let mut rng =
        ChaCha8Rng::seed_from_u64(ctx.seed ^ (0xC0FF_EE00_D15E_A5E5u64.wrapping_mul(i + 1)));
    let mut m = Member {
        s,
        p: Process::Worker(i),
        gs: settings(s),
        client: None,
        owned: Default::default(),
    };
    let g = &s.opts.group;
    m.join();
    while !ctx.done() {
        if m.client.is_none() {
            // Could not join: try again shortly as a fresh member.
            std::thread::sleep(Duration::from_millis(500));
            m.p = Process::Worker(s.fresh_process());
            m.join();
            continue;
        }
        if rng.gen_bool(g.churn_probability.clamp(0.0, 1.0)) {
            m.close(F::Leave, "left the group");
            let away = Duration::from_millis(rng.gen_range(1000..3000));
            let until = (Instant::now() + away).min(ctx.deadline);
            while Instant::now() < until && !ctx.done() {
                std::thread::sleep(Duration::from_millis(50));
            }
            if ctx.done() {
                return;
            }
            m.join();
            continue;
        }
        let (next, crashed) = m.poll(&mut rng);
        if crashed {
            m.close(F::Crash, "crashed after a poll, before processing it");
            m.join();
            continue;
        }
        if !next.is_empty() {
            if rng.gen_bool(g.stall_probability.clamp(0.0, 1.0)) {
                m.stall();
            }
            m.commit(&next);
        }
    }
    // The end of the run: leave cleanly (the final revocation and, with
    // auto-commit, the final commit are recorded).
    if m.client.is_some() {
        m.close(F::Leave, "the run ended");
    }
}

/// After heal: one fresh member joins, waits until the group has given it
/// every partition, reads and commits until nothing more comes (2 s of
/// empty polls) or `limit` passes, and leaves.
pub(crate) fn drain(s: &Shared, partitions: u32, limit: Duration) {
    let mut rng = ChaCha8Rng::seed_from_u64(s.ctx.seed ^ 0xD2A1_0000);
    let mut m = Member {
        s,
        p: Process::Worker(s.fresh_process()),
        gs: settings(s),
        client: None,
        owned: Default::default(),
    };
    let until = Instant::now() + limit;
    m.join();
    let mut quiet = Duration::ZERO;
    while Instant::now() < until && m.client.is_some() {
        let t = Instant::now();
        let (next, _) = m.poll(&mut rng);
        if next.is_empty() {
            quiet += t.elapsed();
        } else {
            m.commit(&next);
            quiet = Duration::ZERO;
        }
        let all = m.owned.borrow().len() as u32 >= partitions;
        if all && quiet >= Duration::from_secs(2) {
            break;
        }
    }
    if m.client.is_some() {
        m.close(F::Leave, "drained the topic after heal");
    }
}
