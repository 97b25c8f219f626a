//! Trials against a cluster the user already runs (`--bootstrap`): no
//! cluster is built; the trial makes its own topic there, reads the
//! cluster's configuration back for the promise model, faults brokers only
//! through the user's hooks, and leaves nothing else touched.
//!
//! - [`secrets`]: `--client-config` settings for every client, kept in
//!   memory by bootstrap address, and their redaction wherever a run
//!   writes its spec;
//! - [`readback`]: DescribeConfigs of a broker and the topic, ApiVersions'
//!   features, Metadata's controller: each value with its source, what
//!   could not be read `unknown`;
//! - [`hooks`]: the hooks file and [`hooks::HookNode`], the nemesis'
//!   `Node` for a broker reached through the user's commands;
//! - [`site`]: the run's side of it (connect, create and delete the topic,
//!   the nodes, the observer) for `trial::run`;
//! - [`probe`]: `kafka-trial probe`, a read-only look before a trial.
//!
//! Must never: touch a topic or consumer group that is not the run's own,
//! or write a secret of the client settings.

pub mod hooks;
pub mod probe;
pub mod readback;
pub mod secrets;
pub mod site;

use crate::spec::TrialSpec;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use trial_nemesis::FaultKind;

/// The prefix of every topic a trial makes on a cluster the user runs.
pub const TOPIC_PREFIX: &str = "kt-trial-";

/// A run against a cluster the user runs (test.json `external`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExternalSpec {
    /// The bootstrap servers given.
    pub bootstrap: String,
    /// Leave the topic at the end.
    #[serde(default)]
    pub keep_topic: bool,
    /// Client settings for every client and admin call; secrets written
    /// `***`.
    #[serde(
        default,
        serialize_with = "secrets::redact_pairs",
        deserialize_with = "secrets::pairs_table",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub client_config: Vec<(String, String)>,
    /// A properties file read when the trial starts (its contents are
    /// not written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_config_file: Option<PathBuf>,
    /// The hooks file given (`--fault-hooks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_hooks: Option<PathBuf>,
    /// Its contents, as loaded when the spec was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<hooks::Hooks>,
    /// The trial's topic (decided when the run starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// What was read back from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<readback::ReadBack>,
    /// Seconds from the start of the run to the topic being ready (the
    /// workload starts right after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_secs: Option<f64>,
    /// Whether the topic was deleted at the end (`None`: kept or not
    /// reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_deleted: Option<bool>,
}

/// The fault kinds hooks can play (with the actions they need).
pub const HOOK_KINDS: [(FaultKind, &str); 2] = [
    (FaultKind::Kill, "kill and restart"),
    (FaultKind::Pause, "pause and resume"),
];

/// `HOST:PORT[,…]`, each checked.
pub fn parse_bootstrap(s: &str) -> Result<Vec<String>> {
    let mut out = vec![];
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0) => {
                out.push(part.to_string())
            }
            _ => bail!("--bootstrap: {part:?} is not HOST:PORT"),
        }
    }
    if out.is_empty() {
        bail!("--bootstrap: no HOST:PORT given");
    }
    Ok(out)
}

impl ExternalSpec {
    /// The run's `external` from a spec: `None` without `--bootstrap`.
    /// Refuses (before anything starts) what cannot apply to a cluster the
    /// trial does not own: its shape, release and broker settings (read
    /// back instead), faults without hooks for them, scripts, and the
    /// transactional workload (its `transactional.id`s are not yet unique
    /// per run).
    pub fn from_spec(s: &TrialSpec) -> Result<Option<ExternalSpec>> {
        let c = &s.cluster;
        let cl = &s.client;
        let Some(bootstrap) = &c.bootstrap else {
            for (on, flag) in [
                (c.keep_topic, "--keep-topic"),
                (c.fault_hooks.is_some(), "--fault-hooks"),
                (!cl.client_config.is_empty(), "--client-config"),
                (cl.client_config_file.is_some(), "--client-config-file"),
            ] {
                if on {
                    bail!("{flag} applies only with --bootstrap (a cluster you run)");
                }
            }
            return Ok(None);
        };
        parse_bootstrap(bootstrap)?;
        let d: crate::spec::ClusterSection = crate::spec::flag_defaults();
        for (on, flag) in [
            (c.nodes.is_some(), "--nodes"),
            (c.controllers.is_some(), "--controllers"),
            (c.split_roles, "--split-roles"),
            (c.kafka_version.is_some(), "--kafka-version"),
            (c.mode.is_some(), "--mode"),
            (c.zookeeper.is_some(), "--zookeeper"),
            (c.image.is_some(), "--image"),
            (c.hosts.is_some(), "--hosts"),
            (!c.broker_config.is_empty(), "--broker-config"),
            (!c.features.is_empty(), "--feature"),
            (c.faketime, "--faketime"),
            (c.lazyfs, "--lazyfs"),
            (c.heap_mb != d.heap_mb, "--heap-mb"),
            (
                c.min_insync_replicas != d.min_insync_replicas,
                "--min-insync-replicas",
            ),
            (c.unclean_leader_election, "--unclean-leader-election"),
        ] {
            if on {
                bail!(
                    "{flag} describes a cluster the trial builds; with --bootstrap the cluster is yours \
                     (its settings are read back, not set)"
                );
            }
        }
        if s.nemesis.script.is_some() {
            bail!("with --bootstrap, scripted nemeses are not supported yet: use --nemesis with --fault-hooks");
        }
        if s.workload.kind == "txn" {
            bail!("with --bootstrap, the txn workload is refused: its transactional.ids are not yet unique per run");
        }
        let hooks = c
            .fault_hooks
            .as_deref()
            .map(hooks::Hooks::load)
            .transpose()?;
        let can = hooks.as_ref().map(hooks::Hooks::kinds).unwrap_or_default();
        for k in s.nemesis.faults.iter() {
            if can.contains(&k) {
                continue;
            }
            match HOOK_KINDS.iter().find(|(h, _)| *h == k) {
                Some((_, need)) => bail!(
                    "--nemesis {k} on a cluster you run needs {need} commands in --fault-hooks{}",
                    if hooks.is_none() { " (none given)" } else { "" }
                ),
                None => bail!(
                    "--nemesis {k} cannot be played on a cluster you run (hooks play {})",
                    HOOK_KINDS
                        .iter()
                        .map(|(k, _)| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        if let Some(f) = &cl.client_config_file {
            if !f.is_file() {
                bail!("--client-config-file {}: no such file", f.display());
            }
        }
        if cl.client_config.iter().any(|(_, v)| v == secrets::REDACTED) {
            bail!(
                "a --client-config secret reads `{}` (a written spec's redaction): give it again with --client-config",
                secrets::REDACTED
            );
        }
        Ok(Some(ExternalSpec {
            bootstrap: bootstrap.clone(),
            keep_topic: c.keep_topic,
            client_config: cl.client_config.clone(),
            client_config_file: cl.client_config_file.clone(),
            fault_hooks: c.fault_hooks.clone(),
            hooks,
            ..Default::default()
        }))
    }

    /// The client settings: the file's, then the flags' (which win).
    pub fn client_settings(&self) -> Result<Vec<(String, String)>> {
        let mut out = match &self.client_config_file {
            Some(f) => secrets::read_properties(f)?,
            None => vec![],
        };
        for (k, v) in &self.client_config {
            out.retain(|(k2, _)| k2 != k);
            out.push((k.clone(), v.clone()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
