//! `check`, `runs` and `show`: working with stored histories offline.

use super::exit;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use trial_checkers::{check_history_file, CheckOptions};
use trial_histories::store::{write_json_atomic, HISTORY_FILE, RESULTS_FILE};
use trial_histories::{pretty, HistoryReader, OpType, Pairer, Store};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// A run (`latest`, `<test>`, `<test>/<timestamp>`, a timestamp prefix,
    /// a run folder), a history file (`history.jsonl`), a Jepsen Kafka
    /// history (`history.edn`), or with `--model` a Jepsen EDN history of a
    /// register or key-value store (`*.edn`).
    pub run: String,
    /// More EDN histories: with `--model`, every file is checked in one
    /// process, in parallel on all cores; one verdict line per file, then a
    /// summary; the exit code is the worst (3 if any file could not be
    /// read, else 1 if any is invalid, else 2 if any is unknown).
    pub more: Vec<String>,
    /// Print the results as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Also check linearizability against a model: `log` for a kafka-trial
    /// history; `cas-register`, `register`, `kv` or `kv-append` for an EDN
    /// history.
    #[arg(long, value_parser = ["cas-register", "register", "log", "kv", "kv-append"])]
    pub model: Option<String>,
    /// Time limit of the linearizability search, in seconds; when it is
    /// reached the verdict is unknown.
    #[arg(long, default_value_t = 60.0)]
    pub time_limit: f64,
    /// The history's format: `kafka-trial` (history.jsonl), `jepsen` (the
    /// history.edn of Jepsen's Kafka workload, checked with the same
    /// checkers, classes named both ways), or `auto`: a `.edn` file with
    /// Kafka ops (`:send`/`:poll`/`:txn` micro-ops, `:assign`) is `jepsen`,
    /// any other `.edn` is a linearizability history (`--model`), anything
    /// else `kafka-trial`.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Which verdict decides the exit code: `anomalies` (1 when the
    /// checkers count any anomaly) or `promises` (1 only when Kafka broke
    /// a promise it makes for the run's configuration, read from the
    /// test.json beside the history; without one the promise verdict is
    /// unknown, 2, unless a promise was broken anyway).
    #[arg(long, default_value = "anomalies", value_parser = super::test::parse_judge)]
    pub judge: trial_checkers::Judge,
    /// The client the history's processes ran, which decides what resets
    /// or rewinds a consumer's position, what a subscribe keeps, when a
    /// producer's order restarts and what proves a write lost
    /// (checkers/README.md, "Client models"): `kafka-trial` (the default
    /// for the suite's own histories) or `jepsen` (the default for a
    /// Jepsen Kafka history). results.json records it unless it is the
    /// suite's default.
    #[arg(long, value_parser = ["kafka-trial", "jepsen"])]
    pub client_model: Option<String>,
}

/// The format of a history given to `check`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Auto,
    KafkaTrial,
    Jepsen,
}

#[derive(clap::Args, Debug)]
pub struct RunsArgs {
    /// Print as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Only runs of this test.
    #[arg(long)]
    pub test: Option<String>,
    /// Remove old runs: say which (a dry run) unless --yes. Needs --keep
    /// or --older-than. Never removes a running trial's folder, nor (without
    /// --include-linked) a run a matrix, claims or shrink page links.
    #[arg(long)]
    pub prune: bool,
    /// With --prune: keep the N newest runs of each test.
    #[arg(long, value_name = "N", requires = "prune")]
    pub keep: Option<usize>,
    /// With --prune: only runs older than AGE (30m, 12h, 7d, 2w).
    #[arg(long, value_name = "AGE", requires = "prune", value_parser = parse_age)]
    pub older_than: Option<std::time::Duration>,
    /// With --prune: only runs whose verdict is valid (keep every run with
    /// anomalies, unknown, unchecked or interrupted).
    #[arg(long, requires = "prune")]
    pub only_valid: bool,
    /// With --prune: remove runs a matrix, claims or shrink page links too
    /// (each is named with the page whose link breaks).
    #[arg(long, requires = "prune")]
    pub include_linked: bool,
    /// With --prune: delete (without it, only say what would go).
    #[arg(long, requires = "prune")]
    pub yes: bool,
}

