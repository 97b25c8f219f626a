//! The claims' table as files in its folder, `<store>/claims/<timestamp>/`:
//! `claims.json` (the [`ClaimsDoc`] document) and `claims.html`, a
//! self-contained page (inline CSS, no script, no network): the phrasing
//! rule, one row per claim (claim, setting, faults, expected, observed,
//! verdict, duration, run) and the command that made it.
//!
//! Runs are linked twice, as on the matrix page: through `serve`
//! (`/runs/<test>/<ts>/`) and as a relative path to the run's
//! `report.html` for the page opened from disk. Every text from the
//! document is escaped: a claims.json is read back from the store, and the
//! store is not trusted.

use crate::report::escape::esc;
use crate::report::html::CSP;
use crate::trial::claims::{mins, ClaimsDoc, Outcome};
use crate::trial::matrix::MatrixStatus;
use anyhow::{Context, Result};
use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trial_histories::store::write_json_atomic;

/// The folder of claims tables: `<root>/claims/<timestamp>/`.
pub const CLAIMS_DIR: &str = "claims";
/// A claims folder's document (what makes a folder a claims table).
pub const CLAIMS_FILE: &str = "claims.json";
/// The page's file name in a claims folder.
pub const CLAIMS_HTML: &str = "claims.html";

const CSS: &str = include_str!("report.css");

/// Make a new claims folder `<root>/claims/<timestamp>/` (no `latest`
/// links: the claims' runs are the runs; two tables started in the same
/// millisecond get different folders).
pub fn create_claims_dir(root: &Path) -> io::Result<PathBuf> {
    let base = root.join(CLAIMS_DIR);
    std::fs::create_dir_all(&base)?;
    let mut ts = trial_histories::store::timestamp_now();
    let mut n = 1;
    loop {
        match std::fs::create_dir(base.join(&ts)) {
            Ok(()) => return Ok(base.join(ts)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                n += 1;
                ts = format!("{}-{n}", trial_histories::store::timestamp_now());
            }
            Err(e) => return Err(e),
        }
    }
}

/// Every claims folder holding a `claims.json`, newest first, as
/// (timestamp, path). Symlinks and hidden names are skipped (as the
/// store's own walks do); a missing folder is none.
pub fn claims_dirs(root: &Path) -> Vec<(String, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(root.join(CLAIMS_DIR)) else {
        return vec![];
    };
    let mut out: Vec<(String, PathBuf)> = rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, p)| !n.starts_with('.') && p.join(CLAIMS_FILE).is_file())
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0));
    out
}

/// Write `claims.json` and `claims.html` into `dir`, each whole.
pub fn write_claims(dir: &Path, doc: &ClaimsDoc) -> Result<()> {
    write_json_atomic(&dir.join(CLAIMS_FILE), doc)
        .with_context(|| format!("writing {}", dir.join(CLAIMS_FILE).display()))?;
    let tmp = dir.join(format!(".{CLAIMS_HTML}.tmp"));
    std::fs::write(&tmp, render(doc)).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(CLAIMS_HTML))
        .with_context(|| format!("writing {}", dir.join(CLAIMS_HTML).display()))?;
    Ok(())
}

/// Read a claims folder's `claims.json`.
pub fn read_claims(dir: &Path) -> Result<ClaimsDoc> {
    let p = dir.join(CLAIMS_FILE);
    let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", p.display()))
}

fn status_label(s: MatrixStatus) -> &'static str {
    super::matrix::status_label(s)
}

/// The CSS class of a verdict (the report's verdict colours): a claim
/// that came out as documented is green whichever way it went.
fn verdict_class(v: Option<Outcome>, as_expected: Option<bool>, error: bool) -> &'static str {
    match (v, as_expected) {
        (_, Some(true)) => "valid",
        (_, Some(false)) => "invalid",
        (Some(Outcome::Inconclusive), _) => "unknown",
        _ if error => "error",
        _ => "pending",
    }
}

