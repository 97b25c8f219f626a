//! What a shrink reads (the run folder: its spec, schedule and results)
//! and writes: `<store>/shrink/<ts>/minimal.toml` (a spec `test --spec`
//! reruns), `shrink.json` (every candidate with its runs, rate and run
//! folders; the path from the original to the minimal one) and
//! `shrink.html` (the same as a self-contained page).

use super::{Budget, CandidateRecord, ShrinkTarget, Shrunk, Stopped};
use crate::spec::TrialSpec;
use crate::trial::TestSpec;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use trial_checkers::Results;
use trial_histories::Store;
use trial_nemesis::Schedule;

pub const FORMAT: u32 = 1;
pub const MINIMAL_FILE: &str = "minimal.toml";
pub const JSON_FILE: &str = "shrink.json";
pub const HTML_FILE: &str = "shrink.html";

/// A run folder to shrink, read.
#[derive(Debug)]
pub struct OriginalRun {
    pub dir: PathBuf,
    /// `<test>/<timestamp>`.
    pub rel: String,
    pub spec: TestSpec,
    pub schedule: Option<Schedule>,
    pub results: Results,
}

/// Read RUN (`latest`, `<test>/<timestamp>`, a timestamp prefix, a
/// folder): its spec (`spec.toml`, else `test.json`), `schedule.json`
/// and `results.json`. An error (exit 3) for a folder that is not a run,
/// a run without results or without a schedule.
pub fn load_run(store: &Path, run: &str) -> Result<OriginalRun> {
    let st = Store::new(store);
    let history = st
        .resolve(run)
        .with_context(|| format!("{run:?} is not a run"))?;
    let dir = history
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let test_json = dir.join("test.json");
    if !test_json.exists() {
        bail!(
            "{} is not a run folder (no test.json beside its history)",
            dir.display()
        );
    }
    let spec_toml = dir.join(crate::spec::SPEC_FILE);
    let mut spec: TestSpec = if spec_toml.exists() {
        TrialSpec::load(&spec_toml)?.to_test(store)?
    } else {
        let text = std::fs::read_to_string(&test_json)?;
        serde_json::from_str(&text).with_context(|| format!("read {}", test_json.display()))?
    };
    spec.store = store.to_path_buf();
    let results_path = dir.join(trial_histories::store::RESULTS_FILE);
    let results: Results = serde_json::from_slice(
        &std::fs::read(&results_path)
            .with_context(|| format!("the run has no results ({})", results_path.display()))?,
    )
    .with_context(|| format!("read {}", results_path.display()))?;
    let schedule_path = dir.join("schedule.json");
    let schedule: Option<Schedule> = if schedule_path.exists() {
        Some(
            serde_json::from_slice(&std::fs::read(&schedule_path)?)
                .with_context(|| format!("read {}", schedule_path.display()))?,
        )
    } else {
        None
    };
    if schedule.is_none() {
        bail!(
            "the run has no schedule.json ({}): there is no fault schedule to shrink",
            dir.display()
        );
    }
    let rel = crate::trial::claims::relative(store, &dir);
    Ok(OriginalRun {
        dir,
        rel,
        spec,
        schedule,
        results,
    })
}

/// `shrink.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShrinkDoc {
    pub format: u32,
    pub command: String,
    pub started: String,
    pub updated: String,
    /// The run shrunk (`<test>/<timestamp>`).
    pub original_run: String,
    pub target: ShrinkTarget,
    pub runs_per_candidate: usize,
    pub budget: Budget,
    pub stopped: Stopped,
    /// Trial runs made, and the search's wall time.
    pub runs: usize,
    pub elapsed_s: f64,
    pub faults_before: usize,
    pub faults_after: usize,
    pub time_limit_before_s: f64,
    pub time_limit_after_s: f64,
    /// The minimal candidate's faults, and its rate in words.
    pub minimal_faults: Vec<String>,
    pub minimal_rate: String,
    /// The minimal spec, beside this file.
    pub minimal_spec: String,
    /// The kept candidates' indices, the original first.
    pub path: Vec<usize>,
    pub candidates: Vec<CandidateRecord>,
}

impl ShrinkDoc {
    pub fn new(
        s: &Shrunk,
        original_run: &str,
        command: String,
        started: String,
        runs_per_candidate: usize,
        budget: Budget,
    ) -> ShrinkDoc {
        ShrinkDoc {
            format: FORMAT,
            command,
            started,
            updated: trial_histories::store::timestamp_now(),
            original_run: original_run.to_string(),
            target: s.target.clone(),
            runs_per_candidate,
            budget,
            stopped: s.stopped.clone(),
            runs: s.runs,
            elapsed_s: s.elapsed_s,
            faults_before: s.original.faults.len(),
            faults_after: s.minimal.faults.len(),
            time_limit_before_s: s.original.time_limit.as_secs_f64(),
            time_limit_after_s: s.minimal.time_limit.as_secs_f64(),
            minimal_faults: s.minimal.describe_faults(),
            minimal_rate: s
                .minimal_record()
                .map(CandidateRecord::rate_text)
                .unwrap_or_else(|| "not run".into()),
            minimal_spec: MINIMAL_FILE.into(),
            path: s.path.clone(),
            candidates: s.candidates.clone(),
        }
    }

