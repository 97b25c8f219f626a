//! A consumer group in the report: who owned which partition when, read
//! from the history alone (the group ops of `notes/i15-contract.md`:
//! `subscribe` with a `group`, `rebalance` events, `commit`, `stall`,
//! `leave`, `crash`, `poll`), drawn under the observer's lanes on the same
//! run-long axis as the nemesis's fault bands.
//!
//! Why from the history and not from the `group` checker's body: the
//! report must show a group also when the checker is older, missing or
//! still changing shape; the checker's verdict is its `summary` line, shown
//! on top. The ownership rule is the checker's (a partition is owned from
//! the event that gives it until the event that takes it away, the
//! member's crash or leave invocation, or its last op), so the picture and
//! the verdict talk about the same intervals.
//!
//! Read in its own streaming pass, leniently (like [`super::observed`]): a
//! value that does not parse is counted, never an error. Long runs stay
//! small: ownership is drawn at pixel resolution ([`owner_runs`]), commits
//! as one tick per member, pixel column and outcome, and every kind of
//! mark has a cap that the section states when it bites.

use super::data::Outcome;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;
use trial_histories::values::{Assignment, Commit, Committed, FinalRead, Poll, Subscribe};
use trial_histories::{HistoryReader, OpType, Process, F};

/// Why a member stopped owning a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// A rebalance event took it away (`revoked`, or left out of
    /// `partitions`).
    Revoked,
    /// As `Revoked`, in an event marked `lost` (the member was removed from
    /// the group).
    Lost,
    /// The member's `crash` invocation.
    Crash,
    /// The member's `leave` invocation.
    Leave,
    /// Still owned at the member's last op.
    LastOp,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Revoked => "revoked",
            Ended::Lost => "lost",
            Ended::Crash => "crash",
            Ended::Leave => "leave",
            Ended::LastOp => "last op",
        }
    }
}

/// One partition owned by one member process without a break.
#[derive(Debug, Clone, PartialEq)]
pub struct Ownership {
    pub partition: i32,
    /// Index into [`GroupDigest::members`].
    pub member: usize,
    pub start_ns: u64,
    pub end_ns: u64,
    /// The generation of the event that gave it.
    pub generation: Option<i32>,
    pub ended: Ended,
}

/// Two member processes owning one partition at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    pub partition: i32,
    /// The earlier owner and the later one (indices into `members`).
    pub first: usize,
    pub second: usize,
    pub start_ns: u64,
    pub end_ns: u64,
    pub first_generation: Option<i32>,
    pub second_generation: Option<i32>,
}

/// A stretch during which a partition had no owner (inside
/// [`GroupDigest::window`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    pub partition: i32,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// Something to draw as a tick on a member's lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MarkKind {
    Commit(Outcome),
    Crash,
    Leave,
    /// A rebalance event marked `lost`.
    Lost,
    /// A poll whose records the application never processed.
    Unprocessed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub member: usize,
    pub t: u64,
    pub kind: MarkKind,
}

/// One member incarnation (a worker process).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Member {
    /// The worker number, as the history writes it.
    pub process: String,
    /// Member ids the coordinator gave it, in order.
    pub ids: Vec<String>,
    pub first_ns: u64,
    pub last_ns: u64,
    /// Rebalance events it reported.
    pub rebalances: u64,
    /// Rebalance events that gave it partitions / took some away / were
    /// losses.
    pub assignments: u64,
    pub revocations: u64,
    pub lost: u64,
    /// Lowest and highest generation seen in its events and commits.
    pub generations: Option<(i32, i32)>,
    /// Commit outcomes, indexed by [`Outcome::code`] (ok, fail, info,
    /// never completed).
    pub commits: [u64; 4],
    pub polls: u64,
    pub records: u64,
    pub unprocessed_polls: u64,
    /// Stalls, from invocation to completion (or to its last op).
    pub stalls: Vec<(u64, u64)>,
    /// How it ended, if it did (crash or leave) and when.
    pub end: Option<(Ended, u64)>,
}