/// The page.
pub fn render(d: &ClaimsDoc) -> String {
    let mut o = String::with_capacity(8192 + d.claims.len() * 1500);
    let refresh = if d.status == MatrixStatus::Running {
        "<meta http-equiv=\"refresh\" content=\"30\">"
    } else {
        ""
    };
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{refresh}
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>claims — kafka-trial</title><style>{CSS}
.verdict.error {{ background: #6b3fa0; }}
table.claims td {{ vertical-align: top; }}
table.claims .verdict {{ font-size: 12px; padding: 2px 10px; }}
table.claims .sentence {{ font-weight: 600; }}
table.claims blockquote {{ margin: 4px 0 0 0; color: #555; font-size: 12px; }}
</style></head>
<body class="claims"><header><div class="crumbs"><a href="/">all runs</a> · <span class="brand">kafka-trial</span> claims</div>
<h1>Claims <span class="stamp">{n} claim{s}{quick}</span></h1>
<div class="summary">{status}: {counts}; estimated {est}; started {started} UTC, updated {updated} UTC</div></header><main>
<p class="phrasing">{phrasing}</p>
"#,
        csp = esc(CSP),
        n = d.claims.len(),
        s = if d.claims.len() == 1 { "" } else { "s" },
        quick = if d.quick { ", --quick" } else { "" },
        status = status_label(d.status),
        counts = esc(&d.counts_text()),
        est = mins(Duration::from_secs_f64(d.estimate_s.max(0.0))),
        started = esc(&super::serve::pretty_stamp(&d.started)),
        updated = esc(&super::serve::pretty_stamp(&d.updated)),
        phrasing = esc(&d.phrasing),
    );
    o.push_str(
        r#"<table class="claims" id="claims"><thead><tr><th>claim</th><th>setting</th><th>faults</th><th>expected</th><th>observed</th><th>verdict</th><th>time</th><th>run</th></tr></thead><tbody>"#,
    );
    for c in &d.claims {
        let vclass = verdict_class(c.verdict, c.as_expected(), c.error.is_some());
        let _ = write!(
            o,
            r#"<tr class="claim" data-claim="{id}" data-verdict="{vclass}"><td><code>{id}</code><div class="sentence">{claim}</div><blockquote>“{doc}” <a href="{src}">{src_text}</a></blockquote></td><td>{setting}</td><td>{faults}</td><td>{expected}</td><td>"#,
            id = esc(&c.id),
            claim = esc(&c.claim),
            doc = esc(&c.documented),
            src = esc(c.source.split_whitespace().next().unwrap_or("")),
            src_text = esc(&c.source),
            setting = esc(&c.setting),
            faults = esc(&c.faults),
            expected = c.expected.label(),
        );
        match &c.error {
            Some(e) => {
                let _ = write!(o, r#"<div class="warn">{}</div>"#, esc(e));
            }
            None if c.observed.is_empty() => o.push('—'),
            None => o.push_str(&esc(&c.observed)),
        }
        if let Some(p) = &c.promises {
            let _ = write!(o, r#"<div class="muted promises">{}</div>"#, esc(p));
        }
        let _ = write!(
            o,
            r#"</td><td><span class="verdict {vclass}">{label}</span>{intr}<div class="muted">{agree}</div></td><td>{time}</td><td>"#,
            label = esc(c.verdict_label()),
            intr = if c.interrupted { " (interrupted)" } else { "" },
            agree = esc(c.agreement()),
            time = c
                .elapsed_s
                .map_or("—".into(), |s| mins(Duration::from_secs_f64(s))),
        );
        super::run_links(&mut o, c.run.as_deref(), "../..");
        o.push_str("</td></tr>\n");
    }
    let _ = writeln!(
        o,
        r#"</tbody></table><h2>Command</h2><pre>{}</pre><p class="muted">Each claim's run is an ordinary run of the store. <a href="{}">claims.json</a></p></main></body></html>"#,
        esc(&d.command),
        CLAIMS_FILE
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trial::claims::{ClaimOptions, CLAIMS};

    #[test]
    fn the_page_escapes_the_store_and_links_the_runs() {
        let all: Vec<_> = CLAIMS.iter().collect();
        let mut d = ClaimsDoc::new(
            &all,
            "kafka-trial claims '<b>'".into(),
            false,
            &ClaimOptions::new("s"),
        );
        d.claims[0].verdict = Some(Outcome::Holds);
        d.claims[0].observed = "<img src=x onerror=alert(1)>".into();
        d.claims[0].run = Some("claim-x/<t>&y".into());
        d.claims[1].verdict = Some(Outcome::Refuted);
        d.claims[1].promises = Some("Kafka kept every promise of <this> configuration".into());
        d.claims[2].error = Some("<script>no Docker</script>".into());
        let page = render(&d);
        for raw in ["<img", "<b>", "<script>no", "<t>"] {
            assert!(!page.contains(raw), "{raw} unescaped");
        }
        assert!(
            page.contains(r#"href="/runs/claim-x/%3Ct%3E%26y/""#),
            "{page}"
        );
        assert!(page.contains(r#"href="../../claim-x/%3Ct%3E%26y/report.html""#));
        // Holds as expected and refuted as expected are both green.
        assert!(page.contains(r#"data-claim="acks-all-rf-n" data-verdict="valid""#));
        assert!(page.contains(r#"data-claim="acks-1-keeps-acked" data-verdict="valid""#));
        assert!(page.contains(r#"data-claim="unclean-keeps-acked" data-verdict="error""#));
        assert!(page.contains("REFUTED"));
        assert!(page.contains("as documented"));
        assert!(page.contains("Kafka kept every promise of &lt;this&gt; configuration"));
        let dir = tempfile::tempdir().unwrap();
        let c = create_claims_dir(dir.path()).unwrap();
        let c2 = create_claims_dir(dir.path()).unwrap();
        assert_ne!(c, c2);
        write_claims(&c, &d).unwrap();
        assert_eq!(read_claims(&c).unwrap(), d);
        assert!(c.join(CLAIMS_HTML).is_file());
        // Only the folder with a document is listed.
        let listed = claims_dirs(dir.path());
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].1, c);
        // A claims folder is not a run.
        let runs = trial_histories::Store::new(dir.path()).run_dirs().unwrap();
        assert!(runs.is_empty(), "{runs:?}");
    }
}
