//! `cluster up|down|status`, `image build` and `clean`: a cluster to poke
//! at by hand, and housekeeping.

use super::exit;
use crate::cluster::Cluster;
use crate::kafka::node::{CONTROL, LOGS};
use crate::kafka::quorum::{quorum_leader, QUORUM_STATE};
use crate::kafka::{admin, zookeeper, ClusterSpec, BROKER_PORT};
use crate::platform::docker::{self, engine, image};
use crate::platform::ssh::{HostsFile, ShapeFlags, SshPlatform};
use crate::platform::Platform;
use anyhow::{bail, Result};
use clap::Subcommand;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Options of the cluster itself: the trial spec's `[cluster]` section,
/// shared by `cluster up`, `test` and `scenario run`.
pub type ClusterArgs = crate::spec::ClusterSection;

/// Parse `KEY=VALUE` pairs.
pub fn parse_pairs(v: &[String], what: &str) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for s in v {
        match s.split_once('=') {
            Some((k, val)) if !k.trim().is_empty() => {
                m.insert(k.trim().to_string(), val.trim().to_string());
            }
            _ => bail!("{what} {s:?} is not KEY=VALUE"),
        }
    }
    Ok(m)
}

/// Give `spec` the shape of the hosts file `path`, refusing flags that
/// contradict it (before anything connects).
pub fn apply_hosts(spec: &mut ClusterSpec, path: &Path, flags: &ShapeFlags) -> Result<()> {
    let hosts = HostsFile::load(path)?;
    hosts.apply(spec, flags)
}

