//! Drawing a [`GroupDigest`]: the "Consumer group" section of report.html
//! (one lane per partition coloured by owner, gaps, overlaps, one lane per
//! member with its marks, and the tables), bounded in size whatever the
//! length of the run.

use super::{Gap, GroupDigest, MarkKind, Overlap};
use crate::report::data::{FaultInterval, Outcome};
use crate::report::html::esc;
use crate::report::plots::{css, fault_color, outcome_color};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

/// A colour per member incarnation (by its place in worker order; the legend
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

/// Where a mark is drawn: member, pixel column, kind.
type MarkCell = (usize, i64, MarkKind);

const W: f64 = 1000.0;
const LABEL: f64 = 96.0;
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
            crate::report::data::shorten(id, 40)
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
            let Some(best) = bin.iter().max_by(|a, b| {
                a.covered
                    .total_cmp(&b.covered)
                    .then(b.member.cmp(&a.member))
            }) else {
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

/// The section for a run, if its history has a group: the `group`
/// checker's summary from results.json on top when there is one (its other
/// fields are not relied on).
pub fn run_section(out: &mut String, run: &crate::report::RunData) {
    let path = run.dir.join(trial_histories::store::HISTORY_FILE);
    let Ok(Some(g)) = super::digest_group(&path) else {
        return;
    };
    let summary = run
        .results
        .as_ref()
        .and_then(|r| r.get("checkers"))
        .and_then(|c| c.get("group"))
        .and_then(|c| c.get("summary"))
        .and_then(serde_json::Value::as_str);
    group_section(out, &g, summary, &run.history.faults, run.history.end_ns);
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
    let opt = |o: &Option<String>| esc(o.as_deref().unwrap_or("not recorded"));
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
        notes.push(format!(
            "no owner: the {MAX_GAPS} longest of {n} gaps drawn"
        ));
    }
    if short_gaps > 0 {
        notes.push(format!(
            "{short_gaps} gap(s) shorter than a pixel not drawn (counted in the table)"
        ));
    }
    let mut overlaps: Vec<&Overlap> = g.overlaps.iter().collect();
    let n = overlaps.len();
    if keep_longest(&mut overlaps, MAX_OVERLAPS, |o| o.end_ns - o.start_ns) > 0 {
        notes.push(format!("overlaps: the {MAX_OVERLAPS} longest of {n} drawn"));
    }
    let lanes_m = g.members.len().min(MAX_MEMBER_LANES);
    if g.members.len() > lanes_m {
        notes.push(format!(
            "member lanes: the first {lanes_m} of {} drawn",
            g.members.len()
        ));
    }
    // Marks: one per member, pixel column and kind.
    // (member, pixel column, kind) → (first time, count)
    let mut cols: BTreeMap<MarkCell, (u64, u64)> = BTreeMap::new();
    for mk in g.marks.iter().filter(|mk| mk.member < lanes_m) {
        let c = x(mk.t).floor() as i64;
        cols.entry((mk.member, c, mk.kind))
            .and_modify(|e| e.1 += 1)
            .or_insert((mk.t, 1));
    }
    let mut marks: Vec<(MarkCell, (u64, u64))> = cols.into_iter().collect();
    if marks.len() > MAX_MARKS {
        // Keep the rare kinds (crash, leave, loss, failed commits) first.
        let n = marks.len();
        marks.sort_by_key(|((_, _, k), (_, c))| {
            (
                matches!(k, MarkKind::Commit(Outcome::Ok)),
                std::cmp::Reverse(*c),
            )
        });
        marks.truncate(MAX_MARKS);
        notes.push(format!(
            "marks: {MAX_MARKS} of {n} drawn (rare kinds first)"
        ));
    }

    let _ = write!(
        out,
        r#"<p class="help">One lane per partition, coloured by the member process that owned it: from the rebalance event that gave it (at the client's <code>at</code>) to the one that took it away, the member's crash or leave, or its last op. Grey: no owner (counted from the first moment every partition had one to the last op of the run's members, {w0}–{w1} s). <b style="color:#d62728">Red with ▼</b>: two owners at once. Under them one lane per member: commits as ticks (green ok, red fail, orange unknown, grey never completed), stalls in amber, ▲ a lost assignment, ✕ a crash, ◆ a clean leave, • a poll never processed. Shaded bands are the nemesis's faults. Drawn at pixel resolution: where owners change faster than a pixel, a column shows the one that held it longest (the tooltip says so).{}</p><div class="legend">"#,
        if notes.is_empty() {
            String::new()
        } else {
            format!(
                r#" <span class="group-capped">Capped: {}.</span>"#,
                esc(&notes.join("; "))
            )
        },
        w0 = s(g.window.0),
        w1 = s(g.window.1),
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
            gen = r
                .generation
                .map(|g| format!(", generation {g}"))
                .unwrap_or_default(),
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
            if ov.is_empty() {
                ""
            } else {
                r#" class="overlap""#
            },
            owners.len(),
            ms(total),
            ms(max),
            ov.len(),
            ov.iter()
                .max()
                .map(|d| ms(*d))
                .unwrap_or_else(|| "–".into()),
        );
    }
    out.push_str("</tbody></table>");
    // Members.
    out.push_str(r#"<table class="group-members"><thead><tr><th>process</th><th>member id</th><th>generations</th><th>rebalances</th><th>assigned</th><th>revoked</th><th>lost</th><th>commits ok / fail / info / open</th><th>polls (records)</th><th>not processed</th><th>stalls</th><th>ended</th></tr></thead><tbody>"#);
    for (m, mm) in g.members.iter().enumerate().take(MAX_MEMBER_ROWS) {
        let _ = write!(
            out,
            r#"<tr data-member="{pr}"><td><span class="swatch" style="background:{c}"></span>{pr}</td><td><code>{ids}</code></td><td>{gens}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {} / {}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{ended}</td></tr>"#,
            mm.rebalances,
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
            r#"<tr><td colspan="12" class="muted">… and {} more member processes</td></tr>"#,
            g.members.len() - MAX_MEMBER_ROWS
        );
    }
    out.push_str("</tbody></table></div>");
}
