//! The hosts file (`--hosts hosts.toml`): which machines the cluster runs
//! on, how to reach them over SSH, and which role each plays.
//!
//! ```toml
//! [defaults]                 # optional, for every [[host]]
//! user = "root"              # not root: every command runs under `sudo -n`
//! port = 22
//! key = "id_ed25519"         # relative paths: relative to this file
//! known_hosts = "known_hosts"  # optional: strict host key checking against it
//! interface = "eth0"         # optional
//!
//! [[host]]
//! name = "kafka1"
//! address = "172.20.0.2"     # where SSH connects
//! client_address = "172.20.0.2"  # optional: what peers and clients use
//! roles = ["broker", "controller"]
//! ```
//!
//! Each host plays exactly one node of the Kafka layer
//! ([`ClusterSpec::layout`]): `zookeeper` hosts are z1..zK, controller-only
//! hosts c1..cK (split roles), broker hosts n1..nN in file order — in
//! combined KRaft mode the broker+controller hosts first (the layout makes
//! the first K brokers the voters). The file decides the node counts; a
//! spec that says otherwise is an error here, before anything connects.
//!
//! Must never: connect anywhere (that is [`super::SshPlatform::connect`]).

use crate::kafka::config::{ClusterSpec, NodeRole};
use crate::kafka::Mode;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// What a host does in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Broker,
    Controller,
    Zookeeper,
}

/// One machine of the hosts file, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostEntry {
    /// The user's name for it (reports, test.json).
    pub name: String,
    /// Where SSH connects (name or IP).
    pub address: String,
    /// What brokers advertise and peers and clients use (default: `address`).
    pub client_address: String,
    pub user: String,
    pub port: u16,
    /// Private key (absolute); none: ssh's own defaults and agent.
    pub key: Option<PathBuf>,
    /// Host keys to check strictly; none: accept-new into the user's own.
    pub known_hosts: Option<PathBuf>,
    /// The NIC the faults concern (checked to exist, recorded).
    pub interface: Option<String>,
    pub roles: BTreeSet<Role>,
}

impl HostEntry {
    /// Commands run under `sudo -n` unless the user is root.
    pub fn needs_sudo(&self) -> bool {
        self.user != "root"
    }

    /// `client_address` as an IPv4 address (the nemesis writes IPv4
    /// iptables rules), resolving a name.
    pub fn client_ip(&self) -> Result<IpAddr> {
        if let Ok(ip) = self.client_address.parse::<IpAddr>() {
            return match ip {
                IpAddr::V4(_) => Ok(ip),
                IpAddr::V6(_) => bail!(
                    "host {}: client address {ip} is IPv6; the nemesis writes IPv4 iptables rules only",
                    self.name
                ),
            };
        }
        let addrs: Vec<IpAddr> = (self.client_address.as_str(), 0)
            .to_socket_addrs()
            .with_context(|| {
                format!(
                    "host {}: cannot resolve client address {:?}",
                    self.name, self.client_address
                )
            })?
            .map(|a| a.ip())
            .collect();
        addrs.iter().copied().find(IpAddr::is_ipv4).ok_or_else(|| {
            anyhow!(
                "host {}: {:?} resolves to no IPv4 address ({addrs:?}); the nemesis writes IPv4 iptables rules only",
                self.name,
                self.client_address
            )
        })
    }
}

/// A parsed, checked hosts file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostsFile {
    /// Where it was read from (absolute).
    pub path: PathBuf,
    pub hosts: Vec<HostEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    user: Option<String>,
    port: Option<u16>,
    key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    interface: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: String,
    address: String,
    client_address: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    user: Option<String>,
    port: Option<u16>,
    key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    interface: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    host: Vec<RawHost>,
}

/// The shape of the cluster a hosts file describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub mode: Mode,
    /// Broker nodes n1..nN.
    pub brokers: usize,
    /// KRaft voters (combined: the broker+controller hosts; split: the
    /// controller-only ones); 0 in ZooKeeper mode.
    pub controllers: usize,
    pub split_roles: bool,
    /// ZooKeeper ensemble size (0 in KRaft mode).
    pub zookeeper: usize,
}

