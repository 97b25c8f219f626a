//! A version matrix as files in its folder: `matrix.json` (the
//! [`Matrix`] document) and `matrix.html`, a self-contained page (inline
//! CSS, no script, no network) with the table of cells, the summary per
//! release and mode, and the command that made it.
//!
//! Every run is linked twice: through `serve`'s URL (`/runs/<test>/<ts>/`,
//! which renders a report that is missing or stale) and as a relative
//! path to its `report.html` (`../../../<test>/<ts>/report.html`, for the
//! page opened from disk). Every text from the document is escaped: a
//! matrix.json is read back from the store, and the store is not trusted.

use crate::report::escape::esc;
use crate::report::html::CSP;
use crate::trial::matrix::{axes_text, verdicts_text, Matrix, MatrixStatus};
use anyhow::{Context, Result};
use std::fmt::Write;
use std::path::Path;
use trial_histories::store::{write_json_atomic, MATRIX_FILE};

/// The page's file name in a matrix folder.
pub const MATRIX_HTML: &str = "matrix.html";

const CSS: &str = include_str!("report.css");

/// Write `matrix.json` and `matrix.html` into `dir`, each whole
/// (temporary file + rename).
pub fn write_matrix(dir: &Path, m: &Matrix) -> Result<()> {
    write_json_atomic(&dir.join(MATRIX_FILE), m)
        .with_context(|| format!("writing {}", dir.join(MATRIX_FILE).display()))?;
    let page = render(m);
    let tmp = dir.join(format!(".{MATRIX_HTML}.tmp"));
    std::fs::write(&tmp, page).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(MATRIX_HTML))
        .with_context(|| format!("writing {}", dir.join(MATRIX_HTML).display()))?;
    Ok(())
}

/// Read a matrix folder's `matrix.json`.
pub fn read_matrix(dir: &Path) -> Result<Matrix> {
    let p = dir.join(MATRIX_FILE);
    let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", p.display()))
}

/// `running`, `complete`, `interrupted`.
pub fn status_label(s: MatrixStatus) -> &'static str {
    match s {
        MatrixStatus::Running => "running",
        MatrixStatus::Complete => "complete",
        MatrixStatus::Interrupted => "interrupted",
    }
}

