//! Playing a schedule: [`run`] plays a [`Schedule`] against real nodes and records every
//! action in the history.
//!
//! Each action is an `invoke` (f = `start-<kind>` / `stop-<kind>`, value =
//! the planned [`Fault`](crate::Fault) plus its `id`) followed by an `info` whose value
//! says exactly what was done, with `error` set if any part failed. A failed
//! action does not stop the run (the next action still happens); only a
//! failing history writer does. At the end, on cancellation, on error and
//! after a panic the runner heals everything and records `heal`.

use crate::error::NemesisError;
use crate::faults::{self, Done, FaultCtx, ProcessBook, Undo};
use crate::heal::{HealGuard, HealReport, Pending};
use crate::node::{Node, Targets};
use crate::options::FaultKind;
use crate::schedule::{Action, Phase, Schedule};
use serde_json::{json, Value};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::sync::watch;
use trial_histories::op::{Op, OpType, Process};
use trial_histories::writer::HistoryWriter;

pub use crate::faults::STEP_TIMEOUT;

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Actions carried out (each an invoke + info pair in the history).
    pub actions: usize,
    /// Of those, how many had an error (recorded in their `info`).
    pub failed_actions: usize,
    /// True if the cancellation signal cut the schedule short.
    pub cancelled: bool,
    pub heal: HealReport,
}

/// Play `schedule` on `nodes`, recording into `history`; action times count
/// from `origin`. Returns after heal. `cancel` turning `true` (e.g. on
/// Ctrl-C) stops the schedule at once and heals; a dropped sender is not a
/// cancellation.
///
/// Errors: a schedule naming a node not given (before anything is done), a
/// failing history writer, or a heal that did not verify (the history has
/// the `heal` op with its problems either way). A panic inside the runner is
/// healed, then resumed.
pub async fn run(
    schedule: &Schedule,
    nodes: Vec<Arc<dyn Node>>,
    targets: Arc<dyn Targets>,
    history: Arc<HistoryWriter>,
    cancel: watch::Receiver<bool>,
    origin: Instant,
) -> Result<RunReport, NemesisError> {
    let by_name: BTreeMap<String, Arc<dyn Node>> = nodes
        .iter()
        .map(|n| (n.name().to_string(), n.clone()))
        .collect();
    if let Some(missing) = schedule
        .nodes
        .iter()
        .chain(&schedule.zookeeper)
        .find(|n| !by_name.contains_key(*n))
    {
        return Err(NemesisError::UnknownNode(missing.clone()));
    }
    let guard = HealGuard::new(nodes.clone(), Some(history.clone()));
    let mut state = Runner {
        pending: guard.pending(),
        names: nodes.iter().map(|n| n.name().to_string()).collect(),
        zookeeper: schedule.zookeeper.clone(),
        nodes: by_name,
        targets,
        history: history.clone(),
        applied: BTreeMap::new(),
        processes: ProcessBook::default(),
        actions: 0,
        failed_actions: 0,
    };
    let outcome = CatchUnwind(Box::pin(state.play(schedule, cancel, origin))).await;
    let active: BTreeSet<FaultKind> = state.applied.values().map(|(kind, _)| *kind).collect();
    let reason = match &outcome {
        Ok(Ok(false)) => "end",
        Ok(Ok(true)) => "cancelled",
        Ok(Err(_)) => "error",
        Err(_) => "panic",
    };
    let healed = guard.heal(reason, &active).await;
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(Err(e)) => Err(e),
        Ok(Ok(cancelled)) => {
            let heal = healed?;
            if !heal.verified {
                return Err(NemesisError::HealIncomplete(heal.problems().join("; ")));
            }
            Ok(RunReport {
                actions: state.actions,
                failed_actions: state.failed_actions,
                cancelled,
                heal,
            })
        }
    }
}

/// Polls a future, turning a panic into an `Err` (so heal runs after it).
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.get_mut().0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}

/// Resolves when `rx` says `true`; never if its sender is dropped.
pub(crate) async fn cancelled(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

struct Runner {
    /// The invoke written and not yet completed (shared with the guard).
    pending: Pending,
    names: Vec<String>,
    /// The ensemble's members (the schedule's `zookeeper`).
    zookeeper: Vec<String>,
    nodes: BTreeMap<String, Arc<dyn Node>>,
    targets: Arc<dyn Targets>,
    history: Arc<HistoryWriter>,
    /// What each started fault did, so its stop undoes exactly that.
    applied: BTreeMap<u32, (FaultKind, Undo)>,
    /// Processes this run killed or paused and has not restarted/resumed.
    processes: ProcessBook,
    actions: usize,
    failed_actions: usize,
}

impl Runner {
    /// Play the actions; `Ok(true)` if cancelled.
    async fn play(
        &mut self,
        schedule: &Schedule,
        mut cancel: watch::Receiver<bool>,
        origin: Instant,
    ) -> Result<bool, NemesisError> {
        for action in &schedule.actions {
            let at = tokio::time::Instant::from_std(origin + action.at());
            tokio::select! {
                biased;
                _ = cancelled(&mut cancel) => {
                    tracing::info!("nemesis cancelled before {} #{}", action.f(), action.id);
                    return Ok(true);
                }
                _ = tokio::time::sleep_until(at) => {}
            }
            self.act(action, &mut cancel).await?;
            if *cancel.borrow() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn act(
        &mut self,
        action: &Action,
        cancel: &mut watch::Receiver<bool>,
    ) -> Result<(), NemesisError> {
        let f = action.f();
        let mut asked = serde_json::to_value(&action.fault).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut asked {
            m.insert("id".into(), json!(action.id));
        }
        let invoked = self
            .history
            .append(Op::new(Process::Nemesis, OpType::Invoke, f.as_str()).with_value(&asked))?;
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(invoked);
        let done = self.dispatch(action, cancel).await;
        let mut value = done.value;
        if let Value::Object(m) = &mut value {
            m.insert("id".into(), json!(action.id));
        }
        let mut op = Op::new(Process::Nemesis, OpType::Info, f.as_str()).with_value(&value);
        self.actions += 1;
        if !done.errors.is_empty() {
            self.failed_actions += 1;
            let e = done.errors.join("; ");
            tracing::warn!("nemesis {f} #{}: {e}", action.id);
            op = op.with_error(e);
        } else {
            tracing::info!("nemesis {f} #{}: {value}", action.id);
        }
        // Completed: no longer the guard's to complete.
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.history.append(op)?;
        Ok(())
    }

    /// Start or stop the action's fault through its kind's behaviour.
    async fn dispatch(&mut self, action: &Action, cancel: &mut watch::Receiver<bool>) -> Done {
        let kind = action.fault.kind();
        let behaviour = faults::behaviour(kind);
        let stop_undo = match action.phase {
            Phase::Start => None,
            Phase::Stop => match self.applied.remove(&action.id) {
                Some((_, undo)) => Some(undo),
                None => {
                    return Done::new(
                        json!({ "undone": "nothing: the start did nothing" }),
                        vec![],
                    )
                }
            },
        };
        let mut ctx = FaultCtx {
            nodes: &self.nodes,
            names: &self.names,
            zookeeper: &self.zookeeper,
            targets: self.targets.as_ref(),
            cancel,
            processes: &mut self.processes,
        };
        match stop_undo {
            Some(undo) => behaviour.stop(&mut ctx, undo).await,
            None => {
                let started = behaviour.start(&mut ctx, action).await;
                if let Some(undo) = started.undo {
                    self.applied.insert(action.id, (kind, undo));
                }
                started.done
            }
        }
    }
}