/// Everything the group section draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupDigest {
    pub group: String,
    pub protocol: Option<String>,
    pub assignor: Option<String>,
    pub commit_mode: Option<String>,
    pub members: Vec<Member>,
    /// Every partition seen (assignments, commits, final reads).
    pub partitions: Vec<i32>,
    /// Sorted by partition, then start.
    pub ownerships: Vec<Ownership>,
    pub overlaps: Vec<Overlap>,
    /// Sorted by partition, then start.
    pub gaps: Vec<Gap>,
    /// From the first moment every partition had an owner (else the first
    /// assignment) to the end of the last member of the run (its crash or
    /// leave invocation, else its last op): where gaps are counted. A member that joined after the last `heal` invocation
    /// belongs to the final phase (the group workload's draining member,
    /// after the time limit and recovery): it is drawn, but the wait for
    /// it is not time without an owner.
    pub window: (u64, u64),
    /// The last `heal` invocation of the nemesis, if any.
    pub last_heal_ns: Option<u64>,
    /// Whether every partition ever had an owner at once.
    pub complete: bool,
    pub rebalance_events: u64,
    /// Commit outcomes per mode (`sync`, `async`, `auto`, `?`), indexed by
    /// [`Outcome::code`].
    pub commits_by_mode: BTreeMap<String, [u64; 4]>,
    pub marks: Vec<Mark>,
    /// Group values that did not parse.
    pub skipped: u64,
    pub end_ns: u64,
}

impl GroupDigest {
    /// Per partition: (time without an owner total, max), in ns.
    pub fn unowned(&self, partition: i32) -> (u64, u64) {
        self.gaps
            .iter()
            .filter(|g| g.partition == partition)
            .fold((0, 0), |(t, m), g| {
                let d = g.end_ns - g.start_ns;
                (t + d, m.max(d))
            })
    }
}

#[derive(Default)]
struct MemberState {
    /// Partition → (start, generation).
    owned: BTreeMap<i32, (u64, Option<i32>)>,
    /// A sync commit invoked and not completed yet.
    pending_commit: bool,
    stall_from: Option<u64>,
    crash_invoked: bool,
}

struct Builder {
    d: GroupDigest,
    member_of: HashMap<u64, usize>,
    state: Vec<MemberState>,
    universe: BTreeSet<i32>,
}

impl Builder {
    fn member(&mut self, w: u64, t: u64) -> usize {
        if let Some(&m) = self.member_of.get(&w) {
            return m;
        }
        let m = self.d.members.len();
        self.d.members.push(Member {
            process: w.to_string(),
            first_ns: t,
            last_ns: t,
            ..Default::default()
        });
        self.state.push(MemberState::default());
        self.member_of.insert(w, m);
        m
    }

    fn generation(&mut self, m: usize, g: Option<i32>) {
        if let Some(g) = g {
            let gs = &mut self.d.members[m].generations;
            *gs = Some(gs.map_or((g, g), |(lo, hi)| (lo.min(g), hi.max(g))));
        }
    }

    fn end(&mut self, m: usize, p: i32, t: u64, ended: Ended) {
        if let Some((start, generation)) = self.state[m].owned.remove(&p) {
            self.d.ownerships.push(Ownership {
                partition: p,
                member: m,
                start_ns: start,
                end_ns: t.max(start),
                generation,
                ended,
            });
        }
    }

    fn end_all(&mut self, m: usize, t: u64, ended: Ended) {
        let ps: Vec<i32> = self.state[m].owned.keys().copied().collect();
        for p in ps {
            self.end(m, p, t, ended);
        }
    }

