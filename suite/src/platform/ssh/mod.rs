//! The SSH platform: the cluster on the user's own machines, listed in a
//! hosts file (`--hosts hosts.toml`, [`hosts`]), reached only over SSH.
//!
//! - [`SshPlatform::connect`] checks every host in parallel before anything
//!   starts ([`preflight`]): one error naming the host and what it lacks;
//! - [`Platform::provision`] checks the faults' packages and devices,
//!   claims each host (a record of the cluster in `/var/cache/kafka-trial/owned`),
//!   and ships what Docker would bind-mount: the Kafka jars and suite tools
//!   go once per content into a checksummed cache on the host
//!   (`/var/cache/kafka-trial/dist/<sha256>/`), linked from where the node
//!   expects them (`/opt/kafka/libs`, `/opt/kt/bin/<tool>`);
//! - [`host::SshHost`] runs commands as root over one multiplexed
//!   connection per host, bounded in time on both ends; the control
//!   script's JVMs are `setsid` daemons, so they outlive the SSH session;
//! - [`Platform::teardown`] kills our processes, unmounts, removes the
//!   `KTRIAL` chain and its jump, our folders and files and the record,
//!   then looks again and fails if anything of ours is left ([`remote`]).
//!   Only the cache stays ([`SshPlatform::purge_cache`] removes it).
//!
//! Must never: touch a path, process or rule that is not ours (see
//! [`remote`]), or reach a host by any other way than SSH.

pub mod host;
pub mod hosts;
pub mod preflight;
pub mod remote;

pub use host::{Connection, SshHost, UploadStats};
pub use hosts::{HostEntry, HostsFile, Role, Shape, ShapeFlags};
pub use preflight::Facts;

use super::{Host, NodeRequest, Platform};
use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use remote::Footprint;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Content shipped once per checksum: a folder as a deterministic tar
/// archive (sorted, no times or owners, so the same jars give the same
/// checksum on every run), or one file.
#[derive(Debug)]
pub struct Blob {
    pub sha: String,
    pub bytes: Vec<u8>,
    pub archive: bool,
}

impl Blob {
    /// Pack `path` (a folder or a file).
    pub fn pack(path: &Path) -> Result<Blob> {
        let meta = std::fs::metadata(path).with_context(|| format!("read {}", path.display()))?;
        let (bytes, archive) = if meta.is_dir() {
            let mut b = tar::Builder::new(Vec::new());
            let mut files = vec![];
            collect_files(path, Path::new(""), &mut files)?;
            files.sort();
            for rel in files {
                let data = std::fs::read(path.join(&rel))
                    .with_context(|| format!("read {}", path.join(&rel).display()))?;
                let mut h = tar::Header::new_ustar();
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_mtime(0);
                h.set_uid(0);
                h.set_gid(0);
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, &rel, data.as_slice())?;
            }
            (b.into_inner()?, true)
        } else {
            (
                std::fs::read(path).with_context(|| format!("read {}", path.display()))?,
                false,
            )
        };
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Blob {
            sha,
            bytes,
            archive,
        })
    }
}

fn collect_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(root.join(rel))? {
        let e = e?;
        let r = rel.join(e.file_name());
        let t = e.file_type()?;
        if t.is_dir() {
            collect_files(root, &r, out)?;
        } else if t.is_file() || (t.is_symlink() && root.join(&r).is_file()) {
            out.push(r);
        }
    }
    Ok(())
}

/// The machines of a hosts file, checked and connected.
#[derive(Debug)]
pub struct SshPlatform {
    hosts: HostsFile,
    /// One per host of the file, in its order.
    conns: Vec<Arc<Connection>>,
    facts: Vec<Facts>,
    blobs: Mutex<HashMap<PathBuf, Arc<Blob>>>,
}

fn need_ssh_client() -> Result<()> {
    if crate::cache::which("ssh").is_none() {
        bail!("the SSH platform drives the system OpenSSH client, and there is no `ssh` on PATH: `apt-get install openssh-client`");
    }
    Ok(())
}

/// Run `f` on every connection at once; one error listing every host that failed.
async fn on_all<T, F, Fut>(conns: &[Arc<Connection>], f: F) -> Result<Vec<T>>
where
    F: Fn(Arc<Connection>) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let results = futures::future::join_all(conns.iter().cloned().map(f)).await;
    let mut ok = vec![];
    let mut errs = vec![];
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => errs.push(format!("{e:#}")),
        }
    }
    if !errs.is_empty() {
        bail!("{}", errs.join("\n"));
    }
    Ok(ok)
}

