//! Who runs a trial, so that a later command can tell a live run from one
//! whose controller died (`kill -9`, the OOM killer, a closed terminal's
//! SIGKILL) and say what it left.
//!
//! The controller's identity is its pid and its start time (clock ticks
//! since boot, `/proc/<pid>/stat` field 22): a pid alone may be reused. A
//! trial writes it into its run folder ([`CONTROLLER_FILE`], removed on
//! every way out a process survives: the end, an error, a panic, Ctrl-C)
//! and onto its containers and network ([`LABEL_OWNER`], [`LABEL_RUN`]);
//! every container the suite makes carries the owner label. Then:
//! - a run folder with `controller.json`, no `results.json` and a dead
//!   owner is `interrupted` ([`run_state`]; `runs` shows it);
//! - a cluster whose owner is dead is left behind ([`leftovers`]); the next
//!   command says so ([`notice_leftovers`]) with the command that removes
//!   it, and `clean` removes only such clusters, never a live run's.

use crate::platform::docker::{engine, LABEL_CLUSTER};
use anyhow::{Context, Result};
use bollard::query_parameters::{ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The run folder's record of the controller running it.
pub const CONTROLLER_FILE: &str = "controller.json";
/// Container and network label: the controller that made them,
/// `<pid>:<start ticks>`.
pub const LABEL_OWNER: &str = "kafka-trial.owner";
/// Container and network label: the run folder of the trial they serve.
pub const LABEL_RUN: &str = "kafka-trial.run";

/// A process: its pid and its start time (ticks since boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    pub start: u64,
}

/// Field 22 of `/proc/<pid>/stat` (the process's start time), if there is
/// such a process.
fn start_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command (field 2) is in parentheses and may hold spaces.
    let rest = &s[s.rfind(')')? + 1..];
    // Fields 3.. follow: the start time is the 20th of them.
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: start_ticks(pid).unwrap_or(0),
        }
    }

    /// Is the process still running (the same one: pid and start time)?
    /// A zombie counts as gone.
    pub fn alive(&self) -> bool {
        match start_ticks(self.pid) {
            Some(t) => {
                (self.start == 0 || t == self.start)
                    && !std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                        .ok()
                        .and_then(|s| {
                            s.rfind(')')
                                .map(|i| s[i + 1..].trim_start().starts_with('Z'))
                        })
                        .unwrap_or(false)
            }
            None => false,
        }
    }

    /// The label's value: `<pid>:<start>`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.pid, self.start)
    }

    pub fn parse_label(s: &str) -> Option<Owner> {
        let (p, t) = s.split_once(':')?;
        Some(Owner {
            pid: p.parse().ok()?,
            start: t.parse().ok()?,
        })
    }
}

/// The labels a trial's containers carry besides the suite's own.
pub fn run_labels(run: &Path) -> Vec<(String, String)> {
    vec![(LABEL_RUN.to_string(), run.display().to_string())]
}

/// `controller.json`: who runs the run, since when, on which cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerFile {
    pub owner: Owner,
    /// When the controller started the run (a run-folder timestamp).
    pub started: String,
    /// The cluster id once the cluster exists (its containers are
    /// `kt-<id>-<node>`).
    #[serde(default)]
    pub cluster: Option<String>,
    /// The command line.
    #[serde(default)]
    pub command: Vec<String>,
}

/// The controller's mark on its run folder: written at the start, the
/// cluster added when known, removed when dropped (every way out a
/// process survives). Only a controller that died leaves it.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    file: ControllerFile,
}

impl RunLock {
    /// Write `controller.json` into `run` for this process.
    pub fn take(run: &Path) -> std::io::Result<RunLock> {
        let file = ControllerFile {
            owner: Owner::me(),
            started: trial_histories::store::timestamp_now(),
            cluster: None,
            command: std::env::args().collect(),
        };
        let path = run.join(CONTROLLER_FILE);
        trial_histories::store::write_json_atomic(&path, &file)?;
        Ok(RunLock { path, file })
    }

