//! The store's upkeep: what its runs weigh, which of them `runs --prune`
//! removes (and which it must keep: a running trial's, those a matrix or
//! claims page links), and the free space a trial of a given length
//! needs before it starts.
//!
//! Nothing here deletes without being told: [`plan`] says what a prune
//! would do; [`apply`] does it.

use crate::owner::{run_state, RunState};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use trial_histories::{RunSummary, Store};

/// What a trial writes per minute of its time limit, node logs included:
/// measured at 7.4 MB for a 60-second 3-node `safe` run (issue 30), so 8.
pub const BYTES_PER_TRIAL_MINUTE: u64 = 8_000_000;

/// The bytes a trial of `time_limit` needs in the store (a minute's worth
/// for the cluster's start, heal and final reads besides).
pub fn bytes_needed(time_limit: Duration) -> u64 {
    let minutes = time_limit.as_secs_f64() / 60.0 + 1.0;
    (minutes * BYTES_PER_TRIAL_MINUTE as f64).ceil() as u64
}

/// Free bytes for an unprivileged writer on the filesystem of `path` (the
/// nearest existing folder of it).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let mut p = path.to_path_buf();
    while !p.exists() {
        p = p.parent()?.to_path_buf();
        if p.as_os_str().is_empty() {
            p = PathBuf::from(".");
        }
    }
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a struct of the right type.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

/// The warning to give before a trial of `time_limit` when the store's
/// filesystem has `free` bytes, or `None` when that is enough.
pub fn space_warning(store: &Path, free: u64, time_limit: Duration) -> Option<String> {
    let need = bytes_needed(time_limit);
    (free < need).then(|| {
        format!(
            "the store {} has {} free, and a trial of {} needs about {} (~{} per trial-minute, \
             node logs included): it may stop with a full disk. `kafka-trial runs --prune \
             --keep N` frees space.",
            store.display(),
            crate::cli::history::human_bytes(free),
            humantime(time_limit),
            crate::cli::history::human_bytes(need),
            crate::cli::history::human_bytes(BYTES_PER_TRIAL_MINUTE),
        )
    })
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    let (m, rest) = (s / 60, s % 60);
    if m > 0 && rest == 0 {
        format!("{m} min")
    } else {
        format!("{s} s")
    }
}

/// Parse an age: `30m`, `12h`, `7d`, `2w`, `90s`.
pub fn parse_age(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .with_context(|| format!("{s:?} is not an age such as 30m, 12h, 7d or 2w"))?;
    let secs = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("{s:?}: unit {unit:?}; expected s, m, h, d or w (30m, 12h, 7d, 2w)"),
    };
    Ok(Duration::from_secs(n * secs))
}

/// Which runs a prune removes.
#[derive(Debug, Clone, Default)]
pub struct PruneRules {
    /// Keep the newest `keep` runs of each test.
    pub keep: Option<usize>,
    /// Only runs older than this.
    pub older_than: Option<Duration>,
    /// Only runs whose verdict is valid (keep every anomaly, unknown and
    /// unchecked run).
    pub only_valid: bool,
    /// Remove runs a matrix or claims page links too (their links break).
    pub include_linked: bool,
}

/// One run a prune looked at and what it decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub run: RunSummary,
    /// `<test>/<timestamp>`.
    pub name: String,
    /// Remove it?
    pub remove: bool,
    /// Why it is kept (or, when removed, what will break).
    pub why: String,
    /// The pages that link it (`matrix/safe/<ts>/matrix.json`, …).
    pub linked_by: Vec<String>,
}

/// The prune's plan: every run, newest first, each with its decision.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub decisions: Vec<Decision>,
}

impl Plan {
    pub fn removed(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.remove)
    }
    pub fn bytes_freed(&self) -> u64 {
        self.removed().map(|d| d.run.bytes).sum()
    }
}

/// The folders beside the runs whose documents link runs.
const LINKING_DIRS: &[&str] = &["matrix", "claims", "shrink"];

/// Every `<test>/<timestamp>` a matrix, claims or shrink document of the
/// store names, with the documents naming it.
pub fn linked_runs(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for dir in LINKING_DIRS {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    let Ok(b) = std::fs::read(&p) else { continue };
                    let Ok(v) = serde_json::from_slice::<Value>(&b) else {
                        continue;
                    };
                    let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
                    let mut names = BTreeSet::new();
                    strings(&v, &mut names);
                    for n in names {
                        out.entry(n).or_default().push(rel.clone());
                    }
                }
            }
        }
    }
    out
}

/// Every string in a JSON value (a run is named by its relative path
/// wherever a document puts it: `run`, a link, a list).
fn strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.trim_end_matches('/').to_string());
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The age of a run: from its timestamp (`20261124T153012.123Z`), else
/// its folder's modification time.
fn age(run: &RunSummary, now: SystemTime) -> Option<Duration> {
    let t = trial_histories::store::timestamp_time(&run.timestamp)
        .or_else(|| std::fs::metadata(&run.path).and_then(|m| m.modified()).ok())?;
    now.duration_since(t).ok()
}

