//! One machine over SSH: a [`Connection`] (the multiplexed session, what
//! was uploaded to it, what was written outside our folders) and the
//! [`SshHost`] a node of the cluster sees.
//!
//! Every command goes through one master connection per host (OpenSSH's
//! ControlMaster, driven by the `openssh` crate): the first costs a TCP
//! and key exchange, each later one a local `ssh -S` on the control socket.
//! A command runs as `[sudo -n] env PATH=… K=V… timeout -k 5 T argv…`: the
//! node's environment (what Docker gives a container), a bounded life on
//! the host as well as here, root when the user is not.
//!
//! A host that stops answering makes a command fail (exit 255 with a dead
//! master, or no answer within the timeout): the caller gets an error —
//! a [`NodeError`] for the nemesis and the observer to record — and the
//! next command connects afresh.

use super::hosts::HostEntry;
use super::remote::{self, under_roots, PATH};
use crate::platform::Host;
use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use trial_nemesis::{ExecOutput, NodeError};

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Keep-alive of the master connection: a host silent for 3 of these is
/// dropped (and connected afresh by the next command).
pub const ALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// What a command may take on the host beyond its own timeout before
/// `timeout -k` kills it, and here before we stop waiting.
const GRACE: Duration = Duration::from_secs(5);

/// Bytes sent to one host, counted as they go.
#[derive(Debug, Default)]
pub struct UploadCounters {
    /// Every byte of file content sent (cache fills and plain files).
    pub bytes: AtomicU64,
    /// Of those, the cache fills (Kafka jars, suite tools).
    pub cache_bytes: AtomicU64,
    /// Cached contents found on the host (not sent).
    pub cache_hits: AtomicU64,
    /// Cached contents sent.
    pub cache_misses: AtomicU64,
}

/// A snapshot of [`UploadCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UploadStats {
    pub bytes: u64,
    pub cache_bytes: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
}

impl UploadCounters {
    pub fn snapshot(&self) -> UploadStats {
        UploadStats {
            bytes: self.bytes.load(Ordering::Relaxed),
            cache_bytes: self.cache_bytes.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
        }
    }
}

/// How a command failed to give an answer.
#[derive(Debug)]
pub enum RunError {
    /// No session, or the session broke.
    Unreachable(String),
    /// It did not finish within its time.
    Timeout(Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Unreachable(m) => write!(f, "unreachable over SSH: {m}"),
            RunError::Timeout(t) => write!(f, "did not finish within {t:?}"),
        }
    }
}

/// The words run on the host for `argv` (the crate quotes each for the
/// remote shell).
pub fn remote_argv(
    sudo: bool,
    env: &[(String, String)],
    timeout: Duration,
    argv: &[&str],
) -> Vec<String> {
    let mut v: Vec<String> = vec![];
    if sudo {
        v.extend(["sudo".into(), "-n".into()]);
    }
    v.push("env".into());
    v.push(format!("PATH={PATH}"));
    v.extend(env.iter().map(|(k, val)| format!("{k}={val}")));
    v.extend([
        "timeout".into(),
        "-k".into(),
        GRACE.as_secs().to_string(),
        format!("{}", timeout.as_secs().max(1)),
    ]);
    v.extend(argv.iter().map(|s| s.to_string()));
    v
}

/// One host of the hosts file: its session and what this process did to it.
#[derive(Debug)]
pub struct Connection {
    pub entry: HostEntry,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
    pub uploads: UploadCounters,
    /// Files written outside the roots (a teardown removes them, and
    /// checks that they are gone).
    pub written: Mutex<BTreeSet<String>>,
}

impl Connection {
    pub fn new(entry: HostEntry) -> Connection {
        Connection {
            entry,
            session: tokio::sync::Mutex::new(None),
            uploads: UploadCounters::default(),
            written: Mutex::new(BTreeSet::new()),
        }
    }

    fn builder(&self) -> SessionBuilder {
        let e = &self.entry;
        let mut b = SessionBuilder::default();
        b.user(e.user.clone())
            .port(e.port)
            .connect_timeout(CONNECT_TIMEOUT)
            .server_alive_interval(ALIVE_INTERVAL)
            .control_directory(std::env::temp_dir())
            .control_persist(openssh::ControlPersist::IdleFor(
                std::num::NonZeroUsize::new(600).expect("non-zero"),
            ));
        if let Some(k) = &e.key {
            b.keyfile(k);
        }
        match &e.known_hosts {
            Some(k) => {
                b.known_hosts_check(KnownHosts::Strict)
                    .user_known_hosts_file(k);
            }
            None => {
                b.known_hosts_check(KnownHosts::Add);
            }
        }
        b
    }

    /// The live session, connecting if there is none.
    pub async fn session(&self) -> Result<Arc<Session>, RunError> {
        let mut g = self.session.lock().await;
        if let Some(s) = g.as_ref() {
            return Ok(s.clone());
        }
        let e = &self.entry;
        let s = tokio::time::timeout(CONNECT_TIMEOUT + GRACE, self.builder().connect(&e.address))
            .await
            .map_err(|_| {
                RunError::Unreachable(format!("no connection within {CONNECT_TIMEOUT:?}"))
            })?
            .map_err(|err| RunError::Unreachable(format!("{err}")))?;
        let s = Arc::new(s);
        *g = Some(s.clone());
        Ok(s)
    }

