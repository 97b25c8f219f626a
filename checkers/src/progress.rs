//! `progress`: did the workload make progress when the cluster let it?
//!
//! Two measurements of the workload against the cluster's health, both
//! from the observer's samples (`observe` ops; a sample is *healthy* when
//! it lists partitions and every one has a leader and an ISR holding all
//! its replicas; a failed sample is not; a sample stands until the next,
//! a healthy one at most [`SAMPLE_STANDS`]),
//! the fault intervals ([`trial_histories::faults`]) and the completions of
//! the workload's own operations. *Progress* is an `ok` completion, by a
//! worker (numeric) process, of a `send`, a `txn`, a `commit`, or a `poll`
//! that returned at least one record (an empty poll proves the consumer
//! alive, not that anything moved); observer, nemesis and final-read ops
//! never count.
//!
//! - **`client-stall`**: a window in which the cluster was healthy, no
//!   fault was active, and no progress was made, longer than the client
//!   timeouts allow ([`CheckOptions::stall_threshold`], by default
//!   [`stall_threshold_for`] the run's `message_timeout`). Reported with
//!   its window, the worker processes stuck in it (those with an op still
//!   in flight when it ended, or an op that completed other than ok in it;
//!   all the workload's processes when none had) and each one's last
//!   error. It is the harness's finding, not Kafka's:
//!   the verdict and exit code are untouched, but a `valid` verdict with a
//!   stall carries a *weak evidence* caveat ([`CheckerOutput::weak_evidence`]):
//!   a run that stopped making progress tested nothing for that time.
//! - **Recovery** per fault: the time from its *heal* (the first healthy
//!   sample at or after the fault's stop, before the next fault begins) to
//!   the workload's first progress (before the next fault begins),
//!   and to the start of the first 1 s window whose progress rate is at
//!   least 80 % of the rate before the fault (over the healthy, fault-free
//!   stretch just before the fault began, at most 10 s of it, at least
//!   1 s). A figure that cannot be measured is `null`, with the reason in
//!   `unknown`.
//!
//! Streaming and small: per observer sample a time, a flag and the first
//! progress after it; progress counted per 100 ms; per worker process its
//! op in flight and its last few errors; a snapshot of the processes only
//! for gaps longer than the threshold.
//!
//! One file (over 800 lines, its tests in `progress/tests.rs`): the stall
//! and the recovery read the same three streams (samples, fault intervals,
//! progress) and share the healthy intervals computed from them.

use crate::checker::{Checker, CheckerOutput, Context, Invocation};
use crate::hash::FxHashMap;
use crate::{CheckError, CheckOptions};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;
use trial_histories::{FaultInterval, FaultTracker, Op, OpType, Process, F};

const NS_PER_S: f64 = 1e9;
/// Resolution of the progress rate (ns).
const BUCKET_NS: u64 = 100_000_000;
/// The pre-fault rate is measured over at most this long before a fault…
pub const PRE_FAULT_WINDOW: Duration = Duration::from_secs(10);
/// …and at least this long (else it is unknown).
pub const MIN_PRE_FAULT_WINDOW: Duration = Duration::from_secs(1);
/// The rate after a heal is measured over windows this long.
pub const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Recovered: this fraction of the pre-fault rate.
pub const RECOVERED_FRACTION: f64 = 0.8;
/// The shortest stall threshold [`stall_threshold_for`] gives.
pub const STALL_FLOOR: Duration = Duration::from_secs(10);
/// The threshold when the run's client timeouts are unknown: that of the
/// `fast` timing profile (message timeout 10 s).
pub const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_secs(20);
/// A healthy sample vouches for the cluster until the next sample, but
/// for no longer than this: an observer that could not sample for longer
/// (it blocks while brokers restart) says nothing of that time.
pub const SAMPLE_STANDS: Duration = Duration::from_secs(5);
/// Stuck processes listed per stall (the count is exact).
const PROCESSES_LISTED: usize = 16;
/// Errors remembered per process.
const ERRORS_KEPT: usize = 4;
/// Gaps in progress this long or longer are kept (for the longest healthy
/// stretch without progress, a figure even below the threshold).
const MIN_GAP_NS: u64 = 1_000_000_000;

