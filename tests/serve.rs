//! `kafka-trial serve`: the index, run pages, files, path-traversal
//! refusals, partial runs, and a real headless browser loading the pages.

use kafka_trial::report::sample_run::{write_sample_run, SampleRunSpec};
use kafka_trial::report::write_run_report;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A server on 127.0.0.1 and a free port, stopped when dropped.
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(root: &Path) -> Running {
    let root = root.to_path_buf();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (atx, arx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let s = kafka_trial::report::serve::Server::bind(&root, ([127, 0, 0, 1], 0).into())
                .await
                .unwrap();
            atx.send(s.local_addr()).unwrap();
            s.run_until(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
    });
    let addr = arx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(addr.ip().is_loopback());
    Running {
        addr,
        stop: Some(tx),
        thread: Some(thread),
    }
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

/// One raw HTTP/1.1 request, path sent exactly as given (no client-side
/// normalisation of `..` or escapes), bounded in time and size.
fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.take(64 << 20).read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path)
}

/// A store with runs of two tests; returns (tempdir, store root, run paths).
fn store_with_runs() -> (tempfile::TempDir, PathBuf, Vec<PathBuf>) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("store");
    let mk = |test: &str, stamp: &str, spec: SampleRunSpec| {
        let dir = root.join(test).join(stamp);
        write_sample_run(&dir, &spec).unwrap();
        dir
    };
    let safe = mk(
        "synthetic-safe",
        "20260101T000000.000Z",
        SampleRunSpec::default(),
    );
    write_run_report(&safe).unwrap();
    let lossy = mk(
        "synthetic-lossy",
        "20260102T000000.000Z",
        SampleRunSpec {
            anomalies: true,
            hostile_text: true,
            seed: 7,
            ..Default::default()
        },
    );
    write_run_report(&lossy).unwrap();
    std::os::unix::fs::symlink("20260102T000000.000Z", root.join("synthetic-lossy/latest"))
        .unwrap();
    (d, root, vec![safe, lossy])
}

