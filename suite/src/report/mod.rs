//! Results people can look at: plots and a self-contained `report.html`
//! for one run folder.
//!
//! [`write_run_report`] reads a run's `test.json`, `results.json` and
//! `history.jsonl` (each may be missing or partial), draws the plots
//! ([`plots`]: `latency-raw.svg/.png`, `rate.svg/.png`) and writes
//! `report.html` ([`html`]) beside them. The report needs no network: CSS,
//! script, plots and data are inline, and every link (history, results,
//! node logs, PNGs) is relative, so the folder works opened from disk and
//! served by `kafka-trial serve`.
//!
//! Two sections read the history again in passes of their own, because
//! they need typed values the digest does not keep: the cluster observer's
//! lanes ([`observed`]) and, for a run with a consumer group, who owned
//! which partition when ([`group`]).
//!
//! ## Any size
//!
//! Up to [`data::FULL_DETAIL_OPS`] ops the page embeds every op (below).
//! Past it the history is still read once, streaming, but only aggregates
//! are kept ([`data::Aggregates`]: per-lane runs of ops, latency cells per
//! column, completions per second) plus the ops that anomalies name, so the
//! page stays a few MB at any size; `serve` gives the detail
//! ([`detail`]: `_ops` queries through the history index, which
//! [`write_run_report`] and the trial build).
//!
//! ## The timeline at 100,000 ops
//!
//! The timeline is a zoomable, pannable `<canvas>` drawn by a small inline
//! script from one compact JSON array embedded in the page (one short row
//! per op: lane, function, outcome, start and end in µs, indices, a
//! shortened value and error). Nothing is sampled: every op is drawn at
//! every zoom level (a bar is at least one pixel wide), and each lane only
//! draws the ops inside the visible window, found by binary search. The
//! full op table is paged by the same script (100 rows a page) from the
//! same array; the ops that anomalies name are also rendered statically
//! (`#op-N` anchors work without script).

pub mod claims;
pub mod data;
pub mod detail;
pub mod escape;
pub mod group;
pub mod html;
pub mod linear;
pub mod matrix;
pub mod observed;
pub mod plots;
pub mod progress;
pub mod promises;
mod sample_group;
#[doc(hidden)]
pub mod sample_run;
pub mod serve;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub use data::{load_run, RunData, Verdict};
pub use plots::Plot;

/// The report's file name in a run folder.
pub const REPORT_FILE: &str = "report.html";

/// What [`write_run_report`] wrote.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    pub html: PathBuf,
    /// `latency-raw.svg`, `rate.svg` (empty if plots could not be drawn).
    pub svgs: Vec<PathBuf>,
    /// `latency-raw.png`, `rate.png` (empty if plots could not be drawn).
    pub pngs: Vec<PathBuf>,
    /// Why there are no plots (no font found), if so. The report says it
    /// too; the rest of the report is still written.
    pub plot_error: Option<String>,
    /// Problems met reading the run (malformed lines, partial files).
    pub warnings: Vec<String>,
}

impl ReportFiles {
    /// Every file written.
    pub fn all(&self) -> Vec<&Path> {
        std::iter::once(self.html.as_path())
            .chain(self.svgs.iter().map(PathBuf::as_path))
            .chain(self.pngs.iter().map(PathBuf::as_path))
            .collect()
    }
}

/// The plots of a run as SVG text, or why they could not be drawn.
fn svgs(run: &RunData) -> (Vec<(Plot, String)>, Option<String>) {
    let mut out = Vec::new();
    for p in Plot::ALL {
        match plots::render_svg(p, &run.history) {
            Ok(s) => out.push((p, s)),
            Err(e) => return (Vec::new(), Some(format!("{e:#}"))),
        }
    }
    (out, None)
}

