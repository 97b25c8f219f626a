//! `kafka-trial serve`: browse the store in a browser.
//!
//! - `/` — every run in the store, newest first: verdict, test, time, key
//!   options, anomaly counts, links to the report, plots, history, results
//!   and node logs.
//! - `/runs/<test>/<timestamp>/` — the run's report. `report.html` is served
//!   when it is at least as new as `results.json` and `history.jsonl`;
//!   otherwise (a run still being written, a run re-checked since, a run
//!   never reported) the report is **rendered on demand in memory and not
//!   saved** — serve never writes into the store; `kafka-trial report RUN`
//!   saves it. A run without `results.json` shows "no verdict yet".
//! - `/runs/matrix/<scenario>/<timestamp>/` — a version matrix (its
//!   `matrix.json` rendered as `matrix.html` is, in memory); the index
//!   lists the matrices above the runs, newest first.
//! - `/runs/claims/<timestamp>/` — a table of claims (`claims.json`
//!   rendered as `claims.html` is, in memory); listed above the runs too.
//! - `/runs/<run>/_ops?first=N&count=M` or `?t0=µs&t1=µs` — a page of a
//!   run's history, or every op of a time window, read through the history
//!   index (JSON; [`report::detail`]): the report of a long history fetches
//!   its detail from here.
//! - `/runs/<path>` — any other file of the store (history, logs, plots),
//!   streamed; folders get a plain listing.
//!
//! Read-only and careful about paths: only GET and HEAD; every request path
//! is percent-decoded segment by segment and refused (404) if a segment is
//! empty, `.`, `..`, hidden (`.x`), or holds `/`, `\` or NUL after decoding;
//! the joined path is canonicalised (resolving symlinks) and must stay
//! inside the canonical store root, else 404. Binds 127.0.0.1 by default.

use crate::report::data::{self, natural_key, Verdict};
use crate::report::html::{esc, url_path, CSP};
use crate::report::{self, REPORT_FILE};
use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use std::fmt::Write;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use trial_histories::store::{HISTORY_FILE, MATRIX_FILE, NODES_DIR, RESULTS_FILE, TEST_FILE};

const CSS: &str = include_str!("report.css");

/// A run whose history changed this recently and that has no results is
/// shown as "running".
const RUNNING_WINDOW: Duration = Duration::from_secs(120);

struct St {
    /// The canonical store root.
    root: PathBuf,
    /// Rendering a report on demand takes a core for a moment (0.2 s at
    /// 100,000 ops): at most two at once, however many tabs reload.
    renders: tokio::sync::Semaphore,
    /// History indexes for `_ops` queries ([`report::detail`]).
    indexes: report::detail::IndexCache,
}

/// A bound server, ready to run.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Router,
}

/// The router for a store root (for embedding or tests).
pub fn router(store_root: &Path) -> Result<Router> {
    let root = std::fs::canonicalize(store_root)
        .with_context(|| format!("the store {}", store_root.display()))?;
    let st = Arc::new(St {
        root,
        renders: tokio::sync::Semaphore::new(2),
        indexes: Default::default(),
    });
    Ok(Router::new().fallback(handle).with_state(st))
}

