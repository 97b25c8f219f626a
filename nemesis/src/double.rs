//! A simulated cluster of [`Node`]s for tests without Docker.
//!
//! [`DoubleNet`] keeps, per node, the `KTRIAL` chain's rules, the faketime
//! file and the state of each process (one broker unless
//! [`DoubleNet::add_process`] gives a node more; the members of a ZooKeeper
//! ensemble made by [`DoubleNet::with_zookeeper`] run only a ZooKeeper
//! server), and interprets exactly the commands
//! the nemesis sends (iptables append/delete/flush/list, the chain script,
//! the faketime write/read/measure, the `/dev/tcp` probe). Every call is
//! logged (`n1 exec iptables -w -A KTRIAL -s 10.0.0.3 -j DROP`, `n2 kill`;
//! a process other than the broker is named: `n2 kill zookeeper`), so tests
//! assert the exact commands. `true` (with any arguments) exits 0. A probe
//! from `a` to `b` succeeds when `b`'s broker runs and neither drops the other (plain DROP rules, or loss rules with
//! probability 1). Anything else exits 127, like a missing tool.

use crate::iptables::{self, CHAIN, ENSURE_CHAIN_SCRIPT};
use crate::node::{ExecOutput, Node, NodeError, ProcessRole, ProcessState, FAKETIME_FILE};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Sim {
    ip: IpAddr,
    chain: bool,
    jump: bool,
    /// Rule specs as given to `-A`, in order.
    rules: Vec<Vec<String>>,
    faketime: Option<String>,
    /// The node's processes, in the order `processes()` reports them.
    procs: Vec<(ProcessRole, ProcessState)>,
    /// Substrings of calls (`exec <argv>`, `kill`, …) that fail.
    fail: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Net {
    nodes: BTreeMap<String, Sim>,
    log: Vec<String>,
}

/// The shared state of a simulated cluster (a test double).
#[derive(Debug, Default)]
pub struct DoubleNet {
    inner: Mutex<Net>,
}

/// One node of a [`DoubleNet`].
#[derive(Debug, Clone)]
pub struct DoubleNode {
    name: String,
    ip: IpAddr,
    net: Arc<DoubleNet>,
}

/// Bytes every drop of the double reports dropped.
pub const DOUBLE_DROPPED_BYTES: u64 = 4096;

/// Base time the double's `date +%s` reports.
pub const DOUBLE_NOW: i64 = 1_700_000_000;

impl DoubleNet {
    /// `n` nodes `n1..nN` at `10.0.0.2..`, brokers running, faketime `+0`.
    pub fn new(n: usize) -> (Arc<DoubleNet>, Vec<Arc<dyn Node>>) {
        DoubleNet::with_zookeeper(n, 0)
    }

    /// A ZooKeeper-mode cluster, laid out as the suite lays it out: `k`
    /// ensemble members `z1..zK` at `10.0.1.2..`, each running only a
    /// ZooKeeper server (`processes() == [zookeeper]`), then `n` brokers
    /// `n1..nN` as [`DoubleNet::new`] makes them.
    pub fn with_zookeeper(n: usize, k: usize) -> (Arc<DoubleNet>, Vec<Arc<dyn Node>>) {
        let net = Arc::new(DoubleNet::default());
        let mut nodes: Vec<Arc<dyn Node>> = Vec::new();
        {
            let mut g = net.lock();
            let zk = (1..=k).map(|i| {
                (
                    format!("z{i}"),
                    format!("10.0.1.{}", i + 1),
                    ProcessRole::ZooKeeper,
                )
            });
            let brokers = (1..=n).map(|i| {
                (
                    format!("n{i}"),
                    format!("10.0.0.{}", i + 1),
                    ProcessRole::Broker,
                )
            });
            for (name, ip, role) in zk.chain(brokers) {
                let ip: IpAddr = ip.parse().expect("valid ip");
                g.nodes.insert(
                    name.clone(),
                    Sim {
                        ip,
                        chain: false,
                        jump: false,
                        rules: vec![],
                        faketime: Some("+0".into()),
                        procs: vec![(role, ProcessState::Running)],
                        fail: BTreeSet::new(),
                    },
                );
                nodes.push(Arc::new(DoubleNode {
                    name,
                    ip,
                    net: net.clone(),
                }));
            }
        }
        (net, nodes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Net> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call so far, in order: `<node> <call>`.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// The calls made to one node, without the node prefix.
    pub fn calls(&self, node: &str) -> Vec<String> {
        let p = format!("{node} ");
        self.lock()
            .log
            .iter()
            .filter_map(|l| l.strip_prefix(&p).map(str::to_string))
            .collect()
    }

    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    /// The rules of a node's chain, as `iptables -S` prints them.
    pub fn rules(&self, node: &str) -> Vec<String> {
        let g = self.lock();
        g.nodes
            .get(node)
            .map(|s| s.rules.iter().map(|r| listed(r)).collect())
            .unwrap_or_default()
    }

    /// The broker's state.
    pub fn state(&self, node: &str) -> ProcessState {
        self.process_state(node, ProcessRole::Broker)
    }

    /// Set the broker's state.
    pub fn set_state(&self, node: &str, s: ProcessState) {
        self.set_process_state(node, ProcessRole::Broker, s)
    }

    /// The state of one process (`Dead` if the node does not run it).
    pub fn process_state(&self, node: &str, role: ProcessRole) -> ProcessState {
        self.lock().nodes[node]
            .get(role)
            .unwrap_or(ProcessState::Dead)
    }

    pub fn set_process_state(&self, node: &str, role: ProcessRole, s: ProcessState) {
        if let Some(x) = self.lock().nodes.get_mut(node) {
            x.set(role, s);
        }
    }

    /// Give a node one more process (running), after those it has.
    pub fn add_process(&self, node: &str, role: ProcessRole) {
        if let Some(x) = self.lock().nodes.get_mut(node) {
            if x.get(role).is_none() {
                x.procs.push((role, ProcessState::Running));
            }
        }
    }

    /// The faketime file's content (`None`: no file).
    pub fn clock(&self, node: &str) -> Option<String> {
        self.lock().nodes[node].faketime.clone()
    }

    pub fn set_clock(&self, node: &str, c: Option<&str>) {
        if let Some(x) = self.lock().nodes.get_mut(node) {
            x.faketime = c.map(str::to_string);
        }
    }

    /// Put a rule in a node's chain directly (leftovers for heal tests).
    pub fn add_rule(&self, node: &str, spec: &[&str]) {
        if let Some(x) = self.lock().nodes.get_mut(node) {
            x.chain = true;
            x.jump = true;
            x.rules.push(spec.iter().map(|s| s.to_string()).collect());
        }
    }

    /// Make every call to `node` whose log line contains `pattern` fail.
    pub fn fail_when(&self, node: &str, pattern: &str) {
        if let Some(x) = self.lock().nodes.get_mut(node) {
            x.fail.insert(pattern.to_string());
        }
    }
}

impl Sim {
    fn get(&self, role: ProcessRole) -> Option<ProcessState> {
        self.procs.iter().find(|(r, _)| *r == role).map(|(_, s)| *s)
    }
    fn set(&mut self, role: ProcessRole, s: ProcessState) {
        match self.procs.iter_mut().find(|(r, _)| *r == role) {
            Some(p) => p.1 = s,
            None => self.procs.push((role, s)),
        }
    }
}

/// A log word for a process call: `kill` for the broker, `kill zookeeper`
/// for another process.
fn call_name(what: &str, role: ProcessRole) -> String {
    if role.is_broker() {
        what.to_string()
    } else {
        format!("{what} {role}")
    }
}

/// A rule as `iptables -S` prints it (`/32` on addresses).
fn listed(spec: &[String]) -> String {
    let mut out = vec!["-A".to_string(), CHAIN.to_string()];
    let mut it = spec.iter().peekable();
    while let Some(a) = it.next() {
        out.push(a.clone());
        if a == "-s" {
            if let Some(ip) = it.next() {
                out.push(format!("{ip}/32"));
            }
        }
    }
    out.join(" ")
}

fn out(code: i64, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput {
        code,
        stdout: stdout.to_string(),
        stderr: stderr.to_string(),
    }
}

/// Whether a node's rules drop everything from `src`.
fn drops(s: &Sim, src: IpAddr) -> bool {
    let ip = src.to_string();
    s.rules.iter().any(|r| {
        let from = r.windows(2).any(|w| w[0] == "-s" && w[1] == ip);
        let certain = match r.iter().position(|a| a == "--probability") {
            Some(i) => r.get(i + 1).map(String::as_str) == Some("1"),
            None => true,
        };
        from && certain
    })
}

impl DoubleNode {
    fn call(&self, what: String) -> Result<(), NodeError> {
        let mut g = self.net.lock();
        g.log.push(format!("{} {what}", self.name));
        let sim = &g.nodes[&self.name];
        if sim.fail.iter().any(|p| what.contains(p.as_str())) {
            return Err(NodeError::Other {
                node: self.name.clone(),
                msg: format!("injected failure of {what}"),
            });
        }
        Ok(())
    }

    fn transition(
        &self,
        what: &str,
        role: ProcessRole,
        from: &[ProcessState],
        to: ProcessState,
    ) -> Result<(), NodeError> {
        self.call(call_name(what, role))?;
        let mut g = self.net.lock();
        let sim = g.nodes.get_mut(&self.name).expect("own node");
        let Some(now) = sim.get(role) else {
            return Err(NodeError::Other {
                node: self.name.clone(),
                msg: format!("no {role} process on this node"),
            });
        };
        if !from.contains(&now) {
            return Err(NodeError::Other {
                node: self.name.clone(),
                msg: format!("cannot {what} a {now:?} {role}"),
            });
        }
        sim.set(role, to);
        Ok(())
    }

    fn exec_sim(&self, argv: &[&str]) -> ExecOutput {
        let mut g = self.net.lock();
        let me = self.name.clone();
        let joined = argv.join(" ");
        if g.nodes[&me]
            .fail
            .iter()
            .any(|p| joined.contains(p.as_str()))
        {
            return out(1, "", &format!("injected failure of {joined}"));
        }
        // The probe needs to look at the peer too.
        if let ["timeout", _, "bash", "-c", dev] = argv {
            let Some(rest) = dev.strip_prefix("</dev/tcp/") else {
                return out(127, "", "not simulated");
            };
            let ip: Option<IpAddr> = rest.split('/').next().and_then(|s| s.parse().ok());
            let my_ip = g.nodes[&me].ip;
            let peer = g.nodes.values().find(|s| Some(s.ip) == ip);
            return match peer {
                None => out(124, "", ""),
                Some(p) if drops(p, my_ip) || drops(&g.nodes[&me], p.ip) => out(124, "", ""),
                Some(p) if p.get(ProcessRole::Broker) != Some(ProcessState::Running) => {
                    out(1, "", "bash: connect: Connection refused")
                }
                Some(_) => out(0, "", ""),
            };
        }
        let sim = g.nodes.get_mut(&me).expect("own node");
        match argv {
            ["sh", "-c", s] if *s == ENSURE_CHAIN_SCRIPT => {
                sim.chain = true;
                sim.jump = true;
                out(0, "", "")
            }
            ["iptables", "-w", "-A", c, spec @ ..] if *c == CHAIN => {
                if !sim.chain {
                    return out(1, "", "iptables: No chain/target/match by that name.");
                }
                sim.rules.push(spec.iter().map(|s| s.to_string()).collect());
                out(0, "", "")
            }
            ["iptables", "-w", "-D", c, spec @ ..] if *c == CHAIN => {
                let spec: Vec<String> = spec.iter().map(|s| s.to_string()).collect();
                match sim.rules.iter().position(|r| *r == spec) {
                    Some(i) => {
                        sim.rules.remove(i);
                        out(0, "", "")
                    }
                    None => out(
                        1,
                        "",
                        "iptables: Bad rule (does a matching rule exist in that chain?).",
                    ),
                }
            }
            ["iptables", "-w", "-F", c] if *c == CHAIN => {
                if !sim.chain {
                    return out(1, "", "iptables: No chain/target/match by that name.");
                }
                sim.rules.clear();
                out(0, "", "")
            }
            ["iptables", "-w", "-S"] => {
                let mut s = String::from("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n");
                if sim.chain {
                    s.push_str("-N KTRIAL\n");
                }
                if sim.jump {
                    s.push_str("-A INPUT -j KTRIAL\n");
                }
                for r in &sim.rules {
                    s.push_str(&listed(r));
                    s.push('\n');
                }
                out(0, &s, "")
            }
            ["true", ..] => out(0, "", ""),
            ["cat", f] if *f == FAKETIME_FILE => match &sim.faketime {
                Some(c) => out(0, &format!("{c}\n"), ""),
                None => out(1, "", "cat: /etc/faketimerc: No such file or directory"),
            },
            ["sh", "-c", s] if s.starts_with("printf '%s\\n' '") && s.ends_with(FAKETIME_FILE) => {
                let v = s
                    .trim_start_matches("printf '%s\\n' '")
                    .split('\'')
                    .next()
                    .unwrap_or("");
                sim.faketime = Some(v.to_string());
                out(0, "", "")
            }
            ["sh", "-c", s] if s.starts_with("date +%s; env ") => {
                let off = sim
                    .faketime
                    .as_deref()
                    .and_then(|c| c.parse::<crate::options::ClockOffset>().ok())
                    .map_or(0, |o| o.secs());
                out(0, &format!("{DOUBLE_NOW}\n{}\n", DOUBLE_NOW + off), "")
            }
            _ => out(127, "", &format!("double node: not simulated: {joined}")),
        }
    }
}

#[async_trait]
impl Node for DoubleNode {
    fn name(&self) -> &str {
        &self.name
    }
    fn ip(&self) -> IpAddr {
        self.ip
    }
    async fn exec(&self, argv: &[&str]) -> Result<ExecOutput, NodeError> {
        self.call(format!("exec {}", argv.join(" ")))?;
        // Let other tasks interleave, as a real exec would.
        tokio::task::yield_now().await;
        Ok(self.exec_sim(argv))
    }
    fn processes(&self) -> Vec<ProcessRole> {
        self.net.lock().nodes[&self.name]
            .procs
            .iter()
            .map(|(r, _)| *r)
            .collect()
    }
    async fn kill(&self, process: ProcessRole) -> Result<(), NodeError> {
        self.transition(
            "kill",
            process,
            &[ProcessState::Running, ProcessState::Paused],
            ProcessState::Dead,
        )
    }
    async fn start(&self, process: ProcessRole) -> Result<(), NodeError> {
        self.transition(
            "start",
            process,
            &[ProcessState::Dead],
            ProcessState::Running,
        )
    }
    async fn pause(&self, process: ProcessRole) -> Result<(), NodeError> {
        self.transition(
            "pause",
            process,
            &[ProcessState::Running],
            ProcessState::Paused,
        )
    }
    async fn resume(&self, process: ProcessRole) -> Result<(), NodeError> {
        self.transition(
            "resume",
            process,
            &[ProcessState::Paused],
            ProcessState::Running,
        )
    }
    /// Logged `drop-unfsynced`; refused unless the broker is dead, like
    /// the suite's control script. The report says one file truncated by
    /// [`DOUBLE_DROPPED_BYTES`].
    async fn drop_unfsynced(&self) -> Result<serde_json::Value, NodeError> {
        self.call("drop-unfsynced".to_string())?;
        tokio::task::yield_now().await;
        let now = self.net.lock().nodes[&self.name].get(ProcessRole::Broker);
        if now != Some(ProcessState::Dead) {
            return Err(NodeError::Other {
                node: self.name.clone(),
                msg: format!("drop-unfsynced: the broker is {now:?}, not dead"),
            });
        }
        Ok(serde_json::json!({
            "files_removed": 0, "files_restored": 0, "files_truncated": 1,
            "files_reverted": 0, "dirs_removed": 0, "dirs_restored": 0,
            "bytes_dropped": DOUBLE_DROPPED_BYTES, "elapsed_ms": 1,
            "sample": ["test-0/00000000000000000000.log"]
        }))
    }
    async fn state(&self, process: ProcessRole) -> Result<ProcessState, NodeError> {
        self.call(call_name("state", process))?;
        self.net.lock().nodes[&self.name]
            .get(process)
            .ok_or_else(|| NodeError::Other {
                node: self.name.clone(),
                msg: format!("no {process} process on this node"),
            })
    }
}

/// Whether the argv is one of the nemesis' iptables commands (for filtering
/// logs in tests).
pub fn is_iptables_call(line: &str) -> bool {
    line.contains(&format!("exec {} ", iptables::IPTABLES))
}
