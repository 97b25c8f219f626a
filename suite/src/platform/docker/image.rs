//! The node image: a Debian rootfs made with `debootstrap` and imported
//! into Docker. No registry can be reached, so nothing is pulled.
//!
//! The image holds only the operating system (a headless JRE, iptables,
//! iproute2, procps, libfaketime, tini, ping). Kafka's jars and the
//! suite's broker-control script are mounted per cluster, so neither a new
//! Kafka version nor a change of the script needs a new image. The tag is
//! a hash of the recipe below: change the recipe and the tag changes.
//!
//! A variant, [`sshd_image`], adds `openssh-server` for the stand-in hosts
//! of the SSH platform (`platform::docker::sshd`). It is one layer on top
//! of the node image (apt inside a container of it, then `docker commit`),
//! built only when a sandbox asks for it: seconds instead of a second
//! debootstrap. Its tag hashes the node image's tag and its own recipe.

use super::engine as docker;
use crate::cache::{cache_dir, cache_lock, which};
use anyhow::{bail, Context, Result};
use bollard::models::{ContainerConfig, ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The Debian release the image is built from.
pub const SUITE: &str = "bookworm";
/// Packages added to the minimal base.
pub const PACKAGES: &[&str] = &[
    "openjdk-17-jre-headless",
    "iptables",
    "iproute2",
    "procps",
    "faketime",
    "tini",
    "iputils-ping",
];
/// Bumped by hand when the recipe changes in a way the lists above don't show.
const RECIPE_VERSION: u32 = 1;
const REPO: &str = "kafka-trial-node";

/// The image reference this recipe builds: `kafka-trial-node:<hash>`.
pub fn default_image() -> String {
    let mut h = Sha256::new();
    h.update(format!("{RECIPE_VERSION}|{SUITE}|{}", PACKAGES.join(",")));
    let d = h.finalize();
    let hex: String = d.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{REPO}:{hex}")
}

/// The Debian mirror the host's own apt uses, read from its sources
/// (deb822 `.sources` files and classic `sources.list`). Never hard-coded.
pub fn host_mirror() -> Result<String> {
    let mut files: Vec<PathBuf> = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let name = f.to_string_lossy().to_string();
        if !(name.ends_with(".list") || name.ends_with(".sources")) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Some(m) = mirror_in(&text, name.ends_with(".sources")) {
            return Ok(m);
        }
    }
    bail!(
        "found no Debian mirror in the host's apt sources (/etc/apt/sources.list, \
         /etc/apt/sources.list.d/): the node image is built with debootstrap from the \
         mirror the host uses; on a non-Debian host pass --image with an image you built"
    )
}

/// The first Debian main-archive URI in one sources file.
fn mirror_in(text: &str, deb822: bool) -> Option<String> {
    let is_main_archive = |uri: &str| {
        (uri.starts_with("http://") || uri.starts_with("https://"))
            && uri.trim_end_matches('/').ends_with("/debian")
    };
    if deb822 {
        for stanza in text.split("\n\n") {
            let mut uris = vec![];
            let mut is_deb = false;
            for line in stanza.lines() {
                let line = line.trim();
                if let Some(v) = line.strip_prefix("URIs:") {
                    uris.extend(v.split_whitespace().map(str::to_string));
                }
                if let Some(v) = line.strip_prefix("Types:") {
                    is_deb = v.split_whitespace().any(|t| t == "deb");
                }
                if line.starts_with("Enabled:") && line.contains("no") {
                    is_deb = false;
                }
            }
            if is_deb {
                if let Some(u) = uris.into_iter().find(|u| is_main_archive(u)) {
                    return Some(u);
                }
            }
        }
        None
    } else {
        text.lines()
            .map(str::trim)
            .filter(|l| l.starts_with("deb "))
            .flat_map(|l| l.split_whitespace().skip(1))
            .find(|w| is_main_archive(w))
            .map(str::to_string)
    }
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb.set_message(msg.to_string());
    pb
}

/// Make sure `reference` exists locally; build it if it is this recipe's
/// image and missing. A user-given image that is missing is an error.
pub async fn ensure(docker: &Docker, reference: &str) -> Result<()> {
    if docker::image_exists(docker, reference).await? {
        tracing::info!(image = reference, "image present");
        return Ok(());
    }
    let _lock = cache_lock("image").await?;
    if docker::image_exists(docker, reference).await? {
        tracing::info!(image = reference, "image present");
        return Ok(());
    }
    if reference != default_image() {
        bail!(
            "image {reference} is not present locally and cannot be pulled (no registry is \
             reachable); build the suite's own image with `kafka-trial image build` or omit --image"
        );
    }
    build(docker, false).await
}