/// Decide, for every run of `store`, whether a prune by `rules` removes
/// it. Never: a run whose controller still runs; a run a matrix, claims
/// or shrink page links (unless `include_linked`, and then it says so).
/// At least one of `keep` and `older_than` must be given.
pub fn plan(store: &Store, rules: &PruneRules, now: SystemTime) -> Result<Plan> {
    if rules.keep.is_none() && rules.older_than.is_none() {
        bail!(
            "--prune needs --keep N or --older-than AGE (or both): which runs to keep is \
             never guessed"
        );
    }
    let runs = store
        .list_runs()
        .with_context(|| format!("reading the store {}", store.root().display()))?;
    let linked = linked_runs(store.root());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut decisions = Vec::new();
    for r in runs {
        // Newest first: the first `keep` of each test stay.
        let nth = seen.entry(r.test.clone()).or_insert(0);
        *nth += 1;
        let name = format!("{}/{}", r.test, r.timestamp);
        let linked_by = linked.get(&name).cloned().unwrap_or_default();
        let state = run_state(&r.path);
        let keep_why = if matches!(state, RunState::Running(_)) {
            Some("running".to_string())
        } else if rules.keep.is_some_and(|k| *nth <= k) {
            Some(format!(
                "among the {} newest of {}",
                rules.keep.unwrap_or(0),
                r.test
            ))
        } else if rules
            .older_than
            .is_some_and(|d| age(&r, now).is_none_or(|a| a < d))
        {
            Some("not old enough".to_string())
        } else if rules.only_valid && r.verdict != Some(Value::Bool(true)) {
            Some(format!(
                "not valid ({})",
                state.word().unwrap_or(r.verdict_str())
            ))
        } else if !linked_by.is_empty() && !rules.include_linked {
            Some(format!(
                "linked by {} (--include-linked removes it)",
                linked_by.join(", ")
            ))
        } else {
            None
        };
        let (remove, why) = match keep_why {
            Some(w) => (false, w),
            None if !linked_by.is_empty() => (
                true,
                format!("its link from {} will break", linked_by.join(", ")),
            ),
            None => (true, String::new()),
        };
        decisions.push(Decision {
            run: r,
            name,
            remove,
            why,
            linked_by,
        });
    }
    Ok(Plan { decisions })
}

