//! Named, documented test presets: what each shows and what the suite
//! expects Kafka to do.

use super::script::{ScriptFault, ScriptStep, ScriptTarget};
use super::spec::{NemesisPlan, TestSpec};
use crate::clients::Acks;
use crate::kafka::{Mode, Timing};
use std::time::Duration;
use trial_nemesis::{NemesisOptions, Target, Topology};

/// A named, documented test preset.
pub struct Scenario {
    pub name: &'static str,
    pub purpose: &'static str,
    /// What the suite expects Kafka to do: `valid` or the anomaly it should find.
    pub expected: &'static str,
    /// The promises (ids of `trial_checkers::promises`) whose keeping or
    /// breaking this scenario is built to show; under a configuration
    /// that does not make a promise (acks=1, unclean election, a
    /// correlated power loss), the scenario shows Kafka's documented
    /// reason instead.
    pub promises: &'static [&'static str],
    pub build: fn(TestSpec) -> TestSpec,
    /// A known Kafka bug this scenario reproduces (named after its ticket).
    pub bug: Option<KnownBug>,
}

/// A known Kafka bug: its ticket, the releases it affects, the release
/// that fixed it, and the release and mode its scenario runs by default
/// (an affected one; `--kafka-version`/`--mode` pick another, e.g. the
/// fixed one, to see the difference).
#[derive(Debug, Clone, Copy)]
pub struct KnownBug {
    pub ticket: &'static str,
    pub affects: &'static str,
    pub fixed_in: &'static str,
    pub default_version: &'static str,
    pub default_mode: Mode,
}

impl Scenario {
    /// The scenario's spec from `base`: its preset, then its bug's default
    /// release and mode where the preset chose none.
    pub fn spec(&self, base: TestSpec) -> TestSpec {
        let mut s = (self.build)(base);
        if let Some(b) = &self.bug {
            s.cluster
                .kafka_version
                .get_or_insert_with(|| b.default_version.to_string());
            s.cluster.mode.get_or_insert(b.default_mode);
        }
        s
    }
}

/// Generated faults of `kinds`, timed by the default timing profile
/// (faults that outlast Kafka's detection), then adjusted by `f`.
pub(super) fn opts(kinds: &str, f: impl FnOnce(&mut NemesisOptions)) -> NemesisPlan {
    let mut o = Timing::default().nemesis_defaults();
    o.kinds = kinds
        .parse()
        .expect("scenario and claim fault kinds are valid");
    f(&mut o);
    NemesisPlan::Generated(o)
}

/// The unclean-election sequence on partition 0: pause its followers,
/// let the leader acknowledge alone, kill it, resume the followers (one of
/// them becomes leader without the acknowledged records), restart it.
pub fn unclean_script(t: Duration) -> Vec<ScriptStep> {
    let at = |f: f64| Duration::from_secs_f64(t.as_secs_f64() * f);
    vec![
        ScriptStep {
            at: at(0.15),
            id: 0,
            start: true,
            fault: ScriptFault::Pause,
            target: ScriptTarget::FollowersOf(0),
        },
        ScriptStep {
            at: at(0.40),
            id: 1,
            start: true,
            fault: ScriptFault::Kill,
            target: ScriptTarget::LeaderOf(0),
        },
        ScriptStep {
            at: at(0.42),
            id: 0,
            start: false,
            fault: ScriptFault::Pause,
            target: ScriptTarget::FollowersOf(0),
        },
        ScriptStep {
            at: at(0.85),
            id: 1,
            start: false,
            fault: ScriptFault::Kill,
            target: ScriptTarget::LeaderOf(0),
        },
    ]
}

