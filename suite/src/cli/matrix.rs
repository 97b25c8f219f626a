//! `kafka-trial matrix SCENARIO --versions … [--seeds …]`: a scenario run
//! per Kafka release, metadata mode and seed, one after the other, and the
//! table of what they found (written as `matrix.json` and `matrix.html`
//! in `<store>/matrix/<scenario>/<timestamp>/`).
//!
//! Every cell is built and validated before the first one runs: a release
//! and mode the suite refuses, or an unknown scenario, ends the command
//! with exit 3 and nothing run. A cell that fails to run is recorded as
//! `error` and the next one runs; Ctrl-C lets the running cell do its own
//! Ctrl-C handling (stop, heal, tear down, check what there is), then the
//! matrix so far is written and the command ends.

use super::exit;
use super::test::{command_line, parse_duration, scenario_spec_with, ScenarioRunArgs};
use crate::trial::matrix::{self, Cell, CellResult, Matrix, MatrixStatus};
use crate::trial::{self, TestSpec};
use anyhow::{Context, Result};
use clap::Args;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_histories::Store;

#[derive(Args, Debug, Clone)]
pub struct MatrixArgs {
    /// Scenario name (see `scenario list`).
    pub scenario: String,
    /// Kafka releases, comma-separated: `VERSION` runs the release's
    /// default mode (KRaft from 3.3 on), `VERSION:kraft` or
    /// `VERSION:zookeeper` says which, e.g. 3.6.2,3.9.1,3.9.1:zookeeper,4.0.0.
    #[arg(long)]
    pub versions: String,
    /// Seeds, comma-separated (default: the scenario's own seed).
    #[arg(long)]
    pub seeds: Option<String>,
    /// Workload duration of every run (default: the scenario's).
    #[arg(long, value_parser = parse_duration)]
    pub time_limit: Option<Duration>,
    /// Print the cells (and each one's `scenario run` line) and exit.
    #[arg(long)]
    pub dry_run: bool,
}

/// Every cell with the spec it runs, all validated.
pub struct Plan {
    pub versions: Vec<matrix::VersionMode>,
    pub seeds: Vec<u64>,
    pub cells: Vec<(Cell, TestSpec)>,
}

/// The cell's `scenario run` arguments.
fn cell_args(a: &MatrixArgs, c: &Cell) -> ScenarioRunArgs {
    ScenarioRunArgs {
        seed: Some(c.seed),
        time_limit: a.time_limit,
        kafka_version: Some(c.version.to_string()),
        mode: Some(c.mode),
        ..ScenarioRunArgs::named(&a.scenario)
    }
}

/// Parse and validate everything: the scenario, `--versions`, `--seeds`,
/// and every cell's spec (the scenario's preset on that release and mode:
/// `ClusterSpec::validate` refuses what cannot run).
pub fn plan(store: &Path, a: &MatrixArgs) -> Result<Plan> {
    // The scenario first: an unknown name is the likelier mistake.
    let base = scenario_spec_with(store, &ScenarioRunArgs::named(&a.scenario), String::new())?;
    let versions = matrix::parse_versions(&a.versions)?;
    let seeds = match &a.seeds {
        Some(s) => matrix::parse_seeds(s)?,
        None => vec![base.seed],
    };
    let mut cells = Vec::new();
    for c in matrix::cells(&versions, &seeds) {
        let args = cell_args(a, &c);
        let spec =
            scenario_spec_with(store, &args, args.command_line(store)).with_context(|| {
                format!(
                    "{} on Kafka {} in {} mode (seed {})",
                    a.scenario, c.version, c.mode, c.seed
                )
            })?;
        cells.push((c, spec));
    }
    Ok(Plan {
        versions,
        seeds,
        cells,
    })
}

fn describe(c: &Cell) -> String {
    format!("Kafka {} {} seed {}", c.version, c.mode, c.seed)
}

fn mins(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

/// `<test>/<timestamp>` of a run folder under the store, else its path.
fn relative(store: &Path, dir: &Path) -> String {
    dir.strip_prefix(store)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| dir.display().to_string())
}

/// Where `<store>/<test>/latest` points (the newest run of `test`).
fn latest_run(store: &Path, test: &str) -> Option<String> {
    let t = std::fs::read_link(store.join(test).join(trial_histories::store::LATEST)).ok()?;
    Some(format!("{test}/{}", t.display()))
}

