//! Heal: undo every fault on every node, then verify.
//!
//! [`heal_all`] does not rely on any record of what was done: on each node
//! (all nodes at once) every fault kind of the registry
//! ([`crate::faults::REGISTRY`]) undoes its own, in the registry's order:
//! flush the `KTRIAL` chain if it holds rules (partition, loss), reset the
//! faketime file to `+0` if it says otherwise (clock), resume every paused
//! process and start every dead one that the node reports (pause, kill).
//! Then each verifies: no `-A KTRIAL` rule in `iptables -S`, the faketime
//! file at `+0` (when it exists), every process `Running` (polled for a few
//! seconds after a start). It is idempotent, so the suite may call it again
//! at any time.
//!
//! [`HealGuard`] makes heal happen on every way out: the runner heals at the
//! end, on error, on cancellation and after a panic; if the guard is dropped
//! without healing (the runner's future dropped, a panic unwinding through
//! it), its `Drop` heals synchronously on a multi-threaded tokio runtime
//! (`block_in_place`), spawns the heal on a current-thread one, or builds a
//! small runtime when there is none.

use crate::faults::{self, NodeHealing};
use crate::node::{Node, ProcessRole, ProcessState};
use crate::options::FaultKind;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use trial_histories::op::{Op, OpType, Process};
use trial_histories::writer::HistoryWriter;

/// Longest wait for one command or signal during heal.
pub const HEAL_STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long heal waits for a started broker's process to show as running.
pub const HEAL_RUNNING_WAIT: Duration = Duration::from_secs(10);

/// What heal did and found on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeHeal {
    /// What was undone, in words: `flushed 4 KTRIAL rules`, `clock -30s -> +0`,
    /// `resumed broker`, `started zookeeper`.
    pub undone: Vec<String>,
    /// The rules that were flushed (as `iptables -S` printed them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flushed: Vec<String>,
    /// Verification: rules still in the chain (must be empty).
    pub rules_remaining: Vec<String>,
    /// Verification: the faketime file (`None`: no such file).
    pub clock: Option<String>,
    /// Verification: the node's process (`None`: could not tell); with
    /// more than one process, the first that is not running, if any.
    pub state: Option<ProcessState>,
    /// Verification: each process, when the node runs more than one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub processes: BTreeMap<ProcessRole, ProcessState>,
    /// Anything that failed or did not verify.
    pub problems: Vec<String>,
}

/// The outcome of a heal, also the value of the `heal` op's `info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealReport {
    /// Why heal ran: `end`, `cancelled`, `error`, `panic`, `drop`, or the
    /// suite's own word.
    pub reason: String,
    /// Fault kinds that heal found in force and undid.
    pub healed: BTreeSet<FaultKind>,
    pub nodes: BTreeMap<String, NodeHeal>,
    /// True when every node verified clean.
    pub verified: bool,
    pub duration_ms: u64,
}

impl HealReport {
    /// Every problem, prefixed by its node.
    pub fn problems(&self) -> Vec<String> {
        self.nodes
            .iter()
            .flat_map(|(n, h)| h.problems.iter().map(move |p| format!("{n}: {p}")))
            .collect()
    }
}

/// Heal one node: every registered fault kind undoes its own (network
/// first, then clocks, then processes), then every kind verifies.
async fn heal_node(node: Arc<dyn Node>) -> (NodeHeal, BTreeSet<FaultKind>) {
    let node = node.as_ref();
    let mut healing = NodeHealing::default();
    // Only the kinds the node can carry (`Node::fault_kinds`).
    let kinds = node.fault_kinds();
    let carries =
        |b: &&&dyn faults::FaultBehaviour| kinds.as_ref().is_none_or(|k| k.contains(&b.kind()));
    for b in faults::REGISTRY.iter().filter(carries) {
        b.heal_node(node, &mut healing).await;
    }
    for b in faults::REGISTRY.iter().filter(carries) {
        b.verify_node(node, &mut healing).await;
    }
    (healing.report, healing.healed)
}