/// How long a healthy cluster may see no progress before it is a stall:
/// twice the clients' message timeout (a send is retried that long; a
/// client in a healthy cluster has either succeeded or given up and
/// retried by then), at least [`STALL_FLOOR`].
pub fn stall_threshold_for(message_timeout: Duration) -> Duration {
    (message_timeout * 2).max(STALL_FLOOR)
}

/// [`stall_threshold_for`] the message timeout of a run's `test.json`: a
/// `message.timeout.ms` or `delivery.timeout.ms` producer override, else
/// its `message_timeout` (seconds). `None` when it names none.
pub fn threshold_from_test_json(test: &serde_json::Value) -> Option<Duration> {
    let overridden = test.get("producer_overrides").and_then(|p| {
        ["message.timeout.ms", "delivery.timeout.ms"]
            .iter()
            .find_map(|k| p.get(*k).and_then(|v| v.as_str()?.parse::<u64>().ok()))
            .map(Duration::from_millis)
    });
    overridden
        .or_else(|| {
            test.get("message_timeout")
                .and_then(|m| m.as_f64())
                .filter(|m| m.is_finite() && *m > 0.0)
                .map(Duration::from_secs_f64)
        })
        .map(stall_threshold_for)
}

/// An op in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    pub f: String,
    /// Its invocation (s since the start).
    pub since_s: f64,
}

/// An error a process met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorAt {
    pub at_s: f64,
    pub f: String,
    pub error: String,
}

/// A worker process stuck in a stall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StuckProcess {
    pub process: u64,
    /// Its op in flight when the stall ended (null if none).
    pub in_flight: Option<InFlight>,
    /// Its last error before the stall ended (null if none).
    pub last_error: Option<ErrorAt>,
}

/// One `client-stall` (`checkers.progress.stalls[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    /// Always `client-stall`.
    pub finding: String,
    /// The healthy, fault-free window without progress.
    pub start_s: f64,
    pub end_s: f64,
    pub duration_s: f64,
    /// The whole gap in progress it lies in: the last progress before it
    /// (or the workload's first op) and the next (null: none came before
    /// the workload ended).
    pub gap_start_s: f64,
    pub gap_end_s: Option<f64>,
    /// Worker processes stuck (the first 16 listed).
    pub processes_stuck: u64,
    pub processes: Vec<StuckProcess>,
}

/// Recovery after one fault (`checkers.progress.recovery[]`, in the order
/// of `checkers.effects.intervals[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub kind: String,
    pub nodes: Vec<String>,
    pub start_s: f64,
    pub stop_s: f64,
    /// The first healthy sample at or after the stop (s since the start).
    pub heal_s: Option<f64>,
    /// heal − stop.
    pub ready_after_s: Option<f64>,
    /// The first progress at or after the heal − heal.
    pub first_ok_after_heal_s: Option<f64>,
    /// Progress per second before the fault, and over how long.
    pub pre_fault_ok_per_s: Option<f64>,
    pub pre_fault_window_s: Option<f64>,
    /// The start of the first 1 s window after the heal with ≥ 80 % of the
    /// pre-fault rate − heal.
    pub rate_80_after_heal_s: Option<f64>,
    /// Why a figure above is null.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

/// p50 (lower median) and max of a figure, and over how many faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p50: f64,
    pub max: f64,
    pub n: u64,
}

/// `checkers.progress` in results.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgressResults {
    /// Did the history have observer samples? (Without them nothing here
    /// is known.)
    pub observed: bool,
    pub threshold_s: f64,
    /// Progress ops (see the module doc).
    pub ok_ops: u64,
    /// Time the cluster was healthy and no fault active, within the
    /// workload's span.
    pub healthy_s: f64,
    /// The longest healthy, fault-free stretch without progress (only
    /// stretches of 1 s or more are measured; null if none).
    pub longest_healthy_without_ok_s: Option<f64>,
    pub stalls: Vec<Stall>,
    pub recovery: Vec<Recovery>,
    pub first_ok_after_heal_s: Option<Spread>,
    pub rate_80_after_heal_s: Option<Spread>,
    pub summary: String,
}

/// One observer sample: when, healthy, the first progress at or after it.
#[derive(Debug, Clone, Copy)]
struct Mark {
    time: u64,
    healthy: bool,
    first_ok: Option<u64>,
}