impl Server {
    /// Bind `addr` (port 0: any free port) to serve the store at `store_root`.
    pub async fn bind(store_root: &Path, addr: SocketAddr) -> Result<Server> {
        let app = router(store_root)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        Ok(Server { listener, app })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serve until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        axum::serve(self.listener, self.app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving")
    }
}

async fn handle(State(st): State<Arc<St>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only: GET and HEAD only\n",
        )
            .into_response();
    }
    let path = uri.path();
    if path == "/" || path == "/index.html" {
        let st2 = st.clone();
        return match tokio::task::spawn_blocking(move || index_page(&st2.root)).await {
            Ok(page) => html(StatusCode::OK, page),
            Err(e) => error_page(&format!("listing the store failed: {e}")),
        };
    }
    if path == "/runs" {
        return redirect("/");
    }
    let Some(rest) = path.strip_prefix("/runs/") else {
        return not_found();
    };
    if let Some(run) = rest.strip_suffix("/_ops") {
        return ops_query(st, run, uri.query().unwrap_or("")).await;
    }
    let Some(rel) = safe_relative(rest) else {
        return not_found();
    };
    let joined = st.root.join(&rel);
    let Ok(real) = tokio::fs::canonicalize(&joined).await else {
        return not_found();
    };
    if !real.starts_with(&st.root) {
        return not_found();
    }
    let Ok(meta) = tokio::fs::metadata(&real).await else {
        return not_found();
    };
    if meta.is_dir() {
        if !path.ends_with('/') {
            return redirect(&format!("{path}/"));
        }
        let is_run = real.join(HISTORY_FILE).is_file() || real.join(TEST_FILE).is_file();
        // A claims folder: its page from claims.json, always current.
        if !is_run && real.join(report::claims::CLAIMS_FILE).is_file() {
            let real = real.clone();
            return match tokio::task::spawn_blocking(move || report::claims::read_claims(&real))
                .await
            {
                Ok(Ok(d)) => html(StatusCode::OK, report::claims::render(&d)),
                Ok(Err(e)) => error_page(&format!("{e:#}")),
                Err(e) => error_page(&format!("{e}")),
            };
        }
        // A matrix folder: its page from matrix.json, always current.
        if !is_run && real.join(MATRIX_FILE).is_file() {
            let real = real.clone();
            return match tokio::task::spawn_blocking(move || report::matrix::read_matrix(&real))
                .await
            {
                Ok(Ok(m)) => html(StatusCode::OK, report::matrix::render(&m)),
                Ok(Err(e)) => error_page(&format!("{e:#}")),
                Err(e) => error_page(&format!("{e}")),
            };
        }
        let _permit = match st.renders.acquire().await {
            Ok(p) => p,
            Err(_) => return error_page("the server is shutting down"),
        };
        let root = st.root.clone();
        let shown = rest.to_string();
        let res = tokio::task::spawn_blocking(move || {
            if is_run {
                run_page(&real)
            } else {
                Ok(listing(&root, &real, &shown))
            }
        })
        .await;
        return match res {
            Ok(Ok(page)) => html(StatusCode::OK, page),
            Ok(Err(e)) => error_page(&format!("{e:#}")),
            Err(e) => error_page(&format!("{e}")),
        };
    }
    if !meta.is_file() {
        return not_found();
    }
    file_response(&real, meta.len()).await
}

/// `/runs/<run>/_ops?…`: ops of a run's history by index range or time
/// window ([`report::detail`]), through the same path checks as files.
async fn ops_query(st: Arc<St>, run: &str, query: &str) -> Response {
    let Some(rel) = safe_relative(run) else {
        return not_found();
    };
    let Ok(real) = tokio::fs::canonicalize(st.root.join(&rel)).await else {
        return not_found();
    };
    if !real.starts_with(&st.root) || !real.join(HISTORY_FILE).is_file() {
        return not_found();
    }
    let query = query.to_string();
    let res =
        tokio::task::spawn_blocking(move || report::detail::answer(&st.indexes, &real, &query))
            .await;
    let (status, body) = match res {
        Ok(Ok(v)) => (StatusCode::OK, v.to_string()),
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": format!("{e:#}")}).to_string(),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": e.to_string()}).to_string(),
        ),
    };
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Decode a request path below `/runs/` into a relative path, or `None` if
/// it could name anything outside (see the module doc).
pub fn safe_relative(raw: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let raw = raw.strip_suffix('/').unwrap_or(raw);
    if raw.is_empty() {
        return None;
    }
    for seg in raw.split('/') {
        let bytes = percent_decode(seg)?;
        let s = String::from_utf8(bytes).ok()?;
        if s.is_empty()
            || s.starts_with('.')
            || s.contains(['/', '\\', '\0'])
            || (cfg!(windows) && s.contains(':'))
        {
            return None;
        }
        out.push(s);
    }
    Some(out)
}

/// Percent-decode; `None` on a malformed escape.
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn html(status: StatusCode, page: String) -> Response {
    let mut r = (status, page).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn error_page(msg: &str) -> Response {
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>error</title></head><body><h1>Could not show this</h1><pre>{}</pre><p><a href=\"/\">all runs</a></p></body></html>",
            esc(msg)
        ),
    )
}

