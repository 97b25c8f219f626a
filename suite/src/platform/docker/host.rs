//! One container as a [`Host`]: exec through the engine, files in and out
//! as tar archives (the engine's archive API).

use super::engine;
use crate::platform::Host;
use anyhow::{Context, Result};
use async_trait::async_trait;
use bollard::query_parameters::{DownloadFromContainerOptions, UploadToContainerOptions};
use bollard::Docker;
use futures::TryStreamExt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;
use trial_nemesis::{ExecOutput, NodeError};

/// A node of the Docker platform.
#[derive(Debug)]
pub struct ContainerHost {
    name: String,
    /// Docker container name (`kt-<cluster>-<node>`).
    pub container: String,
    ip: IpAddr,
    docker: Docker,
}

impl ContainerHost {
    pub fn new(name: String, container: String, ip: IpAddr, docker: Docker) -> Self {
        ContainerHost {
            name,
            container,
            ip,
            docker,
        }
    }
}

#[async_trait]
impl Host for ContainerHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn ip(&self) -> IpAddr {
        self.ip
    }

    async fn exec(&self, argv: &[&str], timeout: Duration) -> Result<ExecOutput, NodeError> {
        engine::exec(&self.docker, &self.container, argv, timeout)
            .await
            .map(|r| ExecOutput {
                code: r.code,
                stdout: r.stdout,
                stderr: r.stderr,
            })
            .map_err(|e| NodeError::Exec {
                node: self.name.clone(),
                cmd: argv.join(" "),
                msg: format!("{e:#}"),
            })
    }

    async fn upload(&self, contents: &[u8], path: &str, executable: bool) -> Result<()> {
        let p = Path::new(path);
        let (dir, file) = match (p.parent(), p.file_name()) {
            (Some(d), Some(f)) if p.is_absolute() => (d, f),
            _ => anyhow::bail!("upload to {path:?}: not an absolute file path"),
        };
        let out = self
            .exec(
                &["mkdir", "-p", &dir.to_string_lossy()],
                Duration::from_secs(30),
            )
            .await?;
        if !out.success() {
            anyhow::bail!("mkdir {} on {}: {}", dir.display(), self.name, out.stderr);
        }
        let mut archive = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(if executable { 0o755 } else { 0o644 });
        header.set_cksum();
        archive.append_data(&mut header, file, contents)?;
        let bytes = archive.into_inner()?;
        self.docker
            .upload_to_container(
                &self.container,
                Some(UploadToContainerOptions {
                    path: dir.to_string_lossy().into_owned(),
                    ..Default::default()
                }),
                bollard::body_full(bytes.into()),
            )
            .await
            .with_context(|| format!("upload {path} to {}", self.name))
    }

    async fn download(&self, path: &str, dest: &Path) -> Result<usize> {
        let chunks: Vec<bytes::Bytes> = self
            .docker
            .download_from_container(
                &self.container,
                Some(DownloadFromContainerOptions {
                    path: path.to_string(),
                }),
            )
            .try_collect()
            .await
            .with_context(|| format!("download {path} from {}", self.name))?;
        let bytes: Vec<u8> = chunks.concat();
        std::fs::create_dir_all(dest)?;
        let mut n = 0;
        let mut archive = tar::Archive::new(bytes.as_slice());
        for entry in archive.entries()? {
            let mut entry = entry?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            // Only the file name: the archive holds `<folder>/<file>`.
            let Some(name) = entry.path()?.file_name().map(|f| f.to_owned()) else {
                continue;
            };
            let mut f = std::fs::File::create(dest.join(name))?;
            std::io::copy(&mut entry, &mut f)?;
            n += 1;
        }
        Ok(n)
    }
}
