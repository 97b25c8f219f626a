//! The harness under its own faults (issue 30), on real nodes.
//!
//! - The drop of un-fsynced writes right after a SIGKILL of a broker that
//!   was writing steadily never fails "busy" (20 kill + drop cycles on one
//!   node): the control script waits for the killed JVM to leave the
//!   kernel, and retries a busy unmount within a bound.
//!
//! Each test is short and serialised (`testing::serial`).

use kafka_trial::clients::rdkafka::RdProducer;
use kafka_trial::clients::{Acks, ClientSettings, Producer, SendOutcome};
use kafka_trial::cluster::Cluster;
use kafka_trial::kafka::node::CONTROL;
use kafka_trial::kafka::{admin, ClusterSpec};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_nemesis::{FaultKind, FaultKinds, Node, ProcessRole};

fn settings(bootstrap: &str, topic: &str) -> ClientSettings {
    ClientSettings {
        bootstrap: bootstrap.to_string(),
        topic: topic.to_string(),
        acks: Acks::All,
        idempotence: false,
        message_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(5),
        socket_timeout: Duration::from_secs(5),
        session_timeout: Duration::from_secs(6),
        // Back at the restarted broker at once (librdkafka's reconnect
        // backoff grows to 10 s by default).
        producer_overrides: BTreeMap::from([
            ("reconnect.backoff.ms".to_string(), "20".to_string()),
            ("reconnect.backoff.max.ms".to_string(), "100".to_string()),
            ("retry.backoff.ms".to_string(), "20".to_string()),
            ("retry.backoff.max.ms".to_string(), "100".to_string()),
            (
                "topic.metadata.refresh.interval.ms".to_string(),
                "200".to_string(),
            ),
        ]),
        consumer_overrides: BTreeMap::new(),
    }
}

/// A producer sending one record every 2 ms until `stop`, counting the
/// acknowledged ones (the broker's restarts make the rest wait or fail).
fn steady_writer(
    s: ClientSettings,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let p = RdProducer::new(&s).expect("producer");
        let mut v = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let acked = acked.clone();
            let _ = p.send_async(
                v,
                v,
                Box::new(move |o| {
                    if matches!(o, SendOutcome::Ok { .. }) {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                }),
            );
            v += 1;
            std::thread::sleep(Duration::from_millis(2));
        }
        p.flush(Duration::from_secs(5));
    })
}

