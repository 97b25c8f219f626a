//! The real daemon on this host's FUSE (root, /dev/fuse): the probe's
//! pattern survives a plain remount whole and a drop exactly as durable;
//! a MAP_SHARED mapping (Kafka's index files) works, keeps what msync made
//! durable and loses the rest. FUSE must work here: a failure to mount
//! fails the test (the project requires FUSE).

use std::fs::{self, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kt-lazyfs");

struct Mount {
    dir: PathBuf,
    child: Option<Child>,
}

impl Mount {
    fn mnt(&self) -> PathBuf {
        self.dir.join("mnt")
    }
    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }
    fn start(dir: &Path) -> Mount {
        let child = Command::new(BIN)
            .args(["mount", "--backing"])
            .arg(dir.join("backing"))
            .arg("--mountpoint")
            .arg(dir.join("mnt"))
            .arg("--state")
            .arg(dir.join("state"))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kt-lazyfs");
        let m = Mount {
            dir: dir.to_path_buf(),
            child: Some(child),
        };
        m.cli(&["wait-mounted", "--mountpoint", m.mnt().to_str().unwrap()]);
        m
    }
    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "kt-lazyfs {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    /// The power loss; returns the report.
    fn drop_unsynced(mut self) -> serde_json::Value {
        let line = self.cli(&[
            "drop",
            "--mountpoint",
            self.mnt().to_str().unwrap(),
            "--state",
            self.state().to_str().unwrap(),
        ]);
        self.child.take().unwrap().wait().unwrap();
        serde_json::from_str(line.trim()).unwrap()
    }
    fn unmount(mut self) {
        let st = Command::new("umount").arg(self.mnt()).status().unwrap();
        assert!(st.success());
        let st = self.child.take().unwrap().wait().unwrap();
        assert!(st.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("umount").arg("-l").arg(self.mnt()).status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn the_probe_keeps_live_state_across_a_remount_and_durable_state_across_a_drop() {
    let tmp = tempfile::tempdir().unwrap();
    let expect = tmp.path().join("expect.json");
    let e = expect.to_str().unwrap();
    let m = Mount::start(tmp.path());
    let probe = m.mnt().join("probe");
    let p = probe.to_str().unwrap().to_string();
    m.cli(&["probe", "prepare", &p, "--expect", e]);
    m.cli(&["probe", "check", &p, "--expect", e, "--live"]);
    // a plain unmount (a process crash, a clean stop) loses nothing
    m.unmount();
    let m = Mount::start(tmp.path());
    m.cli(&["probe", "check", &p, "--expect", e, "--live"]);
    // the durable state is not the live one: the check tells them apart
    let out = Command::new(BIN)
        .args(["probe", "check", &p, "--expect", e])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // everything there was durable at this mount: a drop now keeps it all
    let r = m.drop_unsynced();
    assert_eq!(r["bytes_dropped"], 0, "{r}");
    let m = Mount::start(tmp.path());
    m.cli(&["probe", "check", &p, "--expect", e, "--live"]);
    m.unmount();
    // again from scratch: prepare, then the power loss
    let tmp2 = tempfile::tempdir().unwrap();
    let m = Mount::start(tmp2.path());
    let probe = m.mnt().join("probe");
    let p = probe.to_str().unwrap().to_string();
    m.cli(&["probe", "prepare", &p, "--expect", e]);
    let r = m.drop_unsynced();
    assert!(r["bytes_dropped"].as_u64().unwrap() > 10_000, "{r}");
    assert!(r["files_removed"].as_u64().unwrap() >= 3, "{r}");
    assert!(r["files_restored"].as_u64().unwrap() >= 1, "{r}");
    let m = Mount::start(tmp2.path());
    m.cli(&["probe", "check", &p, "--expect", e]);
    m.unmount();
}

fn mmap_write(path: &Path, len: usize, writes: &[(usize, u8)], msync: bool) {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    // SAFETY: a fresh shared mapping of an open file of at least `len`
    // bytes, unmapped before the file closes.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(p, libc::MAP_FAILED, "{}", std::io::Error::last_os_error());
        let s = std::slice::from_raw_parts_mut(p as *mut u8, len);
        for &(off, b) in writes {
            s[off] = b;
        }
        if msync {
            assert_eq!(libc::msync(p, len, libc::MS_SYNC), 0);
        }
        libc::munmap(p, len);
    }
}

#[test]
fn a_shared_mapping_keeps_what_msync_made_durable() {
    let tmp = tempfile::tempdir().unwrap();
    let m = Mount::start(tmp.path());
    let idx = m.mnt().join("00000000000000000000.index");
    let len = 1 << 20;
    {
        let f = fs::File::create(&idx).unwrap();
        f.set_len(len as u64).unwrap(); // preallocated, like Kafka's indexes
        f.sync_all().unwrap();
        fs::File::open(m.mnt()).unwrap().sync_all().unwrap();
    }
    mmap_write(&idx, len, &[(0, 1), (5000, 2), (len - 1, 3)], true);
    mmap_write(&idx, len, &[(0, 9), (100_000, 4)], false);
    let live = fs::read(&idx).unwrap();
    assert_eq!(
        (live[0], live[5000], live[100_000], live[len - 1]),
        (9, 2, 4, 3)
    );
    let r = m.drop_unsynced();
    assert!(r["files_reverted"].as_u64().unwrap() == 1, "{r}");
    let back = fs::read(tmp.path().join("backing/00000000000000000000.index")).unwrap();
    assert_eq!(back.len(), len);
    assert_eq!(
        (back[0], back[5000], back[100_000], back[len - 1]),
        (1, 2, 0, 3)
    );
}
