//! The verdict and its evidence: the shape of `results.json`.
//!
//! Other parts of kafka-trial (the run store, the HTML report) read this
//! shape; keep field names stable and only ever add optional fields.
//! The vocabulary (validity, anomaly reports, classes) lives in
//! [`crate::verdict`] and is re-exported here.

use crate::linear::LinearResult;
use crate::promises::{Judge, Judgement, PromiseResults};
use crate::queue::QueueResults;
use crate::stats::Stats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::verdict::{
    anomaly_definitions, class, definition, exit_code, AnomalyReport, Example, Validity,
};

/// What each checker found.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct CheckerResults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueResults>,
    #[serde(default)]
    pub stats: Stats,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linearizable: Option<LinearResult>,
    /// Every other checker of the pairing pass, by name (`effects`, …):
    /// its JSON body, with its one-line `summary` if it has one.
    #[serde(flatten)]
    pub other: BTreeMap<String, CheckerBody>,
}

/// The results of a checker as JSON text: written as is into results.json
/// (building a JSON tree of a large body would cost more than the check).
#[derive(Debug, Clone)]
pub struct CheckerBody {
    pub json: Box<serde_json::value::RawValue>,
    /// Its one-line summary (the body's top-level `summary`).
    pub summary: Option<String>,
}

impl CheckerBody {
    /// The body in a typed shape.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.json.get())
    }
}

impl Serialize for CheckerBody {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl<'de> Deserialize<'de> for CheckerBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through a tree: `RawValue` cannot come out of a flattened map.
        let v = serde_json::Value::deserialize(d)?;
        let summary = v
            .get("summary")
            .and_then(|s| s.as_str())
            .map(str::to_string);
        serde_json::value::to_raw_value(&v)
            .map(|json| CheckerBody { json, summary })
            .map_err(serde::de::Error::custom)
    }
}

/// The whole verdict: written to `results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub valid: Validity,
    /// One line a person reads.
    pub summary: String,
    /// Every anomaly class the checkers know, with its count (0 included).
    pub anomaly_counts: BTreeMap<String, u64>,
    /// Why the verdict is `unknown` (may be non-empty with `valid: false`:
    /// the anomalies decide, the reasons still say what was not checked).
    pub unknown_reasons: Vec<String>,
    pub checkers: CheckerResults,
    /// Number of ops in the history.
    pub ops: u64,
    /// Problems met while reading that did not stop the check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why the verdict, even `valid`, is weak evidence: the harness's own
    /// findings (a `client-stall`: the workload made no progress for longer
    /// than its timeouts allow while the cluster was healthy). They change
    /// neither `valid` nor the exit code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weak_evidence: Vec<String>,
    /// What Kafka promised for the run's configuration and whether it kept
    /// it (`crate::promises`). Absent for Jepsen EDN linearizability checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promises: Option<PromiseResults>,
    /// The client model the checker assumed ([`crate::ClientModel`]):
    /// present for a Jepsen history and whenever it was not the default
    /// (`kafka-trial`), so the suite's own results.json are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_model: Option<crate::ClientModel>,
}

impl Results {
    /// 0 valid, 1 anomalies found, 2 unknown.
    pub fn exit_code(&self) -> u8 {
        self.valid.exit_code()
    }

    /// The exit code under a judge: `Anomalies` is [`Results::exit_code`];
    /// `Promises` is 1 when a promise was broken, else 2 when the anomaly
    /// verdict is unknown, the configuration was unknown or there is no
    /// promise verdict, else 0.
    pub fn exit_code_judged(&self, judge: Judge) -> u8 {
        match judge {
            Judge::Anomalies => self.exit_code(),
            Judge::Promises => match &self.promises {
                Some(p) if !p.kept => exit_code::ANOMALIES,
                Some(p) if p.configuration_known && self.valid != Validity::Unknown => {
                    exit_code::VALID
                }
                _ => exit_code::UNKNOWN,
            },
        }
    }

