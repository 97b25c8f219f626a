//! The spec built in code (the library's way to write a trial): every
//! method sets one field of the nested sections and returns the spec, so
//! a trial reads as it would as a file. A section without a shortcut is
//! reached with [`TrialSpec::cluster_with`] and its siblings, a workload's
//! or a fault kind's own options with [`TrialSpec::workload_option`] and
//! [`TrialSpec::fault_options`]. [`TrialSpec::run`] normalizes, validates
//! and runs it.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use kafka_trial::clients::Acks;
//! use kafka_trial::spec::TrialSpec;
//! let report = TrialSpec::named("mine")
//!     .nodes(3)
//!     .acks(Acks::All)
//!     .min_insync_replicas(2)
//!     .faults("kill")?
//!     .run("store")
//!     .await?;
//! assert_eq!(report.anomaly("lost-write"), 0);
//! # Ok(()) }
//! ```

use super::*;
use crate::trial::Report;

impl TrialSpec {
    /// The defaults (what `kafka-trial test` runs with no flag), named.
    pub fn named(name: &str) -> TrialSpec {
        TrialSpec {
            name: name.to_string(),
            ..TrialSpec::default()
        }
    }

    /// Change the cluster section.
    pub fn cluster_with(mut self, f: impl FnOnce(&mut ClusterSection)) -> Self {
        f(&mut self.cluster);
        self
    }
    /// Change the client section.
    pub fn client_with(mut self, f: impl FnOnce(&mut ClientSection)) -> Self {
        f(&mut self.client);
        self
    }
    /// Change the workload section (the options every workload reads).
    pub fn workload_with(mut self, f: impl FnOnce(&mut WorkloadSection)) -> Self {
        f(&mut self.workload);
        self
    }
    /// Change the nemesis section.
    pub fn nemesis_with(mut self, f: impl FnOnce(&mut NemesisSection)) -> Self {
        f(&mut self.nemesis);
        self
    }
    /// Change the check section.
    pub fn check_with(mut self, f: impl FnOnce(&mut CheckSection)) -> Self {
        f(&mut self.check);
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn time_limit(mut self, d: Duration) -> Self {
        self.time_limit = d;
        self
    }
    /// Broker nodes n1..nN.
    pub fn nodes(self, n: usize) -> Self {
        self.cluster_with(|c| c.nodes = Some(n))
    }
    /// The Kafka release (`3.9.1`, `4.4.0`, …).
    pub fn kafka_version(self, v: &str) -> Self {
        self.cluster_with(|c| c.kafka_version = Some(v.to_string()))
    }
    pub fn replication_factor(self, rf: usize) -> Self {
        self.cluster_with(|c| c.replication_factor = rf)
    }
    pub fn min_insync_replicas(self, m: usize) -> Self {
        self.cluster_with(|c| c.min_insync_replicas = m)
    }
    pub fn unclean_leader_election(self, on: bool) -> Self {
        self.cluster_with(|c| c.unclean_leader_election = on)
    }
    /// Producer acks (idempotence then follows Kafka's default for them
    /// unless [`TrialSpec::idempotence`] says otherwise).
    pub fn acks(self, a: Acks) -> Self {
        self.client_with(|c| c.acks = a)
    }
    pub fn idempotence(self, on: bool) -> Self {
        self.client_with(|c| c.idempotence = Some(on))
    }
    /// The workload by name (`queue`, `txn`, `group`); its own options
    /// start from their defaults.
    pub fn workload(self, kind: &str) -> Self {
        self.workload_with(|w| {
            if w.kind != kind {
                w.kind = kind.to_string();
                w.options.clear();
            }
        })
    }
    /// One of the chosen workload's own options (`[workload.<kind>]`), by
    /// its key in the file, e.g. `("abort_probability", 0.2)` for txn.
    pub fn workload_option(mut self, key: &str, value: impl Into<Value>) -> Self {
        let kind = self.workload.kind.clone();
        let table = self
            .workload
            .options
            .entry(kind)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = table {
            m.insert(key.to_string(), value.into());
        }
        self
    }
    pub fn rate(self, r: f64) -> Self {
        self.workload_with(|w| w.rate = r)
    }
    pub fn partitions(self, p: u32) -> Self {
        self.workload_with(|w| w.partitions = p)
    }
    /// The fault kinds the nemesis mixes (`kill`, `partition,pause`,
    /// `all`, `none`), each with its options' defaults.
    pub fn faults(mut self, kinds: &str) -> Result<Self> {
        self.nemesis.faults = kinds.parse().map_err(|e| anyhow!("{e}"))?;
        self.nemesis.script = None;
        self.normalize()?;
        Ok(self)
    }
    /// The options of every fault kind the nemesis plays, e.g.
    /// `.fault_options(|n| n.kill.as_mut().unwrap().targets = …)`.
    pub fn fault_options(self, f: impl FnOnce(&mut NemesisSection)) -> Self {
        self.nemesis_with(f)
    }

    /// Normalize, validate and run the trial, its run folder under
    /// `store`: the same run `kafka-trial test --spec` makes of this spec.
    pub async fn run(mut self, store: impl AsRef<Path>) -> Result<Report> {
        self.normalize()?;
        let t = self.to_test(store.as_ref())?;
        t.validate()?;
        crate::trial::run(t).await
    }
}
