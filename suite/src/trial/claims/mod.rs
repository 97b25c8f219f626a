//! `kafka-trial claims`: textbook claims about Kafka as experiments with
//! verdicts.
//!
//! Each [`Claim`] of the fixed catalogue [`CLAIMS`] is one sentence that an
//! experiment can refute ("acks=1 keeps every acknowledged write when a
//! leader fails"), the trial that tests it (a spec built from the named
//! scenarios where one fits), and a function that reads the finished
//! run — its `results.json` and, where the results lack a count, its
//! history — and says `holds`, `refuted` or `inconclusive` with what was
//! observed. `expected` says which way Kafka's documentation predicts the
//! experiment comes out: a claim Kafka documents as false (acks=1 loses
//! acknowledged writes when the leader dies first) is phrased the way a
//! hopeful user would put it and expected **refuted**, so that every
//! experiment can fail in the direction that matters.
//!
//! The claims are judged only from what every run's results already hold
//! (anomaly counts, `checkers.effects`, `checkers.group`, `checkers.stats`)
//! and from the history: they do not depend on the promise model.
//!
//! This module holds what a library user needs without a terminal: here
//! the catalogue and the selection (`--quick`, `--only`); in [`observe`]
//! reading a run ([`ClaimRun::from_run_dir`]) and the observers; in
//! [`doc`] running one claim ([`run_claim`]) and the `claims.json`
//! document ([`ClaimsDoc`]) with its terminal table. `report::claims`
//! renders the document as `claims.html`; `cli::claims` is the command.

use super::matrix::MatrixStatus;
use super::scenarios::{opts, step_at, SCENARIOS};
use super::script::{ScriptFault, ScriptStep, ScriptTarget};
use super::spec::{NemesisPlan, Report, TestSpec};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use trial_checkers::{Results, Validity};
use trial_nemesis::Target;

/// The version of the `claims.json` format.
pub mod doc;
pub mod observe;
#[cfg(test)]
mod tests;

pub use doc::{judge, mins, relative, run_claim, ClaimResult, ClaimsDoc};
use observe::*;
pub use observe::{is_not_enough_replicas, ClaimRun};

pub const FORMAT: u32 = 1;

/// How every claim is phrased (printed by `claims --list` and on the page).
pub const PHRASING: &str = "Every claim is a statement the experiment can refute. \
`expected` is what Kafka's documentation predicts: `holds` for a promise Kafka makes, \
`refuted` for a hopeful reading Kafka documents as false (e.g. acks=1 keeping every \
acknowledged write). A claim refuted as expected is Kafka behaving as documented. \
`inconclusive`: the experiment could not decide (its faults never bit, too few \
operations succeeded, or the check was unknown).";

/// Fewer acknowledged sends than this and a claim about them is
/// inconclusive: nothing was tested.
pub const MIN_OK_SENDS: u64 = 100;

/// A partition without an owner for longer than this while members were
/// alive refutes `group-takeover`: ten consumer sessions of the `fast`
/// timing profile (3 s), room for the eager protocol's join round and a
/// coordinator move on top.
pub const TAKEOVER_BOUND_MS: f64 = 30_000.0;

/// The loss classes: an acknowledged write gone (`lost-write`), or its
/// offset holding another record (`inconsistent-offsets`, a truncated and
/// rewritten log read before and after).
pub const LOSS_CLASSES: &[&str] = &["lost-write", "inconsistent-offsets", "unseen"];

/// The order classes: a process's acknowledged sends to a partition at
/// offsets going backwards, a consumer's reads of a partition going
/// backwards (across polls or inside one).
pub const ORDER_CLASSES: &[&str] = &[
    "nonmonotonic-send",
    "nonmonotonic-poll",
    "int-nonmonotonic-poll",
];

/// What an experiment came to (and, for `expected`, which way Kafka's
/// documentation predicts it comes out: only `holds` or `refuted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Holds,
    Refuted,
    Inconclusive,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::Refuted => "refuted",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

/// What a claim's experiment observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub verdict: Outcome,
    /// One line: the figures the verdict rests on.
    pub observed: String,
}