    fn rebalance(&mut self, m: usize, a: &Assignment, op_time: u64) {
        let t = a.at.unwrap_or(op_time);
        self.d.rebalance_events += 1;
        self.d.members[m].rebalances += 1;
        self.generation(m, a.generation);
        if let Some(id) = &a.member {
            if !self.d.members[m].ids.contains(id) {
                self.d.members[m].ids.push(id.clone());
            }
        }
        let after: BTreeSet<i32> = a.partitions.iter().copied().collect();
        self.universe.extend(&after);
        self.universe.extend(&a.revoked);
        self.universe.extend(&a.added);
        let ended = if a.lost { Ended::Lost } else { Ended::Revoked };
        let gone: Vec<i32> = self.state[m]
            .owned
            .keys()
            .copied()
            .filter(|p| !after.contains(p) || a.revoked.contains(p))
            .collect();
        for &p in &gone {
            self.end(m, p, t, ended);
        }
        if !a.revoked.is_empty() || !gone.is_empty() {
            self.d.members[m].revocations += 1;
        }
        if a.lost {
            self.d.members[m].lost += 1;
            self.d.marks.push(Mark {
                member: m,
                t,
                kind: MarkKind::Lost,
            });
        }
        let mut gained = false;
        for p in after {
            if let std::collections::btree_map::Entry::Vacant(e) = self.state[m].owned.entry(p) {
                e.insert((t, a.generation));
                gained = true;
            }
        }
        if gained {
            self.d.members[m].assignments += 1;
        }
    }

    fn commit(&mut self, m: usize, kind: OpType, c: &Commit, t: u64) {
        self.generation(m, c.generation);
        self.universe.extend(c.offsets.iter().map(|(p, _)| *p));
        if kind == OpType::Invoke {
            if std::mem::replace(&mut self.state[m].pending_commit, true) {
                // The previous one never completed (lenient pairing).
                self.count_commit(m, c.mode.as_str(), Outcome::Open, t);
            }
            return;
        }
        if c.mode == trial_histories::values::CommitMode::Sync {
            self.state[m].pending_commit = false;
        }
        let outcome = match kind {
            OpType::Ok => Outcome::Ok,
            OpType::Fail => Outcome::Fail,
            _ => Outcome::Info,
        };
        self.count_commit(m, c.mode.as_str(), outcome, t);
    }

    fn count_commit(&mut self, m: usize, mode: &str, o: Outcome, t: u64) {
        self.d.members[m].commits[o.code() as usize] += 1;
        self.d.commits_by_mode.entry(mode.to_string()).or_default()[o.code() as usize] += 1;
        self.d.marks.push(Mark {
            member: m,
            t,
            kind: MarkKind::Commit(o),
        });
    }