fn parse_age(s: &str) -> std::result::Result<std::time::Duration, String> {
    crate::upkeep::parse_age(s).map_err(|e| e.to_string())
}

/// `runs --prune`: the plan, and with --yes its removal.
fn prune(store: &Store, a: &RunsArgs) -> Result<ExitCode> {
    use crate::upkeep::{apply, plan, PruneRules};
    let rules = PruneRules {
        keep: a.keep,
        older_than: a.older_than,
        only_valid: a.only_valid,
        include_linked: a.include_linked,
    };
    let p = match plan(store, &rules, std::time::SystemTime::now()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(exit::code(exit::HARNESS));
        }
    };
    let p = crate::upkeep::Plan {
        decisions: p
            .decisions
            .into_iter()
            .filter(|d| a.test.as_deref().is_none_or(|t| t == d.run.test))
            .collect(),
    };
    let verb = if a.yes { "removing" } else { "would remove" };
    for d in &p.decisions {
        if d.remove {
            println!(
                "{verb} {}  {}{}",
                d.name,
                human_bytes(d.run.bytes),
                if d.why.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", d.why)
                }
            );
        } else if !d.linked_by.is_empty() || d.why == "running" {
            println!("keeping {}: {}", d.name, d.why);
        }
    }
    let n = p.removed().count();
    let kept = p.decisions.len() - n;
    if a.yes {
        let freed = apply(store, &p)?;
        println!(
            "removed {n} runs, freed {}; {kept} kept",
            human_bytes(freed)
        );
    } else {
        println!(
            "{n} runs ({}) would go, {kept} stay; --yes removes them",
            human_bytes(p.bytes_freed())
        );
    }
    Ok(exit::code(exit::VALID))
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// A run or a history file (see `check`).
    pub run: String,
    /// Only ops of this process (a worker number, `nemesis`, `final`).
    #[arg(long)]
    pub process: Option<String>,
    /// Only ops with this function (`send`, `poll`, `start-partition`, …).
    #[arg(long)]
    pub f: Option<String>,
    /// Only ops of this type (`invoke`, `ok`, `fail`, `info`).
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Print the raw JSON lines instead of aligned text.
    #[arg(long)]
    pub json: bool,
}

/// Resolve RUN to a history file path.
pub fn resolve(store: &Store, run: &str) -> Result<PathBuf> {
    Ok(store.resolve(run)?)
}

/// Read and pair a history completely: the well-formedness check that
/// every other check stands on. Returns (ops, outstanding invocations).
pub fn validate_well_formed(path: &Path) -> Result<(u64, usize, Vec<String>)> {
    let mut r = HistoryReader::open(path)?;
    let mut p = Pairer::new();
    let mut n = 0u64;
    for op in &mut r {
        let op = op?;
        n += 1;
        p.push(op)
            .with_context(|| format!("{}: pairing", path.display()))?;
    }
    let warnings = r.warnings().iter().map(|w| w.to_string()).collect();
    Ok((n, p.outstanding(), warnings))
}

/// Where `check` writes its results: `results.json` beside a run's
/// `history.jsonl`; `<file>.results.json` beside any other history file.
pub fn results_path(history: &Path) -> PathBuf {
    let in_run_dir = history.file_name().and_then(|n| n.to_str()) == Some(HISTORY_FILE);
    match history.parent() {
        Some(dir) if in_run_dir => dir.join(RESULTS_FILE),
        _ => {
            let mut name = history.file_name().unwrap_or_default().to_os_string();
            name.push(".results.json");
            history.with_file_name(name)
        }
    }
}

fn is_edn(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".edn") || name.ends_with(".edn.gz")
}

