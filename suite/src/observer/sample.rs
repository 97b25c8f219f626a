//! One sample of the cluster's state: which requests go where, and how their
//! answers become a [`Snapshot`].
//!
//! Every broker is asked in parallel (Metadata, then DescribeTopicPartitions
//! and DescribeCluster where it speaks them) and every controller's own
//! listener is asked DescribeQuorum, all at once; each request has the
//! configured timeout. Brokers can disagree for a moment (metadata
//! propagates); per partition the answer with the highest leader epoch wins,
//! ties going to the lowest broker id, so a sample does not flap between two
//! brokers' views.

use super::wire::Conn;
use super::{ControllerState, ObservedNode, ObserverConfig, PartitionState, Snapshot};
use crate::kafka::coordinator::{CoordinatorKind, CONSUMER_OFFSETS_TOPIC};
use crate::kafka::zookeeper::ZkStatus;
use anyhow::{anyhow, bail, Result};
use futures::future::join_all;
use kafka_protocol::messages::describe_quorum_request::{self, TopicData};
use kafka_protocol::messages::describe_topic_partitions_request::TopicRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, DescribeClusterRequest,
    DescribeClusterResponse, DescribeGroupsRequest, DescribeGroupsResponse, DescribeQuorumRequest,
    DescribeQuorumResponse, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
    DescribeTransactionsRequest, DescribeTransactionsResponse, GroupId, MetadataRequest,
    MetadataResponse, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use trial_histories::values::EnsembleState;
use trial_histories::values::{GroupView, VoterView};

/// Metadata v9 is the first flexible version; v12 the last before v13's
/// top-level error code (both carry leader epochs and offline replicas).
const METADATA: std::ops::RangeInclusive<i16> = 9..=12;
/// DescribeTopicPartitions (KIP-966, Kafka ≥ 3.8): v0 has ELR.
const DESCRIBE_TOPIC_PARTITIONS: std::ops::RangeInclusive<i16> = 0..=0;
/// DescribeCluster v2 (KIP-1073, Kafka ≥ 4.0) can include fenced brokers.
const DESCRIBE_CLUSTER: std::ops::RangeInclusive<i16> = 2..=2;
/// DescribeTransactions (KIP-664, Kafka ≥ 3.0).
const DESCRIBE_TRANSACTIONS: std::ops::RangeInclusive<i16> = 0..=0;
/// DescribeGroups: every version carries the state and the members (v6,
/// Kafka ≥ 4.0, adds an error for a group that is not a classic one).
const DESCRIBE_GROUPS: std::ops::RangeInclusive<i16> = 0..=6;
/// ConsumerGroupDescribe (KIP-848, Kafka ≥ 4.0): the consumer protocol's
/// state, group epoch and members.
const CONSUMER_GROUP_DESCRIBE: std::ops::RangeInclusive<i16> = 0..=1;
/// GROUP_ID_NOT_FOUND: DescribeGroups v6 on a group that is not classic,
/// ConsumerGroupDescribe on one that is not a consumer-protocol group.
const GROUP_ID_NOT_FOUND: i16 = 69;
/// DescribeQuorum v0–v2 all carry the leader id and epoch.
const DESCRIBE_QUORUM: std::ops::RangeInclusive<i16> = 0..=2;
/// The KRaft metadata log.
const METADATA_TOPIC: &str = "__cluster_metadata";
/// The feature that turns eligible leader replicas on (off by default in 4.0).
const ELR_FEATURE: &str = "eligible.leader.replicas.version";

/// Kafka's NOT_LEADER_OR_FOLLOWER: what a KRaft voter that is not the
/// leader answers DescribeQuorum.
const NOT_LEADER_OR_FOLLOWER: i16 = 6;

/// What one node answered DescribeQuorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumAnswer {
    /// The quorum's leader and epoch (a voter answers so only while it
    /// leads; a broker forwards to the leader it knows).
    Leader(ControllerState),
    /// A voter that does not lead (NOT_LEADER_OR_FOLLOWER).
    NotLeader,
}

/// What one broker answered in a sample.
#[derive(Default)]
struct BrokerAnswer {
    metadata: Option<Result<MetadataResponse>>,
    /// `None`: the broker does not speak it (or ELR is off).
    elr: Option<Result<DescribeTopicPartitionsResponse>>,
    /// `None`: the broker does not speak DescribeCluster v2.
    cluster: Option<Result<DescribeClusterResponse>>,
    /// `None`: no transactional ids to ask, or the broker does not speak
    /// DescribeTransactions.
    txns: Option<Result<DescribeTransactionsResponse>>,
    /// `None`: no groups to ask.
    groups: Option<Result<DescribeGroupsResponse>>,
    /// `None`: no group this broker coordinates that DescribeGroups did
    /// not know as classic, or the broker does not speak
    /// ConsumerGroupDescribe.
    consumer_groups: Option<Result<ConsumerGroupDescribeResponse>>,
}

/// The observer's connections and the last state read, kept from one
/// sample to the next (a failed source keeps its previous value).
pub struct Reader {
    cfg: ObserverConfig,
    conns: HashMap<SocketAddr, Conn>,
    last: Option<Snapshot>,
}

impl Reader {
    pub fn new(cfg: ObserverConfig) -> Reader {
        Reader {
            cfg,
            conns: HashMap::new(),
            last: None,
        }
    }

