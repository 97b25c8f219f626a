//! Clock skew through libfaketime: write an offset (e.g. `+30s`, `-120s`)
//! to the faketime file of each target; `strobe` alternates offset / `+0`
//! every `strobe_period`, `strobe_count` writes, cancellable (the runner is
//! sequential, so a strobe delays later actions by up to count × period).
//! Stop writes `+0` on the nodes touched; heal writes `+0` where the file
//! says otherwise. The commands are in [`crate::clock`].

use super::ctx::{exec_ok, heal_step, merge, names_json, split, FaultCtx, NodeHealing, PerNode};
use super::{wrong_fault, wrong_undo, Done, FaultBehaviour, Started, Undo};
use crate::clock::{self as cmd, LIBFAKETIME};
use crate::error::PlanError;
use crate::node::{Node, FAKETIME_FILE};
use crate::options::{check_zookeeper_targets, ClockMode, ClockOffset, FaultKind, NemesisOptions};
use crate::requirements::Requirements;
use crate::schedule::{assign_offsets, pick_target, Action, Fault, PlanNodes, Strobe};
use async_trait::async_trait;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Clock;

/// The nodes whose clock a start touched.
struct Touched(BTreeSet<String>);

#[async_trait]
impl FaultBehaviour for Clock {
    fn kind(&self) -> FaultKind {
        FaultKind::Clock
    }

    /// Processes run under libfaketime reading [`FAKETIME_FILE`], created
    /// with `+0` before they start; never `FAKETIME` itself (it would win
    /// over the file); monotonic clocks left alone (the JVM's timers must
    /// not jump).
    fn requirements(&self) -> Requirements {
        Requirements::none()
            .package("faketime")
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME_TIMESTAMP_FILE", FAKETIME_FILE)
            .env("FAKETIME_CACHE_DURATION", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .file(FAKETIME_FILE, "+0\n")
    }

    fn validate(&self, o: &NemesisOptions, _n: usize, zookeeper: usize) -> Result<(), PlanError> {
        check_zookeeper_targets("clock targets", &o.clock_targets, false, zookeeper)?;
        for (what, empty) in [
            ("clock targets", o.clock_targets.is_empty()),
            ("clock modes", o.clock_modes.is_empty()),
            ("clock offsets", o.clock_offsets.is_empty()),
        ] {
            if empty {
                return Err(PlanError::invalid(what, "", "empty list"));
            }
        }
        if let Some(z) = o.clock_offsets.iter().find(|o| o.0 == 0) {
            return Err(PlanError::invalid("clock offset", z, "must not be zero"));
        }
        if o.strobe_count == 0 || o.strobe_count > 100 {
            return Err(PlanError::invalid(
                "strobe count",
                o.strobe_count,
                "must be in 1..=100",
            ));
        }
        Ok(())
    }

    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        o: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError> {
        let (target, ns) = pick_target(nodes, &o.clock_targets, rng);
        let mode = *o.clock_modes.choose(rng).expect("validated non-empty");
        let offsets = ns.map(|ns| assign_offsets(&ns, &o.clock_offsets, rng));
        Ok(Fault::Clock {
            target,
            mode,
            offsets,
            candidates: o.clock_offsets.clone(),
            strobe: (mode == ClockMode::Strobe).then_some(Strobe {
                period_ms: o.strobe_period.as_millis() as u64,
                count: o.strobe_count,
            }),
        })
    }

    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started {
        let Fault::Clock {
            target,
            mode,
            offsets,
            candidates,
            strobe,
        } = &action.fault
        else {
            return Started::nothing(wrong_fault(action));
        };
        let (target, mode) = (*target, *mode);
        let planned = offsets.as_ref().map(|o| o.keys().cloned().collect());
        let (ns, how) = match ctx.resolve(target, &planned, action.seed).await {
            Ok(x) => x,
            Err(e) => return Started::nothing(Done::failed(json!({ "target": target }), e)),
        };
        let offsets = offsets.clone().unwrap_or_else(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(action.seed ^ 0x5eed);
            assign_offsets(&ns, candidates, &mut rng)
        });
        let (period, count) = match (mode, strobe) {
            (ClockMode::Strobe, Some(s)) => (Duration::from_millis(s.period_ms), s.count),
            _ => (Duration::ZERO, 1),
        };
        let ns: BTreeSet<String> = offsets.keys().cloned().collect();
        let offsets = Arc::new(offsets);
        let mut per = PerNode::default();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut writes = 0u32;
        let mut now: BTreeMap<String, ClockOffset> = BTreeMap::new();
        for i in 0..count {
            if i > 0 {
                tokio::select! {
                    biased;
                    _ = ctx.cancelled() => break,
                    _ = tokio::time::sleep(period) => {}
                }
            }
            // Strobe: offset, +0, offset, … ; bump: offset once.
            let zero = i % 2 == 1;
            let offs = offsets.clone();
            let res = ctx
                .on_each(&ns, |n| {
                    let o = if zero {
                        ClockOffset::ZERO
                    } else {
                        offs.get(n.name()).copied().unwrap_or(ClockOffset::ZERO)
                    };
                    async move {
                        exec_ok(n.as_ref(), &cmd::write_offset_argv(o)).await?;
                        Ok(o)
                    }
                })
                .await;
            writes += 1;
            for (n, r) in res {
                match r {
                    Ok(o) => {
                        touched.insert(n.clone());
                        now.insert(n, o);
                    }
                    Err(e) => per.fail(&n, e),
                }
            }
            if !per.errors.is_empty() {
                break;
            }
        }
        let mut value = json!({
            "target": target,
            "mode": mode,
            "offsets": &*offsets,
            "writes": writes,
            "now": now,
        });
        if mode == ClockMode::Strobe {
            value["period_ms"] = json!(period.as_millis() as u64);
        }
        per.record(&mut value);
        merge(&mut value, how);
        let any = !touched.is_empty();
        Started::undo_if(Done::new(value, per.errors), any, Touched(touched))
    }