pub async fn matrix(store_root: &Path, a: MatrixArgs) -> Result<ExitCode> {
    let plan = match plan(store_root, &a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("kafka-trial: {e:#}");
            return Ok(exit::code(exit::HARNESS));
        }
    };
    let n = plan.cells.len();
    if a.dry_run {
        println!(
            "matrix {}: {n} cell{} ({} × {} seed{})",
            a.scenario,
            if n == 1 { "" } else { "s" },
            plan.versions
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            plan.seeds.len(),
            if plan.seeds.len() == 1 { "" } else { "s" },
        );
        for (i, (c, spec)) in plan.cells.iter().enumerate() {
            println!(
                "{:>3}/{n}  {:<34} {}",
                i + 1,
                describe(c),
                spec.command.as_deref().unwrap_or("")
            );
        }
        return Ok(exit::code(exit::VALID));
    }

    let store = Store::new(store_root);
    let dir = store
        .create_matrix(&a.scenario)
        .with_context(|| format!("creating a matrix folder in {}", store_root.display()))?;
    let mut m = Matrix::new(
        &a.scenario,
        command_line(),
        plan.versions.clone(),
        plan.seeds.clone(),
        a.time_limit.map(|d| d.as_secs_f64()),
    );
    crate::report::matrix::write_matrix(&dir.path, &m)?;
    eprintln!(
        "matrix {}: {n} cells; folder {}",
        a.scenario,
        dir.path.display()
    );

    // Ctrl-C: each run's own handler stops, heals and tears down its
    // trial; this one only keeps the next cell from starting.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
            }
        });
    }
    let t0 = Instant::now();
    run_cells(store_root, &dir.path, &mut m, plan.cells, &stop, trial::run).await;
    let interrupted = m.status == MatrixStatus::Interrupted;
    println!();
    print!("{}", m.table());
    if interrupted {
        println!("interrupted: the cells marked `not run` were not run");
    }
    println!(
        "matrix: {} and {} ({} in all)",
        dir.path.join(trial_histories::store::MATRIX_FILE).display(),
        dir.path.join(crate::report::matrix::MATRIX_HTML).display(),
        mins(t0.elapsed())
    );
    Ok(exit::code(m.exit_code()))
}

