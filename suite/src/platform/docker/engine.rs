//! The Docker engine: finding it, and the few calls the cluster needs.
//!
//! We talk to the engine with `bollard` directly rather than through
//! `testcontainers`: testcontainers-rs 0.28 pins the Docker API version to
//! 1.53 with no way to lower it, and the engine Debian ships (`docker.io`,
//! 20.10 on bookworm) answers every such request with "client version 1.53
//! is too new. Maximum supported API version is 1.41". bollard negotiates
//! the version with the engine, so the suite works with old and new engines.

use anyhow::{anyhow, bail, Context, Result};
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures::StreamExt;
use std::time::Duration;

/// Label put on every container and network the suite creates; `clean`
/// removes everything that carries it.
pub const LABEL: &str = "kafka-trial";
/// Label holding the id of the cluster a container or network belongs to.
pub const LABEL_CLUSTER: &str = "kafka-trial.cluster";

const HOW_TO_GET_ONE: &str = "kafka-trial needs a running Docker engine. On Debian, as root: \
     `apt-get install docker.io` and start it with `dockerd &` (or `systemctl start docker`); \
     `bash .ci/setup` does both. Set DOCKER_HOST if your engine listens elsewhere.";

/// Connect to the engine (DOCKER_HOST or the local socket) and agree on an
/// API version. Fails with a message saying how to get an engine.
pub async fn connect() -> Result<Docker> {
    let docker = Docker::connect_with_defaults()
        .map_err(|e| anyhow!("cannot reach the Docker engine: {e}. {HOW_TO_GET_ONE}"))?;
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| anyhow!("the Docker engine did not answer within 10 s. {HOW_TO_GET_ONE}"))?
        .map_err(|e| anyhow!("cannot reach the Docker engine: {e}. {HOW_TO_GET_ONE}"))?;
    docker
        .ping()
        .await
        .map_err(|e| anyhow!("the Docker engine does not answer: {e}. {HOW_TO_GET_ONE}"))?;
    Ok(docker)
}

/// The output of a command run in a container.
#[derive(Debug, Clone, Default)]
pub struct ExecResult {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Run `argv` inside `container` as root and wait (bounded) for it.
pub async fn exec(
    docker: &Docker,
    container: &str,
    argv: &[&str],
    timeout: Duration,
) -> Result<ExecResult> {
    let created = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(argv.iter().map(|s| s.to_string()).collect()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                user: Some("root".to_string()),
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("exec {argv:?} in {container}"))?;
    let run = async {
        let mut res = ExecResult::default();
        match docker.start_exec(&created.id, None).await? {
            StartExecResults::Attached { mut output, .. } => {
                while let Some(item) = output.next().await {
                    match item? {
                        bollard::container::LogOutput::StdErr { message } => {
                            res.stderr.push_str(&String::from_utf8_lossy(&message))
                        }
                        other => res
                            .stdout
                            .push_str(&String::from_utf8_lossy(&other.into_bytes())),
                    }
                }
            }
            StartExecResults::Detached => {}
        }
        let inspected = docker.inspect_exec(&created.id).await?;
        res.code = inspected.exit_code.unwrap_or(-1);
        Ok::<_, bollard::errors::Error>(res)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r.with_context(|| format!("exec {argv:?} in {container}")),
        Err(_) => bail!("exec {argv:?} in {container} did not finish within {timeout:?}"),
    }
}

/// Whether an image with this exact reference exists locally.
pub async fn image_exists(docker: &Docker, reference: &str) -> Result<bool> {
    match docker.inspect_image(reference).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("inspect image {reference}")),
    }
}
