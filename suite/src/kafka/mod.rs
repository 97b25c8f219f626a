//! Kafka itself: distributions, configuration, the nodes that run it and
//! the admin calls the suite makes.
//!
//! - [`version`]: release numbers and the metadata mode each runs in
//!   (KRaft, ZooKeeper);
//! - [`dist`]: Kafka releases assembled from Maven Central into a cache;
//! - [`config`]: roles of nodes ([`ClusterSpec::layout`]) and
//!   `server.properties` per node;
//! - [`node`]: [`KafkaNode`], a platform host plus the broker-control
//!   script (`broker-ctl.sh`, included at build time) — what the nemesis
//!   kills, pauses and restarts;
//! - [`quorum`]: the active KRaft controller, from the quorum state;
//! - [`zookeeper`]: the ZooKeeper ensemble (`srvr`: leader, followers) and
//!   the controller in either mode;
//! - [`timing`]: timing profiles (failure detection, client timeouts,
//!   fault durations chosen together);
//! - [`admin`]: topic creation, metadata, health waits (through rdkafka);
//! - [`coordinator`]: where Kafka puts a consumer group's coordinator
//!   and a `transactional.id`'s (its own hash of the key onto
//!   `__consumer_offsets` / `__transaction_state`), and FindCoordinator to
//!   check it; [`txn`]: its transaction flavour.
//!
//! Must never: know which platform the nodes are on (only `Host`).

pub mod admin;
pub mod config;
pub mod coordinator;
pub mod dist;
pub mod node;
pub mod quorum;
pub mod timing;
pub mod txn;
pub mod version;
pub mod zookeeper;

pub use config::{ClusterSpec, NodeRole, BROKER_PORT, CONTROLLER_PORT};
pub use dist::KafkaDist;
pub use node::KafkaNode;
pub use timing::Timing;
pub use version::{KafkaVersion, Mode};