/// The last-replica-standing sequence on partition 0 (KIP-966's case):
/// pause its followers until they are fenced and out of the ISR (the
/// leader alone in it, writes refused: min.insync 2), power-lose the
/// leader's disk and restart it while the followers are still away — the
/// acknowledged writes that were in the followers' page caches too are
/// now only theirs — then resume the followers. Without eligible leader
/// replicas the restarted leader, the ISR's only member, is elected with
/// what its disk kept, and the followers truncate to it; with ELR the
/// controller drops the uncleanly shut down leader from the ISR and the
/// ELR, and elects a resumed follower.
pub fn last_replica_script(t: Duration) -> Vec<ScriptStep> {
    let at = |f: f64| Duration::from_secs_f64(t.as_secs_f64() * f);
    let step =
        |f: f64, id: u32, start: bool, fault: ScriptFault, target: ScriptTarget| ScriptStep {
            at: at(f),
            id,
            start,
            fault,
            target,
        };
    vec![
        step(
            0.15,
            0,
            true,
            ScriptFault::Pause,
            ScriptTarget::FollowersOf(0),
        ),
        step(
            0.35,
            1,
            true,
            ScriptFault::LoseUnfsynced,
            ScriptTarget::LeaderOf(0),
        ),
        step(
            0.45,
            1,
            false,
            ScriptFault::LoseUnfsynced,
            ScriptTarget::LeaderOf(0),
        ),
        step(
            0.70,
            0,
            false,
            ScriptFault::Pause,
            ScriptTarget::FollowersOf(0),
        ),
    ]
}

/// The gap between power losses of the whole cluster (and their length):
/// room for it to restart, elect and take writes that the next one loses.
const POWER_LOSS_INTERVAL: Duration = Duration::from_secs(12);

/// RF 3, acks=all, min.insync 2, idempotence: the configuration that
/// survives any one broker's death, here facing disks that lose what was
/// not fsynced.
fn durable_base(mut s: TestSpec) -> TestSpec {
    s.cluster.replication_factor = 3;
    s.cluster.min_insync_replicas = 2;
    s.acks = Acks::All;
    s.idempotence = true;
    s
}

/// `power-loss-all`: every broker's disk loses its un-fsynced writes at
/// once; with `flush`, `log.flush.interval.messages=1`.
fn power_loss_all(s: TestSpec, flush: bool) -> TestSpec {
    let mut s = durable_base(s);
    if flush {
        s.cluster
            .broker_overrides
            .insert("log.flush.interval.messages".into(), "1".into());
    }
    s.nemesis = opts("power-loss", |o| {
        o.power_loss_targets = vec![Target::All];
        // a whole cluster restarting needs ~10 s before it takes writes
        // again (measured: at the default 6 s, every power loss after the
        // first hit a cluster that had acknowledged nothing since and
        // dropped 0 bytes)
        o.interval = POWER_LOSS_INTERVAL;
    });
    s
}

/// `last-replica-standing`: split roles (one controller node) so that
/// pausing two brokers leaves the KRaft quorum able to shrink the ISR;
/// one partition; ELR at `elr`.
fn last_replica(s: TestSpec, elr: u16) -> TestSpec {
    let mut s = durable_base(s);
    s.cluster.split_roles = true;
    s.cluster.controllers = Some(1);
    s.cluster
        .features
        .insert(crate::kafka::config::ELR_FEATURE.to_string(), elr);
    s.partitions = 1;
    s.nemesis = NemesisPlan::Script(last_replica_script(s.time_limit));
    s
}

/// The transactional workload's common settings: RF 3, min.insync 2
/// (what transactions are documented to need), a few processes each
/// running transactions back to back.
/// The group workload's base: 4 members of one group over 8 partitions
/// of an RF 3, min.insync 2, acks=all, idempotent topic, committing
/// synchronously after each poll; 32 logical senders at 200 sends/s.
pub fn group_base(mut s: TestSpec) -> TestSpec {
    s.workload = "group".into();
    s.partitions = 8;
    s.concurrency = 4;
    s.senders = 32;
    s.rate = 200.0;
    s.cluster.replication_factor = 3;
    s.cluster.min_insync_replicas = 2;
    s.acks = Acks::All;
    s.idempotence = true;
    s.crash_probability = 0.005;
    s.group.commit = trial_histories::values::CommitMode::Sync;
    s
}

fn txn_base(mut s: TestSpec) -> TestSpec {
    s.workload = "txn".into();
    s.cluster.replication_factor = 3;
    s.cluster.min_insync_replicas = 2;
    s.acks = Acks::All;
    s.idempotence = true;
    s.concurrency = 6;
    s.rate = 100.0;
    s.send_ratio = 0.5;
    s
}