/// What a command line said about the cluster's shape (each `Some`/`true`
/// was given explicitly): with `--hosts`, these may only agree with the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShapeFlags {
    pub nodes: Option<usize>,
    pub controllers: Option<usize>,
    pub split_roles: bool,
    pub zookeeper: Option<usize>,
    pub mode: Option<Mode>,
    pub image: Option<String>,
}

impl ShapeFlags {
    /// What a spec says explicitly about its shape (its optional fields;
    /// `nodes` always has a value, so the file decides it).
    pub fn from_spec(spec: &ClusterSpec) -> ShapeFlags {
        ShapeFlags {
            nodes: None,
            controllers: spec.controllers,
            split_roles: spec.split_roles,
            zookeeper: spec.zookeeper,
            mode: spec.mode,
            image: spec.image.clone(),
        }
    }
}

impl HostsFile {
    /// Read and check a hosts file.
    pub fn load(path: &Path) -> Result<HostsFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read the hosts file {}", path.display()))?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        HostsFile::parse(&text, &abs).with_context(|| format!("hosts file {}", path.display()))
    }

    /// Parse `text` as if read from `path` (relative key paths are
    /// relative to its folder); checks every host and the roles, and that
    /// key and known_hosts files exist.
    pub fn parse(text: &str, path: &Path) -> Result<HostsFile> {
        let raw: RawFile = toml::from_str(text).map_err(|e| anyhow!("{e}"))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            }
        };
        if raw.host.is_empty() {
            bail!("no [[host]]: list the machines, each with name, address and roles");
        }
        let d = &raw.defaults;
        let mut hosts = vec![];
        let mut names = HashSet::new();
        let mut endpoints = HashSet::new();
        for h in raw.host {
            let name = h.name.trim().to_string();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                bail!(
                    "host name {:?}: letters, digits, '-', '_', '.' only",
                    h.name
                );
            }
            if !names.insert(name.clone()) {
                bail!("host {name} is listed twice");
            }
            if h.address.trim().is_empty() {
                bail!("host {name}: address is empty");
            }
            if h.roles.is_empty() {
                bail!("host {name}: no roles (any of broker, controller, zookeeper)");
            }
            let mut roles = BTreeSet::new();
            for r in &h.roles {
                let role = match r.trim().to_ascii_lowercase().as_str() {
                    "broker" => Role::Broker,
                    "controller" => Role::Controller,
                    "zookeeper" => Role::Zookeeper,
                    _ => bail!("host {name}: unknown role {r:?} (broker, controller or zookeeper)"),
                };
                roles.insert(role);
            }
            if roles.contains(&Role::Zookeeper) && roles.len() > 1 {
                bail!("host {name}: a zookeeper host plays no other role (the ZooKeeper server and a broker would share its paths)");
            }
            let user = h
                .user
                .or_else(|| d.user.clone())
                .unwrap_or_else(|| "root".into());
            if user.is_empty() || user.starts_with('-') || user.contains(char::is_whitespace) {
                bail!("host {name}: user {user:?} is not a user name");
            }
            let port = h.port.or(d.port).unwrap_or(22);
            if port == 0 {
                bail!("host {name}: port 0");
            }
            let key = h.key.or_else(|| d.key.clone()).map(|k| resolve(&k));
            if let Some(k) = &key {
                if !k.is_file() {
                    bail!("host {name}: key {} does not exist", k.display());
                }
            }
            let known_hosts = h
                .known_hosts
                .or_else(|| d.known_hosts.clone())
                .map(|k| resolve(&k));
            if let Some(k) = &known_hosts {
                if !k.is_file() {
                    bail!("host {name}: known_hosts {} does not exist", k.display());
                }
            }
            let address = h.address.trim().to_string();
            if address.starts_with('-') || address.contains(char::is_whitespace) {
                bail!("host {name}: address {address:?} is not a host name or IP");
            }
            if !endpoints.insert((address.clone(), port)) {
                bail!("host {name}: {address} port {port} is already another host of this file (one node per machine: their paths would clash)");
            }
            let interface = h.interface.or_else(|| d.interface.clone());
            if let Some(i) = &interface {
                if i.is_empty() || i.contains('/') || i.contains(char::is_whitespace) {
                    bail!("host {name}: interface {i:?} is not an interface name");
                }
            }
            hosts.push(HostEntry {
                client_address: h
                    .client_address
                    .map(|c| c.trim().to_string())
                    .unwrap_or_else(|| address.clone()),
                name,
                address,
                user,
                port,
                key,
                known_hosts,
                interface,
                roles,
            });
        }
        let mut clients = HashSet::new();
        for h in &hosts {
            if !clients.insert(h.client_address.clone()) {
                bail!(
                    "host {}: client address {} is another host's too",
                    h.name,
                    h.client_address
                );
            }
        }
        let f = HostsFile {
            path: path.to_path_buf(),
            hosts,
        };
        f.shape()?;
        Ok(f)
    }

    /// The cluster the roles describe, or why they describe none.
    pub fn shape(&self) -> Result<Shape> {
        let has = |h: &HostEntry, r: Role| h.roles.contains(&r);
        let zk = self
            .hosts
            .iter()
            .filter(|h| has(h, Role::Zookeeper))
            .count();
        let brokers = self.hosts.iter().filter(|h| has(h, Role::Broker)).count();
        let combined = self
            .hosts
            .iter()
            .filter(|h| has(h, Role::Broker) && has(h, Role::Controller))
            .count();
        let ctrl_only = self
            .hosts
            .iter()
            .filter(|h| has(h, Role::Controller) && !has(h, Role::Broker))
            .count();
        if brokers == 0 {
            bail!("no host has the role broker");
        }
        if zk > 0 {
            if combined + ctrl_only > 0 {
                bail!("zookeeper hosts make a ZooKeeper-mode cluster, which has no KRaft controllers: drop the role controller");
            }
            return Ok(Shape {
                mode: Mode::Zookeeper,
                brokers,
                controllers: 0,
                split_roles: false,
                zookeeper: zk,
            });
        }
        if combined > 0 && ctrl_only > 0 {
            bail!("the file mixes broker+controller hosts and controller-only hosts: KRaft runs either combined (every voter also a broker) or split roles (voters on their own hosts)");
        }
        if combined + ctrl_only == 0 {
            bail!("no host has the role controller (KRaft) or zookeeper (ZooKeeper mode): the cluster would have no metadata quorum");
        }
        Ok(Shape {
            mode: Mode::Kraft,
            brokers,
            controllers: combined + ctrl_only,
            split_roles: ctrl_only > 0,
            zookeeper: 0,
        })
    }

    /// The Kafka-layer node name of every host, in the file's order:
    /// z1..zK, c1..cK, n1..nN (broker+controller hosts first).
    pub fn node_names(&self) -> Vec<(String, &HostEntry)> {
        let has = |h: &HostEntry, r: Role| h.roles.contains(&r);
        let mut out = vec![];
        let zk = self.hosts.iter().filter(|h| has(h, Role::Zookeeper));
        out.extend(zk.enumerate().map(|(i, h)| (format!("z{}", i + 1), h)));
        let ctrl = self
            .hosts
            .iter()
            .filter(|h| has(h, Role::Controller) && !has(h, Role::Broker));
        out.extend(ctrl.enumerate().map(|(i, h)| (format!("c{}", i + 1), h)));
        let brokers = self
            .hosts
            .iter()
            .filter(|h| has(h, Role::Broker) && has(h, Role::Controller))
            .chain(
                self.hosts
                    .iter()
                    .filter(|h| has(h, Role::Broker) && !has(h, Role::Controller)),
            );
        out.extend(brokers.enumerate().map(|(i, h)| (format!("n{}", i + 1), h)));
        out
    }

    /// The host that plays node `name` (n1, c2, z3, …).
    pub fn host_for(&self, node: &str) -> Option<&HostEntry> {
        self.node_names()
            .into_iter()
            .find(|(n, _)| n == node)
            .map(|(_, h)| h)
    }

    /// Check that `flags` agree with the file, then give `spec` the file's
    /// shape (node counts, split roles, controllers, ZooKeeper size, mode)
    /// and the path. The replication factor and min ISR are then checked
    /// against the broker count by [`ClusterSpec::validate`].
    pub fn apply(&self, spec: &mut ClusterSpec, flags: &ShapeFlags) -> Result<()> {
        let s = self.shape()?;
        let file = self.path.display();
        if let Some(n) = flags.nodes {
            if n != s.brokers {
                bail!("--nodes {n} contradicts the hosts file {file}, which has {} broker hosts (leave --nodes out: the file decides)", s.brokers);
            }
        }
        if let Some(m) = flags.mode {
            if m != s.mode {
                bail!(
                    "--mode {m} contradicts the hosts file {file}, which describes a {} cluster",
                    s.mode
                );
            }
        }
        if let Some(k) = flags.zookeeper {
            if s.mode != Mode::Zookeeper || k != s.zookeeper {
                bail!("--zookeeper {k} contradicts the hosts file {file}, which has {} zookeeper hosts", s.zookeeper);
            }
        }
        if flags.split_roles && !s.split_roles {
            bail!("--split-roles contradicts the hosts file {file}, which has no controller-only hosts");
        }
        if let Some(c) = flags.controllers {
            if c != s.controllers {
                bail!("--controllers {c} contradicts the hosts file {file}, which has {} controller hosts", s.controllers);
            }
        }
        if let Some(i) = &flags.image {
            bail!("--image {i} is for the Docker platform; with --hosts the machines are yours");
        }
        spec.nodes = s.brokers;
        spec.mode = Some(s.mode);
        spec.split_roles = s.split_roles;
        spec.controllers = (s.mode == Mode::Kraft).then_some(s.controllers);
        spec.zookeeper = (s.mode == Mode::Zookeeper).then_some(s.zookeeper);
        spec.image = None;
        spec.hosts = Some(self.path.clone());
        spec.placement = self
            .node_names()
            .into_iter()
            .map(|(n, h)| (n, format!("{} ({})", h.name, h.address)))
            .collect();
        Ok(())
    }

    /// Check that `spec` asks for exactly the nodes this file has: the
    /// same names with the same roles (what [`HostsFile::apply`] makes).
    pub fn check_layout(&self, layout: &[NodeRole]) -> Result<()> {
        let names = self.node_names();
        if names.len() != layout.len() {
            bail!(
                "the cluster asks for {} nodes, the hosts file {} has {} hosts",
                layout.len(),
                self.path.display(),
                names.len()
            );
        }
        for role in layout {
            let Some(h) = self.host_for(&role.name) else {
                bail!(
                    "no host of {} plays node {}",
                    self.path.display(),
                    role.name
                );
            };
            let want: BTreeSet<Role> = [
                (role.broker, Role::Broker),
                (role.controller, Role::Controller),
                (role.zookeeper, Role::Zookeeper),
            ]
            .into_iter()
            .filter_map(|(b, r)| b.then_some(r))
            .collect();
            if want != h.roles {
                bail!(
                    "node {} needs roles {want:?}, its host {} has {:?}",
                    role.name,
                    h.name,
                    h.roles
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HostsFile> {
        HostsFile::parse(text, Path::new("/etc/kt/hosts.toml"))
    }

    fn err(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    const THREE: &str = r#"
[defaults]
user = "root"
[[host]]
name = "a"
address = "10.0.0.1"
roles = ["broker"]
[[host]]
name = "b"
address = "10.0.0.2"
roles = ["broker", "controller"]
[[host]]
name = "c"
address = "10.0.0.3"
client_address = "10.1.0.3"
roles = ["controller", "broker"]
port = 2222
user = "kafka"
interface = "eth1"
"#;

    #[test]
    fn defaults_apply_and_combined_hosts_come_first() {
        let f = parse(THREE).unwrap();
        assert_eq!(f.hosts.len(), 3);
        assert_eq!(f.hosts[0].port, 22);
        assert_eq!(f.hosts[0].user, "root");
        assert!(!f.hosts[0].needs_sudo());
        assert_eq!(f.hosts[2].port, 2222);
        assert!(f.hosts[2].needs_sudo());
        assert_eq!(f.hosts[0].client_address, "10.0.0.1");
        assert_eq!(f.hosts[2].client_address, "10.1.0.3");
        assert_eq!(f.hosts[2].interface.as_deref(), Some("eth1"));
        let names: Vec<(String, String)> = f
            .node_names()
            .into_iter()
            .map(|(n, h)| (n, h.name.clone()))
            .collect();
        assert_eq!(
            names,
            [("n1", "b"), ("n2", "c"), ("n3", "a")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let s = f.shape().unwrap();
        assert_eq!(
            s,
            Shape {
                mode: Mode::Kraft,
                brokers: 3,
                controllers: 2,
                split_roles: false,
                zookeeper: 0
            }
        );
        // The spec the file makes lays out exactly its hosts.
        let mut spec = ClusterSpec::default();
        f.apply(&mut spec, &ShapeFlags::default()).unwrap();
        spec.validate().unwrap();
        f.check_layout(&spec.layout()).unwrap();
        assert_eq!(spec.hosts.as_deref(), Some(Path::new("/etc/kt/hosts.toml")));
        assert_eq!(spec.placement["n2"], "c (10.0.0.3)");
        // Applying again (the library after the command line) changes nothing.
        let again = spec.clone();
        f.apply(&mut spec, &ShapeFlags::from_spec(&again)).unwrap();
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            serde_json::to_value(&again).unwrap()
        );
    }

    fn roles_file(roles: &[&str]) -> String {
        roles
            .iter()
            .enumerate()
            .map(|(i, r)| {
                format!(
                    "[[host]]\nname = \"h{i}\"\naddress = \"10.0.0.{}\"\nroles = [{}]\n",
                    i + 1,
                    r.split('+')
                        .map(|x| format!("\"{x}\""))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
            .collect()
    }

    #[test]
    fn every_shape_lays_out_its_hosts_exactly() {
        for (roles, mode, split) in [
            (
                &[
                    "broker+controller",
                    "broker+controller",
                    "broker+controller",
                ][..],
                Mode::Kraft,
                false,
            ),
            (
                &["broker", "controller", "broker", "controller", "broker"][..],
                Mode::Kraft,
                true,
            ),
            (
                &["zookeeper", "broker", "broker", "zookeeper", "zookeeper"][..],
                Mode::Zookeeper,
                false,
            ),
            (&["broker+controller"][..], Mode::Kraft, false),
        ] {
            let f = parse(&roles_file(roles)).unwrap();
            let mut spec = ClusterSpec {
                replication_factor: 1,
                min_insync_replicas: 1,
                ..Default::default()
            };
            f.apply(&mut spec, &ShapeFlags::default()).unwrap();
            assert_eq!(spec.mode(), mode, "{roles:?}");
            assert_eq!(spec.split_roles, split, "{roles:?}");
            spec.validate().unwrap();
            f.check_layout(&spec.layout()).unwrap();
            // Every host plays one node, every node has one host.
            assert_eq!(spec.layout().len(), roles.len());
        }
    }

    #[test]
    fn contradicting_flags_are_errors_that_name_the_flag() {
        let f = parse(THREE).unwrap();
        let mut spec = ClusterSpec::default();
        let e =
            |flags: ShapeFlags| format!("{:#}", f.apply(&mut spec.clone(), &flags).unwrap_err());
        assert!(e(ShapeFlags {
            nodes: Some(5),
            ..Default::default()
        })
        .contains("--nodes 5 contradicts"));
        assert!(e(ShapeFlags {
            controllers: Some(3),
            ..Default::default()
        })
        .contains("--controllers 3"));
        assert!(e(ShapeFlags {
            split_roles: true,
            ..Default::default()
        })
        .contains("--split-roles"));
        assert!(e(ShapeFlags {
            zookeeper: Some(3),
            ..Default::default()
        })
        .contains("--zookeeper 3"));
        assert!(e(ShapeFlags {
            mode: Some(Mode::Zookeeper),
            ..Default::default()
        })
        .contains("--mode zookeeper"));
        assert!(e(ShapeFlags {
            image: Some("x".into()),
            ..Default::default()
        })
        .contains("--image"));
        // Agreeing flags are fine.
        f.apply(
            &mut spec,
            &ShapeFlags {
                nodes: Some(3),
                controllers: Some(2),
                mode: Some(Mode::Kraft),
                ..Default::default()
            },
        )
        .unwrap();
        // A replication factor above the broker count: validate says so.
        let one = parse(&roles_file(&["broker+controller"])).unwrap();
        let mut spec = ClusterSpec::default();
        one.apply(&mut spec, &ShapeFlags::default()).unwrap();
        let v = format!("{:#}", spec.validate().unwrap_err());
        assert!(
            v.contains("--replication-factor 3 is above the node count 1"),
            "{v}"
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        assert!(err("").contains("no [[host]]"));
        assert!(
            err("[[host]]\nname=\"a\"\naddress=\"x\"\nroles=[\"broker\"]\nfoo=1\n")
                .contains("unknown field `foo`")
        );
        assert!(
            err("[[host]]\nname=\"a\"\nroles=[\"broker\"]\n").contains("missing field `address`")
        );
        assert!(err("[[host]]\nname=\"a\"\naddress=\"x\"\n").contains("host a: no roles"));
        assert!(
            err("[[host]]\nname=\"a\"\naddress=\"x\"\nroles=[\"leader\"]\n")
                .contains("unknown role \"leader\"")
        );
        assert!(err(&roles_file(&["broker", "broker"])).contains("no host has the role controller"));
        assert!(err(&roles_file(&["controller"])).contains("no host has the role broker"));
        assert!(err(&roles_file(&["broker+controller", "controller"])).contains("mixes"));
        assert!(err(&roles_file(&["zookeeper+broker", "broker"])).contains("plays no other role"));
        assert!(
            err(&roles_file(&["zookeeper", "broker+controller"])).contains("no KRaft controllers")
        );
        let twice = "[[host]]\nname=\"a\"\naddress=\"x\"\nroles=[\"broker\",\"controller\"]\n[[host]]\nname=\"a\"\naddress=\"y\"\nroles=[\"broker\"]\n";
        assert!(err(twice).contains("host a is listed twice"));
        let same = "[[host]]\nname=\"a\"\naddress=\"x\"\nroles=[\"broker\",\"controller\"]\n[[host]]\nname=\"b\"\naddress=\"x\"\nroles=[\"broker\"]\n";
        assert!(err(same).contains("already another host"));
        let port =
            "[[host]]\nname=\"a\"\naddress=\"x\"\nport=70000\nroles=[\"broker\",\"controller\"]\n";
        assert!(err(port).contains("port"), "{}", err(port));
        let key = "[defaults]\nkey=\"nokey\"\n[[host]]\nname=\"a\"\naddress=\"x\"\nroles=[\"broker\",\"controller\"]\n";
        assert!(
            err(key).contains("key /etc/kt/nokey does not exist"),
            "{}",
            err(key)
        );
        let user = "[[host]]\nname=\"a\"\naddress=\"x\"\nuser=\"-oProxyCommand=x\"\nroles=[\"broker\",\"controller\"]\n";
        assert!(err(user).contains("is not a user name"));
        let addr = "[[host]]\nname=\"a\"\naddress=\"-oProxyCommand=x\"\nroles=[\"broker\",\"controller\"]\n";
        assert!(err(addr).contains("is not a host name"));
    }

    #[test]
    fn relative_keys_are_relative_to_the_file_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("id"), "k").unwrap();
        std::fs::write(dir.path().join("kh"), "").unwrap();
        let p = dir.path().join("hosts.toml");
        std::fs::write(
            &p,
            "[defaults]\nkey=\"id\"\nknown_hosts=\"kh\"\n[[host]]\nname=\"a\"\naddress=\"127.0.0.1\"\nroles=[\"broker\",\"controller\"]\n",
        )
        .unwrap();
        let f = HostsFile::load(&p).unwrap();
        assert_eq!(
            f.hosts[0].key.as_deref(),
            Some(dir.path().join("id").as_path())
        );
        assert_eq!(
            f.hosts[0].known_hosts.as_deref(),
            Some(dir.path().join("kh").as_path())
        );
        assert_eq!(f.hosts[0].client_ip().unwrap().to_string(), "127.0.0.1");
        let e = format!(
            "{:#}",
            HostsFile::load(&dir.path().join("none.toml")).unwrap_err()
        );
        assert!(e.contains("read the hosts file"), "{e}");
    }

    #[test]
    fn client_addresses_are_ipv4() {
        let f = parse("[[host]]\nname=\"a\"\naddress=\"x\"\nclient_address=\"::1\"\nroles=[\"broker\",\"controller\"]\n").unwrap();
        assert!(format!("{:#}", f.hosts[0].client_ip().unwrap_err()).contains("IPv6"));
    }
}
