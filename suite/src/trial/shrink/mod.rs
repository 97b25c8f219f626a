//! `kafka-trial shrink`: from a failing run to the smallest schedule that
//! still fails, with how often it does.
//!
//! The search is generic over a [`CandidateRunner`] (a real trial per run,
//! [`TrialRunner`]; a simulated cluster in tests): each candidate runs
//! `runs_per_candidate` times and *reproduces* when at least one run shows
//! the [`ShrinkTarget`]; its rate (k of n, 95 % Wilson interval) is kept.
//! The original is the run being shrunk (its own finding counts as the
//! original's one run, so no budget goes to rerunning it). The order
//! (issue 34):
//! 1. delta debugging over the faults (ddmin: halves, then finer chunks
//!    and their complements, down to single faults; the result is
//!    1-minimal: dropping any one fault of it did not reproduce, and a
//!    single fault is tried against none at all);
//! 2. each remaining fault's targets (one node instead of several) and
//!    window (halved while it reproduces);
//! 3. the workload: the time limit cut to just past the last fault, the
//!    rate, the processes and the partitions halved while it reproduces.
//!
//! A [`Budget`] (wall time, trial runs) bounds the whole search: a
//! candidate starts only when all its runs fit (a run's length is
//! estimated from its time limit and the longest overhead seen), so the
//! search never starts a run past it. An interruption (Ctrl-C) ends the
//! search with the best candidate so far. [`doc`] writes the outcome:
//! `minimal.toml`, `shrink.json`, `shrink.html`.

pub mod candidate;
pub mod doc;
pub mod runner;
#[cfg(test)]
mod tests;

pub use candidate::{Candidate, ShrinkFault};
pub use runner::{outcome_of, target_of, TrialRunner};

use super::repeat::wilson;
use super::TestSpec;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What must appear for a run to reproduce the finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum ShrinkTarget {
    /// An anomaly class (by default one the configuration forbids).
    Class(String),
    /// A broken promise (`--judge promises`), by its id.
    Promise(String),
}

impl std::fmt::Display for ShrinkTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkTarget::Class(c) => write!(f, "{c}"),
            ShrinkTarget::Promise(p) => write!(f, "broken promise {p}"),
        }
    }
}

/// What one run of a candidate showed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Anomaly classes found (permitted by the configuration or not).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub classes: BTreeSet<String>,
    /// Promises broken (ids).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub broken_promises: BTreeSet<String>,
    /// The run folder relative to the store (`<test>/<timestamp>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub elapsed_s: f64,
    /// Why the run could not be made (it then has no verdict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Cut short by Ctrl-C (not counted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl RunOutcome {
    pub fn shows(&self, t: &ShrinkTarget) -> bool {
        match t {
            ShrinkTarget::Class(c) => self.classes.contains(c),
            ShrinkTarget::Promise(p) => self.broken_promises.contains(p),
        }
    }
    fn counts(&self) -> bool {
        self.error.is_none() && !self.interrupted
    }
}

/// Runs a candidate's spec once: a real trial, or a double.
#[async_trait::async_trait]
pub trait CandidateRunner: Send {
    async fn run(&mut self, spec: &TestSpec) -> RunOutcome;
}

/// What bounds the search.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Budget {
    /// Wall time of the whole search.
    #[serde(default, with = "crate::spec::dur::opt")]
    pub wall: Option<Duration>,
    /// Trial runs of the whole search (the original's included).
    #[serde(default)]
    pub max_runs: Option<usize>,
}

/// How the search runs.
#[derive(Debug, Clone)]
pub struct ShrinkOptions {
    pub runs_per_candidate: usize,
    pub budget: Budget,
    /// Set by Ctrl-C: no run starts after it.
    pub interrupt: Arc<AtomicBool>,
    /// Progress lines on stderr.
    pub progress: bool,
    /// A run's overhead (cluster start, heal, final reads, check) over its
    /// time limit, assumed until one is measured.
    pub overhead_guess: Duration,
}

impl ShrinkOptions {
    pub fn new(runs_per_candidate: usize, budget: Budget) -> ShrinkOptions {
        ShrinkOptions {
            runs_per_candidate: runs_per_candidate.max(1),
            budget,
            interrupt: Arc::new(AtomicBool::new(false)),
            progress: false,
            overhead_guess: Duration::from_secs(60),
        }
    }
}

/// Which step of the search a candidate belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Original,
    Faults,
    Targets,
    Windows,
    Workload,
}

