//! Faults through the user's own tools: a hooks file (`--fault-hooks`)
//! maps the nemesis' process actions to shell commands, per broker id, and
//! [`HookNode`] is the [`Node`] the nemesis drives with them — a platform
//! of its own, so schedules, effects and promises work unchanged.
//!
//! ```toml
//! timeout = "30s"                 # per command (default 60s)
//! kill    = "kubectl -n kafka delete pod my-cluster-kafka-{id} --grace-period=0 --force"
//! restart = "kubectl -n kafka wait --for=condition=Ready pod/my-cluster-kafka-{id} --timeout=120s"
//! pause   = "kubectl -n kafka exec my-cluster-kafka-{id} -- kill -STOP 1"
//! resume  = "kubectl -n kafka exec my-cluster-kafka-{id} -- kill -CONT 1"
//! [hosts]                         # optional: {host} per broker id
//! 0 = "my-cluster-kafka-0.my-cluster-kafka-brokers"
//! ```
//!
//! Each command runs as `sh -c`, with `{id}`, `{host}` and `{name}`
//! replaced and `KT_BROKER_ID` / `KT_BROKER_HOST` in its environment,
//! bounded by `timeout` (killed past it); its exit code, time and output
//! are logged and kept ([`HookCall`], the run's `hooks.jsonl`). A hook
//! that fails or times out is the fault step's failure (recorded in the
//! history as the nemesis records any failed step); heal calls `restart`
//! or `resume` for every broker it finds killed or paused.
//!
//! What a hook did is the state the node reports (`kill` done: dead),
//! unless the file gives a `state` command (printing `running`, `paused`
//! or `dead`): then that is asked.

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trial_nemesis::{ExecOutput, FaultKind, Node, NodeError, ProcessRole, ProcessState};

/// The hooks file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// Bound of each command (default 60s).
    #[serde(default, with = "crate::spec::dur::opt")]
    pub timeout: Option<Duration>,
    pub kill: Option<String>,
    /// Brings a killed broker back (also what heal runs).
    pub restart: Option<String>,
    pub pause: Option<String>,
    pub resume: Option<String>,
    /// Cut a broker off the others and the clients (not yet played: see
    /// the README).
    pub isolate: Option<String>,
    /// Undo `isolate`.
    pub heal: Option<String>,
    /// Prints `running`, `paused` or `dead` for a broker.
    pub state: Option<String>,
    /// `{host}` of each broker id (default: the address the metadata
    /// advertises).
    #[serde(default)]
    pub hosts: BTreeMap<String, String>,
}

/// The default bound of a hook.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Hooks {
    pub fn load(path: &Path) -> Result<Hooks> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the hooks file {}", path.display()))?;
        Hooks::parse(&text).with_context(|| format!("hooks file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Hooks> {
        let h: Hooks = toml::from_str(text).context("not a valid hooks file")?;
        for (a, b) in [
            ("kill", "restart"),
            ("pause", "resume"),
            ("isolate", "heal"),
        ] {
            if h.command(a).is_some() != h.command(b).is_some() {
                bail!("`{a}` and `{b}` go together: one undoes the other");
            }
        }
        for id in h.hosts.keys() {
            if id.parse::<i32>().is_err() {
                bail!("[hosts]: {id:?} is not a broker id");
            }
        }
        Ok(h)
    }

    fn command(&self, action: &str) -> Option<&str> {
        match action {
            "kill" => self.kill.as_deref(),
            "restart" => self.restart.as_deref(),
            "pause" => self.pause.as_deref(),
            "resume" => self.resume.as_deref(),
            "isolate" => self.isolate.as_deref(),
            "heal" => self.heal.as_deref(),
            "state" => self.state.as_deref(),
            _ => None,
        }
    }

    /// The fault kinds these hooks can play.
    pub fn kinds(&self) -> Vec<FaultKind> {
        let mut k = vec![];
        if self.kill.is_some() {
            k.push(FaultKind::Kill);
        }
        if self.pause.is_some() {
            k.push(FaultKind::Pause);
        }
        k
    }

    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }
}

/// `{id}`, `{host}`, `{name}` of a command.
pub fn substitute(cmd: &str, id: i32, host: &str, name: &str) -> String {
    cmd.replace("{id}", &id.to_string())
        .replace("{host}", host)
        .replace("{name}", name)
}

