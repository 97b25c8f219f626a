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
use super::test::{command_line, scenario_trial_spec};
use crate::spec::SpecArgs;
use crate::trial::matrix::{self, Cell, CellResult, Matrix, MatrixStatus};
use crate::trial::{self, TestSpec};
use anyhow::{bail, Context, Result};
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
    /// A further axis of the matrix: a flag of `test` (a field of the
    /// spec) and its values, e.g. `--axis acks=1,all` or
    /// `--axis timing=fast,kafka-defaults` (repeatable; the cells are
    /// every combination).
    #[arg(long, value_name = "FLAG=V1,V2,…")]
    pub axis: Vec<String>,
    /// The flags of `test`, laid over every cell's scenario preset.
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Print the cells (and each one's `scenario run` line) and exit.
    #[arg(long)]
    pub dry_run: bool,
}

/// Every cell with the spec it runs, all validated.
pub struct Plan {
    pub versions: Vec<matrix::VersionMode>,
    pub seeds: Vec<u64>,
    pub axes: Vec<matrix::Axis>,
    pub cells: Vec<(Cell, TestSpec)>,
}

/// The flags of `test` by long name, and whether each takes a value.
fn flag_longs() -> Vec<(String, bool)> {
    use clap::Args as _;
    SpecArgs::augment_args(clap::Command::new("spec"))
        .get_arguments()
        .filter_map(|a| {
            let takes = a.get_action().takes_values();
            a.get_long().map(|l| (l.to_string(), takes))
        })
        .collect()
}

/// `--axis FLAG=V1,V2`: the flag must be one of `test`'s that takes a
/// value, and one the matrix does not set itself.
fn parse_axis(s: &str) -> Result<matrix::Axis> {
    let (flag, values) = s
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--axis {s:?}: expected FLAG=V1,V2 (e.g. acks=1,all)"))?;
    let flag = flag.trim().trim_start_matches("--").to_string();
    if ["kafka-version", "mode", "seed"].contains(&flag.as_str()) {
        bail!("--axis {flag}: the matrix sets it itself (--versions, --seeds)");
    }
    match flag_longs().into_iter().find(|(l, _)| *l == flag) {
        Some((_, true)) => {}
        Some((_, false)) => bail!(
            "--axis {flag}: --{flag} is a switch; give its values as true,false through a flag that takes them"
        ),
        None => bail!("--axis {flag}: `test` has no flag --{flag}"),
    }
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().any(String::is_empty) {
        bail!("--axis {s:?}: an empty value");
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            bail!("--axis {s:?} names {v} twice");
        }
    }
    Ok(matrix::Axis { flag, values })
}

/// The flag words of one cell: the shared flags, then the cell's own.
fn cell_words(a: &MatrixArgs, c: &Cell) -> Vec<String> {
    let mut w = a.spec.words.clone();
    w.extend([
        "--seed".into(),
        c.seed.to_string(),
        "--kafka-version".into(),
        c.version.to_string(),
        "--mode".into(),
        c.mode.to_string(),
    ]);
    for (flag, v) in &c.axes {
        w.push(format!("--{flag}"));
        w.push(v.clone());
    }
    w
}

/// The `scenario run` line that repeats one cell.
fn cell_command(store: &Path, scenario: &str, words: &[String]) -> String {
    use crate::report::escape::shell_word;
    let mut w: Vec<String> = vec!["kafka-trial".into(), "--store".into()];
    w.push(shell_word(&store.display().to_string()));
    w.extend(["scenario".into(), "run".into(), shell_word(scenario)]);
    // Secrets of `--client-config` written `***`.
    w.extend(
        crate::external::secrets::redact_words(words)
            .iter()
            .map(|x| shell_word(x)),
    );
    w.join(" ")
}

/// The spec one cell runs: `scenario run NAME` with the cell's words.
fn cell_spec(store: &Path, scenario: &str, words: &[String]) -> Result<TestSpec> {
    let flags = SpecArgs::parse_from(words)?;
    let mut spec = scenario_trial_spec(scenario, &flags)?.to_test(store)?;
    spec.progress = true;
    spec.command = Some(cell_command(store, scenario, words));
    spec.validate()?;
    Ok(spec)
}

/// Parse and validate everything: the scenario, `--versions`, `--seeds`,
/// `--axis`, the shared flags, and every cell's spec (the scenario's
/// preset on that release and mode: `ClusterSpec::validate` refuses what
/// cannot run).
pub fn plan(store: &Path, a: &MatrixArgs) -> Result<Plan> {
    // The scenario first: an unknown name is the likelier mistake.
    let base = scenario_trial_spec(&a.scenario, &SpecArgs::default())?;
    for (id, what) in [
        ("kafka_version", "--versions"),
        ("mode", "--versions"),
        ("seed", "--seeds"),
    ] {
        if a.spec.given(id) {
            bail!(
                "--{}: the matrix's {what} says it for each cell",
                id.replace('_', "-")
            );
        }
    }
    let versions = matrix::parse_versions(&a.versions)?;
    let seeds = match &a.seeds {
        Some(s) => matrix::parse_seeds(s)?,
        None => vec![base.seed],
    };
    let axes = a
        .axis
        .iter()
        .map(|s| parse_axis(s))
        .collect::<Result<Vec<_>>>()?;
    for (i, x) in axes.iter().enumerate() {
        if axes[..i].iter().any(|y| y.flag == x.flag) {
            bail!("--axis {}: given twice", x.flag);
        }
        if a.spec.words.iter().any(|w| *w == format!("--{}", x.flag)) {
            bail!("--{} is both a flag of every cell and an axis", x.flag);
        }
    }
    let mut cells = Vec::new();
    for c in matrix::cells(&versions, &seeds, &axes) {
        let words = cell_words(a, &c);
        let spec = cell_spec(store, &a.scenario, &words)
            .with_context(|| format!("{} on {}", a.scenario, describe(&c)))?;
        cells.push((c, spec));
    }
    Ok(Plan {
        versions,
        seeds,
        axes,
        cells,
    })
}