impl Observation {
    fn new(verdict: Outcome, observed: impl Into<String>) -> Observation {
        Observation {
            verdict,
            observed: observed.into(),
        }
    }
}

/// One claim of the catalogue.
pub struct Claim {
    /// Stable kebab-case name (`--only`).
    pub id: &'static str,
    /// The sentence the experiment tests, phrased so that it can be refuted.
    pub claim: &'static str,
    /// The configuration, one line.
    pub setting: &'static str,
    /// The faults, one line.
    pub faults: &'static str,
    /// What Kafka's documentation predicts: `Holds` or `Refuted`.
    pub expected: Outcome,
    /// Kafka's documented sentence the prediction rests on, and where.
    pub documented: &'static str,
    pub source: &'static str,
    /// In the `--quick` subset.
    pub quick: bool,
    /// The workload's duration (`--time-limit` overrides it).
    pub time_limit: Duration,
    /// Wall-clock time of the whole claim at `time_limit` on the 2-core
    /// development machine: cluster start, workload, heal, final reads,
    /// check, report (measured; see README "Claims").
    pub estimate: Duration,
    /// The trial: from a base spec (name, store, seed, time limit set).
    pub build: fn(TestSpec) -> TestSpec,
    /// The verdict from the finished run.
    pub observe: fn(&ClaimRun) -> Observation,
}

impl Claim {
    /// The claim's test name in the store: `claim-<id>`.
    pub fn test_name(&self) -> String {
        format!("claim-{}", self.id)
    }

    /// The estimate at a workload of `time_limit` (the claim's own time
    /// plus the measured overhead).
    pub fn estimate_at(&self, time_limit: Option<Duration>) -> Duration {
        match time_limit {
            Some(t) => (self.estimate + t).saturating_sub(self.time_limit),
            None => self.estimate,
        }
    }
}

/// The options every claim's run shares.
#[derive(Debug, Clone)]
pub struct ClaimOptions {
    pub store: PathBuf,
    /// The seed of every run (workload and nemesis); default 0.
    pub seed: Option<u64>,
    /// Every claim's workload duration (default: each claim's own).
    pub time_limit: Option<Duration>,
    /// The Kafka release of every run (default: the suite's).
    pub kafka_version: Option<String>,
    /// Show the live progress line of each run.
    pub progress: bool,
    /// Further flags of `test` laid over every claim's spec (`claims`
    /// takes them all).
    pub overrides: Option<crate::spec::SpecArgs>,
}

impl ClaimOptions {
    pub fn new(store: impl Into<PathBuf>) -> ClaimOptions {
        ClaimOptions {
            store: store.into(),
            seed: None,
            time_limit: None,
            kafka_version: None,
            progress: false,
            overrides: None,
        }
    }
}

impl Claim {
    /// The claim's spec under `o`, validated.
    pub fn spec(&self, o: &ClaimOptions) -> Result<TestSpec> {
        let mut base = TestSpec::new(&self.test_name());
        base.time_limit = o.time_limit.unwrap_or(self.time_limit);
        let mut s = (self.build)(base);
        if let Some(seed) = o.seed {
            s.seed = seed;
        }
        if let Some(v) = &o.kafka_version {
            s.cluster.kafka_version = Some(v.clone());
        }
        if let Some(f) = &o.overrides {
            let laid = f
                .apply(Some(crate::spec::TrialSpec::from_test(&s)?))
                .and_then(|t| t.to_test(&o.store))
                .with_context(|| format!("claim {}", self.id))?;
            s = laid;
        }
        s.store = o.store.clone();
        s.progress = o.progress;
        s.validate().with_context(|| format!("claim {}", self.id))?;
        Ok(s)
    }
}

/// A claim by id.
pub fn find(id: &str) -> Option<&'static Claim> {
    CLAIMS.iter().find(|c| c.id == id)
}

/// The claims `--quick` / `--only` pick, in catalogue order. An unknown id
/// is an error naming the known ones.
pub fn select(quick: bool, only: &[String]) -> Result<Vec<&'static Claim>> {
    for id in only {
        if find(id).is_none() {
            let ids: Vec<&str> = CLAIMS.iter().map(|c| c.id).collect();
            bail!("unknown claim {id:?}; known: {}", ids.join(", "));
        }
    }
    Ok(CLAIMS
        .iter()
        .filter(|c| {
            if only.is_empty() {
                !quick || c.quick
            } else {
                only.iter().any(|o| o == c.id)
            }
        })
        .collect())
}