/// Run the cells in order through `run` (`trial::run`; a stand-in in
/// tests), recording each in `m` and rewriting the matrix's files after
/// each; a cell whose run fails is recorded as `error` and the next one
/// runs. Stops before the next cell once `stop` is set (Ctrl-C) or a run
/// says it was interrupted; ends with the matrix written, its status
/// `complete` or `interrupted`.
pub async fn run_cells<F, Fut>(
    store_root: &Path,
    dir: &Path,
    m: &mut Matrix,
    cells: Vec<(Cell, TestSpec)>,
    stop: &AtomicBool,
    mut run: F,
) where
    F: FnMut(TestSpec) -> Fut,
    Fut: std::future::Future<Output = Result<trial::Report>>,
{
    let n = cells.len();
    let t0 = Instant::now();
    for (i, (cell, spec)) in cells.into_iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        eprintln!(
            "\n== matrix {}: cell {}/{n}: {} (elapsed {})",
            m.scenario,
            i + 1,
            describe(&cell),
            mins(t0.elapsed())
        );
        let test = spec.name.clone();
        let before = latest_run(store_root, &test);
        let t = Instant::now();
        let mut r = match run(spec).await {
            Ok(report) => {
                if report.interrupted {
                    stop.store(true, Ordering::SeqCst);
                }
                let mut r = CellResult::from_results(
                    cell,
                    &report.results,
                    Some(relative(store_root, &report.run_dir)),
                );
                r.interrupted = report.interrupted;
                r
            }
            Err(e) => {
                // The run folder, if the run got as far as making one.
                let after = latest_run(store_root, &test);
                let run = after.filter(|a| Some(a) != before.as_ref());
                CellResult::error(cell, format!("{e:#}"), run)
            }
        };
        r.elapsed_s = Some(t.elapsed().as_secs_f64());
        eprintln!(
            "== cell {}/{n}: {}: {} in {}; anomalies: {}; fail-over p50/max {} s; ok ops {}{}",
            i + 1,
            describe(&cell),
            r.verdict.label(),
            mins(t.elapsed()),
            r.anomalies_text(),
            r.failover_text(),
            r.ok_ops.map_or("-".into(), |n| n.to_string()),
            r.error
                .as_deref()
                .map(|e| format!("; error: {e}"))
                .unwrap_or_default()
        );
        m.cells[i] = r;
        m.refresh();
        if let Err(e) = crate::report::matrix::write_matrix(dir, m) {
            eprintln!("kafka-trial: writing the matrix so far: {e:#}");
        }
    }
    m.status = if stop.load(Ordering::SeqCst) {
        MatrixStatus::Interrupted
    } else {
        MatrixStatus::Complete
    };
    m.refresh();
    if let Err(e) = crate::report::matrix::write_matrix(dir, m) {
        eprintln!("kafka-trial: writing the matrix: {e:#}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(scenario: &str, versions: &str, seeds: Option<&str>) -> MatrixArgs {
        MatrixArgs {
            scenario: scenario.into(),
            versions: versions.into(),
            seeds: seeds.map(Into::into),
            time_limit: Some(Duration::from_secs(20)),
            dry_run: true,
        }
    }

    #[test]
    fn every_cell_is_a_scenario_run_with_its_release_mode_and_seed() {
        let p = plan(
            Path::new("/tmp/st"),
            &args("safe", "4.4.0,3.9.1:zookeeper", Some("1,2")),
        )
        .unwrap();
        assert_eq!(p.cells.len(), 4);
        let (c, spec) = &p.cells[2];
        assert_eq!(c.seed, 1);
        assert_eq!(spec.name, "safe");
        assert_eq!(spec.seed, 1);
        assert_eq!(spec.time_limit, Duration::from_secs(20));
        assert_eq!(spec.cluster.kafka_version.as_deref(), Some("3.9.1"));
        assert_eq!(spec.cluster.mode(), crate::kafka::Mode::Zookeeper);
        assert_eq!(spec.store, Path::new("/tmp/st"));
        assert_eq!(
            spec.command.as_deref(),
            Some("kafka-trial --store /tmp/st scenario run safe --seed 1 --time-limit 20s --kafka-version 3.9.1 --mode zookeeper")
        );
        // The same spec as `scenario run` builds from that line's options.
        let direct = scenario_spec_with(
            Path::new("/tmp/st"),
            &cell_args(&args("safe", "", None), c),
            "x".into(),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&direct.cluster).unwrap(),
            serde_json::to_value(&spec.cluster).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&direct.nemesis).unwrap(),
            serde_json::to_value(&spec.nemesis).unwrap()
        );
    }

    #[test]
    fn refused_before_anything_runs() {
        let e = plan(Path::new("s"), &args("safe", "4.4.0,4.0.0:zookeeper", None))
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("2.8.0 to 3.9.x"), "{e:#}");
        let e = plan(Path::new("s"), &args("no-such", "4.4.0", None))
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("unknown scenario"), "{e:#}");
        let e = plan(Path::new("s"), &args("safe", "4.4.0:kraftig", None))
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("unknown mode"), "{e:#}");
        // Without --seeds: the scenario's own seed, once.
        let p = plan(Path::new("s"), &args("safe", "4.4.0", None)).unwrap();
        assert_eq!(p.seeds, vec![crate::trial::TestSpec::new("x").seed]);
    }

    /// A stand-in for `trial::run`: cell 1 fails after making its run
    /// folder, cell 2 is a checked run that was interrupted (Ctrl-C);
    /// cell 3 must then not run.
    #[tokio::test]
    async fn a_failed_cell_is_recorded_and_ctrl_c_stops_before_the_next() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        let mut a = args("safe", "4.4.0,3.9.1:zookeeper,3.6.2", Some("1"));
        a.dry_run = false;
        let p = plan(&root, &a).unwrap();
        let store = Store::new(&root);
        let dir = store.create_matrix("safe").unwrap();
        let mut m = Matrix::new(
            "safe",
            "cmd".into(),
            p.versions.clone(),
            p.seeds.clone(),
            None,
        );
        let stop = AtomicBool::new(false);
        let calls = std::sync::Mutex::new(Vec::new());
        run_cells(
            &root,
            &dir.path,
            &mut m,
            p.cells,
            &stop,
            |spec: TestSpec| {
                let store = Store::new(&root);
                let k = {
                    let mut c = calls.lock().unwrap();
                    c.push(spec.cluster.kafka_version.clone().unwrap());
                    c.len()
                };
                async move {
                    let run = store.create_run(&spec.name)?;
                    if k == 1 {
                        anyhow::bail!("no Docker engine");
                    }
                    trial::Report::stand_in(&run.path)
                }
            },
        )
        .await;
        assert_eq!(*calls.lock().unwrap(), ["4.4.0", "3.9.1"]);
        assert_eq!(m.status, MatrixStatus::Interrupted);
        let c = &m.cells;
        assert_eq!(c[0].verdict, matrix::CellVerdict::Error);
        assert_eq!(c[0].error.as_deref(), Some("no Docker engine"));
        let runs = store.run_dirs().unwrap();
        assert_eq!(
            runs.len(),
            1,
            "only the second run wrote a test.json or history"
        );
        assert!(c[0].run.as_deref().is_some_and(|r| r.starts_with("safe/")));
        assert_ne!(c[0].run, c[1].run);
        assert_eq!(c[1].verdict, matrix::CellVerdict::Valid, "{:?}", c[1]);
        assert!(c[1].interrupted);
        assert_eq!(c[1].run, Some(format!("safe/{}", runs[0].timestamp)));
        assert_eq!(c[2].verdict, matrix::CellVerdict::NotRun);
        assert_eq!(m.exit_code(), exit::HARNESS);
        // What was written is what the command ends with.
        assert_eq!(crate::report::matrix::read_matrix(&dir.path).unwrap(), m);
        let t = m.table();
        assert!(t.contains("valid (interrupted)"), "{t}");
        assert!(
            t.contains("error in 4.4.0 kraft seed 1: no Docker engine"),
            "{t}"
        );
    }
}
