//! `report.html`: one self-contained page per run.
//!
//! Everything from a history, results or options file is untrusted text:
//! it reaches the page only through [`esc`] (HTML text and attributes) or
//! [`json_for_script`] (the embedded data, read by the script with
//! `textContent`, never `innerHTML`). A Content-Security-Policy `<meta>`
//! forbids any network fetch, also when the file is opened from disk.

use super::data::{json_text, Outcome};
use super::data::{natural_key, AnomalyClass, HistoryDigest, OpRow, RunData, Verdict};
use super::plots::{css, fault_color, outcome_color, rate_bucket_s, Plot};
use serde_json::Value;
use std::fmt::Write;

pub use super::escape::{esc, esc_into, ident, json_for_script, shell_word, url_path};

/// The plots to put on the page.
pub struct Plots<'a> {
    pub svgs: &'a [(Plot, String)],
    /// Plots whose `.png`/`.svg` files exist beside the page (linked).
    pub files_present: &'a [Plot],
    /// Why there are no plots, if so.
    pub error: Option<&'a str>,
    /// Plots embedded as PNG instead of inline SVG (a long history: its
    /// dense SVG costs a browser seconds to lay out, the picture does not).
    pub pngs: &'a [(Plot, Vec<u8>)],
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A note at the top (e.g. "rendered on demand by serve").
    pub note: Option<String>,
}

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// The policy of every page kafka-trial renders: inline style and script
/// only, no fetches, no forms, images only from `data:`.
pub const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

/// The test's name: test.json's `name`, else the run folder's parent.
pub fn test_name(run: &RunData) -> String {
    run.test
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            run.dir
                .parent()
                .and_then(|p| p.file_name())
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "run".to_string())
}

/// The command line that repeats the run: test.json's `command` (a string
/// or an array of words), else one built from its options. The flag says
/// whether it was built.
pub fn repeat_command(test: &serde_json::Map<String, Value>) -> (String, bool) {
    match test.get("command") {
        Some(Value::String(s)) if !s.is_empty() => return (s.clone(), false),
        Some(Value::Array(words)) if !words.is_empty() => {
            return (
                words
                    .iter()
                    .map(|w| shell_word(&json_text(w)))
                    .collect::<Vec<_>>()
                    .join(" "),
                false,
            )
        }
        _ => {}
    }
    let mut cmd = vec!["kafka-trial".to_string(), "test".to_string()];
    let mut seed = None;
    for (k, v) in test {
        let flag = format!("--{}", k.replace('_', "-"));
        match (k.as_str(), v) {
            ("name" | "command" | "start_time" | "time" | "timestamp", _) => {}
            ("seed", v) => seed = Some(json_text(v)),
            (_, Value::Bool(true)) => cmd.push(flag),
            (_, Value::Bool(false) | Value::Null | Value::Object(_)) => {}
            (_, Value::Array(xs)) => {
                if !xs.is_empty() {
                    cmd.push(flag);
                    cmd.push(shell_word(
                        &xs.iter().map(json_text).collect::<Vec<_>>().join(","),
                    ));
                }
            }
            (_, v) => {
                cmd.push(flag);
                cmd.push(shell_word(&json_text(v)));
            }
        }
    }
    if let Some(s) = seed {
        cmd.push("--seed".into());
        cmd.push(shell_word(&s));
    }
    (cmd.join(" "), true)
}

fn secs(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e9)
}