/// One hook run: what `hooks.jsonl` holds a line of.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HookCall {
    pub node: String,
    pub action: String,
    pub command: String,
    /// The exit code; `None` when it timed out or could not start.
    pub code: Option<i32>,
    pub ms: u64,
    /// The first 2 KiB of stdout and stderr.
    pub stdout: String,
    pub stderr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every hook run of a trial, in order.
pub type HookLog = Arc<Mutex<Vec<HookCall>>>;

fn head(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.chars().take(2048).collect()
}

/// Run `cmd` under `sh -c` within `timeout` (the child is killed past it).
pub async fn run_command(
    cmd: &str,
    env: &[(&str, String)],
    timeout: Duration,
) -> (Option<i32>, String, String, Option<String>) {
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        c.env(k, v);
    }
    match tokio::time::timeout(timeout, c.output()).await {
        Ok(Ok(out)) => (
            out.status.code(),
            head(&out.stdout),
            head(&out.stderr),
            None,
        ),
        Ok(Err(e)) => (None, String::new(), String::new(), Some(format!("{e}"))),
        Err(_) => (
            None,
            String::new(),
            String::new(),
            Some(format!("timed out after {timeout:?} (killed)")),
        ),
    }
}

/// A broker of a cluster the user runs, faulted through hooks.
#[derive(Debug)]
pub struct HookNode {
    pub id: i32,
    pub name: String,
    pub host: String,
    ip: IpAddr,
    hooks: Arc<Hooks>,
    state: Mutex<ProcessState>,
    log: HookLog,
}

impl HookNode {
    /// Broker `id` (named `name`), reached as `host` (its `{host}`), at
    /// `ip` (its address as the observer sees it).
    pub fn new(
        id: i32,
        name: String,
        host: String,
        ip: IpAddr,
        hooks: Arc<Hooks>,
        log: HookLog,
    ) -> HookNode {
        let host = hooks.hosts.get(&id.to_string()).cloned().unwrap_or(host);
        HookNode {
            id,
            name,
            host,
            ip,
            hooks,
            state: Mutex::new(ProcessState::Running),
            log,
        }
    }

    async fn hook(&self, action: &str) -> Result<String, NodeError> {
        let Some(template) = self.hooks.command(action) else {
            return Err(NodeError::Other {
                node: self.name.clone(),
                msg: format!("the hooks file has no `{action}` command"),
            });
        };
        let cmd = substitute(template, self.id, &self.host, &self.name);
        let t = Instant::now();
        let env = [
            ("KT_BROKER_ID", self.id.to_string()),
            ("KT_BROKER_HOST", self.host.clone()),
        ];
        let (code, stdout, stderr, error) = run_command(&cmd, &env, self.hooks.timeout()).await;
        let ms = t.elapsed().as_millis() as u64;
        tracing::info!(node = %self.name, action, ?code, ms, "hook: {cmd}");
        let call = HookCall {
            node: self.name.clone(),
            action: action.to_string(),
            command: cmd.clone(),
            code,
            ms,
            stdout: stdout.clone(),
            stderr: stderr.clone(),
            error: error.clone(),
        };
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
        match (code, error) {
            (Some(0), _) => Ok(stdout),
            (_, Some(e)) => Err(NodeError::Exec {
                node: self.name.clone(),
                cmd,
                msg: e,
            }),
            (c, None) => Err(NodeError::Exec {
                node: self.name.clone(),
                cmd,
                msg: format!(
                    "exit {}: {}",
                    c.map_or("?".into(), |c| c.to_string()),
                    stderr.trim()
                ),
            }),
        }
    }

    async fn act(&self, action: &str, after: ProcessState) -> Result<(), NodeError> {
        self.hook(action).await?;
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = after;
        Ok(())
    }

    fn only_broker(&self, p: ProcessRole) -> Result<(), NodeError> {
        if p.is_broker() {
            Ok(())
        } else {
            Err(NodeError::Other {
                node: self.name.clone(),
                msg: format!("hooks act on brokers only, not on a {p}"),
            })
        }
    }
}