    /// The summary printed at the end.
    pub fn summary(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "shrink of {} for {}: {} → {} fault{}, time limit {:.0}s → {:.0}s",
            self.original_run,
            self.target,
            self.faults_before,
            self.faults_after,
            if self.faults_after == 1 { "" } else { "s" },
            self.time_limit_before_s,
            self.time_limit_after_s
        );
        for f in &self.minimal_faults {
            let _ = writeln!(o, "  {f}");
        }
        let _ = writeln!(o, "minimal schedule reproduces in {}", self.minimal_rate);
        let _ = writeln!(
            o,
            "{} candidates, {} trial runs, {:.0}s; {}",
            self.candidates.len(),
            self.runs,
            self.elapsed_s,
            stopped_text(&self.stopped)
        );
        o
    }
}

pub fn stopped_text(s: &Stopped) -> String {
    match s {
        Stopped::Done => "every step tried".into(),
        Stopped::OriginalDidNotReproduce => {
            "the original schedule did not reproduce: nothing shrunk".into()
        }
        Stopped::Budget(why) => format!("stopped by the budget ({why})"),
        Stopped::Interrupted => "interrupted: the best so far is kept".into(),
    }
}

/// The minimal spec as a file: a comment saying where it comes from, then
/// the spec (its faults as a script or a fixed schedule).
pub fn minimal_toml(spec: &TestSpec, doc: &ShrinkDoc) -> Result<String> {
    let body = TrialSpec::from_test(spec)?.to_toml();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# kafka-trial shrink of {} for {}: {} → {} faults, time limit {:.0}s → {:.0}s;",
        doc.original_run,
        doc.target,
        doc.faults_before,
        doc.faults_after,
        doc.time_limit_before_s,
        doc.time_limit_after_s
    );
    let _ = writeln!(o, "# reproduced in {}.", doc.minimal_rate);
    let _ = writeln!(
        o,
        "# Rerun: kafka-trial test --spec minimal.toml --repeat 10"
    );
    o.push_str(&body);
    Ok(o)
}

/// Write minimal.toml, shrink.json and shrink.html into `dir`.
pub fn write(dir: &Path, minimal: &TestSpec, doc: &ShrinkDoc) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MINIMAL_FILE), minimal_toml(minimal, doc)?)?;
    std::fs::write(dir.join(JSON_FILE), serde_json::to_vec_pretty(doc)?)?;
    std::fs::write(dir.join(HTML_FILE), html(doc))?;
    Ok(())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// shrink.html: self-contained; run folders linked relative to
/// `<store>/shrink/<ts>/`.
pub fn html(d: &ShrinkDoc) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>shrink {}</title>\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top;font-size:90%}}\
tr.kept{{background:#e6f4e6}}tr.min{{background:#c8eac8;font-weight:bold}}code{{font-size:90%}}</style>\
</head><body>",
        esc(&d.original_run)
    );
    let _ = write!(
        o,
        "<h1>Shrink of <a href=\"../../{0}/report.html\">{0}</a></h1>\
<p>Target: <b>{1}</b>. {2} → {3} faults, time limit {4:.0}s → {5:.0}s. \
The minimal schedule reproduced in {6}. {7} candidates, {8} trial runs, {9:.0}s; {10}.</p>\
<p>Minimal spec: <a href=\"{11}\">{11}</a> (<code>kafka-trial test --spec {11} --repeat 10</code>)</p><ul>",
        esc(&d.original_run),
        esc(&d.target.to_string()),
        d.faults_before,
        d.faults_after,
        d.time_limit_before_s,
        d.time_limit_after_s,
        esc(&d.minimal_rate),
        d.candidates.len(),
        d.runs,
        d.elapsed_s,
        esc(&stopped_text(&d.stopped)),
        MINIMAL_FILE
    );
    for f in &d.minimal_faults {
        let _ = write!(o, "<li>{}</li>", esc(f));
    }
    let _ = write!(
        o,
        "</ul><p><code>{}</code></p><h2>Candidates</h2><table><tr><th>#</th><th>step</th>\
<th>change</th><th>faults</th><th>time limit</th><th>rate</th><th>reproduced</th><th>runs</th></tr>",
        esc(&d.command)
    );
    let min = d.path.last().copied();
    for c in &d.candidates {
        let class = if Some(c.index) == min {
            " class=\"min\""
        } else if c.kept {
            " class=\"kept\""
        } else {
            ""
        };
        let runs: Vec<String> = c
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mark = if r.interrupted {
                    "interrupted"
                } else if r.error.is_some() {
                    "error"
                } else if r.shows(&d.target) {
                    "✔"
                } else {
                    "✘"
                };
                match &r.run {
                    Some(run) => format!(
                        "<a href=\"../../{0}/report.html\" title=\"{0}\">{1} {2}</a>",
                        esc(run),
                        i + 1,
                        mark
                    ),
                    None => format!(
                        "{} {} {}",
                        i + 1,
                        mark,
                        esc(r.error.as_deref().unwrap_or(""))
                    ),
                }
            })
            .collect();
        let _ = write!(
            o,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}s</td><td>{} ops/s, {} consumers, {} senders, {} partitions</td><td>{}{}</td><td>{}</td></tr>",
            c.index,
            esc(&format!("{:?}", c.phase).to_lowercase()),
            esc(&c.change),
            c.faults.iter().map(|f| esc(f)).collect::<Vec<_>>().join("<br>"),
            c.time_limit_s,
            c.rate,
            c.concurrency,
            c.senders,
            c.partitions,
            esc(&c.rate_text()),
            if c.partial { " (cut short)" } else { "" },
            runs.join(" ")
        );
    }
    o.push_str("</table></body></html>\n");
    o
}
