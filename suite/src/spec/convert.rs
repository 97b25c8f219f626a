//! [`TrialSpec`] ⇄ [`TestSpec`]: the spec a user writes and the flat
//! value the run takes (and test.json holds). Values the timing profile
//! decides (client timeouts, the nemesis' interval and shortest fault) are
//! absent from a spec that keeps them, so a spec says only what it chose.

use super::*;
use crate::kafka::ClusterSpec;
use crate::trial::{NemesisPlan, TestSpec};
use trial_nemesis::{FaultKind, NemesisOptions, Requirements};

fn kinds_requirements(kinds: &[FaultKind]) -> Requirements {
    trial_nemesis::requirements(&FaultKinds(kinds.iter().copied().collect()))
}

impl ClusterSection {
    /// The cluster these options describe (a hosts file applied).
    pub fn to_cluster_spec(&self) -> Result<ClusterSpec> {
        let mut requirements = crate::kafka::config::standing_requirements();
        if self.faketime {
            requirements = requirements.union(&kinds_requirements(&[FaultKind::Clock]));
        }
        if self.lazyfs {
            requirements = requirements.union(&kinds_requirements(&[FaultKind::LoseUnfsynced]));
        }
        let mut spec = ClusterSpec {
            nodes: self.nodes.unwrap_or(3),
            controllers: self.controllers,
            split_roles: self.split_roles,
            kafka_version: self.kafka_version.clone(),
            mode: self.mode,
            zookeeper: self.zookeeper,
            image: self.image.clone(),
            replication_factor: self.replication_factor,
            min_insync_replicas: self.min_insync_replicas,
            unclean_leader_election: self.unclean_leader_election,
            broker_overrides: self.broker_config.iter().cloned().collect(),
            features: self.features.iter().cloned().collect(),
            requirements,
            timing: self.timing,
            heap_mb: self.heap_mb,
            ..Default::default()
        };
        if let Some(h) = &self.hosts {
            crate::cli::cluster::apply_hosts(&mut spec, h, &self.shape_flags())?;
        }
        spec.validate()?;
        Ok(spec)
    }

    /// What these options say explicitly about the cluster's shape.
    pub fn shape_flags(&self) -> crate::platform::ssh::ShapeFlags {
        crate::platform::ssh::ShapeFlags {
            nodes: self.nodes,
            controllers: self.controllers,
            split_roles: self.split_roles,
            zookeeper: self.zookeeper,
            mode: self.mode,
            image: self.image.clone(),
        }
    }

    /// The options that give `c` (a hosts file's shape is left to the
    /// file).
    pub fn from_cluster_spec(c: &ClusterSpec) -> ClusterSection {
        let has = |k: FaultKind| {
            let r = kinds_requirements(&[k]);
            c.requirements.clone().union(&r) == c.requirements
        };
        let on_hosts = c.hosts.is_some();
        ClusterSection {
            // 3, the default, goes without saying.
            nodes: (!on_hosts && c.nodes != 3).then_some(c.nodes),
            controllers: if on_hosts { None } else { c.controllers },
            split_roles: !on_hosts && c.split_roles,
            replication_factor: c.replication_factor,
            min_insync_replicas: c.min_insync_replicas,
            unclean_leader_election: c.unclean_leader_election,
            kafka_version: c.kafka_version.clone(),
            mode: if on_hosts { None } else { c.mode },
            zookeeper: if on_hosts { None } else { c.zookeeper },
            image: c.image.clone(),
            hosts: c.hosts.clone(),
            broker_config: c
                .broker_overrides
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            features: c.features.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            heap_mb: c.heap_mb,
            timing: c.timing,
            faketime: has(FaultKind::Clock),
            lazyfs: has(FaultKind::LoseUnfsynced),
            // A cluster the user runs: from the run's `external`.
            bootstrap: None,
            keep_topic: false,
            fault_hooks: None,
        }
    }
}