/// One candidate tried, with its runs and rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateRecord {
    pub index: usize,
    pub phase: Phase,
    /// What differs from the best candidate so far, in words.
    pub change: String,
    pub faults: Vec<String>,
    pub time_limit_s: f64,
    pub rate: f64,
    pub concurrency: usize,
    pub senders: usize,
    pub partitions: u32,
    pub runs: Vec<RunOutcome>,
    /// Runs that showed the target, of `decided` (runs with a verdict).
    pub reproduced: usize,
    pub decided: usize,
    /// 95 % Wilson interval of the rate (0–1).
    pub rate_low: f64,
    pub rate_high: f64,
    /// Kept: it reproduced and became the best so far.
    pub kept: bool,
    /// Fewer runs than asked (the budget or an interruption cut it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

impl CandidateRecord {
    /// `2 of 3 runs (67 %, 95 % interval 21–94 %)`.
    pub fn rate_text(&self) -> String {
        crate::trial::repeat::rate_text(self.reproduced, self.decided)
    }
}

/// Why the search ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stopped {
    /// Every step was tried.
    Done,
    /// The original did not reproduce (rerun, or the run given did not
    /// show the target): nothing to shrink.
    OriginalDidNotReproduce,
    /// The next candidate's runs would not fit the budget (which bound).
    Budget(String),
    /// Ctrl-C.
    Interrupted,
}

/// The search's outcome.
#[derive(Debug, Clone)]
pub struct Shrunk {
    pub target: ShrinkTarget,
    pub candidates: Vec<CandidateRecord>,
    /// Indices of the kept candidates, the original first: the path to
    /// the minimal one (the last).
    pub path: Vec<usize>,
    pub original: Candidate,
    pub minimal: Candidate,
    pub stopped: Stopped,
    pub runs: usize,
    pub elapsed_s: f64,
}

impl Shrunk {
    /// The minimal candidate's record (none when not even the original
    /// could run within the budget).
    pub fn minimal_record(&self) -> Option<&CandidateRecord> {
        self.path.last().map(|i| &self.candidates[*i])
    }
}

/// The search's state.
struct Search<'a, R: CandidateRunner> {
    base: &'a TestSpec,
    target: &'a ShrinkTarget,
    o: &'a ShrinkOptions,
    runner: &'a mut R,
    best: Candidate,
    records: Vec<CandidateRecord>,
    path: Vec<usize>,
    /// Candidates already run (the same subset asked twice by ddmin):
    /// whether they reproduced.
    seen: BTreeMap<String, bool>,
    runs: usize,
    run_seconds: f64,
    /// Longest measured overhead of a run over its time limit.
    overhead: Option<f64>,
    started: Instant,
    stopped: Option<Stopped>,
}

/// The candidate's identity for the cache (its spec's shape).
fn key(c: &Candidate) -> String {
    format!(
        "{:?}|{:?}|{}|{}|{}|{}",
        c.faults, c.time_limit, c.rate, c.concurrency, c.senders, c.partitions
    )
}

