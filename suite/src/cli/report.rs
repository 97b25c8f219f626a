//! `report` and `serve`: results people can look at.

use super::exit;
use crate::report;
use anyhow::{Context, Result};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trial_histories::Store;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The run: `latest`, `<test>` or `<test>/latest`, `<test>/<timestamp>`,
    /// a timestamp prefix, or a run folder path.
    pub run: String,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// TCP port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind. The default serves this machine only; the store may
    /// hold logs you do not want to publish.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
}

/// The run folder that RUN names (see [`ReportArgs::run`]).
pub fn resolve_run_dir(store: &Store, run: &str) -> Result<PathBuf> {
    let p = Path::new(run);
    if p.is_dir() {
        return Ok(p.to_path_buf());
    }
    let in_store = store.root().join(run);
    if in_store.is_dir()
        && (in_store.join(trial_histories::store::TEST_FILE).is_file()
            || in_store
                .join(trial_histories::store::HISTORY_FILE)
                .is_file())
    {
        return Ok(in_store);
    }
    let hist = super::history::resolve(store, run)?;
    Ok(hist
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".")))
}

pub fn report(store: &Store, a: ReportArgs) -> Result<ExitCode> {
    let dir = resolve_run_dir(store, &a.run)?;
    let t = std::time::Instant::now();
    let files = report::write_run_report(&dir)
        .with_context(|| format!("rendering the report of {}", dir.display()))?;
    for w in &files.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(e) = &files.plot_error {
        eprintln!("warning: the report has no plots: {e}");
    }
    for f in files.all() {
        let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        println!("{}  ({})", f.display(), human_size(size));
    }
    eprintln!("rendered in {:.2} s", t.elapsed().as_secs_f64());
    Ok(exit::code(exit::VALID))
}

pub fn human_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} kB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

pub async fn serve(store: &Store, a: ServeArgs) -> Result<ExitCode> {
    let root = store.root().to_path_buf();
    if !root.is_dir() {
        // Serving an empty store is useful: runs appear as they start.
        std::fs::create_dir_all(&root)
            .with_context(|| format!("creating the store {}", root.display()))?;
        eprintln!("note: {} did not exist; created it empty", root.display());
    }
    let server = crate::report::serve::Server::bind(&root, (a.bind, a.port).into()).await?;
    println!(
        "serving the store {} at http://{}/  (Ctrl-C to stop)",
        root.display(),
        server.local_addr()
    );
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(exit::code(exit::VALID))
}
