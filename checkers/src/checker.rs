//! Pluggable checkers over one pairing pass.
//!
//! [`crate::ingest`] reads a history once, pairs every completion with its
//! invocation (the one rule: [`trial_histories::Outstanding`]) and feeds
//! each checker that is on. A checker sees invocations, completions with
//! their invocation, and at the end the invocations that never completed;
//! it returns a [`CheckerOutput`]: its verdict, anomaly counts, unknown
//! reasons and its part of `results.json` (`checkers.<name>`).
//!
//! Adding a checker: write its module (a type implementing [`Checker`]) and
//! add one line to [`REGISTRY`]. `checkers/README.md` has the recipe.

use crate::{CheckError, CheckOptions};
use std::any::Any;
use std::collections::BTreeMap;
use std::path::Path;
use trial_histories::{Op, F};

use crate::verdict::Validity;

/// A process as the checkers key it: a worker's number, or a number at or
/// above 2^63 for a named process (`nemesis`, `final`, `observer`, …).
pub type ProcKey = u64;

/// An invocation as the pass keeps it while it is outstanding (compact: no
/// value; a checker that needs the invocation's value keeps what it needs
/// from [`Checker::invoke`]).
#[derive(Debug, Clone)]
pub struct Invocation {
    pub f: F,
    pub index: u64,
    pub time: u64,
    pub process: ProcKey,
    /// The partition of a `final-read` invocation (-1 if it has none).
    pub partition: i32,
}

/// Where the pass is: for error messages that name the line.
pub struct Context<'a> {
    pub path: &'a Path,
    /// 1-based line of the op being fed.
    pub line: u64,
    /// The op's process.
    pub process: ProcKey,
    /// Is the op's process a client worker (a numeric process)?
    pub worker: bool,
    /// A `send` op's value decoded once for every checker by the
    /// allocation-free decoder: (value, partition, offset). `None` for other
    /// ops, or when the value needs serde (which then also gives the error).
    pub send: Option<(u64, Option<i32>, Option<i64>)>,
    /// A `poll`'s records, when the parallel pass already decoded them with
    /// the allocation-free decoder ([`crate::decode::poll`] succeeded on
    /// the value). `None`: decode the value yourself (not decoded, or not
    /// that shape).
    pub records: Option<&'a [trial_histories::values::Record]>,
}

impl Context<'_> {
    /// The error for an op whose value does not have the shape its `f`
    /// requires.
    pub fn bad_value(&self, op: &Op, e: serde_json::Error) -> CheckError {
        CheckError::Value {
            path: self.path.to_path_buf(),
            line: self.line,
            index: op.index,
            f: op.f.to_string(),
            message: e.to_string(),
        }
    }
}

/// A checker fed by the one pairing pass.
pub trait Checker: Send {
    /// Its key in `results.json` (`checkers.<name>`).
    fn name(&self) -> &'static str;
    /// A named process got its key (before its first op is fed).
    fn name_process(&mut self, _key: ProcKey, _name: &str) {}
    /// An invocation (pairing accepted it).
    fn invoke(&mut self, _op: &Op, _cx: &Context) -> Result<(), CheckError> {
        Ok(())
    }
    /// A completion with its invocation, or a standalone event (`crash`,
    /// `rebalance`) with `None`.
    fn complete(
        &mut self,
        invoke: Option<&Invocation>,
        op: &Op,
        cx: &Context,
    ) -> Result<(), CheckError>;
    /// End of history: an invocation that never completed (in index order).
    fn unfinished(&mut self, _invoke: &Invocation) {}
    /// The end of the pass.
    fn finish(self: Box<Self>) -> CheckerOutput;
}

/// What a checker found.
pub struct CheckerOutput {
    pub name: &'static str,
    /// `Valid` when the checker found nothing against the history (a
    /// checker that only measures says `Valid`).
    pub validity: Validity,
    /// Counts per anomaly class (merged into `anomaly_counts`).
    pub anomaly_counts: BTreeMap<String, u64>,
    /// Classes of `anomaly_counts` reported but not counted against
    /// validity (permitted by the run's configuration): left out of the
    /// classes the run's summary names as found.
    pub informational: Vec<String>,
    /// Why it could not decide (merged into `unknown_reasons`).
    pub unknown_reasons: Vec<String>,
    /// Merged into `warnings`.
    pub warnings: Vec<String>,
    /// Why a `valid` verdict is weak evidence (the harness's findings, e.g.
    /// a client stall): merged into `weak_evidence`; they change neither
    /// the verdict nor the exit code.
    pub weak_evidence: Vec<String>,
    /// `checkers.<name>` in results.json, as JSON text (ignored for the
    /// checkers whose typed result `Results` holds: `queue`, `stats`).
    pub body: Box<serde_json::value::RawValue>,
    /// The one line that `Results::human_summary` prints for the checker;
    /// also put it in the body as a top-level `summary` (a results.json read
    /// back finds it there).
    pub summary: Option<String>,
    /// The typed result, for the assembly of the verdict.
    pub typed: Option<Box<dyn Any + Send>>,
}