/// The page.
pub fn render(run: &RunData, plots: &Plots, opts: &Options) -> String {
    let mut o = String::with_capacity(64 * 1024 + run.history.spans.len() * 160);
    let name = test_name(run);
    let stamp = run
        .dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let v = run.verdict;
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{verdict} — {name} {stamp} — kafka-trial</title>
<style>{CSS}</style></head>
<body class="report verdict-{vclass}">
<header><div class="crumbs"><span class="brand">kafka-trial</span> report</div>
<h1><span class="test-name">{name}</span> <span class="stamp">{stamp}</span></h1>
<div id="verdict" class="verdict {vclass}" data-verdict="{vclass}">{verdict}</div>
"#,
        csp = esc(CSP),
        verdict = esc(v.label()),
        vclass = v.class(),
        name = esc(&name),
        stamp = esc(&stamp),
    );
    if let Some(s) = run.results_str("summary") {
        let _ = write!(o, r#"<p class="summary">{}</p>"#, esc(s));
    } else if v == Verdict::Pending {
        o.push_str(
            r#"<p class="summary">No <code>results.json</code> yet: the run is still being written, or was never checked (<code>kafka-trial check RUN</code>).</p>"#,
        );
    }
    super::promises::headline(&mut o, run);
    if let Some(n) = &opts.note {
        let _ = write!(o, r#"<p class="note">{}</p>"#, esc(n));
    }
    nav_links(&mut o, run, plots);
    o.push_str("</header>\n<main>\n");

    warnings(&mut o, run, plots);
    anomalies(&mut o, run);
    super::linear::section(&mut o, run);
    super::promises::section(&mut o, run);
    named_ops(&mut o, run);
    options(&mut o, run);
    plots_section(&mut o, plots);
    timeline(&mut o, &run.history);
    observer_lanes(&mut o, run);
    super::group::run_section(&mut o, run);
    op_table(&mut o, &run.history);
    details(&mut o, run);
    o.push_str("</main>\n");
    let _ = writeln!(
        o,
        "<footer>kafka-trial {} — {} ops in the history</footer>",
        esc(env!("CARGO_PKG_VERSION")),
        run.history.op_count
    );
    o.push_str(r#"<script type="application/json" id="kt-data">"#);
    o.push_str(&json_for_script(&embedded_data(&run.history)));
    o.push_str("</script>\n<script>");
    o.push_str(JS);
    o.push_str("</script>\n</body></html>\n");
    o
}

fn nav_links(o: &mut String, run: &RunData, plots: &Plots) {
    o.push_str(r#"<nav class="files"><span>files:</span> "#);
    let link = |o: &mut String, href: &str, text: &str, exists: bool| {
        if exists {
            let _ = write!(
                o,
                r#"<a href="{}">{}</a> "#,
                esc(&url_path(href)),
                esc(text)
            );
        } else {
            let _ = write!(
                o,
                r#"<span class="missing" title="not written (yet)">{}</span> "#,
                esc(text)
            );
        }
    };
    for f in ["history.jsonl", "results.json", "test.json"] {
        link(o, f, f, run.dir.join(f).is_file());
    }
    for p in plots.files_present {
        for ext in ["png", "svg"] {
            let f = format!("{}.{ext}", p.stem());
            link(o, &f, &f, true);
        }
    }
    if !run.node_logs.is_empty() {
        o.push_str(r#"<span class="sep">node logs:</span> "#);
        for l in &run.node_logs {
            let text = l.strip_prefix("nodes/").unwrap_or(l);
            link(o, l, text, true);
        }
    }
    o.push_str("</nav>\n");
}

fn warnings(o: &mut String, run: &RunData, plots: &Plots) {
    let mut items: Vec<String> = Vec::new();
    if let Some(rs) = run
        .results
        .as_ref()
        .and_then(|r| r.get("unknown_reasons"))
        .and_then(Value::as_array)
    {
        for r in rs {
            items.push(format!("undecided: {}", json_text(r)));
        }
    }
    if let Some(rs) = run
        .results
        .as_ref()
        .and_then(|r| r.get("weak_evidence"))
        .and_then(Value::as_array)
    {
        for r in rs {
            items.push(format!("weak evidence: {}", json_text(r)));
        }
    }
    if !run.history.present {
        items.push("no history.jsonl (yet)".into());
    }
    items.extend(run.warnings.iter().cloned());
    items.extend(run.history.warnings.iter().cloned());
    if let Some(e) = plots.error {
        items.push(format!("no plots: {e}"));
    }
    if items.is_empty() {
        return;
    }
    o.push_str(r#"<section id="warnings" class="warnings"><h2>Caveats</h2><ul>"#);
    for i in items {
        let _ = write!(o, "<li>{}</li>", esc(&i));
    }
    o.push_str("</ul></section>\n");
}

/// A link to an op named by an anomaly, saying what the op is.
fn op_link(o: &mut String, i: u64, h: &HistoryDigest) {
    match h.named_ops.get(&i) {
        Some(r) => {
            let _ = write!(
                o,
                r##"<a class="op-link" href="#op-{i}" data-op="{i}" title="{t} s">op {i}</a> <span class="op-what">({f} {k}, process {p})</span>"##,
                t = secs(r.time_ns),
                f = esc(&r.f),
                k = r.kind,
                p = esc(&r.process),
            );
        }
        None => {
            let _ = write!(
                o,
                r##"<a class="op-link unknown-op" href="#op-{i}" data-op="{i}">op {i}</a> <span class="op-what">(not in the history)</span>"##
            );
        }
    }
}

fn anomalies(o: &mut String, run: &RunData) {
    o.push_str(r#"<section id="anomalies"><h2>Anomalies</h2>"#);
    if run.results.is_none() {
        o.push_str("<p>No results yet.</p></section>\n");
        return;
    }
    let found: Vec<&AnomalyClass> = run.anomalies.iter().filter(|a| a.count > 0).collect();
    if found.is_empty() {
        o.push_str(r#"<p class="none-found">No anomaly found.</p>"#);
    }
    for a in &found {
        let _ = write!(
            o,
            r#"<section class="anomaly" id="anomaly-{id}" data-anomaly="{name}"><h3><span class="aname">{name}</span> <span class="count">×{count}</span>{checker}</h3>"#,
            id = ident(&a.name),
            name = esc(&a.name),
            count = a.count,
            checker = if a.checker.is_empty() {
                String::new()
            } else {
                format!(
                    r#" <span class="checker">checker: {}</span>"#,
                    esc(&a.checker)
                )
            }
        );
        if super::promises::class_judgement(run, &a.name).is_some() {
            super::promises::class_mark(o, run, &a.name);
            if a.permitted.is_some() {
                o.push_str(r#"<p class="permitted">Not counted against the verdict.</p>"#);
            }
        } else if let Some(why) = &a.permitted {
            let _ = write!(
                o,
                r#"<p class="permitted"><b>Permitted by this configuration</b> (not counted against the verdict): {}</p>"#,
                esc(why)
            );
        }
        match &a.definition {
            Some(d) => {
                let _ = write!(
                    o,
                    r#"<p class="definition"><b>Definition.</b> {}</p>"#,
                    esc(d)
                );
            }
            None => o.push_str(r#"<p class="definition missing">No definition given.</p>"#),
        }
        if a.examples.is_empty() {
            o.push_str("<p>No examples given.</p>");
        } else {
            let _ = write!(
                o,
                r#"<p class="examples-head">{} example{}{}:</p><ol class="examples">"#,
                a.examples.len(),
                if a.examples.len() == 1 { "" } else { "s" },
                if (a.examples.len() as u64) < a.count {
                    format!(" of {}", a.count)
                } else {
                    String::new()
                }
            );
            for ex in &a.examples {
                o.push_str(r#"<li class="example">"#);
                if let Some(m) = &ex.message {
                    let _ = write!(o, r#"<div class="message">{}</div>"#, esc(m));
                }
                if !ex.ops.is_empty() {
                    o.push_str(r#"<div class="ops">ops: "#);
                    for (i, op) in ex.ops.iter().enumerate() {
                        if i > 0 {
                            o.push_str(", ");
                        }
                        op_link(o, *op, &run.history);
                    }
                    o.push_str("</div>");
                }
                if !ex.fields.is_empty() {
                    o.push_str(r#"<dl class="fields">"#);
                    for (k, v) in &ex.fields {
                        let _ = write!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
                    }
                    o.push_str("</dl>");
                }
                o.push_str("</li>");
            }
            o.push_str("</ol>");
        }
        o.push_str("</section>\n");
    }
    let none: Vec<&AnomalyClass> = run.anomalies.iter().filter(|a| a.count == 0).collect();
    if !none.is_empty() {
        o.push_str(r#"<p class="checked-none">Checked, none found: "#);
        for (i, a) in none.iter().enumerate() {
            if i > 0 {
                o.push_str(", ");
            }
            let _ = write!(
                o,
                r#"<span class="anomaly-none" title="{}">{}</span>"#,
                esc(a.definition.as_deref().unwrap_or("")),
                esc(&a.name)
            );
        }
        o.push_str("</p>");
    }
    unseen(o, run);
    o.push_str("</section>\n");
}

/// The queue checker's `unseen` count: at the end and over time.
fn unseen(o: &mut String, run: &RunData) {
    let Some(checkers) = run
        .results
        .as_ref()
        .and_then(|r| r.get("checkers"))
        .and_then(Value::as_object)
    else {
        return;
    };
    for (cname, c) in checkers {
        let Some(u) = c.get("unseen") else { continue };
        let fin = u.get("final").map(json_text).unwrap_or_else(|| "?".into());
        let _ = write!(
            o,
            r#"<div class="unseen"><b>unseen</b> ({}): acknowledged sends not read yet — at the end: <b class="unseen-final">{}</b>"#,
            esc(cname),
            esc(&fin)
        );
        let pts: Vec<(f64, f64)> = u
            .get("over_time")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default();
        if pts.len() >= 2 {
            let (w, h) = (320.0, 40.0);
            let x1 = pts.iter().map(|p| p.0).fold(f64::MIN, f64::max);
            let x0 = pts.iter().map(|p| p.0).fold(f64::MAX, f64::min);
            let y1 = pts.iter().map(|p| p.1).fold(1.0, f64::max);
            let path: Vec<String> = pts
                .iter()
                .map(|(x, y)| {
                    format!(
                        "{:.1},{:.1}",
                        (x - x0) / (x1 - x0).max(1e-9) * w,
                        h - y / y1 * (h - 2.0) - 1.0
                    )
                })
                .collect();
            let _ = write!(
                o,
                r##" <svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="unseen over time"><polyline fill="none" stroke="#b35900" stroke-width="1.5" points="{}"/></svg> <span class="muted">max {y1}, {x0:.0}–{x1:.0} s</span>"##,
                path.join(" ")
            );
        }
        o.push_str("</div>");
    }
}

fn named_ops(o: &mut String, run: &RunData) {
    let h = &run.history;
    let named: std::collections::BTreeSet<u64> = run
        .anomalies
        .iter()
        .flat_map(|a| a.examples.iter().flat_map(|e| e.ops.iter().copied()))
        .collect();
    if named.is_empty() {
        return;
    }
    o.push_str(
        r#"<section id="named-ops"><h2>Ops named by anomalies</h2><table class="ops named"><thead><tr><th>index</th><th>time (s)</th><th>process</th><th>type</th><th>f</th><th>value</th><th>error</th><th></th></tr></thead><tbody>"#,
    );
    for i in named {
        match h.named_ops.get(&i) {
            Some(r) => named_row(o, r),
            None => {
                let _ = write!(
                    o,
                    r#"<tr id="op-{i}" class="missing"><td>{i}</td><td colspan="7">not in the history (index out of range or unreadable line)</td></tr>"#
                );
            }
        }
    }
    o.push_str("</tbody></table></section>\n");
}

fn named_row(o: &mut String, r: &OpRow) {
    let _ = write!(
        o,
        r##"<tr id="op-{i}" class="t-{kind}"><td>{i}</td><td>{t}</td><td>{p}</td><td class="type">{kind}</td><td>{f}</td><td class="val">{v}</td><td class="err">{e}</td><td><a class="to-timeline" href="#t-{i}" data-op="{i}">timeline</a> <a class="to-row" href="#row-{i}" data-op="{i}">in table</a></td></tr>"##,
        i = r.index,
        t = secs(r.time_ns),
        p = esc(&r.process),
        kind = r.kind,
        f = esc(&r.f),
        v = long_code(&r.value),
        e = esc(r.error.as_deref().unwrap_or("")),
    );
}

/// Code that folds when long: the first 200 characters, the rest on click.
fn long_code(v: &str) -> String {
    const FOLD: usize = 200;
    if v.chars().count() <= FOLD + 40 {
        return format!("<code>{}</code>", esc(v));
    }
    format!(
        "<details class=\"long\"><summary><code>{}</code> <span class=\"muted\">({} characters; show all)</span></summary><code>{}</code></details>",
        esc(&super::data::shorten(v, FOLD)),
        v.chars().count(),
        esc(v)
    )
}

fn options(o: &mut String, run: &RunData) {
    o.push_str(r#"<section id="test"><h2>The test</h2>"#);
    if run.test.is_empty() {
        o.push_str("<p>No <code>test.json</code>.</p></section>\n");
        return;
    }
    let (cmd, built) = repeat_command(&run.test);
    let _ = write!(
        o,
        r#"<p>Repeat this run{}:</p><pre class="command" id="command">{}</pre>"#,
        if built {
            " (command built from test.json's options; test.json has no <code>command</code>)"
        } else {
            ""
        },
        esc(&cmd)
    );
    if let Some(seed) = run.test.get("seed") {
        let _ = write!(
            o,
            r#"<p>Seed: <code id="seed">{}</code></p>"#,
            esc(&json_text(seed))
        );
    }
    let spec = spec_toml(&run.test);
    if let Some(toml) = &spec {
        let _ = write!(
            o,
            r#"<p>The trial's spec (its <code>spec.toml</code>; <code>kafka-trial test --spec spec.toml</code> runs it again):</p><pre class="spec" id="spec">{}</pre><details class="test-json"><summary>Every field of test.json</summary>"#,
            esc(toml)
        );
    }
    o.push_str(r#"<table class="options"><tbody>"#);
    for (k, v) in &run.test {
        let _ = write!(
            o,
            r#"<tr><th>{}</th><td><code>{}</code></td></tr>"#,
            esc(k),
            esc(&json_text(v))
        );
    }
    o.push_str("</tbody></table>");
    if spec.is_some() {
        o.push_str("</details>");
    }
    o.push_str("</section>\n");
}

/// A run's test.json as its trial spec in TOML: only what applies to this
/// run (its workload's options, its fault kinds'). `None` for a test.json
/// that is not a trial's (an older or a synthetic one): the report then
/// shows its fields as they are.
pub(crate) fn spec_toml(test: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let t: crate::trial::TestSpec =
        serde_json::from_value(serde_json::Value::Object(test.clone())).ok()?;
    crate::spec::TrialSpec::from_test(&t)
        .ok()
        .map(|s| s.to_toml())
}

fn plots_section(o: &mut String, plots: &Plots) {
    o.push_str(r#"<section id="plots"><h2>Plots</h2>"#);
    if let Some(e) = plots.error {
        let _ = write!(o, r#"<p class="warn">No plots: {}</p>"#, esc(e));
    }
    for (p, svg) in plots.svgs {
        let _ = write!(o, r#"<figure class="plot" id="plot-{}">"#, p.stem());
        if let Some((_, png)) = plots.pngs.iter().find(|(q, _)| q == p) {
            use base64::Engine;
            let _ = write!(
                o,
                r#"<img class="plot-png" alt="{t}" src="data:image/png;base64,{b}">"#,
                t = esc(p.title()),
                b = base64::engine::general_purpose::STANDARD.encode(png)
            );
        } else {
            // plotters escapes the text it draws; the SVG has no script.
            o.push_str(strip_xml_decl(svg));
        }
        let _ = write!(o, "<figcaption>{}", p.title());
        if plots.files_present.contains(p) {
            let _ = write!(
                o,
                r#" — <a href="{s}.png">{s}.png</a> <a href="{s}.svg">{s}.svg</a>"#,
                s = p.stem()
            );
        }
        o.push_str("</figcaption></figure>\n");
    }
    o.push_str("</section>\n");
}

fn strip_xml_decl(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

fn timeline(o: &mut String, h: &HistoryDigest) {
    let _ = write!(
        o,
        r#"<section id="timeline"><h2>Timeline</h2>
<p class="help">One lane per process; each op is a bar from invocation to completion, coloured by outcome; shaded bands are the nemesis's faults. Scroll or use the buttons to zoom, drag to pan, click an op for details. {detail}</p>
<div class="tl-controls"><button type="button" data-tl="prev">◀ prev</button><button type="button" data-tl="next">next ▶</button><button type="button" data-tl="in">zoom in</button><button type="button" data-tl="out">zoom out</button><button type="button" data-tl="all">whole run</button> <label>window <select id="tl-window"><option value="0">whole run</option><option value="1">1 s</option><option value="5">5 s</option><option value="10">10 s</option><option value="30">30 s</option><option value="60">60 s</option></select></label> <span id="tl-range" class="muted"></span></div>
<div class="legend">{legend}</div>
<div class="tl-wrap"><div class="tl-lanes" id="tl-lanes"><div class="tl-axis-pad"></div>"#,
        legend = legend(h),
        detail = if h.aggregated {
            format!(
                r#"<strong class="agg-note">{} ops: too many to embed, so bars are runs of neighbouring ops of one process (same function and outcome, or ops shorter than a {:.1} ms column, which then take the worst outcome: a failure is never hidden); the ops that anomalies name are drawn exactly. Open this report with <code>kafka-trial serve</code> for every op: zoomed in, the timeline then fetches each op of the window, and the op table pages through the history.</strong> <span id="tl-detail-state" class="muted"></span>"#,
                h.op_count,
                h.agg.col_ns as f64 / 2e6
            )
        } else {
            "Every op is drawn (no sampling).".to_string()
        }
    );
    for (i, l) in h.lanes.iter().enumerate() {
        let _ = write!(
            o,
            r#"<div class="lane{}" data-lane="{i}" data-process="{p}" title="process {p}">{p}</div>"#,
            if h.lane_is_nemesis.get(i).copied().unwrap_or(false) {
                " nemesis"
            } else {
                ""
            },
            p = esc(l)
        );
    }
    let _ = write!(
        o,
        r#"</div><div class="tl-canvas-wrap"><canvas id="tl-canvas" height="{}"></canvas><div id="tl-tip" class="tip" hidden></div></div></div>
<div id="tl-detail" class="detail muted">Click an op in the timeline to see it here.</div>"#,
        (h.lanes.len().max(1) * 16 + 28)
    );
    if !h.faults.is_empty() {
        o.push_str(r#"<h3>Fault intervals</h3><table class="faults"><thead><tr><th>kind</th><th>from (s)</th><th>to (s)</th><th>ops</th><th>what the nemesis did</th></tr></thead><tbody>"#);
        for f in &h.faults {
            // A fault that applied only in part says where it failed.
            let failed = if f.failed.is_empty() {
                String::new()
            } else {
                let mut s = String::from(
                    r#"<div class="partly"><strong>applied only in part</strong>: failed on "#,
                );
                for (i, (n, why)) in f.failed.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    let _ = write!(s, "<strong>{}</strong> ({})", esc(n), esc(why));
                }
                s.push_str("</div>");
                s
            };
            let _ = write!(
                o,
                r##"<tr class="fault{partly}" data-kind="{k}"><td><span class="swatch" style="background:{c}"></span>{k}</td><td>{s}</td><td>{e}{stopped}</td><td><a href="#row-{so}" class="to-row" data-op="{so}">{so}</a>{eo}</td><td>{failed}<code>{d}</code></td></tr>"##,
                partly = if f.failed.is_empty() { "" } else { " partly" },
                k = esc(&f.kind),
                c = css(fault_color(&f.kind)),
                s = secs(f.start_ns),
                e = secs(f.end_ns),
                stopped = if f.stopped { "" } else { " (never stopped)" },
                so = f.start_op,
                eo = f
                    .end_op
                    .map(|e| format!(
                        r##"–<a href="#row-{e}" class="to-row" data-op="{e}">{e}</a>"##
                    ))
                    .unwrap_or_default(),
                d = esc(&f.detail),
            );
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</section>\n");
}

/// The cluster observer's lanes (leader and ISR per partition), under the
/// timeline and on the same run-long axis as its fault bands.
fn observer_lanes(o: &mut String, run: &RunData) {
    let checkers = run.results.as_ref().and_then(|r| r.get("checkers"));
    let progress = checkers.and_then(|c| c.get("progress"));
    if let Some(e) = checkers.and_then(|c| c.get("effects")) {
        super::observed::effects_section(o, e, progress);
    }
    if let Some(p) = progress {
        super::progress::section(o, p);
    }
    let path = run.dir.join(trial_histories::store::HISTORY_FILE);
    let obs = super::observed::digest_observations(&path).unwrap_or_default();
    super::observed::observer_section(o, &obs, &run.history.faults, run.history.end_ns);
}

fn legend(h: &HistoryDigest) -> String {
    let mut s = String::new();
    for oc in [Outcome::Ok, Outcome::Fail, Outcome::Info, Outcome::Open] {
        let _ = write!(
            s,
            r#"<span class="key"><span class="swatch" style="background:{}"></span>{}</span>"#,
            css(outcome_color(oc)),
            match oc {
                Outcome::Open => "never completed",
                o => o.as_str(),
            }
        );
    }
    let mut kinds: Vec<&str> = h.faults.iter().map(|f| f.kind.as_str()).collect();
    kinds.sort_by_key(|k| natural_key(k));
    kinds.dedup();
    for k in kinds {
        let _ = write!(
            s,
            r#"<span class="key fault-key" data-kind="{k}"><span class="swatch band" style="background:{c}"></span>{k}</span>"#,
            k = esc(k),
            c = css(fault_color(k)),
        );
    }
    s
}

fn op_table(o: &mut String, h: &HistoryDigest) {
    let _ = write!(
        o,
        r#"<section id="ops"><h2>All ops</h2>
<p class="help">{n} ops ({spans}), 100 per page; rate plot buckets: {b} s. Type an op index to jump to it.</p>
<div class="table-controls"><button type="button" data-page="first">« first</button><button type="button" data-page="prev">‹ prev</button><span id="page-info"></span><button type="button" data-page="next">next ›</button><button type="button" data-page="last">last »</button>
<label>go to op <input id="goto-op" type="number" min="0" size="8"></label>
<label>process <select id="flt-process"><option value="">any</option></select></label>
<label>f <select id="flt-f"><option value="">any</option></select></label>
<label>outcome <select id="flt-outcome"><option value="">any</option><option value="0">ok</option><option value="1">fail</option><option value="2">info</option><option value="3">never completed</option></select></label></div>
<table class="ops all"><thead><tr><th>op</th><th>completion</th><th>process</th><th>f</th><th>outcome</th><th>start (s)</th><th>latency (ms)</th><th>value</th><th>error</th></tr></thead><tbody id="ops-body"><tr><td colspan="9" class="muted">The op table needs JavaScript; <a href="history.jsonl">history.jsonl</a> has every op.</td></tr></tbody></table>
</section>
"#,
        n = h.op_count,
        spans = if h.aggregated {
            "one row per history line, fetched from <code>kafka-trial serve</code>; opened as a file, this table is empty: open the report with <code>kafka-trial serve</code> for every op".to_string()
        } else {
            format!("{} invocation/completion pairs", h.spans.len())
        },
        b = rate_bucket_s(h),
    );
}

fn details(o: &mut String, run: &RunData) {
    let Some(r) = &run.results else { return };
    o.push_str(r#"<section id="details"><h2>Checker details</h2>"#);
    if let Some(cs) = r.get("checkers").and_then(Value::as_object) {
        for (name, c) in cs {
            let valid = c.get("valid").map(json_text).unwrap_or_else(|| "?".into());
            let text = serde_json::to_string_pretty(c).unwrap_or_default();
            let _ = write!(
                o,
                r#"<details><summary>{} — valid: {}</summary><pre>{}</pre></details>"#,
                esc(name),
                esc(&valid),
                esc(&super::data::shorten(&text, 200_000))
            );
        }
    }
    o.push_str("</section>\n");
}

/// Characters of op values the page embeds in all (see [`embedded_data`]).
const VALUE_BUDGET: usize = 8_000_000;

/// The compact data the timeline and op table are drawn from.
pub fn embedded_data(h: &HistoryDigest) -> String {
    let mut s = String::with_capacity(256 + h.spans.len() * 140);
    let _ = write!(s, r#"{{"end":{},"lanes":"#, h.end_ns / 1000);
    s.push_str(&serde_json::to_string(&h.lanes).unwrap_or_else(|_| "[]".into()));
    s.push_str(r#","nemesis":"#);
    s.push_str(&serde_json::to_string(&h.lane_is_nemesis).unwrap_or_else(|_| "[]".into()));
    s.push_str(r#","fs":"#);
    s.push_str(&serde_json::to_string(&h.fs).unwrap_or_else(|_| "[]".into()));
    s.push_str(r#","colors":{"outcome":["#);
    for (i, oc) in [Outcome::Ok, Outcome::Fail, Outcome::Info, Outcome::Open]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "\"{}\"", css(outcome_color(oc)));
    }
    s.push_str("]},\"faults\":[");
    for (i, f) in h.faults.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "[{},{},{},\"{}\",{}]",
            serde_json::to_string(&f.kind).unwrap_or_default(),
            f.start_ns / 1000,
            f.end_ns / 1000,
            css(fault_color(&f.kind)),
            f.stopped
        );
    }
    let _ = write!(
        s,
        "],\"agg\":{},\"total\":{},\"ops\":[",
        h.aggregated, h.op_count
    );
    // Very long histories keep less of each value, so that the page stays
    // around 20 MB: 120 characters up to ~130,000 ops, then fewer.
    let budget = (VALUE_BUDGET / h.spans.len().max(1)).clamp(16, super::data::SHORT_TEXT);
    // [lane, f, outcome, start µs, end µs | -1, invoke, completion | -1, value, error]
    for (i, sp) in h.spans.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "[{},{},{},{},{},{},{},",
            sp.lane,
            sp.f,
            sp.outcome.code(),
            sp.start_ns / 1000,
            sp.end_ns.map_or(-1, |e| (e / 1000) as i64),
            sp.invoke,
            sp.completion.map_or(-1, |c| c as i64),
        );
        let value = if budget < super::data::SHORT_TEXT {
            std::borrow::Cow::Owned(super::data::shorten(&sp.value, budget))
        } else {
            std::borrow::Cow::Borrowed(sp.value.as_str())
        };
        s.push_str(&serde_json::to_string(&value).unwrap_or_else(|_| "\"\"".into()));
        s.push(',');
        s.push_str(
            &serde_json::to_string(sp.error.as_deref().unwrap_or(""))
                .unwrap_or_else(|_| "\"\"".into()),
        );
        s.push(']');
    }
    if h.aggregated {
        // Runs of ops: [lane, f, outcome, start µs, end µs, first, last,
        // "N ops", "", N]; the ops that anomalies name are above, whole.
        for (lane, runs) in h.agg.runs.iter().enumerate() {
            for r in runs {
                if !s.ends_with('[') {
                    s.push(',');
                }
                let _ = write!(
                    s,
                    "[{lane},{},{},{},{},{},{},\"{} ops\",\"\",{}]",
                    r.f,
                    r.outcome.code(),
                    r.start_ns / 1000,
                    r.end_ns / 1000,
                    r.first,
                    r.last,
                    r.count,
                    r.count
                );
            }
        }
    }
    s.push_str("]}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let j = json_for_script(r#"{"v":"</script><!--&"}"#);
        assert!(!j.contains('<') && !j.contains('>') && !j.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back["v"], "</script><!--&");
        assert_eq!(ident("lost write<x>"), "lost_write_x_");
        assert_eq!(url_path("nodes/n 1/a#b.log"), "nodes/n%201/a%23b.log");
    }

    #[test]
    fn command_is_taken_or_built() {
        let t: serde_json::Map<String, Value> = serde_json::from_str(
            r#"{"name":"x","nodes":5,"acks":"all","idempotence":true,"unclean_leader_election":false,
                "nemesis":["partition","kill"],"seed":7,"note":"it's"}"#,
        )
        .unwrap();
        let (c, built) = repeat_command(&t);
        assert!(built);
        assert!(c.starts_with("kafka-trial test "), "{c}");
        for part in [
            " --nodes 5",
            " --acks all",
            " --idempotence",
            " --nemesis partition,kill",
            " --note 'it'\\''s'",
        ] {
            assert!(c.contains(part), "{part} not in {c}");
        }
        assert!(c.ends_with(" --seed 7"), "{c}");
        assert!(!c.contains("unclean") && !c.contains("--name"), "{c}");
        let t: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"command":["kafka-trial","test","--seed","7"]}"#).unwrap();
        assert_eq!(
            repeat_command(&t),
            ("kafka-trial test --seed 7".into(), false)
        );
    }
}
