//! `check`, `runs` and `show`: working with stored histories offline.

use crate::exit;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trial_histories::{pretty, HistoryReader, OpType, Pairer, Store};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// A run (`latest`, `<test>`, `<test>/<timestamp>`, a timestamp prefix,
    /// a run folder) or a history file (`history.jsonl`).
    pub run: String,
    /// Print the results as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RunsArgs {
    /// Print as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Only runs of this test.
    #[arg(long)]
    pub test: Option<String>,
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
    store.resolve(run).map_err(|e| anyhow::anyhow!("{e}"))
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

pub fn check(store: &Store, a: CheckArgs) -> Result<ExitCode> {
    let path = resolve(store, &a.run)?;
    let (ops, outstanding, warnings) = validate_well_formed(&path)?;
    for w in &warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({"valid": true, "op_count": ops, "outstanding": outstanding, "warnings": warnings})
        );
    } else {
        println!(
            "{}: {ops} ops, well-formed ({outstanding} invocations never completed)",
            path.display()
        );
    }
    Ok(exit::code(exit::VALID))
}

pub fn runs(store: &Store, a: RunsArgs) -> Result<ExitCode> {
    let runs = store
        .list_runs()
        .with_context(|| format!("reading the store {}", store.root().display()))?;
    let runs: Vec<_> = runs
        .into_iter()
        .filter(|r| a.test.as_deref().is_none_or(|t| t == r.test))
        .collect();
    if a.json {
        for r in &runs {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(exit::code(exit::VALID));
    }
    if runs.is_empty() {
        println!("no runs in {}", store.root().display());
        return Ok(exit::code(exit::VALID));
    }
    let w = runs.iter().map(|r| r.test.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<w$}  {:<24}  {:<9}  {:>9}",
        "test", "time", "verdict", "ops"
    );
    for r in &runs {
        println!(
            "{:<w$}  {:<24}  {:<9}  {:>9}",
            r.test,
            r.timestamp,
            r.verdict_str(),
            r.ops.map_or("-".to_string(), |n| n.to_string())
        );
    }
    Ok(exit::code(exit::VALID))
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