#[derive(Subcommand, Debug)]
pub enum ClusterCmd {
    /// Start a cluster and leave it running; prints its bootstrap servers.
    Up(ClusterArgs),
    /// Show running clusters: nodes (IP, broker running/paused/dead), the
    /// active controller, and every topic partition's leader, replicas, ISR.
    Status,
    /// Remove a cluster (all of them if no id is given).
    Down {
        /// Cluster id as `cluster status` (or `cluster up`) prints it.
        id: Option<String>,
        /// The cluster runs on these SSH hosts: tear it down there (its
        /// processes, the KTRIAL chain, its folders; the jar cache stays).
        /// Needs the id.
        #[arg(long, value_name = "FILE")]
        hosts: Option<PathBuf>,
        /// With --hosts: also remove the jar cache /var/cache/kafka-trial
        /// from every host.
        #[arg(long, requires = "hosts")]
        purge_cache: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImageCmd {
    /// Build the node image now (debootstrap + docker import); cached.
    Build {
        /// Rebuild even if the image exists.
        #[arg(long)]
        force: bool,
    },
    /// Print the image reference this version of the suite uses.
    Name,
}

pub async fn cluster(cmd: ClusterCmd) -> Result<ExitCode> {
    match cmd {
        ClusterCmd::Up(a) => {
            // The options of a cluster the user runs (`test --bootstrap`).
            if a.bootstrap.is_some() || a.keep_topic || a.fault_hooks.is_some() {
                eprintln!(
                    "kafka-trial: --bootstrap, --keep-topic and --fault-hooks are options of `test` on a cluster you run, not of `cluster up`"
                );
                return Ok(exit::code(exit::HARNESS));
            }
            let spec = match a.to_cluster_spec() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kafka-trial: {e:#}");
                    return Ok(exit::code(exit::HARNESS));
                }
            };
            let t = Instant::now();
            let c = Cluster::start(spec).await?;
            c.detach();
            println!(
                "cluster {} is up in {:.1}s (Kafka {}, {} mode, {} nodes)",
                c.id,
                t.elapsed().as_secs_f64(),
                c.dist.version,
                c.spec.mode(),
                c.nodes.len()
            );
            for n in &c.nodes {
                let roles = match (n.role.broker, n.role.controller, n.role.zookeeper) {
                    (_, _, true) => "zookeeper",
                    (true, true, _) => "broker+controller",
                    (true, false, _) => "broker",
                    _ => "controller",
                };
                println!("  {:<4} {:<15} {roles}", n.role.name, n.host.ip());
            }
            println!("bootstrap servers: {}", c.bootstrap_servers());
            match &c.spec.hosts {
                Some(file) => {
                    if let Some(r) = c.platform_report() {
                        for h in r["hosts"].as_array().into_iter().flatten() {
                            println!(
                                "  host {} ({}) plays {}: clock offset {} ms, {} bytes uploaded",
                                h["name"].as_str().unwrap_or("?"),
                                h["address"].as_str().unwrap_or("?"),
                                h["node"].as_str().unwrap_or("?"),
                                h["preflight"]["clock_offset_ms"],
                                h["uploaded"]["bytes"]
                            );
                        }
                    }
                    println!("broker logs: {LOGS} on each host");
                    println!(
                        "stop it with: kafka-trial cluster down {} --hosts {}",
                        c.id,
                        file.display()
                    );
                }
                None => {
                    println!(
                        "broker logs: {LOGS} inside each node, e.g. `docker exec kt-{}-n1 tail {LOGS}/server.log`",
                        c.id
                    );
                    println!("stop it with: kafka-trial cluster down {}", c.id);
                }
            }
            Ok(exit::code(exit::VALID))
        }
        ClusterCmd::Status => {
            let d = engine::connect().await?;
            let clusters = docker::find_clusters(&d).await?;
            if clusters.is_empty() {
                println!("no kafka-trial cluster is running");
            }
            for c in clusters {
                println!("cluster {}", c.id);
                let zk_mode = c.nodes.iter().any(|(name, ..)| name.starts_with('z'));
                println!("  mode: {}", if zk_mode { "zookeeper" } else { "kraft" });
                let mut controller = None;
                let mut ensemble_leader = None;
                for (name, container, ip, running) in &c.nodes {
                    let state = if !running {
                        "container stopped".to_string()
                    } else {
                        engine::exec(&d, container, &[CONTROL, "state"], Duration::from_secs(10))
                            .await
                            .map(|r| r.stdout.trim().to_string())
                            .unwrap_or_else(|e| format!("unknown ({e})"))
                    };
                    if name.starts_with('z') {
                        // A ZooKeeper server: its own word on its role.
                        let role = match ip.parse() {
                            Ok(addr) => match zookeeper::status(addr, Duration::from_secs(3)).await
                            {
                                Ok(s) => {
                                    if s.leads() {
                                        ensemble_leader = Some(name.clone());
                                    }
                                    s.mode
                                }
                                Err(e) => format!("no answer ({e:#})"),
                            },
                            Err(_) => "unknown address".into(),
                        };
                        println!("  {name:<4} {ip:<15} zookeeper {state}, {role}");
                        continue;
                    }
                    println!("  {name:<4} {ip:<15} broker {state}");
                    if !zk_mode && controller.is_none() && state == "running" {
                        if let Ok(r) = engine::exec(
                            &d,
                            container,
                            &["cat", QUORUM_STATE],
                            Duration::from_secs(5),
                        )
                        .await
                        {
                            controller = quorum_leader(&r.stdout);
                        }
                    }
                }
                if zk_mode {
                    match &ensemble_leader {
                        Some(l) => println!("  ZooKeeper leader: {l}"),
                        None => println!("  ZooKeeper leader: none answers as leader"),
                    }
                    let brokers: Vec<std::net::SocketAddr> = c
                        .nodes
                        .iter()
                        .filter(|(name, ..)| !name.starts_with('z'))
                        .filter_map(|(_, _, ip, _)| ip.parse().ok())
                        .map(|ip| std::net::SocketAddr::new(ip, BROKER_PORT))
                        .collect();
                    controller = zookeeper::metadata_controller(&brokers, Duration::from_secs(3))
                        .await
                        .map(i64::from);
                }
                match controller {
                    Some(id) => println!("  active controller: node id {id}"),
                    None => println!("  active controller: unknown"),
                }
                println!("  bootstrap servers: {}", c.addresses(BROKER_PORT));
                match admin::metadata(&c.addresses(BROKER_PORT), None, Duration::from_secs(5)).await
                {
                    Ok(md) => {
                        println!(
                            "  brokers registered: {:?}",
                            md.brokers.iter().map(|b| b.0).collect::<Vec<_>>()
                        );
                        for (t, parts) in md.topics.iter().filter(|(t, _)| !t.starts_with("__")) {
                            for p in parts {
                                println!(
                                    "  {t}/{}: leader {} replicas {:?} isr {:?}",
                                    p.id, p.leader, p.replicas, p.isr
                                );
                            }
                        }
                    }
                    Err(e) => println!("  metadata: unavailable ({e:#})"),
                }
            }
            Ok(exit::code(exit::VALID))
        }
        ClusterCmd::Down {
            id,
            hosts: Some(file),
            purge_cache,
        } => {
            let Some(id) = id else {
                eprintln!("kafka-trial: `cluster down --hosts FILE` needs the cluster's id");
                return Ok(exit::code(exit::HARNESS));
            };
            let p = SshPlatform::reach(HostsFile::load(&file)?).await?;
            p.teardown(&id).await?;
            println!(
                "cluster {id} removed from {} hosts (nothing of it is left; the jar cache stays)",
                p.hosts().hosts.len()
            );
            if purge_cache {
                p.purge_cache().await?;
                println!(
                    "removed {} from every host",
                    crate::platform::ssh::remote::CACHE
                );
            }
            Ok(exit::code(exit::VALID))
        }
        ClusterCmd::Down { id, .. } => {
            let d = engine::connect().await?;
            let (nc, nn) = match &id {
                Some(id) => docker::remove_labelled(&d, Some(id)).await?,
                None => {
                    let mut tot = (0, 0);
                    for c in docker::find_clusters(&d).await? {
                        let (a, b) = docker::remove_labelled(&d, Some(&c.id)).await?;
                        tot = (tot.0 + a, tot.1 + b);
                    }
                    tot
                }
            };
            println!("removed {nc} containers and {nn} networks");
            Ok(exit::code(exit::VALID))
        }
    }
}

pub async fn image_cmd(cmd: ImageCmd) -> Result<ExitCode> {
    match cmd {
        ImageCmd::Build { force } => {
            let d = engine::connect().await?;
            let _lock = crate::cache::cache_lock("image").await?;
            image::build(&d, force).await?;
            println!("{}", image::default_image());
            Ok(exit::code(exit::VALID))
        }
        ImageCmd::Name => {
            println!("{}", image::default_image());
            Ok(exit::code(exit::VALID))
        }
    }
}

/// Remove every container and network with the suite's label, and the
/// work folders of clusters.
/// `clean`'s arguments.
#[derive(clap::Args, Debug, Default)]
pub struct CleanArgs {
    /// Only this cluster (its id, as `cluster list` and the note about a
    /// dead run's leftovers name it); repeatable. Without it, everything
    /// the suite left behind.
    #[arg(long = "cluster", value_name = "ID")]
    pub clusters: Vec<String>,
}

/// Remove what the suite left behind: every container and network it
/// labelled whose controller is not running (a cluster whose trial still
/// runs, on this machine, is kept and named).
pub async fn clean(a: CleanArgs) -> Result<ExitCode> {
    let d = engine::connect().await?;
    let c = crate::owner::clean(&d, &a.clusters).await?;
    println!(
        "removed {} containers and {} networks labelled {}",
        c.containers,
        c.networks,
        docker::LABEL
    );
    for f in &c.kept {
        println!(
            "kept cluster {}: its controller (pid {}) still runs{}",
            f.cluster,
            f.owner.map(|o| o.pid).unwrap_or_default(),
            f.run
                .as_deref()
                .map(|r| format!(" the run {}", r.display()))
                .unwrap_or_default()
        );
    }
    for id in &c.missing {
        println!("no cluster {id} on this engine");
    }
    Ok(exit::code(exit::VALID))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        c: ClusterArgs,
    }