impl SshPlatform {
    /// Connect to every host of `hosts` and run the preflight checks on
    /// all of them in parallel.
    pub async fn connect(hosts: HostsFile) -> Result<SshPlatform> {
        need_ssh_client()?;
        let conns: Vec<Arc<Connection>> = hosts
            .hosts
            .iter()
            .map(|e| Arc::new(Connection::new(e.clone())))
            .collect();
        let facts = on_all(&conns, |c| async move { preflight::check(&c).await })
            .await
            .context("preflight of the SSH hosts")?;
        for (c, f) in conns.iter().zip(&facts) {
            tracing::info!(
                host = %c.entry.name,
                java = %f.java,
                clock_offset_ms = f.clock_offset_ms,
                rtt_ms = f.rtt_ms,
                "preflight passed"
            );
        }
        Ok(SshPlatform {
            hosts,
            conns,
            facts,
            blobs: Mutex::new(HashMap::new()),
        })
    }

    /// Connect without the preflight (to tear down what a cluster left).
    pub async fn reach(hosts: HostsFile) -> Result<SshPlatform> {
        need_ssh_client()?;
        let conns: Vec<Arc<Connection>> = hosts
            .hosts
            .iter()
            .map(|e| Arc::new(Connection::new(e.clone())))
            .collect();
        on_all(&conns, |c| async move {
            c.session()
                .await
                .map(|_| ())
                .map_err(|e| anyhow!("host {}: {e}", c.entry.name))
        })
        .await?;
        Ok(SshPlatform {
            hosts,
            conns,
            facts: vec![],
            blobs: Mutex::new(HashMap::new()),
        })
    }

    pub fn hosts(&self) -> &HostsFile {
        &self.hosts
    }

    /// What the preflight learned, by host name (empty after [`SshPlatform::reach`]).
    pub fn facts(&self) -> BTreeMap<String, Facts> {
        self.conns
            .iter()
            .zip(&self.facts)
            .map(|(c, f)| (c.entry.name.clone(), f.clone()))
            .collect()
    }

    /// Bytes sent to each host by this process, by host name.
    pub fn upload_stats(&self) -> BTreeMap<String, UploadStats> {
        self.conns
            .iter()
            .map(|c| (c.entry.name.clone(), c.uploads.snapshot()))
            .collect()
    }

    fn conn(&self, host: &HostEntry) -> Arc<Connection> {
        self.conns
            .iter()
            .find(|c| c.entry.name == host.name)
            .cloned()
            .expect("every host has a connection")
    }

    async fn blob(&self, path: &Path) -> Result<Arc<Blob>> {
        if let Some(b) = self.blobs.lock().expect("not poisoned").get(path) {
            return Ok(b.clone());
        }
        let p = path.to_path_buf();
        let b = Arc::new(tokio::task::spawn_blocking(move || Blob::pack(&p)).await??);
        self.blobs
            .lock()
            .expect("not poisoned")
            .insert(path.to_path_buf(), b.clone());
        Ok(b)
    }

    /// Remove the cache from every host (refused on a host that holds a
    /// cluster).
    pub async fn purge_cache(&self) -> Result<()> {
        on_all(&self.conns, |c| async move {
            c.script(
                "purge the cache",
                &remote::purge_cache_script(),
                Duration::from_secs(60),
            )
            .await
            .map(|_| ())
        })
        .await
        .map(|_| ())
    }

    /// What each host holds of ours now (the checks of teardown).
    pub async fn footprints(&self) -> Result<BTreeMap<String, Footprint>> {
        let v = on_all(&self.conns, |c| async move {
            let written: Vec<String> = c
                .written
                .lock()
                .expect("not poisoned")
                .iter()
                .cloned()
                .collect();
            let out = c
                .script(
                    "look for kafka-trial's files",
                    &remote::footprint_script(&written),
                    Duration::from_secs(30),
                )
                .await?;
            Ok((c.entry.name.clone(), Footprint::parse(&out)))
        })
        .await?;
        Ok(v.into_iter().collect())
    }

    /// hosts.json: per host its name, addresses, node, preflight facts and
    /// bytes uploaded.
    pub fn report_json(&self) -> serde_json::Value {
        let facts = self.facts();
        let stats = self.upload_stats();
        let nodes: HashMap<String, String> = self
            .hosts
            .node_names()
            .into_iter()
            .map(|(n, h)| (h.name.clone(), n))
            .collect();
        let hosts: Vec<serde_json::Value> = self
            .hosts
            .hosts
            .iter()
            .map(|h| {
                serde_json::json!({
                    "name": h.name,
                    "node": nodes.get(&h.name),
                    "address": h.address,
                    "client_address": h.client_address,
                    "user": h.user,
                    "port": h.port,
                    "interface": h.interface,
                    "roles": h.roles,
                    "preflight": facts.get(&h.name),
                    "uploaded": stats.get(&h.name),
                })
            })
            .collect();
        serde_json::json!({
            "platform": "ssh",
            "hosts_file": self.hosts.path,
            "cache": remote::CACHE,
            "hosts": hosts,
        })
    }
}