impl<R: CandidateRunner> Search<'_, R> {
    fn say(&self, m: String) {
        if self.o.progress {
            eprintln!("shrink: {m}");
        }
    }

    fn spent(&self) -> f64 {
        self.started.elapsed().as_secs_f64().max(self.run_seconds)
    }

    /// Whether one more run of `c` fits the budget (else why not).
    fn fits(&self, c: &Candidate, more_runs: usize) -> Result<(), String> {
        if let Some(m) = self.o.budget.max_runs {
            if self.runs + more_runs > m {
                return Err(format!(
                    "--max-runs {m}: {} runs made, the next candidate needs {more_runs}",
                    self.runs
                ));
            }
        }
        if let Some(w) = self.o.budget.wall {
            let overhead = self.overhead.unwrap_or(self.o.overhead_guess.as_secs_f64());
            let each = c.time_limit.as_secs_f64() + overhead;
            let need = self.spent() + each * more_runs as f64;
            if need > w.as_secs_f64() {
                return Err(format!(
                    "--budget {}: {:.0}s spent, the next candidate needs ~{:.0}s",
                    crate::spec::format_duration(w),
                    self.spent(),
                    each * more_runs as f64
                ));
            }
        }
        Ok(())
    }

    /// Run `c` (unless already run); `Some(true)` when it reproduced and
    /// was kept as the best, `Some(false)` when it did not, `None` when
    /// the search must end (budget, Ctrl-C).
    async fn try_candidate(&mut self, phase: Phase, change: String, c: Candidate) -> Option<bool> {
        if self.stopped.is_some() {
            return None;
        }
        let k = key(&c);
        if let Some(r) = self.seen.get(&k) {
            if *r && phase != Phase::Original {
                self.best = c;
            }
            return Some(*r);
        }
        let n = self.o.runs_per_candidate;
        if let Err(why) = self.fits(&c, n) {
            self.say(format!("budget reached ({why}); keeping the best so far"));
            self.stopped = Some(Stopped::Budget(why));
            return None;
        }
        let index = self.records.len();
        self.say(format!(
            "[{index}] {change} — {} fault{}, time limit {}s",
            c.faults.len(),
            if c.faults.len() == 1 { "" } else { "s" },
            c.time_limit.as_secs()
        ));
        let spec = c.to_spec(self.base);
        let mut runs = vec![];
        let mut partial = false;
        for i in 0..n {
            if self.o.interrupt.load(Ordering::SeqCst) {
                self.stopped = Some(Stopped::Interrupted);
                partial = true;
                break;
            }
            if i > 0 {
                if let Err(why) = self.fits(&c, 1) {
                    self.stopped = Some(Stopped::Budget(why));
                    partial = true;
                    break;
                }
            }
            let out = self.runner.run(&spec).await;
            self.runs += 1;
            self.run_seconds += out.elapsed_s;
            if out.counts() {
                let over = (out.elapsed_s - c.time_limit.as_secs_f64()).max(0.0);
                self.overhead = Some(self.overhead.map_or(over, |o| o.max(over)));
            }
            let shows = out.shows(self.target);
            self.say(format!(
                "[{index}] run {}/{n}: {}{}",
                i + 1,
                if out.interrupted {
                    "interrupted".to_string()
                } else if let Some(e) = &out.error {
                    format!("error: {e}")
                } else if shows {
                    format!("{} shown", self.target)
                } else {
                    "not shown".to_string()
                },
                out.run
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ));
            let interrupted = out.interrupted;
            runs.push(out);
            if interrupted {
                self.stopped = Some(Stopped::Interrupted);
                partial = i + 1 < n;
                break;
            }
        }
        let decided = runs.iter().filter(|r| r.counts()).count();
        let reproduced = runs
            .iter()
            .filter(|r| r.counts() && r.shows(self.target))
            .count();
        let (rate_low, rate_high) = wilson(reproduced, decided);
        let ok = reproduced > 0;
        let rec = CandidateRecord {
            index,
            phase,
            change,
            faults: c.describe_faults(),
            time_limit_s: c.time_limit.as_secs_f64(),
            rate: c.rate,
            concurrency: c.concurrency,
            senders: c.senders,
            partitions: c.partitions,
            runs,
            reproduced,
            decided,
            rate_low,
            rate_high,
            kept: ok,
            partial,
        };
        self.say(format!(
            "[{index}] {}: {} — {}; {} runs so far",
            if ok {
                "reproduces"
            } else {
                "does not reproduce"
            },
            rec.rate_text(),
            if ok { "kept" } else { "dropped" },
            self.runs
        ));
        self.records.push(rec);
        if !partial {
            self.seen.insert(k, ok);
        }
        if ok {
            self.path.push(index);
            self.best = c;
        }
        if partial && !ok {
            return None;
        }
        Some(ok)
    }

    /// ddmin over the best candidate's faults.
    async fn faults(&mut self) -> Option<()> {
        let mut n = 2usize;
        while self.best.faults.len() >= 2 {
            let cur = self.best.clone();
            let len = cur.faults.len();
            let chunks = split(len, n);
            let mut reduced = false;
            // Each chunk alone.
            for ch in &chunks {
                let c = cur.keep(ch);
                let what = format!("keep faults {} of {len}", ranges(ch));
                if self.try_candidate(Phase::Faults, what, c).await? {
                    n = 2;
                    reduced = true;
                    break;
                }
            }
            // Each complement (the chunks are halves when n = 2: the
            // complements are the chunks again).
            if !reduced && n > 2 {
                for ch in &chunks {
                    let rest: Vec<usize> = (0..len).filter(|i| !ch.contains(i)).collect();
                    let c = cur.keep(&rest);
                    let what = format!("drop faults {} of {len}", ranges(ch));
                    if self.try_candidate(Phase::Faults, what, c).await? {
                        n = (n - 1).max(2);
                        reduced = true;
                        break;
                    }
                }
            }
            if !reduced {
                if n >= len {
                    break;
                }
                n = (2 * n).min(len);
            }
        }
        if self.best.faults.len() == 1 {
            let c = self.best.keep(&[]);
            self.try_candidate(Phase::Faults, "drop the last fault".into(), c)
                .await?;
        }
        Some(())
    }

    /// Each fault: fewer nodes, then a shorter window.
    async fn fault_details(&mut self) -> Option<()> {
        let mut i = 0;
        while i < self.best.faults.len() {
            let f = self.best.faults[i].clone();
            for (what, narrower) in f.fewer_targets() {
                let mut c = self.best.clone();
                c.faults[i] = narrower;
                let what = format!("fault {}: {what}", i + 1);
                if self.try_candidate(Phase::Targets, what, c).await? {
                    break;
                }
            }
            loop {
                let f = &self.best.faults[i];
                let Some(shorter) = f.shorter(self.best.time_limit) else {
                    break;
                };
                let what = format!(
                    "fault {}: window {} → {}",
                    i + 1,
                    crate::trial::fixed::window(f.start(), f.stop()),
                    crate::trial::fixed::window(shorter.start(), shorter.stop())
                );
                let mut c = self.best.clone();
                c.faults[i] = shorter;
                if !self.try_candidate(Phase::Windows, what, c).await? {
                    break;
                }
            }
            i += 1;
        }
        Some(())
    }

    /// The workload: each smaller variant while it reproduces (a knob
    /// whose halving did not reproduce is left where it is).
    async fn workload(&mut self) -> Option<()> {
        let mut done: BTreeSet<&'static str> = BTreeSet::new();
        loop {
            let options = self.best.smaller_workloads();
            let mut progressed = false;
            let mut last_of: BTreeMap<&'static str, usize> = BTreeMap::new();
            for (i, (knob, _, _)) in options.iter().enumerate() {
                last_of.insert(knob, i);
            }
            for (i, (knob, what, c)) in options.into_iter().enumerate() {
                if done.contains(knob) {
                    continue;
                }
                if self.try_candidate(Phase::Workload, what, c).await? {
                    progressed = true;
                    break;
                }
                if last_of[knob] == i {
                    done.insert(knob);
                }
            }
            if !progressed {
                return Some(());
            }
        }
    }
}

