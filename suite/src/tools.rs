//! Programs of the suite that run inside the nodes, embedded in the suite
//! at build time (`build.rs`) and written to the cache when a run needs
//! them, from where the platform shares them read-only into each node at
//! `/opt/kt/bin/<name>` — like the Kafka jars, so that a change to one
//! needs no new node image.
//!
//! A fault names the programs it needs in its `Requirements::tools`; the
//! cluster ([`crate::cluster`]) calls [`shared`] for each.

use crate::cache::cache_dir;
use crate::platform::Shared;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The FUSE filesystem of the `lose-unfsynced` and `power-loss` faults
/// (crate `kt-lazyfs`, built for this machine's target).
pub const KT_LAZYFS: &[u8] = include_bytes!(env!("KT_LAZYFS_EMBED"));

/// Where tools live inside a node.
pub const NODE_BIN: &str = "/opt/kt/bin";

/// The embedded bytes of a tool, by name.
pub fn embedded(name: &str) -> Option<&'static [u8]> {
    match name {
        trial_nemesis::LAZYFS_TOOL => Some(KT_LAZYFS),
        _ => None,
    }
}

/// Write tool `name` to `<cache>/tools/<sha256>/<name>` (once: the folder
/// is named by the content, and the file is written under a temporary
/// name and renamed, so a concurrent trial never sees half of it) and
/// return its path.
pub fn ensure(name: &str) -> Result<PathBuf> {
    ensure_in(&cache_dir(), name)
}

fn ensure_in(cache: &std::path::Path, name: &str) -> Result<PathBuf> {
    let Some(bytes) = embedded(name) else {
        bail!("a fault needs the tool {name:?}, which this build of the suite does not carry");
    };
    let sha = Sha256::digest(bytes);
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    let dir = cache.join("tools").join(hex);
    let path = dir.join(name);
    if path.is_file() && std::fs::metadata(&path)?.len() == bytes.len() as u64 {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("write {}", tmp.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(path)
}

/// The tool as a file shared read-only into the node at
/// `/opt/kt/bin/<name>`. One file, not the folder: `/opt/kt/bin` also
/// holds the control script the cluster uploads.
pub fn shared(name: &str) -> Result<Shared> {
    Ok(Shared {
        host_path: ensure(name)?,
        node_path: format!("{NODE_BIN}/{name}"),
        read_only: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filesystem_is_embedded_and_written_once_by_content() {
        assert!(KT_LAZYFS.len() > 1000, "a real program");
        assert_eq!(&KT_LAZYFS[..4], b"\x7fELF");
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_in(dir.path(), "kt-lazyfs").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), KT_LAZYFS);
        assert!(p.starts_with(dir.path().join("tools")));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(ensure_in(dir.path(), "kt-lazyfs").unwrap(), p);
        let e = ensure_in(dir.path(), "nope").unwrap_err().to_string();
        assert!(e.contains("\"nope\""), "{e}");
    }
}
