//! A simulated, correct consumer group over a simulated log, writing the
//! history the group workload writes (the contract of issue 15), and one
//! minimal edit per class of the `group` checker ([`super::mutate_group`]).
//!
//! The group: members join (a `subscribe`, then a rebalance), poll the
//! partitions they own from the committed offset on, commit (synchronously
//! after each poll that returned records, asynchronously — a standalone
//! completion later — or automatically before a later poll), crash (the
//! coordinator notices after a session timeout; the member comes back, if
//! at all, as a new process), leave cleanly, and stall past the session
//! timeout (its partitions go to others while it still believes it owns
//! them: a zombie, whose next commit fails and who then learns it lost
//! them). Rebalances are eager (every member revokes everything, then the
//! next generation is assigned) or cooperative (the partitions that move
//! are revoked in one generation and added in the next; partitions of
//! departed members are given at once). A commit succeeds only in the
//! generation it was sent in, so the committed offsets never go back.
//! Under auto-commit a member may crash right after a poll it never
//! processed, after the auto-commit committed its offsets: the
//! at-most-once window Kafka documents.

use super::Rng;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use trial_histories::values::{
    Assignment, Commit, CommitMode, Committed, FinalRead, Partition, Poll, Record, Send, Stall,
    Subscribe,
};
use trial_histories::{Op, OpType, Process, F};

/// How the group rebalances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rebalancing {
    /// Classic protocol, eager assignor: revoke everything, then assign.
    Eager,
    /// Classic cooperative-sticky (or KIP-848): incremental revocations,
    /// then additions in the next generation.
    Cooperative,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct GroupSimConfig {
    pub seed: u64,
    pub partitions: u32,
    /// Members at the start.
    pub members: u32,
    /// Scheduling steps (each is one action: a send, a poll, a fault …).
    pub steps: u64,
    pub rebalancing: Rebalancing,
    pub commit: CommitMode,
    /// Write the senders' `send` ops (else the log fills without them: a
    /// history only the group checker can judge).
    pub senders: bool,
}

impl Default for GroupSimConfig {
    fn default() -> Self {
        GroupSimConfig {
            seed: 1,
            partitions: 3,
            members: 3,
            steps: 300,
            rebalancing: Rebalancing::Cooperative,
            commit: CommitMode::Sync,
            senders: true,
        }
    }
}

/// The group's name in simulated histories.
pub const GROUP: &str = "kt-sim";
/// Members' process numbers start here (senders are 0 and 1).
const FIRST_MEMBER: u64 = 10;
const MS: u64 = 1_000_000;

struct Member {
    process: u64,
    id: String,
    generation: i32,
    /// Partition → the offset of the next record to read.
    owned: BTreeMap<Partition, i64>,
    /// The coordinator counts it a member.
    in_group: bool,
    /// Its `stall` is in flight.
    stalled: bool,
    alive: bool,
    /// A synchronous commit invoked and not yet completed (offsets, its
    /// generation).
    inflight: Option<(Vec<(Partition, i64)>, i32)>,
    /// Asynchronous commits sent, their callbacks not yet fired.
    pending: VecDeque<(Vec<(Partition, i64)>, i32)>,
    /// Auto-commit: positions moved since the last commit.
    auto_due: bool,
}

struct Sim<'a> {
    rng: Rng,
    cfg: GroupSimConfig,
    logs: Vec<Vec<u64>>,
    committed: Vec<Option<i64>>,
    generation: i32,
    members: Vec<Member>,
    next_process: u64,
    next_value: u64,
    time: u64,
    index: u64,
    out: &'a mut dyn FnMut(Op),
}

/// A correct group's history.
pub fn simulate_group(cfg: &GroupSimConfig) -> Vec<Op> {
    let mut ops = Vec::new();
    simulate_group_into(cfg, &mut |op| ops.push(op));
    ops
}

/// The same, written to a JSONL history file; returns the number of ops.
pub fn simulate_group_to_file(
    cfg: &GroupSimConfig,
    path: &std::path::Path,
) -> std::io::Result<u64> {
    super::write_jsonl(path, |emit| simulate_group_into(cfg, emit))
}