    async fn stop(&self, ctx: &mut FaultCtx<'_>, undo: Undo) -> Done {
        let Some(Touched(ns)) = undo.take::<Touched>() else {
            return wrong_undo(self.kind());
        };
        let res = ctx
            .on_each(&ns, |n| async move {
                exec_ok(n.as_ref(), &cmd::write_offset_argv(ClockOffset::ZERO)).await
            })
            .await;
        let per = split(res);
        let mut value = json!({ "reset": names_json(&per.ok), "offset": ClockOffset::ZERO });
        per.record(&mut value);
        Done::new(value, per.errors)
    }

    /// Back to `+0` where the file says otherwise.
    async fn heal_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        let h = &mut healing.report;
        match heal_step("read faketime file", cmd::read_offset(node)).await {
            Ok(Some(c)) if c != "+0" => {
                match heal_step("reset faketime", cmd::set_offset(node, ClockOffset::ZERO)).await {
                    Ok(()) => {
                        h.undone.push(format!("clock {c} -> +0"));
                        healing.healed.insert(FaultKind::Clock);
                    }
                    Err(e) => h.problems.push(e),
                }
            }
            Ok(_) => {}
            Err(e) => h.problems.push(e),
        }
    }

    /// The file (when it exists) says `+0`.
    async fn verify_node(&self, node: &dyn Node, healing: &mut NodeHealing) {
        let h = &mut healing.report;
        match heal_step("read faketime file", cmd::read_offset(node)).await {
            Ok(c) => {
                if let Some(v) = &c {
                    if v != "+0" {
                        h.problems.push(format!("faketime file says {v:?}, not +0"));
                    }
                }
                h.clock = c;
            }
            Err(e) => h.problems.push(format!("cannot verify clock: {e}")),
        }
    }
}