/// `0..len` in `n` nearly equal contiguous chunks.
fn split(len: usize, n: usize) -> Vec<Vec<usize>> {
    let n = n.min(len).max(1);
    let mut out = vec![];
    let mut start = 0;
    for k in 0..n {
        let end = start + (len - start) / (n - k);
        out.push((start..end).collect());
        start = end;
    }
    out
}

/// `1–3, 5` (1-based).
fn ranges(ix: &[usize]) -> String {
    let mut parts: Vec<String> = vec![];
    let mut i = 0;
    while i < ix.len() {
        let mut j = i;
        while j + 1 < ix.len() && ix[j + 1] == ix[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            format!("{}", ix[i] + 1)
        } else {
            format!("{}–{}", ix[i] + 1, ix[j] + 1)
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// Search for the smallest candidate that still shows `target`, starting
/// from `original` over `base` (the original run's spec). `seen`: the
/// run being shrunk, which stands for the original (else the original is
/// run like any candidate first).
pub async fn shrink<R: CandidateRunner>(
    base: &TestSpec,
    original: Candidate,
    seen: Option<RunOutcome>,
    target: &ShrinkTarget,
    o: &ShrinkOptions,
    runner: &mut R,
) -> Shrunk {
    let mut s = Search {
        base,
        target,
        o,
        runner,
        best: original.clone(),
        records: vec![],
        path: vec![],
        seen: BTreeMap::new(),
        runs: 0,
        run_seconds: 0.0,
        overhead: None,
        started: Instant::now(),
        stopped: None,
    };
    let first = match seen {
        // The run being shrunk is the original's evidence: it is kept
        // as it is, and no budget goes to rerunning it.
        Some(run) => {
            let shows = run.shows(target);
            let (rate_low, rate_high) = wilson(usize::from(shows), 1);
            s.records.push(CandidateRecord {
                index: 0,
                phase: Phase::Original,
                change: "the original (the run shrunk)".into(),
                faults: original.describe_faults(),
                time_limit_s: original.time_limit.as_secs_f64(),
                rate: original.rate,
                concurrency: original.concurrency,
                senders: original.senders,
                partitions: original.partitions,
                runs: vec![run],
                reproduced: usize::from(shows),
                decided: 1,
                rate_low,
                rate_high,
                kept: shows,
                partial: false,
            });
            if shows {
                s.path.push(0);
            }
            s.seen.insert(key(&original), shows);
            Some(shows)
        }
        None => {
            s.try_candidate(Phase::Original, "the original".into(), original.clone())
                .await
        }
    };
    match first {
        Some(true) => {
            let _ = async {
                s.faults().await?;
                s.fault_details().await?;
                s.workload().await
            }
            .await;
        }
        Some(false) => s.stopped = Some(Stopped::OriginalDidNotReproduce),
        None => {}
    }
    if s.path.is_empty() {
        // The original did not reproduce (or was cut short): it stays
        // the answer, with its record.
        if !s.records.is_empty() {
            s.path.push(0);
        }
    }
    let stopped = s.stopped.clone().unwrap_or(Stopped::Done);
    let elapsed_s = s.spent();
    Shrunk {
        target: target.clone(),
        path: s.path,
        candidates: s.records,
        minimal: s.best,
        original,
        stopped,
        runs: s.runs,
        elapsed_s,
    }
}
