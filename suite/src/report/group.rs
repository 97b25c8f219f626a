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

use super::data::{FaultInterval, Outcome};
use super::html::esc;
use super::plots::{css, fault_color, outcome_color};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
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
    /// assignment) to the last op of any member: where gaps are counted.
    pub window: (u64, u64),
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
        d.partitions = self.universe.into_iter().collect();
        d.ownerships
            .sort_by_key(|o| (o.partition, o.start_ns, o.end_ns, o.member));
        d.marks.sort_by_key(|k| (k.t, k.member));
        let last = d.members.iter().map(|m| m.last_ns).max().unwrap_or(0);
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

/// A colour per member incarnation (by order of appearance; the legend
/// and every tooltip name the process, so a repeated colour is readable).
pub fn member_color(m: usize) -> &'static str {
    const PALETTE: [&str; 12] = [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
        "#1b9e77", "#7570b3", "#a6761d", "#666666",
    ];
    PALETTE[m % PALETTE.len()]
}

/// Caps on what one section draws (a long run with eager rebalances and a
/// commit after every poll would otherwise draw hundreds of thousands of
/// marks); the section says when one bites.
pub const MAX_STRETCHES: usize = 4000;
pub const MAX_GAPS: usize = 2000;
pub const MAX_OVERLAPS: usize = 300;
pub const MAX_MARKS: usize = 4000;
pub const MAX_MEMBER_LANES: usize = 40;
/// Rows of the member table and legend entries.
pub const MAX_MEMBER_ROWS: usize = 60;

const W: f64 = 1000.0;
const LABEL: f64 = 80.0;
const PLANE: f64 = 24.0;
const MLANE: f64 = 16.0;

fn s(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e9)
}

fn ms(ns: u64) -> String {
    format!("{:.0} ms", ns as f64 / 1e6)
}

fn member_label(g: &GroupDigest, m: usize) -> String {
    let mm = &g.members[m];
    match mm.ids.last() {
        Some(id) => format!(
            "process {} ({})",
            mm.process,
            super::data::shorten(id, 40)
        ),
        None => format!("process {}", mm.process),
    }
}

/// Keep the `cap` longest items (by `len`), in their original order; the
/// number dropped.
fn keep_longest<T>(items: &mut Vec<T>, cap: usize, len: impl Fn(&T) -> u64) -> usize {
    if items.len() <= cap {
        return 0;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(len(&items[i])));
    let keep: BTreeSet<usize> = order[..cap].iter().copied().collect();
    let dropped = items.len() - cap;
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
    dropped
}

/// One drawn ownership rect: a member that owned a partition over a run
/// of pixel columns (the owner holding most of each column's time).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub partition: i32,
    pub member: usize,
    pub start_ns: u64,
    pub end_ns: u64,
    pub generation: Option<i32>,
    /// Ownership stretches of this member that began inside the run.
    pub stretches: u64,
    /// Other members also owned the partition inside the run (hand-overs
    /// faster than a pixel).
    pub mixed: bool,
}

/// One member's share of one pixel column of a partition's lane.
#[derive(Clone)]
struct Cell {
    member: usize,
    covered: f64,
    first: u64,
    last: u64,
    starts: u64,
    generation: Option<i32>,
}

/// Down-sample ownership to pixel columns: bounded by columns × partitions
/// whatever the number of rebalances, exact where stretches are wider
/// than a pixel (rects start and end at real times).
pub fn owner_runs(g: &GroupDigest, end: f64, span: f64) -> Vec<Run> {
    let cols = span.ceil().max(1.0) as usize + 1;
    let col_ns = (end / span).max(1e-9);
    let col = |t: u64| ((t as f64 / col_ns).floor() as usize).min(cols - 1);
    let mut out = Vec::new();
    let mut i = 0;
    while i < g.ownerships.len() {
        let p = g.ownerships[i].partition;
        let mut j = i;
        let mut bins: Vec<Vec<Cell>> = vec![Vec::new(); cols];
        while j < g.ownerships.len() && g.ownerships[j].partition == p {
            let o = &g.ownerships[j];
            let (c0, c1) = (col(o.start_ns), col(o.end_ns));
            for (c, bin) in bins.iter_mut().enumerate().take(c1 + 1).skip(c0) {
                let lo = (o.start_ns as f64).max(c as f64 * col_ns);
                let hi = (o.end_ns as f64).min((c + 1) as f64 * col_ns);
                // A zero-length stretch still shows.
                let covered = (hi - lo).max(0.0) + 1e-6;
                match bin.iter_mut().find(|x| x.member == o.member) {
                    Some(x) => {
                        x.covered += covered;
                        x.first = x.first.min(o.start_ns);
                        x.last = x.last.max(o.end_ns);
                        x.starts += u64::from(c == c0);
                    }
                    None => bin.push(Cell {
                        member: o.member,
                        covered,
                        first: o.start_ns,
                        last: o.end_ns,
                        starts: u64::from(c == c0),
                        generation: o.generation,
                    }),
                }
            }
            j += 1;
        }
        let mut cur: Option<(usize, Run)> = None; // (last column, run)
        for (c, bin) in bins.iter().enumerate() {
            let Some(best) = bin
                .iter()
                .max_by(|a, b| a.covered.total_cmp(&b.covered).then(b.member.cmp(&a.member)))
            else {
                continue;
            };
            let mixed = bin.len() > 1;
            if let Some((lc, r)) = cur.as_mut() {
                if *lc + 1 == c && r.member == best.member {
                    *lc = c;
                    r.end_ns = r.end_ns.max(best.last);
                    r.stretches += best.starts;
                    r.mixed |= mixed;
                    continue;
                }
            }
            if let Some((_, r)) = cur.take() {
                out.push(r);
            }
            cur = Some((
                c,
                Run {
                    partition: p,
                    member: best.member,
                    start_ns: best.first,
                    end_ns: best.last,
                    generation: best.generation,
                    stretches: best.starts.max(1),
                    mixed,
                },
            ));
        }
        if let Some((_, r)) = cur {
            out.push(r);
        }
        i = j;
    }
    out
}