// ---- the experiments -------------------------------------------------

/// A named scenario's preset (the catalogue reuses them).
fn scenario(name: &str, s: TestSpec) -> TestSpec {
    let sc = SCENARIOS
        .iter()
        .find(|x| x.name == name)
        .expect("the claims name existing scenarios");
    (sc.build)(s)
}

/// `safe`'s configuration (RF 3, acks=all, min.insync 2, idempotence);
/// all replicas but one of a partition killed or paused at once.
fn build_acks_all_rf_n(s: TestSpec) -> TestSpec {
    let mut s = scenario("safe", s);
    s.nemesis = opts("kill,pause", |o| {
        o.kill_targets = vec![Target::ReplicasButOne];
        o.pause_targets = vec![Target::ReplicasButOne];
    });
    s
}

/// Partition 0's leader isolated from every other node, killed while
/// isolated, the isolation healed, then restarted.
pub fn isolated_leader_script(t: Duration) -> Vec<ScriptStep> {
    let l = ScriptTarget::LeaderOf(0);
    vec![
        step_at(t, 0.15, 0, true, ScriptFault::Isolate, l.clone()),
        step_at(t, 0.45, 1, true, ScriptFault::Kill, l.clone()),
        step_at(t, 0.47, 0, false, ScriptFault::Isolate, l.clone()),
        step_at(t, 0.60, 1, false, ScriptFault::Kill, l),
    ]
}

/// `acks-1-leader-kill`'s configuration (RF 3, min.insync 1, acks=1,
/// 1000 ops/s), its leader kill made certain to bite: the leader of
/// partition 0 is first isolated from the other brokers and the
/// controllers, so that it goes on acknowledging alone while they elect
/// another leader, then killed.
fn build_acks_1(s: TestSpec) -> TestSpec {
    let mut s = scenario("acks-1-leader-kill", s);
    s.nemesis = NemesisPlan::Script(isolated_leader_script(s.time_limit));
    s
}

/// Dedicated KRaft controller (one) and three brokers: pausing two brokers
/// leaves the controller able to shrink the ISR (with combined roles it
/// would lose its quorum and the ISR would stay as it was).
fn split_roles(s: &mut TestSpec) {
    s.cluster.split_roles = true;
    s.cluster.controllers = Some(1);
}

/// The `unclean-election` scenario: acks=all and min.insync 1 (so that
/// the loss is the election's, not acks=1's) on a cluster whose ISR can
/// shrink while two brokers are paused (one dedicated controller).
fn build_unclean(s: TestSpec) -> TestSpec {
    scenario("unclean-election", s)
}

/// RF 3, min.insync 2, acks=all: partition 0's followers paused (the ISR
/// shrinks to the leader) for 40 % of the run. Idempotence off and
/// `retries=0`, so that the brokers' refusal reaches the application: with
/// retries librdkafka retries NOT_ENOUGH_REPLICAS until
/// `message.timeout.ms` and reports `Local: Message timed out` (measured:
/// 251 such `fail`s, no NotEnoughReplicas in sight).
fn build_min_insync(s: TestSpec) -> TestSpec {
    let mut s = scenario("safe", s);
    split_roles(&mut s);
    s.idempotence = false;
    s.producer_overrides.insert("retries".into(), "0".into());
    s.partitions = 1;
    s.send_ratio = 0.8;
    let t = s.time_limit;
    let f = ScriptTarget::FollowersOf(0);
    s.nemesis = NemesisPlan::Script(vec![
        step_at(t, 0.20, 0, true, ScriptFault::Pause, f.clone()),
        step_at(t, 0.60, 0, false, ScriptFault::Pause, f),
    ]);
    s
}

/// `safe`'s configuration and faults; polls as often as sends.
fn build_order(s: TestSpec) -> TestSpec {
    scenario("safe", s)
}

