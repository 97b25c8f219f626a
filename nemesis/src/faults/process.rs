//! The one shape of the process faults (kill, pause): signal one process
//! (by [`ProcessRole`], the broker unless the fault names another) on each
//! target node, remember what this run did in the [`ProcessBook`], and undo
//! only what is still as this fault left it. Heal, shared by both kinds
//! (once per node): resume every paused process the node reports, start
//! every dead one, then wait for all to run.

use super::ctx::{heal_step, merge, names_json, split, timed, FaultCtx, NodeHealing, ProcessBook};
use super::{Done, Started};
use crate::heal::HEAL_RUNNING_WAIT;
use crate::node::{Node, NodeError, ProcessRole, ProcessState};
use crate::options::{FaultKind, Target};
use crate::schedule::Action;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which process fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGKILL; undone by a start.
    Kill,
    /// SIGSTOP; undone by SIGCONT.
    Pause,
}

type NodeCall = Pin<Box<dyn Future<Output = Result<(), NodeError>> + Send>>;

impl Signal {
    fn act(self, n: Arc<dyn Node>, p: ProcessRole) -> NodeCall {
        match self {
            Signal::Kill => Box::pin(async move { n.kill(p).await }),
            Signal::Pause => Box::pin(async move { n.pause(p).await }),
        }
    }
    fn undo(self, n: Arc<dyn Node>, p: ProcessRole) -> NodeCall {
        match self {
            Signal::Kill => Box::pin(async move { n.start(p).await }),
            Signal::Pause => Box::pin(async move { n.resume(p).await }),
        }
    }
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Signal::Kill => ("kill", "start"),
            Signal::Pause => ("pause", "resume"),
        }
    }
    /// The `info` key of a stop: `started` / `resumed`.
    fn undone_key(self) -> &'static str {
        match self {
            Signal::Kill => "started",
            Signal::Pause => "resumed",
        }
    }
    /// What this run did and has not undone, of this signal.
    fn book(self, b: &mut ProcessBook) -> &mut BTreeSet<(String, ProcessRole)> {
        match self {
            Signal::Kill => &mut b.killed,
            Signal::Pause => &mut b.paused,
        }
    }
}

/// `kill` for the broker, `kill zookeeper` for another process (timeout
/// messages).
fn step_name(node: &str, word: &str, p: ProcessRole) -> String {
    if p.is_broker() {
        format!("{node}: {word}")
    } else {
        format!("{node}: {word} {p}")
    }
}

/// What a process fault's stop undoes.
pub(crate) struct Signalled {
    process: ProcessRole,
    nodes: BTreeSet<String>,
}

impl Signalled {
    /// `process` on `nodes` (faults that kill by other means, e.g. the
    /// filesystem faults, and are undone by a kill's stop).
    pub(crate) fn new(process: ProcessRole, nodes: BTreeSet<String>) -> Self {
        Signalled { process, nodes }
    }
}

/// Start a kill or pause of `process` on `target`.
pub(crate) async fn start(
    ctx: &mut FaultCtx<'_>,
    action: &Action,
    signal: Signal,
    target: Target,
    planned: &Option<BTreeSet<String>>,
    process: ProcessRole,
) -> Started {
    let (ns, how) = match ctx.resolve(target, planned, action.seed).await {
        Ok(x) => x,
        Err(e) => return Started::nothing(Done::failed(json!({ "target": target }), e)),
    };
    let killed: BTreeSet<String> = ctx
        .processes
        .killed
        .iter()
        .filter(|(_, p)| *p == process)
        .map(|(n, _)| n.clone())
        .collect();
    // A dead process cannot be paused: skip what this run killed.
    let skipped: BTreeSet<String> = match signal {
        Signal::Pause => ns.intersection(&killed).cloned().collect(),
        Signal::Kill => BTreeSet::new(),
    };
    let todo: BTreeSet<String> = ns.difference(&skipped).cloned().collect();
    let (word, _) = signal.words();
    let res = ctx
        .on_each(&todo, |n| {
            let what = step_name(n.name(), word, process);
            let call = signal.act(n, process);
            async move { timed(what, call).await }
        })
        .await;
    let per = split(res);
    let ok = &per.ok;
    for n in ok {
        signal.book(ctx.processes).insert((n.clone(), process));
        if signal == Signal::Kill {
            // A killed process is no longer paused: its restart runs it.
            ctx.processes.paused.remove(&(n.clone(), process));
        }
    }
    let mut value = json!({ "target": target, "nodes": names_json(ok) });
    if !process.is_broker() {
        value["process"] = json!(process);
    }
    if !skipped.is_empty() {
        value["skipped_dead"] = names_json(&skipped);
    }
    per.record(&mut value);
    merge(&mut value, how);
    let any = !per.ok.is_empty();
    Started::undo_if(
        Done::new(value, per.errors),
        any,
        Signalled {
            process,
            nodes: per.ok,
        },
    )
}