#[derive(Debug, Default)]
struct Proc {
    in_flight: Option<(F, u64)>,
    /// Its last completion of a progress kind that was not ok (or crash).
    last_not_ok: u64,
    errors: VecDeque<(u64, F, String)>,
}

/// A process as a gap's snapshot keeps it: its number, its op in flight
/// (f, invoked), its last errors (time, f, message).
type Snapshot = (u64, Option<(F, u64)>, Vec<(u64, F, String)>);

/// A gap in progress longer than [`MIN_GAP_NS`].
#[derive(Debug)]
struct Gap {
    from: u64,
    to: Option<u64>,
    /// Processes active in it (only for gaps longer than the threshold).
    procs: Vec<Snapshot>,
    /// No process had anything in flight or failing: `procs` are all the
    /// workload's processes.
    all: bool,
}

/// The `progress` checker.
pub struct ProgressChecker {
    threshold_ns: u64,
    faults: FaultTracker,
    last_time: u64,
    observer_ops: u64,
    marks: Vec<Mark>,
    /// `marks[pending..]` have no progress after them yet.
    pending: usize,
    /// Progress per 100 ms bucket.
    buckets: Vec<u32>,
    ok_ops: u64,
    /// The workload's span: first and last invocation or completion of a
    /// progress kind of op by a worker.
    span: Option<(u64, u64)>,
    last_ok: Option<u64>,
    gaps: Vec<Gap>,
    procs: FxHashMap<u64, Proc>,
}

pub(crate) fn make(opts: &CheckOptions) -> Box<dyn Checker> {
    Box::new(ProgressChecker::new(opts.stall_threshold))
}

impl ProgressChecker {
    pub fn new(threshold: Duration) -> Self {
        ProgressChecker {
            threshold_ns: threshold.as_nanos().min(u64::MAX as u128) as u64,
            faults: FaultTracker::new(),
            last_time: 0,
            observer_ops: 0,
            marks: Vec::new(),
            pending: 0,
            buckets: Vec::new(),
            ok_ops: 0,
            span: None,
            last_ok: None,
            gaps: Vec::new(),
            procs: FxHashMap::default(),
        }
    }
}

/// The kinds of op whose `ok` is progress (a poll only with records).
fn progress_kind(f: &F) -> bool {
    matches!(f, F::Send | F::Poll | F::Txn | F::Commit)
}

#[derive(Deserialize)]
struct PartHealth {
    #[serde(default = "no_leader")]
    leader: i32,
    #[serde(default)]
    replicas: Vec<i32>,
    #[serde(default)]
    isr: Vec<i32>,
}

fn no_leader() -> i32 {
    -1
}

#[derive(Deserialize)]
struct ObsHealth {
    #[serde(default)]
    partitions: Vec<PartHealth>,
}

fn healthy(o: &ObsHealth) -> bool {
    !o.partitions.is_empty()
        && o.partitions
            .iter()
            .all(|p| p.leader >= 0 && p.replicas.iter().all(|r| p.isr.contains(r)))
}

