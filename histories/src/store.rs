//! The store: `store/<test-name>/<timestamp>/` with `test.json`,
//! `history.jsonl`, `results.json`, `nodes/`, and `latest` links.

use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub const HISTORY_FILE: &str = "history.jsonl";
pub const RESULTS_FILE: &str = "results.json";
pub const TEST_FILE: &str = "test.json";
pub const NODES_DIR: &str = "nodes";
pub const LATEST: &str = "latest";
/// The folder of version matrices: `<root>/matrix/<scenario>/<timestamp>/`.
pub const MATRIX_DIR: &str = "matrix";
/// A matrix folder's document (what makes a folder a matrix).
pub const MATRIX_FILE: &str = "matrix.json";

/// A store root (default `./store`).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One run's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    pub test: String,
    pub timestamp: String,
    pub path: PathBuf,
}

impl RunDir {
    pub fn history(&self) -> PathBuf {
        self.path.join(HISTORY_FILE)
    }
    pub fn results(&self) -> PathBuf {
        self.path.join(RESULTS_FILE)
    }
    pub fn test_json(&self) -> PathBuf {
        self.path.join(TEST_FILE)
    }
    pub fn nodes(&self) -> PathBuf {
        self.path.join(NODES_DIR)
    }
    /// `nodes/<name>/`, created if missing.
    pub fn node_dir(&self, node: &str) -> io::Result<PathBuf> {
        let p = self.nodes().join(node);
        fs::create_dir_all(&p)?;
        Ok(p)
    }
    /// Write a JSON document into the run folder (atomically: temp + rename).
    pub fn write_json<T: Serialize>(&self, name: &str, v: &T) -> io::Result<()> {
        write_json_atomic(&self.path.join(name), v)
    }
}

/// Write JSON pretty-printed to `path` via a temporary file and a rename,
/// so that a reader never sees half a document.
pub fn write_json_atomic<T: Serialize>(path: &Path, v: &T) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut s = serde_json::to_vec_pretty(v).map_err(io::Error::other)?;
    s.push(b'\n');
    fs::write(&tmp, s)?;
    fs::rename(&tmp, path)
}

/// One version matrix's folder: `<root>/matrix/<scenario>/<timestamp>/`
/// (its `matrix.json` names the runs it made; the runs themselves live in
/// ordinary run folders).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixDir {
    pub scenario: String,
    pub timestamp: String,
    pub path: PathBuf,
}

impl MatrixDir {
    /// `matrix/<scenario>/<timestamp>`, relative to the store root.
    pub fn relative(&self) -> String {
        format!("{MATRIX_DIR}/{}/{}", self.scenario, self.timestamp)
    }
}

/// What `runs` lists about one run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    pub test: String,
    pub timestamp: String,
    pub path: PathBuf,
    /// `true`, `false`, `"unknown"`, or absent if never checked.
    pub verdict: Option<serde_json::Value>,
    pub ops: Option<u64>,
    /// Bytes the run folder takes (its files, node logs included).
    #[serde(default)]
    pub bytes: u64,
}

impl RunSummary {
    pub fn verdict_str(&self) -> &'static str {
        match &self.verdict {
            Some(serde_json::Value::Bool(true)) => "valid",
            Some(serde_json::Value::Bool(false)) => "INVALID",
            Some(_) => "unknown",
            None => "unchecked",
        }
    }
}

/// A timestamp for a run folder, UTC, sortable: `20261124T153012.123Z`.
pub fn timestamp_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
    );
    now.format(&fmt)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// The time a run-folder timestamp (`20261124T153012.123Z`) names.
pub fn timestamp_time(ts: &str) -> Option<std::time::SystemTime> {
    let fmt = time::macros::format_description!(
        "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
    );
    let t = time::PrimitiveDateTime::parse(ts, fmt).ok()?;
    Some(std::time::SystemTime::from(t.assume_utc()))
}

