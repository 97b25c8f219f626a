//! The end of the `group` check: what needs the whole history (the final
//! committed offsets, the final log, every interval of ownership closed).

use super::*;
use crate::verdict::{class, definition, permitted_in_group, Validity, GROUP_CLASSES};

const NS_PER_MS: f64 = 1e6;
const NS_PER_S: f64 = 1e9;

pub(super) fn finish(mut g: GroupChecker) -> CheckerOutput {
    let Some(group) = g.group.clone() else {
        let summary = "no consumer group".to_string();
        let mut out = CheckerOutput::new(
            "group",
            &serde_json::json!({ "applicable": false, "summary": summary }),
        );
        out.summary = Some(summary);
        return out;
    };
    let max = g.max_examples;
    let mut found: BTreeMap<&'static str, Found> = GROUP_CLASSES
        .iter()
        .map(|c| (*c, Found::default()))
        .collect();
    found.insert(class::COMMIT_REGRESSION, std::mem::take(&mut g.regressions));

    // Close what is still open at each member's last op.
    for m in g.members.values_mut() {
        for (_, i) in m.owned.drain(..) {
            let o = &mut g.own[i];
            o.end = Some((m.last_time.max(o.start), u64::MAX));
        }
    }
    let warnings = &mut g.warnings;
    if !g.other_groups.is_empty() {
        warnings.push(format!(
            "group: only group {group} is checked; subscriptions to {} were left out",
            g.other_groups
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    // lost-commit: the final committed offset against the highest ok commit.
    let fc = g.final_committed.as_ref().map(|(_, m)| m);
    match &g.final_committed {
        Some((fidx, fc)) => {
            for (&p, pc) in &g.commits {
                let Some((hi, idx)) = pc.max else { continue };
                let fin = fc.get(&p).copied();
                if fin.is_none_or(|f| f < hi) {
                    let what = fin.map_or("nothing".to_string(), |f| f.to_string());
                    found
                        .get_mut(class::LOST_COMMIT)
                        .expect("a class")
                        .add(1, max, || Example {
                            ops: vec![idx, *fidx],
                            partition: Some(p),
                            offset: Some(hi),
                            value: None,
                            process: None,
                            message: format!(
                                "partition {p}: an ok commit set {hi} (op {idx}), but the \
                                 group's committed offset after the run was {what}"
                            ),
                        });
                }
            }
        }
        None if g.commits.values().any(|pc| pc.max.is_some()) => warnings.push(
            "group: the history has no final `committed` op: lost commits were not judged"
                .to_string(),
        ),
        None => {}
    }

    // The offset below which every record must have been consumed.
    let mut bound: BTreeMap<Partition, i64> = BTreeMap::new();
    for (&p, pc) in &g.commits {
        if let Some((hi, _)) = pc.max {
            bound.insert(p, hi);
        }
    }
    if let Some(fc) = fc {
        for (&p, &o) in fc {
            bound.insert(p, o);
        }
    }

    // Skips and consume counts over the final log.
    let mut skips: Vec<SkipRange> = Vec::new();
    let mut consume = ConsumeCounts::default();
    let empty: Vec<u16> = Vec::new();
    for (&p, (_, log, fidx)) in &g.final_logs {
        let d = g.deliveries.get(&p).unwrap_or(&empty);
        let c = bound.get(&p).copied();
        let mut open: Option<Run> = None;
        for &(o, v) in log {
            let x = usize::try_from(o).ok().and_then(|o| d.get(o)).copied();
            let x = x.unwrap_or(0);
            let n = x & COUNT;
            consume.records += 1;
            match n {
                0 => consume.never += 1,
                1 => consume.once += 1,
                2 => consume.twice += 1,
                _ => consume.more += 1,
            }
            let cls = (n == 0 && c.is_some_and(|c| o < c)).then_some(if x & UNPROCESSED != 0 {
                class::UNPROCESSED_SKIP
            } else {
                class::GROUP_SKIP
            });
            match (cls, &mut open) {
                (Some(k), Some(r)) if r.class == k => {
                    r.last = o;
                    r.count += 1;
                }
                (Some(k), _) => {
                    close_run(
                        &mut open,
                        &mut found,
                        &mut skips,
                        max,
                        (p, *fidx),
                        c.unwrap_or(0),
                    );
                    open = Some(Run {
                        class: k,
                        first: o,
                        last: o,
                        count: 1,
                        value: v,
                    });
                }
                (None, _) => close_run(
                    &mut open,
                    &mut found,
                    &mut skips,
                    max,
                    (p, *fidx),
                    c.unwrap_or(0),
                ),
            }
        }
        close_run(
            &mut open,
            &mut found,
            &mut skips,
            max,
            (p, *fidx),
            c.unwrap_or(0),
        );
    }
    let delivered = consume.once + consume.twice + consume.more;
    if delivered > 0 {
        consume.more_than_once_fraction = (consume.twice + consume.more) as f64 / delivered as f64;
    }

    // Nothing to judge skips against although members consumed and were
    // meant to commit: a pass would be vacuous.
    let mut unknown_reasons = Vec::new();
    let consumed = g
        .deliveries
        .values()
        .any(|d| d.iter().any(|x| x & COUNT > 0));
    if bound.is_empty() && consumed {
        if matches!(g.commit_mode, Some(CommitMode::Sync | CommitMode::Async)) {
            unknown_reasons.push(format!(
                "group {group}: members consumed records but no commit succeeded and no final \
                 committed offset was read: skipped records cannot be judged"
            ));
        } else if g.commit_mode.is_some() {
            // (Without a commit mode the workload does not commit, e.g.
            // the queue workload's `--sub-via subscribe`: nothing to say.)
            warnings.push(format!(
                "group {group}: no committed offset known: skipped records were not judged"
            ));
        }
    }

    // Ownership: overlaps, and the judged ones.
    let mut by_part: BTreeMap<Partition, Vec<usize>> = BTreeMap::new();
    for (i, o) in g.own.iter().enumerate() {
        by_part.entry(o.partition).or_default().push(i);
    }
    let end_of = |o: &Own| o.end.map_or(o.start, |e| e.0.max(o.start));
    let mut overlaps = Overlaps::default();
    let mut all_overlaps: Vec<Overlap> = Vec::new();
    for (&p, ivs) in by_part.iter_mut() {
        ivs.sort_by_key(|&i| (g.own[i].start, end_of(&g.own[i])));
        let mut active: Vec<usize> = Vec::new();
        for &b in ivs.iter() {
            let ob = &g.own[b];
            active.retain(|&a| end_of(&g.own[a]) > ob.start);
            for &a in &active {
                let oa = &g.own[a];
                if oa.process == ob.process {
                    continue;
                }
                let until = end_of(oa).min(end_of(ob));
                let dur = until - ob.start;
                // Judged: before the overlap ended, the earlier owner had
                // recorded the later one's generation or a later one
                // (either way round when both started at once).
                let knew_of = |x: &Own, gy: i32| {
                    let &(gx, t, idx) = x.gens.iter().find(|e| e.0 >= gy)?;
                    (t < until).then_some((gy, gx, idx))
                };
                let knew = |x: &Own, y: &Own| knew_of(x, y.generation?);
                // A later owner whose generation is older than one the
                // earlier owner already knew when it got the partition
                // holds a stale assignment (librdkafka has handed a member
                // that was out of the group its old generation's
                // partitions): the stale one is the later owner, judged
                // only if it knew the earlier owner's newer generation.
                let known_at =
                    |x: &Own, t: u64| x.gens.iter().take_while(|e| e.1 <= t).map(|e| e.0).max();
                let stale_later = match (ob.generation, known_at(oa, ob.start)) {
                    (Some(gb), Some(ga)) if gb < ga => Some(ga),
                    _ => None,
                };
                let forward = match stale_later {
                    Some(_) => None,
                    None => knew(oa, ob).map(|k| (oa, ob, k)),
                };
                let backward = match stale_later {
                    Some(ga) => knew_of(ob, ga).map(|k| (ob, oa, k)),
                    None => (oa.start == ob.start)
                        .then(|| knew(ob, oa))
                        .flatten()
                        .map(|k| (ob, oa, k)),
                };
                // At one instant, name the one whose event came first as
                // the earlier owner.
                let judged = match (forward, backward) {
                    (Some(f), Some(b)) if b.0.start_op < f.0.start_op => Some(b),
                    (f, b) => f.or(b),
                };
                if let Some((x, y, (gy, gx, idx))) = judged {
                    let (xn, yn) = (g.process_name(x.process), g.process_name(y.process));
                    found
                        .get_mut(class::DOUBLE_OWNERSHIP)
                        .expect("a class")
                        .add(1, max, || Example {
                            ops: vec![x.start_op, y.start_op, idx],
                            partition: Some(p),
                            offset: None,
                            value: None,
                            process: Some(yn.clone()),
                            message: format!(
                                "partition {p}: process {yn} got it in generation {gy} (op {}) \
                                 while process {xn} owned it (since op {}) and recorded \
                                 generation {gx} (op {idx}); together for {:.1} ms",
                                y.start_op,
                                x.start_op,
                                dur as f64 / NS_PER_MS
                            ),
                        });
                }
                overlaps.count += 1;
                let ms = dur as f64 / NS_PER_MS;
                overlaps.total_ms += ms;
                overlaps.max_ms = overlaps.max_ms.max(ms);
                if all_overlaps.len() >= 4 * LONGEST {
                    keep_longest(&mut all_overlaps);
                }
                all_overlaps.push(Overlap {
                    partition: p,
                    earlier: g.process_name(oa.process),
                    later: g.process_name(ob.process),
                    from_s: ob.start as f64 / NS_PER_S,
                    duration_ms: ms,
                    generation: ob.generation,
                    judged: judged.is_some(),
                });
            }
            active.push(b);
        }
    }
    keep_longest(&mut all_overlaps);
    overlaps.longest = all_overlaps;

    // Time without an owner and rebalance windows.
    let mut parts: BTreeSet<Partition> = g.final_logs.keys().copied().collect();
    parts.extend(by_part.keys().copied());
    // The end of the workload: the final phase's first op (heal,
    // committed offsets, final reads: a member draining the topic after
    // the heal is not the workload), and no later than the first member
    // still running at the end stopped (each member's last op ends what
    // it owned; later ones would count the others' last polls as time
    // without an owner); if every member crashed or left, their last op.
    let end = g
        .members
        .values()
        .filter(|m| m.ended.is_none())
        .map(|m| m.last_time)
        .min()
        .or_else(|| g.members.values().map(|m| m.last_time).max())
        .unwrap_or(0);
    let end = g.final_phase.map_or(end, |f| f.min(end));
    let (unowned, rebalances) = unowned(&g, &parts, &by_part, end);

    // Starts after an assignment.
    let mut starts = Starts::default();
    for o in &g.own {
        let e = match o.expected {
            Expected::Committed(c) => c,
            Expected::LogStart => g.final_logs.get(&o.partition).map_or(0, |f| f.0),
            Expected::Unknown => continue,
        };
        let Some(f) = o.first_read else {
            starts.unread += 1;
            continue;
        };
        starts.measured += 1;
        let between = |lo: i64, hi: i64| match g.final_logs.get(&o.partition) {
            Some((_, log, _)) => {
                (log.partition_point(|r| r.0 < hi) - log.partition_point(|r| r.0 < lo)) as u64
            }
            None => (hi - lo) as u64,
        };
        if f < e {
            starts.below += 1;
            starts.reread += between(f, e);
        } else if f > e && between(e, f) > 0 {
            starts.above += 1;
            starts.jumped += between(e, f);
        } else {
            starts.exact += 1;
        }
    }

    // The verdict.
    let mut anomalies = BTreeMap::new();
    let mut validity = Validity::Valid;
    let mut counts = BTreeMap::new();
    let mut informational = Vec::new();
    for (c, f) in found {
        let permitted = permitted_in_group(c, g.commit_mode);
        if f.count > 0 && permitted.is_none() {
            validity = Validity::Invalid;
        }
        if permitted.is_some() {
            informational.push(c.to_string());
        }
        counts.insert(c.to_string(), f.count);
        anomalies.insert(
            c.to_string(),
            AnomalyReport {
                count: f.count,
                definition: definition(c).to_string(),
                examples: f.examples,
                informational: permitted.is_some(),
                permitted,
            },
        );
    }
    if validity == Validity::Valid && !unknown_reasons.is_empty() {
        validity = Validity::Unknown;
    }
    let mut commits = BTreeMap::new();
    for m in MODES {
        let [ok, fail, info] = g.commit_counts[mode_index(m)];
        if ok + fail + info > 0 {
            commits.insert(m.as_str().to_string(), CommitCounts { ok, fail, info });
        }
    }
    let mut r = GroupResults {
        applicable: true,
        summary: String::new(),
        group: Some(group),
        protocol: g.protocol.clone(),
        assignor: g.assignor.clone(),
        commit_mode: g.commit_mode,
        members: g.n_members,
        max_members: g.max_alive,
        anomalies,
        skips,
        final_committed: g.final_committed.as_ref().map(|(_, m)| m.clone()),
        commits,
        overlaps,
        consume,
        unowned,
        rebalances,
        starts,
        stalls: g.stalls,
        leaves: g.leaves,
        crashes: g.crashes,
    };
    r.summary = summary(&r);
    let mut out = CheckerOutput::new("group", &r);
    out.summary = Some(r.summary.clone());
    out.validity = validity;
    out.anomaly_counts = counts;
    out.informational = informational;
    out.unknown_reasons = unknown_reasons;
    out.warnings = std::mem::take(&mut g.warnings);
    out.typed = Some(Box::new(r));
    out
}

/// Overlaps listed in `overlaps.longest`.
const LONGEST: usize = MAX_RANGES / 10;

/// Keep the [`LONGEST`] longest overlaps, longest first.
fn keep_longest(v: &mut Vec<Overlap>) {
    v.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
    v.truncate(LONGEST);
}

/// A run of consecutive skipped records of one class.
struct Run {
    class: &'static str,
    first: i64,
    last: i64,
    count: u64,
    value: u64,
}

/// Close the run under way: listed as a range, one example per range.
fn close_run(
    open: &mut Option<Run>,
    found: &mut BTreeMap<&'static str, Found>,
    skips: &mut Vec<SkipRange>,
    max: usize,
    (p, final_read): (Partition, u64),
    bound: i64,
) {
    let Some(r) = open.take() else {
        return;
    };
    let how = if r.class == class::UNPROCESSED_SKIP {
        "delivered only in polls a member never processed"
    } else {
        "never returned to a member"
    };
    found
        .get_mut(r.class)
        .expect("a class")
        .add(r.count, max, || Example {
            ops: vec![final_read],
            partition: Some(p),
            offset: Some(r.first),
            value: Some(r.value),
            process: None,
            message: format!(
            "partition {p}: {} record(s) at offsets {}..={} below the committed offset {bound}, \
             {how}",
            r.count, r.first, r.last
        ),
        });
    if skips.len() < MAX_RANGES {
        skips.push(SkipRange {
            class: r.class.to_string(),
            partition: p,
            first: r.first,
            last: r.last,
            count: r.count,
            value: r.value,
        });
    }
}

/// Per partition time without an owner in [first complete assignment,
/// `end`], and the windows during which some partition had none.
fn unowned(
    g: &GroupChecker,
    parts: &BTreeSet<Partition>,
    by_part: &BTreeMap<Partition, Vec<usize>>,
    end: u64,
) -> (Unowned, Rebalances) {
    let mut u = Unowned {
        end_s: end as f64 / NS_PER_S,
        ..Unowned::default()
    };
    let mut rb = Rebalances {
        events: g.rebalance_events,
        ..Rebalances::default()
    };
    // Per partition, its owned time merged into disjoint intervals.
    let mut covered: BTreeMap<Partition, Vec<(u64, u64)>> = BTreeMap::new();
    for &p in parts {
        let mut iv: Vec<(u64, u64)> = by_part
            .get(&p)
            .into_iter()
            .flatten()
            .map(|&i| {
                let o = &g.own[i];
                (o.start, o.end.map_or(o.start, |e| e.0.max(o.start)))
            })
            .filter(|(s, e)| e > s)
            .collect();
        iv.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (s, e) in iv {
            match merged.last_mut() {
                Some(l) if s <= l.1 => l.1 = l.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        covered.insert(p, merged);
    }
    // The first instant every partition had an owner.
    let mut events: Vec<(u64, i32)> = covered
        .values()
        .flatten()
        .flat_map(|&(s, e)| [(s, 1), (e, -1)])
        .collect();
    events.sort_unstable_by_key(|&(t, d)| (t, d));
    let mut n = 0i64;
    let mut start = None;
    for (t, d) in events {
        n += i64::from(d);
        if n == parts.len() as i64 && !parts.is_empty() {
            start = Some(t);
            break;
        }
    }
    let Some(t0) = start.filter(|t| *t < end) else {
        return (u, rb);
    };
    u.complete_at_s = Some(t0 as f64 / NS_PER_S);
    // When the group had members at all: time with none (every member
    // crashed or left, e.g. between the run's end and a member that
    // drains the topic) is not a rebalance.
    let mut occupied: Vec<(u64, u64)> = g
        .members
        .values()
        .map(|m| (m.joined, m.ended.unwrap_or(m.last_time).max(m.joined)))
        .collect();
    occupied.sort_unstable();
    let occupied = merge(occupied);
    let mut gaps: Vec<(u64, u64)> = Vec::new();
    for (&p, merged) in &covered {
        let mut pu = PartitionUnowned::default();
        let mut at = t0;
        for &(s, e) in merged.iter().chain([(end, end)].iter()) {
            let (s, e) = (s.min(end), e.min(end));
            if s > at && s < end {
                for (a, b) in clip(&occupied, at, s) {
                    let ms = (b - a) as f64 / NS_PER_MS;
                    pu.total_ms += ms;
                    pu.max_ms = pu.max_ms.max(ms);
                    gaps.push((a, b));
                }
                u.empty_ms += (s - at) as f64 / NS_PER_MS;
                u.empty_ms -= clip(&occupied, at, s)
                    .map(|(a, b)| (b - a) as f64 / NS_PER_MS)
                    .sum::<f64>();
            } else if s > at {
                // Unowned until the end: the run stopping, not a rebalance.
                u.trailing_ms += (s - at) as f64 / NS_PER_MS;
            }
            at = at.max(e);
        }
        u.total_ms += pu.total_ms;
        u.max_ms = u.max_ms.max(pu.max_ms);
        u.partitions.insert(p, pu);
    }
    gaps.sort_unstable();
    let windows = merge(gaps);
    let mut ms: Vec<f64> = windows
        .iter()
        .map(|(s, e)| (e - s) as f64 / NS_PER_MS)
        .collect();
    ms.sort_by(f64::total_cmp);
    rb.windows = ms.len() as u64;
    rb.total_ms = ms.iter().sum();
    rb.max_ms = ms.last().copied().unwrap_or(0.0);
    rb.p50_ms = ms
        .get(ms.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0);
    (u, rb)
}

/// Sorted intervals merged where they touch or overlap.
fn merge(sorted: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (s, e) in sorted {
        match out.last_mut() {
            Some(l) if s <= l.1 => l.1 = l.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The parts of [a, b) inside the disjoint sorted intervals `within`.
fn clip(within: &[(u64, u64)], a: u64, b: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
    within
        .iter()
        .map(move |&(s, e)| (s.max(a), e.min(b)))
        .filter(|(s, e)| s < e)
}

/// `group kt-x (classic, cooperative-sticky, sync): 4 members, 37
/// rebalances (p50 1.2 s, max 9.8 s), 0 skipped, 0 regressions, 1.9%
/// delivered more than once`.
pub fn summary(r: &GroupResults) -> String {
    let n = |c: &str| r.anomalies.get(c).map_or(0, |a| a.count);
    let settings: Vec<&str> = [
        r.protocol.as_deref(),
        r.assignor.as_deref(),
        r.commit_mode.map(CommitMode::as_str),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut s = format!(
        "group {}{}: {} members ({} processes), {} rebalances (p50 {:.1} s, max {:.1} s), {} \
         skipped, {} regressions",
        r.group.as_deref().unwrap_or("?"),
        if settings.is_empty() {
            String::new()
        } else {
            format!(" ({})", settings.join(", "))
        },
        r.max_members,
        r.members,
        r.rebalances.windows,
        r.rebalances.p50_ms / 1e3,
        r.rebalances.max_ms / 1e3,
        n(class::GROUP_SKIP),
        n(class::COMMIT_REGRESSION),
    );
    let unprocessed = n(class::UNPROCESSED_SKIP);
    if unprocessed > 0 {
        let why = if r
            .anomalies
            .get(class::UNPROCESSED_SKIP)
            .is_some_and(|a| a.permitted.is_some())
        {
            " (permitted: auto-commit)"
        } else {
            ""
        };
        s += &format!(", {unprocessed} unprocessed skipped{why}");
    }
    for (c, what) in [
        (class::LOST_COMMIT, "lost commits"),
        (class::DOUBLE_OWNERSHIP, "double ownerships"),
    ] {
        if n(c) > 0 {
            s += &format!(", {} {what}", n(c));
        }
    }
    s += &format!(
        ", {:.1}% delivered more than once",
        r.consume.more_than_once_fraction * 100.0
    );
    s
}
