//! The report of a run: plots and report.html rendered from synthetic run
//! folders (valid, with injected anomalies, with hostile text, partial),
//! checked for what they show, not only that they exist.

use kafka_trial::report::sample_run::{write_sample_run, SampleRun, SampleRunSpec, HOSTILE};
use kafka_trial::report::{write_run_report, ReportFiles};
use serde_json::Value;
use std::path::Path;

fn render(spec: &SampleRunSpec) -> (tempfile::TempDir, SampleRun, ReportFiles, String) {
    let d = tempfile::tempdir().unwrap();
    let run = write_sample_run(&d.path().join("run"), spec).unwrap();
    let files = write_run_report(&run.dir).unwrap();
    assert!(
        files.plot_error.is_none(),
        "plots failed (is fonts-dejavu-core installed?): {:?}",
        files.plot_error
    );
    let html = std::fs::read_to_string(&files.html).unwrap();
    (d, run, files, html)
}

/// The JSON embedded for the timeline and the op table.
fn embedded(html: &str) -> Value {
    let start = r#"<script type="application/json" id="kt-data">"#;
    let i = html.find(start).expect("embedded data") + start.len();
    let j = i + html[i..].find("</script>").unwrap();
    serde_json::from_str(&html[i..j]).expect("embedded data is JSON")
}

