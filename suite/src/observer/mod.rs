//! The cluster observer: while a trial runs, it reads the cluster's state
//! every `interval` (500 ms by default) and records each change in the
//! history as an `observer`/`observe` op (the contract is
//! `notes/observer-op.md`), so that the record shows whether a fault *bit*:
//! a leader moved, an ISR shrank, the controller changed, a broker was
//! fenced or could not be reached.
//!
//! What it reads, per sample, by speaking Kafka's protocol directly
//! ([`wire`], over the `kafka-protocol` crate — librdkafka's metadata API
//! exposes neither leader epochs, eligible leader replicas, fenced brokers
//! nor the KRaft quorum):
//! - `Metadata` (v9–v12) from every broker: per partition of the test topic
//!   its leader, leader epoch, replicas, ISR and offline replicas; a broker
//!   that refuses or times out is *unreachable*;
//! - `DescribeTopicPartitions` (KIP-966, Kafka ≥ 3.8) where eligible leader
//!   replicas are on: each partition's ELR;
//! - `DescribeCluster` v2 (KIP-1073, Kafka ≥ 4.0) with fenced brokers;
//! - `DescribeQuorum` from each controller's own listener (3.6.2 answers
//!   there too, measured; a broker forwards it if no controller answers):
//!   the active controller and the metadata quorum's leader epoch, and each
//!   controller's own belief (`voters`: only a leader answers, the others
//!   refuse with NOT_LEADER_OR_FOLLOWER), so two controllers that both lead
//!   (KAFKA-15489) show;
//! - `DescribeTransactions` (Kafka ≥ 3.0) from every broker, for the
//!   workload's `transactional.id`s: each one's state at its coordinator
//!   (`transactions`), so a transaction left prepared (KAFKA-16352) shows;
//! - for the workload's consumer groups: `__consumer_offsets` in the same
//!   Metadata request (each group's coordinator is the leader of its
//!   partition there), and DescribeGroups from every broker (the
//!   coordinator answers, the others say NOT_COORDINATOR): a classic
//!   group's state and members; a group it does not know as classic (a
//!   KIP-848 consumer-protocol group) is asked ConsumerGroupDescribe
//!   (Kafka ≥ 4.0) for its state, group epoch and members (`groups`), so
//!   a coordinator that moved and the rebalances it caused show.
//!
//! In ZooKeeper mode there is no quorum to ask: the controller is the
//! broker Metadata names (elected through ZooKeeper), and every ZooKeeper
//! server is asked `srvr` (leader, follower, not serving) for the
//! ensemble's state.
//!
//! Each request has a timeout (2 s by default). A source that fails keeps
//! its previous value and is named in `errors`; a sample where nothing
//! could be read is a `fail` op. An observer that cannot read never stops
//! the trial: it only records that it could not.

mod sample;
pub mod wire;

pub use sample::{quorum_state, sample_once, QuorumAnswer, Reader};

use crate::cluster::Cluster;
use crate::kafka::config::ZOOKEEPER_PORT;
use crate::kafka::{KafkaNode, BROKER_PORT, CONTROLLER_PORT};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use trial_histories::{HistoryWriter, Op, OpType, Process, F};

/// The process name of the observer's ops.
pub const PROCESS: &str = "observer";

/// One node the observer asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedNode {
    /// Kafka node id (`node.id`).
    pub id: i32,
    /// Node name (`n1` …) for the history's `brokers` map.
    pub name: String,
    /// The listener asked: the broker port for brokers, the controller port
    /// for controllers.
    pub addr: SocketAddr,
}

/// What to observe and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObserverConfig {
    /// The test topic: its partitions are observed.
    pub topic: String,
    pub brokers: Vec<ObservedNode>,
    /// The KRaft controllers' own listeners (asked DescribeQuorum).
    pub controllers: Vec<ObservedNode>,
    /// ZooKeeper mode: the ensemble's servers at their client port (asked
    /// `srvr`). Non-empty means ZooKeeper mode: the controller is then the
    /// one the brokers' Metadata names, and no quorum is asked.
    #[serde(default)]
    pub zookeeper: Vec<ObservedNode>,
    /// The workload's `transactional.id`s: their states are asked of the
    /// brokers (DescribeTransactions) each sample.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transactional_ids: Vec<String>,
    /// The workload's consumer groups: each one's coordinator (the leader
    /// of its `__consumer_offsets` partition) and state are read each
    /// sample.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    pub interval: Duration,
    /// Per request.
    pub timeout: Duration,
}

