//! Stand-in hosts for the SSH platform: containers of the sshd variant of
//! the node image ([`image::sshd_image`]) that a user without machines (and
//! the test suite) can point `--hosts` at.
//!
//! Each stand-in is what a fresh real host would be: reachable only through
//! sshd on its own address, root by key only, Java and iptables installed,
//! nothing of Kafka. The sandbox makes an ed25519 key with `ssh-keygen` on
//! the controller and authorizes it for root, reads each container's host
//! key back (through the engine's archive API, not over the network, so the
//! known_hosts file it writes is a real trust anchor) and writes `hosts.toml`
//! in the format `platform::ssh::HostsFile` reads. Starting Kafka is left to
//! the SSH platform: the sandbox only makes and removes the machines.
//!
//! The containers and their bridge network carry the suite's label (so
//! `kafka-trial clean` removes a forgotten sandbox) and a sandbox label with
//! the sandbox's id, by which [`down`] removes exactly them. They carry no
//! cluster label, so `cluster list`/`cluster down` never mistake them for a
//! cluster. `NET_ADMIN` lets the SSH platform's iptables faults work inside.

use super::{engine, image, remove_with_label, LABEL};
use anyhow::{anyhow, bail, Context, Result};
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptions, UploadToContainerOptions,
};
use bollard::Docker;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// Label holding the id of the sandbox a container or network belongs to.
pub const LABEL_SANDBOX: &str = "kafka-trial.sandbox";
/// The file in a sandbox folder that says what to remove on `down`.
pub const STATE_FILE: &str = "sandbox.json";
/// The hosts file a sandbox writes (the SSH platform's `--hosts`).
pub const HOSTS_FILE: &str = "hosts.toml";
const KEY_FILE: &str = "id_ed25519";
const KNOWN_HOSTS: &str = "known_hosts";
/// The stand-ins' network interface (Docker's first NIC of a container).
const INTERFACE: &str = "eth0";
/// The roles a hosts file knows.
pub const ROLES: &[&str] = &["broker", "controller", "zookeeper"];

/// What to make: one entry per host, its roles, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSpec {
    pub roles: Vec<Vec<String>>,
}

impl SandboxSpec {
    /// `n` hosts with the same roles each.
    pub fn uniform(n: usize, roles: &[&str]) -> SandboxSpec {
        SandboxSpec {
            roles: vec![roles.iter().map(|r| r.to_string()).collect(); n],
        }
    }

    /// `n` hosts from a roles text: one host's roles (`broker,controller`)
    /// for all, or one group per host separated by `;`
    /// (`broker,controller;broker,controller;broker`).
    pub fn parse(n: usize, text: &str) -> Result<SandboxSpec> {
        if n == 0 {
            bail!("a sandbox needs at least one host");
        }
        if n > 32 {
            bail!("{n} stand-in hosts is more than this machine should run (at most 32)");
        }
        let groups: Vec<Vec<String>> = text
            .split(';')
            .map(|g| {
                g.split(',')
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty())
                    .collect()
            })
            .collect();
        let roles = match groups.len() {
            1 => vec![groups[0].clone(); n],
            k if k == n => groups,
            k => {
                bail!("--roles gives {k} groups of roles for {n} hosts: give one (for all) or {n}")
            }
        };
        for (i, rs) in roles.iter().enumerate() {
            if rs.is_empty() {
                bail!("host {} has no role (one of {})", i + 1, ROLES.join(", "));
            }
            for r in rs {
                if !ROLES.contains(&r.as_str()) {
                    bail!("unknown role {r:?} (known: {})", ROLES.join(", "));
                }
            }
        }
        Ok(SandboxSpec { roles })
    }
}

/// One stand-in host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StandIn {
    /// The host's name in hosts.toml (`kafka1`, …), also its hostname.
    pub name: String,
    /// The Docker container.
    pub container: String,
    pub address: IpAddr,
    pub roles: Vec<String>,
}

/// A running sandbox and the files it wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sandbox {
    pub id: String,
    pub network: String,
    pub image: String,
    /// The folder holding the key, known_hosts, hosts.toml and this state.
    pub dir: PathBuf,
    pub hosts: Vec<StandIn>,
}

impl Sandbox {
    pub fn hosts_file(&self) -> PathBuf {
        self.dir.join(HOSTS_FILE)
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join(KNOWN_HOSTS)
    }