    /// Forget a broken session (the next command connects afresh).
    async fn forget(&self, broken: &Arc<Session>) {
        let mut g = self.session.lock().await;
        if g.as_ref().is_some_and(|s| Arc::ptr_eq(s, broken)) {
            *g = None;
        }
    }

    /// Close the session (its master process ends).
    pub async fn close(&self) {
        let s = self.session.lock().await.take();
        if let Some(s) = s {
            if let Ok(s) = Arc::try_unwrap(s) {
                let _ = s.close().await;
            }
        }
    }

    /// Run `words` on the host (already wrapped by [`remote_argv`]), with
    /// `stdin` as its standard input, waiting at most `wait`.
    pub async fn run(
        &self,
        words: &[String],
        stdin: Option<&[u8]>,
        wait: Duration,
    ) -> Result<std::process::Output, RunError> {
        let session = self.session().await?;
        let fut = async {
            let mut cmd = session.command(words[0].as_str());
            cmd.args(words[1..].iter().map(String::as_str))
                .stdin(if stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().await.map_err(|e| format!("{e}"))?;
            if let (Some(data), Some(mut w)) = (stdin, child.stdin().take()) {
                // A host that dies mid-upload ends the write with an error;
                // the exit status then says what happened.
                let _ = w.write_all(data).await;
                let _ = w.shutdown().await;
                drop(w);
            }
            child.wait_with_output().await.map_err(|e| format!("{e}"))
        };
        let out = match tokio::time::timeout(wait + GRACE, fut).await {
            Err(_) => return Err(RunError::Timeout(wait)),
            Ok(Err(m)) => {
                self.forget(&session).await;
                return Err(RunError::Unreachable(m));
            }
            Ok(Ok(o)) => o,
        };
        // 255 is ssh's own failure (or, rarely, the command's): ask the
        // master whether it is still there.
        if out.status.code() == Some(255) && session.check().await.is_err() {
            self.forget(&session).await;
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(RunError::Unreachable(if err.is_empty() {
                "the connection was lost".into()
            } else {
                err
            }));
        }
        Ok(out)
    }

    /// Run `argv` as root with `env`, bounded by `timeout`.
    pub async fn exec(
        &self,
        env: &[(String, String)],
        argv: &[&str],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<std::process::Output, RunError> {
        let words = remote_argv(self.entry.needs_sudo(), env, timeout, argv);
        let out = self.run(&words, stdin, timeout).await?;
        // `timeout` exits 124 when it had to stop the command.
        if out.status.code() == Some(124) {
            return Err(RunError::Timeout(timeout));
        }
        Ok(out)
    }

    /// Run a script of [`remote`] fed on standard input to `bash -s`, and
    /// fail with its message unless it exits 0.
    pub async fn script(&self, what: &str, script: &str, timeout: Duration) -> Result<String> {
        let out = self
            .checked(what, &["bash", "-s"], Some(script.as_bytes()), timeout)
            .await?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Run `script` with `bash -c`, `data` on its standard input.
    pub async fn script_with_input(
        &self,
        what: &str,
        script: &str,
        data: &[u8],
        timeout: Duration,
    ) -> Result<()> {
        self.checked(what, &["bash", "-c", script], Some(data), timeout)
            .await
            .map(|_| ())
    }

    /// Run `argv` (`stdin` on its standard input) and fail, naming the
    /// host, `what` and the exit status, unless it succeeded.
    async fn checked(
        &self,
        what: &str,
        argv: &[&str],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<std::process::Output> {
        let out = self
            .exec(&[], argv, stdin, timeout)
            .await
            .map_err(|e| anyhow!("host {}: {what}: {e}", self.entry.name))?;
        if !out.status.success() {
            bail!(
                "host {}: {what} failed (exit {}): {}",
                self.entry.name,
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out)
    }

    /// Put `contents` at `path` (see [`remote::upload_script`]), counted.
    pub async fn upload(&self, contents: &[u8], path: &str, executable: bool) -> Result<()> {
        if !path.starts_with('/') || path.ends_with('/') {
            bail!("upload to {path:?}: not an absolute file path");
        }
        if !under_roots(path) {
            self.written
                .lock()
                .expect("not poisoned")
                .insert(path.to_string());
        }
        let t = Duration::from_secs(60 + contents.len() as u64 / 1_000_000);
        self.script_with_input(
            &format!("upload {path}"),
            &remote::upload_script(path, executable),
            contents,
            t,
        )
        .await?;
        self.uploads
            .bytes
            .fetch_add(contents.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Make `node_path` the content `blob` (checksum `sha`), sending it
    /// only if the host's cache lacks it.
    pub async fn upload_cached(
        &self,
        sha: &str,
        blob: &[u8],
        archive: bool,
        node_path: &str,
    ) -> Result<()> {
        let probe = self
            .exec(
                &[],
                &["bash", "-c", &remote::cache_probe_script(sha)],
                None,
                Duration::from_secs(30),
            )
            .await
            .map_err(|e| anyhow!("host {}: cache probe: {e}", self.entry.name))?;
        if probe.status.success() {
            self.uploads.cache_hits.fetch_add(1, Ordering::Relaxed);
        } else {
            let t = Duration::from_secs(120 + blob.len() as u64 / 500_000);
            self.script_with_input(
                &format!("fill the cache with {node_path} ({} bytes)", blob.len()),
                &remote::cache_fill_script(sha, archive),
                blob,
                t,
            )
            .await?;
            let n = blob.len() as u64;
            self.uploads.bytes.fetch_add(n, Ordering::Relaxed);
            self.uploads.cache_bytes.fetch_add(n, Ordering::Relaxed);
            self.uploads.cache_misses.fetch_add(1, Ordering::Relaxed);
        }
        self.script_with_input(
            &format!("link {node_path} to the cache"),
            &remote::cache_link_script(sha, node_path),
            &[],
            Duration::from_secs(30),
        )
        .await
    }

    /// Copy the file or the folder's regular files at `path` into `dest`.
    pub async fn download(&self, path: &str, dest: &Path) -> Result<usize> {
        let out = self
            .exec(
                &[],
                &["bash", "-c", &remote::download_script(path)],
                None,
                Duration::from_secs(300),
            )
            .await
            .map_err(|e| anyhow!("host {}: download {path}: {e}", self.entry.name))?;
        if !out.status.success() {
            bail!(
                "host {}: download {path}: {}",
                self.entry.name,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        unpack_flat(&out.stdout, dest)
            .with_context(|| format!("unpack {path} from {}", self.entry.name))
    }
}

/// Extract the regular files of a tar archive into `dest` by file name
/// (as the Docker platform's download does).
pub fn unpack_flat(tar_bytes: &[u8], dest: &Path) -> Result<usize> {
    std::fs::create_dir_all(dest)?;
    let mut n = 0;
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let Some(name) = entry.path()?.file_name().map(|f| f.to_owned()) else {
            continue;
        };
        let mut f = std::fs::File::create(dest.join(name))?;
        std::io::copy(&mut entry, &mut f)?;
        n += 1;
    }
    Ok(n)
}

/// A node of the SSH platform.
#[derive(Debug)]
pub struct SshHost {
    node: String,
    ip: IpAddr,
    env: Vec<(String, String)>,
    pub conn: Arc<Connection>,
}

impl SshHost {
    pub fn new(
        node: String,
        ip: IpAddr,
        env: Vec<(String, String)>,
        conn: Arc<Connection>,
    ) -> Self {
        SshHost {
            node,
            ip,
            env,
            conn,
        }
    }
}

#[async_trait]
impl Host for SshHost {
    fn name(&self) -> &str {
        &self.node
    }

    fn ip(&self) -> IpAddr {
        self.ip
    }

    async fn exec(&self, argv: &[&str], timeout: Duration) -> Result<ExecOutput, NodeError> {
        let err = |msg: String| NodeError::Exec {
            node: self.node.clone(),
            cmd: argv.join(" "),
            msg: format!("host {}: {msg}", self.conn.entry.name),
        };
        if argv.is_empty() {
            return Err(err("empty command".into()));
        }
        let out = self
            .conn
            .exec(&self.env, argv, None, timeout)
            .await
            .map_err(|e| err(e.to_string()))?;
        Ok(ExecOutput {
            code: out.status.code().map(i64::from).unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    async fn upload(&self, contents: &[u8], path: &str, executable: bool) -> Result<()> {
        self.conn.upload(contents, path, executable).await
    }

    async fn download(&self, path: &str, dest: &Path) -> Result<usize> {
        self.conn.download(path, dest).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_carry_env_sudo_and_a_bound() {
        let env = vec![("KT_HEAP_MB".to_string(), "512".to_string())];
        let w = remote_argv(
            false,
            &env,
            Duration::from_secs(30),
            &["/opt/kt/bin/broker", "start"],
        );
        assert_eq!(
            w.join(" "),
            format!("env PATH={PATH} KT_HEAP_MB=512 timeout -k 5 30 /opt/kt/bin/broker start")
        );
        let w = remote_argv(true, &[], Duration::from_millis(200), &["true"]);
        assert_eq!(&w[..3], ["sudo", "-n", "env"]);
        // Never `timeout 0` (which would mean no bound at all).
        assert_eq!(w[w.len() - 2], "1");
    }

    #[test]
    fn downloads_unpack_flat() {
        let mut b = tar::Builder::new(Vec::new());
        for (p, data) in [("./server.log", &b"a"[..]), ("./sub/x.out", &b"bc"[..])] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, p, data).unwrap();
        }
        let bytes = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unpack_flat(&bytes, dir.path()).unwrap(), 2);
        assert_eq!(std::fs::read(dir.path().join("x.out")).unwrap(), b"bc");
    }
}