#[test]
fn index_lists_runs_newest_first_with_verdicts_and_links() {
    let (_d, root, runs) = store_with_runs();
    let s = serve(&root);
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.headers.contains("content-type: text/html"));
    assert!(r
        .headers
        .contains("content-security-policy: default-src 'none'"));
    let lossy = r
        .body
        .find(r#"data-run="synthetic-lossy/20260102T000000.000Z""#)
        .unwrap();
    let safe = r
        .body
        .find(r#"data-run="synthetic-safe/20260101T000000.000Z""#)
        .unwrap();
    assert!(lossy < safe, "newest first");
    assert!(r.body.contains(r#"<tr class="run" data-verdict="invalid""#));
    assert!(r.body.contains(r#"<tr class="run" data-verdict="valid""#));
    assert!(r.body.contains(r#"<span class="bad">lost-write ×1</span>"#));
    assert!(r.body.contains("replication-factor: <b>3</b>"));
    assert!(r.body.contains("seed: <b>7</b>"));
    assert!(
        !r.body.contains("synthetic-lossy/latest"),
        "latest links are not runs"
    );
    for href in [
        "/runs/synthetic-lossy/20260102T000000.000Z/",
        "/runs/synthetic-lossy/20260102T000000.000Z/latency-raw.png",
        "/runs/synthetic-lossy/20260102T000000.000Z/history.jsonl",
        "/runs/synthetic-lossy/20260102T000000.000Z/nodes/n2/server.log",
    ] {
        assert!(
            r.body.contains(&format!(r#"href="{href}""#)),
            "no link {href}"
        );
        let f = get(s.addr, href);
        assert_eq!(f.status, 200, "{href}");
    }
    // Files are served as they are on disk.
    let h = get(
        s.addr,
        "/runs/synthetic-safe/20260101T000000.000Z/history.jsonl",
    );
    assert_eq!(
        h.body,
        std::fs::read_to_string(runs[0].join("history.jsonl")).unwrap()
    );
    assert!(h.headers.contains("content-type: text/plain"));
    assert!(h.headers.contains("x-content-type-options: nosniff"));
    let png = request(
        s.addr,
        "HEAD",
        "/runs/synthetic-safe/20260101T000000.000Z/rate.png",
    );
    assert_eq!(png.status, 200);
    assert!(png.headers.contains("content-type: image/png"));
    // The saved report is served for a run page; a folder without a slash
    // is redirected; `latest` links inside the store are followed.
    let rep = get(s.addr, "/runs/synthetic-lossy/20260102T000000.000Z/");
    assert_eq!(
        rep.body,
        std::fs::read_to_string(runs[1].join("report.html")).unwrap()
    );
    let red = get(s.addr, "/runs/synthetic-lossy/20260102T000000.000Z");
    assert_eq!(red.status, 308);
    assert!(red
        .headers
        .contains("location: /runs/synthetic-lossy/20260102t000000.000z/"));
    assert_eq!(get(s.addr, "/runs/synthetic-lossy/latest/").status, 200);
    // A test folder gets a listing.
    let l = get(s.addr, "/runs/synthetic-lossy/");
    assert_eq!(l.status, 200);
    assert!(l.body.contains(r#"href="20260102T000000.000Z/""#));
    // Read-only.
    assert_eq!(request(s.addr, "POST", "/").status, 405);
    assert_eq!(
        request(s.addr, "DELETE", "/runs/synthetic-lossy/").status,
        405
    );
}

#[test]
fn paths_outside_the_store_are_refused() {
    let (d, root, runs) = store_with_runs();
    std::fs::write(d.path().join("secret.txt"), "TOP SECRET").unwrap();
    // Symlinks inside the store that point outside it.
    std::os::unix::fs::symlink(
        d.path().join("secret.txt"),
        runs[0].join("nodes/n1/escape.log"),
    )
    .unwrap();
    std::os::unix::fs::symlink(d.path(), root.join("escape-dir")).unwrap();
    std::os::unix::fs::symlink("/etc", runs[0].join("etc")).unwrap();
    let s = serve(&root);
    let run = "synthetic-safe/20260101T000000.000Z";
    for path in [
        "/../Cargo.toml".to_string(),
        "/../secret.txt".into(),
        "/runs/../secret.txt".into(),
        "/runs/../../Cargo.toml".into(),
        "/%2e%2e/secret.txt".into(),
        "/runs/%2e%2e/secret.txt".into(),
        "/runs/%2E%2E/%2E%2E/etc/passwd".into(),
        "/runs/..%2f..%2fetc/passwd".into(),
        "/runs/..%2fsecret.txt".into(),
        "/runs/%2e%2e%2fsecret.txt".into(),
        "/runs/synthetic-safe/..%5c..%5csecret.txt".into(),
        "/runs/synthetic-safe/%2e%2e/%2e%2e/secret.txt".into(),
        "/runs//etc/passwd".into(),
        "/runs/%2fetc%2fpasswd".into(),
        format!("/runs/{run}/nodes/n1/escape.log"),
        format!("/runs/{run}/etc/passwd"),
        "/runs/escape-dir/secret.txt".into(),
        "/runs/escape-dir/".into(),
        format!("/runs/{run}/.report.html.tmp"),
        format!("/runs/{run}/%00"),
        "/etc/passwd".into(),
    ] {
        let r = get(s.addr, &path);
        assert_eq!(r.status, 404, "{path} answered {}: {}", r.status, r.body);
        assert!(
            !r.body.contains("TOP SECRET") && !r.body.contains("root:"),
            "{path}"
        );
    }
    // Listings do not offer the escaping links either.
    let l = get(s.addr, &format!("/runs/{run}/nodes/n1/"));
    assert_eq!(l.status, 200);
    assert!(l.body.contains("server.log") && !l.body.contains("escape.log"));
    assert!(!get(s.addr, "/").body.contains("escape-dir"));
}

/// A store with two runs checked by the real checkers and a matrix over
/// them in `matrix/safe/<ts>/`.
fn store_with_a_matrix() -> (tempfile::TempDir, PathBuf, trial_histories::MatrixDir) {
    use kafka_trial::report::sample_run::write_checked_sample_run;
    use kafka_trial::trial::matrix::{cells, parse_versions, CellResult, Matrix, MatrixStatus};
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("store");
    let store = trial_histories::Store::new(&root);
    let versions = parse_versions("4.4.0,3.9.1:zookeeper").unwrap();
    let mut m = Matrix::new(
        "safe",
        "kafka-trial matrix safe --versions 4.4.0,3.9.1:zookeeper".into(),
        versions.clone(),
        vec![1],
        vec![],
        None,
    );
    for (i, c) in cells(&versions, &[1], &[]).into_iter().enumerate() {
        let run = store.create_run("safe").unwrap();
        write_checked_sample_run(
            &run.path,
            &SampleRunSpec {
                anomalies: i == 1,
                observer: true,
                ..Default::default()
            },
        )
        .unwrap();
        let rel = format!("safe/{}", run.timestamp);
        m.cells[i] = CellResult::from_run_dir(c, &run.path, Some(rel)).unwrap();
        std::thread::sleep(Duration::from_millis(3));
    }
    m.status = MatrixStatus::Complete;
    m.refresh();
    let dir = store.create_matrix("safe").unwrap();
    kafka_trial::report::matrix::write_matrix(&dir.path, &m).unwrap();
    (d, root, dir)
}

#[test]
fn matrices_are_listed_and_served_inside_the_store_only() {
    let (d, root, dir) = store_with_a_matrix();
    std::fs::write(d.path().join("secret.txt"), "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(d.path().join("secret.txt"), dir.path.join("leak.html")).unwrap();
    std::os::unix::fs::symlink(d.path(), root.join("matrix/safe/escape")).unwrap();
    let s = serve(&root);
    let index = get(s.addr, "/");
    assert_eq!(index.status, 200);
    let rel = dir.relative();
    assert!(
        index.body.contains(&format!(r#"data-matrix="{rel}""#)),
        "{}",
        index.body
    );
    assert!(index.body.contains("1 valid, 1 INVALID"), "{}", index.body);
    assert!(index.body.contains("4.4.0:kraft, 3.9.1:zookeeper"));
    // The runs are listed as runs; the matrix folder is not one.
    assert_eq!(index.body.matches(r#"<tr class="run""#).count(), 2);
    assert!(!index.body.contains(r#"data-run="matrix/"#));
    let page = get(s.addr, &format!("/runs/{rel}/"));
    assert_eq!(page.status, 200);
    assert!(page
        .headers
        .contains("content-security-policy: default-src 'none'"));
    assert!(page.body.contains(r#"<table class="matrix" id="cells">"#));
    let saved = get(s.addr, &format!("/runs/{rel}/matrix.html"));
    assert_eq!(saved.status, 200);
    assert!(saved.headers.contains("content-type: text/html"));
    assert_eq!(saved.body, page.body, "the page is matrix.json rendered");
    assert_eq!(get(s.addr, &format!("/runs/{rel}/matrix.json")).status, 200);
    // Every run the matrix links to is served.
    let links: Vec<&str> = page
        .body
        .split(r#"class="run-link" href=""#)
        .skip(1)
        .map(|x| &x[..x.find('"').unwrap()])
        .collect();
    assert_eq!(links.len(), 2);
    for l in links {
        let r = get(s.addr, l);
        assert_eq!(r.status, 200, "{l}");
        assert!(r.body.contains("<html"), "{l}");
    }
    for path in [
        format!("/runs/{rel}/leak.html"),
        "/runs/matrix/safe/escape/secret.txt".into(),
        format!("/runs/{rel}/%2e%2e/%2e%2e/%2e%2e/../secret.txt"),
        "/runs/matrix/..%2f..%2fsecret.txt".into(),
        format!("/runs/{rel}/.matrix.html.tmp"),
    ] {
        let r = get(s.addr, &path);
        assert_eq!(r.status, 404, "{path} answered {}", r.status);
        assert!(!r.body.contains("TOP SECRET"), "{path}");
    }
    // A matrix.json that cannot be read is an error page, not a crash, and
    // the index says why.
    std::fs::write(dir.path.join("matrix.json"), "{").unwrap();
    assert_eq!(get(s.addr, &format!("/runs/{rel}/")).status, 500);
    assert!(get(s.addr, "/").body.contains("parsing"));
}

#[test]
fn runs_being_written_are_shown_without_a_verdict() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("store");
    let dir = root.join("in-progress").join("20260103T000000.000Z");
    write_sample_run(
        &dir,
        &SampleRunSpec {
            results: false,
            ops: 400,
            ..Default::default()
        },
    )
    .unwrap();
    // The writer is mid-line.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("history.jsonl"))
        .unwrap();
    f.write_all(br#"{"index":9999,"time":99,"proc"#).unwrap();
    // Another run whose results.json is half written, one with only test.json.
    let half = root.join("half").join("20260104T000000.000Z");
    write_sample_run(&half, &SampleRunSpec::default()).unwrap();
    std::fs::write(half.join("results.json"), r#"{"valid": tr"#).unwrap();
    let bare = root.join("bare").join("20260105T000000.000Z");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(bare.join("test.json"), "{\"name\": \"bare\"").unwrap();

    let s = serve(&root);
    let idx = get(s.addr, "/");
    assert_eq!(idx.status, 200);
    assert!(idx
        .body
        .contains(r#"data-run="in-progress/20260103T000000.000Z""#));
    assert!(idx
        .body
        .contains(r#"<span class="verdict running">running</span>"#));
    assert!(
        idx.body.contains(r#"http-equiv="refresh""#),
        "a running run refreshes the index"
    );
    assert!(idx.body.contains(r#"data-run="half/20260104T000000.000Z""#));
    assert!(idx.body.contains(r#"data-run="bare/20260105T000000.000Z""#));
    // The run page is rendered on demand, and nothing is written.
    for run in [
        "in-progress/20260103T000000.000Z",
        "half/20260104T000000.000Z",
        "bare/20260105T000000.000Z",
    ] {
        let r = get(s.addr, &format!("/runs/{run}/"));
        assert_eq!(r.status, 200, "{run}: {}", r.body);
        assert!(
            r.body.contains(r#"data-verdict="pending">no verdict yet<"#),
            "{run}"
        );
        assert!(r.body.contains("rendered now"), "{run}");
        assert!(
            !root.join(run).join("report.html").exists(),
            "{run}: serve wrote"
        );
    }
    assert_eq!(
        get(s.addr, "/runs/half/20260104T000000.000Z/results.json").status,
        200
    );
}

// ---------------------------------------------------------------- browser

fn chromium() -> Option<PathBuf> {
    for c in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        if let Some(p) = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(c))
                .find(|p| p.is_file())
        }) {
            return Some(p);
        }
    }
    None
}

/// Where screenshots are kept: `target/test-artifacts/`.
fn artifacts() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    let d = target.join("test-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run headless chromium with `args` and a fresh profile, killed (with its
/// children) after 60 s. Returns stdout.
fn run_chromium(bin: &Path, args: &[String]) -> String {
    use std::os::unix::process::CommandExt;
    let profile = tempfile::tempdir().unwrap();
    let out_path = profile.path().join("stdout");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .args(args)
        .stdout(out)
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            // The whole process group: chromium's helpers too.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read_to_string(out_path).unwrap()
}

#[test]
fn a_real_browser_shows_the_index_and_a_report() {
    let Some(bin) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI is set: .ci/setup installs it");
        }
        eprintln!("\n\n!!!!! SKIPPED: no chromium on PATH; the browser test of `serve` did not run !!!!!\n\n");
        return;
    };
    let (_d, root, _runs) = store_with_runs();
    let s = serve(&root);
    let base = format!("http://{}", s.addr);
    let art = artifacts();

    // The index: the run list and the verdicts.
    let dom = run_chromium(&bin, &["--dump-dom".into(), format!("{base}/")]);
    assert!(
        dom.contains(r#"id="runs""#),
        "no run list in the DOM: {dom}"
    );
    assert_eq!(dom.matches(r#"<tr class="run""#).count(), 2);
    assert!(dom.contains(r#"<span class="verdict invalid">INVALID</span>"#));
    assert!(dom.contains(r#"<span class="verdict valid">valid</span>"#));
    assert!(dom.contains("synthetic-lossy") && dom.contains("synthetic-safe"));
    run_chromium(
        &bin,
        &[
            format!("--screenshot={}", art.join("serve-index.png").display()),
            "--window-size=1400,1000".into(),
            format!("{base}/"),
        ],
    );
    assert!(art.join("serve-index.png").is_file());

    // A report: the script ran (it marks the body), drew the op table's
    // first page, and the hostile text stayed text.
    let url = format!("{base}/runs/synthetic-lossy/20260102T000000.000Z/");
    let dom = run_chromium(&bin, &["--dump-dom".into(), url.clone()]);
    assert!(
        dom.contains(r#"data-ready="1""#),
        "the report's script did not finish"
    );
    assert!(dom.contains(r#"data-verdict="invalid">INVALID<"#));
    assert!(dom.contains(r#"id="anomaly-lost-write""#));
    assert!(dom.contains(r#"id="anomaly-duplicate""#));
    assert_eq!(
        dom.matches(r#"<tr id="row-"#).count(),
        100,
        "first page of the op table"
    );
    assert!(dom.contains("page 1 of "));
    assert!(!dom.contains("data-pwned"), "hostile markup ran");
    assert!(dom.contains("&lt;script&gt;document.documentElement.dataset.pwned=1&lt;/script&gt;"));
    assert!(dom.contains(r#"<canvas id="tl-canvas""#));
    // An op link jumps to its row in the table (rendered by the script).
    let dom = run_chromium(&bin, &["--dump-dom".into(), format!("{url}#row-250")]);
    assert!(
        dom.contains(r#"<tr id="row-"#) && dom.contains(r#"class="hl""#),
        "no highlighted row"
    );
    // A timeline link selects the op and zooms to it.
    let dom = run_chromium(&bin, &["--dump-dom".into(), format!("{url}#t-250")]);
    assert!(dom.contains("show in the op table"), "no op selected");
    let range = dom
        .split(r#"<span id="tl-range" class="muted">"#)
        .nth(1)
        .unwrap();
    assert!(
        !range.starts_with("0.000–"),
        "the timeline did not zoom: {}",
        &range[..40]
    );
    for (name, size, frag) in [
        ("report-top.png", "1400,1000", ""),
        ("report-full.png", "1400,6500", ""),
        ("report-linked-op.png", "1400,6500", "#t-250"),
    ] {
        run_chromium(
            &bin,
            &[
                format!("--screenshot={}", art.join(name).display()),
                format!("--window-size={size}"),
                format!("{url}{frag}"),
            ],
        );
        assert!(art.join(name).is_file());
    }
    eprintln!("screenshots in {}", art.display());
}

// ------------------------------------------------------- reports at any size

/// The JSON embedded in a report for its timeline.
fn embedded(html: &str) -> serde_json::Value {
    let start = r#"<script type="application/json" id="kt-data">"#;
    let i = html.find(start).expect("embedded data") + start.len();
    let j = i + html[i..].find("</script>").unwrap();
    serde_json::from_str(&html[i..j]).expect("embedded data is JSON")
}

/// `GET` a JSON answer.
fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let r = get(addr, path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    assert!(r.headers.contains("content-type: application/json"));
    serde_json::from_str(&r.body).unwrap()
}

/// A long run in a store: the report is drawn from aggregates (small),
/// `_ops` answers range queries through the index exactly as the history
/// holds them, and a real browser loads it, fetching the op table's page
/// and the zoomed window's ops from serve.
#[test]
fn a_long_run_is_aggregated_and_its_detail_is_served() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("store");
    let rel = "synthetic-lossy/20260105T000000.000Z";
    let dir = root.join(rel);
    let run = write_sample_run(
        &dir,
        &SampleRunSpec {
            ops: 200_000,
            workers: 20,
            duration_s: 200.0,
            anomalies: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(run.op_count >= 200_000);
    let files = write_run_report(&dir).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    let size = html.len();
    assert!(size < 8 << 20, "report is {size} bytes");
    assert!(dir.join("history.idx").is_file(), "no index");
    let data = embedded(&html);
    assert_eq!(data["agg"], true);
    assert_eq!(data["total"].as_u64(), Some(run.op_count));
    let ops = data["ops"].as_array().unwrap();
    // Runs of ops cover every op of the history once.
    let covered: u64 = ops
        .iter()
        .map(|o| o.get(9).and_then(|n| n.as_u64()).unwrap_or(0))
        .sum();
    // (an op is an invocation and its completion: two lines)
    assert!(
        covered * 2 >= run.op_count - 10 && covered <= run.op_count,
        "{covered} ops in runs of {} lines",
        run.op_count
    );
    assert!(
        ops.len() < 200_000 / 4,
        "{} rows: not aggregated",
        ops.len()
    );
    // The ops anomalies name are kept whole (rows without a run count).
    for op in &run.lost_write_ops[..2] {
        assert!(
            ops.iter()
                .any(|o| o.as_array().unwrap().len() == 9 && (o[5] == *op || o[6] == *op)),
            "op {op} of the lost write is not kept exactly"
        );
        assert!(html.contains(&format!(r#"id="op-{op}""#)));
    }
    assert!(html.contains("Open this report with <code>kafka-trial serve</code> for every op"));

    let s = serve(&root);
    // A page by op index: exactly the history's lines.
    let lines: Vec<String> = std::fs::read_to_string(dir.join("history.jsonl"))
        .unwrap()
        .lines()
        .skip(123_456)
        .take(50)
        .map(str::to_string)
        .collect();
    let v = get_json(s.addr, &format!("/runs/{rel}/_ops?first=123456&count=50"));
    assert_eq!(v["total"].as_u64(), Some(run.op_count));
    let got = v["lines"].as_array().unwrap();
    assert_eq!(got.len(), 50);
    for (row, line) in got.iter().zip(&lines) {
        let op: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row[0], op["index"]);
        assert_eq!(
            row[1].as_u64().unwrap(),
            op["time"].as_u64().unwrap() / 1000
        );
        assert_eq!(row[3], op["type"]);
        assert_eq!(row[4], op["f"]);
    }
    // A time window: every completed op that overlaps it, and no other.
    let (t0, t1) = (50_000_000u64, 50_200_000u64); // µs: 50 s .. 50.2 s
    let v = get_json(s.addr, &format!("/runs/{rel}/_ops?t0={t0}&t1={t1}"));
    let mut got: Vec<u64> = v["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o[6].as_i64() != Some(-1))
        .map(|o| o[6].as_u64().unwrap())
        .collect();
    got.sort();
    let (mut want, mut inner) = (Vec::new(), Vec::new());
    let mut open: std::collections::HashMap<String, u64> = Default::default();
    for line in std::fs::read_to_string(dir.join("history.jsonl"))
        .unwrap()
        .lines()
    {
        let op: serde_json::Value = serde_json::from_str(line).unwrap();
        let (p, t) = (
            op["process"].to_string(),
            op["time"].as_u64().unwrap() / 1000,
        );
        if op["type"] == "invoke" {
            open.insert(p, t);
        } else {
            let start = open.remove(&p).unwrap_or(t);
            if start <= t1 && t >= t0 {
                want.push(op["index"].as_u64().unwrap());
            }
            if (t0..=t1).contains(&start) || (t0..=t1).contains(&t) {
                inner.push(op["index"].as_u64().unwrap());
            }
        }
    }
    assert!(!inner.is_empty());
    // Every op invoked or completed in the window, nothing outside it; an
    // op spanning the whole window is listed when its invocation or its
    // completion is among the lines read (see report::detail).
    assert!(
        inner.iter().all(|i| got.contains(i)),
        "missing: {inner:?} vs {got:?}"
    );
    assert!(
        got.iter().all(|i| want.contains(i)),
        "extra: {got:?} vs {want:?}"
    );
    // Bad queries are refused with a reason; paths stay checked.
    assert_eq!(get(s.addr, &format!("/runs/{rel}/_ops?x=1")).status, 400);
    assert_eq!(get(s.addr, "/runs/../_ops?first=0").status, 404);
    assert_eq!(get(s.addr, "/runs/nope/_ops?first=0").status, 404);

    let Some(bin) = chromium() else {
        eprintln!("\n\n!!!!! SKIPPED: no chromium on PATH; the browser part did not run !!!!!\n\n");
        return;
    };
    // Served: the op table's first page comes from `_ops`; zoomed to 1 s,
    // the timeline fetches every op of the window.
    let url = format!("http://{}/runs/{rel}/", s.addr);
    let t = Instant::now();
    let dom = run_chromium(
        &bin,
        &[
            "--virtual-time-budget=10000".into(),
            "--dump-dom".into(),
            url.clone(),
        ],
    );
    eprintln!("{size} bytes, loaded in {:.2} s", t.elapsed().as_secs_f64());
    assert!(
        dom.contains(r#"data-ready="1""#),
        "the report's script did not finish"
    );
    assert!(
        dom.contains(r#"data-table="0""#),
        "the op table page was not fetched"
    );
    assert_eq!(dom.matches(r#"<tr id="row-"#).count(), 100);
    let dom = run_chromium(
        &bin,
        &[
            "--virtual-time-budget=10000".into(),
            "--dump-dom".into(),
            format!("{url}#t-{}", run.lost_write_ops[0]),
        ],
    );
    let n: usize = dom
        .split(r#"data-detail=""#)
        .nth(1)
        .and_then(|r| r[..r.find('"')?].parse().ok())
        .expect("the zoomed timeline did not fetch its ops");
    assert!(n > 0);
    run_chromium(
        &bin,
        &[
            format!(
                "--screenshot={}",
                artifacts().join("report-200k.png").display()
            ),
            "--window-size=1400,2000".into(),
            "--virtual-time-budget=10000".into(),
            format!("{url}#t-{}", run.lost_write_ops[0]),
        ],
    );
    // As a file: aggregates, and the page says where the detail is.
    let dom = run_chromium(
        &bin,
        &[
            "--dump-dom".into(),
            format!("file://{}", files.html.display()),
        ],
    );
    assert!(dom.contains(r#"data-ready="1""#));
    assert!(dom.contains("open this report with kafka-trial serve for every op"));
}

/// The 10 M-op run of issue 17: report size, render time, and the browser
/// loading it within 5 s. Takes minutes and ~1.3 GB of disk:
///
/// ```sh
/// KT_BIG_RUN=/work/tmp17/report/store/big/10m cargo test --release -p kafka-trial --test serve -- --ignored --nocapture ten_million
/// ```
/// (`KT_BIG_RUN` keeps the run; generated once with `report_sample`.)
#[test]
#[ignore]
fn ten_million_op_report_opens_within_5_s() {
    let Some(bin) = chromium() else {
        panic!("no chromium on PATH");
    };
    let d = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("KT_BIG_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|| d.path().join("store/big/10m"));
    if !dir.join("history.jsonl").is_file() {
        write_sample_run(
            &dir,
            &SampleRunSpec {
                ops: 10_000_000,
                workers: 50,
                duration_s: 1200.0,
                anomalies: true,
                ..Default::default()
            },
        )
        .unwrap();
    }
    let t = Instant::now();
    let files = write_run_report(&dir).unwrap();
    let size = std::fs::metadata(&files.html).unwrap().len();
    eprintln!(
        "write_run_report: {:.1} s, report {size} bytes",
        t.elapsed().as_secs_f64()
    );
    assert!(size <= 25 << 20);
    let t = Instant::now();
    let dom = run_chromium(
        &bin,
        &[
            "--dump-dom".into(),
            format!("file://{}", files.html.display()),
        ],
    );
    let took = t.elapsed();
    eprintln!(
        "headless chromium, load + script + DOM dump: {:.2} s",
        took.as_secs_f64()
    );
    assert!(dom.contains(r#"data-ready="1""#));
    assert!(took <= Duration::from_secs(5), "{took:?}");
}