fn valid_test_name(name: &str) -> bool {
    !name.is_empty()
        && name != LATEST
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Make a new run folder for `test` and point the `latest` links at it.
    pub fn create_run(&self, test: &str) -> io::Result<RunDir> {
        if !valid_test_name(test) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("test name {test:?} must be letters, digits, '-', '_' or '.'"),
            ));
        }
        let tdir = self.root.join(test);
        fs::create_dir_all(&tdir)?;
        let mut ts = timestamp_now();
        let mut n = 1;
        while tdir.join(&ts).exists() {
            n += 1;
            ts = format!("{}-{n}", timestamp_now());
        }
        let path = tdir.join(&ts);
        fs::create_dir_all(path.join(NODES_DIR))?;
        relink(&tdir.join(LATEST), Path::new(&ts))?;
        relink(&self.root.join(LATEST), &Path::new(test).join(&ts))?;
        Ok(RunDir {
            test: test.to_string(),
            timestamp: ts,
            path,
        })
    }

    /// Make a new matrix folder for `scenario`:
    /// `<root>/matrix/<scenario>/<timestamp>/` (no `latest` links: a
    /// matrix is not a run, and `latest` means the newest run).
    pub fn create_matrix(&self, scenario: &str) -> io::Result<MatrixDir> {
        if !valid_test_name(scenario) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("scenario name {scenario:?} must be letters, digits, '-', '_' or '.'"),
            ));
        }
        let sdir = self.root.join(MATRIX_DIR).join(scenario);
        fs::create_dir_all(&sdir)?;
        let mut ts = timestamp_now();
        let mut n = 1;
        // create_dir (not _all) fails if the folder exists: two matrices
        // started in the same millisecond get different folders.
        loop {
            match fs::create_dir(sdir.join(&ts)) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    n += 1;
                    ts = format!("{}-{n}", timestamp_now());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(MatrixDir {
            scenario: scenario.to_string(),
            path: sdir.join(&ts),
            timestamp: ts,
        })
    }

    /// Every matrix folder, newest first: `<root>/matrix/<scenario>/<ts>/`
    /// holding a `matrix.json`. The same rules as [`Store::run_dirs`]
    /// (no symlinks, no hidden names; an unreadable folder is skipped).
    pub fn matrix_dirs(&self) -> io::Result<Vec<MatrixDir>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(self.root.join(MATRIX_DIR)) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for s in rd.flatten() {
            let scenario = s.file_name().to_string_lossy().to_string();
            if !real_dir(&s, &scenario) {
                continue;
            }
            let Ok(stamps) = fs::read_dir(s.path()) else {
                continue;
            };
            for m in stamps.flatten() {
                let timestamp = m.file_name().to_string_lossy().to_string();
                if !real_dir(&m, &timestamp) || !m.path().join(MATRIX_FILE).is_file() {
                    continue;
                }
                out.push(MatrixDir {
                    scenario: scenario.clone(),
                    timestamp,
                    path: m.path(),
                });
            }
        }
        out.sort_by(|a, b| {
            b.timestamp
                .cmp(&a.timestamp)
                .then(a.scenario.cmp(&b.scenario))
        });
        Ok(out)
    }

    /// Every run folder in the store, newest first: the one walk of the
    /// store (the `runs` command, `serve`'s index and `resolve` use it).
    ///
    /// A run folder is `<root>/<test>/<timestamp>/` holding a history or a
    /// `test.json`; `latest` links, other symlinks, names starting with
    /// `.` and plain files are skipped, and so is a test folder that cannot
    /// be read. A missing root is an empty store. The matrix folder
    /// (`matrix/<scenario>/<timestamp>/`, [`Store::matrix_dirs`]) is one
    /// level deeper and holds neither file at `matrix/<scenario>/`, so it
    /// is never taken for a run — while runs of a test a user named
    /// `matrix` (`matrix/<timestamp>/test.json`) still are.
    pub fn run_dirs(&self) -> io::Result<Vec<RunDir>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for t in rd.flatten() {
            let test = t.file_name().to_string_lossy().to_string();
            if !real_dir(&t, &test) {
                continue;
            }
            let Ok(runs) = fs::read_dir(t.path()) else {
                continue;
            };
            for r in runs.flatten() {
                let timestamp = r.file_name().to_string_lossy().to_string();
                if !real_dir(&r, &timestamp) {
                    continue;
                }
                let path = r.path();
                if !path.join(HISTORY_FILE).is_file() && !path.join(TEST_FILE).is_file() {
                    continue;
                }
                out.push(RunDir {
                    test: test.clone(),
                    timestamp,
                    path,
                });
            }
        }
        out.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.test.cmp(&b.test)));
        Ok(out)
    }

    /// Every run in the store, newest first, with its verdict and op count.
    pub fn list_runs(&self) -> io::Result<Vec<RunSummary>> {
        Ok(self
            .run_dirs()?
            .iter()
            .map(|r| summarise(&r.test, &r.timestamp, &r.path))
            .collect())
    }

    /// Resolve what a user typed as RUN: a path to a run folder or a history
    /// file, `latest`, `<test>` (its latest run), `<test>/<timestamp>`, or a
    /// unique timestamp prefix.
    pub fn resolve(&self, run: &str) -> io::Result<PathBuf> {
        let p = Path::new(run);
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        if p.is_dir() && p.join(HISTORY_FILE).exists() {
            return Ok(p.join(HISTORY_FILE));
        }
        let in_store = self.root.join(run);
        if in_store.join(HISTORY_FILE).exists() {
            return Ok(in_store.join(HISTORY_FILE));
        }
        if in_store.join(LATEST).join(HISTORY_FILE).exists() {
            return Ok(in_store.join(LATEST).join(HISTORY_FILE));
        }
        let runs = self.list_runs()?;
        let matches: Vec<_> = runs
            .iter()
            .filter(|r| r.timestamp.starts_with(run))
            .collect();
        match matches.len() {
            1 => Ok(matches[0].path.join(HISTORY_FILE)),
            0 => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no run or history file {run:?} (looked in {} too; `kafka-trial runs` lists runs)",
                    self.root.display()
                ),
            )),
            n => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{run:?} matches {n} runs; give more of the timestamp"),
            )),
        }
    }
}