/// acks=all, idempotence, RF 3, min.insync 2; partitions (leaders cut off)
/// and kills: the faults that made the default `test --nemesis
/// partition,kill` write duplicates without idempotence.
fn build_idempotence(s: TestSpec) -> TestSpec {
    let mut s = scenario("safe", s);
    s.nemesis = opts("partition,kill", |o| {
        o.kill_targets = vec![trial_nemesis::Target::Leaders, Target::One];
    });
    s
}

/// `group-safe`, stalls included: a member stalled past
/// `max.poll.interval.ms` is out of the group, and librdkafka may still
/// hand it an incremental assignment of its old generation (measured once:
/// a zombie given partition 1 in generation 8 after another member got it
/// in generation 9; its commits failed with UnknownMemberId). The group
/// checker judges such a stale assignment as the zombie's, not as two
/// members owning the partition; the claim is about members.
fn build_group_one_owner(s: TestSpec) -> TestSpec {
    let mut s = scenario("group-safe", s);
    s.crash_probability = 0.01;
    // group-safe's 0.2 % of polls made no stall at all in one 45 s run;
    // 0.5 % makes a few, each one a member out of the group for
    // max.poll.interval.ms.
    s.group.stall_probability = 0.005;
    s
}

/// The group workload; members crash after a poll (2 % of polls) and a
/// broker at a time is killed.
fn build_group_takeover(s: TestSpec) -> TestSpec {
    let mut s = scenario("group-coordinator-kill", s);
    s.crash_probability = 0.02;
    s
}