impl ObserverConfig {
    /// Default interval between samples.
    pub const INTERVAL: Duration = Duration::from_millis(500);
    /// Default timeout of one request.
    pub const TIMEOUT: Duration = Duration::from_secs(2);

    /// Observe `topic` on every broker and controller of `cluster`.
    pub fn for_cluster(cluster: &Cluster, topic: &str) -> ObserverConfig {
        let node = |n: &KafkaNode, port: u16| ObservedNode {
            id: n.role.id,
            name: n.role.name.clone(),
            addr: SocketAddr::new(n.host.ip(), port),
        };
        ObserverConfig {
            topic: topic.to_string(),
            brokers: cluster
                .nodes
                .iter()
                .filter(|n| n.role.broker)
                .map(|n| node(n, BROKER_PORT))
                .collect(),
            controllers: cluster
                .nodes
                .iter()
                .filter(|n| n.role.controller)
                .map(|n| node(n, CONTROLLER_PORT))
                .collect(),
            zookeeper: cluster
                .nodes
                .iter()
                .filter(|n| n.role.zookeeper)
                .map(|n| node(n, ZOOKEEPER_PORT))
                .collect(),
            transactional_ids: vec![],
            groups: vec![],
            interval: Self::INTERVAL,
            timeout: Self::TIMEOUT,
        }
    }
}

/// One sample: exactly the `ok` value of an `observe` op. The types are
/// the history's own (`trial_histories::values`), so what the observer
/// writes is what the checkers and the report read.
pub use trial_histories::values::{ControllerState, Observation as Snapshot, PartitionState};

/// What the observer reads besides the shared value types.
trait SnapshotExt {
    fn same_state(&self, o: &Snapshot) -> bool;
}

impl SnapshotExt for Snapshot {
    /// Same cluster state (everything but how long the read took).
    fn same_state(&self, o: &Snapshot) -> bool {
        self.partitions == o.partitions
            && self.controller == o.controller
            && self.brokers == o.brokers
            && self.fenced == o.fenced
            && self.unreachable == o.unreachable
            && self.errors == o.errors
            && self.zookeeper == o.zookeeper
            && self.voters == o.voters
            && self.transactions == o.transactions
            && self.groups == o.groups
    }
}

/// The value of a `fail` observe op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailValue {
    pub read_ms: u64,
}

/// What to write for one sample, decided by [`ChangeDetector`].
#[derive(Debug, Clone, PartialEq, Eq)]
// One Record per sample (two a second): its size does not matter, a box
// would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Record {
    Nothing,
    Ok(Snapshot),
    Fail { error: String, read_ms: u64 },
}

/// Decides which samples are written: the first, every change of state,
/// a failure when it starts or its text changes, and the first success
/// after a failure.
#[derive(Debug, Default)]
pub struct ChangeDetector {
    last_ok: Option<Snapshot>,
    failing: Option<String>,
}

impl ChangeDetector {
    pub fn on_sample(&mut self, r: Result<Snapshot, String>, read_ms: u64) -> Record {
        match r {
            Ok(s) => {
                let recovered = self.failing.take().is_some();
                let changed = self.last_ok.as_ref().is_none_or(|l| !l.same_state(&s));
                if recovered || changed {
                    self.last_ok = Some(s.clone());
                    Record::Ok(s)
                } else {
                    Record::Nothing
                }
            }
            Err(e) => {
                if self.failing.as_deref() == Some(e.as_str()) {
                    Record::Nothing
                } else {
                    self.failing = Some(e.clone());
                    Record::Fail { error: e, read_ms }
                }
            }
        }
    }
}

/// Counts of a finished observer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObserverSummary {
    /// Samples taken.
    pub samples: u64,
    /// `observe` ops written (ok and fail).
    pub recorded: u64,
    /// Samples where nothing could be read.
    pub failed: u64,
}

/// The running observer task.
pub struct ObserverHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<ObserverSummary>,
}

