//! Counts, availability over time, latencies, and the fault windows.

use crate::checker::{Checker, CheckerOutput, Context, Invocation};
use crate::{CheckError, CheckOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trial_histories::{FaultTracker, Op, OpType, Process};

const NS_PER_S: u64 = 1_000_000_000;

/// Latency quantiles in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Outcomes of one function.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct FStats {
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    /// Invoked and never completed (treated like `info`).
    pub unfinished: u64,
    /// Of completed invocations (absent for events that have no invocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
}

/// A time during which the nemesis had a fault active.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultWindow {
    pub kind: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// Client availability per window.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Availability {
    pub window_s: f64,
    /// `[window start (s), fraction of completed client ops that were ok,
    /// completed client ops]`; windows with no completions are left out.
    pub windows: Vec<(f64, f64, u64)>,
    /// Over the whole history.
    pub overall: f64,
}

/// Client operations that completed while some fault was active.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct DuringFaults {
    pub completed: u64,
    pub ok: u64,
    /// Total seconds during which at least one fault was active.
    pub fault_seconds: f64,
}

/// The stats part of results.json.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Stats {
    pub by_f: BTreeMap<String, FStats>,
    pub availability: Availability,
    pub faults: Vec<FaultWindow>,
    pub during_faults: DuringFaults,
    /// Time of the last op, in seconds.
    pub duration_s: f64,
    /// The fault intervals with the nodes they hit (for the promise
    /// model's exposure); not written to results.json (`faults` has the
    /// windows).
    #[serde(skip)]
    pub fault_intervals: trial_histories::FaultIntervals,
}

/// Accumulates stats while a history streams by.
#[derive(Default)]
pub struct StatsCollector {
    /// Per `f` (a handful of names: a list searched in order is cheaper
    /// than hashing the name of every op).
    by_f: Vec<(String, (FStats, Vec<u64>))>,
    windows: Vec<(u64, u64)>, // (completed, ok) per second
    /// The one fault-interval computation (trial_histories::faults).
    faults: FaultTracker,
    during: DuringFaults,
    last_time: u64,
}

/// Is `f` a client data operation (counted for availability)?
pub fn is_client_data(f: &str) -> bool {
    matches!(f, "send" | "poll" | "txn")
}

impl StatsCollector {
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&mut self, f: &str) -> &mut (FStats, Vec<u64>) {
        let i = match self.by_f.iter().position(|e| e.0 == f) {
            Some(i) => i,
            None => {
                self.by_f.push((f.to_string(), Default::default()));
                self.by_f.len() - 1
            }
        };
        &mut self.by_f[i].1
    }

    /// A completion (or a standalone event such as a crash): `latency` is
    /// None for events without an invocation.
    pub fn completed(
        &mut self,
        f: &str,
        kind: OpType,
        client: bool,
        time: u64,
        latency: Option<u64>,
    ) {
        self.last_time = self.last_time.max(time);
        let e = self.entry(f);
        match kind {
            OpType::Ok => e.0.ok += 1,
            OpType::Fail => e.0.fail += 1,
            _ => e.0.info += 1,
        }
        if let Some(l) = latency {
            e.1.push(l);
        }
        if client && is_client_data(f) {
            let s = (time / NS_PER_S) as usize;
            if s >= self.windows.len() {
                self.windows.resize(s + 1, (0, 0));
            }
            self.windows[s].0 += 1;
            if kind == OpType::Ok {
                self.windows[s].1 += 1;
            }
            if self.faults.active() {
                self.during.completed += 1;
                if kind == OpType::Ok {
                    self.during.ok += 1;
                }
            }
        }
    }

    /// An invocation that never completed.
    pub fn unfinished(&mut self, f: &str) {
        self.entry(f).0.unfinished += 1;
    }

    /// A nemesis op (its completion opens or closes fault windows by the
    /// rules of [`trial_histories::faults`]).
    pub fn nemesis(&mut self, op: &Op) {
        self.last_time = self.last_time.max(op.time);
        self.faults.push(op);
    }

    pub fn note_time(&mut self, t: u64) {
        self.last_time = self.last_time.max(t);
    }

    pub fn finish(self) -> Stats {
        let end = self.last_time;
        let intervals = self.faults.finish(end);
        let faults = intervals
            .intervals
            .iter()
            .map(|f| FaultWindow {
                kind: f.kind.clone(),
                start_s: f.start_ns as f64 / 1e9,
                end_s: f.end_ns as f64 / 1e9,
            })
            .collect();
        let mut by_f = BTreeMap::new();
        for (f, (mut st, mut lat)) in self.by_f {
            if !lat.is_empty() {
                // Selection, not a sort: a few quantiles of up to millions.
                let mut q = |p: f64| {
                    let i = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1;
                    *lat.select_nth_unstable(i).1 as f64 / 1e6
                };
                st.latency_ms = Some(Latency {
                    p50: q(0.50),
                    p90: q(0.90),
                    p99: q(0.99),
                    max: q(1.0),
                });
            }
            by_f.insert(f, st);
        }
        let (mut tot, mut ok) = (0u64, 0u64);
        let windows = self
            .windows
            .iter()
            .enumerate()
            .filter(|(_, w)| w.0 > 0)
            .map(|(s, w)| {
                tot += w.0;
                ok += w.1;
                (s as f64, w.1 as f64 / w.0 as f64, w.0)
            })
            .collect();
        let mut during = self.during;
        during.fault_seconds = intervals.active_ns as f64 / 1e9;
        Stats {
            by_f,
            availability: Availability {
                window_s: 1.0,
                windows,
                overall: if tot == 0 {
                    0.0
                } else {
                    ok as f64 / tot as f64
                },
            },
            faults,
            during_faults: during,
            duration_s: end as f64 / 1e9,
            fault_intervals: intervals,
        }
    }
}