/// The same, op by op.
pub fn simulate_group_into(cfg: &GroupSimConfig, out: &mut dyn FnMut(Op)) {
    let mut s = Sim {
        rng: Rng::new(cfg.seed),
        cfg: cfg.clone(),
        logs: vec![Vec::new(); cfg.partitions.max(1) as usize],
        committed: vec![None; cfg.partitions.max(1) as usize],
        generation: 0,
        members: Vec::new(),
        next_process: FIRST_MEMBER,
        next_value: 0,
        time: 0,
        index: 0,
        out,
    };
    s.run();
}

fn w(p: u64) -> Process {
    Process::Worker(p)
}

fn rec(partition: Partition, offset: i64, value: u64) -> Record {
    Record {
        partition,
        offset,
        key: value % 16,
        value,
    }
}

impl Sim<'_> {
    fn emit<T: Serialize + ?Sized>(
        &mut self,
        p: Process,
        kind: OpType,
        f: F,
        v: &T,
        error: Option<&str>,
    ) {
        let mut op = Op::new(p, kind, f).with_value(v);
        op.error = error.map(str::to_string);
        op.index = self.index;
        op.time = self.time;
        self.index += 1;
        self.time += MS + self.rng.below(2 * MS);
        (self.out)(op);
    }

    fn run(&mut self) {
        for _ in 0..self.cfg.members.max(1) {
            self.join(false);
        }
        self.rebalance();
        self.send();
        for _ in 0..self.cfg.steps {
            // Crashed and departed incarnations never act again.
            self.members.retain(|m| m.alive);
            let live = self.live();
            if live.is_empty() {
                self.join(true);
                continue;
            }
            let m = live[self.rng.below(live.len() as u64) as usize];
            match self.rng.below(100) {
                0..=29 => self.send(),
                30..=71 => self.poll(m, false),
                72..=77 => self.settle(m),
                78..=80 => self.crash(m),
                81..=82 => self.leave(m),
                83..=86 => self.stall(m),
                87..=91 => {
                    if let Some(z) = self.members.iter().position(|m| m.stalled) {
                        self.wake(z, true);
                    }
                }
                92..=95 if live.len() < 5 => self.join(true),
                _ => self.send(),
            }
        }
        self.end();
    }

    /// Members that act: alive, in the group, not stalled.
    fn live(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&i| {
                let m = &self.members[i];
                m.alive && m.in_group && !m.stalled
            })
            .collect()
    }

    fn send(&mut self) {
        self.next_value += 1;
        let value = self.next_value;
        let key = value % 16;
        let p = (key % self.logs.len() as u64) as usize;
        let offset = self.logs[p].len() as i64;
        self.logs[p].push(value);
        if self.cfg.senders {
            let sender = self.rng.below(2);
            let mut s = Send {
                key,
                value,
                partition: None,
                offset: None,
            };
            self.emit(w(sender), OpType::Invoke, F::Send, &s, None);
            s.partition = Some(p as Partition);
            s.offset = Some(offset);
            self.emit(w(sender), OpType::Ok, F::Send, &s, None);
        }
    }

    fn join(&mut self, rebalance: bool) {
        let process = self.next_process;
        self.next_process += 1;
        let s = Subscribe {
            topics: vec!["group".into()],
            group: Some(GROUP.into()),
            protocol: Some("classic".into()),
            assignor: Some(
                match self.cfg.rebalancing {
                    Rebalancing::Eager => "range",
                    Rebalancing::Cooperative => "cooperative-sticky",
                }
                .into(),
            ),
            commit: Some(self.cfg.commit),
        };
        self.emit(w(process), OpType::Invoke, F::Subscribe, &s, None);
        self.emit(w(process), OpType::Ok, F::Subscribe, &s, None);
        self.members.push(Member {
            process,
            id: format!("rdkafka-{process}"),
            generation: 0,
            owned: BTreeMap::new(),
            in_group: true,
            stalled: false,
            alive: true,
            inflight: None,
            pending: VecDeque::new(),
            auto_due: false,
        });
        if rebalance {
            self.rebalance();
        }
    }

    /// A rebalance event of member `m`: standalone, or an invoke+ok pair
    /// when nothing of the member is in flight.
    fn event(&mut self, m: usize, a: &Assignment) {
        let mut a = a.clone();
        a.at = Some(self.time.saturating_sub(self.rng.below(MS / 2)));
        a.member = Some(self.members[m].id.clone());
        let p = w(self.members[m].process);
        let free = self.members[m].inflight.is_none() && !self.members[m].stalled;
        if free && self.rng.pct(30) {
            self.emit(p.clone(), OpType::Invoke, F::Rebalance, &a, None);
        }
        self.emit(p, OpType::Ok, F::Rebalance, &a, None);
    }

    fn commit_value(&self, m: usize, mode: CommitMode, offsets: Vec<(Partition, i64)>) -> Commit {
        Commit {
            group: Some(GROUP.into()),
            mode,
            offsets,
            generation: Some(self.members[m].generation),
            reset: false,
        }
    }

    /// The coordinator's answer to a commit sent in generation `g`.
    fn accept(&mut self, m: usize, g: i32, offsets: &[(Partition, i64)]) -> bool {
        let ok = g == self.generation && self.members[m].in_group;
        if ok {
            for &(p, o) in offsets {
                let c = &mut self.committed[p as usize];
                debug_assert!(
                    c.is_none_or(|c| c <= o),
                    "a correct group never commits backwards"
                );
                *c = Some(o);
            }
        }
        ok
    }

    fn positions(&self, m: usize) -> Vec<(Partition, i64)> {
        self.members[m]
            .owned
            .iter()
            .map(|(&p, &o)| (p, o))
            .collect()
    }

    /// The coordinator's answer to a commit of `offsets` sent in
    /// generation `g`, written as its completion (asynchronous and
    /// automatic ones carry no generation, as the workload writes them:
    /// the callback does not say which one they were sent in).
    fn complete_commit(
        &mut self,
        m: usize,
        mode: CommitMode,
        offsets: Vec<(Partition, i64)>,
        g: i32,
    ) {
        let ok = self.accept(m, g, &offsets);
        let mut c = self.commit_value(m, mode, offsets);
        c.generation = (mode == CommitMode::Sync).then_some(g);
        let (kind, error) = if ok {
            (OpType::Ok, None)
        } else {
            (OpType::Fail, Some("ILLEGAL_GENERATION"))
        };
        self.emit(w(self.members[m].process), kind, F::Commit, &c, error);
    }

    /// Complete the member's synchronous commit in flight, if any.
    fn complete_sync(&mut self, m: usize) {
        if let Some((offsets, g)) = self.members[m].inflight.take() {
            self.complete_commit(m, CommitMode::Sync, offsets, g);
        }
    }

    /// A synchronous commit of `offsets`, completed now or left in flight.
    fn commit_sync(&mut self, m: usize, offsets: Vec<(Partition, i64)>, now: bool) {
        let c = self.commit_value(m, CommitMode::Sync, offsets.clone());
        let p = w(self.members[m].process);
        self.emit(p, OpType::Invoke, F::Commit, &c, None);
        self.members[m].inflight = Some((offsets, self.members[m].generation));
        if now {
            self.complete_sync(m);
        }
    }

    /// Fire the asynchronous commits' callbacks (all, or the oldest).
    fn settle_async(&mut self, m: usize, all: bool) {
        while let Some((offsets, g)) = self.members[m].pending.pop_front() {
            self.complete_commit(m, CommitMode::Async, offsets, g);
            if !all {
                break;
            }
        }
    }

    /// An automatic commit of the member's positions (its callback).
    fn auto_commit(&mut self, m: usize) {
        if !self.members[m].auto_due {
            return;
        }
        self.members[m].auto_due = false;
        let offsets = self.positions(m);
        let g = self.members[m].generation;
        self.complete_commit(m, CommitMode::Auto, offsets, g);
    }

    /// Whatever the member's commits have pending, done.
    fn settle(&mut self, m: usize) {
        self.complete_sync(m);
        match self.cfg.commit {
            CommitMode::Async => {
                let all = self.rng.pct(50);
                self.settle_async(m, all)
            }
            CommitMode::Auto => self.auto_commit(m),
            CommitMode::Sync => {}
        }
    }

    /// Before giving partitions up: commit what was processed (a
    /// rebalance listener), sometimes not (then records are read again).
    fn before_revoke(&mut self, m: usize, parts: &[Partition]) {
        if self.rng.pct(50) {
            // Left in flight: it fails after the rebalance.
            self.complete_sync(m);
            if self.cfg.commit == CommitMode::Async {
                self.settle_async(m, true);
            }
        }
        let offsets: Vec<(Partition, i64)> = self
            .positions(m)
            .into_iter()
            .filter(|(p, _)| parts.contains(p))
            .collect();
        match self.cfg.commit {
            CommitMode::Sync
                if self.members[m].inflight.is_none()
                    && !offsets.is_empty()
                    && self.rng.pct(70) =>
            {
                self.commit_sync(m, offsets, true)
            }
            CommitMode::Auto => self.auto_commit(m),
            _ => {}
        }
    }

    fn poll(&mut self, m: usize, unprocessed: bool) {
        if self.members[m].inflight.is_some() {
            self.complete_sync(m);
            return;
        }
        if self.cfg.commit == CommitMode::Auto && self.rng.pct(50) {
            self.auto_commit(m);
        }
        let mut records = Vec::new();
        let owned: Vec<(Partition, i64)> = self.positions(m);
        for (p, pos) in owned {
            let log = &self.logs[p as usize];
            let k = self.rng.below(5) as i64;
            let to = (pos + k).min(log.len() as i64);
            for o in pos..to {
                records.push(rec(p, o, log[o as usize]));
            }
            self.members[m].owned.insert(p, to.max(pos));
        }
        let pr = w(self.members[m].process);
        self.emit(pr.clone(), OpType::Invoke, F::Poll, &(), None);
        let polled: Vec<(Partition, i64)> = {
            let mut v: Vec<Partition> = records.iter().map(|r| r.partition).collect();
            v.dedup();
            v.into_iter()
                .map(|p| (p, self.members[m].owned[&p]))
                .collect()
        };
        let any = !records.is_empty();
        self.emit(
            pr,
            OpType::Ok,
            F::Poll,
            &Poll {
                records,
                unprocessed,
            },
            None,
        );
        if !any {
            return;
        }
        match self.cfg.commit {
            CommitMode::Auto => self.members[m].auto_due = true,
            // Never processed: nothing to commit.
            _ if unprocessed => {}
            CommitMode::Sync => {
                let now = self.rng.pct(60);
                self.commit_sync(m, polled, now);
            }
            CommitMode::Async => {
                let g = self.members[m].generation;
                self.members[m].pending.push_back((polled, g));
            }
        }
    }

    /// The session timeout passes: the coordinator drops the member.
    fn timeout(&mut self, m: usize) {
        self.time += 1_000 * MS + self.rng.below(5_000 * MS);
        self.members[m].in_group = false;
        self.rebalance();
    }

    fn crash(&mut self, m: usize) {
        self.complete_sync(m);
        if self.rng.pct(50) && !self.members[m].owned.is_empty() {
            // The application dies before processing its last poll; an
            // automatic commit may already have committed it.
            self.poll(m, true);
            if self.cfg.commit == CommitMode::Auto && self.rng.pct(70) {
                self.auto_commit(m);
            }
        }
        let p = w(self.members[m].process);
        self.emit(p.clone(), OpType::Invoke, F::Crash, &(), None);
        self.emit(p, OpType::Info, F::Crash, &(), Some("member killed"));
        let mm = &mut self.members[m];
        mm.alive = false;
        mm.pending.clear();
        mm.owned.clear();
        self.timeout(m);
    }

    fn leave(&mut self, m: usize) {
        self.complete_sync(m);
        match self.cfg.commit {
            CommitMode::Async => self.settle_async(m, true),
            CommitMode::Auto => self.auto_commit(m),
            CommitMode::Sync => {
                let offsets = self.positions(m);
                if !offsets.is_empty() && self.rng.pct(70) {
                    self.commit_sync(m, offsets, true);
                }
            }
        }
        let p = w(self.members[m].process);
        self.emit(p.clone(), OpType::Invoke, F::Leave, &(), None);
        self.emit(p, OpType::Ok, F::Leave, &(), None);
        let mm = &mut self.members[m];
        mm.alive = false;
        mm.in_group = false;
        mm.owned.clear();
        self.rebalance();
    }

    fn stall(&mut self, m: usize) {
        self.complete_sync(m);
        let long = self.rng.pct(70);
        let ms = if long { 9_000 } else { 200 };
        let p = w(self.members[m].process);
        self.emit(p, OpType::Invoke, F::Stall, &Stall { ms }, None);
        self.members[m].stalled = true;
        if long {
            self.timeout(m);
        } else {
            self.time += ms * MS;
            self.wake(m, false);
        }
    }

    /// A stalled member goes on; if it was dropped meanwhile, its next
    /// commit fails and it learns it lost its partitions, then rejoins.
    fn wake(&mut self, m: usize, rejoin: bool) {
        let p = w(self.members[m].process);
        let ms = if self.members[m].in_group { 200 } else { 9_000 };
        self.emit(p, OpType::Ok, F::Stall, &Stall { ms }, None);
        self.members[m].stalled = false;
        if self.members[m].in_group {
            return;
        }
        let owned = self.positions(m);
        if self.cfg.commit == CommitMode::Sync && !owned.is_empty() && self.rng.pct(50) {
            self.commit_sync(m, owned.clone(), true);
        }
        self.settle_async(m, true);
        self.members[m].auto_due = false;
        if !owned.is_empty() {
            let a = Assignment {
                revoked: owned.iter().map(|x| x.0).collect(),
                lost: true,
                generation: Some(self.members[m].generation),
                ..Assignment::default()
            };
            self.event(m, &a);
            self.members[m].owned.clear();
        }
        if rejoin {
            self.members[m].in_group = true;
            self.rebalance();
        }
    }

    fn committed_of(&self, parts: &[Partition]) -> Vec<(Partition, i64)> {
        parts
            .iter()
            .filter_map(|&p| self.committed[p as usize].map(|c| (p, c)))
            .collect()
    }

    /// Give `parts` to member `m` in the current generation.
    fn add(&mut self, m: usize, parts: &[Partition]) {
        let committed = self.committed_of(parts);
        for &p in parts {
            let start = self.committed[p as usize].unwrap_or(0);
            self.members[m].owned.insert(p, start);
        }
        let a = Assignment {
            partitions: self.members[m].owned.keys().copied().collect(),
            added: parts.to_vec(),
            generation: Some(self.generation),
            committed,
            ..Assignment::default()
        };
        self.event(m, &a);
    }

    fn revoke(&mut self, m: usize, parts: &[Partition]) {
        self.before_revoke(m, parts);
        for p in parts {
            self.members[m].owned.remove(p);
        }
        let a = Assignment {
            partitions: self.members[m].owned.keys().copied().collect(),
            revoked: parts.to_vec(),
            generation: Some(self.members[m].generation),
            ..Assignment::default()
        };
        self.event(m, &a);
    }

    fn rebalance(&mut self) {
        let ids = self.live();
        match self.cfg.rebalancing {
            Rebalancing::Eager => self.eager(&ids),
            Rebalancing::Cooperative => self.cooperative(&ids),
        }
    }

    fn eager(&mut self, ids: &[usize]) {
        for &m in ids {
            let owned: Vec<Partition> = self.members[m].owned.keys().copied().collect();
            if !owned.is_empty() {
                self.revoke(m, &owned);
            }
        }
        self.generation += 1;
        self.time += self.rng.below(500 * MS);
        let n = self.logs.len();
        for (k, &m) in ids.iter().enumerate() {
            self.members[m].generation = self.generation;
            let parts: Vec<Partition> = (0..n)
                .filter(|p| p % ids.len() == k)
                .map(|p| p as Partition)
                .collect();
            self.add(m, &parts);
        }
    }

    fn cooperative(&mut self, ids: &[usize]) {
        let n = self.logs.len();
        // Sticky target: keep what members own, give the rest to the
        // least loaded, then move partitions until balanced.
        let mut target: Vec<Vec<Partition>> = ids
            .iter()
            .map(|&m| self.members[m].owned.keys().copied().collect())
            .collect();
        self.generation += 1;
        if ids.is_empty() {
            return;
        }
        let owned_by_some = |p: Partition, t: &[Vec<Partition>]| t.iter().any(|v| v.contains(&p));
        let free: Vec<Partition> = (0..n as Partition)
            .filter(|&p| !owned_by_some(p, &target))
            .collect();
        for &p in &free {
            let k = (0..target.len())
                .min_by_key(|&k| target[k].len())
                .expect("members");
            target[k].push(p);
        }
        let mut moving: Vec<(Partition, usize)> = Vec::new();
        loop {
            let hi = (0..target.len())
                .max_by_key(|&k| target[k].len())
                .expect("members");
            let lo = (0..target.len())
                .min_by_key(|&k| target[k].len())
                .expect("members");
            if target[hi].len() <= target[lo].len() + 1 {
                break;
            }
            // Move one the member owns now (a free one would just be given).
            let Some(pos) = target[hi].iter().rposition(|p| !free.contains(p)) else {
                break;
            };
            let p = target[hi].remove(pos);
            target[lo].push(p);
            moving.push((p, lo));
        }
        // First generation: revoke what moves, give what was free.
        for (k, &m) in ids.iter().enumerate() {
            // The member is in the new generation before its listener
            // runs (its commits there succeed).
            self.members[m].generation = self.generation;
            let revoked: Vec<Partition> = self.members[m]
                .owned
                .keys()
                .copied()
                .filter(|p| !target[k].contains(p))
                .collect();
            if !revoked.is_empty() {
                self.revoke(m, &revoked);
            }
            let given: Vec<Partition> = target[k]
                .iter()
                .copied()
                .filter(|p| free.contains(p))
                .collect();
            if !given.is_empty() {
                self.add(m, &given);
            }
        }
        if moving.is_empty() {
            return;
        }
        // Second generation: the revoked partitions to their new owners.
        self.time += self.rng.below(300 * MS);
        self.generation += 1;
        for &m in ids {
            self.members[m].generation = self.generation;
        }
        for (k, &m) in ids.iter().enumerate() {
            let given: Vec<Partition> = moving
                .iter()
                .filter(|(_, to)| *to == k)
                .map(|(p, _)| *p)
                .collect();
            if !given.is_empty() {
                self.add(m, &given);
            }
        }
    }

    fn end(&mut self) {
        for m in 0..self.members.len() {
            if self.members[m].alive && self.members[m].stalled {
                self.wake(m, false);
            }
        }
        // A last poll and commit by a member that owns something, so that
        // a committed offset is known (else skips cannot be judged and
        // the verdict is unknown).
        if self.live().is_empty() {
            self.join(true);
        }
        let owner = self
            .live()
            .into_iter()
            .find(|&m| !self.members[m].owned.is_empty());
        if let Some(m) = owner {
            self.complete_sync(m);
            self.poll(m, false);
            self.complete_sync(m);
            let offsets = self.positions(m);
            match self.cfg.commit {
                CommitMode::Sync => self.commit_sync(m, offsets, true),
                CommitMode::Async => {
                    let g = self.members[m].generation;
                    self.members[m].pending.push_back((offsets, g));
                }
                CommitMode::Auto => self.members[m].auto_due = true,
            }
        }
        for m in 0..self.members.len() {
            if !self.members[m].alive || !self.members[m].in_group {
                continue;
            }
            self.complete_sync(m);
            self.settle_async(m, true);
            self.auto_commit(m);
        }
        let fin = Process::Named("final".into());
        let c = Committed {
            group: GROUP.into(),
            offsets: vec![],
        };
        self.emit(fin.clone(), OpType::Invoke, F::Committed, &c, None);
        let all: Vec<Partition> = (0..self.logs.len() as Partition).collect();
        let c = Committed {
            group: GROUP.into(),
            offsets: self.committed_of(&all),
        };
        self.emit(fin.clone(), OpType::Ok, F::Committed, &c, None);
        for p in 0..self.logs.len() {
            let v = serde_json::json!({ "partition": p });
            self.emit(fin.clone(), OpType::Invoke, F::FinalRead, &v, None);
            let records = (self.logs[p].iter().enumerate())
                .map(|(o, &value)| rec(p as Partition, o as i64, value))
                .collect();
            let high_watermark = self.logs[p].len() as i64;
            let fr = FinalRead {
                partition: p as Partition,
                start_offset: 0,
                high_watermark,
                records,
            };
            self.emit(fin.clone(), OpType::Ok, F::FinalRead, &fr, None);
        }
    }
}
