//! Playing a schedule: [`run`] plays a [`Schedule`] against real nodes and records every
//! action in the history.
//!
//! Each action is an `invoke` (f = `start-<kind>` / `stop-<kind>`, value =
//! the planned [`Fault`] plus its `id`) followed by an `info` whose value
//! says exactly what was done, with `error` set if any part failed. A failed
//! action does not stop the run (the next action still happens); only a
//! failing history writer does. At the end, on cancellation, on error and
//! after a panic the runner heals everything and records `heal`.

use crate::clock;
use crate::error::NemesisError;
use crate::grudge::Grudge;
use crate::heal::{HealGuard, HealReport, Pending};
use crate::iptables;
use crate::node::{Node, NodeError, Targets};
use crate::options::{ClockMode, ClockOffset, FaultKind, Target};
use crate::schedule::{assign_offsets, choose_nodes, Action, Fault, Phase, Schedule};
use crate::topology;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;
use trial_histories::op::{Op, OpType, Process};
use trial_histories::writer::HistoryWriter;

/// Longest wait for one command or signal of an action (a broker start may
/// take a while; a hung `docker exec` must not hang the test).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);

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
    if let Some(missing) = schedule.nodes.iter().find(|n| !by_name.contains_key(*n)) {
        return Err(NemesisError::UnknownNode(missing.clone()));
    }
    let guard = HealGuard::new(nodes.clone(), Some(history.clone()));
    let mut state = Runner {
        pending: guard.pending(),
        names: nodes.iter().map(|n| n.name().to_string()).collect(),
        nodes: by_name,
        targets,
        history: history.clone(),
        applied: BTreeMap::new(),
        killed: BTreeSet::new(),
        paused: BTreeSet::new(),
        actions: 0,
        failed_actions: 0,
    };
    let outcome = CatchUnwind(Box::pin(state.play(schedule, cancel, origin))).await;
    let active: BTreeSet<FaultKind> = state.applied.values().map(|a| a.kind).collect();
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
async fn cancelled(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What a started fault did, so its stop undoes exactly that.
struct Applied {
    kind: FaultKind,
    undo: Undo,
}

enum Undo {
    /// iptables rule specs appended to KTRIAL, per node.
    Rules(Vec<(String, Vec<String>)>),
    Killed(BTreeSet<String>),
    Paused(BTreeSet<String>),
    Clock(BTreeSet<String>),
}

struct Runner {
    /// The invoke written and not yet completed (shared with the guard).
    pending: Pending,
    names: Vec<String>,
    nodes: BTreeMap<String, Arc<dyn Node>>,
    targets: Arc<dyn Targets>,
    history: Arc<HistoryWriter>,
    applied: BTreeMap<u32, Applied>,
    /// Nodes whose broker this run killed and has not restarted.
    killed: BTreeSet<String>,
    /// Nodes whose broker this run paused and has not resumed.
    paused: BTreeSet<String>,
    actions: usize,
    failed_actions: usize,
}

/// The result of one action: what was done (the `info` value), and the
/// errors met on the way (the `info` error).
struct Done {
    value: Value,
    errors: Vec<String>,
}

fn names_json(s: &BTreeSet<String>) -> Value {
    json!(s.iter().collect::<Vec<_>>())
}

async fn timed<T>(
    what: String,
    f: impl Future<Output = Result<T, NodeError>>,
) -> Result<T, String> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("{what}: timed out after {STEP_TIMEOUT:?}")),
    }
}

async fn exec_ok(node: &dyn Node, argv: &[String]) -> Result<(), String> {
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = timed(
        format!("{}: {}", node.name(), argv.join(" ")),
        node.exec(&a),
    )
    .await?;
    if out.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}: exit {}: {}",
            node.name(),
            argv.join(" "),
            out.code,
            out.stderr.trim()
        ))
    }
}