/// Check a history: run the checkers, print a summary (or JSON), write the
/// results next to the history, and exit 0 valid / 1 anomalies / 2 unknown.
/// Malformed input is an error (exit 3) naming the line. A Jepsen Kafka
/// history (`--format jepsen`, or a `.edn` file with Kafka ops) is
/// translated and checked like a native one.
pub fn check(store: &Store, a: CheckArgs) -> Result<ExitCode> {
    if !a.time_limit.is_finite() || a.time_limit <= 0.0 {
        anyhow::bail!("--time-limit must be a positive number of seconds");
    }
    let time_limit = Duration::from_secs_f64(a.time_limit);
    if !a.more.is_empty() {
        return check_many(a, time_limit);
    }
    let client_model: Option<trial_checkers::ClientModel> =
        a.client_model.as_deref().map(str::parse).transpose()?;
    let path = resolve(store, &a.run)?;
    let edn = is_edn(&path);
    let text = if (edn && a.format == Format::Auto) || a.format == Format::Jepsen {
        // Also gzipped (history.edn.gz); not UTF-8 is exit 3 with its line.
        trial_checkers::jepsen::read_edn_text(&path)?
    } else {
        String::new()
    };
    let jepsen = match a.format {
        Format::Jepsen => true,
        Format::KafkaTrial => false,
        // A --model asks for linearizability: the EDN models' histories.
        Format::Auto => edn && a.model.is_none() && trial_checkers::jepsen::looks_like_kafka(&text),
    };
    let results = if jepsen {
        if let Some(m) = &a.model {
            anyhow::bail!(
                "--model {m} does not apply to a Jepsen Kafka history (--format jepsen): it is \
                 checked by the queue and transaction checkers"
            );
        }
        let opts = CheckOptions {
            client_model,
            ..CheckOptions::default()
        };
        trial_checkers::jepsen::check_jepsen_str(&text, &path, &opts)?
    } else if edn && a.format == Format::Auto {
        let model = a.model.as_deref().unwrap_or("cas-register");
        if model == "log" {
            anyhow::bail!("--model log applies to kafka-trial histories (history.jsonl), not EDN");
        }
        let ops = trial_checkers::linear::edn::parse_ops(&text)
            .map(|v| v.len() as u64)
            .unwrap_or(0);
        let l = trial_checkers::linear::check_edn_str(&text, &path, model, time_limit)?;
        trial_checkers::results_from_linear(l, ops)
    } else {
        if let Some(m) = a.model.as_deref().filter(|m| *m != "log") {
            anyhow::bail!(
                "--model {m} applies to Jepsen EDN histories (*.edn); a kafka-trial history \
                 takes --model log"
            );
        }
        // Judge with the run's own settings (isolation level, transactions)
        // when the history sits in its run folder.
        // A run's test.json turns linearizability on (`log`, with its
        // budget) unless the run had it off; `--model log` asks for it
        // with `--time-limit`.
        let base = CheckOptions {
            client_model,
            ..run_check_options(&path)?
        };
        let (progress, bar) = check_progress_bar();
        let opts = match &a.model {
            Some(m) => CheckOptions {
                linear_model: Some(m.clone()),
                linear_time_limit: time_limit,
                linear_scaled_budget: false,
                progress,
                ..base
            },
            None => CheckOptions { progress, ..base },
        };
        let r = check_history_file(&path, &opts);
        bar.finish_and_clear();
        r?
    };
    let out = results_path(&path);
    write_json_atomic(&out, &results).with_context(|| format!("writing {}", out.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print!("{}", results.human_summary(2));
        println!("results: {}", out.display());
    }
    Ok(exit::code(results.exit_code_judged(a.judge)))
}

/// A progress bar for a long check of a history file: drawn on stderr only
/// once the check has run for a second (a short check prints nothing more)
/// and only when stderr is a terminal (not in a pipe or a CI log).
fn check_progress_bar() -> (trial_checkers::Progress, indicatif::ProgressBar) {
    use std::io::IsTerminal;
    let bar = indicatif::ProgressBar::hidden();
    let terminal = std::io::stderr().is_terminal();
    let start = std::time::Instant::now();
    let b = bar.clone();
    let progress = trial_checkers::Progress::new(move |done, total| {
        if !terminal || start.elapsed() < Duration::from_secs(1) {
            return;
        }
        if b.is_hidden() {
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "checking [{elapsed_precise}] {wide_bar} {percent}% ({binary_bytes}/{binary_total_bytes}, {eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_length(total);
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        b.set_position(done);
    });
    (progress, bar)
}

/// What `check_many` found for one file.
enum FileVerdict {
    Checked(Box<trial_checkers::LinearResult>, u64),
    Error(String),
}

/// `check --model M FILE…`: the EDN histories checked in parallel in this
/// one process (each file's search on one core; as many files at once as
/// there are cores), one line (or JSON object) per file in the order
/// given, then a summary. No results files are written.
fn check_many(a: CheckArgs, time_limit: Duration) -> Result<ExitCode> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use trial_checkers::Validity;
    let Some(model) = a.model.clone() else {
        anyhow::bail!(
            "checking several files takes --model (an EDN model: {})",
            trial_checkers::linear::EDN_MODELS.join(", ")
        );
    };
    if !trial_checkers::linear::EDN_MODELS.contains(&model.as_str()) {
        anyhow::bail!(
            "checking several files takes an EDN model ({}), not {model:?}",
            trial_checkers::linear::EDN_MODELS.join(", ")
        );
    }
    if a.format == Format::Jepsen {
        anyhow::bail!("--format jepsen checks one history at a time");
    }
    let files: Vec<PathBuf> = std::iter::once(&a.run)
        .chain(&a.more)
        .map(PathBuf::from)
        .collect();
    let t0 = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let verdicts: Mutex<Vec<Option<FileVerdict>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let one = |path: &Path| -> FileVerdict {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return FileVerdict::Error(format!("reading {}: {e}", path.display())),
        };
        let ops = match trial_checkers::linear::edn::parse_ops(&text) {
            Ok(o) => o,
            Err(e) => {
                return FileVerdict::Error(format!(
                    "{}: line {}: {}",
                    path.display(),
                    e.line,
                    e.message
                ))
            }
        };
        match trial_checkers::linear::check_edn_ops_threads(&ops, path, &model, time_limit, 1) {
            Ok(l) => FileVerdict::Checked(Box::new(l), ops.len() as u64),
            Err(e) => FileVerdict::Error(e.to_string()),
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                let v = one(f);
                verdicts.lock().unwrap()[i] = Some(v);
            });
        }
    });
    let verdicts = verdicts.into_inner().unwrap();
    let (mut valid, mut invalid, mut unknown, mut errors) = (0u64, 0u64, 0u64, 0u64);
    for (f, v) in files.iter().zip(verdicts) {
        let v = v.unwrap_or_else(|| FileVerdict::Error(format!("{}: not checked", f.display())));
        match &v {
            FileVerdict::Checked(l, _) => match l.valid {
                Validity::Valid => valid += 1,
                Validity::Invalid => invalid += 1,
                Validity::Unknown => unknown += 1,
            },
            FileVerdict::Error(_) => errors += 1,
        }
        if a.json {
            let obj = match v {
                FileVerdict::Checked(l, ops) => serde_json::json!({
                    "file": f,
                    "results": trial_checkers::results_from_linear(*l, ops),
                }),
                FileVerdict::Error(e) => serde_json::json!({"file": f, "error": e}),
            };
            println!("{}", serde_json::to_string(&obj)?);
            continue;
        }
        match v {
            FileVerdict::Checked(l, _) => {
                let detail = match l.valid {
                    Validity::Valid => String::new(),
                    Validity::Invalid => l
                        .counterexample
                        .as_ref()
                        .map_or(String::new(), |c| format!(": {}", c.message)),
                    Validity::Unknown => l
                        .unknown_reason
                        .as_ref()
                        .map_or(String::new(), |r| format!(": {r}")),
                };
                println!(
                    "{}: {} ({} ops, {:.1} ms){detail}",
                    f.display(),
                    match l.valid {
                        Validity::Valid => "valid",
                        Validity::Invalid => "INVALID",
                        Validity::Unknown => "unknown",
                    },
                    l.ops,
                    l.elapsed_ms
                );
            }
            FileVerdict::Error(e) => println!("{}: error: {e}", f.display()),
        }
    }
    let summary = format!(
        "{} files, model {model}: {valid} valid / {invalid} invalid / {unknown} unknown{}, {:.3} s",
        files.len(),
        if errors > 0 {
            format!(" / {errors} errors")
        } else {
            String::new()
        },
        t0.elapsed().as_secs_f64()
    );
    if a.json {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    Ok(exit::code(if errors > 0 {
        exit::HARNESS
    } else if invalid > 0 {
        exit::ANOMALIES
    } else if unknown > 0 {
        exit::UNKNOWN
    } else {
        exit::VALID
    }))
}