    /// Read the sandbox a folder holds.
    pub fn load(dir: &Path) -> Result<Sandbox> {
        let p = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&p).with_context(|| {
            format!(
                "{} holds no sandbox (no {STATE_FILE}; made by `kafka-trial hosts sandbox up`)",
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("read {}", p.display()))
    }

    /// Run `ssh … root@<host> <cmd>` with this sandbox's key and strict
    /// host key checking against its known_hosts; bounded by `timeout`.
    pub async fn ssh(
        &self,
        host: &StandIn,
        cmd: &str,
        timeout: Duration,
    ) -> Result<std::process::Output> {
        let out = tokio::process::Command::new("ssh")
            .args(ssh_options(&self.key(), &self.known_hosts()))
            .arg(format!("root@{}", host.address))
            .arg(cmd)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(timeout, out)
            .await
            .map_err(|_| anyhow!("ssh to {} did not finish within {timeout:?}", host.name))?
            .context("run ssh (is openssh-client installed?)")
    }
}

/// Options of a one-off `ssh` that trusts only the sandbox's own files.
fn ssh_options(key: &Path, known_hosts: &Path) -> Vec<String> {
    [
        "-F",
        "/dev/null",
        "-i",
        &key.to_string_lossy(),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        &format!("UserKnownHostsFile={}", known_hosts.display()),
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ConnectTimeout=10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A TOML basic string (quotes and backslashes escaped).
fn toml_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The hosts file of a sandbox, in the contract's format.
pub fn hosts_toml(key: &Path, known_hosts: &Path, hosts: &[StandIn]) -> String {
    let mut t = String::from(
        "# Written by `kafka-trial hosts sandbox up`: containers standing in for hosts.\n\
         # Use with --hosts; remove with `kafka-trial hosts sandbox down <this folder>`.\n\
         [defaults]\n",
    );
    t.push_str("user = \"root\"\nport = 22\n");
    t.push_str(&format!("key = {}\n", toml_str(&key.to_string_lossy())));
    t.push_str(&format!(
        "known_hosts = {}\n",
        toml_str(&known_hosts.to_string_lossy())
    ));
    t.push_str(&format!("interface = {}\n", toml_str(INTERFACE)));
    for h in hosts {
        t.push_str("\n[[host]]\n");
        t.push_str(&format!("name = {}\n", toml_str(&h.name)));
        t.push_str(&format!("address = {}\n", toml_str(&h.address.to_string())));
        t.push_str(&format!(
            "client_address = {}\n",
            toml_str(&h.address.to_string())
        ));
        let roles: Vec<String> = h.roles.iter().map(|r| toml_str(r)).collect();
        t.push_str(&format!("roles = [{}]\n", roles.join(", ")));
    }
    t
}

fn new_id() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..8)
        .map(|_| char::from_digit(r.gen_range(0..16), 16).expect("hex digit"))
        .collect()
}

/// Make the sandbox: key, image (built when missing), network, containers,
/// known_hosts, hosts.toml, and a login over SSH to each host to prove it
/// works. Whatever was made is removed again if a step fails.
pub async fn up(dir: &Path, spec: &SandboxSpec) -> Result<Sandbox> {
    if spec.roles.is_empty() {
        bail!("a sandbox needs at least one host");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolve {}", dir.display()))?;
    if dir.join(STATE_FILE).exists() {
        bail!(
            "{} already holds a sandbox: `kafka-trial hosts sandbox down {}` first",
            dir.display(),
            dir.display()
        );
    }
    let docker = engine::connect().await?;
    let image = image::ensure_sshd(&docker).await?;
    let id = new_id();
    let key = dir.join(KEY_FILE);
    make_key(&key, &id).await?;
    let mut sandbox = Sandbox {
        id: id.clone(),
        network: format!("kt-sandbox-{id}"),
        image,
        dir: dir.clone(),
        hosts: vec![],
    };
    match make(&docker, &mut sandbox, spec).await {
        Ok(()) => Ok(sandbox),
        Err(e) => {
            if let Err(e2) = remove(&docker, &id).await {
                tracing::warn!("removing the half-made sandbox {id}: {e2:#}");
            }
            remove_files(&dir);
            Err(e)
        }
    }
}

async fn make_key(key: &Path, id: &str) -> Result<()> {
    for p in [key.to_path_buf(), key.with_extension("pub")] {
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("remove {}", p.display()))?;
        }
    }
    let out = tokio::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C"])
        .arg(format!("kafka-trial-sandbox-{id}"))
        .arg("-f")
        .arg(key)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context(
            "run ssh-keygen (the sandbox makes its key with it: \
             `apt-get install openssh-client`)",
        )?;
    if !out.status.success() {
        bail!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

async fn make(docker: &Docker, sb: &mut Sandbox, spec: &SandboxSpec) -> Result<()> {
    let t = Instant::now();
    let labels: HashMap<String, String> = [
        (LABEL.to_string(), "true".to_string()),
        (LABEL_SANDBOX.to_string(), sb.id.clone()),
    ]
    .into();
    docker
        .create_network(NetworkCreateRequest {
            name: sb.network.clone(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await
        .with_context(|| format!("create network {}", sb.network))?;
    let public = std::fs::read_to_string(sb.key().with_extension("pub"))
        .context("read the sandbox's public key")?;
    let starts = spec.roles.iter().enumerate().map(|(i, roles)| {
        let name = format!("kafka{}", i + 1);
        let container = format!("kt-sandbox-{}-{name}", sb.id);
        start_one(
            docker,
            &sb.image,
            &sb.network,
            &labels,
            name,
            container,
            roles.clone(),
            public.clone(),
        )
    });
    sb.hosts = futures::future::try_join_all(starts).await?;
    // Host keys, read from each container once its sshd listens.
    let mut known = String::new();
    for h in &sb.hosts {
        wait_for_sshd(h.address, Duration::from_secs(30))
            .await
            .with_context(|| format!("stand-in {} ({})", h.name, h.container))?;
        let pubkey = read_file(docker, &h.container, "/etc/ssh/ssh_host_ed25519_key.pub").await?;
        let mut parts = pubkey.split_whitespace();
        let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
            bail!(
                "host key of {} is not an OpenSSH public key: {pubkey:?}",
                h.name
            );
        };
        known.push_str(&format!("{} {kind} {blob}\n", h.address));
    }
    std::fs::write(sb.known_hosts(), known).context("write known_hosts")?;
    std::fs::write(
        sb.hosts_file(),
        hosts_toml(&sb.key(), &sb.known_hosts(), &sb.hosts),
    )
    .context("write hosts.toml")?;
    // Prove a login works exactly as the SSH platform will log in.
    let sbr: &Sandbox = sb;
    let logins = sbr.hosts.iter().map(|h| async move {
        let out = sbr.ssh(h, "true", Duration::from_secs(20)).await?;
        if !out.status.success() {
            bail!(
                "ssh root@{} ({}) failed: {}",
                h.address,
                h.name,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    });
    futures::future::try_join_all(logins).await?;
    let state = serde_json::to_string_pretty(&*sb)?;
    std::fs::write(sb.dir.join(STATE_FILE), state).context("write sandbox.json")?;
    tracing::info!(
        id = sb.id,
        hosts = sb.hosts.len(),
        "sandbox up in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn start_one(
    docker: &Docker,
    image: &str,
    network: &str,
    labels: &HashMap<String, String>,
    name: String,
    container: String,
    roles: Vec<String>,
    authorized_key: String,
) -> Result<StandIn> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        hostname: Some(name.clone()),
        labels: Some(labels.clone()),
        host_config: Some(HostConfig {
            network_mode: Some(network.to_string()),
            cap_add: Some(vec!["NET_ADMIN".into()]),
            init: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    };
    docker
        .create_container(
            Some(
                CreateContainerOptionsBuilder::default()
                    .name(&container)
                    .build(),
            ),
            body,
        )
        .await
        .with_context(|| format!("create container {container} from {image}"))?;
    // root's authorized_keys, put in before the first start (archive API).
    let mut archive = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o700);
    dir.set_size(0);
    dir.set_cksum();
    archive.append_data(&mut dir, ".ssh", std::io::empty())?;
    let mut file = tar::Header::new_gnu();
    file.set_size(authorized_key.len() as u64);
    file.set_mode(0o600);
    file.set_cksum();
    archive.append_data(&mut file, ".ssh/authorized_keys", authorized_key.as_bytes())?;
    docker
        .upload_to_container(
            &container,
            Some(UploadToContainerOptions {
                path: "/root".into(),
                ..Default::default()
            }),
            bollard::body_full(archive.into_inner()?.into()),
        )
        .await
        .with_context(|| format!("authorize the sandbox's key in {container}"))?;
    docker
        .start_container(&container, None)
        .await
        .with_context(|| format!("start container {container}"))?;
    let info = docker.inspect_container(&container, None).await?;
    let ip = info
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|e| e.ip_address)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow!("container {container} has no address on {network}"))?;
    let address = ip
        .parse()
        .with_context(|| format!("address {ip:?} of {container}"))?;
    Ok(StandIn {
        name,
        container,
        address,
        roles,
    })
}

/// Wait until something on `ip:22` greets with an SSH banner.
async fn wait_for_sshd(ip: IpAddr, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        let attempt = async {
            let mut s = tokio::net::TcpStream::connect((ip, 22)).await?;
            let mut buf = [0u8; 8];
            s.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(b)) if b.starts_with(b"SSH-2.0") => return Ok(()),
            Ok(Ok(b)) => {
                last = format!("{ip}:22 answers {:?}, not SSH", String::from_utf8_lossy(&b))
            }
            Ok(Err(e)) => last = format!("{ip}:22: {e}"),
            Err(_) => last = format!("{ip}:22 did not greet within 2 s"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("sshd did not come up within {within:?} ({last})")
}

/// One small file of a container, through the archive API.
async fn read_file(docker: &Docker, container: &str, path: &str) -> Result<String> {
    let chunks: Vec<bytes::Bytes> = docker
        .download_from_container(
            container,
            Some(DownloadFromContainerOptions {
                path: path.to_string(),
            }),
        )
        .try_collect()
        .await
        .with_context(|| format!("read {path} of {container}"))?;
    let bytes = chunks.concat();
    let mut archive = tar::Archive::new(bytes.as_slice());
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() == tar::EntryType::Regular {
            let mut s = String::new();
            entry.read_to_string(&mut s)?;
            return Ok(s);
        }
    }
    bail!("{path} of {container} is not a file")
}

/// Remove every container and network of sandbox `id`.
pub async fn remove(docker: &Docker, id: &str) -> Result<(usize, usize)> {
    remove_with_label(docker, &format!("{LABEL_SANDBOX}={id}")).await
}

/// The files a sandbox wrote into its folder (the folder itself stays if
/// anything else is in it).
fn remove_files(dir: &Path) {
    for f in [
        STATE_FILE,
        HOSTS_FILE,
        KNOWN_HOSTS,
        KEY_FILE,
        "id_ed25519.pub",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let _ = std::fs::remove_dir(dir);
}

/// Remove the sandbox a folder holds: its containers and network (by its
/// label), then the files `up` wrote. Returns the containers removed.
pub async fn down(dir: &Path) -> Result<usize> {
    let sb = Sandbox::load(dir)?;
    let docker = engine::connect().await?;
    let (nc, _) = remove(&docker, &sb.id).await?;
    remove_files(dir);
    Ok(nc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_for_all_or_per_host() {
        let s = SandboxSpec::parse(3, "broker,controller").unwrap();
        assert_eq!(s, SandboxSpec::uniform(3, &["broker", "controller"]));
        let s = SandboxSpec::parse(3, "broker; broker ;controller").unwrap();
        assert_eq!(s.roles[2], vec!["controller".to_string()]);
        assert!(SandboxSpec::parse(3, "broker;broker").is_err());
        assert!(SandboxSpec::parse(2, "broker,kraft").is_err());
        assert!(SandboxSpec::parse(2, "broker;").is_err());
        assert!(SandboxSpec::parse(0, "broker").is_err());
    }

    #[test]
    fn the_hosts_file_has_the_contract_fields() {
        let hosts = vec![StandIn {
            name: "kafka1".into(),
            container: "kt-sandbox-x-kafka1".into(),
            address: "172.20.0.2".parse().unwrap(),
            roles: vec!["broker".into(), "controller".into()],
        }];
        let t = hosts_toml(
            Path::new("/tmp/a \"b\"/id_ed25519"),
            Path::new("/tmp/k"),
            &hosts,
        );
        assert!(t.contains("[defaults]\nuser = \"root\"\nport = 22\n"));
        assert!(t.contains("key = \"/tmp/a \\\"b\\\"/id_ed25519\"\n"));
        assert!(t.contains("known_hosts = \"/tmp/k\"\n"));
        assert!(t.contains("[[host]]\nname = \"kafka1\"\naddress = \"172.20.0.2\"\n"));
        assert!(t.contains("client_address = \"172.20.0.2\"\n"));
        assert!(t.contains("roles = [\"broker\", \"controller\"]\n"));
    }
}