/// One scripted step at fraction `f` of the time limit `t`.
pub(super) fn step_at(
    t: Duration,
    f: f64,
    id: u32,
    start: bool,
    fault: ScriptFault,
    target: ScriptTarget,
) -> ScriptStep {
    ScriptStep {
        at: Duration::from_secs_f64(t.as_secs_f64() * f),
        id,
        start,
        fault,
        target,
    }
}

/// KAFKA-15489: the active controller cut off from the other controllers
/// (not from the brokers) for most of the run: the other two elect a new
/// leader at a higher epoch; a fixed release's old leader resigns within
/// 1.5 × `controller.quorum.fetch.timeout.ms`, an affected one goes on
/// leading.
pub fn kafka_15489_script(t: Duration) -> Vec<ScriptStep> {
    let (f, a) = (
        ScriptFault::CutFromControllers,
        ScriptTarget::ActiveController,
    );
    vec![
        step_at(t, 0.15, 0, true, f, a.clone()),
        step_at(t, 0.80, 0, false, f, a),
    ]
}

/// Jepsen 2013 (KAFKA-1555): partition 0's leader cut off from its
/// followers but not from ZooKeeper, so that it shrinks the ISR to itself
/// and acknowledges alone; then cut off from everything, ZooKeeper
/// included, so that the controller elects a follower outside the ISR;
/// then healed, and the old leader truncates to the new one.
pub fn kafka_1555_script(t: Duration) -> Vec<ScriptStep> {
    let l = ScriptTarget::LeaderOf(0);
    vec![
        step_at(t, 0.15, 0, true, ScriptFault::CutFromBrokers, l.clone()),
        step_at(t, 0.45, 1, true, ScriptFault::IsolateAll, l.clone()),
        step_at(t, 0.50, 0, false, ScriptFault::CutFromBrokers, l.clone()),
        step_at(t, 0.80, 1, false, ScriptFault::IsolateAll, l),
    ]
}

/// KAFKA-16352: a commit's markers left in flight from the coordinator of
/// `kt-txn-0` to another partition leader (the two cut apart), while the
/// coordinator loses its `__transaction_state` partition (paused past the
/// broker session) and gets it back (preferred leader election) at a new
/// coordinator epoch; the old in-flight request then times out and, on an
/// affected release, drops the new epoch's pending completion: the
/// transaction stays in PrepareCommit/PrepareAbort and that producer can
/// begin no other (CONCURRENT_TRANSACTIONS) until the coordinator moves.
///
/// The timing matters: the old request times out 30 s
/// (`request.timeout.ms`) after it was sent, and only a completion of the
/// new epoch added before that is dropped. At 120 s: cut at 12 s, the
/// coordinator paused 15.6–20.4 s (fenced after 3 s), back as leader by
/// ~27 s, the old markers time out at ~42–46 s, the cut heals at 66 s. (A
/// first version paused at 24–30 s: the old markers timed out at ~47 s,
/// before the coordinator's next prepare at 49 s; nothing stuck. With
/// combined roles the cut also cut the coordinator from the active
/// controller, so it stayed fenced until the heal; and when the cut-off
/// leader was the coordinator's successor, the coordinator could not
/// rejoin the ISR through it. Hence dedicated controllers and
/// [`ScriptTarget::LeaderAwayFromCoordinator`].) Still a race: it needs a
/// transaction of that coordinator prepared, with its markers in flight to
/// the cut-off leader, when the pause begins.
pub fn kafka_16352_script(t: Duration) -> Vec<ScriptStep> {
    let away = ScriptTarget::LeaderAwayFromCoordinator;
    let co = ScriptTarget::Coordinator;
    vec![
        step_at(
            t,
            0.10,
            0,
            true,
            ScriptFault::CutFromCoordinator,
            away.clone(),
        ),
        step_at(t, 0.13, 1, true, ScriptFault::Pause, co.clone()),
        step_at(t, 0.17, 1, false, ScriptFault::Pause, co),
        step_at(t, 0.55, 0, false, ScriptFault::CutFromCoordinator, away),
    ]
}