/// A real folder of the store's walk: not a `latest` link nor any other
/// symlink, not hidden.
fn real_dir(e: &fs::DirEntry, name: &str) -> bool {
    name != LATEST
        && !name.starts_with('.')
        && e.file_type().is_ok_and(|f| f.is_dir() && !f.is_symlink())
}

fn summarise(test: &str, ts: &str, path: &Path) -> RunSummary {
    let results: Option<serde_json::Value> = fs::read(path.join(RESULTS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let verdict = results.as_ref().and_then(|r| r.get("valid").cloned());
    let ops = results
        .as_ref()
        .and_then(|r| r.get("ops").or_else(|| r.get("op_count")))
        .and_then(|v| v.as_u64())
        .or_else(|| count_lines(&path.join(HISTORY_FILE)));
    RunSummary {
        test: test.to_string(),
        timestamp: ts.to_string(),
        path: path.to_path_buf(),
        verdict,
        ops,
        bytes: dir_bytes(path),
    }
}

/// Bytes of the regular files under `path` (symlinks not followed).
pub fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

fn count_lines(p: &Path) -> Option<u64> {
    use std::io::Read;
    let mut f = fs::File::open(p).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).ok()?;
        if k == 0 {
            return Some(n);
        }
        n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

fn relink(link: &Path, target: &Path) -> io::Result<()> {
    let tmp = link.with_extension("tmp-link");
    let _ = fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_listed_newest_first_and_resolved() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path());
        let a = s.create_run("alpha").unwrap();
        fs::write(a.history(), "").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = s.create_run("beta").unwrap();
        fs::write(b.history(), "{}\n{}\n").unwrap();
        b.write_json(RESULTS_FILE, &serde_json::json!({"valid": false}))
            .unwrap();
        let runs = s.list_runs().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].test, "beta");
        assert_eq!(runs[0].verdict_str(), "INVALID");
        assert_eq!(runs[0].ops, Some(2));
        assert_eq!(runs[1].verdict_str(), "unchecked");
        assert_eq!(
            s.resolve("latest").unwrap(),
            s.root().join("latest/history.jsonl")
        );
        assert_eq!(
            fs::canonicalize(s.resolve("alpha").unwrap()).unwrap(),
            fs::canonicalize(a.history()).unwrap()
        );
        assert!(s.resolve("nope").is_err());
        assert!(s.create_run("../evil").is_err());
        assert!(b.nodes().is_dir());
    }

    #[test]
    fn matrices_are_walked_apart_from_runs() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path());
        let run = s.create_run("safe").unwrap();
        fs::write(run.history(), "{}\n").unwrap();
        let m1 = s.create_matrix("safe").unwrap();
        fs::write(m1.path.join(MATRIX_FILE), "{}").unwrap();
        let m2 = s.create_matrix("safe").unwrap();
        assert_ne!(m1.path, m2.path);
        fs::write(m2.path.join(MATRIX_FILE), "{}").unwrap();
        // A matrix folder that never got its document is not listed.
        let _m3 = s.create_matrix("acks-1-leader-kill").unwrap();
        // A user's test named `matrix`: its runs are still runs.
        let own = s.create_run(MATRIX_DIR).unwrap();
        fs::write(own.test_json(), "{}").unwrap();
        let runs = s.run_dirs().unwrap();
        let names: Vec<_> = runs.iter().map(|r| r.path.clone()).collect();
        assert_eq!(names, vec![own.path.clone(), run.path.clone()]);
        let ms = s.matrix_dirs().unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].path, m2.path);
        assert_eq!(ms[1].relative(), format!("matrix/safe/{}", m1.timestamp));
        assert!(s.create_matrix("../x").is_err());
        // `latest` still names the newest run, not a matrix.
        assert_eq!(
            fs::canonicalize(s.root().join(LATEST)).unwrap(),
            fs::canonicalize(&own.path).unwrap()
        );
    }
}
