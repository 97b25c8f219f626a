//! `--repeat N`: one spec run N times, each on a fresh cluster, and how
//! often its verdict came out INVALID — with a 95 % Wilson interval,
//! because Kafka is not deterministic and one replay proves little
//! ("reproduces 7 times in 10, 95 % 40–89 %"). What a shrink asks of every
//! candidate schedule, and what a user needs to report a finding.

use super::matrix::CellVerdict;
use super::{Report, TestSpec};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One of the N runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatRun {
    pub verdict: CellVerdict,
    /// Anomaly classes with a non-zero count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub anomaly_counts: BTreeMap<String, u64>,
    /// The run's folder relative to the store (`<test>/<timestamp>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Why the run could not be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_s: f64,
}

/// The N runs of one spec.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Repeat {
    pub runs: Vec<RepeatRun>,
    /// Runs asked for (more than `runs` when interrupted).
    pub asked: usize,
}

/// The 95 % Wilson score interval of `k` successes in `n` trials (0–1).
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let z = 1.959_963_984_540_054_f64;
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// `7 of 10 runs (70 %, 95 % interval 40–89 %)`: `k` of `n` runs with
/// the 95 % Wilson interval of the rate.
pub fn rate_text(k: usize, n: usize) -> String {
    if n == 0 {
        return "no run gave a verdict".into();
    }
    let (lo, hi) = wilson(k, n);
    format!(
        "{k} of {n} run{} ({:.0} %, 95 % interval {:.0}–{:.0} %)",
        if n == 1 { "" } else { "s" },
        100.0 * k as f64 / n as f64,
        100.0 * lo,
        100.0 * hi
    )
}

impl Repeat {
    /// Runs with a verdict (valid, INVALID or unknown) and, of them, those
    /// INVALID.
    pub fn reproduced(&self) -> (usize, usize) {
        let decided = self
            .runs
            .iter()
            .filter(|r| r.verdict != CellVerdict::Error)
            .count();
        let invalid = self
            .runs
            .iter()
            .filter(|r| r.verdict == CellVerdict::Invalid)
            .count();
        (invalid, decided)
    }

    /// `INVALID in 7 of 10 runs (70 %, 95 % interval 40–89 %)`.
    pub fn rate_text(&self) -> String {
        let (k, n) = self.reproduced();
        if n == 0 {
            return "no run gave a verdict".into();
        }
        format!("INVALID in {}", rate_text(k, n))
    }

    /// Each class: in how many runs it appeared.
    pub fn classes(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in &self.runs {
            for k in r.anomaly_counts.keys() {
                *m.entry(k.clone()).or_insert(0) += 1;
            }
        }
        m
    }

    /// The worst run's exit code, `scenario run`'s codes (3 a run could
    /// not be made, else 1, else 2 — also when cut short —, else 0).
    pub fn exit_code(&self) -> u8 {
        use trial_checkers::exit_code::*;
        let has = |v: CellVerdict| self.runs.iter().any(|r| r.verdict == v);
        if has(CellVerdict::Error) {
            HARNESS
        } else if has(CellVerdict::Invalid) {
            ANOMALIES
        } else if has(CellVerdict::Unknown) || self.runs.len() < self.asked {
            UNKNOWN
        } else {
            VALID
        }
    }