    fn finish(mut self) -> GroupDigest {
        for m in 0..self.state.len() {
            let last = self.d.members[m].last_ns;
            self.end_all(m, last, Ended::LastOp);
            if let Some(s) = self.state[m].stall_from.take() {
                self.d.members[m].stalls.push((s, last.max(s)));
            }
            if self.state[m].pending_commit {
                let mode = self.d.commit_mode.clone().unwrap_or_else(|| "sync".into());
                self.count_commit(m, &mode, Outcome::Open, last);
            }
        }
        let mut d = self.d;
        // Members in worker order (the order of appearance is the order
        // they subscribed in, which reads worse).
        let mut order: Vec<usize> = (0..d.members.len()).collect();
        order.sort_by_key(|&m| (d.members[m].process.parse::<u64>().unwrap_or(u64::MAX), m));
        let mut new_of = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_of[old] = new;
        }
        let mut members: Vec<Option<Member>> = d.members.drain(..).map(Some).collect();
        d.members = order.iter().filter_map(|&m| members[m].take()).collect();
        for o in &mut d.ownerships {
            o.member = new_of[o.member];
        }
        for k in &mut d.marks {
            k.member = new_of[k.member];
        }
        d.partitions = self.universe.into_iter().collect();
        d.ownerships
            .sort_by_key(|o| (o.partition, o.start_ns, o.end_ns, o.member));
        d.marks.sort_by_key(|k| (k.t, k.member));
        let of_the_run = |m: &&Member| d.last_heal_ns.is_none_or(|h| m.first_ns < h);
        let last = d
            .members
            .iter()
            .filter(of_the_run)
            .map(|m| m.end.map_or(m.last_ns, |(_, t)| t))
            .max()
            .or_else(|| d.members.iter().map(|m| m.last_ns).max())
            .unwrap_or(0);
        // The sweep: +1 at a start, -1 at an end (ends first at equal
        // times, so a hand-over at one instant is neither gap nor overlap).
        let mut ev: Vec<(u64, i8, i32)> = Vec::with_capacity(d.ownerships.len() * 2);
        for o in &d.ownerships {
            ev.push((o.start_ns, 1, o.partition));
            ev.push((o.end_ns, -1, o.partition));
        }
        ev.sort_unstable();
        let idx: HashMap<i32, usize> = d
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, i))
            .collect();
        let mut count = vec![0i64; d.partitions.len()];
        let mut covered = 0usize;
        let mut complete_at = None;
        for &(t, delta, p) in &ev {
            let c = &mut count[idx[&p]];
            if delta > 0 {
                *c += 1;
                if *c == 1 {
                    covered += 1;
                }
            } else {
                *c -= 1;
                if *c == 0 {
                    covered -= 1;
                }
            }
            if covered == d.partitions.len() && complete_at.is_none() {
                complete_at = Some(t);
            }
        }
        d.complete = complete_at.is_some();
        let start = complete_at.or_else(|| d.ownerships.iter().map(|o| o.start_ns).min());
        d.window = (start.unwrap_or(0), last.max(start.unwrap_or(0)));
        // Gaps and overlaps per partition.
        for &p in &d.partitions {
            let mine: Vec<&Ownership> = d.ownerships.iter().filter(|o| o.partition == p).collect();
            let (w0, w1) = d.window;
            let mut covered_to = w0;
            for o in &mine {
                if o.start_ns > covered_to && covered_to < w1 {
                    d.gaps.push(Gap {
                        partition: p,
                        start_ns: covered_to,
                        end_ns: o.start_ns.min(w1),
                    });
                }
                covered_to = covered_to.max(o.end_ns);
            }
            if covered_to < w1 {
                d.gaps.push(Gap {
                    partition: p,
                    start_ns: covered_to,
                    end_ns: w1,
                });
            }
            for (j, b) in mine.iter().enumerate() {
                for a in &mine[..j] {
                    let (s, e) = (a.start_ns.max(b.start_ns), a.end_ns.min(b.end_ns));
                    if a.member != b.member && e > s {
                        d.overlaps.push(Overlap {
                            partition: p,
                            first: a.member,
                            second: b.member,
                            start_ns: s,
                            end_ns: e,
                            first_generation: a.generation,
                            second_generation: b.generation,
                        });
                    }
                }
            }
        }
        d
    }
}