/// Content type by extension; history-derived text is served as plain text.
fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "css" => "text/css; charset=utf-8",
        "gz" => "application/gzip",
        _ => "text/plain; charset=utf-8",
    }
}

async fn file_response(p: &Path, len: u64) -> Response {
    let f = match tokio::fs::File::open(p).await {
        Ok(f) => f,
        Err(_) => return not_found(),
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(f, 1 << 16));
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(p)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The report of a run: the saved one if it is current, else rendered now.
fn run_page(dir: &Path) -> Result<String> {
    let saved = dir.join(REPORT_FILE);
    if let Some(rt) = mtime(&saved) {
        let fresh = [RESULTS_FILE, HISTORY_FILE]
            .iter()
            .all(|f| mtime(&dir.join(f)).is_none_or(|t| t <= rt));
        if fresh {
            if let Ok(s) = std::fs::read_to_string(&saved) {
                return Ok(s);
            }
        }
    }
    let note = if saved.exists() {
        "This run changed since its report.html was written: rendered now, not saved (kafka-trial report RUN saves it)."
    } else if dir.join(RESULTS_FILE).exists() {
        "This run has no report.html: rendered now, not saved (kafka-trial report RUN saves it)."
    } else {
        "No results yet: rendered now from what the run has written so far. Reload to update."
    };
    report::render_report_page(dir, Some(note))
}

/// A plain listing of a folder of the store (test folders, `nodes/`).
fn listing(root: &Path, dir: &Path, shown: &str) -> String {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') {
                        return None;
                    }
                    let real = std::fs::canonicalize(e.path()).ok()?;
                    real.starts_with(root).then(|| (name, real.is_dir()))
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|a| natural_key(&a.0));
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>{CSS}</style></head><body><header><div class=\"crumbs\"><a href=\"/\">all runs</a></div><h1>{t}</h1></header><main><ul>",
        t = esc(shown)
    );
    for (n, is_dir) in names {
        let href = format!("{}{}", url_path(&n), if is_dir { "/" } else { "" });
        let _ = write!(
            o,
            "<li><a href=\"{}\">{}{}</a></li>",
            esc(&href),
            esc(&n),
            if is_dir { "/" } else { "" }
        );
    }
    o.push_str("</ul></main></body></html>");
    o
}

/// What the index shows about one run.
struct RunRow {
    test: String,
    stamp: String,
    rel: String,
    test_json: serde_json::Map<String, Value>,
    results: Option<Value>,
    verdict: Verdict,
    running: bool,
    history_bytes: Option<u64>,
    has_report: bool,
    plots: Vec<&'static str>,
    node_logs: Vec<String>,
}

fn runs(root: &Path) -> Vec<RunRow> {
    let mut out = Vec::new();
    // The store's one walk (trial_histories::Store::run_dirs).
    let dirs = trial_histories::Store::new(root)
        .run_dirs()
        .unwrap_or_default();
    for run in dirs {
        let (test, stamp, dir) = (run.test, run.timestamp, run.path);
        let history = dir.join(HISTORY_FILE);
        let mut warnings = Vec::new();
        let test_json = match data::read_json(&dir.join(TEST_FILE), &mut warnings) {
            Ok(Some(Value::Object(m))) => m,
            _ => Default::default(),
        };
        let results = data::read_json(&dir.join(RESULTS_FILE), &mut warnings)
            .ok()
            .flatten();
        let verdict = Verdict::from_results(results.as_ref());
        let running = verdict == Verdict::Pending
            && mtime(&history)
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age < RUNNING_WINDOW);
        out.push(RunRow {
            rel: format!("{test}/{stamp}"),
            test: test.clone(),
            stamp,
            test_json,
            verdict,
            running,
            history_bytes: std::fs::metadata(&history).map(|m| m.len()).ok(),
            has_report: dir.join(REPORT_FILE).is_file(),
            plots: ["latency-raw", "rate"]
                .into_iter()
                .filter(|p| dir.join(format!("{p}.png")).is_file())
                .collect(),
            node_logs: data::list_node_logs(&dir),
            results,
        });
    }
    out
}

