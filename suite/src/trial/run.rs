//! One trial from start to verdict: options validated → cluster ready →
//! topic created and verified → workload, nemesis and observer together
//! for the time limit → heal → recovery → the workload's final phase →
//! checkers → `results.json`, the report, a summary and an exit code.

use super::progress::{active_faults, note, progress_bar};
use super::script::{resolve_script, ScriptCluster, ScriptTarget};
use super::spec::{nemesis_names, NemesisPlan, Report, TestSpec};
use super::targets::ClusterTargets;
use crate::cluster::Cluster;
use crate::kafka::admin;
use crate::observer::{Observer, ObserverConfig};
use crate::workloads::{Context as WorkloadContext, Counters, Workload};
use anyhow::{anyhow, bail, Context, Result};
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_histories::{HistoryWriter, Store};
use trial_nemesis::{Node, ProcessState, Schedule, Targets};

/// Run one trial from start to verdict.
pub async fn run(spec: TestSpec) -> Result<Report> {
    spec.validate()?;
    // The spec as asked (before the run fills in what it decides): what
    // `test --spec <run>/spec.toml` runs again.
    let trial_spec = crate::spec::TrialSpec::from_test(&spec)?.to_toml();
    let mut spec = spec.with_fault_requirements();
    // test.json records the mode the run ran in, not just what was asked
    // (a release's default mode is the release's to choose).
    spec.cluster.mode = Some(spec.cluster.mode());
    let workload: Arc<dyn Workload> = Arc::from(spec.build_workload()?);
    let pb = progress_bar(spec.progress);
    let say = |m: String| note(&pb, spec.progress, m);
    let t0 = Instant::now();
    let store = Store::new(&spec.store);
    // A store short of space for a run this long: said before it starts.
    if let Some(w) = crate::upkeep::free_bytes(&spec.store)
        .and_then(|free| crate::upkeep::space_warning(&spec.store, free, spec.time_limit))
    {
        eprintln!("warning: {w}");
    }
    let run_dir = store
        .create_run(&spec.name)
        .with_context(|| format!("create a run folder in {}", spec.store.display()))?;
    run_dir.write_json("test.json", &spec)?;
    std::fs::write(run_dir.path.join(crate::spec::SPEC_FILE), trial_spec)?;
    say(format!("run folder: {}", run_dir.path.display()));
    // This process runs the run: `controller.json` until the end (a
    // controller that dies leaves it, and the run reads as interrupted).
    let mut lock = crate::owner::RunLock::take(&run_dir.path)
        .with_context(|| format!("write {}", crate::owner::CONTROLLER_FILE))?;

    // Ctrl-C: stop the workload and the nemesis, heal, tear down, check.
    let interrupted = Arc::new(AtomicBool::new(false));
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    // The handler lives as long as this run (aborted on every way out): a
    // process that runs trials one after another (`matrix`) must not keep
    // the handlers of finished ones, each answering the next Ctrl-C.
    let _ctrl_c = {
        let interrupted = interrupted.clone();
        let cancel_tx = cancel_tx.clone();
        AbortOnDrop(tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: stopping the workload, healing, tearing down (Ctrl-C again to abandon)");
                interrupted.store(true, Ordering::SeqCst);
                let _ = cancel_tx.send(true);
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!(
                        "abandoned: faults may remain and containers are left; `kafka-trial clean` removes them"
                    );
                    std::process::exit(i32::from(crate::cli::exit::HARNESS));
                }
            }
        }))
    };

    // A cluster the user runs (`--bootstrap`): none is built.
    let (outcome, cluster_id, cluster_ready_secs) = if let Some(x) = spec.external.clone() {
        crate::external::site::run_on(
            x,
            &mut spec,
            &workload,
            &run_dir,
            &pb,
            t0,
            interrupted.clone(),
            (cancel_tx.clone(), cancel_rx),
        )
        .await?
    } else {
        pb.set_message("starting the cluster");
        let cluster = Cluster::start_labelled(
            spec.cluster.clone(),
            crate::owner::run_labels(&run_dir.path),
        )
        .await?;
        if let Err(e) = lock.set_cluster(&cluster.id) {
            tracing::warn!(
                "recording the cluster in {}: {e}",
                crate::owner::CONTROLLER_FILE
            );
        }
        let cluster_ready_secs = t0.elapsed().as_secs_f64();
        // On SSH hosts: the shape the hosts file gave and which host played
        // which node.
        if spec.cluster.hosts.is_some() {
            let version = spec.cluster.kafka_version.clone();
            spec.cluster = cluster.spec.clone();
            spec.cluster.kafka_version = version;
            run_dir.write_json("test.json", &spec)?;
        }
        // ... and the release it ran (the default one is only known now).
        if spec.cluster.kafka_version.is_none() {
            spec.cluster.kafka_version = Some(cluster.dist.version.clone());
            run_dir.write_json("test.json", &spec)?;
        }
        say(format!(
            "cluster {} ready in {cluster_ready_secs:.1}s: Kafka {} ({} mode), {} nodes, bootstrap {}",
            cluster.id,
            cluster.dist.version,
            spec.cluster.mode(),
            cluster.nodes.len(),
            cluster.bootstrap_servers()
        ));
        let site = Site::built(&cluster);
        let outcome = trial(
            &spec,
            &workload,
            &site,
            &run_dir,
            &pb,
            interrupted.clone(),
            (cancel_tx.clone(), cancel_rx),
        )
        .await;
        // Logs and teardown happen whatever the trial's outcome.
        pb.set_message("collecting logs and tearing down");
        if let Err(e) = cluster.collect_logs(&run_dir.nodes()).await {
            tracing::warn!("collecting node logs: {e:#}");
        }
        let td = cluster.teardown().await;
        // The platform's record (SSH: each host's preflight facts and bytes
        // uploaded), after the teardown so that it is complete.
        if let Some(r) = cluster.platform_report() {
            if let Err(e) = run_dir.write_json("hosts.json", &r) {
                tracing::warn!("writing hosts.json: {e:#}");
            }
        }
        let cluster_id = cluster.id.clone();
        drop(cluster);
        // The trial's error first, then the teardown's.
        let outcome = outcome.and_then(|o| td.map(|_| o));
        (outcome, cluster_id, cluster_ready_secs)
    };
    let (counters, workload_secs) = outcome?;

    pb.set_message("checking the history");
    let history_path = run_dir.history();
    // The history is closed: index it for `serve`'s range queries.
    if let Err(e) = trial_histories::index::build(&history_path) {
        tracing::warn!("indexing the history: {e}");
    }
    // Judged against the settings the run ran with (test.json, with the
    // release filled in): what Kafka promised for them.
    let spec_json = serde_json::to_value(&spec)?;
    let check_options = spec.linear_check(trial_checkers::CheckOptions {
        configuration: Some(trial_checkers::promises::Configuration::from_test_json(
            &spec_json,
        )),
        // No progress in a healthy cluster for longer than the clients'
        // timeouts allow is a `client-stall` (as `kafka-trial check` reads
        // it from test.json).
        stall_threshold: trial_checkers::progress::threshold_from_test_json(&spec_json)
            .unwrap_or(trial_checkers::progress::DEFAULT_STALL_THRESHOLD),
        // A check longer than a second shows how far it is.
        progress: {
            let pb = pb.clone();
            let start = std::time::Instant::now();
            trial_checkers::Progress::new(move |done, total| {
                if start.elapsed() >= std::time::Duration::from_secs(1) {
                    pb.set_message(format!(
                        "checking the history: {}%",
                        done * 100 / total.max(1)
                    ));
                }
            })
        },
        ..workload.check_options()
    });
    let results = tokio::task::spawn_blocking(move || {
        trial_checkers::check_history_file(&history_path, &check_options)
    })
    .await??;
    run_dir.write_json("results.json", &results)?;
    pb.set_message("rendering the report");
    let dir = run_dir.path.clone();
    let report_html =
        match tokio::task::spawn_blocking(move || crate::report::write_run_report(&dir)).await? {
            Ok(files) => Some(files.html),
            Err(e) => {
                tracing::warn!("rendering report.html: {e:#}");
                None
            }
        };
    pb.finish_and_clear();
    drop(lock);
    let (ok, fail, info) = counters.snapshot();
    Ok(Report {
        run_dir: run_dir.path.clone(),
        exit_code: results.exit_code_judged(spec.judge),
        results,
        interrupted: interrupted.load(Ordering::SeqCst),
        cluster_id,
        cluster_ready_secs,
        outcomes: (ok, fail, info),
        sends_ok: counters.sends_ok.load(Ordering::Relaxed),
        workload_secs,
        report_html,
    })
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where a trial runs: a cluster the suite built, or one the user runs
/// (`crate::external::site`).
pub(crate) struct Site<'a> {
    /// The cluster's id (the run's consumer group is `kt-<id>`).
    pub id: String,
    pub bootstrap: String,
    /// Broker (and controller, ZooKeeper) id → node name.
    pub names: BTreeMap<i32, String>,
    /// The names the nemesis plans over: brokers, the ZooKeeper ensemble.
    pub brokers: Vec<String>,
    pub zookeeper: Vec<String>,
    /// What the nemesis acts on.
    pub nodes: Vec<Arc<dyn Node>>,
    /// The cluster the suite built (`None`: the user's).
    pub built: Option<&'a Cluster>,
    /// The user's cluster: (broker id, address) from its metadata.
    pub addresses: Vec<(i32, String)>,
    /// The observer's brokers and controllers (its topic is set here);
    /// `None`: not observed.
    pub observe: Option<ObserverConfig>,
    /// The topic, already created and healthy (the user's cluster);
    /// `None`: create the workload's topic here.
    pub parts: Option<(String, Vec<admin::PartitionInfo>)>,
}