/// The check options of the run a history belongs to: from the `test.json`
/// beside it, else the defaults.
fn run_check_options(history: &std::path::Path) -> Result<CheckOptions> {
    let Some(test) = history
        .parent()
        .map(|d| d.join("test.json"))
        .filter(|t| t.is_file())
    else {
        return Ok(CheckOptions::default());
    };
    let text =
        std::fs::read_to_string(&test).with_context(|| format!("reading {}", test.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", test.display()))?;
    Ok(CheckOptions::for_test_json(&v)?)
}

pub fn runs(store: &Store, a: RunsArgs) -> Result<ExitCode> {
    if a.prune {
        return prune(store, &a);
    }
    let runs = store
        .list_runs()
        .with_context(|| format!("reading the store {}", store.root().display()))?;
    let runs: Vec<_> = runs
        .into_iter()
        .filter(|r| a.test.as_deref().is_none_or(|t| t == r.test))
        .collect();
    // A run without results is `running` while its controller lives and
    // `interrupted` once it died (crate::owner).
    let states: Vec<Option<&'static str>> = runs
        .iter()
        .map(|r| crate::owner::run_state(&r.path).word())
        .collect();
    if a.json {
        for (r, st) in runs.iter().zip(&states) {
            let mut v = serde_json::to_value(r)?;
            if let Some(st) = st {
                v["state"] = serde_json::json!(st);
            }
            println!("{}", serde_json::to_string(&v)?);
        }
        return Ok(exit::code(exit::VALID));
    }
    if runs.is_empty() {
        println!("no runs in {}", store.root().display());
        return Ok(exit::code(exit::VALID));
    }
    let w = runs.iter().map(|r| r.test.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<w$}  {:<24}  {:<11}  {:>9}  {:>9}",
        "test", "time", "verdict", "ops", "size"
    );
    for (r, st) in runs.iter().zip(&states) {
        println!(
            "{:<w$}  {:<24}  {:<11}  {:>9}  {:>9}",
            r.test,
            r.timestamp,
            st.unwrap_or(r.verdict_str()),
            r.ops.map_or("-".to_string(), |n| n.to_string()),
            human_bytes(r.bytes)
        );
    }
    let total: u64 = runs.iter().map(|r| r.bytes).sum();
    println!("{} runs, {}", runs.len(), human_bytes(total));
    Ok(exit::code(exit::VALID))
}

/// `812 B`, `7.4 MB`, `1.2 GB` (powers of 1000).
pub fn human_bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1000 {
        format!("{n} B")
    } else if f < 1e6 {
        format!("{:.1} kB", f / 1e3)
    } else if f < 1e9 {
        format!("{:.1} MB", f / 1e6)
    } else {
        format!("{:.1} GB", f / 1e9)
    }
}