impl TrialSpec {
    /// The run this spec describes, its results stored under `store`.
    pub fn to_test(&self, store: &Path) -> Result<TestSpec> {
        let timing = self.cluster.timing;
        let mut t = TestSpec::new(&self.name).timing(timing);
        // A cluster the user runs (refusing what cannot apply to it).
        t.external = crate::external::ExternalSpec::from_spec(self)?;
        t.cluster = self.cluster.to_cluster_spec()?;
        t.seed = self.seed;
        t.time_limit = self.time_limit;
        // client
        let c = &self.client;
        t.driver = c.driver.clone();
        t.acks = c.acks;
        t.idempotence = c.idempotent();
        if let Some(m) = c.message_timeout {
            t.message_timeout = m;
        }
        if let Some(r) = c.request_timeout {
            t.request_timeout = r;
        }
        t.producer_overrides = c.producer_config.iter().cloned().collect();
        t.consumer_overrides = c.consumer_config.iter().cloned().collect();
        // workload
        let w = &self.workload;
        t.workload = w.kind.clone();
        t.partitions = w.partitions;
        t.keys = w.keys;
        t.concurrency = w.concurrency;
        t.rate = w.rate;
        t.send_ratio = w.send_ratio;
        t.senders = w.senders;
        t.crash_probability = w.crash_probability;
        t.recovery_timeout = w.recovery_timeout;
        t.final_read_timeout = w.final_read_timeout;
        let pkg = crate::workloads::package(&w.kind).map_err(|e| anyhow!(e))?;
        let table = w.options.get(&w.kind).cloned().unwrap_or(Value::Null);
        let mut o = t.workload_options();
        pkg.write(&table, &mut o)
            .map_err(|e| anyhow!("[workload.{}]: {e}", w.kind))?;
        t.set_workload_options(o);
        // nemesis
        let n = &self.nemesis;
        t.nemesis = match (&n.script, &n.schedule) {
            (_, Some(faults)) => NemesisPlan::Fixed(faults.clone()),
            (Some(steps), None) => NemesisPlan::Script(steps.clone()),
            (None, None) => {
                let mut o = timing.nemesis_defaults();
                o.kinds = n.faults.clone();
                if let Some(i) = n.interval {
                    o.interval = i;
                }
                if let Some(d) = n.min_fault_duration {
                    o.min_fault_duration = d;
                }
                o.jitter_percent = n.jitter_percent;
                o.max_concurrent = n.max_concurrent;
                if let Some(p) = &n.partition {
                    o.topologies = p.topologies.clone();
                }
                if let Some(k) = &n.kill {
                    o.kill_targets = k.targets.clone();
                }
                if let Some(p) = &n.pause {
                    o.pause_targets = p.targets.clone();
                }
                if let Some(l) = &n.loss {
                    o.loss_targets = l.targets.clone();
                    o.loss_probability = l.probability;
                }
                if let Some(c) = &n.clock {
                    o.clock_targets = c.targets.clone();
                    o.clock_modes = c.modes.clone();
                    o.clock_offsets = c.offsets.clone();
                    o.strobe_period = c.strobe_period;
                    o.strobe_count = c.strobe_count;
                }
                if let Some(l) = &n.lose_unfsynced {
                    o.lose_unfsynced_targets = l.targets.clone();
                }
                if let Some(p) = &n.power_loss {
                    o.power_loss_targets = p.targets.clone();
                }
                NemesisPlan::Generated(o)
            }
        };
        // check
        t.judge = self.check.judge;
        t.linearizability = self.check.linearizability;
        t.linear_budget = self.check.linear_budget;
        t.observer_interval = self.check.observer_interval;
        t.store = store.to_path_buf();
        Ok(t)
    }

