//! The Docker platform: each node is a container (hostname `nK`) on a
//! private bridge network made for its cluster, labelled so that `clean`
//! finds whatever a run left. PID 1 is `tini` running `sleep`, so the
//! processes the Kafka layer starts inside are children that can be
//! SIGKILLed, SIGSTOPped and restarted while the container, its address and
//! its iptables rules stay (a JVM as PID 1 ignores SIGKILL from inside its
//! namespace).
//!
//! - [`engine`]: connecting to the engine (bollard) and `exec`;
//! - [`image`]: the node image, built locally with debootstrap;
//! - [`host`]: [`ContainerHost`], the [`Host`] of one container;
//! - [`sshd`]: containers running sshd that stand in for the SSH platform's hosts.

pub mod engine;
pub mod host;
pub mod image;
pub mod sshd;

pub use engine::{LABEL, LABEL_CLUSTER};
pub use host::ContainerHost;

use super::{Host, NodeRequest, Platform};
use anyhow::{anyhow, Context, Result};
use async_trait::async_trait;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

/// Containers of one image on one engine.
#[derive(Debug, Clone)]
pub struct DockerPlatform {
    docker: Docker,
    image: String,
}

impl DockerPlatform {
    /// Connect to the engine and make sure `image` (default: the suite's
    /// own, built when missing) is there.
    pub async fn connect(image: Option<&str>) -> Result<DockerPlatform> {
        let docker = engine::connect().await?;
        let image = image
            .map(str::to_string)
            .unwrap_or_else(image::default_image);
        image::ensure(&docker, &image).await?;
        Ok(DockerPlatform { docker, image })
    }

    pub fn image(&self) -> &str {
        &self.image
    }

    fn network(cluster: &str) -> String {
        format!("kt-{cluster}")
    }
}

#[async_trait]
impl Platform for DockerPlatform {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn provision(&self, cluster: &str, nodes: &[NodeRequest]) -> Result<Vec<Arc<dyn Host>>> {
        let network = Self::network(cluster);
        // The owner (this process) on everything: `clean` never removes
        // what a live controller runs (see `owner`).
        let mut labels: HashMap<String, String> = [
            (LABEL.to_string(), "true".to_string()),
            (LABEL_CLUSTER.to_string(), cluster.to_string()),
            (
                crate::owner::LABEL_OWNER.to_string(),
                crate::owner::Owner::me().label(),
            ),
        ]
        .into();
        if let Some(req) = nodes.first() {
            labels.extend(req.labels.iter().cloned());
        }
        self.docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("create network {network}"))?;
        if self.image == image::default_image() {
            for req in nodes {
                for p in &req.packages {
                    if !image::PACKAGES.contains(&p.as_str()) {
                        anyhow::bail!(
                            "{} needs the package {p}, which the node image {} does not have",
                            req.name,
                            self.image
                        );
                    }
                }
            }
        }
        let mut hosts: Vec<Arc<dyn Host>> = vec![];
        for req in nodes {
            let container = format!("kt-{cluster}-{}", req.name);
            let binds = req
                .shared
                .iter()
                .map(|s| {
                    format!(
                        "{}:{}{}",
                        s.host_path.display(),
                        s.node_path,
                        if s.read_only { ":ro" } else { "" }
                    )
                })
                .collect();
            let devices = req
                .devices
                .iter()
                .map(|d| bollard::models::DeviceMapping {
                    path_on_host: Some(d.clone()),
                    path_in_container: Some(d.clone()),
                    cgroup_permissions: Some("rwm".into()),
                })
                .collect::<Vec<_>>();
            let host_config = HostConfig {
                binds: Some(binds),
                cap_add: Some(req.capabilities.clone()),
                devices: (!devices.is_empty()).then_some(devices),
                network_mode: Some(network.clone()),
                init: Some(false),
                ..Default::default()
            };
            let body = ContainerCreateBody {
                image: Some(self.image.clone()),
                hostname: Some(req.name.clone()),
                cmd: Some(vec![
                    "/usr/bin/tini".into(),
                    "-s".into(),
                    "--".into(),
                    "sleep".into(),
                    "infinity".into(),
                ]),
                env: Some(req.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
                labels: Some(labels.clone()),
                host_config: Some(host_config),
                ..Default::default()
            };
            self.docker
                .create_container(
                    Some(
                        CreateContainerOptionsBuilder::default()
                            .name(&container)
                            .build(),
                    ),
                    body,
                )
                .await
                .with_context(|| format!("create container {container} from {}", self.image))?;
            self.docker
                .start_container(&container, None)
                .await
                .with_context(|| format!("start container {container}"))?;
            let ip = container_ip(&self.docker, &container, &network).await?;
            hosts.push(Arc::new(ContainerHost::new(
                req.name.clone(),
                container,
                ip,
                self.docker.clone(),
            )));
        }
        Ok(hosts)
    }