    /// Read the cluster once. `Err` only when nothing at all could be read.
    pub async fn sample(&mut self) -> std::result::Result<Snapshot, String> {
        let t0 = Instant::now();
        let timeout = self.cfg.timeout;
        let topic = self.cfg.topic.clone();
        let brokers = self.cfg.brokers.clone();
        let controllers = self.cfg.controllers.clone();

        let ids = self.cfg.transactional_ids.clone();
        let groups = self.cfg.groups.clone();
        let broker_rounds = join_all(brokers.iter().map(|b| {
            let conn = self.conns.remove(&b.addr);
            let topic = topic.clone();
            let asked = Asked {
                transactional_ids: &ids,
                groups: &groups,
            };
            async move { broker_round(conn, b.addr, &topic, asked, timeout).await }
        }));
        let quorum_rounds = join_all(controllers.iter().map(|c| {
            let conn = self.conns.remove(&c.addr);
            async move { quorum_round(conn, c.addr, timeout).await }
        }));
        let zk_rounds = join_all(
            self.cfg
                .zookeeper
                .iter()
                .map(|z| crate::kafka::zookeeper::status(z.addr.ip(), timeout)),
        );
        let (broker_rounds, quorum_rounds, zk_rounds) =
            tokio::join!(broker_rounds, quorum_rounds, zk_rounds);

        let mut answers = Vec::new();
        for (b, (conn, answer)) in brokers.iter().zip(broker_rounds) {
            if let Some(c) = conn {
                self.conns.insert(b.addr, c);
            }
            answers.push((b, answer));
        }
        let mut quorum = Vec::new();
        for (c, (conn, answer)) in controllers.iter().zip(quorum_rounds) {
            if let Some(conn) = conn {
                self.conns.insert(c.addr, conn);
            }
            quorum.push((c, answer));
        }
        // No controller listener answered: a broker forwards DescribeQuorum
        // (KRaft only: ZooKeeper mode has no quorum).
        let zk_mode = !self.cfg.zookeeper.is_empty();
        if !zk_mode && !quorum.iter().any(|(_, q)| q.is_ok()) {
            if let Some((b, _)) = answers
                .iter()
                .find(|(_, a)| matches!(a.metadata, Some(Ok(_))))
            {
                let conn = self.conns.remove(&b.addr);
                let (conn, answer) = quorum_round(conn, b.addr, timeout).await;
                if let Some(conn) = conn {
                    self.conns.insert(b.addr, conn);
                }
                quorum.push((b, answer));
            }
        }

        // Only the controllers' own answers are voters' views (the broker
        // asked in their stead, if any, comes after them).
        let voters = voter_views(&controllers, &quorum);
        let mut snap = build(&self.cfg, self.last.as_ref(), &answers, &quorum);
        if zk_mode {
            let zk: Vec<(&ObservedNode, Result<ZkStatus>)> =
                self.cfg.zookeeper.iter().zip(zk_rounds).collect();
            zookeeper_mode(&mut snap, &answers, &zk);
        }
        snap.voters = voters;
        if !ids.is_empty() {
            snap.transactions = Some(transaction_states(&answers));
        }
        if !groups.is_empty() {
            let any_md = answers
                .iter()
                .any(|(_, a)| matches!(a.metadata, Some(Ok(_))));
            snap.groups = if any_md {
                Some(group_views(&groups, &answers))
            } else {
                // Nothing was read: the last value stands (no change).
                self.last.as_ref().and_then(|l| l.groups.clone())
            };
        }
        snap.read_ms = t0.elapsed().as_millis() as u64;
        let no_controller_source = if zk_mode {
            snap.errors.contains_key("metadata")
        } else {
            snap.errors.contains_key("quorum")
        };
        if snap.errors.contains_key("metadata") && no_controller_source {
            let why = snap
                .errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(why);
        }
        self.last = Some(snap.clone());
        Ok(snap)
    }
}

/// What every broker is asked about besides the test topic.
#[derive(Clone, Copy)]
struct Asked<'a> {
    transactional_ids: &'a [String],
    groups: &'a [String],
}