    /// The report of a class: the queue checker's, else another checker's.
    fn report<'a>(
        &'a self,
        others: &'a BTreeMap<String, AnomalyReport>,
        class: &str,
    ) -> Option<&'a AnomalyReport> {
        self.checkers
            .queue
            .as_ref()
            .and_then(|q| q.anomalies.get(class))
            .or_else(|| others.get(class))
    }

    /// Every class with a non-zero count that is evidence, with its count
    /// and its report's `permitted` reason: all but the purely
    /// informational ones (an `unseen` while some final read was
    /// incomplete).
    pub fn evidence(&self) -> Vec<(String, u64, Option<String>)> {
        let others = self.other_reports();
        self.anomaly_counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .filter_map(|(c, n)| {
                let rep = self.report(&others, c);
                match rep {
                    Some(r) if r.informational && r.permitted.is_none() => None,
                    _ => Some((c.clone(), *n, rep.and_then(|r| r.permitted.clone()))),
                }
            })
            .collect()
    }

    /// The results of a checker of the pairing pass other than `queue`
    /// and `stats` (`checkers.<name>`), in its typed shape (e.g.
    /// `results.checker::<trial_checkers::effects::EffectsResults>("effects")`).
    pub fn checker<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.checkers.other.get(name).and_then(|b| b.parse().ok())
    }

    /// The anomaly reports of the checkers other than `queue` that keep
    /// them in their body (`checkers.<name>.anomalies`, e.g. `group`), by
    /// class.
    pub fn other_reports(&self) -> BTreeMap<String, AnomalyReport> {
        #[derive(Deserialize)]
        struct Anomalies {
            #[serde(default)]
            anomalies: BTreeMap<String, AnomalyReport>,
        }
        self.checkers
            .other
            .values()
            // (A body without the key has none: no parse of, say, the
            // effects checker's list of every fault.)
            .filter(|b| b.json.get().contains("\"anomalies\""))
            .filter_map(|b| b.parse::<Anomalies>().ok())
            .flat_map(|a| a.anomalies)
            .collect()
    }

    /// Non-informational anomaly classes with a non-zero count.
    pub fn anomalies_found(&self) -> Vec<(&str, u64)> {
        let others = self.other_reports();
        let informational = |c: &str| {
            self.checkers
                .queue
                .as_ref()
                .and_then(|q| q.anomalies.get(c))
                .or_else(|| others.get(c))
                .is_some_and(|a| a.informational)
        };
        self.anomaly_counts
            .iter()
            .filter(|(c, n)| **n > 0 && !informational(c))
            .map(|(c, n)| (c.as_str(), *n))
            .collect()
    }

    /// A short human summary (a few lines): verdict, each non-zero anomaly
    /// class with its count and up to `examples` examples, unknown reasons.
    pub fn human_summary(&self, examples: usize) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "{}", self.summary);
        if let Some(p) = &self.promises {
            let _ = writeln!(s, "{}", p.headline);
        }
        let others = self.other_reports();
        for (class, n) in &self.anomaly_counts {
            if *n == 0 {
                continue;
            }
            let rep = self.report(&others, class);
            let judged = self.promises.as_ref().and_then(|p| p.classes.get(class));
            let mark = match (judged, rep) {
                (Some(j), _) => match &j.judgement {
                    Judgement::BrokenPromise { promise, .. } => {
                        format!(" — broken promise ({promise})")
                    }
                    Judgement::Permitted { reason } => {
                        format!(" — permitted by this configuration: {reason}")
                    }
                },
                (None, Some(r)) if r.permitted.is_some() => format!(
                    " — permitted by this configuration: {}",
                    r.permitted.as_deref().unwrap_or_default()
                ),
                (None, Some(r)) if r.informational => " (informational)".to_string(),
                _ => String::new(),
            };
            let _ = writeln!(s, "  {class}: {n}{mark}");
            if let Some(rep) = rep {
                for e in rep.examples.iter().take(examples) {
                    let _ = writeln!(s, "    e.g. {} (ops {:?})", e.message, e.ops);
                }
            }
        }
        if let Some(l) = &self.checkers.linearizable {
            let _ = writeln!(s, "  {}", l.summary_line());
        }
        for (name, body) in &self.checkers.other {
            if let Some(line) = &body.summary {
                let _ = writeln!(s, "  {name}: {line}");
            }
        }
        for r in &self.unknown_reasons {
            let _ = writeln!(s, "  unknown: {r}");
        }
        for r in &self.weak_evidence {
            let _ = writeln!(s, "  weak evidence: {r}");
        }
        for w in &self.warnings {
            let _ = writeln!(s, "  warning: {w}");
        }
        s
    }
}
