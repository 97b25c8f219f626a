//! Counts, availability over time, latencies, and the fault windows.

use crate::fx::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trial_histories::OpType;

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
}

/// Accumulates stats while a history streams by.
#[derive(Default)]
pub struct StatsCollector {
    by_f: FxHashMap<String, (FStats, Vec<u64>)>,
    windows: Vec<(u64, u64)>, // (completed, ok) per second
    open_faults: BTreeMap<String, u64>,
    faults: Vec<FaultWindow>,
    during: DuringFaults,
    fault_ns: u64,
    /// When the set of active faults last became non-empty.
    active_since: Option<u64>,
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
        if !self.by_f.contains_key(f) {
            self.by_f.insert(f.to_string(), Default::default());
        }
        self.by_f.get_mut(f).expect("just inserted")
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
            if !self.open_faults.is_empty() {
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

    /// A nemesis op completed: `start-X` opens a fault window of kind X,
    /// `stop-X` closes it, `heal` closes every window.
    pub fn nemesis(&mut self, f: &str, time: u64) {
        self.last_time = self.last_time.max(time);
        if let Some(kind) = f.strip_prefix("start-") {
            if self.open_faults.is_empty() {
                self.active_since = Some(time);
            }
            self.open_faults.entry(kind.to_string()).or_insert(time);
        } else if let Some(kind) = f.strip_prefix("stop-") {
            if let Some(start) = self.open_faults.remove(kind) {
                self.close(kind.to_string(), start, time);
            }
        } else if f == "heal" {
            let open = std::mem::take(&mut self.open_faults);
            for (k, start) in open {
                self.close(k, start, time);
            }
        }
    }

    fn close(&mut self, kind: String, start: u64, end: u64) {
        self.faults.push(FaultWindow {
            kind,
            start_s: start as f64 / 1e9,
            end_s: end as f64 / 1e9,
        });
        if self.open_faults.is_empty() {
            if let Some(s) = self.active_since.take() {
                self.fault_ns += end.saturating_sub(s);
            }
        }
    }

    pub fn note_time(&mut self, t: u64) {
        self.last_time = self.last_time.max(t);
    }

    pub fn finish(mut self) -> Stats {
        let end = self.last_time;
        let open = std::mem::take(&mut self.open_faults);
        for (k, start) in open {
            self.close(k, start, end);
        }
        self.faults
            .sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.kind.cmp(&b.kind)));
        let mut by_f = BTreeMap::new();
        for (f, (mut st, mut lat)) in self.by_f {
            if !lat.is_empty() {
                lat.sort_unstable();
                let q = |p: f64| {
                    let i = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1;
                    lat[i] as f64 / 1e6
                };
                st.latency_ms = Some(Latency {
                    p50: q(0.50),
                    p90: q(0.90),
                    p99: q(0.99),
                    max: *lat.last().unwrap_or(&0) as f64 / 1e6,
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
        during.fault_seconds = self.fault_ns as f64 / 1e9;
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
            faults: self.faults,
            during_faults: during,
            duration_s: end as f64 / 1e9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        s.nemesis("start-partition", 2 * NS_PER_S);
        s.completed("send", OpType::Fail, true, 2 * NS_PER_S + 1, Some(5));
        s.completed("poll", OpType::Ok, true, 2 * NS_PER_S + 2, Some(5));
        s.nemesis("heal", 3 * NS_PER_S);
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