impl CheckerOutput {
    /// An output with nothing but a name and a body (serialised here, once:
    /// cheaper than a JSON tree for large bodies).
    pub fn new<T: serde::Serialize + ?Sized>(name: &'static str, body: &T) -> Self {
        CheckerOutput {
            name,
            validity: Validity::Valid,
            anomaly_counts: BTreeMap::new(),
            informational: Vec::new(),
            unknown_reasons: Vec::new(),
            warnings: Vec::new(),
            weak_evidence: Vec::new(),
            body: serde_json::value::to_raw_value(body)
                .unwrap_or_else(|_| serde_json::value::to_raw_value(&()).expect("null")),
            summary: None,
            typed: None,
        }
    }
}

/// One registered checker: its name and how to make one for a check.
#[derive(Clone, Copy)]
pub struct Registration {
    pub name: &'static str,
    pub make: fn(&CheckOptions) -> Box<dyn Checker>,
}

/// Every checker of the pairing pass, in the order their outputs are
/// merged (unknown reasons keep this order). One line per checker.
pub const REGISTRY: &[Registration] = &[
    Registration {
        name: "queue",
        make: crate::queue::feed::make,
    },
    Registration {
        name: "stats",
        make: crate::stats::make,
    },
    Registration {
        name: "effects",
        make: crate::effects::make,
    },
    Registration {
        name: "group",
        make: crate::group::make,
    },
    Registration {
        name: "progress",
        make: crate::progress::make,
    },
];

/// The registered checkers that `opts` leaves on.
pub fn enabled<'a>(
    registry: &'a [Registration],
    opts: &'a CheckOptions,
) -> impl Iterator<Item = &'a Registration> + 'a {
    registry
        .iter()
        .filter(|r| !opts.skip_checkers.iter().any(|s| s == r.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{simulate, SimConfig};
    use serde_json::json;

    /// A trivial checker: counts completions.
    #[derive(Default)]
    struct CountCompletions {
        n: u64,
    }

    impl Checker for CountCompletions {
        fn name(&self) -> &'static str {
            "count-completions"
        }
        fn complete(
            &mut self,
            _: Option<&Invocation>,
            _: &Op,
            _: &Context,
        ) -> Result<(), CheckError> {
            self.n += 1;
            Ok(())
        }
        fn finish(self: Box<Self>) -> CheckerOutput {
            let summary = format!("{} completions", self.n);
            let mut out = CheckerOutput::new(
                self.name(),
                &json!({ "completions": self.n, "summary": summary }),
            );
            out.summary = Some(summary);
            out
        }
    }

    #[test]
    fn a_new_checker_is_one_registration_line() {
        let registry: Vec<Registration> = REGISTRY
            .iter()
            .copied()
            .chain([Registration {
                name: "count-completions",
                make: |_| Box::<CountCompletions>::default(),
            }])
            .collect();
        let ops = simulate(&SimConfig {
            observer: true,
            ..SimConfig::default()
        });
        let opts = CheckOptions::default();
        let r = crate::check_ops_with(&ops, &opts, &registry).unwrap();
        let completions = ops.iter().filter(|o| o.kind.is_completion()).count() as u64;
        let doc = serde_json::to_value(&r).unwrap();
        assert_eq!(
            doc["checkers"]["count-completions"],
            json!({ "completions": completions, "summary": format!("{completions} completions") })
        );
        // The others are unchanged by it.
        let plain = crate::check_ops(&ops, &opts).unwrap();
        assert_eq!(r.valid, plain.valid);
        assert_eq!(
            doc["checkers"]["queue"],
            serde_json::to_value(&plain).unwrap()["checkers"]["queue"]
        );
        assert!(doc["checkers"]["effects"].is_object());
        assert!(r
            .human_summary(0)
            .contains(&format!("count-completions: {completions} completions")));
        // A checker can be turned off by name.
        let off = CheckOptions {
            skip_checkers: vec!["effects".into(), "count-completions".into()],
            ..CheckOptions::default()
        };
        let r_off = crate::check_ops_with(&ops, &off, &registry).unwrap();
        assert!(!r_off.checkers.other.contains_key("effects"));
        assert!(!r_off.checkers.other.contains_key("count-completions"));
        // results.json round-trips with the extra checkers.
        let back: crate::Results = serde_json::from_value(doc).unwrap();
        assert_eq!(
            back.checkers.other["count-completions"].summary,
            Some(format!("{completions} completions"))
        );
        assert_eq!(back.human_summary(0), r.human_summary(0));
    }
}