/// The catalogue, in the order it runs.
pub const CLAIMS: &[Claim] = &[
    Claim {
        id: "acks-all-rf-n",
        claim: "RF=3, acks=all, min.insync.replicas=2 tolerates 2 broker failures without losing an acknowledged write",
        setting: "RF 3, min.insync 2, acks=all, idempotence on, unclean election off",
        faults: "all replicas but one of a partition (2 of 3 brokers) killed or paused at once, one fault at a time",
        expected: Outcome::Holds,
        documented: "For a topic with replication factor N, we will tolerate up to N-1 server failures without losing any records committed to the log.",
        source: "https://kafka.apache.org/documentation/#intro_guarantees",
        quick: true,
        time_limit: Duration::from_secs(40),
        estimate: Duration::from_secs(60),
        build: build_acks_all_rf_n,
        observe: observe_acks_all_rf_n,
    },
    Claim {
        id: "acks-1-keeps-acked",
        claim: "acks=1 keeps every acknowledged write when a partition leader fails",
        setting: "RF 3, min.insync 1, acks=1, idempotence off, 1000 ops/s",
        faults: "partition 0's leader isolated from every other node (it acknowledges alone while the others elect a new leader), killed, healed, restarted",
        expected: Outcome::Refuted,
        documented: "acks=1 This will mean the leader will write the record to its local log but will respond without awaiting full acknowledgement from all followers. In this case should the leader fail immediately after acknowledging the record but before the followers have replicated it then the record will be lost.",
        source: "https://kafka.apache.org/documentation/#producerconfigs_acks",
        quick: true,
        time_limit: Duration::from_secs(40),
        estimate: Duration::from_secs(65),
        build: build_acks_1,
        observe: observe_keeps_acked,
    },
    Claim {
        id: "unclean-keeps-acked",
        claim: "with unclean leader election on, an acknowledged write survives the leader's death",
        setting: "RF 3, min.insync 1, acks=all, unclean election on, 1 partition, 1 dedicated controller",
        faults: "partition 0's followers paused (the ISR shrinks to the leader, which acknowledges alone), the leader killed, the followers resumed (one is elected outside the ISR), the leader restarted",
        expected: Outcome::Refuted,
        documented: "unclean.leader.election.enable: Indicates whether to enable replicas not in the ISR set to be elected as leader as a last resort, even though doing so may result in data loss.",
        source: "https://kafka.apache.org/documentation/#topicconfigs_unclean.leader.election.enable",
        quick: true,
        time_limit: Duration::from_secs(45),
        estimate: Duration::from_secs(75),
        build: build_unclean,
        observe: observe_keeps_acked,
    },
    Claim {
        id: "min-insync-refuses",
        claim: "min.insync.replicas=2 refuses writes while fewer replicas are in sync (NotEnoughReplicas, a definite fail), and loses no acknowledged write",
        setting: "RF 3, min.insync 2, acks=all, idempotence off, retries=0 (the refusal reaches the application), 1 partition, 1 dedicated controller",
        faults: "partition 0's two followers paused for 40 % of the run (the ISR shrinks to the leader)",
        expected: Outcome::Holds,
        documented: "When a producer sets acks to \"all\" (or \"-1\"), min.insync.replicas specifies the minimum number of replicas that must acknowledge a write for the write to be considered successful. If this minimum cannot be met, then the producer will raise an exception (either NotEnoughReplicas or NotEnoughReplicasAfterAppend).",
        source: "https://kafka.apache.org/documentation/#topicconfigs_min.insync.replicas",
        quick: true,
        time_limit: Duration::from_secs(40),
        estimate: Duration::from_secs(65),
        build: build_min_insync,
        observe: observe_min_insync,
    },
    Claim {
        id: "partition-order",
        claim: "order is kept within a partition: a producer's acknowledged records and every consumer's reads go forward in offset order",
        setting: "RF 3, min.insync 2, acks=all, idempotence on (max.in.flight 5)",
        faults: "one broker at a time killed, paused or cut off (the safe scenario)",
        expected: Outcome::Holds,
        documented: "Messages sent by a producer to a particular topic partition will be appended in the order they are sent. A consumer instance sees records in the order they are stored in the log.",
        source: "https://kafka.apache.org/documentation/#intro_guarantees",
        quick: false,
        time_limit: Duration::from_secs(45),
        estimate: Duration::from_secs(70),
        build: build_order,
        observe: observe_order,
    },
    Claim {
        id: "idempotence-no-duplicates",
        claim: "an idempotent producer writes no record twice, whatever it retries",
        setting: "RF 3, min.insync 2, acks=all, enable.idempotence=true",
        faults: "partitions (the leaders' side cut off among others) and kills of the leaders or one broker",
        expected: Outcome::Holds,
        documented: "enable.idempotence: When set to 'true', the producer will ensure that exactly one copy of each message is written in the stream. If 'false', producer retries due to broker failures, etc., may write duplicates of the retried message in the stream.",
        source: "https://kafka.apache.org/documentation/#producerconfigs_enable.idempotence",
        quick: false,
        time_limit: Duration::from_secs(45),
        estimate: Duration::from_secs(75),
        build: build_idempotence,
        observe: observe_idempotence,
    },
    Claim {
        id: "group-one-owner",
        claim: "each partition is consumed by one member of a group at a time",
        setting: "group workload: 4 members (cooperative-sticky), 8 partitions, sync commits; RF 3, min.insync 2, acks=all",
        faults: "members crash after a poll (1 % of polls) or leave and rejoin; members stall past max.poll.interval.ms (0.5 % of polls: zombies); one broker at a time killed, paused or cut off (group-safe)",
        expected: Outcome::Holds,
        documented: "This is achieved by balancing the partitions between all members in the consumer group so that each partition is assigned to exactly one consumer in the group.",
        source: "https://kafka.apache.org/documentation/#consumerapi (KafkaConsumer javadoc, Consumer Groups and Topic Subscriptions)",
        quick: false,
        time_limit: Duration::from_secs(45),
        estimate: Duration::from_secs(75),
        build: build_group_one_owner,
        observe: observe_one_owner,
    },
    Claim {
        id: "group-takeover",
        claim: "when a member dies the group rebalances and the survivors take over its partitions",
        setting: "group workload: 4 members (classic protocol), 8 partitions, sync commits; RF 3, min.insync 2, acks=all",
        faults: "members crash after a poll (2 % of polls); the group coordinator killed or paused",
        expected: Outcome::Holds,
        documented: "Membership in a consumer group is maintained dynamically: if a process fails, the partitions assigned to it will be reassigned to other consumers in the same group.",
        source: "https://kafka.apache.org/documentation/#consumerapi (KafkaConsumer javadoc, Consumer Groups and Topic Subscriptions)",
        quick: true,
        time_limit: Duration::from_secs(45),
        estimate: Duration::from_secs(80),
        build: build_group_takeover,
        observe: observe_takeover,
    },
];