    /// Record the run's cluster.
    pub fn set_cluster(&mut self, id: &str) -> std::io::Result<()> {
        self.file.cluster = Some(id.to_string());
        trial_histories::store::write_json_atomic(&self.path, &self.file)
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a run folder says of its controller.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Checked: `results.json` is there.
    Finished,
    /// Its controller still runs.
    Running(ControllerFile),
    /// Its controller died before the end (`controller.json` left, the
    /// process gone): what was written is all there is.
    Interrupted(ControllerFile),
    /// Neither (an error ended it, or an older run).
    Unfinished,
}

impl RunState {
    /// `running`, `interrupted`, or `None` for the others.
    pub fn word(&self) -> Option<&'static str> {
        match self {
            RunState::Running(_) => Some("running"),
            RunState::Interrupted(_) => Some("interrupted"),
            _ => None,
        }
    }
}

/// The state of the run in folder `run`.
pub fn run_state(run: &Path) -> RunState {
    if run.join(trial_histories::store::RESULTS_FILE).is_file() {
        return RunState::Finished;
    }
    let file: Option<ControllerFile> = std::fs::read(run.join(CONTROLLER_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match file {
        Some(f) if f.owner.alive() => RunState::Running(f),
        Some(f) => RunState::Interrupted(f),
        None => RunState::Unfinished,
    }
}

/// A cluster (or the suite's other containers: an image build, an SSH
/// sandbox) on the local engine, with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The cluster id, or the container's name when it has none.
    pub cluster: String,
    /// The owner label, if the containers carry one (older builds of the
    /// suite did not).
    pub owner: Option<Owner>,
    /// The run folder label, if any (a trial's cluster).
    pub run: Option<PathBuf>,
    /// Container names.
    pub containers: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
}

impl Found {
    /// Is its owner alive? Unknown owners (no label) are not.
    pub fn live(&self) -> bool {
        self.owner.is_some_and(|o| o.alive())
    }

    /// What is left, in words: `3 containers (kt-x-n1, …) and network kt-x`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} container{} ({})",
            self.containers.len(),
            if self.containers.len() == 1 { "" } else { "s" },
            self.containers.join(", ")
        );
        if !self.networks.is_empty() {
            s.push_str(&format!(" and network {}", self.networks.join(", ")));
        }
        s
    }
}

/// Every container and network of the suite on the engine, by cluster.
pub async fn find(docker: &Docker) -> Result<Vec<Found>> {
    let containers = crate::platform::docker::labelled_containers(docker)
        .await
        .context("list containers")?;
    let mut by: BTreeMap<String, Found> = BTreeMap::new();
    let found = |labels: &HashMap<String, String>, name: &str| Found {
        cluster: labels
            .get(LABEL_CLUSTER)
            .cloned()
            .unwrap_or_else(|| name.to_string()),
        owner: labels.get(LABEL_OWNER).and_then(|o| Owner::parse_label(o)),
        run: labels.get(LABEL_RUN).map(PathBuf::from),
        containers: vec![],
        networks: vec![],
    };
    for c in containers {
        let labels = c.labels.unwrap_or_default();
        let name = c
            .names
            .unwrap_or_default()
            .first()
            .cloned()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        let f = found(&labels, &name);
        by.entry(f.cluster.clone())
            .or_insert(f)
            .containers
            .push(name);
    }
    let filters = crate::platform::docker::label_filter();
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .context("list networks")?;
    for n in networks {
        let labels = n.labels.unwrap_or_default();
        let name = n.name.unwrap_or_default();
        let f = found(&labels, &name);
        by.entry(f.cluster.clone()).or_insert(f).networks.push(name);
    }
    Ok(by.into_values().collect())
}

/// The clusters of trials whose controller died: their containers carry
/// a run folder and an owner that is gone.
pub async fn leftovers(docker: &Docker) -> Result<Vec<Found>> {
    Ok(find(docker)
        .await?
        .into_iter()
        .filter(|f| f.run.is_some() && f.owner.is_some() && !f.live())
        .collect())
}

