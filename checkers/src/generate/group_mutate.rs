//! One minimal edit of a correct group history per class of the `group`
//! checker: the property tests prove each class is found (and the
//! simulated correct group, [`super::simulate_group`], that none is).

use std::collections::{BTreeMap, BTreeSet};
use trial_histories::values::{Assignment, Commit, CommitMode, Committed, FinalRead, Poll};
use trial_histories::{Op, OpType, Process, F};

/// The classes of the `group` checker, as edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAnomaly {
    /// After an ok commit of o, the same member commits o − 1 (ok).
    CommitRegression,
    /// The final committed offset of a partition one below its highest
    /// ok commit.
    LostCommit,
    /// A record below the committed offset taken out of every poll that
    /// returned it.
    GroupSkip,
    /// The only poll that delivered a record below the committed offset
    /// marked `unprocessed` (an anomaly unless the group auto-commits).
    UnprocessedSkip,
    /// Another live member given a partition in the very event and
    /// generation in which one member got it.
    DoubleOwnership,
}

impl GroupAnomaly {
    pub const ALL: [GroupAnomaly; 5] = [
        GroupAnomaly::CommitRegression,
        GroupAnomaly::LostCommit,
        GroupAnomaly::GroupSkip,
        GroupAnomaly::UnprocessedSkip,
        GroupAnomaly::DoubleOwnership,
    ];

    /// The class the checker must report.
    pub fn class(self) -> &'static str {
        use crate::verdict::class;
        match self {
            GroupAnomaly::CommitRegression => class::COMMIT_REGRESSION,
            GroupAnomaly::LostCommit => class::LOST_COMMIT,
            GroupAnomaly::GroupSkip => class::GROUP_SKIP,
            GroupAnomaly::UnprocessedSkip => class::UNPROCESSED_SKIP,
            GroupAnomaly::DoubleOwnership => class::DOUBLE_OWNERSHIP,
        }
    }
}

/// `ops` with the edit of `a`, indices renumbered; `None` when the history
/// offers no place for it (e.g. no ok commit).
pub fn mutate_group(ops: &[Op], a: GroupAnomaly) -> Option<Vec<Op>> {
    let mut ops = ops.to_vec();
    match a {
        GroupAnomaly::CommitRegression => regress(&mut ops)?,
        GroupAnomaly::LostCommit => lose_commit(&mut ops)?,
        GroupAnomaly::GroupSkip => {
            let (p, o) = pick_record(&ops, |processed, unprocessed| {
                processed >= 1 && !unprocessed
            })?;
            for op in ops.iter_mut().filter(|op| is_ok_poll(op)) {
                let mut poll: Poll = op.value_as().ok()?;
                let before = poll.records.len();
                poll.records.retain(|r| (r.partition, r.offset) != (p, o));
                if poll.records.len() != before {
                    *op = op.clone().with_value(&poll);
                }
            }
        }
        GroupAnomaly::UnprocessedSkip => {
            let (p, o) = pick_record(&ops, |processed, unprocessed| {
                processed == 1 && !unprocessed
            })?;
            let op = ops.iter_mut().find(|op| {
                is_ok_poll(op)
                    && op.value_as::<Poll>().is_ok_and(|poll| {
                        poll.records
                            .iter()
                            .any(|r| (r.partition, r.offset) == (p, o))
                    })
            })?;
            let mut poll: Poll = op.value_as().ok()?;
            poll.unprocessed = true;
            *op = op.clone().with_value(&poll);
        }
        GroupAnomaly::DoubleOwnership => double_owner(&mut ops)?,
    }
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
    }
    Some(ops)
}

fn is_ok_poll(op: &Op) -> bool {
    op.f == F::Poll && op.kind == OpType::Ok
}

fn regress(ops: &mut Vec<Op>) -> Option<()> {
    let (i, c, p, o) = ops.iter().enumerate().find_map(|(i, op)| {
        if op.f != F::Commit || op.kind != OpType::Ok {
            return None;
        }
        let c: Commit = op.value_as().ok()?;
        let &(p, o) = c.offsets.iter().find(|(_, o)| *o >= 1)?;
        Some((i, c, p, o))
    })?;
    let lower = Commit {
        offsets: vec![(p, o - 1)],
        ..c.clone()
    };
    let at = &ops[i];
    let mut new = Vec::new();
    if c.mode == CommitMode::Sync {
        let mut inv = Op::new(at.process.clone(), OpType::Invoke, F::Commit).with_value(&lower);
        inv.time = at.time;
        new.push(inv);
    }
    let mut ok = Op::new(at.process.clone(), OpType::Ok, F::Commit).with_value(&lower);
    ok.time = at.time;
    new.push(ok);
    ops.splice(i + 1..i + 1, new);
    Some(())
}