/// The page.
pub fn render(m: &Matrix) -> String {
    let mut o = String::with_capacity(8192 + m.cells.len() * 600);
    let versions = m
        .versions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
        + &m.axes
            .iter()
            .map(|a| format!(" × {} {}", a.flag, a.values.join(",")))
            .collect::<String>();
    let refresh = if m.status == MatrixStatus::Running {
        "<meta http-equiv=\"refresh\" content=\"30\">"
    } else {
        ""
    };
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{refresh}
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>matrix {scenario} — kafka-trial</title><style>{CSS}
.verdict.error {{ background: #6b3fa0; }}
table.matrix td.n {{ text-align: right; }}
table.matrix .verdict {{ font-size: 12px; padding: 2px 10px; }}
</style></head>
<body class="matrix"><header><div class="crumbs"><a href="/">all runs</a> · <span class="brand">kafka-trial</span> matrix</div>
<h1>{scenario} <span class="stamp">{versions} × seeds {seeds}</span></h1>
<div class="summary">{status}: {counts}; started {started} UTC, updated {updated} UTC</div></header><main>
"#,
        csp = esc(CSP),
        scenario = esc(&m.scenario),
        versions = esc(&versions),
        seeds = esc(&m
            .seeds
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")),
        status = status_label(m.status),
        counts = esc(&verdicts_text(&m.verdict_counts())),
        started = esc(&super::serve::pretty_stamp(&m.started)),
        updated = esc(&super::serve::pretty_stamp(&m.updated)),
    );
    o.push_str(
        r#"<h2>Runs</h2><table class="matrix" id="cells"><thead><tr><th>version</th><th>mode</th><th>seed</th><th>verdict</th><th>anomalies</th><th>fail-over p50 / max (s)</th><th>ok ops</th><th>run</th></tr></thead><tbody>"#,
    );
    for c in &m.cells {
        let _ = write!(
            o,
            r#"<tr class="cell" data-verdict="{vclass}"><td>{v}</td><td>{mode}</td><td class="n">{seed}</td><td><span class="verdict {vclass}">{vlabel}</span>{intr}</td><td>"#,
            v = esc(&c.cell.version.to_string()),
            mode = esc(&format!(
                "{}{}",
                c.cell.mode.name(),
                axes_text(&c.cell.axes, " ")
            )),
            seed = c.cell.seed,
            vclass = c.verdict.class(),
            vlabel = c.verdict.label(),
            intr = if c.interrupted { " (interrupted)" } else { "" },
        );
        if c.anomaly_counts.is_empty() {
            o.push_str(&esc(&c.anomalies_text()));
        }
        for (k, n) in &c.anomaly_counts {
            let _ = write!(o, r#"<span class="bad">{} ×{n}</span> "#, esc(k));
        }
        if let Some(e) = &c.error {
            let _ = write!(o, r#"<div class="warn">{}</div>"#, esc(e));
        }
        let _ = write!(
            o,
            r#"</td><td class="n">{}</td><td class="n">{}</td><td>"#,
            esc(&c.failover_text()),
            c.ok_ops.map_or("—".into(), |n| n.to_string())
        );
        super::run_links(&mut o, c.run.as_deref(), "../../..");
        o.push_str("</td></tr>\n");
    }
    o.push_str("</tbody></table>");
    o.push_str(
        r#"<h2>Per release and mode</h2><table class="matrix" id="summary"><thead><tr><th>version</th><th>mode</th><th>runs</th><th>anomalies (summed)</th><th>fail-over p50 (median of runs) / max (s)</th><th>ok ops (summed)</th></tr></thead><tbody>"#,
    );
    for s in &m.summary {
        let anomalies = if s.anomaly_counts.is_empty() {
            "none".to_string()
        } else {
            s.anomaly_counts
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td></tr>",
            esc(&s.version.to_string()),
            esc(&format!("{}{}", s.mode.name(), axes_text(&s.axes, " "))),
            esc(&s.verdicts_text()),
            esc(&anomalies),
            s.failover_p50_s.map_or("—".into(), |x| format!("{x:.1}")),
            s.failover_max_s.map_or("—".into(), |x| format!("{x:.1}")),
            s.ok_ops
        );
    }
    let _ = writeln!(
        o,
        r#"</tbody></table><h2>Command</h2><pre>{}</pre><p class="muted">Each run is an ordinary run of the store; its report's command repeats that one run. <a href="{}">matrix.json</a></p></main></body></html>"#,
        esc(&m.command),
        MATRIX_FILE
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trial::matrix::{parse_versions, CellResult};

    #[test]
    fn names_and_messages_are_escaped() {
        let v = parse_versions("4.4.0,3.9.1:zookeeper").unwrap();
        let mut m = Matrix::new(
            "safe<script>",
            "kafka-trial matrix '<b>'".into(),
            v,
            vec![1],
            vec![],
            None,
        );
        m.cells[0] = CellResult::error(
            m.cells[0].cell.clone(),
            "<img src=x onerror=alert(1)>".into(),
            Some("safe/<x>&y".into()),
        );
        m.cells[1].anomaly_counts.insert("<i>odd</i>".into(), 2);
        m.refresh();
        let page = render(&m);
        for raw in ["<script>", "<img", "<b>", "<i>odd", "<x>"] {
            assert!(!page.contains(raw), "{raw} unescaped");
        }
        assert!(page.contains("safe&lt;script&gt;"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains(r#"href="/runs/safe/%3Cx%3E%26y/""#), "{page}");
        assert!(page.contains(r#"href="../../../safe/%3Cx%3E%26y/report.html""#));
        assert!(page.contains("&lt;i&gt;odd&lt;/i&gt; ×2"));
        let d = tempfile::tempdir().unwrap();
        write_matrix(d.path(), &m).unwrap();
        assert_eq!(read_matrix(d.path()).unwrap(), m);
        assert!(d.path().join(MATRIX_HTML).is_file());
    }
}
