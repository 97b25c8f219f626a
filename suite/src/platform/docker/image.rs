//! The node image: a Debian rootfs made with `debootstrap` and imported
//! into Docker. No registry can be reached, so nothing is pulled.
//!
//! The image holds only the operating system (a headless JRE, iptables,
//! iproute2, procps, libfaketime, tini, ping). Kafka's jars and the
//! suite's broker-control script are mounted per cluster, so neither a new
//! Kafka version nor a change of the script needs a new image. The tag is
//! a hash of the recipe below: change the recipe and the tag changes.

use super::engine as docker;
use crate::cache::{cache_dir, cache_lock, which};
use anyhow::{bail, Context, Result};
use bollard::query_parameters::CreateImageOptionsBuilder;
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
}