/// `stats` as a checker of the pairing pass. It judges one thing: faults
/// must have met a working system (no vacuous pass), else `unknown`.
pub struct StatsFeed {
    stats: StatsCollector,
    min_ok_fraction_during_faults: f64,
}

pub(crate) fn make(opts: &CheckOptions) -> Box<dyn Checker> {
    Box::new(StatsFeed {
        stats: StatsCollector::new(),
        min_ok_fraction_during_faults: opts.min_ok_fraction_during_faults,
    })
}

impl Checker for StatsFeed {
    fn name(&self) -> &'static str {
        "stats"
    }

    fn invoke(&mut self, op: &Op, _cx: &Context) -> Result<(), CheckError> {
        self.stats.note_time(op.time);
        Ok(())
    }

    fn complete(
        &mut self,
        invoke: Option<&Invocation>,
        op: &Op,
        cx: &Context,
    ) -> Result<(), CheckError> {
        let latency = invoke.map(|p| op.time.saturating_sub(p.time));
        self.stats
            .completed(op.f.as_str(), op.kind, cx.worker, op.time, latency);
        if op.process == Process::Nemesis {
            self.stats.nemesis(op);
        }
        Ok(())
    }

    fn unfinished(&mut self, p: &Invocation) {
        self.stats.unfinished(p.f.as_str());
    }

    fn finish(self: Box<Self>) -> CheckerOutput {
        let stats = self.stats.finish();
        let mut out = CheckerOutput::new("stats", &());
        // No vacuous pass: faults must have met a working system.
        let df = &stats.during_faults;
        if df.fault_seconds > 0.0 {
            if df.completed == 0 {
                out.unknown_reasons.push(format!(
                    "faults were active for {:.1} s but no client operation completed meanwhile",
                    df.fault_seconds
                ));
            } else if (df.ok as f64) < self.min_ok_fraction_during_faults * df.completed as f64
                || df.ok == 0
            {
                out.unknown_reasons.push(format!(
                    "only {} of {} client operations that completed while faults were active \
                     were ok ({:.2}% < {:.2}%): the faults did not meet a working system",
                    df.ok,
                    df.completed,
                    100.0 * df.ok as f64 / df.completed as f64,
                    100.0 * self.min_ok_fraction_during_faults
                ));
            }
        }
        if !out.unknown_reasons.is_empty() {
            out.validity = crate::Validity::Unknown;
        }
        out.typed = Some(Box::new(stats));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nem(f: &str, time: u64) -> Op {
        let mut op = Op::new(Process::Nemesis, OpType::Info, f);
        op.time = time;
        op
    }

    #[test]
    fn quantiles_windows_and_faults() {
        let mut s = StatsCollector::new();
        for i in 1..=100u64 {
            s.completed(
                "send",
                OpType::Ok,
                true,
                i * 10_000_000,
                Some(i * 1_000_000),
            );
        }
        s.nemesis(&nem("start-partition", 2 * NS_PER_S));
        s.completed("send", OpType::Fail, true, 2 * NS_PER_S + 1, Some(5));
        s.completed("poll", OpType::Ok, true, 2 * NS_PER_S + 2, Some(5));
        s.nemesis(&nem("heal", 3 * NS_PER_S));
        s.unfinished("send");
        let st = s.finish();
        let send = &st.by_f["send"];
        assert_eq!((send.ok, send.fail, send.unfinished), (100, 1, 1));
        let l = send.latency_ms.as_ref().unwrap();
        assert_eq!(l.max, 100.0);
        assert_eq!(l.p50, 50.0);
        assert_eq!(l.p99, 99.0);
        assert_eq!(st.faults.len(), 1);
        assert_eq!(st.during_faults.completed, 2);
        assert_eq!(st.during_faults.ok, 1);
        assert_eq!(st.during_faults.fault_seconds, 1.0);
        assert_eq!(st.availability.windows[0], (0.0, 1.0, 99));
    }
}