fn describe(c: &Cell) -> String {
    format!("Kafka {}", c.label())
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
            "matrix {}: {n} cell{} ({}{} × {} seed{})",
            a.scenario,
            if n == 1 { "" } else { "s" },
            plan.versions
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            plan.axes
                .iter()
                .map(|x| format!(" × {} {}", x.flag, x.values.join(",")))
                .collect::<String>(),
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
        plan.axes.clone(),
        a.spec
            .given("time_limit")
            .then_some(a.spec.spec.time_limit.as_secs_f64()),
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
        let label = describe(&cell);
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
            label,
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
        with(scenario, versions, seeds, &["--time-limit", "20s"], &[])
    }

    fn with(
        scenario: &str,
        versions: &str,
        seeds: Option<&str>,
        flags: &[&str],
        axes: &[&str],
    ) -> MatrixArgs {
        MatrixArgs {
            scenario: scenario.into(),
            versions: versions.into(),
            seeds: seeds.map(Into::into),
            axis: axes.iter().map(|s| s.to_string()).collect(),
            spec: SpecArgs::parse_from(flags).unwrap(),
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
            Some("kafka-trial --store /tmp/st scenario run safe --time-limit 20s --seed 1 --kafka-version 3.9.1 --mode zookeeper")
        );
        // The same spec as `scenario run` builds from that line's flags.
        let words: Vec<String> = spec
            .command
            .as_deref()
            .unwrap()
            .split(' ')
            .skip(6)
            .map(String::from)
            .collect();
        let flags = SpecArgs::parse_from(&words).unwrap();
        let direct = scenario_trial_spec("safe", &flags)
            .unwrap()
            .to_test(Path::new("/tmp/st"))
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
    fn axes_over_spec_fields_and_shared_flags_reach_every_cell() {
        let p = plan(
            Path::new("/tmp/st"),
            &with(
                "acks-1-leader-kill",
                "4.4.0,3.9.1",
                Some("1,2"),
                &["--rate", "50", "--lazyfs"],
                &["acks=1,all", "timing=fast,kafka-defaults"],
            ),
        )
        .unwrap();
        // 2 releases × 2 acks × 2 timings × 2 seeds.
        assert_eq!(p.cells.len(), 16);
        let (c, spec) = &p.cells[5];
        assert_eq!(c.version.to_string(), "4.4.0");
        assert_eq!(
            c.axes,
            vec![
                ("acks".to_string(), "all".to_string()),
                ("timing".to_string(), "fast".to_string())
            ]
        );
        assert_eq!(c.seed, 2);
        assert_eq!(spec.acks, crate::clients::Acks::All);
        assert_eq!(spec.cluster.timing, crate::kafka::Timing::Fast);
        assert_eq!(spec.rate, 50.0);
        assert!(p.cells.iter().all(|(_, s)| s.rate == 50.0));
        let cmd = spec.command.as_deref().unwrap();
        assert!(cmd.ends_with("--acks all --timing fast"), "{cmd}");
        assert!(cmd.contains("--lazyfs --rate 50 "), "{cmd}");
        assert_eq!(c.label(), "4.4.0 kraft seed 2 acks=all timing=fast");
        // The page and the table name the axes.
        let mut m = Matrix::new(
            "acks-1-leader-kill",
            "x".into(),
            p.versions.clone(),
            p.seeds.clone(),
            p.axes.clone(),
            None,
        );
        assert_eq!(m.cells.len(), 16);
        m.refresh();
        assert_eq!(m.summary.len(), 8, "one per release and axes");
        assert!(m.table().contains("kraft acks=1 timing=kafka-defaults"));
        let html = crate::report::matrix::render(&m);
        assert!(
            html.contains("× acks 1,all × timing fast,kafka-defaults"),
            "{html}"
        );
    }

    #[test]
    fn axes_and_shared_flags_that_cannot_be_are_refused() {
        let st = Path::new("s");
        for (flags, axes, why) in [
            (&[][..], &["no-such=1,2"][..], "has no flag --no-such"),
            (&[], &["acks"], "expected FLAG=V1,V2"),
            (&[], &["kafka-version=3.9.1"], "sets it itself"),
            (&[], &["lazyfs=true,false"], "is a switch"),
            (&[], &["acks=1,1"], "names 1 twice"),
            (&[], &["acks=1,all", "acks=0"], "given twice"),
            (
                &["--acks", "1"],
                &["acks=1,all"],
                "both a flag of every cell and an axis",
            ),
            (&["--kafka-version", "3.9.1"], &[], "--versions says it"),
            (&["--seed", "3"], &[], "--seeds says it"),
            (&[], &["acks=2"], "acks"),
            (&["--abort-probability", "0.2"], &[], "txn workload"),
        ] {
            let e = plan(st, &with("safe", "4.4.0", None, flags, axes))
                .err()
                .unwrap_or_else(|| panic!("{flags:?} {axes:?} accepted"));
            assert!(format!("{e:#}").contains(why), "{flags:?} {axes:?}: {e:#}");
        }
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
            vec![],
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