/// Undo a kill or pause on the nodes where it is still in force (a paused
/// process killed since is not resumed: the kill's stop starts it).
pub(crate) async fn stop(ctx: &mut FaultCtx<'_>, signal: Signal, undo: Signalled) -> Done {
    let Signalled { process, nodes } = undo;
    let todo: BTreeSet<String> = nodes
        .into_iter()
        .filter(|n| signal.book(ctx.processes).contains(&(n.clone(), process)))
        .collect();
    let (_, word) = signal.words();
    let res = ctx
        .on_each(&todo, |n| {
            let what = step_name(n.name(), word, process);
            let call = signal.undo(n, process);
            async move { timed(what, call).await }
        })
        .await;
    let per = split(res);
    for n in &per.ok {
        signal.book(ctx.processes).remove(&(n.clone(), process));
    }
    let mut value = json!({ signal.undone_key(): names_json(&per.ok) });
    per.record(&mut value);
    Done::new(value, per.errors)
}

/// The heal step's name: `state`, `resume`, `start` for the broker,
/// `resume zookeeper` for another process.
fn heal_word(word: &str, p: ProcessRole) -> String {
    if p.is_broker() {
        word.to_string()
    } else {
        format!("{word} {p}")
    }
}

/// Resume every paused process, start every dead one (once per node).
pub(crate) async fn heal(node: &dyn Node, healing: &mut NodeHealing) {
    if !healing.first("process heal") {
        return;
    }
    for p in node.processes() {
        let h = &mut healing.report;
        match heal_step(&heal_word("state", p), node.state(p)).await {
            Ok(ProcessState::Running) => {}
            Ok(ProcessState::Paused) => {
                match heal_step(&heal_word("resume", p), node.resume(p)).await {
                    Ok(()) => {
                        h.undone.push(format!("resumed {p}"));
                        healing.healed.insert(FaultKind::Pause);
                    }
                    Err(e) => h.problems.push(e),
                }
            }
            Ok(ProcessState::Dead) => {
                match heal_step(&heal_word("start", p), node.start(p)).await {
                    Ok(()) => {
                        h.undone.push(format!("started {p}"));
                        healing.healed.insert(FaultKind::Kill);
                    }
                    Err(e) => h.problems.push(e),
                }
            }
            Err(e) => h.problems.push(e),
        }
    }
}

/// Every process the node reports is `Running` (polled up to
/// [`HEAL_RUNNING_WAIT`] after a start); once per node. `state` in the
/// report is the first process not running, else `Running`; with more
/// than one process, `processes` has each.
pub(crate) async fn verify(node: &dyn Node, healing: &mut NodeHealing) {
    if !healing.first("process verify") {
        return;
    }
    let h = &mut healing.report;
    let deadline = Instant::now() + HEAL_RUNNING_WAIT;
    let roles = node.processes();
    let mut states = BTreeMap::new();
    for p in &roles {
        let p = *p;
        loop {
            match heal_step(&heal_word("state", p), node.state(p)).await {
                Ok(ProcessState::Running) => {
                    states.insert(p, ProcessState::Running);
                    break;
                }
                Ok(s) if Instant::now() >= deadline => {
                    states.insert(p, s);
                    h.problems
                        .push(format!("{p} is {s:?} after heal, not Running"));
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                Err(e) => {
                    h.problems.push(format!("cannot verify process: {e}"));
                    break;
                }
            }
        }
    }
    h.state = roles
        .iter()
        .filter_map(|p| states.get(p))
        .find(|s| **s != ProcessState::Running)
        .or_else(|| states.values().next())
        .copied();
    if roles.len() > 1 {
        h.processes = states;
    }
}