/// Connect if needed, then ask one broker Metadata (of the test topic, and
/// of `__consumer_offsets` when there are groups), DescribeTopicPartitions,
/// DescribeCluster, DescribeTransactions and DescribeGroups (then
/// ConsumerGroupDescribe where needed). The connection comes back only if
/// nothing failed.
async fn broker_round(
    conn: Option<Conn>,
    addr: SocketAddr,
    topic: &str,
    asked: Asked<'_>,
    timeout: Duration,
) -> (Option<Conn>, BrokerAnswer) {
    let Asked {
        transactional_ids,
        groups,
    } = asked;
    let mut answer = BrokerAnswer::default();
    let mut conn = match conn {
        Some(c) => c,
        None => match Conn::open(addr, timeout).await {
            Ok(c) => c,
            Err(e) => {
                answer.metadata = Some(Err(e));
                return (None, answer);
            }
        },
    };
    let name = || TopicName(StrBytes::from_string(topic.to_string()));
    let Some(v) = conn.version(ApiKey::Metadata, METADATA) else {
        answer.metadata = Some(Err(anyhow!("the broker speaks no Metadata v9–v12")));
        return (None, answer);
    };
    let mut topics = vec![MetadataRequestTopic::default().with_name(Some(name()))];
    if !groups.is_empty() {
        topics.push(MetadataRequestTopic::default().with_name(Some(TopicName(
            StrBytes::from_static_str(CONSUMER_OFFSETS_TOPIC),
        ))));
    }
    let req = MetadataRequest::default()
        .with_topics(Some(topics))
        .with_allow_auto_topic_creation(false);
    let md = conn.call(&req, v, timeout).await;
    let ok = md.is_ok();
    answer.metadata = Some(md);
    if !ok {
        return (None, answer);
    }
    let elr_on = conn.features.get(ELR_FEATURE).is_some_and(|l| *l >= 1);
    if let (true, Some(v)) = (
        elr_on,
        conn.version(ApiKey::DescribeTopicPartitions, DESCRIBE_TOPIC_PARTITIONS),
    ) {
        let req = DescribeTopicPartitionsRequest::default()
            .with_topics(vec![TopicRequest::default().with_name(name())]);
        let r = conn.call(&req, v, timeout).await;
        let failed = r.is_err();
        answer.elr = Some(r);
        if failed {
            return (None, answer);
        }
    }
    if let Some(v) = conn.version(ApiKey::DescribeCluster, DESCRIBE_CLUSTER) {
        let req = DescribeClusterRequest::default()
            .with_endpoint_type(1)
            .with_include_fenced_brokers(true);
        let r = conn.call(&req, v, timeout).await;
        let failed = r.is_err();
        answer.cluster = Some(r);
        if failed {
            return (None, answer);
        }
    }
    if let (false, Some(v)) = (
        transactional_ids.is_empty(),
        conn.version(ApiKey::DescribeTransactions, DESCRIBE_TRANSACTIONS),
    ) {
        let req = DescribeTransactionsRequest::default().with_transactional_ids(
            transactional_ids
                .iter()
                .map(|id| TransactionalId(StrBytes::from_string(id.clone())))
                .collect(),
        );
        let r = conn.call(&req, v, timeout).await;
        let failed = r.is_err();
        answer.txns = Some(r);
        if failed {
            return (None, answer);
        }
    }
    if let (false, Some(v)) = (
        groups.is_empty(),
        conn.version(ApiKey::DescribeGroups, DESCRIBE_GROUPS),
    ) {
        let req = DescribeGroupsRequest::default().with_groups(group_ids(groups.iter()));
        let r = conn.call(&req, v, timeout).await;
        let unknown: Vec<String> = match &r {
            Ok(resp) => not_classic(resp),
            Err(_) => vec![],
        };
        let failed = r.is_err();
        answer.groups = Some(r);
        if failed {
            return (None, answer);
        }
        if let (false, Some(v)) = (
            unknown.is_empty(),
            conn.version(ApiKey::ConsumerGroupDescribe, CONSUMER_GROUP_DESCRIBE),
        ) {
            let req =
                ConsumerGroupDescribeRequest::default().with_group_ids(group_ids(unknown.iter()));
            let r = conn.call(&req, v, timeout).await;
            let failed = r.is_err();
            answer.consumer_groups = Some(r);
            if failed {
                return (None, answer);
            }
        }
    }
    (Some(conn), answer)
}

fn group_ids<'a>(groups: impl Iterator<Item = &'a String>) -> Vec<GroupId> {
    groups
        .map(|g| GroupId(StrBytes::from_string(g.clone())))
        .collect()
}

/// The groups a DescribeGroups answer does not know as classic groups of
/// this broker: `Dead` without an error (before v6) or GROUP_ID_NOT_FOUND
/// (v6) — a KIP-848 consumer-protocol group, or no group yet. A broker
/// that does not coordinate the group says NOT_COORDINATOR instead.
fn not_classic(resp: &DescribeGroupsResponse) -> Vec<String> {
    resp.groups
        .iter()
        .filter(|g| {
            g.error_code == GROUP_ID_NOT_FOUND
                || (g.error_code == 0 && g.group_state.as_str() == "Dead")
        })
        .map(|g| g.group_id.0.to_string())
        .collect()
}