/// The "Consumer group" section: the `group` checker's summary (if
/// results.json has one), the group's settings, one lane per partition
/// coloured by owner with gaps and overlaps, one lane per member with its
/// commits, stalls, losses, crash or leave, and the tables.
pub fn group_section(
    out: &mut String,
    g: &GroupDigest,
    checker_summary: Option<&str>,
    faults: &[FaultInterval],
    end_ns: u64,
) {
    out.push_str(r#"<section id="group"><h2>Consumer group</h2>"#);
    if let Some(sm) = checker_summary {
        let _ = write!(
            out,
            r#"<p class="summary" id="group-checker"><b>group checker:</b> {}</p>"#,
            esc(sm)
        );
    }
    let opt = |o: &Option<String>| esc(o.as_deref().unwrap_or("?"));
    let (ov_total, ov_max) = g.overlaps.iter().fold((0u64, 0u64), |(t, m), o| {
        let d = o.end_ns - o.start_ns;
        (t + d, m.max(d))
    });
    let _ = write!(
        out,
        r#"<p class="group-config">group <code>{}</code>: protocol <b>{}</b>, assignor <b>{}</b>, commit <b>{}</b>; {} member process(es), {} rebalance event(s), {} ownership overlap(s){}{}.</p>"#,
        esc(&g.group),
        opt(&g.protocol),
        opt(&g.assignor),
        opt(&g.commit_mode),
        g.members.len(),
        g.rebalance_events,
        g.overlaps.len(),
        if g.overlaps.is_empty() {
            String::new()
        } else {
            format!(" (total {}, longest {})", ms(ov_total), ms(ov_max))
        },
        if g.skipped > 0 {
            format!("; {} group value(s) did not parse", g.skipped)
        } else {
            String::new()
        }
    );
    let end = end_ns.max(g.end_ns).max(1) as f64;
    let span = W - LABEL;
    // Nanoseconds per drawn unit: what "closer than a pixel" means.
    let px_ns = (end / span).max(1.0) as u64;
    let x = |t: u64| LABEL + (t as f64 / end) * span;
    let mut notes: Vec<String> = Vec::new();

    // Ownership at pixel resolution: one rect per run of columns with the
    // same main owner.
    let mut stretches = owner_runs(g, end, span);
    let n = stretches.len();
    if keep_longest(&mut stretches, MAX_STRETCHES, |r| r.end_ns - r.start_ns) > 0 {
        notes.push(format!(
            "ownership: the {MAX_STRETCHES} longest of {n} stretches drawn"
        ));
    }
    let mut gaps: Vec<&Gap> = g
        .gaps
        .iter()
        .filter(|gp| gp.end_ns - gp.start_ns >= px_ns)
        .collect();
    let short_gaps = g.gaps.len() - gaps.len();
    let n = gaps.len();
    if keep_longest(&mut gaps, MAX_GAPS, |gp| gp.end_ns - gp.start_ns) > 0 {
        notes.push(format!("no owner: the {MAX_GAPS} longest of {n} gaps drawn"));
    }
    if short_gaps > 0 {
        notes.push(format!(
            "{short_gaps} gap(s) shorter than a pixel not drawn (counted in the table)"
        ));
    }
    let mut overlaps: Vec<&Overlap> = g.overlaps.iter().collect();
    let n = overlaps.len();
    if keep_longest(&mut overlaps, MAX_OVERLAPS, |o| o.end_ns - o.start_ns) > 0 {
        notes.push(format!(
            "overlaps: the {MAX_OVERLAPS} longest of {n} drawn"
        ));
    }
    let lanes_m = g.members.len().min(MAX_MEMBER_LANES);
    if g.members.len() > lanes_m {
        notes.push(format!(
            "member lanes: the first {lanes_m} of {} drawn",
            g.members.len()
        ));
    }
    // Marks: one per member, pixel column and kind.
    let mut cols: BTreeMap<(usize, i64, MarkKind), (u64, u64)> = BTreeMap::new(); // → (t, count)
    for mk in g.marks.iter().filter(|mk| mk.member < lanes_m) {
        let c = x(mk.t).floor() as i64;
        cols.entry((mk.member, c, mk.kind))
            .and_modify(|e| e.1 += 1)
            .or_insert((mk.t, 1));
    }
    let mut marks: Vec<((usize, i64, MarkKind), (u64, u64))> = cols.into_iter().collect();
    if marks.len() > MAX_MARKS {
        // Keep the rare kinds (crash, leave, loss, failed commits) first.
        let n = marks.len();
        marks.sort_by_key(|((_, _, k), (_, c))| {
            (matches!(k, MarkKind::Commit(Outcome::Ok)), std::cmp::Reverse(*c))
        });
        marks.truncate(MAX_MARKS);
        notes.push(format!(
            "marks: {MAX_MARKS} of {n} drawn (rare kinds first)"
        ));
    }

    let _ = write!(
        out,
        r#"<p class="help">One lane per partition, coloured by the member process that owned it: from the rebalance event that gave it (at the client's <code>at</code>) to the one that took it away, the member's crash or leave, or its last op. Grey: no owner (counted from the first moment every partition had one). <b style="color:#d62728">Red with ▼</b>: two owners at once. Under them one lane per member: commits as ticks (green ok, red fail, orange unknown, grey never completed), stalls in amber, ▲ a lost assignment, ✕ a crash, ◆ a clean leave, • a poll never processed. Shaded bands are the nemesis's faults. Drawn at pixel resolution: where owners change faster than a pixel, a column shows the one that held it longest (the tooltip says so).{}</p><div class="legend">"#,
        if notes.is_empty() {
            String::new()
        } else {
            format!(
                r#" <span class="group-capped">Capped: {}.</span>"#,
                esc(&notes.join("; "))
            )
        }
    );
    for m in 0..g.members.len().min(MAX_MEMBER_ROWS) {
        let _ = write!(
            out,
            r#"<span class="key" data-member="{}"><span class="swatch" style="background:{}"></span>{}</span> "#,
            esc(&g.members[m].process),
            member_color(m),
            esc(&member_label(g, m))
        );
    }
    if g.members.len() > MAX_MEMBER_ROWS {
        let _ = write!(
            out,
            r#"<span class="key muted">… and {} more</span>"#,
            g.members.len() - MAX_MEMBER_ROWS
        );
    }
    out.push_str("</div>");

    let lane_of: HashMap<i32, usize> = g
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i))
        .collect();
    let parts_h = g.partitions.len() as f64 * PLANE;
    let h = parts_h + lanes_m as f64 * MLANE + 22.0;
    let _ = write!(
        out,
        r#"<svg id="group-lanes" class="group-lanes" viewBox="0 0 {W} {h}" width="100%" role="img" aria-label="partition owners in the consumer group over time" font-family="sans-serif" font-size="11">"#
    );
    for f in faults {
        let _ = write!(
            out,
            r#"<rect class="grp-fault" x="{:.1}" y="0" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.18"><title>{} {}–{} s</title></rect>"#,
            x(f.start_ns),
            (x(f.end_ns) - x(f.start_ns)).max(1.0),
            h - 18.0,
            css(fault_color(&f.kind)),
            esc(&f.kind),
            s(f.start_ns),
            s(f.end_ns),
        );
    }
    let overlapped: BTreeSet<i32> = g.overlaps.iter().map(|o| o.partition).collect();
    for (i, p) in g.partitions.iter().enumerate() {
        let y = i as f64 * PLANE;
        let (total, max) = g.unowned(*p);
        let _ = write!(
            out,
            r#"<g class="grp-lane" data-partition="{p}"><text x="4" y="{:.1}"{}>partition {p}{}</text><title>partition {p}: without an owner {} in all, longest {}</title></g>"#,
            y + 16.0,
            if overlapped.contains(p) {
                r##" fill="#d62728" font-weight="bold""##
            } else {
                ""
            },
            if overlapped.contains(p) { " ⚠" } else { "" },
            ms(total),
            ms(max)
        );
    }
    for r in &stretches {
        let (p, m) = (r.partition, r.member);
        let y = lane_of[&p] as f64 * PLANE;
        let (x0, x1) = (x(r.start_ns), x(r.end_ns).max(x(r.start_ns) + 0.5));
        let _ = write!(
            out,
            r#"<rect class="grp-owner" data-partition="{p}" data-member="{pr}" x="{x0:.1}" y="{:.1}" width="{:.1}" height="14" fill="{c}"><title>partition {p}: {who}{gen}, {t0}–{t1} s{merged}{mixed}</title></rect>"#,
            y + 5.0,
            x1 - x0,
            pr = esc(&g.members[m].process),
            c = member_color(m),
            who = esc(&member_label(g, m)),
            gen = r.generation.map(|g| format!(", generation {g}")).unwrap_or_default(),
            t0 = s(r.start_ns),
            t1 = s(r.end_ns),
            merged = if r.stretches > 1 {
                format!(" ({} stretches)", r.stretches)
            } else {
                String::new()
            },
            mixed = if r.mixed {
                "; other members owned it in between (hand-overs faster than a pixel)"
            } else {
                ""
            },
        );
    }
    for gp in &gaps {
        let y = lane_of[&gp.partition] as f64 * PLANE;
        let _ = write!(
            out,
            r##"<rect class="grp-unowned" data-partition="{p}" x="{:.1}" y="{:.1}" width="{:.1}" height="14" fill="#dddddd" stroke="#999" stroke-width="0.5" stroke-dasharray="2,2"><title>partition {p}: no owner {}–{} s ({})</title></rect>"##,
            x(gp.start_ns),
            y + 5.0,
            (x(gp.end_ns) - x(gp.start_ns)).max(0.5),
            s(gp.start_ns),
            s(gp.end_ns),
            ms(gp.end_ns - gp.start_ns),
            p = gp.partition,
        );
    }
    for o in &overlaps {
        let y = lane_of[&o.partition] as f64 * PLANE;
        let (x0, x1) = (x(o.start_ns), x(o.end_ns).max(x(o.start_ns) + 2.0));
        let gen = |g: Option<i32>| g.map(|g| format!(" (generation {g})")).unwrap_or_default();
        let _ = write!(
            out,
            r##"<g class="grp-overlap" data-partition="{p}"><rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="18" fill="#d62728" fill-opacity="0.55" stroke="#d62728" stroke-width="1.5"/><path d="M{:.1},{:.1} l-4,-5 h8 z" fill="#d62728"/><title>partition {p}: two owners at once, {t0}–{t1} s ({d}): {a}{ga} and {b}{gb}</title></g>"##,
            y + 3.0,
            x1 - x0,
            x0,
            y + 5.0,
            p = o.partition,
            t0 = s(o.start_ns),
            t1 = s(o.end_ns),
            d = ms(o.end_ns - o.start_ns),
            a = esc(&member_label(g, o.first)),
            ga = gen(o.first_generation),
            b = esc(&member_label(g, o.second)),
            gb = gen(o.second_generation),
        );
    }
    // Member lanes.
    for m in 0..lanes_m {
        let mm = &g.members[m];
        let y = parts_h + m as f64 * MLANE;
        let until = mm.end.map_or(mm.last_ns, |(_, t)| t);
        let _ = write!(
            out,
            r##"<g class="grp-member" data-member="{pr}"><rect x="2" y="{:.1}" width="8" height="8" fill="{c}"/><text x="13" y="{:.1}" font-size="10">member {pr}</text><line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="2"><title>{who}: {t0}–{t1} s</title></line>"##,
            y + 4.0,
            y + 12.0,
            x(mm.first_ns),
            x(until).max(x(mm.first_ns) + 0.5),
            y + 8.0,
            y + 8.0,
            pr = esc(&mm.process),
            c = member_color(m),
            who = esc(&member_label(g, m)),
            t0 = s(mm.first_ns),
            t1 = s(until),
        );
        for &(a, b) in &mm.stalls {
            let _ = write!(
                out,
                r##"<rect class="grp-stall" x="{:.1}" y="{:.1}" width="{:.1}" height="12" fill="#e0a800" fill-opacity="0.6"><title>member {pr} stalled {}–{} s ({})</title></rect>"##,
                x(a),
                y + 2.0,
                (x(b) - x(a)).max(1.0),
                s(a),
                s(b),
                ms(b - a),
                pr = esc(&mm.process),
            );
        }
        out.push_str("</g>");
    }
    for &((m, _, kind), (t, count)) in &marks {
        let y = parts_h + m as f64 * MLANE;
        let xx = x(t);
        let pr = esc(&g.members[m].process);
        let times = if count > 1 {
            format!(" ×{count} (in this pixel)")
        } else {
            String::new()
        };
        let (shape, what, name) = match kind {
            MarkKind::Commit(o) => (
                format!(
                    r#"<line x1="{xx:.1}" x2="{xx:.1}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-width="1.2"/>"#,
                    y + if o == Outcome::Ok { 5.0 } else { 1.0 },
                    y + 15.0,
                    css(outcome_color(o))
                ),
                format!("commit {}", o.as_str()),
                format!("commit-{}", o.as_str()),
            ),
            MarkKind::Crash => (
                format!(
                    r##"<path d="M{:.1},{:.1} l8,8 m0,-8 l-8,8" stroke="#000" stroke-width="2"/>"##,
                    xx - 4.0,
                    y + 4.0
                ),
                "crash".into(),
                "crash".into(),
            ),
            MarkKind::Leave => (
                format!(
                    r##"<path d="M{xx:.1},{:.1} l4,4 l-4,4 l-4,-4 z" fill="#1f77b4"/>"##,
                    y + 4.0
                ),
                "leave".into(),
                "leave".into(),
            ),
            MarkKind::Lost => (
                format!(
                    r##"<path d="M{xx:.1},{:.1} l5,9 h-10 z" fill="#d62728"/>"##,
                    y + 3.0
                ),
                "assignment lost".into(),
                "lost".into(),
            ),
            MarkKind::Unprocessed => (
                format!(
                    r##"<circle cx="{xx:.1}" cy="{:.1}" r="2.5" fill="#7b2d8b"/>"##,
                    y + 8.0
                ),
                "poll not processed".into(),
                "unprocessed".into(),
            ),
        };
        let _ = write!(
            out,
            r#"<g class="grp-mark" data-kind="{name}" data-member="{pr}">{shape}<title>member {pr}: {what} at {} s{times}</title></g>"#,
            s(t)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{LABEL}" y="{:.1}">0 s</text><text x="{W}" y="{:.1}" text-anchor="end">{:.1} s</text></svg>"#,
        h - 4.0,
        h - 4.0,
        end / 1e9
    );
    tables(out, g);
    out.push_str("</section>\n");
}