pub fn show(store: &Store, a: ShowArgs) -> Result<ExitCode> {
    use std::io::Write;
    let path = resolve(store, &a.run)?;
    let kind = match a.kind.as_deref() {
        None => None,
        Some("invoke") => Some(OpType::Invoke),
        Some("ok") => Some(OpType::Ok),
        Some("fail") => Some(OpType::Fail),
        Some("info") => Some(OpType::Info),
        Some(k) => anyhow::bail!("--type {k:?}: expected invoke, ok, fail or info"),
    };
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    if !a.json {
        writeln!(out, "{}", pretty::header())?;
    }
    let mut r = HistoryReader::open(&path)?;
    for op in &mut r {
        let op = op?;
        if a.process
            .as_deref()
            .is_some_and(|p| op.process.to_string() != p)
            || a.f.as_deref().is_some_and(|f| op.f.as_str() != f)
            || kind.is_some_and(|k| op.kind != k)
        {
            continue;
        }
        let res = if a.json {
            writeln!(out, "{}", serde_json::to_string(&op)?)
        } else {
            writeln!(out, "{}", pretty::format_op(&op))
        };
        if let Err(e) = res {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(exit::code(exit::VALID));
            }
            return Err(e.into());
        }
    }
    out.flush().ok();
    for w in r.warnings() {
        eprintln!("warning: {}: {w}", path.display());
    }
    Ok(exit::code(exit::VALID))
}