/// Each group's view. Its coordinator is the leader of its
/// `__consumer_offsets` partition, the answer with the highest leader epoch
/// winning (ties to the lowest broker id) as for the test topic; while that
/// topic is unknown, the lowest broker that described the group. The state
/// is the coordinator's own answer where it gave one, else the lowest
/// broker's that described the group (one that has not yet heard it lost
/// the partition); none when nobody answered. Groups with no coordinator
/// known are left out.
fn group_views(
    groups: &[String],
    answers: &[(&ObservedNode, BrokerAnswer)],
) -> BTreeMap<String, GroupView> {
    let mut sorted: Vec<&(&ObservedNode, BrokerAnswer)> = answers.iter().collect();
    sorted.sort_by_key(|(n, _)| n.id);
    // `__consumer_offsets` partition → (leader epoch, leader).
    let mut leaders: BTreeMap<i32, (i32, i32)> = BTreeMap::new();
    for (_, a) in &sorted {
        let Some(Ok(md)) = &a.metadata else { continue };
        let offsets = md.topics.iter().filter(|t| {
            t.error_code == 0
                && t.name.as_ref().map(|n| n.0.as_str()) == Some(CONSUMER_OFFSETS_TOPIC)
        });
        for p in offsets.flat_map(|t| &t.partitions) {
            let better = leaders
                .get(&p.partition_index)
                .is_none_or(|(e, _)| p.leader_epoch > *e);
            if p.leader_id.0 >= 0 && better {
                leaders.insert(p.partition_index, (p.leader_epoch, p.leader_id.0));
            }
        }
    }
    let mut out = BTreeMap::new();
    for g in groups {
        let described: Vec<(i32, GroupView)> = sorted
            .iter()
            .filter_map(|(n, a)| Some((n.id, described(g, a)?)))
            .collect();
        let coordinator = leaders
            .get(&CoordinatorKind::Group.partition_of(g))
            .map(|(_, l)| *l)
            .or_else(|| described.first().map(|(id, _)| *id));
        let Some(coordinator) = coordinator else {
            continue;
        };
        let view = described
            .iter()
            .find(|(id, _)| *id == coordinator)
            .or(described.first())
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        out.insert(
            g.clone(),
            GroupView {
                coordinator,
                ..view
            },
        );
    }
    out
}

/// What one broker's answers say of group `g` where it described it: the
/// consumer protocol's answer (state, group epoch, members) if it gave
/// one, else the classic answer (state, members; a group unknown to it as
/// classic and not described otherwise is `Dead`). Brokers that do not
/// coordinate `g` (NOT_COORDINATOR, loading) describe nothing.
fn described(g: &str, a: &BrokerAnswer) -> Option<GroupView> {
    if let Some(Ok(r)) = &a.consumer_groups {
        if let Some(d) = r
            .groups
            .iter()
            .find(|d| d.group_id.0.as_str() == g && d.error_code == 0)
        {
            return Some(GroupView {
                coordinator: -1,
                state: Some(d.group_state.to_string()),
                epoch: Some(d.group_epoch),
                members: Some(d.members.len() as u32),
            });
        }
    }
    let Some(Ok(r)) = &a.groups else { return None };
    let d = r.groups.iter().find(|d| {
        d.group_id.0.as_str() == g && (d.error_code == 0 || d.error_code == GROUP_ID_NOT_FOUND)
    })?;
    let state = if d.error_code == GROUP_ID_NOT_FOUND {
        "Dead".to_string()
    } else {
        d.group_state.to_string()
    };
    Some(GroupView {
        coordinator: -1,
        state: Some(state),
        epoch: None,
        members: Some(d.members.len() as u32),
    })
}

/// Each transactional id's state, from the brokers that coordinate them
/// (the others answer NOT_COORDINATOR for it); ids nobody answered for are
/// left out. Two coordinators answering for one id (one still unaware it
/// lost the partition) cannot be told apart here: the lowest broker id wins.
fn transaction_states(answers: &[(&ObservedNode, BrokerAnswer)]) -> BTreeMap<String, String> {
    let mut sorted: Vec<&(&ObservedNode, BrokerAnswer)> = answers.iter().collect();
    sorted.sort_by_key(|(n, _)| n.id);
    let mut out = BTreeMap::new();
    for (_, a) in sorted {
        let Some(Ok(r)) = &a.txns else { continue };
        for t in &r.transaction_states {
            if t.error_code == 0 {
                out.entry(t.transactional_id.0.to_string())
                    .or_insert_with(|| t.transaction_state.to_string());
            }
        }
    }
    out
}

/// Ask one node (a controller's own listener, or a broker that forwards)
/// for the metadata quorum's leader and epoch.
async fn quorum_round(
    conn: Option<Conn>,
    addr: SocketAddr,
    timeout: Duration,
) -> (Option<Conn>, Result<QuorumAnswer>) {
    let mut conn = match conn {
        Some(c) => c,
        None => match Conn::open(addr, timeout).await {
            Ok(c) => c,
            Err(e) => return (None, Err(e)),
        },
    };
    let Some(v) = conn.version(ApiKey::DescribeQuorum, DESCRIBE_QUORUM) else {
        return (None, Err(anyhow!("{addr} does not speak DescribeQuorum")));
    };
    let req = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
        .with_partitions(vec![
            describe_quorum_request::PartitionData::default().with_partition_index(0)
        ])]);
    match conn.call(&req, v, timeout).await {
        Ok(resp) => {
            let r = quorum_state(&resp);
            (Some(conn), r)
        }
        Err(e) => (None, Err(e)),
    }
}

/// The leader and epoch of `__cluster_metadata-0` in a DescribeQuorum
/// answer, or [`QuorumAnswer::NotLeader`] when the node asked is a voter
/// that does not lead.
pub fn quorum_state(resp: &DescribeQuorumResponse) -> Result<QuorumAnswer> {
    if resp.error_code == NOT_LEADER_OR_FOLLOWER {
        return Ok(QuorumAnswer::NotLeader);
    }
    if resp.error_code != 0 {
        bail!(
            "DescribeQuorum error code {}{}",
            resp.error_code,
            resp.error_message
                .as_ref()
                .map(|m| format!(": {}", m.as_str()))
                .unwrap_or_default()
        );
    }
    let p = resp
        .topics
        .iter()
        .filter(|t| t.topic_name.0.as_str() == METADATA_TOPIC)
        .flat_map(|t| &t.partitions)
        .find(|p| p.partition_index == 0)
        .ok_or_else(|| anyhow!("DescribeQuorum answered without {METADATA_TOPIC}-0"))?;
    if p.error_code == NOT_LEADER_OR_FOLLOWER {
        return Ok(QuorumAnswer::NotLeader);
    }
    if p.error_code != 0 {
        bail!("DescribeQuorum partition error code {}", p.error_code);
    }
    Ok(QuorumAnswer::Leader(ControllerState {
        id: p.leader_id.0,
        epoch: p.leader_epoch,
    }))
}

