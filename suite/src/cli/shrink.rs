//! `kafka-trial shrink RUN`: the smallest schedule that still shows the
//! run's finding (`crate::trial::shrink`), written as
//! `<store>/shrink/<ts>/minimal.toml`, `shrink.json` and `shrink.html`.

use super::exit;
use crate::spec::parse_duration;
use crate::trial::shrink::{self, doc, Budget, Candidate, ShrinkOptions, TrialRunner};
use anyhow::{Context, Result};
use clap::Args;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// `shrink RUN [--class CLASS] [--runs-per-candidate 3] [--budget 30m] [--max-runs N]`.
#[derive(Args, Debug, Clone)]
pub struct ShrinkArgs {
    /// The failing run: `latest`, `<test>/<timestamp>`, a timestamp prefix
    /// or a run folder.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// The anomaly class that must still appear (default: the run's first
    /// class its configuration forbids; under `--judge promises` the run
    /// was judged by, its first broken promise).
    #[arg(long, value_name = "CLASS")]
    pub class: Option<String>,
    /// Runs of each candidate schedule, each on a fresh cluster; a
    /// candidate reproduces when at least one run shows the class.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs_per_candidate: u32,
    /// Wall time of the whole search (e.g. 30m, 2h): no candidate starts
    /// whose runs would not fit.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub budget: Duration,
    /// At most this many trial runs in all (the original's reruns
    /// included).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_runs: Option<u32>,
}

/// Refuse what cannot be shrunk (exit 3) before anything runs.
pub fn prepare(
    store: &Path,
    a: &ShrinkArgs,
) -> Result<(doc::OriginalRun, shrink::ShrinkTarget, Candidate)> {
    let run = doc::load_run(store, &a.run)?;
    let target = shrink::target_of(&run.results, run.spec.judge, a.class.as_deref())?;
    let original = Candidate::original(&run.spec, run.schedule.as_ref())?;
    if original.faults.is_empty() {
        anyhow::bail!("the run played no fault: there is no schedule to shrink");
    }
    run.spec.validate()?;
    if a.budget < Duration::from_secs(1) {
        anyhow::bail!("--budget must be at least 1s");
    }
    Ok((run, target, original))
}

pub async fn shrink_cmd(store: &Path, a: ShrinkArgs) -> Result<ExitCode> {
    let (run, target, original) = match prepare(store, &a) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("kafka-trial: {e:#}");
            return Ok(exit::code(exit::HARNESS));
        }
    };
    let budget = Budget {
        wall: Some(a.budget),
        max_runs: a.max_runs.map(|n| n as usize),
    };
    let mut o = ShrinkOptions::new(a.runs_per_candidate as usize, budget);
    o.progress = true;
    // Ctrl-C between runs ends the search (a run in progress heals and
    // ends through its own handler, and the search with it).
    let interrupt = o.interrupt.clone();
    let handler = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupt.store(true, Ordering::SeqCst);
        }
    });
    let started = trial_histories::store::timestamp_now();
    let command = super::test::command_line();
    let mut base = run.spec.clone();
    base.name = format!("{}-shrink", run.spec.name);
    base.progress = false;
    base.command = Some(command.clone());
    eprintln!(
        "shrink {}: target {}; {} faults, time limit {}s; {} runs per candidate, budget {}{}",
        run.rel,
        target,
        original.faults.len(),
        original.time_limit.as_secs(),
        a.runs_per_candidate,
        crate::spec::format_duration(a.budget),
        a.max_runs
            .map(|n| format!(", at most {n} runs"))
            .unwrap_or_default()
    );
    let mut runner = TrialRunner {
        store: store.to_path_buf(),
    };
    let seen = shrink::RunOutcome {
        classes: shrink::runner::findings(&run.results).0,
        broken_promises: shrink::runner::findings(&run.results).1,
        run: Some(run.rel.clone()),
        ..shrink::RunOutcome::default()
    };
    let result = shrink::shrink(&base, original, Some(seen), &target, &o, &mut runner).await;
    handler.abort();
    let doc = doc::ShrinkDoc::new(
        &result,
        &run.rel,
        command,
        started.clone(),
        a.runs_per_candidate as usize,
        budget,
    );
    let mut minimal = result.minimal.to_spec(&base);
    minimal.name = format!("{}-minimal", run.spec.name);
    minimal.command = None;
    let dir = store.join("shrink").join(&started);
    doc::write(&dir, &minimal, &doc).with_context(|| format!("write {}", dir.display()))?;
    println!();
    print!("{}", doc.summary());
    println!("written: {}", dir.join(doc::MINIMAL_FILE).display());
    println!("         {}", dir.join(doc::HTML_FILE).display());
    let code = match &result.stopped {
        shrink::Stopped::OriginalDidNotReproduce => exit::UNKNOWN,
        _ if result.minimal_record().is_some_and(|r| r.reproduced > 0) => exit::ANOMALIES,
        _ => exit::UNKNOWN,
    };
    Ok(exit::code(code))
}