    fn spec(args: &[&str]) -> Result<ClusterSpec> {
        let mut v = vec!["x"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v).unwrap().c.to_cluster_spec()
    }

    /// `--hosts` gives the file's shape; a flag that says otherwise is an
    /// error before anything connects (the hosts do not exist).
    #[test]
    fn hosts_decide_the_shape_and_contradicting_flags_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hosts.toml");
        let mut text = String::new();
        for i in 1..=5 {
            let roles = if i <= 3 {
                "\"broker\",\"controller\""
            } else {
                "\"broker\""
            };
            text.push_str(&format!(
                "[[host]]\nname=\"k{i}\"\naddress=\"192.0.2.{i}\"\nroles=[{roles}]\n"
            ));
        }
        std::fs::write(&f, text).unwrap();
        let p = f.to_str().unwrap();
        let s = spec(&["--hosts", p]).unwrap();
        assert_eq!((s.nodes, s.controllers), (5, Some(3)));
        assert_eq!(s.hosts.as_deref(), Some(f.as_path()));
        assert_eq!(s.placement["n4"], "k4 (192.0.2.4)");
        assert!(spec(&["--hosts", p, "--nodes", "5"]).is_ok());
        let e = format!("{:#}", spec(&["--hosts", p, "--nodes", "3"]).unwrap_err());
        assert!(e.contains("--nodes 3 contradicts"), "{e}");
        let e = format!("{:#}", spec(&["--hosts", p, "--split-roles"]).unwrap_err());
        assert!(e.contains("--split-roles contradicts"), "{e}");
        let e = format!(
            "{:#}",
            spec(&["--hosts", p, "--replication-factor", "6"]).unwrap_err()
        );
        assert!(e.contains("above the node count 5"), "{e}");
        // Without --hosts, the old default.
        assert_eq!(spec(&[]).unwrap().nodes, 3);
    }
}