/// Each controller's own view from its DescribeQuorum answer (the first
/// `controllers.len()` entries of `quorum`): leading (it names itself) at
/// an epoch, or not. A controller that could not be asked is left out;
/// `None` without controllers to ask (ZooKeeper mode).
fn voter_views(
    controllers: &[ObservedNode],
    quorum: &[(&ObservedNode, Result<QuorumAnswer>)],
) -> Option<BTreeMap<i32, VoterView>> {
    if controllers.is_empty() {
        return None;
    }
    Some(
        quorum
            .iter()
            .take(controllers.len())
            .filter_map(|(n, r)| {
                let view = match r.as_ref().ok()? {
                    QuorumAnswer::Leader(c) if c.id == n.id => VoterView {
                        leader: true,
                        epoch: Some(c.epoch),
                    },
                    // A voter names another leader only if it forwarded:
                    // not its own belief of leading.
                    QuorumAnswer::Leader(_) | QuorumAnswer::NotLeader => VoterView::default(),
                };
                Some((n.id, view))
            })
            .collect(),
    )
}

/// ZooKeeper mode: the controller is the broker that the brokers' Metadata
/// names (most named; ties to the lower id), its epoch unknown (-1); the
/// ensemble from each server's `srvr`. Replaces what [`build`] made of
/// the (absent) quorum.
fn zookeeper_mode(
    snap: &mut Snapshot,
    answers: &[(&ObservedNode, BrokerAnswer)],
    zk: &[(&ObservedNode, Result<ZkStatus>)],
) {
    snap.errors.remove("quorum");
    let mut votes: BTreeMap<i32, usize> = BTreeMap::new();
    for (_, a) in answers {
        if let Some(Ok(md)) = &a.metadata {
            if md.controller_id.0 >= 0 {
                *votes.entry(md.controller_id.0).or_default() += 1;
            }
        }
    }
    let named = votes
        .iter()
        .max_by_key(|(id, n)| (**n, -**id))
        .map(|(id, _)| *id);
    snap.controller = named.map(|id| ControllerState { id, epoch: -1 });
    let mut e = EnsembleState::default();
    let mut failed = vec![];
    let mut best: Option<(Option<i64>, String)> = None;
    for (n, r) in zk {
        match r {
            Ok(s) => {
                e.members.insert(n.name.clone(), s.mode.clone());
                if let Some(ep) = s.epoch() {
                    e.epochs.insert(n.name.clone(), ep);
                }
                if s.leads() && best.as_ref().is_none_or(|(b, _)| s.epoch() > *b) {
                    best = Some((s.epoch(), n.name.clone()));
                }
            }
            Err(err) => {
                e.members.insert(n.name.clone(), "unreachable".into());
                failed.push((*n, format!("{err:#}")));
            }
        }
    }
    e.leader = best.map(|(_, n)| n);
    if !failed.is_empty() {
        snap.errors
            .insert("zookeeper".to_string(), joined(failed.into_iter()));
    }
    snap.zookeeper = Some(e);
}