#[async_trait]
impl Platform for SshPlatform {
    fn name(&self) -> &'static str {
        "ssh"
    }

    async fn provision(&self, cluster: &str, nodes: &[NodeRequest]) -> Result<Vec<Arc<dyn Host>>> {
        // Every node has its host, and the faults' needs are there.
        let mut plan = vec![];
        for req in nodes {
            let h = self.hosts.host_for(&req.name).ok_or_else(|| {
                anyhow!(
                    "the cluster needs node {}, which no host of {} plays",
                    req.name,
                    self.hosts.path.display()
                )
            })?;
            let ip = h.client_ip()?;
            plan.push((req.clone(), self.conn(h), ip));
        }
        let needs = |(req, c, _): &(NodeRequest, Arc<Connection>, std::net::IpAddr)| {
            let (req, c) = (req.clone(), c.clone());
            async move {
                let out = c
                    .script(
                        "check the faults' needs",
                        &preflight::requirements_script(&req.packages, &req.devices),
                        Duration::from_secs(30),
                    )
                    .await?;
                let m = preflight::missing(&out);
                if !m.is_empty() {
                    bail!(
                        "host {} (node {}) lacks what this run's faults need: {}",
                        c.entry.name,
                        req.name,
                        m.join(", ")
                    );
                }
                c.script(
                    "claim the host",
                    &remote::claim_script(cluster),
                    Duration::from_secs(30),
                )
                .await?;
                Ok::<_, anyhow::Error>(())
            }
        };
        let checks = futures::future::join_all(plan.iter().map(needs)).await;
        let errs: Vec<String> = checks
            .into_iter()
            .filter_map(|r| r.err().map(|e| format!("{e:#}")))
            .collect();
        if !errs.is_empty() {
            bail!("{}", errs.join("\n"));
        }
        // What Docker would bind-mount.
        let ships = plan.iter().map(|(req, c, _)| async move {
            for s in &req.shared {
                if s.read_only {
                    let b = self.blob(&s.host_path).await?;
                    c.upload_cached(&b.sha, &b.bytes, b.archive, &s.node_path)
                        .await?;
                } else if s.host_path.is_dir() {
                    let b = self.blob(&s.host_path).await?;
                    c.script_with_input(
                        &format!("unpack {}", s.node_path),
                        &format!(
                            "set -e\nmkdir -p {p}\ntar -xf - -C {p}\n",
                            p = remote::sq(&s.node_path)
                        ),
                        &b.bytes,
                        Duration::from_secs(600),
                    )
                    .await?;
                    c.uploads
                        .bytes
                        .fetch_add(b.bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
                } else {
                    let data = std::fs::read(&s.host_path)
                        .with_context(|| format!("read {}", s.host_path.display()))?;
                    c.upload(&data, &s.node_path, true).await?;
                }
            }
            Ok::<_, anyhow::Error>(())
        });
        futures::future::try_join_all(ships).await?;
        Ok(plan
            .into_iter()
            .map(|(req, c, ip)| {
                Arc::new(SshHost::new(req.name.clone(), ip, req.env.clone(), c)) as Arc<dyn Host>
            })
            .collect())
    }

    async fn teardown(&self, cluster: &str) -> Result<()> {
        let file = self.hosts.path.display().to_string();
        on_all(&self.conns, |c| {
            let file = file.clone();
            async move {
            c.script(
                &format!("tear down cluster {cluster}"),
                &remote::teardown_script(Some(cluster)),
                Duration::from_secs(90),
            )
            .await
            .with_context(|| {
                format!(
                    "when the host answers again: `kafka-trial cluster down {cluster} --hosts {file}`"
                )
            })?;
            let written: Vec<String> = c
                .written
                .lock()
                .expect("not poisoned")
                .iter()
                .cloned()
                .collect();
            let fp = Footprint::parse(
                &c.script(
                    "look for what is left",
                    &remote::footprint_script(&written),
                    Duration::from_secs(30),
                )
                .await?,
            );
            if !fp.is_clean() {
                bail!(
                    "host {}: the teardown of cluster {cluster} left {}",
                    c.entry.name,
                    fp.describe()
                );
            }
            Ok(())
            }
        })
        .await
        .map(|_| ())
    }

    fn report(&self) -> Option<serde_json::Value> {
        Some(self.report_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_pack_the_same_way_every_time() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.jar"), b"bbb").unwrap();
        std::fs::write(dir.path().join("a.jar"), b"aa").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c"), b"c").unwrap();
        let one = Blob::pack(dir.path()).unwrap();
        // Touch a file: same content, later mtime, same checksum.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("a.jar"), b"aa").unwrap();
        let two = Blob::pack(dir.path()).unwrap();
        assert!(one.archive);
        assert_eq!(one.sha, two.sha);
        assert_eq!(one.sha.len(), 64);
        std::fs::write(dir.path().join("a.jar"), b"changed").unwrap();
        assert_ne!(Blob::pack(dir.path()).unwrap().sha, one.sha);
        let out = tempfile::tempdir().unwrap();
        assert_eq!(host::unpack_flat(&one.bytes, out.path()).unwrap(), 3);
        let file = Blob::pack(&dir.path().join("b.jar")).unwrap();
        assert!(!file.archive);
        assert_eq!(file.bytes, b"bbb");
    }
}