    async fn teardown(&self, cluster: &str) -> Result<()> {
        // A connection of its own: teardown may run on another runtime than
        // the one that made `self.docker` (a `Drop` on its own thread).
        let docker = engine::connect().await?;
        remove_labelled(&docker, Some(cluster)).await.map(|_| ())
    }
}

async fn container_ip(docker: &Docker, container: &str, network: &str) -> Result<IpAddr> {
    let info = docker.inspect_container(container, None).await?;
    let ip = info
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|e| e.ip_address)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow!("container {container} has no address on {network}"))?;
    ip.parse()
        .with_context(|| format!("address {ip:?} of {container}"))
}

/// Remove every container and network labelled with this cluster id
/// (or, with `None`, with the suite's label at all).
pub async fn remove_labelled(docker: &Docker, cluster: Option<&str>) -> Result<(usize, usize)> {
    let label = match cluster {
        Some(id) => format!("{LABEL_CLUSTER}={id}"),
        None => LABEL.to_string(),
    };
    remove_with_label(docker, &label).await
}

/// Remove every container and network matching the engine's label filter
/// `label` (`key` or `key=value`); returns how many of each.
pub async fn remove_with_label(docker: &Docker, label: &str) -> Result<(usize, usize)> {
    let label = label.to_string();
    let filters: HashMap<String, Vec<String>> = [("label".to_string(), vec![label])].into();
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .context("list containers")?;
    let mut nc = 0;
    let removals = containers.iter().filter_map(|c| c.id.clone()).map(|id| {
        let docker = docker.clone();
        async move {
            docker
                .remove_container(
                    &id,
                    Some(
                        RemoveContainerOptionsBuilder::default()
                            .force(true)
                            .v(true)
                            .build(),
                    ),
                )
                .await
        }
    });
    for r in futures::future::join_all(removals).await {
        match r {
            Ok(()) => nc += 1,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(e).context("remove container"),
        }
    }
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .context("list networks")?;
    let mut nn = 0;
    for n in networks {
        if let Some(id) = n.id {
            match docker.remove_network(&id).await {
                Ok(()) => nn += 1,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(e).context("remove network"),
            }
        }
    }
    Ok((nc, nn))
}

/// A cluster left running by `cluster up`, found again by its labels.
#[derive(Debug, Clone, Serialize)]
pub struct FoundCluster {
    pub id: String,
    /// (node name, container, ip, running?) in node order.
    pub nodes: Vec<(String, String, String, bool)>,
}

impl FoundCluster {
    /// `ip:port,…` of the nodes whose name starts with `n` (not the
    /// dedicated controllers `cK`).
    pub fn addresses(&self, port: u16) -> String {
        self.nodes
            .iter()
            .filter(|(name, ..)| name.starts_with('n'))
            .map(|(_, _, ip, _)| format!("{ip}:{port}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The engine's filter for what the suite made: its label.
pub fn label_filter() -> HashMap<String, Vec<String>> {
    [("label".to_string(), vec![LABEL.to_string()])].into()
}

/// Every container the suite made (running or not), by its label.
pub async fn labelled_containers(
    docker: &Docker,
) -> Result<Vec<bollard::models::ContainerSummary>, bollard::errors::Error> {
    let filters = label_filter();
    docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
}

/// Every cluster the suite has running, found by label.
pub async fn find_clusters(docker: &Docker) -> Result<Vec<FoundCluster>> {
    let containers = labelled_containers(docker).await?;
    let mut by_id: BTreeMap<String, FoundCluster> = BTreeMap::new();
    for c in containers {
        let labels = c.labels.clone().unwrap_or_default();
        let Some(id) = labels.get(LABEL_CLUSTER).cloned() else {
            continue;
        };
        let name = c
            .names
            .clone()
            .unwrap_or_default()
            .first()
            .cloned()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        let node = name.rsplit('-').next().unwrap_or("").to_string();
        let ip = c
            .network_settings
            .and_then(|s| s.networks)
            .and_then(|n| n.into_values().next())
            .and_then(|e| e.ip_address)
            .unwrap_or_default();
        let running = c.state.map(|s| s.to_string() == "running").unwrap_or(false);
        by_id
            .entry(id.clone())
            .or_insert_with(|| FoundCluster { id, nodes: vec![] })
            .nodes
            .push((node, name, ip, running));
    }
    let mut v: Vec<FoundCluster> = by_id.into_values().collect();
    for c in &mut v {
        c.nodes.sort_by_key(|(n, ..)| {
            let (p, num) = n.split_at(1.min(n.len()));
            (p.to_string(), num.parse::<u32>().unwrap_or(0))
        });
    }
    Ok(v)
}