/// The text of every `<text>` element of an SVG written by plotters.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// The section of the page with the given id (up to the next section).
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let i = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[i..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

fn png_size(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        p.display()
    );
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn valid_run_shows_verdict_options_plots_lanes_and_fault_bands() {
    let spec = SampleRunSpec {
        ops: 3000,
        ..Default::default()
    };
    let (_d, run, files, html) = render(&spec);

    // The verdict, coloured by class.
    assert!(
        html.contains(
            r#"<div id="verdict" class="verdict valid" data-verdict="valid">valid</div>"#
        ),
        "verdict missing"
    );
    assert!(html.contains("No anomaly found."));
    assert!(section(&html, "anomalies").contains("Checked, none found"));
    assert!(!html.contains(r#"class="anomaly" id="#));

    // Every option of test.json, and the command that repeats the run.
    let test: Value =
        serde_json::from_slice(&std::fs::read(run.dir.join("test.json")).unwrap()).unwrap();
    let opts = section(&html, "test");
    for k in test.as_object().unwrap().keys() {
        assert!(
            opts.contains(&format!("<th>{k}</th>")),
            "option {k} not shown"
        );
    }
    assert!(opts.contains(&format!(
        r#"<pre class="command" id="command">{}</pre>"#,
        test["command"].as_str().unwrap()
    )));
    assert!(opts.contains(r#"<code id="seed">42</code>"#));

    // Relative links to the run's files and node logs.
    for f in [
        "history.jsonl",
        "results.json",
        "test.json",
        "nodes/n1/server.log",
        "nodes/n3/server.log",
        "latency-raw.png",
        "rate.png",
    ] {
        assert!(html.contains(&format!(r#"href="{f}""#)), "no link to {f}");
    }

    // One timeline lane per process, in order: nemesis, workers, others.
    let tl = section(&html, "timeline");
    let lanes: Vec<&str> = tl
        .split(r#"data-process=""#)
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    let mut want: Vec<String> = vec!["nemesis".into()];
    want.extend((0..spec.workers).map(|w| w.to_string()));
    want.push("final".into());
    assert_eq!(lanes, want);
    assert_eq!(run.processes.len(), lanes.len());

    // The fault intervals: listed with their kinds, and in the data the
    // canvas draws bands from.
    let kinds: Vec<&str> = tl
        .split(r#"<tr class="fault" data-kind=""#)
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(kinds, run.fault_kinds);
    let data = embedded(&html);
    let faults = data["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 4);
    for (f, kind) in faults.iter().zip(&run.fault_kinds) {
        assert_eq!(f[0], kind.as_str());
        assert!(f[1].as_u64().unwrap() < f[2].as_u64().unwrap());
    }
    // Start at the start-X info, end at the stop-X info (clock: at heal).
    let info_us = |frac: f64| ((frac * (spec.duration_s * 1e9)) as u64 + 20_000_000) / 1000;
    assert_eq!(faults[0][1].as_u64().unwrap(), info_us(0.15));
    assert_eq!(faults[0][2].as_u64().unwrap(), info_us(0.35));
    assert_eq!(
        faults[3][4],
        Value::Bool(true),
        "clock is ended by the heal"
    );
    assert_eq!(
        faults[3][2].as_u64().unwrap(),
        ((spec.duration_s + 0.5) * 1e6) as u64,
        "at the heal's info"
    );

    // Every op is in the data the timeline and table are drawn from.
    let ops = data["ops"].as_array().unwrap();
    let history = std::fs::read_to_string(run.dir.join("history.jsonl")).unwrap();
    let invocations = history.matches(r#""type":"invoke""#).count();
    assert_eq!(ops.len(), invocations, "one row per invocation");
    assert_eq!(data["lanes"].as_array().unwrap().len(), lanes.len());

    // The plots: inline SVGs with labelled fault bands, and PNG files.
    for stem in ["latency-raw", "rate"] {
        let fig = section(&html, &format!("plot-{stem}"));
        assert!(fig.contains("<svg"), "{stem} not inlined");
        let svg = std::fs::read_to_string(run.dir.join(format!("{stem}.svg"))).unwrap();
        let texts = svg_texts(&svg);
        for k in &run.fault_kinds {
            assert!(
                texts.iter().any(|t| t == k),
                "{stem}: no label {k} in {texts:?}"
            );
        }
        // Shaded bands in the fault colours.
        for c in ["#1F77B4", "#D62728", "#BC9C00", "#17A08F"] {
            assert!(
                svg.contains(&format!(r#"fill="{c}""#)),
                "{stem}: no band {c}"
            );
        }
        assert_eq!(png_size(&run.dir.join(format!("{stem}.png"))), (1200, 560));
    }
    let lat = std::fs::read_to_string(run.dir.join("latency-raw.svg")).unwrap();
    let texts = svg_texts(&lat);
    for l in ["ok", "fail", "info", "send", "poll", "final-read"] {
        assert!(
            texts.iter().any(|t| t == l),
            "latency legend lacks {l}: {texts:?}"
        );
    }
    assert!(lat.matches("<circle").count() > 100, "send points missing");
    assert!(lat.matches("<polygon").count() > 100, "poll points missing");
    let rate = std::fs::read_to_string(run.dir.join("rate.svg")).unwrap();
    let texts = svg_texts(&rate);
    for l in ["send ok", "poll ok", "final-read ok"] {
        assert!(
            texts.iter().any(|t| t == l),
            "rate legend lacks {l}: {texts:?}"
        );
    }
    assert_eq!(files.svgs.len(), 2);
    assert_eq!(files.pngs.len(), 2);
}

#[test]
fn anomalies_are_shown_with_definitions_and_linked_ops() {
    let spec = SampleRunSpec {
        anomalies: true,
        ..Default::default()
    };
    let (_d, run, _files, html) = render(&spec);
    assert!(html.contains(r#"class="verdict invalid" data-verdict="invalid">INVALID<"#));
    assert_eq!(run.lost_write_ops.len(), 3);
    assert_eq!(run.duplicate_ops.len(), 3);
    let history: Vec<Value> = std::fs::read_to_string(run.dir.join("history.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    for (name, ops, definition) in [
        (
            "lost-write",
            &run.lost_write_ops,
            "an acknowledged send whose record was never read, although a read went past its offset",
        ),
        (
            "duplicate",
            &run.duplicate_ops,
            "one sent value appears at more than one offset",
        ),
    ] {
        let sec = section(&html, &format!("anomaly-{name}"));
        assert!(sec.contains(&format!(r#"<span class="aname">{name}</span>"#)));
        assert!(sec.contains("×1"));
        assert!(
            sec.contains(&format!("<b>Definition.</b> {definition}")),
            "{name}: definition missing"
        );
        for &i in ops {
            assert!(
                sec.contains(&format!(r##"href="#op-{i}""##)),
                "{name}: op {i} not linked"
            );
            // The anchor exists, in the table of named ops, with the op's
            // real function and type.
            let row_start = html
                .find(&format!(r#"<tr id="op-{i}""#))
                .unwrap_or_else(|| panic!("no row #op-{i}"));
            let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
            let op = &history[i as usize];
            assert_eq!(op["index"], i);
            assert!(row.contains(&format!("<td>{}</td>", op["f"].as_str().unwrap())));
            assert!(row.contains(&format!(r#"<td class="type">{}</td>"#, op["type"].as_str().unwrap())));
            assert!(row.contains(&format!(r##"href="#t-{i}""##)), "no timeline link");
        }
        assert_eq!(history[ops[0] as usize]["f"], "send");
        assert_eq!(history[ops[1] as usize]["type"], "ok");
        assert_eq!(history[ops[2] as usize]["f"], "final-read");
    }
    // Found anomalies come before the classes checked and not found.
    let a = &html[html.find(r#"id="anomalies""#).unwrap()..html.find(r#"id="named-ops""#).unwrap()];
    assert!(a.contains("Checked, none found"));
    assert!(a.find("anomaly-lost-write").unwrap() < a.find("Checked, none found").unwrap());
    assert!(a.contains(r#"title="a consumer&#39;s consecutive polls of a partition skipped"#));
}

#[test]
fn text_from_the_history_results_and_options_is_escaped() {
    let spec = SampleRunSpec {
        anomalies: true,
        hostile_text: true,
        ..Default::default()
    };
    let (_d, run, _files, html) = render(&spec);
    // The markup never appears raw: only the page's own two scripts.
    assert!(!html.contains(HOSTILE));
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("<b>evil</b>") && !html.contains("<i>odd</i>"));
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the data and the code"
    );
    // It is shown, escaped: the example message, the options, the lane of
    // a process with markup in its name, the fault kind.
    let escaped = "&lt;script&gt;document.documentElement.dataset.pwned=1&lt;/script&gt;";
    assert!(section(&html, "anomaly-duplicate").contains(escaped));
    assert!(section(&html, "test").contains(&format!("&lt;/script&gt;{escaped}")));
    assert!(html.contains(r#"data-process="&lt;b&gt;evil&lt;/b&gt;""#));
    assert!(html.contains(r#"<tr class="fault" data-kind="&lt;i&gt;odd&lt;/i&gt;""#));
    // In the embedded data, as JSON with no `<`, and intact once parsed.
    let i = html.find(r#"id="kt-data">"#).unwrap();
    let j = i + html[i..].find("</script>").unwrap();
    assert!(!html[i + 13..j].contains('<'));
    let data = embedded(&html);
    let errors: Vec<&str> = data["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o[8].as_str())
        .collect();
    assert!(
        errors.iter().any(|e| e.starts_with("<script>document")),
        "hostile error lost"
    );
    assert!(data["lanes"]
        .as_array()
        .unwrap()
        .contains(&"<b>evil</b>".into()));
    // Plot labels are escaped by plotters.
    let svg = std::fs::read_to_string(run.dir.join("latency-raw.svg")).unwrap();
    assert!(svg.contains("&lt;i&gt;odd&lt;/i&gt;") && !svg.contains("<i>"));
}

#[test]
fn partial_and_running_runs_still_render() {
    let d = tempfile::tempdir().unwrap();
    // No results.json, and a history cut off mid-line.
    let spec = SampleRunSpec {
        results: false,
        ops: 500,
        ..Default::default()
    };
    let run = write_sample_run(&d.path().join("running"), &spec).unwrap();
    let hp = run.dir.join("history.jsonl");
    let mut h = std::fs::read_to_string(&hp).unwrap();
    h.push_str(r#"{"index":99999,"time":1,"process":1,"type":"inv"#);
    std::fs::write(&hp, h).unwrap();
    let files = write_run_report(&run.dir).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert!(html.contains(r#"data-verdict="pending">no verdict yet<"#));
    assert!(html.contains("No <code>results.json</code> yet"));
    assert!(
        html.contains("the last line is incomplete"),
        "truncation not reported"
    );

    // A folder with nothing but a half-written results.json.
    let empty = d.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("results.json"), r#"{"valid": fal"#).unwrap();
    let files = write_run_report(&empty).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert!(html.contains("no history.jsonl (yet)"));
    assert!(html.contains("results.json: not valid JSON"));
    assert_eq!(embedded(&html)["ops"].as_array().unwrap().len(), 0);

    // results.json in an unexpected shape: lenient, never a crash.
    std::fs::write(
        empty.join("results.json"),
        r#"{"valid": "unknown", "anomaly_counts": {"lost-write": "many"}, "checkers": {"queue": 3}, "unknown_reasons": ["final read of partition 2 stopped at offset 40 of 52"]}"#,
    )
    .unwrap();
    let html = std::fs::read_to_string(write_run_report(&empty).unwrap().html).unwrap();
    assert!(html.contains(r#"data-verdict="unknown">unknown<"#));
    assert!(html.contains("undecided: final read of partition 2 stopped at offset 40 of 52"));
}

#[test]
fn the_report_command_renders_a_stored_run() {
    let d = tempfile::tempdir().unwrap();
    let store = trial_histories::Store::new(d.path());
    let r = store.create_run("synthetic").unwrap();
    write_sample_run(&r.path, &SampleRunSpec::default()).unwrap();
    for run in ["latest", "synthetic/latest", "synthetic"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kafka-trial"))
            .arg("--store")
            .arg(d.path())
            .args(["report", run])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{run}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for f in [
            "report.html",
            "latency-raw.svg",
            "latency-raw.png",
            "rate.svg",
            "rate.png",
        ] {
            assert!(stdout.contains(f), "{run}: {f} not listed: {stdout}");
            assert!(r.path.join(f).is_file());
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kafka-trial"))
        .arg("--store")
        .arg(d.path())
        .args(["report", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn without_a_font_the_report_is_written_without_plots_and_says_why() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("run");
    write_sample_run(&dir, &SampleRunSpec::default()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kafka-trial"))
        .env("KAFKA_TRIAL_FONT", d.path().join("no-such-font.ttf"))
        .arg("report")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("the report has no plots"), "{stderr}");
    assert!(
        stderr.contains("no-such-font.ttf") && stderr.contains("fonts-dejavu-core"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("No plots: no TrueType font"));
    assert!(!dir.join("latency-raw.png").exists() && !dir.join("rate.svg").exists());
    // The rest of the report is there.
    assert!(html.contains(r#"data-verdict="valid""#) && html.contains(r#"id="timeline""#));
}

/// The figures for a 100,000-op history. Not a timed test: run it to see.
///
/// ```sh
/// cargo test --release -p kafka-trial --test report -- --ignored --nocapture report_of_100k_ops
/// ```
#[test]
#[ignore]
fn report_of_100k_ops() {
    let d = tempfile::tempdir().unwrap();
    let spec = SampleRunSpec {
        ops: 100_000,
        workers: 20,
        duration_s: 100.0,
        anomalies: true,
        ..Default::default()
    };
    let run = write_sample_run(&d.path().join("run"), &spec).unwrap();
    let t = std::time::Instant::now();
    let files = write_run_report(&run.dir).unwrap();
    eprintln!(
        "{} ops: write_run_report took {:.2} s",
        run.op_count,
        t.elapsed().as_secs_f64()
    );
    for f in files.all() {
        eprintln!(
            "{:>10} bytes  {}",
            std::fs::metadata(f).unwrap().len(),
            f.display()
        );
    }
}

#[test]
fn observer_ops_become_one_lane_per_partition_with_leader_and_isr() {
    let spec = SampleRunSpec {
        observer: true,
        ..Default::default()
    };
    let (_d, run, _files, html) = render(&spec);
    assert!(run.processes.iter().any(|p| p == "observer"));
    assert!(
        html.contains(r#"<section id="observer">"#),
        "observer section"
    );
    assert!(!html.contains("observer-none"));
    for p in 0..spec.partitions {
        assert!(
            html.contains(&format!(r#"<g class="obs-lane" data-partition="{p}">"#)),
            "lane of partition {p}"
        );
    }
    // Leaders move off the faulty nodes: each node leads somewhere, and the
    // ISR line steps down during faults.
    for n in ["n1", "n2", "n3"] {
        assert!(html.contains(&format!(r#"data-leader="{n}""#)), "{n} leads");
    }
    assert!(html.contains("ISR 2/3") && html.contains("ISR 3/3"));
    assert!(
        html.contains(r#"class="obs-fault""#),
        "fault bands behind the lanes"
    );
    // The observer section comes after the timeline.
    assert!(html.find(r#"id="timeline""#).unwrap() < html.find(r#"id="observer""#).unwrap());
}

#[test]
fn a_run_without_observer_ops_says_so() {
    let (_d, _run, _files, html) = render(&SampleRunSpec::default());
    assert!(html.contains(r#"id="observer-none""#));
    assert!(!html.contains(r#"class="obs-lane""#));
}

#[test]
fn a_group_run_shows_owner_lanes_member_lanes_and_the_checker_summary() {
    let spec = SampleRunSpec {
        group: true,
        ..Default::default()
    };
    let (_d, run, _files, html) = render(&spec);
    let h = run.hand_over.expect("partition 0 handed over");
    assert_eq!((h.partition, h.from, h.to, h.overlap), (0, 1, 3, None));
    let g = section(&html, "group");
    assert!(g.contains("<h2>Consumer group</h2>"));
    assert!(
        g.contains(r#"id="group-checker""#) && g.contains("group kt-sample (classic"),
        "the checker's summary on top"
    );
    assert!(g.contains(
        "protocol <b>classic</b>, assignor <b>cooperative-sticky</b>, commit <b>sync</b>"
    ));
    for p in 0..spec.partitions {
        assert!(
            g.contains(&format!(r#"<g class="grp-lane" data-partition="{p}">"#)),
            "lane of partition {p}"
        );
    }
    // Partition 0 is owned by both pollers in turn, with a stretch without
    // an owner between; nobody owns it twice.
    assert!(g.contains(r#"class="grp-owner" data-partition="0" data-member="1""#));
    assert!(g.contains(r#"class="grp-owner" data-partition="0" data-member="3""#));
    assert!(g.contains(r#"class="grp-unowned" data-partition="0""#));
    assert!(!g.contains("grp-overlap"));
    assert!(g.contains(r#"data-kind="commit-ok""#));
    assert!(
        g.contains(r#"class="grp-fault""#),
        "fault bands behind the lanes"
    );
    for m in ["1", "3", "5"] {
        assert!(g.contains(&format!(r#"<g class="grp-member" data-member="{m}">"#)));
    }
    assert!(html.find(r#"id="observer""#).unwrap() < html.find(r#"id="group""#).unwrap());
}

#[test]
fn two_owners_at_once_are_marked() {
    let spec = SampleRunSpec {
        group: true,
        anomalies: true,
        ..Default::default()
    };
    let (_d, run, _files, html) = render(&spec);
    let (a, b) = run
        .hand_over
        .unwrap()
        .overlap
        .expect("the second poller got partition 0 first");
    let g = section(&html, "group");
    assert_eq!(
        g.matches(r#"<g class="grp-overlap" data-partition="0">"#)
            .count(),
        1
    );
    assert!(g.contains(&format!(
        "two owners at once, {:.1}–{:.1} s",
        a as f64 / 1e9,
        b as f64 / 1e9
    )));
    assert!(g.contains("partition 0 ⚠"));
}

#[test]
fn a_run_without_a_group_has_no_group_section() {
    let (_d, _run, _files, html) = render(&SampleRunSpec::default());
    assert!(!html.contains(r#"id="group""#));
    assert!(!html.contains("grp-lane"));
}

/// A checked run with an observer: "What each fault did" carries each
/// fault's recovery after its heal (from `checkers.progress`), a "Client
/// progress" section says whether the clients stalled, and a weak-evidence
/// finding in results.json is among the caveats.
#[test]
fn recovery_after_heal_and_client_stalls_are_shown() {
    use kafka_trial::report::sample_run::write_checked_sample_run;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("run");
    let spec = SampleRunSpec {
        observer: true,
        ..Default::default()
    };
    let (_run, results) = write_checked_sample_run(&dir, &spec).unwrap();
    let p: trial_checkers::progress::ProgressResults = results.checker("progress").unwrap();
    assert!(p.observed && !p.recovery.is_empty(), "{}", p.summary);
    let files = write_run_report(&dir).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    let effects = section(&html, "effects");
    assert!(effects.contains("first op after heal"), "{effects}");
    assert!(effects.contains("80 % of pre-fault rate after heal"));
    // One row per fault, each with its three recovery cells.
    assert_eq!(effects.matches("<tr class=").count(), p.recovery.len());
    let first = p
        .recovery
        .iter()
        .find_map(|r| r.first_ok_after_heal_s)
        .expect("some fault had a first op after its heal");
    assert!(
        effects.contains(&format!("<td>{first:.1} s</td>")),
        "{first} in {effects}"
    );
    let prog = section(&html, "progress");
    assert!(prog.contains("Client progress"));
    assert!(
        prog.contains(&kafka_trial::report::escape::esc(&p.summary)),
        "{prog}"
    );
    assert!(!html.contains("weak evidence:"));

    // The same run, its results saying the clients stalled.
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    doc["weak_evidence"] =
        serde_json::json!(["client-stall: the workload made no progress for 31.0 s"]);
    doc["checkers"]["progress"]["stalls"] = serde_json::json!([{
        "finding": "client-stall", "start_s": 3.0, "end_s": 34.0, "duration_s": 31.0,
        "gap_start_s": 3.0, "gap_end_s": null, "processes_stuck": 1,
        "processes": [{"process": 4, "in_flight": {"f": "send", "since_s": 3.1},
                       "last_error": {"at_s": 9.0, "f": "send", "error": "Local: Message timed out"}}]}]);
    std::fs::write(dir.join("results.json"), doc.to_string()).unwrap();
    let files = write_run_report(&dir).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert!(
        section(&html, "warnings")
            .contains("weak evidence: client-stall: the workload made no progress for 31.0 s"),
        "caveats"
    );
    let prog = section(&html, "progress");
    assert!(
        prog.contains("<td>client-stall</td><td>3.0 – 34.0</td><td>31.0 s</td><td>1</td>"),
        "{prog}"
    );
    assert!(
        prog.contains("<code>4</code>: send since 3.1 s; send at 9.0 s: Local: Message timed out")
    );
}

/// A fault whose step failed on a node (issue 30) is marked in the fault
/// table: "applied only in part", the node and its reason (escaped).
#[test]
fn a_fault_that_applied_only_in_part_says_where_it_failed() {
    let spec = SampleRunSpec {
        ops: 200,
        ..Default::default()
    };
    let (_d, run, _files, _html) = render(&spec);
    let h = run.dir.join("history.jsonl");
    let text = std::fs::read_to_string(&h).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let (i, t) = (
        last["index"].as_u64().unwrap() + 1,
        last["time"].as_u64().unwrap() + 1000,
    );
    let start = serde_json::json!({"index": i, "time": t, "process": "nemesis", "type": "info",
        "f": "start-power-loss", "value": {"id": 90, "target": "all", "nodes": ["n1", "n2"],
        "dropped": {"n1": {"bytes_dropped": 4096}},
        "failed": {"n2": "drop-unfsynced: <busy>"}}, "error": "n2: busy"});
    let stop = serde_json::json!({"index": i + 1, "time": t + 1000, "process": "nemesis",
        "type": "info", "f": "stop-power-loss", "value": {"id": 90, "started": ["n1", "n2"]}});
    let mut f = std::fs::OpenOptions::new().append(true).open(&h).unwrap();
    use std::io::Write;
    writeln!(f, "{start}\n{stop}").unwrap();
    drop(f);
    let files = write_run_report(&run.dir).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    let row = html
        .split(r#"<tr class="fault"#)
        .skip(1)
        .find(|r| r.contains("power-loss"))
        .expect("the power loss in the fault table");
    assert!(row.starts_with(" partly"), "{row}");
    assert!(
        row.contains("applied only in part</strong>: failed on <strong>n2</strong> (drop-unfsynced: &lt;busy&gt;)"),
        "{row}"
    );
}