impl<'a> Site<'a> {
    pub fn built(cluster: &'a Cluster) -> Site<'a> {
        let (brokers, zookeeper) = nemesis_names(cluster.nodes.iter().map(|n| &n.role));
        Site {
            id: cluster.id.clone(),
            bootstrap: cluster.bootstrap_servers(),
            names: cluster
                .nodes
                .iter()
                .map(|n| (n.role.id, n.role.name.clone()))
                .collect(),
            brokers,
            zookeeper,
            nodes: cluster.nemesis_nodes(),
            built: Some(cluster),
            addresses: vec![],
            observe: Some(ObserverConfig::for_cluster(cluster, "")),
            parts: None,
        }
    }
}

pub(crate) async fn trial(
    spec: &TestSpec,
    workload: &Arc<dyn Workload>,
    site: &Site<'_>,
    run_dir: &trial_histories::RunDir,
    pb: &ProgressBar,
    interrupted: Arc<AtomicBool>,
    (cancel_tx, cancel): (
        tokio::sync::watch::Sender<bool>,
        tokio::sync::watch::Receiver<bool>,
    ),
) -> Result<(Arc<Counters>, f64)> {
    let bootstrap = site.bootstrap.clone();
    let mut topic = workload.topic();
    let parts = match &site.parts {
        Some((name, parts)) => {
            topic.name = name.clone();
            parts.clone()
        }
        None => {
            pb.set_message(format!("creating topic {}", topic.name));
            admin::create_topic(
                &bootstrap,
                &topic.name,
                topic.partitions as i32,
                spec.cluster.replication_factor as i32,
                &[(
                    "min.insync.replicas",
                    &spec.cluster.min_insync_replicas.to_string(),
                )],
                Duration::from_secs(60),
            )
            .await?
        }
    };
    for p in &parts {
        if p.replicas.len() != spec.cluster.replication_factor || p.isr.len() != p.replicas.len() {
            bail!(
                "topic {} partition {} has replicas {:?} and ISR {:?}, expected {} in sync",
                topic.name,
                p.id,
                p.replicas,
                p.isr,
                spec.cluster.replication_factor
            );
        }
    }
    let names = site.names.clone();
    // The brokers (with any dedicated KRaft controllers) and the ZooKeeper
    // ensemble apart: broker faults and the classic cuts aim at the first,
    // the zk-* targets and topologies at the second.
    let (brokers, zookeeper) = (site.brokers.clone(), site.zookeeper.clone());
    let schedule = match &spec.nemesis {
        NemesisPlan::Generated(o) => {
            Schedule::generate_with_zookeeper(spec.seed, &brokers, &zookeeper, spec.time_limit, o)?
        }
        NemesisPlan::Fixed(faults) => {
            super::fixed::validate(faults, &brokers, &zookeeper, spec.time_limit)?;
            super::fixed::to_schedule(faults, &brokers, &zookeeper, spec.time_limit, spec.seed)
        }
        NemesisPlan::Script(steps) => {
            let cluster = site
                .built
                .ok_or_else(|| anyhow!("a scripted nemesis needs a cluster the suite built"))?;
            let controllers: Vec<String> = cluster
                .nodes
                .iter()
                .filter(|n| n.role.controller)
                .map(|n| n.role.name.clone())
                .collect();
            // Asked only of scripts that target it (it reads the nodes).
            let active_controller = if steps
                .iter()
                .any(|s| s.target == ScriptTarget::ActiveController)
            {
                crate::kafka::zookeeper::active_controller(&cluster.nodes).await
            } else {
                None
            };
            let broker_names: Vec<String> = cluster
                .nodes
                .iter()
                .filter(|n| n.role.broker)
                .map(|n| n.role.name.clone())
                .collect();
            let (coordinator, successor) = match workload.transactional_ids().first() {
                Some(id)
                    if steps.iter().any(|s| {
                        matches!(
                            s.target,
                            ScriptTarget::Coordinator | ScriptTarget::LeaderAwayFromCoordinator
                        ) || s.fault == super::script::ScriptFault::CutFromCoordinator
                    }) =>
                {
                    let b = coordinator_of(cluster, id).await?;
                    let next = successor_of(&bootstrap, id, b).await?;
                    (
                        names.get(&b).cloned(),
                        next.and_then(|n| names.get(&n).cloned()),
                    )
                }
                _ => (None, None),
            };
            let c = ScriptCluster {
                parts: &parts,
                names: &names,
                all: &brokers,
                zookeeper: &zookeeper,
                controllers: &controllers,
                brokers: &broker_names,
                active_controller,
                coordinator,
                successor,
            };
            resolve_script(steps, &c, spec.time_limit, spec.seed)?
        }
    };
    run_dir.write_json("schedule.json", &schedule)?;

    let history = Arc::new(HistoryWriter::create(&run_dir.history())?);
    // The cluster observer records leaders, epochs, ISR and the controller
    // from now until recovery, so the history shows whether faults bit.
    // Dropping its handle (an early return) stops it too.
    let group = format!("kt-{}", site.id);
    let observer = site.observe.clone().map(|mut observe| {
        observe.topic = topic.name.clone();
        observe.interval = spec.observer_interval;
        observe.transactional_ids = workload.transactional_ids();
        observe.groups = workload.groups(&group);
        Observer::spawn(observe, history.clone())
    });
    let settings = spec.client_settings(&bootstrap, &topic.name);
    let driver = crate::clients::driver(&spec.driver).map_err(|e| anyhow!(e))?;
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let ctx = WorkloadContext {
        history: history.clone(),
        driver,
        settings,
        seed: spec.seed,
        group: group.clone(),
        deadline: Instant::now() + spec.time_limit,
        stop: stop.clone(),
        counters: counters.clone(),
    };
    let running = workload.start(ctx.clone());
    let targets: Arc<dyn Targets> = Arc::new(ClusterTargets {
        bootstrap: bootstrap.clone(),
        topic: topic.name.clone(),
        names,
        nodes: site.built.map(|c| c.nodes.clone()).unwrap_or_default(),
        brokers: site.addresses.clone(),
        transactional_ids: workload.transactional_ids(),
        groups: workload.groups(&group),
    });
    let nemesis = {
        let schedule = schedule.clone();
        let nodes = site.nodes.clone();
        let history = history.clone();
        let origin = history.start();
        tokio::spawn(async move {
            trial_nemesis::run(&schedule, nodes, targets, history, cancel, origin).await
        })
    };

    // The live progress line, until the time limit or an interruption.
    let started = Instant::now();
    // Without a terminal the spinner is hidden: print the line every 10 s.
    let plain = spec.progress && pb.is_hidden();
    let mut last_plain = Instant::now();
    let mut write_failed = None;
    while started.elapsed() < spec.time_limit && !interrupted.load(Ordering::SeqCst) {
        // The history cannot be written (a full disk): stop now, heal, and
        // tear down; nothing more can be recorded.
        if let Some(e) = history.failure() {
            let _ = cancel_tx.send(true);
            write_failed = Some(e);
            break;
        }
        let (ok, fail, info) = counters.snapshot();
        let faults = active_faults(&schedule, history.start().elapsed());
        let line = format!(
            "{:>3.0}/{}s  ok {ok}  fail {fail}  info {info}  faults: {}",
            started.elapsed().as_secs_f64(),
            spec.time_limit.as_secs(),
            if faults.is_empty() {
                "none".to_string()
            } else {
                faults.join(", ")
            }
        );
        if plain && last_plain.elapsed() >= Duration::from_secs(10) {
            eprintln!("{line}");
            last_plain = Instant::now();
        }
        pb.set_message(line);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::SeqCst);
    pb.set_message("stopping the workload (each worker finishes its operation)");
    let join_limit = spec.message_timeout + spec.request_timeout + Duration::from_secs(10);
    let stuck = tokio::task::spawn_blocking(move || running.join_within(join_limit)).await?;
    if !stuck.is_empty() {
        note(pb, spec.progress, format!(
            "{stuck:?} are stuck inside the client and were abandoned; their open operations count as indeterminate"
        ));
    }
    let workload_secs = started.elapsed().as_secs_f64();
    pb.set_message("healing");
    let nemesis_report = nemesis.await?;
    match &nemesis_report {
        Ok(r) => tracing::info!(
            actions = r.actions,
            failed = r.failed_actions,
            "nemesis done"
        ),
        Err(e) => tracing::warn!("nemesis: {e}"),
    }

    if let Some(e) = write_failed {
        bail!(
            "the history {} could not be written ({e}; is the store's disk full? `df -h {}`): \
             the trial stopped at {:.0} s, healed and tore down; the {} ops written before \
             still read (`kafka-trial check {}` says what they show)",
            run_dir.history().display(),
            run_dir.path.display(),
            workload_secs,
            history.len(),
            run_dir.path.display()
        );
    }
    if interrupted.load(Ordering::SeqCst) {
        // No final reads after Ctrl-C: the checkers will say what they can.
        return Ok((counters, workload_secs));
    }
    // Recovery: every broker running and every partition's ISR full.
    pb.set_message("waiting for recovery (every broker up, every ISR full)");
    let t = Instant::now();
    for n in &site.nodes {
        let main = n.processes()[0];
        if !matches!(n.state(main).await, Ok(ProcessState::Running)) {
            tracing::warn!("{} is not running after heal: starting it", n.name());
            let _ = n.start(main).await;
        }
    }
    let recovered = admin::wait_topic_healthy(
        &bootstrap,
        &topic.name,
        topic.partitions as i32,
        spec.cluster.replication_factor,
        spec.recovery_timeout,
    )
    .await;
    match &recovered {
        Ok(_) => tracing::info!("recovered in {:.1}s", t.elapsed().as_secs_f64()),
        Err(e) => tracing::warn!("not fully recovered: {e:#}"),
    }
    if let Some(observer) = observer {
        let observed = observer.stop().await;
        tracing::info!(
            samples = observed.samples,
            recorded = observed.recorded,
            failed = observed.failed,
            "observer done"
        );
    }
    pb.set_message("final reads of every partition");
    let timeout = spec.final_read_timeout;
    // Bounded even if the client hangs: a final read that never returns
    // leaves its op open, and the checkers then say `unknown`.
    let final_workload = workload.clone();
    let final_ctx = ctx.clone();
    let reads =
        tokio::task::spawn_blocking(move || final_workload.final_phase(&final_ctx, timeout));
    let limit = spec.final_read_timeout * (topic.partitions + 1) + Duration::from_secs(30);
    if tokio::time::timeout(limit, reads).await.is_err() {
        note(
            pb,
            spec.progress,
            format!(
                "final reads did not finish within {limit:?}; the verdict will say what is missing"
            ),
        );
    }
    history.sync().ok();
    Ok((counters, workload_secs))
}

/// The terminal summary of a finished trial.
pub fn summary(report: &Report) -> String {
    let (ok, fail, info) = report.outcomes;
    let mut s = String::new();
    s.push_str(&report.results.human_summary(2));
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!(
        "workload: {:.0}s, ops ok {ok} / fail {fail} / info {info}, {:.1} acknowledged sends/s\n",
        report.workload_secs,
        report.sends_ok as f64 / report.workload_secs.max(0.001)
    ));
    if report.interrupted {
        s.push_str("interrupted: no final reads were made\n");
    }
    s.push_str(&format!("run folder: {}\n", report.run_dir.display()));
    if let Some(h) = &report.report_html {
        s.push_str(&format!("report: {}\n", h.display()));
    }
    s
}