/// Build this recipe's image (debootstrap → tar → docker import).
/// With `force`, rebuild even if it exists.
pub async fn build(docker: &Docker, force: bool) -> Result<()> {
    let reference = default_image();
    if !force && docker::image_exists(docker, &reference).await? {
        eprintln!("image {reference} already built");
        return Ok(());
    }
    if which("debootstrap").is_none() {
        bail!(
            "building the node image needs debootstrap: `apt-get install debootstrap` \
             (bash .ci/setup installs it)"
        );
    }
    let mirror = host_mirror()?;
    let started = Instant::now();
    let work = cache_dir().join("build");
    std::fs::create_dir_all(&work).with_context(|| format!("create {}", work.display()))?;
    let rootfs = work.join(format!("rootfs-{}", std::process::id()));
    if rootfs.exists() {
        std::fs::remove_dir_all(&rootfs).ok();
    }
    eprintln!(
        "building node image {reference}: debootstrap {SUITE} with {} (this takes a minute or two, once)",
        PACKAGES.join(", ")
    );
    let res = async {
        debootstrap(&rootfs, &mirror).await?;
        let t = Instant::now();
        import(docker, &rootfs, &reference).await?;
        eprintln!("imported into Docker in {:.1}s", t.elapsed().as_secs_f64());
        Ok::<_, anyhow::Error>(())
    }
    .await;
    std::fs::remove_dir_all(&rootfs).ok();
    res?;
    eprintln!(
        "node image {reference} built in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn debootstrap(rootfs: &Path, mirror: &str) -> Result<()> {
    let t = Instant::now();
    let pb = spinner("debootstrap: starting");
    let mut child = tokio::process::Command::new("debootstrap")
        .arg("--variant=minbase")
        .arg(format!("--include={}", PACKAGES.join(",")))
        .arg(SUITE)
        .arg(rootfs)
        .arg(mirror)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start debootstrap")?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let err_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut tail = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            tail.push(l);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
        tail
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut tail = Vec::new();
    while let Ok(Some(l)) = lines.next_line().await {
        pb.set_message(format!("debootstrap: {}", l.trim_start_matches("I: ")));
        tail.push(l);
        if tail.len() > 20 {
            tail.remove(0);
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(1800), child.wait())
        .await
        .context("debootstrap did not finish within 30 minutes")??;
    pb.finish_and_clear();
    let err_tail = err_task.await.unwrap_or_default();
    if !status.success() {
        bail!(
            "debootstrap failed ({status}):\n{}\n{}",
            tail.join("\n"),
            err_tail.join("\n")
        );
    }
    eprintln!("debootstrap done in {:.1}s", t.elapsed().as_secs_f64());
    Ok(())
}

async fn import(docker: &Docker, rootfs: &Path, reference: &str) -> Result<()> {
    let pb = spinner("packing the rootfs");
    let out = tokio::process::Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .args(["--numeric-owner", "-cf", "-", "."])
        .stderr(Stdio::piped())
        .output()
        .await
        .context("run tar")?;
    if !out.status.success() {
        bail!(
            "tar of the rootfs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    pb.set_message(format!(
        "importing {} MB into Docker",
        out.stdout.len() / 1_000_000
    ));
    let (repo, tag) = reference.split_once(':').unwrap_or((reference, "latest"));
    let opts = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .build();
    let mut stream = docker.create_image(
        Some(opts),
        Some(bollard::body_full(bytes::Bytes::from(out.stdout))),
        None,
    );
    while let Some(item) = stream.next().await {
        item.with_context(|| format!("docker import of {reference}"))?;
    }
    pb.finish_and_clear();
    if !docker::image_exists(docker, reference).await? {
        bail!("docker import finished but {reference} is not there");
    }
    Ok(())
}

/// What the sshd variant adds to the node image.
pub const SSHD_PACKAGES: &[&str] = &["openssh-server"];
const SSHD_REPO: &str = "kafka-trial-sshd";
/// Path of the variant's entry script (PID 1 `tini` runs it; it `exec`s sshd).
pub const SSHD_ENTRY: &str = "/usr/local/sbin/kt-sshd";

/// sshd's settings in the variant: root by key only, one host key (made per
/// container at its first start, so no two stand-ins share one), and room
/// for the many sessions a multiplexed controller opens at once (the
/// defaults, 10 sessions and 10 unauthenticated starts, are below what a
/// nemesis plus an observer plus the workload's checks use).
const SSHD_CONFIG: &str = "\
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
MaxSessions 100
MaxStartups 100:30:200
";

/// The entry script: a host key of its own, then sshd in the foreground.
const SSHD_START: &str = "\
#!/bin/sh
set -e
[ -s /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e
";

/// The layer's recipe, run as root in a container of the node image with
/// the controller's network (the node image's apt sources name the mirror
/// the controller's apt uses, and its package lists came with debootstrap;
/// only when they are stale does apt fetch new ones).
fn sshd_recipe() -> String {
    let pkgs = SSHD_PACKAGES.join(" ");
    format!(
        "set -e
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends {pkgs} || {{ apt-get update && apt-get install -y --no-install-recommends {pkgs}; }}
apt-get clean
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/ssh/sshd_config.d /root/.ssh
chmod 700 /root/.ssh
cat > /etc/ssh/sshd_config.d/kafka-trial.conf <<'KT_EOF'
{SSHD_CONFIG}KT_EOF
cat > {SSHD_ENTRY} <<'KT_EOF'
{SSHD_START}KT_EOF
chmod 755 {SSHD_ENTRY}
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f /tmp/kt-check-key
/usr/sbin/sshd -t -o HostKey=/tmp/kt-check-key
rm -f /tmp/kt-check-key /tmp/kt-check-key.pub
"
    )
}

/// The sshd variant's reference: `kafka-trial-sshd:<hash>` of the node
/// image's tag and the layer's recipe.
pub fn sshd_image() -> String {
    let mut h = Sha256::new();
    h.update(format!("{}|{}", default_image(), sshd_recipe()));
    let d = h.finalize();
    let hex: String = d.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{SSHD_REPO}:{hex}")
}

/// Make sure the sshd variant exists (building the node image first if
/// that is missing too); returns its reference.
pub async fn ensure_sshd(docker: &Docker) -> Result<String> {
    let reference = sshd_image();
    if docker::image_exists(docker, &reference).await? {
        return Ok(reference);
    }
    ensure(docker, &default_image()).await?;
    let _lock = cache_lock("image").await?;
    if !docker::image_exists(docker, &reference).await? {
        build_sshd(docker).await?;
    }
    Ok(reference)
}

/// Build the sshd variant: a container of the node image runs the recipe,
/// and is committed as the new image with tini → the entry script as its
/// command. The build container carries the suite's label, so `clean`
/// removes it should this process die half-way.
async fn build_sshd(docker: &Docker) -> Result<()> {
    let reference = sshd_image();
    let started = Instant::now();
    let container = format!("kt-image-build-sshd-{}", std::process::id());
    eprintln!(
        "building the stand-in host image {reference}: {} + {} (once)",
        default_image(),
        SSHD_PACKAGES.join(", ")
    );
    let body = ContainerCreateBody {
        image: Some(default_image()),
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), sshd_recipe()]),
        labels: Some([(super::LABEL.to_string(), "true".to_string())].into()),
        host_config: Some(HostConfig {
            network_mode: Some("host".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let res = async {
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
            .with_context(|| format!("create build container {container}"))?;
        docker
            .start_container(&container, None)
            .await
            .with_context(|| format!("start build container {container}"))?;
        let mut wait = docker.wait_container(&container, None);
        let code = match tokio::time::timeout(Duration::from_secs(600), wait.next()).await {
            Err(_) => bail!("the sshd layer was not built within 10 minutes"),
            Ok(Some(Ok(r))) => r.status_code,
            Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => code,
            Ok(Some(Err(e))) => return Err(e).context("wait for the build container"),
            Ok(None) => bail!("the engine ended the wait for {container} without a status"),
        };
        if code != 0 {
            let logs: Vec<String> = docker
                .logs(
                    &container,
                    Some(
                        LogsOptionsBuilder::default()
                            .stdout(true)
                            .stderr(true)
                            .tail("30")
                            .build(),
                    ),
                )
                .filter_map(|l| async move { l.ok().map(|l| l.to_string()) })
                .collect()
                .await;
            bail!(
                "the sshd layer's recipe failed (exit {code}); the last lines:\n{}",
                logs.concat()
            );
        }
        let (repo, tag) = reference.split_once(':').unwrap_or((&reference, "latest"));
        docker
            .commit_container(
                CommitContainerOptionsBuilder::default()
                    .container(&container)
                    .repo(repo)
                    .tag(tag)
                    .comment("kafka-trial stand-in host: the node image + openssh-server")
                    .build(),
                ContainerConfig {
                    cmd: Some(vec![
                        "/usr/bin/tini".into(),
                        "-s".into(),
                        "--".into(),
                        SSHD_ENTRY.into(),
                    ]),
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("commit {container} as {reference}"))?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    docker
        .remove_container(
            &container,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await
        .ok();
    res?;
    eprintln!(
        "stand-in host image {reference} built in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_deb822_mirror() {
        let t = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n\n\
                 Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(
            mirror_in(t, true).as_deref(),
            Some("http://mirror.example/debian")
        );
        let src = "Types: deb-src\nURIs: http://other.example/debian\n";
        assert_eq!(mirror_in(src, true), None);
    }

    #[test]
    fn reads_a_classic_mirror() {
        let t = "# comment\ndeb [arch=amd64] http://m.example/debian bookworm main\n";
        assert_eq!(
            mirror_in(t, false).as_deref(),
            Some("http://m.example/debian")
        );
        assert_eq!(
            mirror_in("deb http://m.example/ubuntu jammy main\n", false),
            None
        );
    }

    #[test]
    fn tag_follows_the_recipe() {
        let a = default_image();
        assert!(a.starts_with("kafka-trial-node:"));
        assert_eq!(a, default_image());
    }

    #[test]
    fn the_sshd_variant_has_its_own_tag_and_a_whole_recipe() {
        let s = sshd_image();
        assert!(s.starts_with("kafka-trial-sshd:"));
        assert_ne!(s.split(':').nth(1), default_image().split(':').nth(1));
        let r = sshd_recipe();
        assert!(r.contains("openssh-server"));
        // The heredocs are closed: the config and the script end with a newline.
        assert_eq!(r.matches("\nKT_EOF\n").count(), 2);
        assert!(r.contains("PermitRootLogin prohibit-password"));
    }
}