/// The command that removes one left cluster.
pub fn clean_command(cluster: &str) -> String {
    format!("kafka-trial clean --cluster {cluster}")
}

/// Say on stderr what dead trials left on the local engine (bounded: a
/// slow or absent engine says nothing). Every command but `clean` calls it
/// first.
pub async fn notice_leftovers() {
    let work = async {
        let d = engine::connect().await.ok()?;
        leftovers(&d).await.ok()
    };
    let Ok(Some(left)) = tokio::time::timeout(Duration::from_secs(3), work).await else {
        return;
    };
    for f in left {
        let owner = f.owner.map(|o| o.pid.to_string()).unwrap_or_default();
        eprintln!(
            "note: the kafka-trial (pid {owner}) that ran {} died before the end: its cluster \
             {} is left: {}. `{}` removes it.",
            f.run
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            f.cluster,
            f.describe(),
            clean_command(&f.cluster)
        );
    }
}

/// What `clean` did.
#[derive(Debug, Default)]
pub struct Cleaned {
    pub containers: usize,
    pub networks: usize,
    /// Clusters kept because their owner still runs.
    pub kept: Vec<Found>,
    /// Clusters asked for by id that are not there.
    pub missing: Vec<String>,
}

/// Remove what the suite left behind: every cluster (and other container
/// of the suite) whose owner is not alive, or with `only`, those clusters
/// by id. A cluster whose owner still runs is never touched.
pub async fn clean(docker: &Docker, only: &[String]) -> Result<Cleaned> {
    let all = find(docker).await?;
    let mut out = Cleaned::default();
    for id in only {
        if !all.iter().any(|f| &f.cluster == id) {
            out.missing.push(id.clone());
        }
    }
    for f in all {
        if !only.is_empty() && !only.contains(&f.cluster) {
            continue;
        }
        if f.live() {
            out.kept.push(f);
            continue;
        }
        for c in &f.containers {
            match docker
                .remove_container(
                    c,
                    Some(
                        RemoveContainerOptionsBuilder::default()
                            .force(true)
                            .v(true)
                            .build(),
                    ),
                )
                .await
            {
                Ok(()) => out.containers += 1,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(e).with_context(|| format!("remove container {c}")),
            }
        }
        for n in &f.networks {
            match docker.remove_network(n).await {
                Ok(()) => out.networks += 1,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(e).with_context(|| format!("remove network {n}")),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_another() {
        let me = Owner::me();
        assert!(me.start > 0, "{me:?}");
        assert!(me.alive());
        assert_eq!(Owner::parse_label(&me.label()), Some(me));
        let other = Owner {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive(), "a reused pid is not the owner");
        assert!(!Owner {
            pid: u32::MAX - 1,
            start: 1
        }
        .alive());
        assert_eq!(Owner::parse_label("x:1"), None);
    }

    /// A child killed with SIGKILL (and reaped) is dead; the run folder
    /// it marked is interrupted; the mark of a live process is running;
    /// a checked run is finished whatever it left.
    #[test]
    fn run_states_from_the_controller_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        assert_eq!(run_state(run), RunState::Unfinished);
        let lock = RunLock::take(run).unwrap();
        assert!(matches!(run_state(run), RunState::Running(_)));
        drop(lock);
        assert!(!run.join(CONTROLLER_FILE).exists(), "removed on drop");
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let owner = Owner {
            pid: child.id(),
            start: start_ticks(child.id()).unwrap(),
        };
        let f = ControllerFile {
            owner,
            started: "t".into(),
            cluster: Some("abc".into()),
            command: vec![],
        };
        trial_histories::store::write_json_atomic(&run.join(CONTROLLER_FILE), &f).unwrap();
        assert_eq!(run_state(run).word(), Some("running"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(run_state(run), RunState::Interrupted(f));
        std::fs::write(run.join("results.json"), "{}").unwrap();
        assert_eq!(run_state(run), RunState::Finished);
    }
}
