//! What the filesystem costs: a segment-like append of 1 KiB records and a
//! memory-mapped index, directly on a folder and through kt-lazyfs mounted
//! over it (in this process). Prints MB/s both ways and the ratio.
//!
//! `cargo run --release -p kt-lazyfs --example cost [MiB]` (as root, FUSE).

use kt_lazyfs::fuse::LazyFs;
use kt_lazyfs::store::Store;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;

fn append(dir: &Path, mib: usize) -> f64 {
    let p = dir.join("00000000000000000000.log");
    let mut f = File::create(&p).unwrap();
    let rec = vec![7u8; 1024];
    let t0 = Instant::now();
    for _ in 0..mib * 1024 {
        f.write_all(&rec).unwrap();
    }
    f.sync_all().unwrap();
    mib as f64 / t0.elapsed().as_secs_f64()
}

fn index(dir: &Path, mib: usize) -> f64 {
    let p = dir.join("00000000000000000000.index");
    let len = mib << 20;
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    f.set_len(len as u64).unwrap();
    let t0 = Instant::now();
    // SAFETY: a shared mapping of `len` bytes of an open file, unmapped
    // before it closes.
    unsafe {
        let m = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(m, libc::MAP_FAILED);
        let s = std::slice::from_raw_parts_mut(m as *mut u8, len);
        for (i, c) in s.chunks_mut(8).enumerate() {
            c.copy_from_slice(&(i as u64).to_le_bytes());
        }
        assert_eq!(libc::msync(m, len, libc::MS_SYNC), 0);
        libc::munmap(m, len);
    }
    mib as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("MiB"))
        .unwrap_or(256);
    let tmp = tempfile::tempdir().unwrap();
    let direct = tmp.path().join("direct");
    std::fs::create_dir(&direct).unwrap();
    let backing = tmp.path().join("backing");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let (fs, _inner) = LazyFs::new(Store::open(&backing).unwrap());
    let session = fuser::Session::new(fs, &mnt, &kt_lazyfs::cli::config())
        .expect("mount (root and /dev/fuse needed)")
        .spawn()
        .unwrap();
    let rows = [
        (
            "append 1 KiB records",
            append(&direct, mib),
            append(&mnt, mib),
        ),
        (
            "mmap index + msync",
            index(&direct, mib / 8),
            index(&mnt, mib / 8),
        ),
    ];
    drop(session);
    println!(
        "{:<22} {:>12} {:>14} {:>8}",
        "", "direct MB/s", "kt-lazyfs MB/s", "ratio"
    );
    for (name, d, l) in rows {
        println!("{name:<22} {d:>12.0} {l:>14.0} {:>8.2}", l / d);
    }
}