impl Checker for ProgressChecker {
    fn name(&self) -> &'static str {
        "progress"
    }

    fn invoke(&mut self, op: &Op, _cx: &Context) -> Result<(), CheckError> {
        self.last_time = self.last_time.max(op.time);
        match op.process {
            Process::Nemesis => self.faults.push(op),
            Process::Worker(p) if progress_kind(&op.f) => {
                self.note_span(op.time);
                self.procs.entry(p).or_default().in_flight = Some((op.f.clone(), op.time));
            }
            _ => {}
        }
        Ok(())
    }

    fn complete(
        &mut self,
        invoke: Option<&Invocation>,
        op: &Op,
        cx: &Context,
    ) -> Result<(), CheckError> {
        self.last_time = self.last_time.max(op.time);
        match op.process {
            Process::Nemesis => self.faults.push(op),
            Process::Worker(p) => {
                let counted = progress_kind(&op.f);
                if counted {
                    self.note_span(op.time);
                }
                let pr = self.procs.entry(p).or_default();
                if invoke.is_some() {
                    pr.in_flight = None;
                }
                if let Some(e) = &op.error {
                    if pr.errors.len() == ERRORS_KEPT {
                        pr.errors.pop_front();
                    }
                    pr.errors.push_back((op.time, op.f.clone(), truncate(e)));
                }
                if counted && op.kind == OpType::Ok && invoke.is_some() {
                    if is_progress(op, cx) {
                        // (Its process, done, is not among the stuck.)
                        self.progress(op.time);
                    }
                } else if counted || op.f == F::Crash {
                    pr.last_not_ok = pr.last_not_ok.max(op.time);
                }
            }
            _ if op.f == F::Observe => {
                self.observer_ops += 1;
                let healthy = match op.kind {
                    OpType::Ok => {
                        let o: ObsHealth = op.value_as().map_err(|e| cx.bad_value(op, e))?;
                        healthy(&o)
                    }
                    // Nothing of the cluster could be read.
                    OpType::Fail => false,
                    _ => return Ok(()),
                };
                self.marks.push(Mark {
                    time: op.time,
                    healthy,
                    first_ok: None,
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> CheckerOutput {
        let r = self.results();
        let mut out = CheckerOutput::new("progress", &r);
        out.summary = Some(r.summary.clone());
        if let Some(longest) = r
            .stalls
            .iter()
            .max_by(|a, b| a.duration_s.total_cmp(&b.duration_s))
        {
            out.weak_evidence.push(format!(
                "client-stall: the workload made no progress for {:.1} s ({:.1}–{:.1} s) while \
                 the cluster was healthy{}; {} stall(s) over the threshold of {:.0} s",
                longest.duration_s,
                longest.start_s,
                longest.end_s,
                if longest.processes_stuck > 0 {
                    format!(", {} process(es) stuck", longest.processes_stuck)
                } else {
                    String::new()
                },
                r.stalls.len(),
                r.threshold_s
            ));
        }
        out.typed = Some(Box::new(r));
        out
    }
}

/// An error message as kept: at most 300 characters.
fn truncate(e: &str) -> String {
    match e.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &e[..i]),
        None => e.to_string(),
    }
}

/// Is this `ok` completion of a progress kind progress? (A poll only if it
/// returned records; a poll value that does not parse counts: the queue
/// checker reports it.)
fn is_progress(op: &Op, cx: &Context) -> bool {
    if op.f != F::Poll {
        return true;
    }
    match cx.records {
        Some(r) => !r.is_empty(),
        None => op
            .value_as::<trial_histories::values::Poll>()
            .map_or(true, |p| !p.records.is_empty()),
    }
}

impl ProgressChecker {
    fn note_span(&mut self, t: u64) {
        self.span = Some(match self.span {
            None => (t, t),
            Some((a, b)) => (a.min(t), b.max(t)),
        });
    }

    fn progress(&mut self, t: u64) {
        self.ok_ops += 1;
        let from = self.last_ok.or(self.span.map(|s| s.0)).unwrap_or(t);
        if t.saturating_sub(from) >= MIN_GAP_NS {
            let gap = self.gap(from, Some(t), t);
            self.gaps.push(gap);
        }
        self.last_ok = Some(self.last_ok.map_or(t, |l| l.max(t)));
        let b = (t / BUCKET_NS) as usize;
        if b >= self.buckets.len() {
            self.buckets.resize(b + 1, 0);
        }
        self.buckets[b] += 1;
        while let Some(m) = self.marks.get_mut(self.pending) {
            if m.time > t {
                break;
            }
            m.first_ok = Some(t);
            self.pending += 1;
        }
    }

    /// A gap from `from` to `to`, seen at `now`; with the processes active
    /// in it when it is longer than the threshold.
    fn gap(&self, from: u64, to: Option<u64>, now: u64) -> Gap {
        let mut g = Gap {
            from,
            to,
            procs: Vec::new(),
            all: false,
        };
        if now.saturating_sub(from) <= self.threshold_ns {
            return g;
        }
        let entry = |(p, pr): (&u64, &Proc)| -> Snapshot {
            (
                *p,
                pr.in_flight.clone(),
                pr.errors.iter().cloned().collect::<Vec<_>>(),
            )
        };
        g.procs = self
            .procs
            .iter()
            .filter(|(_, pr)| pr.in_flight.is_some() || pr.last_not_ok > from)
            .map(entry)
            .collect();
        if g.procs.is_empty() {
            // Nobody had anything in flight: the workload itself stopped
            // invoking. Every process it had is stuck.
            g.all = true;
            g.procs = self.procs.iter().map(entry).collect();
        }
        g.procs.sort_by_key(|x| x.0);
        g
    }

    /// Healthy, fault-free intervals `[a, b)` (sorted, disjoint), within
    /// `[lo, hi)`.
    fn healthy_intervals(&self, faults: &[FaultInterval], lo: u64, hi: u64) -> Vec<(u64, u64)> {
        let mut healthy: Vec<(u64, u64)> = Vec::new();
        for (i, m) in self.marks.iter().enumerate() {
            if !m.healthy {
                continue;
            }
            let end = self
                .marks
                .get(i + 1)
                .map_or(self.last_time, |n| n.time)
                .min(m.time.saturating_add(SAMPLE_STANDS.as_nanos() as u64));
            let (a, b) = (m.time.max(lo), end.min(hi));
            if b <= a {
                continue;
            }
            match healthy.last_mut() {
                Some(l) if l.1 >= a => l.1 = l.1.max(b),
                _ => healthy.push((a, b)),
            }
        }
        let mut bad: Vec<(u64, u64)> = faults
            .iter()
            .map(|f| (f.invoked_ns.min(f.start_ns), f.end_ns))
            .filter(|(a, b)| b > a)
            .collect();
        bad.sort_unstable();
        subtract(&healthy, &bad)
    }

    /// Progress in whole buckets within `[a, b)`, and the time they span.
    fn count(&self, a: u64, b: u64) -> (u64, u64) {
        let (b0, b1) = (a.div_ceil(BUCKET_NS), b / BUCKET_NS);
        if b1 <= b0 {
            return (0, 0);
        }
        let n = (b0..b1)
            .map(|k| u64::from(self.buckets.get(k as usize).copied().unwrap_or(0)))
            .sum();
        (n, (b1 - b0) * BUCKET_NS)
    }

    fn results(mut self) -> ProgressResults {
        let fi = std::mem::take(&mut self.faults).finish(self.last_time);
        let observed = self.observer_ops > 0;
        let (w0, w1) = self.span.unwrap_or((0, 0));
        // The gap after the last progress, to the workload's end.
        if self.span.is_some() {
            let from = self.last_ok.unwrap_or(w0);
            if w1.saturating_sub(from) >= MIN_GAP_NS {
                let g = self.gap(from, None, w1);
                self.gaps.push(g);
            }
        }
        let healthy = self.healthy_intervals(&fi.intervals, w0, w1);
        let healthy_ns: u64 = healthy.iter().map(|(a, b)| b - a).sum();
        let mut stalls = Vec::new();
        let mut longest: Option<u64> = None;
        for g in &self.gaps {
            let to = g.to.unwrap_or(w1);
            for &(h0, h1) in &healthy {
                let (a, b) = (g.from.max(h0), to.min(h1));
                if b <= a {
                    continue;
                }
                longest = Some(longest.map_or(b - a, |l| l.max(b - a)));
                if b - a > self.threshold_ns {
                    stalls.push(self.stall(g, a, b));
                }
            }
        }
        let recovery: Vec<Recovery> = fi
            .intervals
            .iter()
            .map(|f| self.recovery(f, &fi.intervals, &healthy, (w0, w1)))
            .collect();
        let spread = |get: fn(&Recovery) -> Option<f64>| {
            let mut v: Vec<f64> = recovery.iter().filter_map(get).collect();
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| Spread {
                p50: v[(v.len() - 1) / 2],
                max: v[v.len() - 1],
                n: v.len() as u64,
            })
        };
        let mut r = ProgressResults {
            observed,
            threshold_s: self.threshold_ns as f64 / NS_PER_S,
            ok_ops: self.ok_ops,
            healthy_s: healthy_ns as f64 / NS_PER_S,
            longest_healthy_without_ok_s: longest.map(|l| l as f64 / NS_PER_S),
            first_ok_after_heal_s: spread(|r| r.first_ok_after_heal_s),
            rate_80_after_heal_s: spread(|r| r.rate_80_after_heal_s),
            stalls,
            recovery,
            summary: String::new(),
        };
        r.summary = summary_line(&r);
        r
    }

    fn stall(&self, g: &Gap, a: u64, b: u64) -> Stall {
        let s = |t: u64| t as f64 / NS_PER_S;
        let processes = g
            .procs
            .iter()
            .take(PROCESSES_LISTED)
            .map(|(p, fl, errs)| StuckProcess {
                process: *p,
                in_flight: if g.all {
                    None
                } else {
                    fl.as_ref().map(|(f, t)| InFlight {
                        f: f.as_str().to_string(),
                        since_s: s(*t),
                    })
                },
                last_error: errs
                    .iter()
                    .rev()
                    .find(|(t, _, _)| *t <= b)
                    .map(|(t, f, e)| ErrorAt {
                        at_s: s(*t),
                        f: f.as_str().to_string(),
                        error: e.clone(),
                    }),
            })
            .collect();
        Stall {
            finding: "client-stall".into(),
            start_s: s(a),
            end_s: s(b),
            duration_s: (b - a) as f64 / NS_PER_S,
            gap_start_s: s(g.from),
            gap_end_s: g.to.map(s),
            processes_stuck: g.procs.len() as u64,
            processes,
        }
    }

    fn recovery(
        &self,
        f: &FaultInterval,
        all: &[FaultInterval],
        healthy: &[(u64, u64)],
        (w0, w1): (u64, u64),
    ) -> Recovery {
        let s = |t: u64| t as f64 / NS_PER_S;
        let mut r = Recovery {
            kind: f.kind.clone(),
            nodes: f.nodes.clone(),
            start_s: s(f.start_ns),
            stop_s: s(f.end_ns),
            heal_s: None,
            ready_after_s: None,
            first_ok_after_heal_s: None,
            pre_fault_ok_per_s: None,
            pre_fault_window_s: None,
            rate_80_after_heal_s: None,
            unknown: Vec::new(),
        };
        // The next fault to begin after this one stopped: what happens
        // after it is that fault's recovery, not this one's.
        let next = all
            .iter()
            .map(|g| g.invoked_ns.min(g.start_ns))
            .filter(|&t| t > f.end_ns)
            .min();
        let before_next = |t: u64| next.is_none_or(|n| t < n);
        // The heal.
        let heal = if self.marks.is_empty() {
            r.unknown
                .push("no observer samples: when the cluster was ready is unknown".into());
            None
        } else if !f.stopped {
            r.unknown
                .push("the fault was never stopped before the history ended".into());
            None
        } else {
            let i = self.marks.partition_point(|m| m.time < f.end_ns);
            match self.marks[i..].iter().find(|m| m.healthy) {
                Some(m) if before_next(m.time) => Some(*m),
                Some(_) => {
                    r.unknown
                        .push("the next fault began before the cluster was ready again".into());
                    None
                }
                None => {
                    r.unknown
                        .push("no observer sample saw the cluster ready after the stop".into());
                    None
                }
            }
        };
        if let Some(h) = heal {
            r.heal_s = Some(s(h.time));
            r.ready_after_s = Some(s(h.time - f.end_ns));
            match h.first_ok.filter(|&t| before_next(t)) {
                Some(t) => r.first_ok_after_heal_s = Some(s(t - h.time)),
                None if h.time >= w1 => r
                    .unknown
                    .push("the workload had ended before the cluster was ready again".into()),
                None => r.unknown.push(format!(
                    "no operation of the workload completed ok after the heal{}",
                    if next.is_some() {
                        " before the next fault"
                    } else {
                        ""
                    }
                )),
            }
        }
        // The rate before the fault: the healthy, fault-free stretch that
        // ends where the fault began, at most 10 s of it.
        let begin = f.invoked_ns.min(f.start_ns);
        let pre = healthy
            .iter()
            .find(|(a, b)| *a < begin && begin <= *b)
            .map(|&(a, _)| {
                a.max(begin.saturating_sub(PRE_FAULT_WINDOW.as_nanos() as u64))
                    .max(w0)
            });
        let rate = match pre {
            None => {
                r.unknown.push(
                    "the cluster was not healthy (or another fault was active) just before the \
                     fault: no pre-fault rate"
                        .into(),
                );
                None
            }
            Some(a) => {
                let (n, ns) = self.count(a, begin);
                if ns < MIN_PRE_FAULT_WINDOW.as_nanos() as u64 {
                    r.unknown.push(format!(
                        "healthy for only {:.1} s before the fault: no pre-fault rate",
                        s(begin - a)
                    ));
                    None
                } else {
                    let rate = n as f64 / s(ns);
                    r.pre_fault_ok_per_s = Some(rate);
                    r.pre_fault_window_s = Some(s(ns));
                    if n == 0 {
                        r.unknown
                            .push("no progress in the window before the fault".into());
                        None
                    } else {
                        Some(rate)
                    }
                }
            }
        };
        // Back to 80 % of it: the first 1 s window from the heal on, before
        // the next fault begins and the workload ends.
        if let (Some(h), Some(rate)) = (heal.filter(|h| h.time < w1), rate) {
            let limit = next.unwrap_or(u64::MAX).min(w1);
            let win = RATE_WINDOW.as_nanos() as u64;
            let target = RECOVERED_FRACTION * rate * s(win);
            let nb = win / BUCKET_NS;
            let mut k = h.time.div_ceil(BUCKET_NS);
            let mut found = None;
            while (k + nb) * BUCKET_NS <= limit {
                let n: u64 = (k..k + nb)
                    .map(|j| u64::from(self.buckets.get(j as usize).copied().unwrap_or(0)))
                    .sum();
                if n as f64 >= target {
                    found = Some(k * BUCKET_NS);
                    break;
                }
                if k as usize >= self.buckets.len() {
                    break;
                }
                k += 1;
            }
            match found {
                Some(t) => r.rate_80_after_heal_s = Some(s(t.saturating_sub(h.time))),
                None => r.unknown.push(format!(
                    "the rate did not reach 80 % of {rate:.1}/s before {}",
                    if limit < w1 {
                        "the next fault"
                    } else {
                        "the workload ended"
                    }
                )),
            }
        }
        r
    }
}

/// `a` minus `b` (both sorted; `a` disjoint).
fn subtract(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(x0, x1) in a {
        let mut cur = x0;
        for &(y0, y1) in b {
            if y1 <= cur || y0 >= x1 {
                continue;
            }
            if y0 > cur {
                out.push((cur, y0));
            }
            cur = cur.max(y1);
            if cur >= x1 {
                break;
            }
        }
        if cur < x1 {
            out.push((cur, x1));
        }
    }
    out
}

/// `client-stall: 1 (32.1 s, 14.8–46.9 s, 3 processes stuck); recovery
/// after heal: first op p50 0.4 s, max 2.1 s (4 of 5 faults); 80 % rate
/// p50 1.2 s, max 5.0 s (3 of 5)`.
pub fn summary_line(r: &ProgressResults) -> String {
    if !r.observed {
        return "no observer samples: client stalls and recovery times unknown".into();
    }
    let mut s = match r.stalls.iter().max_by(|a, b| a.duration_s.total_cmp(&b.duration_s)) {
        None => format!(
            "no client stall (no progress for > {:.0} s in a healthy cluster; longest {})",
            r.threshold_s,
            r.longest_healthy_without_ok_s
                .map_or("under 1 s".to_string(), |l| format!("{l:.1} s"))
        ),
        Some(l) => format!(
            "CLIENT-STALL: {} (longest {:.1} s, {:.1}–{:.1} s, {} process(es) stuck; threshold {:.0} s)",
            r.stalls.len(),
            l.duration_s,
            l.start_s,
            l.end_s,
            l.processes_stuck,
            r.threshold_s
        ),
    };
    let n = r.recovery.len();
    if n > 0 {
        let part = |name: &str, x: &Option<Spread>| match x {
            Some(q) => format!(
                "{name} p50 {:.1} s, max {:.1} s ({} of {n})",
                q.p50, q.max, q.n
            ),
            None => format!("{name} unknown (0 of {n})"),
        };
        s.push_str(&format!(
            "; recovery after heal: {}, {}",
            part("first op", &r.first_ok_after_heal_s),
            part("80 % rate", &r.rate_80_after_heal_s)
        ));
    }
    s
}

#[cfg(test)]
mod tests;