/// Heal every node (concurrently) and verify; never panics, never fails:
/// what could not be done is in the report's problems.
pub async fn heal_all(nodes: &[Arc<dyn Node>], reason: &str) -> HealReport {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for n in nodes {
        let n = n.clone();
        set.spawn(async move { (n.name().to_string(), heal_node(n).await) });
    }
    let mut out = BTreeMap::new();
    let mut healed = BTreeSet::new();
    while let Some(j) = set.join_next().await {
        match j {
            Ok((name, (h, kinds))) => {
                out.insert(name, h);
                healed.extend(kinds);
            }
            Err(e) => {
                let h = NodeHeal {
                    problems: vec![format!("heal task failed: {e}")],
                    ..Default::default()
                };
                out.insert(format!("?{}", out.len()), h);
            }
        }
    }
    let verified = out.values().all(|h| h.problems.is_empty());
    let report = HealReport {
        reason: reason.to_string(),
        healed,
        nodes: out,
        verified,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    if verified {
        tracing::info!(
            duration_ms = report.duration_ms,
            reason,
            healed = ?report.healed,
            "nemesis heal verified"
        );
    } else {
        tracing::error!(
            duration_ms = report.duration_ms,
            reason,
            problems = ?report.problems(),
            "nemesis heal left faults behind"
        );
    }
    report
}

/// [`heal_all`] recorded in the history: an `invoke` of `heal` (value
/// `{"reason": …, "active": [kinds the runner had in force]}`), then an
/// `info` whose value is the [`HealReport`], with `error` set when the
/// verification failed.
pub async fn heal_recorded(
    nodes: &[Arc<dyn Node>],
    history: &HistoryWriter,
    reason: &str,
    active: &BTreeSet<FaultKind>,
) -> io::Result<HealReport> {
    let invoke = Op::new(Process::Nemesis, OpType::Invoke, "heal")
        .with_value(&serde_json::json!({ "reason": reason, "active": active }));
    let invoked = history.append(invoke);
    let mut report = heal_all(nodes, reason).await;
    report.healed.extend(active.iter().copied());
    let mut info = Op::new(Process::Nemesis, OpType::Info, "heal").with_value(&report);
    if !report.verified {
        info = info.with_error(format!(
            "heal did not verify: {}",
            report.problems().join("; ")
        ));
    }
    invoked?;
    history.append(info)?;
    Ok(report)
}

/// The nemesis op invoked and not yet completed, shared between the runner
/// and its guard: if heal interrupts it (panic, drop), it is completed with
/// an `info` first, so the nemesis never has two ops outstanding.
pub(crate) type Pending = Arc<Mutex<Option<Op>>>;

fn complete_pending(history: &HistoryWriter, pending: &Pending, reason: &str) -> io::Result<()> {
    let taken = pending.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(inv) = taken {
        history.append(
            inv.complete(OpType::Info)
                .with_error(format!("interrupted ({reason}) before it completed")),
        )?;
    }
    Ok(())
}

/// Heals on drop unless [`HealGuard::heal`] ran. The runner holds one; the
/// suite may hold its own around a whole test.
pub struct HealGuard {
    nodes: Vec<Arc<dyn Node>>,
    history: Option<Arc<HistoryWriter>>,
    pending: Pending,
    armed: bool,
}

impl HealGuard {
    /// A guard over `nodes`; with a history, heal is recorded as `heal` ops.
    pub fn new(nodes: Vec<Arc<dyn Node>>, history: Option<Arc<HistoryWriter>>) -> Self {
        HealGuard {
            nodes,
            history,
            pending: Pending::default(),
            armed: true,
        }
    }

    pub(crate) fn pending(&self) -> Pending {
        self.pending.clone()
    }

    /// Heal now (recorded if the guard has a history) and disarm.
    pub async fn heal(
        mut self,
        reason: &str,
        active: &BTreeSet<FaultKind>,
    ) -> io::Result<HealReport> {
        self.armed = false;
        match &self.history {
            Some(h) => {
                let done = complete_pending(h, &self.pending, reason);
                let report = heal_recorded(&self.nodes, h, reason, active).await;
                done.and(report)
            }
            None => Ok(heal_all(&self.nodes, reason).await),
        }
    }

    /// Give up the guarantee (the caller heals by other means).
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for HealGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let reason = if std::thread::panicking() {
            "panic"
        } else {
            "drop"
        };
        tracing::warn!(
            reason,
            "nemesis heal guard dropped without heal: healing now"
        );
        let nodes = std::mem::take(&mut self.nodes);
        let history = self.history.take();
        let pending = self.pending.clone();
        let fut = async move {
            let none = BTreeSet::new();
            match history {
                Some(h) => {
                    if let Err(e) = complete_pending(&h, &pending, reason) {
                        tracing::error!("recording the interrupted op failed: {e}");
                    }
                    if let Err(e) = heal_recorded(&nodes, &h, reason, &none).await {
                        tracing::error!("recording heal failed: {e}");
                    }
                }
                None => {
                    heal_all(&nodes, reason).await;
                }
            }
        };
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| h.block_on(fut));
            }
            Ok(h) => {
                // A current-thread runtime cannot block here: heal as soon
                // as the runtime runs again.
                h.spawn(fut);
            }
            Err(_) => match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(fut),
                Err(e) => tracing::error!("cannot heal on drop: no runtime: {e}"),
            },
        }
    }
}