impl ObserverHandle {
    /// Stop sampling (a sample under way is abandoned) and return the counts.
    pub async fn stop(self) -> ObserverSummary {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

/// Append one sample's ops: an invoke and its completion, back to back.
pub fn write_record(history: &HistoryWriter, rec: &Record) -> std::io::Result<bool> {
    let process = Process::Named(PROCESS.to_string());
    let invoke = Op::new(process, OpType::Invoke, F::Observe);
    let done = match rec {
        Record::Nothing => return Ok(false),
        Record::Ok(s) => invoke.complete(OpType::Ok).with_value(s),
        Record::Fail { error, read_ms } => invoke
            .complete(OpType::Fail)
            .with_value(&FailValue { read_ms: *read_ms })
            .with_error(error.clone()),
    };
    history.append(invoke)?;
    history.append(done)?;
    Ok(true)
}

/// The observer: a tokio task sampling the cluster into a history.
pub struct Observer;

impl Observer {
    /// Start observing; stop with [`ObserverHandle::stop`].
    pub fn spawn(cfg: ObserverConfig, history: Arc<HistoryWriter>) -> ObserverHandle {
        let (tx, mut rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut summary = ObserverSummary::default();
            let mut reader = Reader::new(cfg.clone());
            let mut detector = ChangeDetector::default();
            let mut ticker = tokio::time::interval(cfg.interval.max(Duration::from_millis(10)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if *rx.borrow() {
                    break;
                }
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = rx.changed() => break,
                }
                let t0 = std::time::Instant::now();
                let r = tokio::select! {
                    r = reader.sample() => r,
                    _ = rx.changed() => break,
                };
                let read_ms = t0.elapsed().as_millis() as u64;
                summary.samples += 1;
                if r.is_err() {
                    summary.failed += 1;
                }
                let rec = detector.on_sample(r, read_ms);
                match write_record(&history, &rec) {
                    Ok(true) => summary.recorded += 2,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!("observer: the history cannot be written: {e}");
                        break;
                    }
                }
            }
            summary
        });
        ObserverHandle { stop: tx, task }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn snap(leader: i32, epoch: i32, isr: &[i32]) -> Snapshot {
        Snapshot {
            partitions: vec![PartitionState {
                partition: 0,
                leader,
                epoch,
                replicas: vec![1, 2, 3],
                isr: isr.to_vec(),
                elr: None,
                offline: vec![],
            }],
            controller: Some(ControllerState { id: 1, epoch: 7 }),
            brokers: [(1, "n1".into()), (2, "n2".into()), (3, "n3".into())].into(),
            fenced: Some(vec![]),
            unreachable: vec![],
            read_ms: 12,
            errors: BTreeMap::new(),
            zookeeper: None,
            voters: None,
            transactions: None,
            groups: None,
        }
    }

    #[test]
    fn a_snapshot_serialises_to_the_contract() {
        let mut s = snap(2, 3, &[2, 3]);
        s.partitions[0].elr = Some(vec![1]);
        s.fenced = Some(vec![3]);
        s.unreachable = vec![3];
        s.errors
            .insert("quorum".into(), "timed out after 2s".into());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "partitions":[{"partition":0,"leader":2,"epoch":3,"replicas":[1,2,3],"isr":[2,3],"elr":[1],"offline":[]}],
                "controller":{"id":1,"epoch":7},
                "brokers":{"1":"n1","2":"n2","3":"n3"},
                "fenced":[3],
                "unreachable":[3],
                "read_ms":12,
                "errors":{"quorum":"timed out after 2s"}
            })
        );
        let back: Snapshot = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
        // Optional fields are absent, not null.
        let mut plain = snap(1, 0, &[1, 2, 3]);
        plain.fenced = None;
        plain.controller = None;
        let t = serde_json::to_string(&plain).unwrap();
        assert!(
            !t.contains("elr") && !t.contains("fenced") && !t.contains("errors"),
            "{t}"
        );
        assert!(t.contains("\"controller\":null"), "{t}");
    }

    #[test]
    fn only_changes_are_recorded() {
        let mut d = ChangeDetector::default();
        assert!(matches!(
            d.on_sample(Ok(snap(1, 0, &[1, 2, 3])), 5),
            Record::Ok(_)
        ));
        let mut slower = snap(1, 0, &[1, 2, 3]);
        slower.read_ms = 900;
        assert_eq!(
            d.on_sample(Ok(slower), 900),
            Record::Nothing,
            "read_ms is no change"
        );
        assert!(
            matches!(d.on_sample(Ok(snap(1, 0, &[1, 2])), 5), Record::Ok(_)),
            "ISR shrink"
        );
        assert!(
            matches!(d.on_sample(Ok(snap(2, 1, &[2])), 5), Record::Ok(_)),
            "new leader"
        );
        assert_eq!(d.on_sample(Ok(snap(2, 1, &[2])), 5), Record::Nothing);
        let mut c = snap(2, 1, &[2]);
        c.controller = Some(ControllerState { id: 2, epoch: 8 });
        assert!(
            matches!(d.on_sample(Ok(c.clone()), 5), Record::Ok(_)),
            "controller"
        );
        let mut u = c.clone();
        u.unreachable = vec![1];
        assert!(
            matches!(d.on_sample(Ok(u.clone()), 5), Record::Ok(_)),
            "unreachable"
        );
    }

    #[test]
    fn a_failure_is_recorded_when_it_starts_or_changes_and_recovery_is_recorded() {
        let mut d = ChangeDetector::default();
        let s = snap(1, 0, &[1, 2, 3]);
        assert!(matches!(d.on_sample(Ok(s.clone()), 5), Record::Ok(_)));
        assert_eq!(
            d.on_sample(Err("metadata: down".into()), 2000),
            Record::Fail {
                error: "metadata: down".into(),
                read_ms: 2000
            }
        );
        assert_eq!(
            d.on_sample(Err("metadata: down".into()), 2000),
            Record::Nothing
        );
        assert!(matches!(
            d.on_sample(Err("metadata: other".into()), 2000),
            Record::Fail { .. }
        ));
        // The same state as before the failure is written again.
        assert!(matches!(d.on_sample(Ok(s.clone()), 5), Record::Ok(_)));
        assert_eq!(d.on_sample(Ok(s), 5), Record::Nothing);
    }

    /// A listener that accepts connections and never answers (a paused
    /// broker), and a port where nothing listens (a dead one).
    #[tokio::test]
    async fn an_unreachable_cluster_is_one_fail_op_and_never_blocks_stop() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        let keep = tokio::spawn(async move {
            let mut held = vec![];
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let node = |id: i32, addr| ObservedNode {
            id,
            name: format!("n{id}"),
            addr,
        };
        let cfg = ObserverConfig {
            topic: "t".into(),
            brokers: vec![node(1, silent_addr), node(2, dead)],
            controllers: vec![node(1, silent_addr)],
            zookeeper: vec![],
            transactional_ids: vec![],
            groups: vec![],
            interval: Duration::from_millis(50),
            timeout: Duration::from_millis(200),
        };
        let e = sample_once(&cfg).await.unwrap_err().to_string();
        assert!(e.contains("metadata: n1: timed out after 200ms"), "{e}");
        assert!(e.contains("n2: connect to"), "{e}");
        assert!(e.contains("quorum: n1: timed out after 200ms"), "{e}");

        let path = tempfile::tempdir().unwrap();
        let h = Arc::new(HistoryWriter::create(&path.path().join("h.jsonl")).unwrap());
        let obs = Observer::spawn(cfg, h.clone());
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let t = std::time::Instant::now();
        let sum = obs.stop().await;
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "stop waits for no read"
        );
        assert!(sum.samples >= 2 && sum.failed == sum.samples, "{sum:?}");
        assert_eq!(
            sum.recorded, 2,
            "one fail op (invoke + fail) while the text stays the same"
        );
        keep.abort();
    }

    #[test]
    fn a_record_is_an_invoke_and_its_completion() {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let h = HistoryWriter::from_writer(Sink(buf.clone()));
        assert!(write_record(&h, &Record::Ok(snap(1, 0, &[1]))).unwrap());
        assert!(!write_record(&h, &Record::Nothing).unwrap());
        assert!(write_record(
            &h,
            &Record::Fail {
                error: "x".into(),
                read_ms: 3
            }
        )
        .unwrap());
        h.sync().unwrap();
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let ops: Vec<Op> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(ops.len(), 4);
        assert_eq!(ops[0].process, Process::Named("observer".into()));
        assert_eq!(ops[0].f.as_str(), "observe");
        assert_eq!(
            ops.iter().map(|o| o.kind).collect::<Vec<_>>(),
            [OpType::Invoke, OpType::Ok, OpType::Invoke, OpType::Fail]
        );
        assert_eq!(
            ops[1].value_as::<Snapshot>().unwrap().partitions[0].leader,
            1
        );
        assert_eq!(ops[3].error.as_deref(), Some("x"));
        assert_eq!(ops[3].value_json(), serde_json::json!({"read_ms": 3}));
    }
}
