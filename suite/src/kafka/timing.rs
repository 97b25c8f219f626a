//! Timing profiles: Kafka's failure-detection knobs, the clients' timeouts
//! and the nemesis' fault durations, chosen together so that a fault
//! outlasts the time Kafka needs to notice it.
//!
//! With Kafka's own defaults a broker is declared dead after
//! `broker.session.timeout.ms` (9 s) and a slow follower leaves the ISR
//! after `replica.lag.time.max.ms` (30 s): a pause or partition of ~10 s
//! ends before Kafka reacts, and with acks=all every partition with the
//! stalled broker in its ISR simply waits. `fast` (the default for trials)
//! lowers them so that a fault is noticed within about 3 s, and by default
//! makes every fault last at least 3× that.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use trial_nemesis::NemesisOptions;

/// A timing profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Timing {
    /// Failure detection within ~3 s; faults last ≥ 9 s.
    #[default]
    Fast,
    /// Kafka's and librdkafka's own values (what production runs).
    KafkaDefaults,
}

impl Timing {
    pub fn name(self) -> &'static str {
        match self {
            Timing::Fast => "fast",
            Timing::KafkaDefaults => "kafka-defaults",
        }
    }

    /// Broker properties of the profile (the user's `--broker-config` wins).
    pub fn broker_properties(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Timing::Fast => &[
                // a silent broker is fenced (and loses its leaderships) after 3 s
                ("broker.session.timeout.ms", "3000"),
                ("broker.heartbeat.interval.ms", "500"),
                // a follower that fetched nothing for 3 s leaves the ISR
                ("replica.lag.time.max.ms", "3000"),
                // a follower gives up on a silent leader after 3 s
                ("replica.socket.timeout.ms", "3000"),
                ("controller.socket.timeout.ms", "3000"),
                // the KRaft quorum elects a new active controller quickly
                ("controller.quorum.election.timeout.ms", "1000"),
                ("controller.quorum.fetch.timeout.ms", "1500"),
                // consumer groups may use short sessions
                ("group.min.session.timeout.ms", "1000"),
                // and so may KIP-848 groups (the broker holds their session
                // and heartbeat; older releases ignore these names)
                ("group.consumer.min.session.timeout.ms", "1000"),
                ("group.consumer.session.timeout.ms", "3000"),
                ("group.consumer.min.heartbeat.interval.ms", "500"),
                ("group.consumer.heartbeat.interval.ms", "500"),
                // leadership returns to the preferred replica soon after heal
                ("leader.imbalance.check.interval.seconds", "5"),
            ],
            Timing::KafkaDefaults => &[],
        }
    }

    /// How long Kafka takes to notice a dead, paused or cut-off broker.
    /// The broker properties of ZooKeeper mode: its session with the
    /// ensemble is what fails a broker over there (what
    /// `broker.session.timeout.ms` is to KRaft).
    pub fn zookeeper_broker_properties(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Timing::Fast => &[
                ("zookeeper.session.timeout.ms", "3000"),
                ("zookeeper.connection.timeout.ms", "30000"),
                ("replica.lag.time.max.ms", "3000"),
                ("replica.socket.timeout.ms", "3000"),
                ("controller.socket.timeout.ms", "3000"),
                ("group.min.session.timeout.ms", "1000"),
                ("leader.imbalance.check.interval.seconds", "5"),
            ],
            Timing::KafkaDefaults => &[("zookeeper.session.timeout.ms", "18000")],
        }
    }

    /// ZooKeeper's `tickTime` (ms), `initLimit` and `syncLimit` (ticks):
    /// fast lets a follower cut off from its leader drop out within ~2 s
    /// and a session be as short as 1 s (2 ticks).
    pub fn zookeeper_ticks(self) -> (u32, u32, u32) {
        match self {
            Timing::Fast => (500, 40, 4),
            Timing::KafkaDefaults => (2000, 10, 5),
        }
    }

    pub fn detection(self) -> Duration {
        match self {
            Timing::Fast => Duration::from_secs(3),
            // replica.lag.time.max.ms: when a stalled follower leaves the ISR
            Timing::KafkaDefaults => Duration::from_secs(30),
        }
    }

    /// The shortest fault of a generated schedule: 3× the detection time
    /// (none for `kafka-defaults`, which keeps the nemesis' own timing).
    pub fn min_fault_duration(self) -> Duration {
        match self {
            Timing::Fast => self.detection() * 3,
            Timing::KafkaDefaults => Duration::ZERO,
        }
    }

    /// The mean gap between nemesis actions: room to recover between faults.
    pub fn nemesis_interval(self) -> Duration {
        match self {
            Timing::Fast => Duration::from_secs(6),
            Timing::KafkaDefaults => Duration::from_secs(10),
        }
    }

    /// Client timeouts: (message, request, socket, consumer session).
    pub fn client_timeouts(self) -> ClientTimeouts {
        match self {
            Timing::Fast => ClientTimeouts {
                message: Duration::from_secs(10),
                request: Duration::from_secs(3),
                socket: Duration::from_secs(3),
                session: Duration::from_secs(3),
            },
            Timing::KafkaDefaults => ClientTimeouts {
                message: Duration::from_secs(300),
                request: Duration::from_secs(30),
                socket: Duration::from_secs(60),
                session: Duration::from_secs(45),
            },
        }
    }
}

impl Timing {
    /// Nemesis options with this profile's interval and fault duration.
    pub fn nemesis_defaults(self) -> NemesisOptions {
        let mut o = NemesisOptions::default();
        self.apply_to(&mut o);
        o
    }

    /// Set the interval and the shortest fault of `o` from this profile.
    pub fn apply_to(self, o: &mut NemesisOptions) {
        o.interval = self.nemesis_interval();
        o.min_fault_duration = self.min_fault_duration();
    }
}

/// The clients' side of a timing profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// How long a send is retried (`message.timeout.ms`/`delivery.timeout.ms`).
    pub message: Duration,
    pub request: Duration,
    pub socket: Duration,
    /// Consumer group session.
    pub session: Duration,
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_faults_outlast_detection() {
        let t = Timing::Fast;
        assert!(t.min_fault_duration() >= t.detection() * 3);
        assert!(t.client_timeouts().message > t.detection() * 2);
        let props: std::collections::BTreeMap<_, _> =
            t.broker_properties().iter().copied().collect();
        let session: u64 = props["broker.session.timeout.ms"].parse().unwrap();
        let beat: u64 = props["broker.heartbeat.interval.ms"].parse().unwrap();
        assert!(beat < session);
        assert!(Duration::from_millis(session) <= t.detection());
    }
}
