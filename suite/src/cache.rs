//! The controller's cache folder (`~/.cache/kafka-trial`, or
//! `KAFKA_TRIAL_CACHE`): built images' rootfs trees, Kafka distributions,
//! and the locks that keep two trials from building the same thing at once.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// Where built rootfs trees and other caches live.
pub fn cache_dir() -> PathBuf {
    if let Ok(d) = std::env::var("KAFKA_TRIAL_CACHE") {
        return PathBuf::from(d);
    }
    let base = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cache")
        });
    base.join("kafka-trial")
}

/// An exclusive lock on `<cache>/<name>.lock`, across threads and
/// processes (flock), so that two trials starting at once do not both
/// build the image or resolve the same Kafka. Released on drop.
pub struct CacheLock {
    _file: std::fs::File,
    _guard: tokio::sync::MutexGuard<'static, ()>,
}

/// Take the cache lock `name` (waits for whoever holds it).
pub async fn cache_lock(name: &str) -> Result<CacheLock> {
    static IN_PROCESS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let guard = IN_PROCESS.lock().await;
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let path = dir.join(format!("{name}.lock"));
    let file = tokio::task::spawn_blocking(move || -> Result<std::fs::File> {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        // SAFETY: flock on a file descriptor we own; blocks until granted.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            bail!(
                "lock {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            );
        }
        Ok(f)
    })
    .await??;
    Ok(CacheLock {
        _file: file,
        _guard: guard,
    })
}

/// The full path of command `cmd` on PATH.
pub fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(cmd))
            .find(|p| p.is_file())
    })
}