/// Partition → the highest offset of its ok commits.
fn ok_commits(ops: &[Op]) -> BTreeMap<i32, i64> {
    let mut hi = BTreeMap::new();
    for op in ops {
        if op.f == F::Commit && op.kind == OpType::Ok {
            if let Ok(c) = op.value_as::<Commit>() {
                for (p, o) in c.offsets {
                    let e = hi.entry(p).or_insert(o);
                    *e = (*e).max(o);
                }
            }
        }
    }
    hi
}

fn lose_commit(ops: &mut [Op]) -> Option<()> {
    let hi = ok_commits(ops);
    let op = ops
        .iter_mut()
        .find(|op| op.f == F::Committed && op.kind == OpType::Ok)?;
    let mut c: Committed = op.value_as().ok()?;
    let e = c
        .offsets
        .iter_mut()
        .find(|(p, o)| *o >= 1 && hi.get(p).is_some_and(|h| h == o))?;
    e.1 -= 1;
    *op = op.clone().with_value(&c);
    Some(())
}

/// A record of the final log below the committed offset whose deliveries
/// (processed count, delivered unprocessed) satisfy `want`.
fn pick_record(ops: &[Op], want: impl Fn(u32, bool) -> bool) -> Option<(i32, i64)> {
    let mut bound: BTreeMap<i32, i64> = ok_commits(ops);
    if let Some(c) = ops
        .iter()
        .rev()
        .find(|op| op.f == F::Committed && op.kind == OpType::Ok)
        .and_then(|op| op.value_as::<Committed>().ok())
    {
        bound.extend(c.offsets);
    }
    let mut delivered: BTreeMap<(i32, i64), (u32, bool)> = BTreeMap::new();
    for op in ops.iter().filter(|op| is_ok_poll(op)) {
        let poll: Poll = op.value_as().ok()?;
        for r in poll.records {
            let d = delivered.entry((r.partition, r.offset)).or_default();
            if poll.unprocessed {
                d.1 = true;
            } else {
                d.0 += 1;
            }
        }
    }
    ops.iter()
        .filter(|op| op.f == F::FinalRead && op.kind == OpType::Ok)
        .filter_map(|op| op.value_as::<FinalRead>().ok())
        .flat_map(|fr| fr.records)
        .map(|r| (r.partition, r.offset))
        .find(|&(p, o)| {
            bound.get(&p).is_some_and(|c| o < *c) && {
                let (n, u) = delivered.get(&(p, o)).copied().unwrap_or_default();
                want(n, u)
            }
        })
}

fn double_owner(ops: &mut Vec<Op>) -> Option<()> {
    let mut last: BTreeMap<Process, usize> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        last.insert(op.process.clone(), i);
    }
    // Per member process: its current partitions and member id, while it
    // is subscribed and has not crashed or left.
    let mut live: BTreeMap<Process, (BTreeSet<i32>, Option<String>)> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        match (&op.f, op.kind) {
            (F::Subscribe, OpType::Ok) => {
                live.insert(op.process.clone(), Default::default());
            }
            (F::Crash | F::Leave, OpType::Invoke) => {
                live.remove(&op.process);
            }
            (F::Rebalance, OpType::Ok) => {
                let a: Assignment = op.value_as().ok()?;
                if let Some(e) = live.get_mut(&op.process) {
                    e.0 = a.partitions.iter().copied().collect();
                    e.1 = a.member.clone();
                }
                let (Some(g), Some(&p)) = (a.generation, a.added.first()) else {
                    continue;
                };
                if last.get(&op.process).is_none_or(|&l| l <= i) {
                    continue;
                }
                let Some((other, (parts, member))) = live
                    .iter()
                    .find(|(q, _)| **q != op.process && last.get(*q).is_some_and(|&l| l > i))
                else {
                    continue;
                };
                let mut partitions: Vec<i32> = parts.iter().copied().collect();
                if !partitions.contains(&p) {
                    partitions.push(p);
                    partitions.sort_unstable();
                }
                let b = Assignment {
                    partitions,
                    added: vec![p],
                    generation: Some(g),
                    member: member.clone(),
                    at: a.at,
                    ..Assignment::default()
                };
                let mut e = Op::new(other.clone(), OpType::Ok, F::Rebalance).with_value(&b);
                e.time = op.time;
                ops.insert(i + 1, e);
                return Some(());
            }
            _ => {}
        }
    }
    None
}