fn tables(out: &mut String, g: &GroupDigest) {
    // Commit outcomes by mode.
    out.push_str(r#"<div class="group-tables"><table class="group-commits"><thead><tr><th>commit mode</th><th>ok</th><th>fail</th><th>info</th><th>never completed</th></tr></thead><tbody>"#);
    if g.commits_by_mode.is_empty() {
        out.push_str(r#"<tr><td colspan="5" class="muted">no commits recorded</td></tr>"#);
    }
    for (mode, c) in &g.commits_by_mode {
        let _ = write!(
            out,
            r#"<tr data-mode="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(mode),
            esc(mode),
            c[0],
            c[1],
            c[2],
            c[3]
        );
    }
    out.push_str("</tbody></table>");
    // Partitions.
    out.push_str(r#"<table class="group-partitions"><thead><tr><th>partition</th><th>owners</th><th>ownership stretches</th><th>without owner: total</th><th>longest</th><th>overlaps</th><th>longest overlap</th></tr></thead><tbody>"#);
    for &p in &g.partitions {
        let owners: BTreeSet<usize> = g
            .ownerships
            .iter()
            .filter(|o| o.partition == p)
            .map(|o| o.member)
            .collect();
        let stretches = g.ownerships.iter().filter(|o| o.partition == p).count();
        let (total, max) = g.unowned(p);
        let ov: Vec<u64> = g
            .overlaps
            .iter()
            .filter(|o| o.partition == p)
            .map(|o| o.end_ns - o.start_ns)
            .collect();
        let _ = write!(
            out,
            r#"<tr data-partition="{p}"{}><td>{p}</td><td>{}</td><td>{stretches}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            if ov.is_empty() { "" } else { r#" class="overlap""# },
            owners.len(),
            ms(total),
            ms(max),
            ov.len(),
            ov.iter().max().map(|d| ms(*d)).unwrap_or_else(|| "–".into()),
        );
    }
    out.push_str("</tbody></table>");
    // Members.
    out.push_str(r#"<table class="group-members"><thead><tr><th>process</th><th>member id</th><th>generations</th><th>assigned</th><th>revoked</th><th>lost</th><th>commits ok / fail / info / open</th><th>polls (records)</th><th>not processed</th><th>stalls</th><th>ended</th></tr></thead><tbody>"#);
    for (m, mm) in g.members.iter().enumerate().take(MAX_MEMBER_ROWS) {
        let _ = write!(
            out,
            r#"<tr data-member="{pr}"><td><span class="swatch" style="background:{c}"></span>{pr}</td><td><code>{ids}</code></td><td>{gens}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {} / {}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{ended}</td></tr>"#,
            mm.assignments,
            mm.revocations,
            mm.lost,
            mm.commits[0],
            mm.commits[1],
            mm.commits[2],
            mm.commits[3],
            mm.polls,
            mm.records,
            mm.unprocessed_polls,
            mm.stalls.len(),
            pr = esc(&mm.process),
            c = member_color(m),
            ids = esc(&mm.ids.join(", ")),
            gens = match mm.generations {
                Some((a, b)) if a == b => a.to_string(),
                Some((a, b)) => format!("{a}–{b}"),
                None => "–".into(),
            },
            ended = match mm.end {
                Some((e, t)) => format!("{} at {} s", e.as_str(), s(t)),
                None => "–".into(),
            },
        );
    }
    if g.members.len() > MAX_MEMBER_ROWS {
        let _ = write!(
            out,
            r#"<tr><td colspan="11" class="muted">… and {} more member processes</td></tr>"#,
            g.members.len() - MAX_MEMBER_ROWS
        );
    }
    out.push_str("</tbody></table></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Write `lines` (process, type, f, value, time) as a history.
    fn history(lines: &[(&str, &str, &str, &str, u64)]) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history.jsonl");
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, (pr, ty, f, v, t))| {
                format!(
                    r#"{{"index":{i},"time":{t},"process":{pr},"type":"{ty}","f":"{f}","value":{v}}}"#
                ) + "\n"
            })
            .collect();
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    const SUB: &str = r#"{"topics":["group"],"group":"kt-x","protocol":"classic","assignor":"cooperative-sticky","commit":"sync"}"#;

    /// Three members: 3 owns both partitions, hands 1 over to 5 (a gap),
    /// 7 gets 0 while 3 still owns it (an overlap) until 3 crashes; 5
    /// leaves; partition 2 (known from the final committed offsets) never
    /// has an owner.
    fn sample() -> Vec<(&'static str, &'static str, &'static str, &'static str, u64)> {
        vec![
            ("3", "invoke", "subscribe", SUB, 100),
            ("3", "ok", "subscribe", SUB, 101),
            ("5", "invoke", "subscribe", SUB, 110),
            ("5", "ok", "subscribe", SUB, 111),
            ("1", "invoke", "send", r#"{"key":1,"value":1}"#, 120),
            ("3", "invoke", "rebalance", r#"{"partitions":[0,1],"added":[0,1],"generation":1,"member":"m-3","at":150}"#, 200),
            ("3", "ok", "rebalance", r#"{"partitions":[0,1],"added":[0,1],"generation":1,"member":"m-3","at":150}"#, 200),
            ("3", "invoke", "poll", "null", 300),
            ("3", "ok", "poll", r#"{"records":[[0,0,1,1]]}"#, 310),
            ("3", "invoke", "commit", r#"{"group":"kt-x","mode":"sync","offsets":[[0,1]],"generation":1}"#, 320),
            ("3", "ok", "commit", r#"{"group":"kt-x","mode":"sync","offsets":[[0,1]],"generation":1}"#, 330),
            ("3", "ok", "rebalance", r#"{"partitions":[0],"revoked":[1],"generation":2,"at":390}"#, 400),
            ("5", "ok", "rebalance", r#"{"partitions":[1],"added":[1],"generation":2,"member":"m-5","at":450}"#, 500),
            ("5", "ok", "commit", r#"{"group":"kt-x","mode":"auto","offsets":[[1,0]],"generation":2}"#, 600),
            ("7", "ok", "subscribe", SUB, 700),
            ("7", "ok", "rebalance", r#"{"partitions":[0],"added":[0],"generation":3,"member":"m-7"}"#, 700),
            ("3", "invoke", "stall", r#"{"ms":9000}"#, 800),
            ("3", "ok", "stall", r#"{"ms":9000}"#, 900),
            ("3", "ok", "poll", r#"{"records":[[0,1,1,2]],"unprocessed":true}"#, 940),
            ("3", "invoke", "crash", "null", 950),
            ("3", "info", "crash", "null", 960),
            ("5", "invoke", "commit", r#"{"group":"kt-x","mode":"sync","offsets":[[1,3]],"generation":2}"#, 990),
            ("5", "fail", "commit", r#"{"group":"kt-x","mode":"sync","offsets":[[1,3]],"generation":2}"#, 995),
            ("5", "invoke", "leave", "null", 1000),
            ("5", "ok", "leave", "null", 1010),
            ("7", "invoke", "poll", "null", 1040),
            ("7", "ok", "poll", r#"{"records":[]}"#, 1050),
            (r#""final""#, "ok", "committed", r#"{"group":"kt-x","offsets":[[0,1],[1,0],[2,0]]}"#, 1100),
        ]
    }

    #[test]
    fn ownership_gaps_overlaps_and_commits_come_from_the_history() {
        let (_d, p) = history(&sample());
        let g = digest_group(&p).unwrap().expect("a group");
        assert_eq!(g.group, "kt-x");
        assert_eq!(g.protocol.as_deref(), Some("classic"));
        assert_eq!(g.commit_mode.as_deref(), Some("sync"));
        assert_eq!(g.partitions, [0, 1, 2]);
        let procs: Vec<&str> = g.members.iter().map(|m| m.process.as_str()).collect();
        assert_eq!(procs, ["3", "5", "7"], "the sender is no member");
        let own: Vec<(i32, &str, u64, u64, Ended)> = g
            .ownerships
            .iter()
            .map(|o| {
                (
                    o.partition,
                    g.members[o.member].process.as_str(),
                    o.start_ns,
                    o.end_ns,
                    o.ended,
                )
            })
            .collect();
        assert_eq!(
            own,
            [
                (0, "3", 150, 950, Ended::Crash),
                (0, "7", 700, 1050, Ended::LastOp),
                (1, "3", 150, 390, Ended::Revoked),
                (1, "5", 450, 1000, Ended::Leave),
            ]
        );
        assert_eq!(g.overlaps.len(), 1);
        let o = &g.overlaps[0];
        assert_eq!((o.partition, o.start_ns, o.end_ns), (0, 700, 950));
        assert_eq!((o.first_generation, o.second_generation), (Some(1), Some(3)));
        // Partition 2 never had an owner: the window starts at the first
        // assignment and ends at the last member op.
        assert!(!g.complete);
        assert_eq!(g.window, (150, 1050));
        let gaps: Vec<(i32, u64, u64)> =
            g.gaps.iter().map(|x| (x.partition, x.start_ns, x.end_ns)).collect();
        assert_eq!(gaps, [(1, 390, 450), (1, 1000, 1050), (2, 150, 1050)]);
        assert_eq!(g.unowned(1), (110, 60));
        assert_eq!(g.commits_by_mode["sync"], [1, 1, 0, 0]);
        assert_eq!(g.commits_by_mode["auto"], [1, 0, 0, 0]);
        let m3 = &g.members[0];
        assert_eq!(m3.ids, ["m-3"]);
        assert_eq!((m3.assignments, m3.revocations), (1, 1));
        assert_eq!(m3.generations, Some((1, 2)));
        assert_eq!(m3.stalls, [(800, 900)]);
        assert_eq!(m3.end, Some((Ended::Crash, 950)));
        assert_eq!((m3.polls, m3.records, m3.unprocessed_polls), (2, 2, 1));
        assert_eq!(g.rebalance_events, 4);
        let kinds: Vec<MarkKind> = g.marks.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                MarkKind::Commit(Outcome::Ok),
                MarkKind::Commit(Outcome::Ok),
                MarkKind::Unprocessed,
                MarkKind::Crash,
                MarkKind::Commit(Outcome::Fail),
                MarkKind::Leave,
            ]
        );
    }

    #[test]
    fn the_section_draws_lanes_owners_an_overlap_and_the_checker_summary() {
        let (_d, p) = history(&sample());
        let g = digest_group(&p).unwrap().unwrap();
        let faults = [FaultInterval {
            kind: "kill".into(),
            start_ns: 600,
            end_ns: 800,
            stopped: true,
            start_op: 0,
            end_op: None,
            detail: String::new(),
        }];
        let mut html = String::new();
        group_section(&mut html, &g, Some("group kt-x <ok>: 0 skipped"), &faults, 1100);
        assert!(html.starts_with(r#"<section id="group"><h2>Consumer group</h2>"#));
        assert!(html.contains("group kt-x &lt;ok&gt;: 0 skipped"), "summary escaped");
        for p in 0..3 {
            assert!(html.contains(&format!(r#"class="grp-lane" data-partition="{p}""#)));
        }
        assert!(html.contains(r#"class="grp-owner" data-partition="0" data-member="7""#));
        assert_eq!(html.matches(r#"class="grp-overlap""#).count(), 1, "{html}");
        assert!(html.contains("two owners at once"));
        assert!(html.contains(r#"class="grp-unowned" data-partition="2""#));
        assert!(html.contains(r#"class="grp-fault""#));
        assert!(html.contains(r#"data-kind="crash""#) && html.contains(r#"data-kind="leave""#));
        assert!(html.contains(r#"data-kind="commit-fail""#));
        assert!(html.contains(r#"class="grp-stall""#));
        assert!(html.contains("process 3 (m-3)"), "legend: process → member id");
        assert!(html.contains(r#"<tr data-mode="auto"><td>auto</td><td>1</td>"#));
        assert!(!html.contains("Capped"));
        // Without a checker body: no summary line.
        let mut bare = String::new();
        group_section(&mut bare, &g, None, &[], 1100);
        assert!(!bare.contains("group-checker"));
    }

    #[test]
    fn a_history_without_a_group_has_no_group() {
        let (_d, p) = history(&[
            ("3", "invoke", "subscribe", r#"{"topics":["queue"]}"#, 1),
            ("3", "ok", "subscribe", r#"{"topics":["queue"]}"#, 2),
            ("3", "ok", "rebalance", r#"{"partitions":[0]}"#, 3),
            ("4", "invoke", "assign", r#"{"partitions":[1]}"#, 4),
        ]);
        assert_eq!(digest_group(&p).unwrap(), None);
        let d = tempfile::tempdir().unwrap();
        assert_eq!(digest_group(&d.path().join("missing.jsonl")).unwrap(), None);
    }

    #[test]
    fn a_one_instant_hand_over_is_neither_gap_nor_overlap_and_the_window_starts_complete() {
        let (_d, p) = history(&[
            ("1", "ok", "subscribe", SUB, 1),
            ("2", "ok", "subscribe", SUB, 1),
            ("1", "ok", "rebalance", r#"{"partitions":[0]}"#, 10),
            ("2", "ok", "rebalance", r#"{"partitions":[1]}"#, 20),
            ("1", "ok", "rebalance", r#"{"partitions":[],"revoked":[0],"at":30}"#, 31),
            ("2", "ok", "rebalance", r#"{"partitions":[1,0],"added":[0],"at":30}"#, 32),
            ("1", "ok", "poll", r#"{"records":[]}"#, 40),
            ("2", "ok", "poll", r#"{"records":[]}"#, 50),
        ]);
        let g = digest_group(&p).unwrap().unwrap();
        assert!(g.complete);
        assert_eq!(g.window, (20, 50));
        assert!(g.overlaps.is_empty(), "{:?}", g.overlaps);
        assert!(g.gaps.is_empty(), "{:?}", g.gaps);
        // A garbled value is counted, not fatal.
        let (_d, p) = history(&[
            ("1", "ok", "subscribe", SUB, 1),
            ("1", "ok", "rebalance", r#""garbage""#, 2),
        ]);
        assert_eq!(digest_group(&p).unwrap().unwrap().skipped, 1);
    }

    #[test]
    fn a_long_run_stays_small_and_says_what_it_capped() {
        // Two members taking partition 0 from each other every 10 µs for
        // 0.2 s (20,000 stretches, as many commits), then 45 short-lived
        // members more than the lanes drawn.
        let mut text = String::new();
        let mut i = 0;
        let mut line = |pr: u64, ty: &str, f: &str, v: &str, t: u64| {
            text.push_str(&format!(
                r#"{{"index":{i},"time":{t},"process":{pr},"type":"{ty}","f":"{f}","value":{v}}}"#
            ));
            text.push('\n');
            i += 1;
        };
        line(1, "ok", "subscribe", SUB, 0);
        line(2, "ok", "subscribe", SUB, 0);
        for k in 0..20_000u64 {
            let t = 1 + k * 10_000;
            let (a, b) = if k % 2 == 0 { (1, 2) } else { (2, 1) };
            line(b, "ok", "rebalance", r#"{"partitions":[],"revoked":[0]}"#, t);
            line(a, "ok", "rebalance", r#"{"partitions":[0],"added":[0]}"#, t);
            line(a, "ok", "commit", r#"{"mode":"auto","offsets":[[0,1]]}"#, t + 1);
        }
        for w in 10..55u64 {
            line(w, "ok", "subscribe", SUB, 200_000_000 + w);
            line(w, "invoke", "leave", "null", 200_000_100 + w);
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history.jsonl");
        std::fs::write(&p, text).unwrap();
        let g = digest_group(&p).unwrap().unwrap();
        assert_eq!(g.ownerships.len(), 20_000);
        assert!(g.overlaps.is_empty(), "{:?}", &g.overlaps[..1]);
        let mut html = String::new();
        group_section(&mut html, &g, None, &[], g.end_ns);
        let owners = html.matches(r#"class="grp-owner""#).count();
        assert!((1..=2 * 930).contains(&owners), "{owners} rects");
        assert!(html.contains("hand-overs faster than a pixel"));
        // Commits: one tick per member and pixel column.
        assert!(html.matches(r#"data-kind="commit-ok""#).count() <= 2 * 930);
        assert!(
            html.contains("Capped: member lanes: the first 40 of 47 drawn"),
            "{}",
            &html[..1500]
        );
        assert_eq!(html.matches(r#"class="grp-member""#).count(), MAX_MEMBER_LANES);
        assert!(html.len() < 1_000_000, "{} bytes", html.len());
    }

    #[test]
    fn pixel_runs_are_exact_for_wide_stretches() {
        let (_d, p) = history(&sample());
        let g = digest_group(&p).unwrap().unwrap();
        let runs = owner_runs(&g, 1100.0, 920.0);
        let r: Vec<(i32, &str, u64, u64, bool)> = runs
            .iter()
            .map(|r| {
                (
                    r.partition,
                    g.members[r.member].process.as_str(),
                    r.start_ns,
                    r.end_ns,
                    r.mixed,
                )
            })
            .collect();
        // Partition 0: process 3 holds most columns until its crash, then 7.
        assert_eq!(
            r,
            [
                (0, "3", 150, 950, true),
                (0, "7", 700, 1050, false),
                (1, "3", 150, 390, false),
                (1, "5", 450, 1000, false),
            ]
        );
    }
}