/// 20 cycles on one broker on kt-lazyfs, written to steadily (a producer
/// sends every 2 ms throughout): wait until the restarted broker holds
/// files of the mount open and mapped (every fifth cycle, until it
/// acknowledges the producer's records again), SIGKILL it, drop its
/// un-fsynced writes, start it. Every drop succeeds (never "busy"). The
/// figure printed: per cycle, how long the killed JVM took to leave the
/// kernel after it read as dead (the window in which the old drop failed),
/// the drop's busy retries and its wait, the bytes dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_drop_after_a_sigkill_is_never_busy_over_20_cycles() {
    let _serial = kafka_trial::testing::serial().await;
    let t0 = Instant::now();
    let mut spec = ClusterSpec {
        nodes: 1,
        replication_factor: 1,
        min_insync_replicas: 1,
        ..Default::default()
    };
    spec.requirements = spec
        .requirements
        .union(&trial_nemesis::requirements(&FaultKinds(
            [FaultKind::PowerLoss].into(),
        )));
    let cluster = Cluster::start(spec)
        .await
        .expect("a 1-node cluster on kt-lazyfs");
    let id = cluster.id.clone();
    let bootstrap = cluster.bootstrap_servers();
    admin::create_topic(&bootstrap, "steady", 1, 1, &[], Duration::from_secs(60))
        .await
        .expect("topic");
    eprintln!("cluster ready in {:.1}s", t0.elapsed().as_secs_f64());
    let n = cluster.nodes[0].clone();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let writer = steady_writer(settings(&bootstrap, "steady"), stop.clone(), acked.clone());

    const CYCLES: usize = 20;
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for cycle in 1..=CYCLES {
        let tc = Instant::now();
        // The restarted JVM holds files of the mount, open and mapped (the
        // log segments and their index files: what kept the old drop
        // busy), and writes (the KRaft metadata log, and once it serves,
        // the producer's records).
        let deadline = Instant::now() + Duration::from_secs(30);
        let held = loop {
            let o = n
                .exec(&[
                    "bash",
                    "-c",
                    "p=$(cat /run/kt-broker.pid) && grep -c ' /var/lib/kafka/data/' /proc/$p/maps",
                ])
                .await
                .expect("exec");
            let k: u64 = o.stdout.trim().parse().unwrap_or(0);
            if k > 0 {
                break k;
            }
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: the broker mapped no file of the mount within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Every fifth cycle (the first included), also until the broker
        // acknowledges the producer's records again (a serving broker).
        if cycle % 5 == 1 {
            let before = acked.load(Ordering::Relaxed);
            while acked.load(Ordering::Relaxed) < before + 20 {
                assert!(
                    Instant::now() < deadline,
                    "cycle {cycle}: the broker acknowledged no writes within 30 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let writing_s = tc.elapsed().as_secs_f64();
        let kill = n.exec(&[CONTROL, "kill"]).await.expect("kill");
        assert!(kill.success(), "cycle {cycle}: kill: {kill:?}");
        let gone_ms: Option<u64> = kill
            .stdout
            .split("gone after ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|x| x.parse().ok());
        match n.drop_unfsynced().await {
            Ok(r) => rows.push((
                cycle,
                writing_s,
                held,
                gone_ms,
                r["busy_retries"].as_u64().unwrap_or(u64::MAX),
                r["waited_gone_ms"].as_u64().unwrap_or(u64::MAX),
                r["bytes_dropped"].as_u64().unwrap_or(0),
            )),
            Err(e) => failures.push(format!("cycle {cycle}: {e}")),
        }
        n.start(ProcessRole::Broker).await.expect("start");
    }
    stop.store(true, Ordering::Relaxed);
    let total_acked = acked.load(Ordering::Relaxed);
    tokio::task::spawn_blocking(move || writer.join().unwrap())
        .await
        .unwrap();
    eprintln!(
        "cycle  up_s  mapped  jvm_gone_after_kill_ms  busy_retries  drop_waited_ms  bytes_dropped"
    );
    for (c, w, m, g, b, wait, bytes) in &rows {
        eprintln!(
            "{c:>5}  {w:>4.1}  {m:>6}  {:>22}  {b:>12}  {wait:>14}  {bytes:>13}",
            g.map_or("-".to_string(), |g| g.to_string())
        );
    }
    let retries: u64 = rows.iter().map(|r| r.4).sum();
    let zombie: Vec<u64> = rows.iter().filter_map(|r| r.3).collect();
    eprintln!(
        "{} cycles in {:.1}s: {} drops ok, busy retries {retries}, killed JVM gone after \
         max {} ms (cycles where it was not gone at once: {}), {total_acked} records acknowledged",
        CYCLES,
        t0.elapsed().as_secs_f64(),
        rows.len(),
        zombie.iter().max().copied().unwrap_or(0),
        zombie.iter().filter(|&&g| g > 0).count(),
    );
    cluster.teardown().await.expect("teardown");
    kafka_trial::testing::assert_no_leftovers(&id).await;
    assert!(failures.is_empty(), "drops failed: {failures:#?}");
    assert_eq!(rows.len(), CYCLES);
    assert!(
        rows.iter().all(|r| r.4 != u64::MAX && r.5 != u64::MAX),
        "every drop report says its retries and its wait: {rows:?}"
    );
    assert!(
        rows.iter().filter(|r| r.6 > 0).count() >= CYCLES / 2,
        "the steady writes left un-fsynced bytes to drop: {rows:?}"
    );
    assert!(total_acked >= 20 * 4, "{total_acked} records acknowledged");
}

/// `kafka-trial --store <store> <args>`.
fn kt(store: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kafka-trial"));
    c.arg("--store").arg(store);
    c
}

/// A trial in the background: `test --name NAME` on one node, no fault.
fn trial(store: &std::path::Path, name: &str, secs: u64) -> std::process::Child {
    kt(store)
        .args([
            "test",
            "--name",
            name,
            "--nodes",
            "1",
            "--replication-factor",
            "1",
        ])
        .args([
            "--min-insync-replicas",
            "1",
            "--partitions",
            "1",
            "--rate",
            "100",
        ])
        .args(["--time-limit", &format!("{secs}s")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start kafka-trial")
}

/// The run folder of test `name` and its controller.json once the cluster
/// is recorded there (bounded).
async fn running_run(store: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let dir = store.join(name).join("latest");
        if let Ok(b) = std::fs::read(dir.join(kafka_trial::owner::CONTROLLER_FILE)) {
            let f: kafka_trial::owner::ControllerFile = serde_json::from_slice(&b).unwrap();
            let history = std::fs::metadata(dir.join("history.jsonl")).map_or(0, |m| m.len());
            if let Some(c) = f.cluster {
                if history > 0 {
                    return (std::fs::canonicalize(&dir).unwrap(), c);
                }
            }
        }
        assert!(Instant::now() < deadline, "{name}: no cluster within 90 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn containers_of(cluster: &str) -> Vec<String> {
    let d = kafka_trial::platform::docker::engine::connect()
        .await
        .unwrap();
    kafka_trial::owner::find(&d)
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.cluster == cluster)
        .flat_map(|f| f.containers)
        .collect()
}

/// Two trials at once on one store; one controller killed with SIGKILL
/// mid-trial. The next command notices its cluster (and only its) and
/// names the command that removes it; `runs` shows the dead run
/// `interrupted` and the live one `running`; `check` of the dead run gives
/// a verdict from what was written (unknown: no final reads); `clean`
/// asked for both clusters removes the dead one and keeps the live one,
/// which then finishes with a verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_controller_leaves_an_interrupted_run_that_clean_removes_and_a_live_run_is_untouched(
) {
    let _serial = kafka_trial::testing::serial().await;
    let t0 = Instant::now();
    let d = tempfile::tempdir().unwrap();
    let store = d.path();
    let mut dead = trial(store, "dead", 60);
    let mut live = trial(store, "live", 40);
    let (dead_dir, dead_cluster) = running_run(store, "dead").await;
    let (live_dir, live_cluster) = running_run(store, "live").await;
    // Let the dead one write a little of its workload, then kill -9.
    tokio::time::sleep(Duration::from_secs(3)).await;
    dead.kill().unwrap(); // SIGKILL
    dead.wait().unwrap();
    eprintln!(
        "{:.1}s: controller of {} killed (cluster {dead_cluster}); live run {} (cluster {live_cluster})",
        t0.elapsed().as_secs_f64(),
        dead_dir.display(),
        live_dir.display()
    );
    assert!(
        !containers_of(&dead_cluster).await.is_empty(),
        "left behind"
    );

    // The next command: `runs`.
    let out = kt(store).arg("runs").output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    eprintln!("runs:\n{so}{se}");
    assert_eq!(out.status.code(), Some(0));
    let line = |test: &str| {
        so.lines()
            .find(|l| l.starts_with(test))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("dead").contains("interrupted"), "{so}");
    assert!(line("live").contains("running"), "{so}");
    assert!(
        se.contains(&format!("kafka-trial clean --cluster {dead_cluster}"))
            && se.contains(&dead_dir.display().to_string()),
        "the dead run's leftovers and the command that removes them: {se}"
    );
    assert!(
        !se.contains(&live_cluster),
        "nothing about the live run: {se}"
    );

    // `check` of the dead run: a verdict from what was written.
    let out = kt(store).arg("check").arg(&dead_dir).output().unwrap();
    let so = String::from_utf8_lossy(&out.stdout);
    eprintln!("check: {so}");
    assert_eq!(out.status.code(), Some(2), "unknown: {so}");
    assert!(so.contains("final read"), "{so}");

    // `clean` of both: the dead cluster goes, the live one stays.
    let out = kt(store)
        .args([
            "clean",
            "--cluster",
            &dead_cluster,
            "--cluster",
            &live_cluster,
        ])
        .output()
        .unwrap();
    let so = String::from_utf8_lossy(&out.stdout);
    eprintln!("clean: {so}");
    assert_eq!(out.status.code(), Some(0));
    assert!(so.contains(&format!("kept cluster {live_cluster}")), "{so}");
    assert!(containers_of(&dead_cluster).await.is_empty(), "{so}");
    assert!(!containers_of(&live_cluster).await.is_empty(), "{so}");
    let out = kt(store).arg("runs").output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("clean --cluster"),
        "nothing left to notice"
    );

    // The live run finishes as if nothing happened.
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = live.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the live run did not end");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status.code(), Some(0), "the live run is valid");
    assert!(live_dir.join("results.json").is_file());
    assert!(!live_dir.join(kafka_trial::owner::CONTROLLER_FILE).exists());
    kafka_trial::testing::assert_no_leftovers(&live_cluster).await;
    kafka_trial::testing::assert_no_leftovers(&dead_cluster).await;
    eprintln!("done in {:.1}s", t0.elapsed().as_secs_f64());
}

/// Unmounts its tmpfs when dropped.
struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// The store on a 64 MB tmpfs that is nearly full: the controller warns
/// before the trial (less free space than its length needs), and when the
/// history can no longer be written the trial stops with exit 3 and a
/// message that says so, heals and tears the cluster down (nothing of it
/// left), and the history written up to then parses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_store_stops_the_trial_with_exit_3_and_leaves_a_history_that_parses() {
    let _serial = kafka_trial::testing::serial().await;
    let t0 = Instant::now();
    let mnt = std::env::temp_dir().join(format!("kt-fulldisk-{}", std::process::id()));
    std::fs::create_dir_all(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("mount");
    assert!(ok.success(), "mounting a tmpfs (the tests run as root)");
    let _guard = Tmpfs(mnt.clone());
    // Fill it but ~400 kB.
    let free = kafka_trial::upkeep::free_bytes(&mnt).unwrap();
    let filler = vec![0u8; (free - 400_000) as usize];
    std::fs::write(mnt.join("filler"), filler).unwrap();
    let store = mnt.join("store");
    let out = tokio::task::spawn_blocking({
        let store = store.clone();
        move || {
            kt(&store)
                .args([
                    "test",
                    "--name",
                    "full",
                    "--nodes",
                    "1",
                    "--replication-factor",
                    "1",
                ])
                .args([
                    "--min-insync-replicas",
                    "1",
                    "--partitions",
                    "1",
                    "--rate",
                    "300",
                ])
                .args(["--time-limit", "60s", "--nemesis", "pause"])
                .args(["--nemesis-interval", "3s"])
                .output()
                .expect("kafka-trial")
        }
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "{:.1}s: exit {:?}\n{err}",
        t0.elapsed().as_secs_f64(),
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("warning: the store"),
        "the space warning: {err}"
    );
    assert!(
        err.contains("could not be written") && err.contains("No space left on device"),
        "{err}"
    );
    assert!(err.contains("healed and tore down"), "{err}");
    let run = std::fs::read_dir(store.join("full"))
        .unwrap()
        .flatten()
        .find(|e| e.file_type().unwrap().is_dir())
        .expect("the run folder")
        .path();
    // Written up to the full disk: whole lines, every one parses.
    let h = trial_histories::read_history(&run.join("history.jsonl")).expect("the history parses");
    assert!(h.ops.len() > 100, "{} ops", h.ops.len());
    eprintln!("{} ops written before the disk was full", h.ops.len());
    // Torn down: no container or network of the run's left.
    let d = kafka_trial::platform::docker::engine::connect()
        .await
        .unwrap();
    let left: Vec<_> = kafka_trial::owner::find(&d)
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.run.as_deref() == Some(run.as_path()))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(t0.elapsed() < Duration::from_secs(90));
}