/// `n1: connect to …: refused; n2: timed out after 2s`.
fn joined<'a>(errs: impl Iterator<Item = (&'a ObservedNode, String)>) -> String {
    errs.map(|(n, e)| format!("{}: {e}", n.name))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Turn the answers into a snapshot; a source that failed keeps `last`'s value.
fn build(
    cfg: &ObserverConfig,
    last: Option<&Snapshot>,
    answers: &[(&ObservedNode, BrokerAnswer)],
    quorum: &[(&ObservedNode, Result<QuorumAnswer>)],
) -> Snapshot {
    let mut errors = BTreeMap::new();
    let brokers: BTreeMap<i32, String> = cfg
        .brokers
        .iter()
        .chain(&cfg.controllers)
        .map(|n| (n.id, n.name.clone()))
        .collect();
    let mut unreachable: Vec<i32> = answers
        .iter()
        .filter(|(_, a)| !matches!(a.metadata, Some(Ok(_))))
        .map(|(n, _)| n.id)
        .collect();
    unreachable.sort_unstable();
    unreachable.dedup();

    // Partitions: per partition the highest leader epoch, ties to the lowest id.
    let mut sorted: Vec<&(&ObservedNode, BrokerAnswer)> = answers.iter().collect();
    sorted.sort_by_key(|(n, _)| n.id);
    let mut parts: BTreeMap<i32, PartitionState> = BTreeMap::new();
    let mut md_errors = Vec::new();
    let mut any_md = false;
    for (n, a) in &sorted {
        match &a.metadata {
            Some(Ok(md)) => {
                let Some(t) = md
                    .topics
                    .iter()
                    .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(cfg.topic.as_str()))
                else {
                    md_errors.push((*n, format!("topic {} not in the answer", cfg.topic)));
                    continue;
                };
                if t.error_code != 0 {
                    md_errors.push((
                        *n,
                        format!("topic {}: error code {}", cfg.topic, t.error_code),
                    ));
                    continue;
                }
                any_md = true;
                for p in &t.partitions {
                    let better = parts
                        .get(&p.partition_index)
                        .is_none_or(|q| p.leader_epoch > q.epoch);
                    if better {
                        parts.insert(
                            p.partition_index,
                            PartitionState {
                                partition: p.partition_index,
                                leader: p.leader_id.0,
                                epoch: p.leader_epoch,
                                replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                                isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                                elr: None,
                                offline: p.offline_replicas.iter().map(|b| b.0).collect(),
                            },
                        );
                    }
                }
            }
            Some(Err(e)) => md_errors.push((*n, format!("{e:#}"))),
            None => {}
        }
    }
    let mut partitions: Vec<PartitionState> = if any_md {
        parts.into_values().collect()
    } else {
        errors.insert(
            "metadata".to_string(),
            if md_errors.is_empty() {
                "no broker to ask".to_string()
            } else {
                joined(md_errors.into_iter())
            },
        );
        last.map(|l| l.partitions.clone()).unwrap_or_default()
    };

    // ELR from the first broker (lowest id) that answered DescribeTopicPartitions.
    let elr_answers: Vec<_> = sorted
        .iter()
        .filter_map(|(n, a)| Some((*n, a.elr.as_ref()?)))
        .collect();
    if any_md && !elr_answers.is_empty() {
        let found = elr_answers.iter().find_map(|(_, r)| r.as_ref().ok());
        match found {
            Some(resp) => {
                let elr: BTreeMap<i32, Vec<i32>> = resp
                    .topics
                    .iter()
                    .filter(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(cfg.topic.as_str()))
                    .flat_map(|t| &t.partitions)
                    .map(|p| {
                        let v = p.eligible_leader_replicas.as_deref().unwrap_or_default();
                        (p.partition_index, v.iter().map(|b| b.0).collect())
                    })
                    .collect();
                for p in &mut partitions {
                    p.elr = elr.get(&p.partition).cloned();
                }
            }
            None => {
                errors.insert(
                    "elr".to_string(),
                    joined(
                        elr_answers
                            .iter()
                            .filter_map(|(n, r)| Some((*n, format!("{:#}", r.as_ref().err()?)))),
                    ),
                );
                let prev = last.map(|l| &l.partitions[..]).unwrap_or_default();
                for p in &mut partitions {
                    p.elr = prev
                        .iter()
                        .find(|q| q.partition == p.partition)
                        .and_then(|q| q.elr.clone());
                }
            }
        }
    }

    // Fenced brokers from the first broker that answered DescribeCluster v2.
    let cluster_answers: Vec<_> = sorted
        .iter()
        .filter_map(|(n, a)| Some((*n, a.cluster.as_ref()?)))
        .collect();
    let fenced = if cluster_answers.is_empty() {
        // Nobody speaks it (or nobody answered at all): keep the last value.
        last.and_then(|l| l.fenced.clone()).filter(|_| !any_md)
    } else {
        match cluster_answers.iter().find_map(|(_, r)| r.as_ref().ok()) {
            Some(resp) if resp.error_code == 0 => {
                let mut f: Vec<i32> = resp
                    .brokers
                    .iter()
                    .filter(|b| b.is_fenced)
                    .map(|b| b.broker_id.0)
                    .collect();
                f.sort_unstable();
                Some(f)
            }
            other => {
                let why = match other {
                    Some(resp) => format!("DescribeCluster error code {}", resp.error_code),
                    None => joined(
                        cluster_answers
                            .iter()
                            .filter_map(|(n, r)| Some((*n, format!("{:#}", r.as_ref().err()?)))),
                    ),
                };
                errors.insert("cluster".to_string(), why);
                last.and_then(|l| l.fenced.clone())
            }
        }
    };

    // The quorum: the highest epoch any controller reports.
    let best = quorum
        .iter()
        .filter_map(|(_, r)| match r {
            Ok(QuorumAnswer::Leader(c)) => Some(c),
            _ => None,
        })
        .max_by_key(|c| (c.epoch, c.id >= 0));
    let controller = match best {
        Some(c) => Some(*c),
        None => {
            errors.insert(
                "quorum".to_string(),
                if quorum.is_empty() {
                    "no node to ask".to_string()
                } else {
                    joined(quorum.iter().map(|(n, r)| match r {
                        Err(e) => (*n, format!("{e:#}")),
                        Ok(_) => (*n, "not the leader".to_string()),
                    }))
                },
            );
            last.and_then(|l| l.controller)
        }
    };

    Snapshot {
        partitions,
        controller,
        brokers,
        fenced,
        unreachable,
        read_ms: 0,
        errors,
        zookeeper: None,
        voters: None,
        transactions: None,
        groups: None,
    }
}