#[async_trait]
impl Node for HookNode {
    fn name(&self) -> &str {
        &self.name
    }
    fn ip(&self) -> IpAddr {
        self.ip
    }
    async fn exec(&self, argv: &[&str]) -> Result<ExecOutput, NodeError> {
        Err(NodeError::Exec {
            node: self.name.clone(),
            cmd: argv.join(" "),
            msg: "a broker of a cluster you run: no commands but its hooks".into(),
        })
    }
    fn fault_kinds(&self) -> Option<Vec<FaultKind>> {
        Some(self.hooks.kinds())
    }
    async fn kill(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.only_broker(p)?;
        self.act("kill", ProcessState::Dead).await
    }
    async fn start(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.only_broker(p)?;
        self.act("restart", ProcessState::Running).await
    }
    async fn pause(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.only_broker(p)?;
        self.act("pause", ProcessState::Paused).await
    }
    async fn resume(&self, p: ProcessRole) -> Result<(), NodeError> {
        self.only_broker(p)?;
        self.act("resume", ProcessState::Running).await
    }
    async fn state(&self, p: ProcessRole) -> Result<ProcessState, NodeError> {
        self.only_broker(p)?;
        if self.hooks.state.is_none() {
            return Ok(*self.state.lock().unwrap_or_else(|e| e.into_inner()));
        }
        let out = self.hook("state").await?;
        match out.trim().to_ascii_lowercase().as_str() {
            "running" => Ok(ProcessState::Running),
            "paused" => Ok(ProcessState::Paused),
            "dead" => Ok(ProcessState::Dead),
            other => Err(NodeError::Other {
                node: self.name.clone(),
                msg: format!("the `state` hook printed {other:?}, not running, paused or dead"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(h: &str) -> (HookNode, HookLog) {
        let log = HookLog::default();
        let hooks = Arc::new(Hooks::parse(h).unwrap());
        let n = HookNode::new(
            2,
            "b2".into(),
            "kafka-2".into(),
            "127.0.0.1".parse().unwrap(),
            hooks,
            log.clone(),
        );
        (n, log)
    }

    #[test]
    fn a_file_refuses_an_action_without_its_undo_and_unknown_keys() {
        assert!(Hooks::parse("kill = \"x\"").is_err());
        assert!(Hooks::parse("pause = \"x\"\nresume = \"y\"\nfoo = 1").is_err());
        assert!(Hooks::parse("[hosts]\nab = \"h\"").is_err());
        let h = Hooks::parse("kill = \"a\"\nrestart = \"b\"\ntimeout = \"5s\"").unwrap();
        assert_eq!(h.kinds(), vec![FaultKind::Kill]);
        assert_eq!(h.timeout(), Duration::from_secs(5));
    }

    #[test]
    fn substitution() {
        assert_eq!(
            substitute("kubectl delete pod k-{id} # {host} {name}", 3, "h3", "b3"),
            "kubectl delete pod k-3 # h3 b3"
        );
    }

    #[tokio::test]
    async fn hooks_run_record_and_fail_honestly() {
        let (n, log) = node(
            "kill = \"echo killed {id} $KT_BROKER_HOST\"\nrestart = \"echo oops >&2; exit 7\"\n\
             pause = \"sleep 5\"\nresume = \"true\"\ntimeout = \"300ms\"\n[hosts]\n2 = \"h2\"",
        );
        n.kill(ProcessRole::Broker).await.unwrap();
        assert_eq!(
            n.state(ProcessRole::Broker).await.unwrap(),
            ProcessState::Dead
        );
        let e = n.start(ProcessRole::Broker).await.unwrap_err().to_string();
        assert!(e.contains("exit 7") && e.contains("oops"), "{e}");
        // A failed restart leaves it dead: heal will try again.
        assert_eq!(
            n.state(ProcessRole::Broker).await.unwrap(),
            ProcessState::Dead
        );
        let t = Instant::now();
        let e = n.pause(ProcessRole::Broker).await.unwrap_err().to_string();
        assert!(e.contains("timed out"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(n.kill(ProcessRole::ZooKeeper).await.is_err());
        assert!(n.exec(&["true"]).await.is_err());
        let l = log.lock().unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].stdout.trim(), "killed 2 h2");
        assert_eq!(l[1].code, Some(7));
        assert_eq!(l[2].code, None);
    }

    #[tokio::test]
    async fn a_state_hook_is_asked() {
        let (n, _) = node("state = \"echo paused\"");
        assert_eq!(
            n.state(ProcessRole::Broker).await.unwrap(),
            ProcessState::Paused
        );
        let (n, _) = node("state = \"echo what\"");
        assert!(n.state(ProcessRole::Broker).await.is_err());
    }
}