/// The 2013 ISR-shrink loss on ZooKeeper-mode Kafka: acks=all, RF 3,
/// min.insync 1, one partition, and unclean leader election as given
/// (on: Kafka 0.8's only behaviour; off: the default since 0.11.0,
/// KAFKA-4623). `inter.broker.protocol.version=2.6` keeps the 0.8 design's
/// ISR path (the leader writes its ISR to ZooKeeper itself; from 2.7 on it
/// asks the controller with AlterIsr, which a leader cut off from a
/// controller on the other side could not).
fn kafka_1555(mut s: TestSpec, unclean: bool) -> TestSpec {
    s.cluster.replication_factor = 3;
    s.cluster.min_insync_replicas = 1;
    s.cluster.unclean_leader_election = unclean;
    s.cluster
        .broker_overrides
        .insert("inter.broker.protocol.version".into(), "2.6".into());
    s.acks = Acks::All;
    s.idempotence = false;
    s.partitions = 1;
    s.send_ratio = 0.8;
    s.nemesis = NemesisPlan::Script(kafka_1555_script(s.time_limit));
    s
}

const KAFKA_1555: KnownBug = KnownBug {
    ticket: "KAFKA-1555",
    affects: "0.8.0–0.8.1 (no other choice); 0.8.2–0.10.x by default (unclean election on)",
    fixed_in: "0.8.2.0 (min.insync.replicas, KAFKA-1555; unclean.leader.election.enable, KAFKA-1028), default off since 0.11.0.0 (KAFKA-4623)",
    default_version: "2.8.2",
    default_mode: Mode::Zookeeper,
};

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "safe",
        purpose: "RF 3, acks=all, min.insync 2, idempotence; one broker at a time killed, paused or cut off (what this configuration promises to survive), each fault outlasting Kafka's detection: leaders move, writes go on, Kafka keeps every acknowledged write",
        expected: "valid",
        promises: &["acked-writes-survive", "partition-order", "send-order", "no-duplicates"],
        bug: None,
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 2;
            s.acks = Acks::All;
            s.idempotence = true;
            s.nemesis = opts("partition,kill,pause", |o| {
                o.kill_targets = vec![Target::One, Target::Controller];
                o.pause_targets = vec![Target::One, Target::Controller];
                o.topologies = vec![Topology::One, Topology::Controller];
            });
            s
        },
    },
    Scenario {
        name: "acks-1-leader-kill",
        purpose: "acks=1 and the partition leaders SIGKILLed: writes acknowledged by a leader alone die with it",
        expected: "lost-write",
        promises: &["acked-writes-survive"],
        bug: None,
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 1;
            s.acks = Acks::One;
            s.idempotence = false;
            s.rate = 1000.0;
            s.concurrency = 20;
            s.send_ratio = 0.8;
            s.nemesis = opts("kill", |o| {
                o.kill_targets = vec![Target::Leaders];
            });
            s
        },
    },
    Scenario {
        name: "unclean-election",
        purpose: "unclean election on, min.insync 1, acks=all, one dedicated KRaft controller: followers paused (the ISR shrinks to the leader, which acknowledges alone), the leader killed, the followers resumed: one is elected outside the ISR",
        expected: "acknowledged records lost (lost-write / inconsistent-offsets)",
        promises: &["acked-writes-survive"],
        bug: None,
        // acks=all, so that the loss is the unclean election's and not
        // acks=1's; a dedicated controller, because with combined roles
        // pausing two of three nodes takes the KRaft quorum with it: the
        // ISR cannot shrink and the followers are then elected cleanly.
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 1;
            s.cluster.unclean_leader_election = true;
            s.cluster.split_roles = true;
            s.cluster.controllers = Some(1);
            s.acks = Acks::All;
            s.idempotence = false;
            s.partitions = 1;
            s.send_ratio = 0.8;
            s.nemesis = NemesisPlan::Script(unclean_script(s.time_limit));
            s
        },
    },
    Scenario {
        name: "minority-partition",
        purpose: "the partition leaders isolated on the minority side; with acks=all and min.insync 2 the majority takes over and nothing acknowledged is lost",
        expected: "valid",
        promises: &["acked-writes-survive", "no-duplicates"],
        bug: None,
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 2;
            s.acks = Acks::All;
            s.idempotence = true;
            s.nemesis = opts("partition", |o| {
                o.topologies = vec![Topology::Primaries];
            });
            s
        },
    },
    Scenario {
        name: "txn-safe",
        purpose: "the txn workload (consume-transform-produce, read_committed, some transactions aborted on purpose) on RF 3, min.insync 2; one broker at a time killed or paused — a random one, a transaction coordinator or the controller — each fault outlasting Kafka's detection: coordinators and leaders move while transactions commit",
        expected: "valid (no anomaly Kafka forbids under read_committed)",
        promises: &["read-committed", "transactions-isolated", "transactions-complete", "acked-writes-survive"],
        bug: None,
        build: |s| {
            let mut s = txn_base(s);
            s.nemesis = opts("kill,pause", |o| {
                o.kill_targets = vec![Target::One, Target::Coordinator, Target::Controller];
                o.pause_targets = vec![Target::One, Target::Coordinator, Target::Controller];
            });
            s
        },
    },
    Scenario {
        name: "txn-pauses",
        purpose: "the txn workload while transaction coordinators and partition leaders are paused, briefly and often (1 s and up, every ~3 s): requests such as EndTxn sit in a paused broker's socket while the client times out and moves on, then land late — the KAFKA-17754 class (a delayed EndTxn landing on a later transaction; librdkafka speaks transactions v1 only)",
        expected: "hunting: aborted-read, lost-write, G1c or duplicate would be KAFKA-17754-class findings",
        promises: &["read-committed", "transactions-complete", "acked-writes-survive", "no-duplicates"],
        bug: None,
        build: |s| {
            let mut s = txn_base(s);
            s.nemesis = opts("pause", |o| {
                o.pause_targets = vec![Target::Coordinator, Target::Leaders];
                o.interval = Duration::from_secs(3);
                o.min_fault_duration = Duration::from_secs(1);
            });
            s
        },
    },
    Scenario {
        name: "group-safe",
        purpose: "the group workload: 4 members (cooperative-sticky) committing synchronously after each poll; members crash after a poll, leave and rejoin, and stall past max.poll.interval.ms before committing (a zombie's commit); one broker at a time killed, paused or cut off. With commits after processing, Kafka promises at-least-once: no record below the committed offset skipped, committed offsets never going backwards, a partition owned by one member per generation",
        expected: "valid (no group-skip, commit-regression, lost-commit or double-ownership)",
        promises: &["group-at-least-once", "group-one-owner", "commit-order", "acked-commits-survive"],
        bug: None,
        build: |s| {
            let mut s = group_base(s);
            s.group.assignor = Some("cooperative-sticky".into());
            s.group.churn_probability = 0.002;
            s.group.stall_probability = 0.002;
            s.nemesis = opts("partition,kill,pause", |o| {
                o.kill_targets = vec![Target::One, Target::Controller];
                o.pause_targets = vec![Target::One, Target::Controller];
                o.topologies = vec![Topology::One, Topology::Controller];
            });
            s
        },
    },
    Scenario {
        name: "group-coordinator-kill",
        purpose: "the group workload (4 members, classic eager by default; --group-protocol consumer for KIP-848) while the group's coordinator — the leader of its __consumer_offsets partition — is killed or paused, each fault outlasting the session timeout: members rediscover the coordinator and rejoin, commits go to the new one, the group rebalances",
        expected: "valid (no group-skip, commit-regression, lost-commit or double-ownership); rebalance windows and time without an owner measured",
        promises: &["group-at-least-once", "group-one-owner", "commit-order", "acked-commits-survive"],
        bug: None,
        build: |s| {
            let mut s = group_base(s);
            s.nemesis = opts("kill,pause", |o| {
                o.kill_targets = vec![Target::GroupCoordinator];
                o.pause_targets = vec![Target::GroupCoordinator];
            });
            s
        },
    },
    Scenario {
        name: "group-autocommit-crash",
        purpose: "the group workload with enable.auto.commit (every 1 s and on close) and members that crash after a poll, before processing it (one poll in 20): auto-commit commits what polls returned, processed or not, so the next owner starts past records nobody processed — Kafka's documented at-most-once window; one broker at a time killed",
        expected: "valid, with unprocessed-skip counted as permitted (at-most-once under auto-commit)",
        promises: &["group-at-least-once", "group-one-owner"],
        bug: None,
        build: |s| {
            let mut s = group_base(s);
            s.group.commit = trial_histories::values::CommitMode::Auto;
            s.crash_probability = 0.05;
            s.nemesis = opts("kill", |o| {
                o.kill_targets = vec![Target::One];
            });
            s
        },
    },
    Scenario {
        name: "power-loss-all",
        purpose: "RF 3, acks=all, min.insync 2, Kafka's default flush settings (log.flush.interval.messages and .ms unset: the OS decides when to write back): every broker's disk loses its un-fsynced writes at once. Kafka's documented design takes durability from replication, not fsync, so a correlated power loss can lose acknowledged writes",
        expected: "lost-write or inconsistent-offsets (acknowledged records gone, their offsets reused; possible by design, decided by log.flush.interval.messages)",
        promises: &["acked-writes-survive"],
        bug: None,
        build: |s| power_loss_all(s, false),
    },
    Scenario {
        name: "power-loss-all-flush",
        purpose: "power-loss-all with log.flush.interval.messages=1: every append is fsynced before it is acknowledged (leader and followers), so losing every un-fsynced write loses nothing acknowledged",
        expected: "valid (log.flush.interval.messages=1)",
        promises: &["acked-writes-survive"],
        bug: None,
        build: |s| power_loss_all(s, true),
    },
    Scenario {
        name: "last-replica-standing",
        purpose: "eligible leader replicas off (eligible.leader.replicas.version=0): partition 0's followers paused until the ISR is the leader alone, the leader loses its un-fsynced writes and restarts while they are away, is elected as the ISR's last member, and the followers truncate to it",
        expected: "lost-write or inconsistent-offsets (acknowledged records gone, their offsets reused; eligible.leader.replicas.version=0)",
        promises: &["acked-writes-survive"],
        bug: None,
        build: |s| last_replica(s, 0),
    },
    Scenario {
        name: "last-replica-standing-elr",
        purpose: "last-replica-standing with eligible leader replicas on (KIP-966, eligible.leader.replicas.version=1, Kafka 4.x): the leader's unclean shutdown takes it out of the ISR and the ELR, a follower that kept the acknowledged writes is elected",
        expected: "valid (eligible.leader.replicas.version=1)",
        promises: &["acked-writes-survive"],
        bug: None,
        build: |s| last_replica(s, 1),
    },
    Scenario {
        name: "kafka-15489",
        purpose: "KAFKA-15489 (split brain in KRaft): 3 dedicated controllers; the active one cut off from the other two (the brokers still reach it) for 65 % of the run. The two elect a new leader at a higher epoch; the old one, on an affected release, never resigns (KIP-595's leader fetch timeout was not implemented): the observer asks each controller and sees two that both lead",
        expected: "controller-split-brain (affected releases); valid with at most a few seconds of two leaders (fixed ones)",
        promises: &["controller-resigns", "controller-election-safety"],
        bug: Some(KnownBug {
            ticket: "KAFKA-15489",
            affects: "3.3.0–3.6.x (KRaft)",
            fixed_in: "3.7.0",
            default_version: "3.6.2",
            default_mode: Mode::Kraft,
        }),
        build: |mut s| {
            s.cluster.replication_factor = 3;
            s.cluster.min_insync_replicas = 2;
            s.cluster.split_roles = true;
            s.cluster.controllers = Some(3);
            s.acks = Acks::All;
            s.idempotence = true;
            s.nemesis = NemesisPlan::Script(kafka_15489_script(s.time_limit));
            s
        },
    },
    Scenario {
        name: "kafka-16352",
        purpose: "KAFKA-16352 (transaction stuck in PrepareCommit/PrepareAbort): the txn workload; the coordinator of kt-txn-0 cut off from another partition leader (its markers stay in flight) while it is paused past the broker session and gets its __transaction_state partitions back at a new epoch; the old marker request then times out and, on an affected release, removes the new epoch's pending completion",
        expected: "a transaction that never completes: kt-txn-0's producer commits nothing after the heal (CONCURRENT_TRANSACTIONS), read_committed consumers held at the last stable offset while markers are missing; valid on fixed releases",
        promises: &["transactions-complete"],
        bug: Some(KnownBug {
            ticket: "KAFKA-16352",
            affects: "up to 3.7.x (the marker channel's pending-completion map)",
            fixed_in: "3.8.0",
            default_version: "3.7.2",
            default_mode: Mode::Kraft,
        }),
        build: |s| {
            let mut s = txn_base(s);
            s.abort_probability = 0.0;
            // Dedicated controllers: a cut between two brokers must not cut
            // a broker from the active controller too (with combined roles
            // the cut coordinator was fenced for the whole cut and got its
            // partitions back only at the heal).
            s.cluster.split_roles = true;
            s.cluster.controllers = Some(3);
            s.nemesis = NemesisPlan::Script(kafka_16352_script(s.time_limit));
            s
        },
    },
    Scenario {
        name: "kafka-1555",
        purpose: "Jepsen's 2013 Kafka loss (KAFKA-1555), ZooKeeper mode: acks=all with min.insync 1 and unclean election on (Kafka 0.8's behaviour). Partition 0's leader cut off from its followers, not from ZooKeeper: the ISR shrinks to the leader, which acknowledges alone; then it is cut off from ZooKeeper too, the controller elects a follower outside the ISR, and on heal the old leader truncates what it acknowledged",
        expected: "lost-write (acknowledged by an ISR of one, discarded by the unclean election)",
        promises: &["acked-writes-survive"],
        bug: Some(KAFKA_1555),
        build: |s| kafka_1555(s, true),
    },
    Scenario {
        name: "kafka-1555-fixed",
        purpose: "kafka-1555 with unclean.leader.election.enable=false (the default since 0.11.0, KAFKA-4623): the same cuts; the controller has no ISR member to elect, partition 0 stays offline until the old leader comes back with everything it acknowledged",
        expected: "valid (unavailable while the leader is cut off, nothing lost)",
        promises: &["acked-writes-survive"],
        bug: Some(KAFKA_1555),
        build: |s| kafka_1555(s, false),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bugs_run_an_affected_release_by_default_and_yield_to_the_caller() {
        let bugs: Vec<&Scenario> = SCENARIOS.iter().filter(|s| s.bug.is_some()).collect();
        assert!(bugs.len() >= 3);
        for sc in bugs {
            let b = sc.bug.expect("filtered");
            assert!(sc.name.starts_with(&b.ticket.to_lowercase()), "{}", sc.name);
            let s = sc.spec(TestSpec::new(sc.name));
            assert_eq!(s.cluster.kafka_version.as_deref(), Some(b.default_version));
            assert_eq!(s.cluster.mode, Some(b.default_mode));
            s.validate().unwrap();
            // A release chosen by the caller stays (the fixed one, say).
            let mut base = TestSpec::new(sc.name);
            base.cluster.kafka_version = Some("3.9.1".into());
            assert_eq!(
                sc.spec(base).cluster.kafka_version.as_deref(),
                Some("3.9.1")
            );
        }
        let s = SCENARIOS.iter().find(|s| s.name == "kafka-15489").unwrap();
        let spec = s.spec(TestSpec::new(s.name));
        assert!(spec.cluster.split_roles && spec.cluster.controllers == Some(3));
        let NemesisPlan::Script(steps) = &spec.nemesis else {
            panic!("scripted")
        };
        assert!(steps
            .iter()
            .all(|x| x.target == ScriptTarget::ActiveController
                && x.fault == ScriptFault::CutFromControllers));
    }

    #[test]
    fn every_scenario_names_promises_the_model_knows_for_its_configuration() {
        use trial_checkers::promises::{promises, Configuration, Exposure};
        for sc in SCENARIOS {
            assert!(!sc.promises.is_empty(), "{}", sc.name);
            let spec = sc.spec(TestSpec::new(sc.name));
            let cfg = Configuration::from_test_json(&serde_json::to_value(&spec).unwrap());
            let known: Vec<String> = promises(&cfg, &Exposure::default())
                .into_iter()
                .map(|p| p.id)
                .collect();
            for id in sc.promises {
                assert!(
                    known.iter().any(|k| k == id),
                    "{}: {id} not in {known:?}",
                    sc.name
                );
            }
        }
    }
}