/// Render a run's report and plots into its folder: `report.html`,
/// `latency-raw.svg/.png`, `rate.svg/.png`. Files are written whole
/// (temporary file + rename), so a server never serves half a report.
///
/// Fails only on I/O errors (unreadable folder, unwritable files); missing
/// or partial inputs give a report that says what is missing. If no font is
/// found for the plots, the report is written without them and
/// [`ReportFiles::plot_error`] says why.
pub fn write_run_report(run_dir: &Path) -> Result<ReportFiles> {
    // The index `serve` answers range queries through (the report of a
    // long history sends its reader there for detail).
    let history = run_dir.join(trial_histories::store::HISTORY_FILE);
    let index_warning = if history.is_file() {
        trial_histories::index::Index::load_or_build(&history)
            .err()
            .map(|e| format!("indexing {}: {e}", history.display()))
    } else {
        None
    };
    let run =
        load_run(run_dir).with_context(|| format!("reading the run {}", run_dir.display()))?;
    let (svgs, plot_error) = svgs(&run);
    let mut files = ReportFiles {
        html: run_dir.join(REPORT_FILE),
        plot_error: plot_error.clone(),
        warnings: run
            .warnings
            .iter()
            .chain(run.history.warnings.iter())
            .cloned()
            .chain(index_warning)
            .collect(),
        ..Default::default()
    };
    let mut pngs_ok = Vec::new();
    for (p, svg) in &svgs {
        let path = run_dir.join(format!("{}.svg", p.stem()));
        write_atomic(&path, svg.as_bytes())?;
        files.svgs.push(path);
        let png = run_dir.join(format!("{}.png", p.stem()));
        let tmp = run_dir.join(format!(".{}.png.tmp.png", p.stem()));
        plots::render_png(*p, &run.history, &tmp)?;
        std::fs::rename(&tmp, &png).with_context(|| format!("writing {}", png.display()))?;
        files.pngs.push(png);
        pngs_ok.push(*p);
    }
    let pngs: Vec<(Plot, Vec<u8>)> = if run.history.aggregated {
        files
            .pngs
            .iter()
            .zip(&pngs_ok)
            .filter_map(|(f, p)| Some((*p, std::fs::read(f).ok()?)))
            .collect()
    } else {
        Vec::new()
    };
    let page = html::render(
        &run,
        &html::Plots {
            svgs: &svgs,
            files_present: &pngs_ok,
            error: plot_error.as_deref(),
            pngs: &pngs,
        },
        &html::Options::default(),
    );
    write_atomic(&files.html, page.as_bytes())?;
    Ok(files)
}

/// Render a run's report page in memory, writing nothing (for `serve`,
/// when a run has no report yet or its report is older than its inputs).
/// Links to plot images are given only for the ones that exist on disk.
pub fn render_report_page(run_dir: &Path, note: Option<&str>) -> Result<String> {
    let run =
        load_run(run_dir).with_context(|| format!("reading the run {}", run_dir.display()))?;
    let (svgs, plot_error) = svgs(&run);
    let present: Vec<Plot> = Plot::ALL
        .into_iter()
        .filter(|p| run_dir.join(format!("{}.png", p.stem())).is_file())
        .collect();
    // A long history's plots go in as PNG (see html::Plots::pngs), drawn
    // into a temporary folder: serve writes nothing into the store.
    let mut pngs = Vec::new();
    if run.history.aggregated && plot_error.is_none() {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        for (p, _) in &svgs {
            let f = std::env::temp_dir().join(format!(
                "kafka-trial-plot-{}-{}.png",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            let drawn = plots::render_png(*p, &run.history, &f).and_then(|_| {
                std::fs::read(&f).with_context(|| format!("reading {}", f.display()))
            });
            let _ = std::fs::remove_file(&f);
            pngs.push((*p, drawn?));
        }
    }
    Ok(html::render(
        &run,
        &html::Plots {
            svgs: &svgs,
            files_present: &present,
            error: plot_error.as_deref(),
            pngs: &pngs,
        },
        &html::Options {
            note: note.map(str::to_string),
        },
    ))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A table cell's links to a run named by a page in the store (a matrix's
/// or a claims table's): through `serve` (`/runs/<rel>/`) and as a file
/// (`<up>/<rel>/report.html`, `up` leading from the page's folder back to
/// the store), or a dash when there is no run.
pub fn run_links(o: &mut String, rel: Option<&str>, up: &str) {
    use escape::{esc, url_path};
    use std::fmt::Write;
    match rel {
        Some(rel) => {
            let served = format!("/runs/{}/", url_path(rel));
            let file = format!("{up}/{}/report.html", url_path(rel));
            let _ = write!(
                o,
                r#"<a class="run-link" href="{}">{}</a> <a class="muted" href="{}">(file)</a>"#,
                esc(&served),
                esc(rel),
                esc(&file)
            );
        }
        None => o.push('—'),
    }
}
