//! The group digest and section, from hand-made histories.

use super::*;
use crate::report::data::FaultInterval;

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
        (
            "3",
            "invoke",
            "rebalance",
            r#"{"partitions":[0,1],"added":[0,1],"generation":1,"member":"m-3","at":150}"#,
            200,
        ),
        (
            "3",
            "ok",
            "rebalance",
            r#"{"partitions":[0,1],"added":[0,1],"generation":1,"member":"m-3","at":150}"#,
            200,
        ),
        ("3", "invoke", "poll", "null", 300),
        ("3", "ok", "poll", r#"{"records":[[0,0,1,1]]}"#, 310),
        (
            "3",
            "invoke",
            "commit",
            r#"{"group":"kt-x","mode":"sync","offsets":[[0,1]],"generation":1}"#,
            320,
        ),
        (
            "3",
            "ok",
            "commit",
            r#"{"group":"kt-x","mode":"sync","offsets":[[0,1]],"generation":1}"#,
            330,
        ),
        (
            "3",
            "ok",
            "rebalance",
            r#"{"partitions":[0],"revoked":[1],"generation":2,"at":390}"#,
            400,
        ),
        (
            "5",
            "ok",
            "rebalance",
            r#"{"partitions":[1],"added":[1],"generation":2,"member":"m-5","at":450}"#,
            500,
        ),
        (
            "5",
            "ok",
            "commit",
            r#"{"group":"kt-x","mode":"auto","offsets":[[1,0]],"generation":2}"#,
            600,
        ),
        ("7", "ok", "subscribe", SUB, 700),
        (
            "7",
            "ok",
            "rebalance",
            r#"{"partitions":[0],"added":[0],"generation":3,"member":"m-7"}"#,
            700,
        ),
        ("3", "invoke", "stall", r#"{"ms":9000}"#, 800),
        ("3", "ok", "stall", r#"{"ms":9000}"#, 900),
        (
            "3",
            "ok",
            "poll",
            r#"{"records":[[0,1,1,2]],"unprocessed":true}"#,
            940,
        ),
        ("3", "invoke", "crash", "null", 950),
        ("3", "info", "crash", "null", 960),
        (
            "5",
            "invoke",
            "commit",
            r#"{"group":"kt-x","mode":"sync","offsets":[[1,3]],"generation":2}"#,
            990,
        ),
        (
            "5",
            "fail",
            "commit",
            r#"{"group":"kt-x","mode":"sync","offsets":[[1,3]],"generation":2}"#,
            995,
        ),
        ("5", "invoke", "leave", "null", 1000),
        ("5", "ok", "leave", "null", 1010),
        ("7", "invoke", "poll", "null", 1040),
        ("7", "ok", "poll", r#"{"records":[]}"#, 1050),
        (
            r#""final""#,
            "ok",
            "committed",
            r#"{"group":"kt-x","offsets":[[0,1],[1,0],[2,0]]}"#,
            1100,
        ),
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
    assert_eq!(
        (o.first_generation, o.second_generation),
        (Some(1), Some(3))
    );
    // Partition 2 never had an owner: the window starts at the first
    // assignment and ends at the last member op.
    assert!(!g.complete);
    assert_eq!(g.window, (150, 1050));
    let gaps: Vec<(i32, u64, u64)> = g
        .gaps
        .iter()
        .map(|x| (x.partition, x.start_ns, x.end_ns))
        .collect();
    assert_eq!(gaps, [(1, 390, 450), (1, 1000, 1050), (2, 150, 1050)]);
    assert_eq!(g.unowned(1), (110, 60));
    assert_eq!(g.commits_by_mode["sync"], [1, 1, 0, 0]);
    assert_eq!(g.commits_by_mode["auto"], [1, 0, 0, 0]);
    let m3 = &g.members[0];
    assert_eq!(m3.ids, ["m-3"]);
    assert_eq!((m3.rebalances, m3.assignments, m3.revocations), (2, 1, 1));
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
        failed: Default::default(),
    }];
    let mut html = String::new();
    group_section(
        &mut html,
        &g,
        Some("group kt-x <ok>: 0 skipped"),
        &faults,
        1100,
    );
    assert!(html.starts_with(r#"<section id="group"><h2>Consumer group</h2>"#));
    assert!(
        html.contains("group kt-x &lt;ok&gt;: 0 skipped"),
        "summary escaped"
    );
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
    assert!(
        html.contains("process 3 (m-3)"),
        "legend: process → member id"
    );
    assert!(html.contains(r#"<tr data-mode="auto"><td>auto</td><td>1</td>"#));
    // Member 3: generations 1–2, 2 rebalance events (1 gave, 1 took away).
    assert!(
        html.contains("<td>1–2</td><td>2</td><td>1</td><td>1</td><td>0</td>"),
        "{html}"
    );
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
        (
            "1",
            "ok",
            "rebalance",
            r#"{"partitions":[],"revoked":[0],"at":30}"#,
            31,
        ),
        (
            "2",
            "ok",
            "rebalance",
            r#"{"partitions":[1,0],"added":[0],"at":30}"#,
            32,
        ),
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
        line(
            b,
            "ok",
            "rebalance",
            r#"{"partitions":[],"revoked":[0]}"#,
            t,
        );
        line(a, "ok", "rebalance", r#"{"partitions":[0],"added":[0]}"#, t);
        line(
            a,
            "ok",
            "commit",
            r#"{"mode":"auto","offsets":[[0,1]]}"#,
            t + 1,
        );
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
        html.contains("member lanes: the first 40 of 47 drawn"),
        "{}",
        &html[..1500]
    );
    assert_eq!(
        html.matches(r#"class="grp-member""#).count(),
        MAX_MEMBER_LANES
    );
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
    // Partition 0: process 3 holds the columns until its crash, then
    // 7 (both runs share a column with the other owner).
    assert_eq!(
        r,
        [
            (0, "3", 150, 950, true),
            (0, "7", 700, 1050, true),
            (1, "3", 150, 390, false),
            (1, "5", 450, 1000, false),
        ]
    );
}

#[test]
fn the_final_phase_member_is_drawn_but_the_wait_for_it_is_not_time_without_an_owner() {
    let (_d, p) = history(&[
        ("1", "ok", "subscribe", SUB, 1),
        ("1", "ok", "rebalance", r#"{"partitions":[0]}"#, 10),
        ("1", "invoke", "leave", "null", 100),
        (
            "1",
            "ok",
            "rebalance",
            r#"{"partitions":[],"revoked":[0],"at":101}"#,
            102,
        ),
        ("1", "ok", "leave", "null", 103),
        (r#""nemesis""#, "invoke", "heal", r#"{"reason":"end"}"#, 110),
        (r#""nemesis""#, "info", "heal", "{}", 120),
        // The draining member of the final phase.
        ("9", "ok", "subscribe", SUB, 500),
        (
            "9",
            "ok",
            "rebalance",
            r#"{"partitions":[0],"added":[0]}"#,
            510,
        ),
        ("9", "invoke", "leave", "null", 600),
    ]);
    let g = digest_group(&p).unwrap().unwrap();
    assert_eq!(g.last_heal_ns, Some(110));
    assert_eq!(g.window, (10, 100));
    assert!(g.gaps.is_empty(), "{:?}", g.gaps);
    assert_eq!(
        g.ownerships.len(),
        2,
        "the drain member's ownership is drawn"
    );
    assert_eq!(
        g.members[0].revocations, 1,
        "the revocation after the leave"
    );
}