/// Run `f` on each named node concurrently; results in name order.
async fn on_each<T, F, Fut>(
    nodes: &BTreeMap<String, Arc<dyn Node>>,
    which: &BTreeSet<String>,
    f: F,
) -> Vec<(String, Result<T, String>)>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Node>) -> Fut,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let mut set = JoinSet::new();
    for name in which {
        let name = name.clone();
        match nodes.get(&name) {
            Some(n) => {
                let fut = f(n.clone());
                set.spawn(async move { (name, fut.await) });
            }
            None => {
                set.spawn(async move {
                    let e = format!("unknown node {name:?}");
                    (name, Err(e))
                });
            }
        }
    }
    let mut out = Vec::new();
    while let Some(j) = set.join_next().await {
        match j {
            Ok(r) => out.push(r),
            Err(e) => out.push(("?".to_string(), Err(format!("task failed: {e}")))),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
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
        let done = match action.phase {
            Phase::Start => self.start(action, cancel).await,
            Phase::Stop => self.stop(action).await,
        };
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

    fn ip_of(&self, name: &str) -> Result<std::net::IpAddr, String> {
        self.nodes
            .get(name)
            .map(|n| n.ip())
            .ok_or_else(|| format!("unknown node {name:?}"))
    }

    /// Resolve a target to node names, with a description of how (e.g.
    /// which partition's replicas). Names that are not nodes of this run
    /// (a `Targets` answer gone wrong) make the action fail.
    async fn resolve(
        &self,
        target: Target,
        planned: &Option<BTreeSet<String>>,
        seed: u64,
    ) -> Result<(BTreeSet<String>, Value), String> {
        let (ns, how) = self.resolve_names(target, planned, seed).await?;
        let unknown: Vec<&String> = ns.iter().filter(|n| !self.nodes.contains_key(*n)).collect();
        if !unknown.is_empty() {
            return Err(format!(
                "target {target} resolved to {unknown:?}, not nodes of this run ({})",
                self.names.join(",")
            ));
        }
        Ok((ns, how))
    }

    async fn resolve_names(
        &self,
        target: Target,
        planned: &Option<BTreeSet<String>>,
        seed: u64,
    ) -> Result<(BTreeSet<String>, Value), String> {
        if let Some(ns) = planned {
            return Ok((ns.clone(), Value::Null));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match target {
            Target::Leaders => {
                let leaders =
                    timed("partition leaders".into(), self.targets.partition_leaders()).await?;
                let ns: BTreeSet<String> = leaders.values().cloned().collect();
                if ns.is_empty() {
                    return Err("the test topic has no known leaders".into());
                }
                Ok((ns, json!({ "leaders": leaders })))
            }
            Target::Controller => {
                match timed("active controller".into(), self.targets.active_controller()).await? {
                    Some(c) => Ok((BTreeSet::from([c]), Value::Null)),
                    None => Err("no active controller known".into()),
                }
            }
            Target::ReplicasButOne => {
                let replicas = timed(
                    "partition replicas".into(),
                    self.targets.partition_replicas(),
                )
                .await?;
                let candidates: Vec<(&i32, &Vec<String>)> =
                    replicas.iter().filter(|(_, r)| r.len() >= 2).collect();
                let (p, r) = candidates
                    .choose(&mut rng)
                    .ok_or("no partition of the test topic has two or more replicas")?;
                let survivor = r[rng.gen_range(0..r.len())].clone();
                let ns: BTreeSet<String> = r.iter().filter(|x| **x != survivor).cloned().collect();
                Ok((
                    ns,
                    json!({ "partition": p, "replicas": r, "survivor": survivor }),
                ))
            }
            fixed => {
                let n = fixed.count(self.names.len()).unwrap_or(1);
                Ok((choose_nodes(&self.names, n, &mut rng), Value::Null))
            }
        }
    }

    async fn start(&mut self, action: &Action, cancel: &mut watch::Receiver<bool>) -> Done {
        match &action.fault {
            Fault::Partition { topology, grudge } => {
                self.start_partition(action.id, *topology, grudge).await
            }
            Fault::Kill { target, nodes } => self.start_kill(action, *target, nodes).await,
            Fault::Pause { target, nodes } => self.start_pause(action, *target, nodes).await,
            Fault::Loss {
                target,
                nodes,
                probability,
            } => self.start_loss(action, *target, nodes, *probability).await,
            Fault::Clock {
                target,
                mode,
                offsets,
                candidates,
                strobe,
            } => {
                let planned = offsets.as_ref().map(|o| o.keys().cloned().collect());
                let (ns, how) = match self.resolve(*target, &planned, action.seed).await {
                    Ok(x) => x,
                    Err(e) => return failed(json!({ "target": target }), e),
                };
                let offsets = offsets.clone().unwrap_or_else(|| {
                    let mut rng = ChaCha8Rng::seed_from_u64(action.seed ^ 0x5eed);
                    assign_offsets(&ns, candidates, &mut rng)
                });
                let (period, count) = match (mode, strobe) {
                    (ClockMode::Strobe, Some(s)) => (Duration::from_millis(s.period_ms), s.count),
                    _ => (Duration::ZERO, 1),
                };
                self.start_clock(
                    action.id, *target, *mode, offsets, how, period, count, cancel,
                )
                .await
            }
        }
    }

    async fn stop(&mut self, action: &Action) -> Done {
        let Some(applied) = self.applied.remove(&action.id) else {
            return Done {
                value: json!({ "undone": "nothing: the start did nothing" }),
                errors: vec![],
            };
        };
        match applied.undo {
            Undo::Rules(rules) => {
                let (removed, errors) = self.remove_rules(rules).await;
                Done {
                    value: json!({ "removed_rules": removed }),
                    errors,
                }
            }
            Undo::Killed(ns) => {
                let todo: BTreeSet<String> = ns.intersection(&self.killed).cloned().collect();
                let res = on_each(&self.nodes, &todo, |n| async move {
                    timed(format!("{}: start", n.name()), n.start()).await
                })
                .await;
                let (ok, errors) = split(res);
                for n in &ok {
                    self.killed.remove(n);
                }
                Done {
                    value: json!({ "started": names_json(&ok) }),
                    errors,
                }
            }
            Undo::Paused(ns) => {
                let todo: BTreeSet<String> = ns.intersection(&self.paused).cloned().collect();
                let res = on_each(&self.nodes, &todo, |n| async move {
                    timed(format!("{}: resume", n.name()), n.resume()).await
                })
                .await;
                let (ok, errors) = split(res);
                for n in &ok {
                    self.paused.remove(n);
                }
                Done {
                    value: json!({ "resumed": names_json(&ok) }),
                    errors,
                }
            }
            Undo::Clock(ns) => {
                let res = on_each(&self.nodes, &ns, |n| async move {
                    exec_ok(n.as_ref(), &clock::write_offset_argv(ClockOffset::ZERO)).await
                })
                .await;
                let (ok, errors) = split(res);
                Done {
                    value: json!({ "reset": names_json(&ok), "offset": ClockOffset::ZERO }),
                    errors,
                }
            }
        }
    }

    /// Append rules (after making sure the chain exists); returns the rules
    /// actually in place and the errors.
    async fn add_rules(
        &self,
        rules: Vec<(String, Vec<String>)>,
    ) -> (Vec<(String, Vec<String>)>, Vec<String>) {
        let mut per_node: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for (n, spec) in rules {
            per_node.entry(n).or_default().push(spec);
        }
        let which: BTreeSet<String> = per_node.keys().cloned().collect();
        let per_node = Arc::new(per_node);
        let res = on_each(&self.nodes, &which, |n| {
            let specs = per_node.get(n.name()).cloned().unwrap_or_default();
            async move {
                exec_ok(n.as_ref(), &iptables::ensure_chain()).await?;
                let mut done = Vec::new();
                let mut err = None;
                for s in specs {
                    match exec_ok(n.as_ref(), &iptables::append(&s)).await {
                        Ok(()) => done.push(s),
                        Err(e) => {
                            err = Some(e);
                            break;
                        }
                    }
                }
                Ok((done, err))
            }
        })
        .await;
        let mut applied = Vec::new();
        let mut errors = Vec::new();
        for (name, r) in res {
            match r {
                Ok((done, err)) => {
                    applied.extend(done.into_iter().map(|s| (name.clone(), s)));
                    errors.extend(err);
                }
                Err(e) => errors.push(e),
            }
        }
        (applied, errors)
    }

    async fn remove_rules(&self, rules: Vec<(String, Vec<String>)>) -> (usize, Vec<String>) {
        let mut per_node: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for (n, spec) in rules {
            per_node.entry(n).or_default().push(spec);
        }
        let which: BTreeSet<String> = per_node.keys().cloned().collect();
        let per_node = Arc::new(per_node);
        let res = on_each(&self.nodes, &which, |n| {
            let specs = per_node.get(n.name()).cloned().unwrap_or_default();
            async move {
                let mut removed = 0usize;
                let mut errs = Vec::new();
                for s in specs {
                    match exec_ok(n.as_ref(), &iptables::delete(&s)).await {
                        Ok(()) => removed += 1,
                        Err(e) => errs.push(e),
                    }
                }
                Ok((removed, errs))
            }
        })
        .await;
        let mut removed = 0;
        let mut errors = Vec::new();
        for (_, r) in res {
            match r {
                Ok((k, e)) => {
                    removed += k;
                    errors.extend(e);
                }
                Err(e) => errors.push(e),
            }
        }
        (removed, errors)
    }

    async fn start_partition(
        &mut self,
        id: u32,
        topology: topology::Topology,
        planned: &Option<Grudge>,
    ) -> Done {
        let asked = json!({ "topology": topology });
        let mut value = json!({ "topology": topology });
        let grudge = match planned {
            Some(g) => g.clone(),
            None => {
                let target = if topology == topology::Topology::Controller {
                    Target::Controller
                } else {
                    Target::Leaders
                };
                let (isolated, how) = match self.resolve(target, &None, 0).await {
                    Ok(x) => x,
                    Err(e) => return failed(asked, e),
                };
                merge(&mut value, how);
                value["isolated"] = names_json(&isolated);
                topology::isolate(&self.names, &isolated)
            }
        };
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (node, drops) in &grudge {
            for src in drops {
                match self.ip_of(src).and_then(iptables::drop_from) {
                    Ok(spec) => rules.push((node.clone(), spec)),
                    Err(e) => errors.push(e),
                }
            }
        }
        let (applied, errs) = self.add_rules(rules).await;
        errors.extend(errs);
        value["grudge"] = json!(grudge);
        value["rules"] = json!(applied.len());
        if !applied.is_empty() {
            self.applied.insert(
                id,
                Applied {
                    kind: FaultKind::Partition,
                    undo: Undo::Rules(applied),
                },
            );
        }
        Done { value, errors }
    }

    async fn start_kill(
        &mut self,
        action: &Action,
        target: Target,
        planned: &Option<BTreeSet<String>>,
    ) -> Done {
        let (ns, how) = match self.resolve(target, planned, action.seed).await {
            Ok(x) => x,
            Err(e) => return failed(json!({ "target": target }), e),
        };
        let res = on_each(&self.nodes, &ns, |n| async move {
            timed(format!("{}: kill", n.name()), n.kill()).await
        })
        .await;
        let (ok, errors) = split(res);
        for n in &ok {
            self.killed.insert(n.clone());
            // A killed process is no longer paused: its restart runs it.
            self.paused.remove(n);
        }
        let mut value = json!({ "target": target, "nodes": names_json(&ok) });
        merge(&mut value, how);
        if !ok.is_empty() {
            self.applied.insert(
                action.id,
                Applied {
                    kind: FaultKind::Kill,
                    undo: Undo::Killed(ok),
                },
            );
        }
        Done { value, errors }
    }

    async fn start_pause(
        &mut self,
        action: &Action,
        target: Target,
        planned: &Option<BTreeSet<String>>,
    ) -> Done {
        let (ns, how) = match self.resolve(target, planned, action.seed).await {
            Ok(x) => x,
            Err(e) => return failed(json!({ "target": target }), e),
        };
        // A dead broker cannot be paused: skip what this run killed.
        let skipped: BTreeSet<String> = ns.intersection(&self.killed).cloned().collect();
        let todo: BTreeSet<String> = ns.difference(&skipped).cloned().collect();
        let res = on_each(&self.nodes, &todo, |n| async move {
            timed(format!("{}: pause", n.name()), n.pause()).await
        })
        .await;
        let (ok, errors) = split(res);
        self.paused.extend(ok.iter().cloned());
        let mut value = json!({ "target": target, "nodes": names_json(&ok) });
        if !skipped.is_empty() {
            value["skipped_dead"] = names_json(&skipped);
        }
        merge(&mut value, how);
        if !ok.is_empty() {
            self.applied.insert(
                action.id,
                Applied {
                    kind: FaultKind::Pause,
                    undo: Undo::Paused(ok),
                },
            );
        }
        Done { value, errors }
    }

    async fn start_loss(
        &mut self,
        action: &Action,
        target: Target,
        planned: &Option<BTreeSet<String>>,
        p: f64,
    ) -> Done {
        let (ns, how) = match self.resolve(target, planned, action.seed).await {
            Ok(x) => x,
            Err(e) => return failed(json!({ "target": target, "probability": p }), e),
        };
        // Every link touching a target node is lossy, both ways: a target
        // drops from everyone, everyone drops from the targets.
        let mut lossy: Grudge = self
            .names
            .iter()
            .map(|n| (n.clone(), BTreeSet::new()))
            .collect();
        for x in &self.names {
            for y in &self.names {
                if x != y && (ns.contains(x) || ns.contains(y)) {
                    lossy.entry(x.clone()).or_default().insert(y.clone());
                }
            }
        }
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (node, srcs) in &lossy {
            for src in srcs {
                match self.ip_of(src).and_then(|ip| iptables::lossy_from(ip, p)) {
                    Ok(spec) => rules.push((node.clone(), spec)),
                    Err(e) => errors.push(e),
                }
            }
        }
        let (applied, errs) = self.add_rules(rules).await;
        errors.extend(errs);
        let mut value = json!({
            "target": target,
            "nodes": names_json(&ns),
            "probability": p,
            "lossy": lossy,
            "rules": applied.len(),
        });
        merge(&mut value, how);
        if !applied.is_empty() {
            self.applied.insert(
                action.id,
                Applied {
                    kind: FaultKind::Loss,
                    undo: Undo::Rules(applied),
                },
            );
        }
        Done { value, errors }
    }

    #[allow(clippy::too_many_arguments)]
    async fn start_clock(
        &mut self,
        id: u32,
        target: Target,
        mode: ClockMode,
        offsets: BTreeMap<String, ClockOffset>,
        how: Value,
        period: Duration,
        count: u32,
        cancel: &mut watch::Receiver<bool>,
    ) -> Done {
        let ns: BTreeSet<String> = offsets.keys().cloned().collect();
        let offsets = Arc::new(offsets);
        let mut errors = Vec::new();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut writes = 0u32;
        let mut last: BTreeMap<String, ClockOffset> = BTreeMap::new();
        for i in 0..count {
            if i > 0 {
                tokio::select! {
                    biased;
                    _ = cancelled(cancel) => break,
                    _ = tokio::time::sleep(period) => {}
                }
            }
            // Strobe: offset, +0, offset, … ; bump: offset once.
            let zero = i % 2 == 1;
            let offs = offsets.clone();
            let res = on_each(&self.nodes, &ns, |n| {
                let o = if zero {
                    ClockOffset::ZERO
                } else {
                    offs.get(n.name()).copied().unwrap_or(ClockOffset::ZERO)
                };
                async move {
                    exec_ok(n.as_ref(), &clock::write_offset_argv(o)).await?;
                    Ok(o)
                }
            })
            .await;
            writes += 1;
            for (n, r) in res {
                match r {
                    Ok(o) => {
                        touched.insert(n.clone());
                        last.insert(n, o);
                    }
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                break;
            }
        }
        let mut value = json!({
            "target": target,
            "mode": mode,
            "offsets": &*offsets,
            "writes": writes,
            "now": last,
        });
        if mode == ClockMode::Strobe {
            value["period_ms"] = json!(period.as_millis() as u64);
        }
        merge(&mut value, how);
        if !touched.is_empty() {
            self.applied.insert(
                id,
                Applied {
                    kind: FaultKind::Clock,
                    undo: Undo::Clock(touched),
                },
            );
        }
        Done { value, errors }
    }
}

fn failed(value: Value, e: String) -> Done {
    Done {
        value,
        errors: vec![e],
    }
}

fn merge(value: &mut Value, extra: Value) {
    if let (Value::Object(m), Value::Object(e)) = (value, extra) {
        m.extend(e);
    }
}

fn split(res: Vec<(String, Result<(), String>)>) -> (BTreeSet<String>, Vec<String>) {
    let mut ok = BTreeSet::new();
    let mut errors = Vec::new();
    for (n, r) in res {
        match r {
            Ok(()) => {
                ok.insert(n);
            }
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}