    /// The spec of a run (what `--print-spec` prints, `spec.toml` holds).
    pub fn from_test(t: &TestSpec) -> Result<TrialSpec> {
        let timing = t.cluster.timing;
        let clients = timing.client_timeouts();
        let differs = |d: Duration, default: Duration| (d != default).then_some(d);
        let pkg = crate::workloads::package(&t.workload).map_err(|e| anyhow!(e))?;
        let table = pkg.read(&t.workload_options());
        let mut options = BTreeMap::new();
        options.insert(t.workload.clone(), table);
        let defaults = timing.nemesis_defaults();
        // A script or a fixed schedule: no generated faults, the timing's
        // defaults for the rest.
        let listed = |script, schedule| NemesisSection {
            faults: FaultKinds::none(),
            interval: None,
            jitter_percent: defaults.jitter_percent,
            min_fault_duration: None,
            max_concurrent: defaults.max_concurrent,
            partition: None,
            kill: None,
            pause: None,
            loss: None,
            clock: None,
            lose_unfsynced: None,
            power_loss: None,
            script,
            schedule,
        };
        let nemesis = match &t.nemesis {
            NemesisPlan::Script(steps) => listed(Some(steps.clone()), None),
            NemesisPlan::Fixed(faults) => listed(None, Some(faults.clone())),
            NemesisPlan::Generated(o) => nemesis_section(o, &defaults),
        };
        let mut s = TrialSpec {
            name: t.name.clone(),
            seed: t.seed,
            time_limit: t.time_limit,
            cluster: ClusterSection::from_cluster_spec(&t.cluster),
            client: ClientSection {
                driver: t.driver.clone(),
                acks: t.acks,
                // Kafka's default for these acks goes without saying.
                idempotence: (t.idempotence != (t.acks == Acks::All)).then_some(t.idempotence),
                message_timeout: differs(t.message_timeout, clients.message),
                request_timeout: differs(t.request_timeout, clients.request),
                producer_config: t
                    .producer_overrides
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                consumer_config: t
                    .consumer_overrides
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                client_config: t
                    .external
                    .as_ref()
                    .map(|x| x.client_config.clone())
                    .unwrap_or_default(),
                client_config_file: t
                    .external
                    .as_ref()
                    .and_then(|x| x.client_config_file.clone()),
            },
            workload: WorkloadSection {
                kind: t.workload.clone(),
                partitions: t.partitions,
                keys: t.keys,
                concurrency: t.concurrency,
                rate: t.rate,
                send_ratio: t.send_ratio,
                senders: t.senders,
                crash_probability: t.crash_probability,
                recovery_timeout: t.recovery_timeout,
                final_read_timeout: t.final_read_timeout,
                options,
            },
            nemesis,
            check: CheckSection {
                judge: t.judge,
                linearizability: t.linearizability,
                linear_budget: t.linear_budget,
                observer_interval: t.observer_interval,
            },
        };
        if let Some(x) = &t.external {
            s.cluster.bootstrap = Some(x.bootstrap.clone());
            s.cluster.keep_topic = x.keep_topic;
            s.cluster.fault_hooks = x.fault_hooks.clone();
        }
        s.normalize()?;
        Ok(s)
    }
}

/// A generated plan's options as the spec's nemesis section: the tables
/// of the kinds it plays.
fn nemesis_section(o: &NemesisOptions, defaults: &NemesisOptions) -> NemesisSection {
    let on = |k: FaultKind| o.kinds.contains(k);
    NemesisSection {
        faults: o.kinds.clone(),
        interval: (o.interval != defaults.interval).then_some(o.interval),
        jitter_percent: o.jitter_percent,
        min_fault_duration: (o.min_fault_duration != defaults.min_fault_duration)
            .then_some(o.min_fault_duration),
        max_concurrent: o.max_concurrent,
        partition: on(FaultKind::Partition).then(|| PartitionOptions {
            topologies: o.topologies.clone(),
        }),
        kill: on(FaultKind::Kill).then(|| KillOptions {
            targets: o.kill_targets.clone(),
        }),
        pause: on(FaultKind::Pause).then(|| PauseOptions {
            targets: o.pause_targets.clone(),
        }),
        loss: on(FaultKind::Loss).then(|| LossOptions {
            targets: o.loss_targets.clone(),
            probability: o.loss_probability,
        }),
        clock: on(FaultKind::Clock).then(|| ClockOptions {
            targets: o.clock_targets.clone(),
            modes: o.clock_modes.clone(),
            offsets: o.clock_offsets.clone(),
            strobe_period: o.strobe_period,
            strobe_count: o.strobe_count,
        }),
        lose_unfsynced: on(FaultKind::LoseUnfsynced).then(|| LoseUnfsyncedOptions {
            targets: o.lose_unfsynced_targets.clone(),
        }),
        power_loss: on(FaultKind::PowerLoss).then(|| PowerLossOptions {
            targets: o.power_loss_targets.clone(),
        }),
        script: None,
        schedule: None,
    }
}