/// Read the group ops of a history. `None` when no `subscribe` names a
/// group (or there is no history file).
pub fn digest_group(path: &Path) -> io::Result<Option<GroupDigest>> {
    let mut reader = match HistoryReader::open(path) {
        Ok(r) => r,
        Err(trial_histories::ReadError::Io { source, .. })
            if source.kind() == io::ErrorKind::NotFound =>
        {
            return Ok(None)
        }
        Err(trial_histories::ReadError::Io { source, .. }) => return Err(source),
        Err(e) => return Err(io::Error::other(e.to_string())),
    };
    let mut b = Builder {
        d: GroupDigest::default(),
        member_of: HashMap::new(),
        state: Vec::new(),
        universe: BTreeSet::new(),
    };
    let mut has_group = false;
    for item in &mut reader {
        let Ok(op) = item else { continue };
        b.d.end_ns = b.d.end_ns.max(op.time);
        if op.process == Process::Nemesis && op.f == F::Heal && op.kind == OpType::Invoke {
            b.d.last_heal_ns = Some(op.time);
        }
        match (&op.f, op.kind) {
            (F::FinalRead, OpType::Ok) => {
                match op.value_as::<FinalRead>() {
                    Ok(r) => {
                        b.universe.insert(r.partition);
                    }
                    Err(_) => b.d.skipped += 1,
                }
                continue;
            }
            (F::Committed, OpType::Ok) => {
                match op.value_as::<Committed>() {
                    Ok(c) => b.universe.extend(c.offsets.iter().map(|(p, _)| *p)),
                    Err(_) => b.d.skipped += 1,
                }
                continue;
            }
            _ => {}
        }
        let Process::Worker(w) = op.process else {
            continue;
        };
        let t = op.time;
        if let Some(&m) = b.member_of.get(&w) {
            b.d.members[m].last_ns = b.d.members[m].last_ns.max(t);
        }
        match op.f {
            F::Subscribe => {
                let Ok(s) = op.value_as::<Subscribe>() else {
                    b.d.skipped += 1;
                    continue;
                };
                let Some(g) = s.group else { continue };
                b.member(w, t);
                if !has_group {
                    has_group = true;
                    b.d.group = g;
                    b.d.protocol = s.protocol;
                    b.d.assignor = s.assignor;
                    b.d.commit_mode = s.commit.map(|c| c.as_str().to_string());
                }
            }
            // The invocation and completion of an event carry one value:
            // the completion (or a lone one) is the event.
            F::Rebalance if op.kind != OpType::Invoke => {
                let Ok(a) = op.value_as::<Assignment>() else {
                    b.d.skipped += 1;
                    continue;
                };
                let m = b.member(w, t);
                b.rebalance(m, &a, t);
            }
            F::Commit => {
                let Ok(c) = op.value_as::<Commit>() else {
                    b.d.skipped += 1;
                    continue;
                };
                let m = b.member(w, t);
                b.commit(m, op.kind, &c, t);
            }
            F::Poll if op.kind == OpType::Ok => {
                let Some(&m) = b.member_of.get(&w) else {
                    continue;
                };
                let Ok(p) = op.value_as::<Poll>() else {
                    b.d.skipped += 1;
                    continue;
                };
                let mm = &mut b.d.members[m];
                mm.polls += 1;
                mm.records += p.records.len() as u64;
                if p.unprocessed {
                    mm.unprocessed_polls += 1;
                    b.d.marks.push(Mark {
                        member: m,
                        t,
                        kind: MarkKind::Unprocessed,
                    });
                }
            }
            F::Stall => {
                let m = b.member(w, t);
                if op.kind == OpType::Invoke {
                    b.state[m].stall_from = Some(t);
                } else if let Some(s) = b.state[m].stall_from.take() {
                    b.d.members[m].stalls.push((s, t));
                }
            }
            F::Crash | F::Leave => {
                let Some(&m) = b.member_of.get(&w) else {
                    continue;
                };
                let crash = op.f == F::Crash;
                if crash && op.kind != OpType::Invoke {
                    // A completion: the end was marked at its invocation,
                    // unless it stands alone.
                    if std::mem::take(&mut b.state[m].crash_invoked) {
                        continue;
                    }
                } else if op.kind != OpType::Invoke {
                    continue;
                } else if crash {
                    b.state[m].crash_invoked = true;
                }
                let (ended, kind) = if crash {
                    (Ended::Crash, MarkKind::Crash)
                } else {
                    (Ended::Leave, MarkKind::Leave)
                };
                b.end_all(m, t, ended);
                b.d.members[m].end = Some((ended, t));
                b.d.marks.push(Mark { member: m, t, kind });
            }
            _ => {}
        }
    }
    if !has_group {
        return Ok(None);
    }
    Ok(Some(b.finish()))
}

mod draw;
#[cfg(test)]
mod tests;

pub use draw::{
    group_section, member_color, owner_runs, run_section, Run, MAX_GAPS, MAX_MARKS,
    MAX_MEMBER_LANES, MAX_MEMBER_ROWS, MAX_OVERLAPS, MAX_STRETCHES,
};
