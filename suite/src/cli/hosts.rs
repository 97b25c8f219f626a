//! `hosts sandbox up|down`: containers running sshd that stand in for
//! hosts, to try the SSH platform (`--hosts`) without machines.

use super::exit;
use crate::platform::docker::sshd::{self, SandboxSpec};
use anyhow::Result;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum HostsCmd {
    /// Stand-in hosts: containers running sshd on a private network.
    #[command(subcommand)]
    Sandbox(SandboxCmd),
}

#[derive(Subcommand, Debug)]
pub enum SandboxCmd {
    /// Start N stand-in hosts and write DIR/hosts.toml for `--hosts`.
    ///
    /// Each host is a container of the node image plus openssh-server
    /// (built once, when first needed): root login with a key made here
    /// (DIR/id_ed25519), host keys in DIR/known_hosts, NET_ADMIN for the
    /// iptables faults. Nothing of Kafka is started: a trial with
    /// `--hosts DIR/hosts.toml` does that over SSH.
    Up(SandboxUpArgs),
    /// Remove the stand-in hosts of DIR (by the sandbox's own label) and
    /// the files `up` wrote there.
    Down {
        /// The folder given to `up --out`.
        dir: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct SandboxUpArgs {
    /// Number of hosts (kafka1..kafkaN).
    pub n: usize,
    /// Folder for hosts.toml, the key, known_hosts and the sandbox's state.
    #[arg(long)]
    pub out: PathBuf,
    /// Roles of the hosts (broker, controller, zookeeper): one group for
    /// every host, or one per host separated by `;`
    /// ("broker,controller;broker,controller;broker").
    #[arg(long, default_value = "broker,controller")]
    pub roles: String,
}

pub async fn hosts(cmd: HostsCmd) -> Result<ExitCode> {
    match cmd {
        HostsCmd::Sandbox(SandboxCmd::Up(a)) => {
            let spec = match SandboxSpec::parse(a.n, &a.roles) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kafka-trial: {e:#}");
                    return Ok(exit::code(exit::HARNESS));
                }
            };
            let t = Instant::now();
            let sb = sshd::up(&a.out, &spec).await?;
            for h in &sb.hosts {
                eprintln!(
                    "  {:<8} {:<15} {:<24} ({})",
                    h.name,
                    h.address.to_string(),
                    h.roles.join(","),
                    h.container
                );
            }
            eprintln!(
                "sandbox {} up: {} hosts in {:.1}s; use --hosts {}; remove with \
                 `kafka-trial hosts sandbox down {}`",
                sb.id,
                sb.hosts.len(),
                t.elapsed().as_secs_f64(),
                sb.hosts_file().display(),
                sb.dir.display()
            );
            println!("{}", sb.hosts_file().display());
            Ok(exit::code(exit::VALID))
        }
        HostsCmd::Sandbox(SandboxCmd::Down { dir }) => {
            let n = sshd::down(&dir).await?;
            println!("removed {n} stand-in hosts of {}", dir.display());
            Ok(exit::code(exit::VALID))
        }
    }
}
