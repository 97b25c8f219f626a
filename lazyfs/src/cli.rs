//! The command line the broker's control script speaks (stable: see
//! `lazyfs/README.md`): `mount`, `wait-mounted`, `drop`, `probe`.

use crate::fuse::LazyFs;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The name the mount carries (mountinfo's source field).
pub const FSNAME: &str = "kt-lazyfs";

#[derive(Parser)]
#[command(
    name = "kt-lazyfs",
    about = "A FUSE filesystem that can lose what was not fsynced"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve MOUNTPOINT as a passthrough of BACKING until it is unmounted
    /// (foreground). At the unmount, if STATE/drop exists, the backing
    /// folder becomes the durable state and STATE/dropped.json says what
    /// was dropped.
    Mount {
        #[arg(long)]
        backing: PathBuf,
        #[arg(long)]
        mountpoint: PathBuf,
        #[arg(long)]
        state: PathBuf,
    },
    /// Exit 0 as soon as MOUNTPOINT is a kt-lazyfs mount.
    WaitMounted {
        #[arg(long)]
        mountpoint: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
    /// The power loss of a mount whose users are dead: unmount, wait for the
    /// daemon to drop, print its report (one JSON line). Does not remount.
    Drop {
        #[arg(long)]
        mountpoint: PathBuf,
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value_t = 60_000)]
        timeout_ms: u64,
    },
    /// The test program: `prepare DIR --expect FILE` writes files with and
    /// without fsync and records what must remain; `check DIR --expect FILE
    /// [--live]` compares (exit 1 listing every difference).
    Probe {
        #[command(subcommand)]
        step: crate::probe::Step,
    },
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Mount {
            backing,
            mountpoint,
            state,
        } => mount(&backing, &mountpoint, &state),
        Cmd::WaitMounted {
            mountpoint,
            timeout_ms,
        } => wait_mounted(&mountpoint, Duration::from_millis(timeout_ms)),
        Cmd::Drop {
            mountpoint,
            state,
            timeout_ms,
        } => drop_cmd(&mountpoint, &state, Duration::from_millis(timeout_ms)),
        Cmd::Probe { step } => crate::probe::run(step),
    };
    match res {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("kt-lazyfs: {e:#}");
            1
        }
    }
}

fn log(msg: &str) {
    eprintln!("[kt-lazyfs {}] {msg}", std::process::id());
}

/// The mount's options: named kt-lazyfs, read-write, only the mounting
/// user (root, the broker's user) has access.
pub fn config() -> fuser::Config {
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::FSName(FSNAME.into()),
        fuser::MountOption::Subtype(FSNAME.into()),
        fuser::MountOption::RW,
        fuser::MountOption::Dev,
        fuser::MountOption::Suid,
    ];
    config
}

/// Serves the mount in the foreground until someone unmounts it.
pub fn mount(backing: &Path, mountpoint: &Path, state: &Path) -> Result<()> {
    std::fs::create_dir_all(state)?;
    std::fs::create_dir_all(mountpoint)?;
    let store = Store::open(backing).with_context(|| format!("opening {}", backing.display()))?;
    std::fs::write(state.join("pid"), std::process::id().to_string())?;
    let _ = std::fs::remove_file(state.join("dropped.json"));
    let (fs, inner) = LazyFs::new(store);
    let session = fuser::Session::new(fs, mountpoint, &config())
        .with_context(|| format!("mounting kt-lazyfs at {}", mountpoint.display()))?;
    log(&format!(
        "mounted {} over {}",
        mountpoint.display(),
        backing.display()
    ));
    let run = session.run();
    log(&format!("unmounted ({run:?})"));
    let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
    let marker = state.join("drop");
    if marker.exists() {
        let report = g
            .store
            .drop_unsynced()
            .context("dropping un-fsynced state")?;
        let line = serde_json::to_string(&report)?;
        let tmp = state.join("dropped.json.tmp");
        std::fs::write(&tmp, &line)?;
        std::fs::rename(&tmp, state.join("dropped.json"))?;
        std::fs::remove_file(&marker)?;
        log(&format!("dropped: {line}"));
    } else {
        log("no drop asked: the backing folder keeps the live state");
    }
    Ok(())
}

/// Whether `mountpoint` is a kt-lazyfs mount (`/proc/self/mountinfo`:
/// field 5 the mount point, after `-` the type and the source).
pub fn is_mounted(mountpoint: &Path) -> Result<bool> {
    let mp = std::fs::canonicalize(mountpoint).unwrap_or_else(|_| mountpoint.to_path_buf());
    let text = std::fs::read_to_string("/proc/self/mountinfo")?;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.len() > dash + 2
            && f.get(4).map(|p| Path::new(p) == mp).unwrap_or(false)
            && f[dash + 1].starts_with("fuse")
            && f[dash + 2] == FSNAME
        {
            return Ok(true);
        }
    }
    Ok(false)
}

fn wait_mounted(mountpoint: &Path, timeout: Duration) -> Result<()> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if is_mounted(mountpoint)? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "{} is not a kt-lazyfs mount after {} ms",
        mountpoint.display(),
        timeout.as_millis()
    )
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    if r != 0 {
        return false;
    }
    // a zombie (not yet reaped by its parent) has exited
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .map(|r| r.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn drop_cmd(mountpoint: &Path, state: &Path, timeout: Duration) -> Result<()> {
    if !is_mounted(mountpoint)? {
        bail!(
            "{} is not a kt-lazyfs mount: nothing to drop",
            mountpoint.display()
        );
    }
    let pid: i32 = std::fs::read_to_string(state.join("pid"))
        .with_context(|| format!("reading {}/pid", state.display()))?
        .trim()
        .parse()
        .context("the daemon's pid file")?;
    let report = state.join("dropped.json");
    let _ = std::fs::remove_file(&report);
    std::fs::write(state.join("drop"), b"")?;
    let c = std::ffi::CString::new(mountpoint.as_os_str().as_encoded_bytes())?;
    // SAFETY: a valid C string.
    if unsafe { libc::umount2(c.as_ptr(), 0) } != 0 {
        let e = std::io::Error::last_os_error();
        let _ = std::fs::remove_file(state.join("drop"));
        if e.raw_os_error() == Some(libc::EBUSY) {
            bail!(
                "unmounting {} failed: busy (a process still has a file open or its working directory there; kill the broker first)",
                mountpoint.display()
            );
        }
        bail!("unmounting {} failed: {e}", mountpoint.display());
    }
    let t0 = Instant::now();
    while pid_alive(pid) {
        if t0.elapsed() > timeout {
            bail!(
                "the kt-lazyfs daemon {pid} is still running {} ms after the unmount",
                timeout.as_millis()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let line = std::fs::read_to_string(&report).with_context(|| {
        format!(
            "the daemon {pid} exited without a drop report at {} (see its log)",
            report.display()
        )
    })?;
    println!("{}", line.trim());
    Ok(())
}