/// Remove the runs the plan removes; then every `latest` link that
/// pointed at one points at its test's newest run left (or goes), and a
/// test folder left empty goes. Returns the bytes freed.
pub fn apply(store: &Store, plan: &Plan) -> Result<u64> {
    let mut freed = 0;
    let mut tests = BTreeSet::new();
    for d in plan.removed() {
        std::fs::remove_dir_all(&d.run.path)
            .with_context(|| format!("removing {}", d.run.path.display()))?;
        freed += d.run.bytes;
        tests.insert(d.run.test.clone());
    }
    for t in tests {
        let dir = store.root().join(&t);
        let latest = dir.join(trial_histories::store::LATEST);
        let left: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|f| f.is_dir() && !f.is_symlink()))
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        if latest.symlink_metadata().is_ok() && !latest.exists() {
            let _ = std::fs::remove_file(&latest);
            if let Some(newest) = left.iter().max() {
                #[cfg(unix)]
                let _ = std::os::unix::fs::symlink(newest, &latest);
            }
        }
        if left.is_empty() {
            let _ = std::fs::remove_file(&latest);
            let _ = std::fs::remove_dir(&dir);
        }
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake run folder: test.json, a history of `ops` lines, results
    /// with `valid` (none: unchecked), and `pad` bytes of node logs.
    fn fake_run(root: &Path, test: &str, ts: &str, valid: Option<bool>, pad: usize) -> PathBuf {
        let p = root.join(test).join(ts);
        std::fs::create_dir_all(p.join("nodes/n1")).unwrap();
        std::fs::write(p.join("test.json"), "{}").unwrap();
        std::fs::write(p.join("history.jsonl"), "{}\n{}\n").unwrap();
        if let Some(v) = valid {
            std::fs::write(p.join("results.json"), format!(r#"{{"valid": {v}}}"#)).unwrap();
        }
        std::fs::write(p.join("nodes/n1/server.log"), vec![b'x'; pad]).unwrap();
        let latest = root.join(test).join("latest");
        let _ = std::fs::remove_file(&latest);
        std::os::unix::fs::symlink(ts, &latest).unwrap();
        p
    }

    fn now() -> SystemTime {
        // 2026-12-10T00:00:00Z
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_860_800)
    }

    fn removed(p: &Plan) -> Vec<&str> {
        p.removed().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn keep_older_than_only_valid_and_links() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        // safe: five runs, one day apart (Dec 1..5), the 2nd one INVALID.
        for (i, v) in [Some(true), Some(false), Some(true), Some(true), Some(true)]
            .into_iter()
            .enumerate()
        {
            fake_run(
                root,
                "safe",
                &format!("2026120{}T120000.000Z", i + 1),
                v,
                1000,
            );
        }
        fake_run(root, "kill", "20261101T000000.000Z", None, 5000);
        // A matrix links safe's first run; a claims page the kill run.
        let m = root.join("matrix/safe/20261201T130000.000Z");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(
            m.join("matrix.json"),
            r#"{"cells": [{"run": "safe/20261201T120000.000Z"}]}"#,
        )
        .unwrap();
        let c = root.join("claims/20261102T000000.000Z");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(
            c.join("claims.json"),
            r#"{"claims": [{"run": "kill/20261101T000000.000Z"}]}"#,
        )
        .unwrap();
        let store = Store::new(root);

        // Nothing to go by: refused.
        assert!(plan(&store, &PruneRules::default(), now()).is_err());

        // Keep 2 of each: safe's three oldest go, except the linked one;
        // kill's only run stays.
        let rules = PruneRules {
            keep: Some(2),
            ..Default::default()
        };
        let p = plan(&store, &rules, now()).unwrap();
        assert_eq!(
            removed(&p),
            ["safe/20261203T120000.000Z", "safe/20261202T120000.000Z"]
        );
        let linked = p
            .decisions
            .iter()
            .find(|d| d.name == "safe/20261201T120000.000Z")
            .unwrap();
        assert!(!linked.remove);
        assert!(linked
            .why
            .contains("matrix/safe/20261201T130000.000Z/matrix.json"));
        assert!(p.bytes_freed() > 2000, "{}", p.bytes_freed());

        // Only valid ones: the INVALID run stays.
        let p = plan(
            &store,
            &PruneRules {
                only_valid: true,
                ..rules.clone()
            },
            now(),
        )
        .unwrap();
        assert_eq!(removed(&p), ["safe/20261203T120000.000Z"]);

        // Older than 7 days (now is Dec 10): safe's Dec 1 and 2 runs and
        // kill's; with the linked ones included, each says what breaks.
        let p = plan(
            &store,
            &PruneRules {
                older_than: Some(parse_age("7d").unwrap()),
                include_linked: true,
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        assert_eq!(
            removed(&p),
            [
                "safe/20261202T120000.000Z",
                "safe/20261201T120000.000Z",
                "kill/20261101T000000.000Z"
            ]
        );
        let k = p.removed().last().unwrap();
        assert!(
            k.why.contains("claims/20261102T000000.000Z/claims.json"),
            "{}",
            k.why
        );

        // Applied: the folders go, `latest` of kill (its only run) goes
        // with the test folder; safe's latest still points at Dec 5.
        let freed = apply(&store, &p).unwrap();
        assert_eq!(freed, p.bytes_freed());
        assert!(!root.join("kill").exists());
        assert!(!root.join("safe/20261201T120000.000Z").exists());
        assert!(root.join("safe/20261203T120000.000Z").exists());
        assert_eq!(
            std::fs::read_link(root.join("safe/latest")).unwrap(),
            PathBuf::from("20261205T120000.000Z")
        );
        let left: Vec<String> = store
            .list_runs()
            .unwrap()
            .into_iter()
            .map(|r| r.timestamp)
            .collect();
        assert_eq!(left.len(), 3, "{left:?}");
    }

    /// A run whose latest link pointed at a removed run is relinked to
    /// the newest left; a running run is never removed.
    #[test]
    fn latest_is_relinked_and_a_running_run_is_kept() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fake_run(root, "t", "20261201T000000.000Z", Some(true), 10);
        let running = fake_run(root, "t", "20261202T000000.000Z", None, 10);
        let _lock = crate::owner::RunLock::take(&running).unwrap();
        fake_run(root, "t", "20261203T000000.000Z", Some(true), 10);
        let store = Store::new(root);
        let p = plan(
            &store,
            &PruneRules {
                older_than: Some(Duration::from_secs(1)),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        assert_eq!(
            removed(&p),
            ["t/20261203T000000.000Z", "t/20261201T000000.000Z"]
        );
        let r = p
            .decisions
            .iter()
            .find(|d| d.name == "t/20261202T000000.000Z")
            .unwrap();
        assert_eq!((r.remove, r.why.as_str()), (false, "running"));
        apply(&store, &p).unwrap();
        assert_eq!(
            std::fs::read_link(root.join("t/latest")).unwrap(),
            PathBuf::from("20261202T000000.000Z")
        );
    }

    #[test]
    fn space_needed_and_the_warning() {
        assert_eq!(bytes_needed(Duration::from_secs(60)), 16_000_000);
        assert_eq!(bytes_needed(Duration::from_secs(3600)), 488_000_000);
        let w = space_warning(Path::new("/s"), 10_000_000, Duration::from_secs(600)).unwrap();
        assert!(
            w.contains("10.0 MB free") && w.contains("10 min needs about 88.0 MB"),
            "{w}"
        );
        assert!(space_warning(Path::new("/s"), 1 << 40, Duration::from_secs(600)).is_none());
        let d = tempfile::tempdir().unwrap();
        assert!(free_bytes(&d.path().join("not/yet")).unwrap() > 0);
        assert_eq!(parse_age("36h").unwrap(), Duration::from_secs(36 * 3600));
        assert!(parse_age("3y").is_err() && parse_age("d").is_err());
    }
}