/// The broker id coordinating `transactional_id`, asked with FindCoordinator
/// (which creates `__transaction_state` on first use: until it exists the
/// brokers answer COORDINATOR_NOT_AVAILABLE, so this retries for 60 s).
async fn coordinator_of(cluster: &Cluster, transactional_id: &str) -> Result<i32> {
    let brokers: Vec<std::net::SocketAddr> = cluster
        .nodes
        .iter()
        .filter(|n| n.role.broker)
        .map(|n| std::net::SocketAddr::new(n.host.ip(), crate::kafka::BROKER_PORT))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = anyhow!("no broker to ask");
    while Instant::now() < deadline {
        for b in &brokers {
            match crate::kafka::txn::find_coordinator(*b, transactional_id, Duration::from_secs(5))
                .await
            {
                Ok(id) => return Ok(id),
                Err(e) => last = e,
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last.context(format!("the coordinator of {transactional_id}")))
}

/// The broker that would lead `transactional_id`'s `__transaction_state`
/// partition if `coordinator` stopped: the first other replica in its ISR
/// (Kafka elects the first live ISR member in replica order).
async fn successor_of(
    bootstrap: &str,
    transactional_id: &str,
    coordinator: i32,
) -> Result<Option<i32>> {
    use crate::kafka::txn::{transaction_state_partition, TRANSACTION_STATE_TOPIC};
    let md = admin::metadata(
        bootstrap,
        Some(TRANSACTION_STATE_TOPIC),
        Duration::from_secs(10),
    )
    .await?;
    let p = transaction_state_partition(
        transactional_id,
        crate::kafka::config::TRANSACTION_STATE_PARTITIONS,
    );
    Ok(md
        .topics
        .get(TRANSACTION_STATE_TOPIC)
        .and_then(|ps| ps.iter().find(|x| x.id == p))
        .and_then(|x| {
            x.replicas
                .iter()
                .find(|r| **r != coordinator && x.isr.contains(r))
                .copied()
        }))
}
