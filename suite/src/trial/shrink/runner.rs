//! The real candidate runner (one trial on a fresh cluster per run) and
//! what a run's results say about the target.

use super::{CandidateRunner, RunOutcome, ShrinkTarget};
use crate::trial::{Report, TestSpec};
use anyhow::{bail, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trial_checkers::promises::Judgement;
use trial_checkers::{Judge, Results};

/// Each run is [`crate::trial::run`]: a fresh cluster, the candidate's
/// faults, heal, final reads, the check; an ordinary run folder.
pub struct TrialRunner {
    pub store: PathBuf,
}

#[async_trait::async_trait]
impl CandidateRunner for TrialRunner {
    async fn run(&mut self, spec: &TestSpec) -> RunOutcome {
        let t = Instant::now();
        match crate::trial::run(spec.clone()).await {
            Ok(report) => {
                let mut o = outcome_of(&self.store, &report);
                o.elapsed_s = t.elapsed().as_secs_f64();
                o
            }
            Err(e) => RunOutcome {
                error: Some(format!("{e:#}")),
                elapsed_s: t.elapsed().as_secs_f64(),
                ..RunOutcome::default()
            },
        }
    }
}

/// The classes a run's results show (evidence: a non-zero count, an
/// informational `unseen` left out; permitted by the configuration or
/// not: acks=1 permits `lost-write`, and it is still what a shrink of an
/// acks=1 run looks for), and the promises it broke.
pub fn findings(results: &Results) -> (BTreeSet<String>, BTreeSet<String>) {
    let classes = results.evidence().into_iter().map(|(c, _, _)| c).collect();
    let broken = results
        .promises
        .iter()
        .flat_map(|p| p.classes.values())
        .filter_map(|j| match &j.judgement {
            Judgement::BrokenPromise { promise, .. } => Some(promise.clone()),
            Judgement::Permitted { .. } => None,
        })
        .collect();
    (classes, broken)
}

/// A finished trial as a candidate's run.
pub fn outcome_of(store: &Path, report: &Report) -> RunOutcome {
    let (classes, broken_promises) = findings(&report.results);
    RunOutcome {
        classes,
        broken_promises,
        run: Some(crate::trial::claims::relative(store, &report.run_dir)),
        elapsed_s: 0.0,
        error: None,
        interrupted: report.interrupted,
    }
}

/// Data loss first: the classes a bug report is most often about.
const FIRST: [&str; 2] = ["lost-write", "inconsistent-offsets"];

/// Of the classes the checkers did not permit (`forbidden`): one whose
/// finding broke a promise, else lost or rewritten acknowledged writes,
/// else the first in results.json's (alphabetical) order.
fn default_class(results: &Results, forbidden: &BTreeSet<String>) -> Option<String> {
    let broke = |c: &String| {
        results
            .promises
            .as_ref()
            .is_some_and(|p| p.classes.get(c).is_some_and(|j| j.judgement.is_broken()))
    };
    let rank = |c: &String| {
        (
            !broke(c),
            FIRST.iter().position(|f| f == c).unwrap_or(FIRST.len()),
        )
    };
    forbidden.iter().min_by_key(|c| rank(c)).cloned()
}

/// The target of a shrink of a run with these results: `class` when
/// given (it must be among the run's findings), else under `--judge
/// promises` the first broken promise, else a class the checkers do not
/// permit ([`default_class`]: a broken promise's, then data loss). An
/// error names what the run showed.
pub fn target_of(results: &Results, judge: Judge, class: Option<&str>) -> Result<ShrinkTarget> {
    let (all, broken) = findings(results);
    let forbidden: BTreeSet<String> = results
        .evidence()
        .into_iter()
        .filter(|(_, _, permitted)| permitted.is_none())
        .map(|(c, _, _)| c)
        .collect();
    let shown = || {
        if all.is_empty() {
            "none".to_string()
        } else {
            all.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    if let Some(c) = class {
        if !all.contains(c) {
            bail!(
                "the run did not show {c:?} (its anomaly classes: {})",
                shown()
            );
        }
        return Ok(ShrinkTarget::Class(c.to_string()));
    }
    if judge == Judge::Promises {
        return match broken.iter().next() {
            Some(p) => Ok(ShrinkTarget::Promise(p.clone())),
            None => bail!(
                "the run broke no promise (its anomaly classes: {}); --class CLASS shrinks one of them",
                shown()
            ),
        };
    }
    match default_class(results, &forbidden) {
        Some(c) => Ok(ShrinkTarget::Class(c)),
        None => bail!(
            "the run showed no anomaly its configuration forbids (its anomaly classes: {}); --class CLASS shrinks one of them",
            shown()
        ),
    }
}