    /// The table for a terminal: a line per run, then the classes and the
    /// rate.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:>4}  {:<8} {:>8}  anomalies / run",
            "run", "verdict", "time"
        );
        for (i, r) in self.runs.iter().enumerate() {
            let anomalies = if let Some(e) = &r.error {
                format!("error: {e}")
            } else if r.anomaly_counts.is_empty() {
                "none".into()
            } else {
                r.anomaly_counts
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                s,
                "{:>4}  {:<8} {:>7.0}s  {anomalies}{}",
                i + 1,
                r.verdict.label(),
                r.elapsed_s,
                r.run
                    .as_deref()
                    .map(|d| format!("  ({d})"))
                    .unwrap_or_default()
            );
        }
        let classes = self.classes();
        if !classes.is_empty() {
            let _ = writeln!(
                s,
                "classes: {}",
                classes
                    .iter()
                    .map(|(k, n)| format!("{k} in {n} of {}", self.runs.len()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if self.runs.len() < self.asked {
            let _ = writeln!(
                s,
                "interrupted after {} of {} runs",
                self.runs.len(),
                self.asked
            );
        }
        let _ = writeln!(s, "{}", self.rate_text());
        s
    }
}

/// Run `spec` `n` times through `run` (`trial::run`; a stand-in in
/// tests), each on a fresh cluster, stopping early when a run was
/// interrupted (Ctrl-C). A run that fails is recorded as `error` and the
/// next one runs.
pub async fn repeat<F, Fut>(store: &Path, spec: &TestSpec, n: usize, mut run: F) -> Repeat
where
    F: FnMut(TestSpec) -> Fut,
    Fut: std::future::Future<Output = Result<Report>>,
{
    let mut out = Repeat {
        runs: Vec::new(),
        asked: n,
    };
    for i in 0..n {
        eprintln!("\n== repeat {}/{n}: {}", i + 1, spec.name);
        let t = std::time::Instant::now();
        let mut interrupted = false;
        let r = match run(spec.clone()).await {
            Ok(report) => {
                interrupted = report.interrupted;
                let verdict = match report.exit_code {
                    0 => CellVerdict::Valid,
                    1 => CellVerdict::Invalid,
                    _ => CellVerdict::Unknown,
                };
                RepeatRun {
                    verdict,
                    anomaly_counts: report
                        .results
                        .anomaly_counts
                        .iter()
                        .filter(|(_, n)| **n > 0)
                        .map(|(k, n)| (k.clone(), *n))
                        .collect(),
                    run: Some(super::claims::relative(store, &report.run_dir)),
                    error: None,
                    elapsed_s: t.elapsed().as_secs_f64(),
                }
            }
            Err(e) => RepeatRun {
                verdict: CellVerdict::Error,
                anomaly_counts: BTreeMap::new(),
                run: None,
                error: Some(format!("{e:#}")),
                elapsed_s: t.elapsed().as_secs_f64(),
            },
        };
        eprintln!(
            "== repeat {}/{n}: {} in {:.0} s",
            i + 1,
            r.verdict.label(),
            r.elapsed_s
        );
        out.runs.push(r);
        if interrupted {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook() {
        // 7 of 10: 0.3968–0.8922 (Wilson 1927, z = 1.96).
        let (lo, hi) = wilson(7, 10);
        assert!(
            (lo - 0.3968).abs() < 1e-3 && (hi - 0.8922).abs() < 1e-3,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(0, 10);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.2775).abs() < 1e-3, "{hi}");
        let (lo, hi) = wilson(10, 10);
        assert!(
            (lo - 0.7225).abs() < 1e-3 && (hi - 1.0).abs() < 1e-9,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    /// A stand-in for `trial::run`: odd runs INVALID, the third fails,
    /// the fifth is interrupted (Ctrl-C); the sixth must not run.
    #[tokio::test]
    async fn runs_are_counted_and_ctrl_c_stops() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        let spec = TestSpec::new("rep").store(&root);
        let k = std::sync::atomic::AtomicUsize::new(0);
        let r = repeat(&root, &spec, 6, |s: TestSpec| {
            let i = k.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let store = trial_histories::Store::new(&root);
            async move {
                let run = store.create_run(&s.name)?;
                if i == 3 {
                    anyhow::bail!("no Docker engine");
                }
                let mut rep = Report::stand_in(&run.path)?;
                rep.exit_code = 0;
                rep.results.anomaly_counts.clear();
                if i % 2 == 1 {
                    rep.exit_code = 1;
                    rep.results.anomaly_counts.insert("lost-write".into(), 4);
                }
                rep.interrupted = i == 5;
                Ok(rep)
            }
        })
        .await;
        assert_eq!(r.runs.len(), 5);
        assert_eq!(r.reproduced(), (2, 4), "{r:?}");
        assert_eq!(r.runs[2].verdict, CellVerdict::Error);
        assert_eq!(r.classes()["lost-write"], 2);
        let t = r.table();
        assert!(
            t.contains("INVALID in 2 of 4 runs (50 %, 95 % interval 15–85 %)"),
            "{t}"
        );
        assert!(t.contains("interrupted after 5 of 6 runs"), "{t}");
        assert!(t.contains("error: no Docker engine"), "{t}");
        assert!(t.contains("lost-write in 2 of 5"), "{t}");
        assert_eq!(r.exit_code(), trial_checkers::exit_code::HARNESS);
    }
}