/// Read the cluster once with fresh connections (`cluster status`, tests).
pub async fn sample_once(cfg: &ObserverConfig) -> Result<Snapshot> {
    let mut r = Reader::new(cfg.clone());
    r.sample().await.map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::describe_quorum_response::{PartitionData, TopicData};
    use kafka_protocol::messages::BrokerId;

    fn answer(top: i16, part: i16, leader: i32, epoch: i32) -> DescribeQuorumResponse {
        DescribeQuorumResponse::default()
            .with_error_code(top)
            .with_topics(vec![TopicData::default()
                .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
                .with_partitions(vec![PartitionData::default()
                    .with_partition_index(0)
                    .with_error_code(part)
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(epoch)])])
    }

    fn node(id: i32) -> ObservedNode {
        ObservedNode {
            id,
            name: format!("c{id}"),
            addr: SocketAddr::from(([127, 0, 0, 1], 9000 + id as u16)),
        }
    }

    #[test]
    fn transaction_states_come_from_the_coordinators() {
        use kafka_protocol::messages::describe_transactions_response::TransactionState;
        let st = |id: &str, err: i16, state: &str| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(id.into())))
                .with_error_code(err)
                .with_transaction_state(StrBytes::from_string(state.into()))
        };
        let answer = |v: Vec<TransactionState>| BrokerAnswer {
            txns: Some(Ok(
                DescribeTransactionsResponse::default().with_transaction_states(v)
            )),
            ..Default::default()
        };
        let (a, b, c) = (node(1), node(2), node(3));
        let answers = vec![
            // NOT_COORDINATOR (16) for what it does not coordinate
            (
                &b,
                answer(vec![st("t0", 16, ""), st("t1", 0, "PrepareCommit")]),
            ),
            (&a, answer(vec![st("t0", 0, "Ongoing"), st("t1", 16, "")])),
            (
                &c,
                BrokerAnswer {
                    txns: Some(Err(anyhow!("timed out"))),
                    ..Default::default()
                },
            ),
        ];
        let m = transaction_states(&answers);
        assert_eq!(m["t0"], "Ongoing");
        assert_eq!(m["t1"], "PrepareCommit");
        assert_eq!(m.len(), 2);
    }

    /// A broker's answers about `__consumer_offsets` partition 6 (where
    /// `kt-c1` lives: `Utils.abs("kt-c1".hashCode()) % 10`) and the group.
    fn group_answer(
        offsets_leader: Option<(i32, i32)>,
        classic: Option<(i16, &str, usize)>,
        consumer: Option<(i16, &str, i32, usize)>,
    ) -> BrokerAnswer {
        use kafka_protocol::messages::consumer_group_describe_response as cgd;
        use kafka_protocol::messages::describe_groups_response as dg;
        use kafka_protocol::messages::metadata_response::{
            MetadataResponsePartition, MetadataResponseTopic,
        };
        let gid = || GroupId(StrBytes::from_static_str("kt-c1"));
        let topics = offsets_leader
            .map(|(leader, epoch)| {
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str(
                        CONSUMER_OFFSETS_TOPIC,
                    ))))
                    .with_partitions(vec![MetadataResponsePartition::default()
                        .with_partition_index(6)
                        .with_leader_id(BrokerId(leader))
                        .with_leader_epoch(epoch)])
            })
            .into_iter()
            .collect();
        BrokerAnswer {
            metadata: Some(Ok(MetadataResponse::default().with_topics(topics))),
            groups: classic.map(|(err, state, members)| {
                Ok(DescribeGroupsResponse::default().with_groups(vec![
                    dg::DescribedGroup::default()
                        .with_group_id(gid())
                        .with_error_code(err)
                        .with_group_state(StrBytes::from_string(state.into()))
                        .with_members(vec![Default::default(); members]),
                ]))
            }),
            consumer_groups: consumer.map(|(err, state, epoch, members)| {
                Ok(ConsumerGroupDescribeResponse::default().with_groups(vec![
                    cgd::DescribedGroup::default()
                        .with_group_id(gid())
                        .with_error_code(err)
                        .with_group_state(StrBytes::from_string(state.into()))
                        .with_group_epoch(epoch)
                        .with_members(vec![Default::default(); members]),
                ]))
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_group_is_seen_from_its_coordinator() {
        let groups = vec!["kt-c1".to_string(), "kt-unknown".to_string()];
        let (a, b, c) = (node(1), node(2), node(3));
        const NOT_COORDINATOR: i16 = 16;
        // Broker 1 still believes 2 leads the partition; 3 knows it moved to
        // 3 (a higher epoch). 2 has not heard it lost the group.
        let answers = vec![
            (
                &a,
                group_answer(Some((2, 3)), Some((NOT_COORDINATOR, "", 0)), None),
            ),
            (&b, group_answer(Some((2, 3)), Some((0, "Stable", 4)), None)),
            (
                &c,
                group_answer(Some((3, 4)), Some((0, "PreparingRebalance", 3)), None),
            ),
        ];
        let v = group_views(&groups, &answers);
        assert_eq!(
            v["kt-c1"],
            GroupView {
                coordinator: 3,
                state: Some("PreparingRebalance".into()),
                epoch: None,
                members: Some(3),
            }
        );
        // A group whose partition nobody leads and nobody describes.
        assert!(!v.contains_key("kt-unknown"), "{v:?}");

        // A KIP-848 group: DescribeGroups v6 does not know it as classic,
        // ConsumerGroupDescribe does.
        let answers = vec![
            (
                &a,
                group_answer(
                    Some((1, 0)),
                    Some((GROUP_ID_NOT_FOUND, "Dead", 0)),
                    Some((0, "Reconciling", 12, 4)),
                ),
            ),
            (
                &b,
                group_answer(Some((1, 0)), Some((NOT_COORDINATOR, "", 0)), None),
            ),
        ];
        let v = group_views(&groups, &answers);
        assert_eq!(
            v["kt-c1"],
            GroupView {
                coordinator: 1,
                state: Some("Reconciling".into()),
                epoch: Some(12),
                members: Some(4),
            }
        );
        assert!(v["kt-c1"].rebalancing());

        // The coordinator down: the partition is still led by it in the
        // metadata, nobody describes the group — its coordinator alone.
        let answers = vec![(
            &b,
            group_answer(Some((1, 0)), Some((NOT_COORDINATOR, "", 0)), None),
        )];
        assert_eq!(
            group_views(&groups, &answers)["kt-c1"],
            GroupView {
                coordinator: 1,
                ..Default::default()
            }
        );

        // No `__consumer_offsets` in the metadata (yet): the broker that
        // describes the group is its coordinator; a group it has never seen
        // (older brokers: Dead, no error) is Dead.
        let answers = vec![
            (&a, group_answer(None, Some((NOT_COORDINATOR, "", 0)), None)),
            (&b, group_answer(None, Some((0, "Dead", 0)), None)),
        ];
        let v = group_views(&groups, &answers);
        assert_eq!(v["kt-c1"].coordinator, 2);
        assert_eq!(v["kt-c1"].state.as_deref(), Some("Dead"));
    }

    #[test]
    fn groups_not_known_as_classic_are_asked_again() {
        use kafka_protocol::messages::describe_groups_response::DescribedGroup;
        let g = |id: &'static str, err: i16, state: &'static str| {
            DescribedGroup::default()
                .with_group_id(GroupId(StrBytes::from_static_str(id)))
                .with_error_code(err)
                .with_group_state(StrBytes::from_static_str(state))
        };
        let r = DescribeGroupsResponse::default().with_groups(vec![
            g("classic", 0, "Stable"),
            g("v6", GROUP_ID_NOT_FOUND, "Dead"),
            g("old", 0, "Dead"),
            g("elsewhere", 16, ""),
        ]);
        assert_eq!(not_classic(&r), ["v6", "old"]);
    }

    #[test]
    fn a_voter_that_does_not_lead_says_so() {
        assert_eq!(
            quorum_state(&answer(0, 0, 101, 4)).unwrap(),
            QuorumAnswer::Leader(ControllerState { id: 101, epoch: 4 })
        );
        assert_eq!(
            quorum_state(&answer(0, NOT_LEADER_OR_FOLLOWER, -1, -1)).unwrap(),
            QuorumAnswer::NotLeader
        );
        assert_eq!(
            quorum_state(&answer(NOT_LEADER_OR_FOLLOWER, 0, -1, -1)).unwrap(),
            QuorumAnswer::NotLeader
        );
        assert!(quorum_state(&answer(0, 3, -1, -1)).is_err());
    }

    #[test]
    fn two_voters_that_both_lead_are_both_recorded() {
        let (a, b, c, broker) = (node(101), node(102), node(103), node(1));
        let lead = |id, epoch| Ok(QuorumAnswer::Leader(ControllerState { id, epoch }));
        let quorum = vec![
            (&a, lead(101, 4)),
            (&b, lead(102, 5)),
            (&c, Err(anyhow!("timed out"))),
            // a broker that forwarded: not a voter's view
            (&broker, lead(102, 5)),
        ];
        let v = voter_views(&[a.clone(), b.clone(), c.clone()], &quorum).unwrap();
        assert_eq!(
            v,
            [
                (
                    101,
                    VoterView {
                        leader: true,
                        epoch: Some(4)
                    }
                ),
                (
                    102,
                    VoterView {
                        leader: true,
                        epoch: Some(5)
                    }
                ),
            ]
            .into()
        );
        let quorum = vec![(&a, Ok(QuorumAnswer::NotLeader)), (&b, lead(102, 5))];
        let v = voter_views(&[a.clone(), b.clone()], &quorum).unwrap();
        assert_eq!(v[&101], VoterView::default());
        assert!(v[&102].leader);
        assert_eq!(voter_views(&[], &[]), None);
        // The snapshot's controller is the highest epoch that leads.
        let cfg = ObserverConfig {
            topic: "t".into(),
            brokers: vec![],
            controllers: vec![a.clone(), b.clone()],
            zookeeper: vec![],
            transactional_ids: vec![],
            groups: vec![],
            interval: Duration::from_millis(500),
            timeout: Duration::from_secs(2),
        };
        let s = build(&cfg, None, &[], &quorum);
        assert_eq!(s.controller, Some(ControllerState { id: 102, epoch: 5 }));
        assert!(!s.errors.contains_key("quorum"));
        let none = vec![(&a, Ok(QuorumAnswer::NotLeader))];
        let s = build(&cfg, None, &[], &none);
        assert_eq!(s.controller, None);
        assert_eq!(s.errors["quorum"], "c101: not the leader");
    }
}