/// The options the index shows, in order, under either spelling.
const KEY_OPTIONS: &[&str] = &[
    "workload",
    "nodes",
    "replication_factor",
    "min_insync_replicas",
    "acks",
    "idempotence",
    "transactions",
    "unclean_leader_election",
    "nemesis",
    "nemesis_interval",
    "time_limit",
    "rate",
    "concurrency",
    "seed",
];

fn option<'a>(m: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| m.get(&key.replace('_', "-")))
}

fn index_page(root: &Path) -> String {
    let rows = runs(root);
    let mut o = String::with_capacity(8192 + rows.len() * 1024);
    let refresh = if rows.iter().any(|r| r.running) {
        "<meta http-equiv=\"refresh\" content=\"10\">"
    } else {
        ""
    };
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{refresh}
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>kafka-trial — runs</title><style>{CSS}</style></head>
<body class="index"><header><div class="crumbs"><span class="brand">kafka-trial</span> serve</div>
<h1>Runs <span class="stamp">{n} in {root}</span></h1></header><main>
"#,
        csp = esc(CSP),
        n = rows.len(),
        root = esc(&root.display().to_string()),
    );
    let matrices = matrices_table(&mut o, root);
    if claims_table(&mut o, root) || matrices {
        o.push_str("<h2>Runs</h2>");
    }
    if rows.is_empty() {
        o.push_str("<p id=\"no-runs\">No runs in the store yet. <code>kafka-trial test</code> or <code>kafka-trial scenario run NAME</code> makes one.</p>");
    } else {
        o.push_str(r#"<table class="runs" id="runs"><thead><tr><th>verdict</th><th>test</th><th>time (UTC)</th><th>options</th><th>anomalies</th><th>ops</th><th>files</th></tr></thead><tbody>"#);
        for r in &rows {
            run_row(&mut o, r);
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</main></body></html>\n");
    o
}

/// The store's version matrices, newest first: scenario, time, status,
/// releases, verdict counts (nothing when there are none). A matrix whose
/// matrix.json cannot be read is listed with the reason. Whether there
/// was one.
fn matrices_table(o: &mut String, root: &Path) -> bool {
    let dirs = trial_histories::Store::new(root)
        .matrix_dirs()
        .unwrap_or_default();
    if dirs.is_empty() {
        return false;
    }
    let _ = write!(
        o,
        r#"<h2>Version matrices <span class="stamp">{}</span></h2><table class="runs" id="matrices"><thead><tr><th>scenario</th><th>time (UTC)</th><th>status</th><th>versions</th><th>seeds</th><th>verdicts</th></tr></thead><tbody>"#,
        dirs.len()
    );
    for d in dirs {
        let href = format!("/runs/{}/", url_path(&d.relative()));
        let _ = write!(
            o,
            r#"<tr class="matrix" data-matrix="{rel}"><td><a class="matrix-link" href="{href}">{sc}</a></td><td class="time">{time}</td>"#,
            rel = esc(&d.relative()),
            href = esc(&href),
            sc = esc(&d.scenario),
            time = esc(&pretty_stamp(&d.timestamp)),
        );
        match report::matrix::read_matrix(&d.path) {
            Ok(m) => {
                let _ = writeln!(
                    o,
                    "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    report::matrix::status_label(m.status),
                    esc(&m
                        .versions
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")),
                    esc(&m
                        .seeds
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")),
                    esc(&crate::trial::matrix::verdicts_text(&m.verdict_counts())),
                );
            }
            Err(e) => {
                let _ = write!(
                    o,
                    r#"<td colspan="4" class="warn">{}</td></tr>"#,
                    esc(&format!("{e:#}"))
                );
            }
        }
    }
    o.push_str("</tbody></table>");
    true
}

/// The store's claims tables, newest first: time, status, claims, how
/// they came out (nothing when there are none). Whether there was one.
fn claims_table(o: &mut String, root: &Path) -> bool {
    let dirs = report::claims::claims_dirs(root);
    if dirs.is_empty() {
        return false;
    }
    let _ = write!(
        o,
        r#"<h2>Claims <span class="stamp">{}</span></h2><table class="runs" id="claims-tables"><thead><tr><th>claims</th><th>time (UTC)</th><th>status</th><th>outcome</th></tr></thead><tbody>"#,
        dirs.len()
    );
    for (stamp, path) in dirs {
        let rel = format!("{}/{stamp}", report::claims::CLAIMS_DIR);
        let href = format!("/runs/{}/", url_path(&rel));
        let _ = write!(
            o,
            r#"<tr class="claims" data-claims="{rel}"><td><a class="claims-link" href="{href}">"#,
            rel = esc(&rel),
            href = esc(&href),
        );
        match report::claims::read_claims(&path) {
            Ok(d) => {
                let _ = writeln!(
                    o,
                    "{}</a></td><td class=\"time\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&d
                        .claims
                        .iter()
                        .map(|c| c.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")),
                    esc(&pretty_stamp(&stamp)),
                    report::matrix::status_label(d.status),
                    esc(&d.counts_text()),
                );
            }
            Err(e) => {
                let _ = write!(
                    o,
                    r#"claims</a></td><td class="time">{}</td><td colspan="2" class="warn">{}</td></tr>"#,
                    esc(&pretty_stamp(&stamp)),
                    esc(&format!("{e:#}"))
                );
            }
        }
    }
    o.push_str("</tbody></table>");
    true
}

fn run_row(o: &mut String, r: &RunRow) {
    let base = format!("/runs/{}/", url_path(&r.rel));
    let (vclass, vlabel) = if r.running {
        ("running", "running")
    } else {
        (r.verdict.class(), r.verdict.label())
    };
    let _ = write!(
        o,
        r#"<tr class="run" data-verdict="{vclass}" data-run="{rel}"><td class="v"><span class="verdict {vclass}">{vlabel}</span></td><td class="test"><a class="report-link" href="{base}">{test}</a>{summary}</td><td class="time">{time}</td><td>"#,
        rel = esc(&r.rel),
        base = esc(&base),
        test = esc(&r.test),
        time = esc(&pretty_stamp(&r.stamp)),
        summary = r
            .results
            .as_ref()
            .and_then(|x| x.get("summary"))
            .and_then(Value::as_str)
            .map(|s| format!(
                r#"<div class="run-summary">{}</div>"#,
                esc(&data::shorten(s, 160))
            ))
            .unwrap_or_default(),
    );
    let typed: Option<crate::trial::TestSpec> =
        serde_json::from_value(Value::Object(r.test_json.clone())).ok();
    if let Some(t) = &typed {
        let _ = write!(
            o,
            r#"<span class="settings">{}</span>"#,
            esc(&settings_in_words(t))
        );
    }
    for k in KEY_OPTIONS.iter().filter(|_| typed.is_none()) {
        if let Some(v) = option(&r.test_json, k) {
            let text = match v {
                Value::Array(xs) => xs.iter().map(data::json_text).collect::<Vec<_>>().join(","),
                v => data::json_text(v),
            };
            let _ = write!(
                o,
                r#"<span class="kv">{}: <b>{}</b></span> "#,
                esc(&k.replace('_', "-")),
                esc(&data::shorten(&text, 60))
            );
        }
    }
    o.push_str(r#"</td><td class="counts">"#);
    let counts: Vec<(String, u64)> = r
        .results
        .as_ref()
        .and_then(|x| x.get("anomaly_counts"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default();
    if counts.is_empty() {
        o.push_str(if r.results.is_some() { "none" } else { "—" });
    }
    for (k, n) in counts {
        let _ = write!(o, r#"<span class="bad">{} ×{n}</span> "#, esc(&k));
    }
    let ops = r
        .results
        .as_ref()
        .and_then(|x| x.get("ops").or_else(|| x.get("op_count")))
        .and_then(Value::as_u64)
        .map(|n| n.to_string())
        .or_else(|| {
            r.history_bytes
                .map(|b| format!("({})", crate::cli::report::human_size(b)))
        })
        .unwrap_or_else(|| "—".into());
    let _ = write!(o, "</td><td>{}</td><td>", esc(&ops));
    let mut link = |href: String, text: &str| {
        let _ = write!(o, r#"<a href="{}">{}</a> "#, esc(&href), esc(text));
    };
    link(
        base.clone(),
        if r.has_report {
            "report"
        } else {
            "report (live)"
        },
    );
    for p in &r.plots {
        link(format!("{base}{p}.png"), p);
    }
    link(format!("{base}{HISTORY_FILE}"), "history");
    if r.results.is_some() {
        link(format!("{base}{RESULTS_FILE}"), "results");
    }
    link(format!("{base}{TEST_FILE}"), "test.json");
    if !r.node_logs.is_empty() {
        let _ = write!(
            o,
            r#"<details class="logs"><summary>{} node logs</summary>"#,
            r.node_logs.len()
        );
        for l in &r.node_logs {
            let short = l.strip_prefix(&format!("{NODES_DIR}/")).unwrap_or(l);
            let _ = write!(
                o,
                r#"<a href="{}">{}</a> "#,
                esc(&format!("{base}{}", url_path(l))),
                esc(short)
            );
        }
        o.push_str("</details>");
    }
    o.push_str("</td></tr>\n");
}

/// A run's key settings in words, from its spec: release and mode, the
/// workload, the durability settings, the faults by kind and target.
pub(crate) fn settings_in_words(t: &crate::trial::TestSpec) -> String {
    use crate::trial::NemesisPlan;
    use trial_nemesis::FaultKind as K;
    let c = &t.cluster;
    let release = c
        .kafka_version
        .clone()
        .unwrap_or_else(|| "newest 4.x".into());
    let mut w = vec![
        format!("Kafka {release} ({})", c.mode()),
        format!("{} workload", t.workload),
        format!(
            "acks={}, min.insync={}, RF {}, idempotence {}{}",
            t.acks.as_str(),
            c.min_insync_replicas,
            c.replication_factor,
            if t.idempotence { "on" } else { "off" },
            if c.unclean_leader_election {
                ", unclean election"
            } else {
                ""
            }
        ),
    ];
    let names = |v: &[trial_nemesis::Target]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    w.push(match &t.nemesis {
        NemesisPlan::Script(steps) => format!("scripted faults ({} steps)", steps.len()),
        NemesisPlan::Fixed(faults) => format!("fixed faults ({})", faults.len()),
        NemesisPlan::Generated(o) if o.kinds.is_empty() => "no faults".into(),
        NemesisPlan::Generated(o) => {
            let kinds: Vec<String> = o
                .kinds
                .iter()
                .map(|k| match k {
                    K::Partition => format!(
                        "partition ({})",
                        o.topologies
                            .iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    K::Kill => format!("kill ({})", names(&o.kill_targets)),
                    K::Pause => format!("pause ({})", names(&o.pause_targets)),
                    K::Loss => format!("loss ({})", names(&o.loss_targets)),
                    K::Clock => format!("clock ({})", names(&o.clock_targets)),
                    K::LoseUnfsynced => {
                        format!("lose-unfsynced ({})", names(&o.lose_unfsynced_targets))
                    }
                    K::PowerLoss => format!("power-loss ({})", names(&o.power_loss_targets)),
                    #[allow(unreachable_patterns)]
                    other => other.to_string(),
                })
                .collect();
            format!("faults: {}", kinds.join("; "))
        }
    });
    w.push(format!(
        "seed {}, {}",
        t.seed,
        crate::spec::format_duration(t.time_limit)
    ));
    w.join(" · ")
}

/// `20261124T153012.123Z` → `2026-11-24 15:30:12`; anything else as is.
pub(crate) fn pretty_stamp(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 15 && b[8] == b'T' && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit) {
        format!(
            "{}-{}-{} {}:{}:{}",
            &s[..4],
            &s[4..6],
            &s[6..8],
            &s[9..11],
            &s[11..13],
            &s[13..15]
        )
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_decoded_and_checked() {
        assert_eq!(safe_relative("a/b/c.log"), Some(PathBuf::from("a/b/c.log")));
        assert_eq!(safe_relative("a/b/"), Some(PathBuf::from("a/b")));
        assert_eq!(safe_relative("a%20b"), Some(PathBuf::from("a b")));
        for bad in [
            "",
            "..",
            "a/../b",
            "%2e%2e/x",
            "%2E%2E",
            "..%2f..%2fetc/passwd",
            "a%2fb",
            "a%5cb",
            "a//b",
            ".hidden",
            "a/%00",
            "a%zz",
            "a%2",
            "%ff%fe",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn stamps_are_pretty() {
        assert_eq!(pretty_stamp("20261124T153012.123Z"), "2026-11-24 15:30:12");
        assert_eq!(pretty_stamp("x"), "x");
    }

    /// The index lists a claims table above the runs (one "Runs" heading),
    /// the table's page is claims.json rendered, its run links are served,
    /// and a broken claims.json is an error page and a reason, not a crash.
    #[tokio::test]
    async fn claims_tables_are_listed_and_served() {
        use crate::report::claims::{create_claims_dir, write_claims, CLAIMS_DIR, CLAIMS_FILE};
        use crate::report::sample_run::{write_checked_sample_run, SampleRunSpec};
        use crate::trial::claims::{ClaimOptions, ClaimsDoc, Outcome, CLAIMS};
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        let store = trial_histories::Store::new(&root);
        let run = store.create_run("claim-acks-all-rf-n").unwrap();
        write_checked_sample_run(&run.path, &SampleRunSpec::default()).unwrap();
        let mut doc = ClaimsDoc::new(
            &[&CLAIMS[0]],
            "kafka-trial claims".into(),
            false,
            &ClaimOptions::new(&root),
        );
        doc.claims[0].verdict = Some(Outcome::Holds);
        doc.claims[0].observed = "nothing lost".into();
        doc.claims[0].run = Some(format!("claim-acks-all-rf-n/{}", run.timestamp));
        let dir = create_claims_dir(&root).unwrap();
        write_claims(&dir, &doc).unwrap();
        let stamp = dir.file_name().unwrap().to_string_lossy().into_owned();
        let st = Arc::new(St {
            root: root.clone(),
            renders: tokio::sync::Semaphore::new(2),
            indexes: Default::default(),
        });
        let get = |path: String| {
            let st = st.clone();
            async move {
                let r = handle(State(st), Method::GET, path.parse::<Uri>().unwrap()).await;
                let status = r.status();
                let body = axum::body::to_bytes(r.into_body(), 64 << 20).await.unwrap();
                (status, String::from_utf8_lossy(&body).into_owned())
            }
        };
        let (status, index) = get("/".into()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            index.contains(&format!(r#"data-claims="{CLAIMS_DIR}/{stamp}""#)),
            "{index}"
        );
        assert!(index.contains("1 as documented"), "{index}");
        assert_eq!(index.matches("<h2>Runs</h2>").count(), 1);
        // The claim's run is a run; the claims folder is not one.
        assert_eq!(index.matches(r#"<tr class="run""#).count(), 1);
        let (status, page) = get(format!("/runs/{CLAIMS_DIR}/{stamp}/")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains(r#"<table class="claims" id="claims">"#),
            "{page}"
        );
        let link = page
            .split(r#"class="run-link" href=""#)
            .nth(1)
            .map(|x| x[..x.find('"').unwrap()].to_string())
            .expect("the run is linked");
        let (status, report) = get(link.clone()).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        assert!(report.contains("<html"), "{link}");
        std::fs::write(dir.join(CLAIMS_FILE), "{").unwrap();
        let (status, _) = get(format!("/runs/{CLAIMS_DIR}/{stamp}/")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(get("/".into()).await.1.contains("parsing"));
    }
}
