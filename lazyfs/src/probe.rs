//! The test program of the filesystem ("verified by effect"): plain
//! `std::fs` calls — files written with and without fsync, renames with and
//! without a directory fsync — and the exact state that must remain after a
//! drop (and, without one, the live state).

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum Step {
    /// Write the pattern under DIR and the expectations to FILE (which must
    /// live outside the mount: it must survive the drop).
    Prepare {
        dir: PathBuf,
        #[arg(long)]
        expect: PathBuf,
    },
    /// Compare DIR with the durable expectation (or the live one).
    Check {
        dir: PathBuf,
        #[arg(long)]
        expect: PathBuf,
        #[arg(long)]
        live: bool,
    },
}

/// One entry under DIR: `dir`, or a file's length and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Entry {
    Dir,
    File { len: u64, sha256: String },
}

pub type Manifest = BTreeMap<String, Entry>;

#[derive(Serialize, Deserialize)]
struct Expect {
    durable: Manifest,
    live: Manifest,
}

pub fn run(step: Step) -> Result<()> {
    match step {
        Step::Prepare { dir, expect } => {
            let (durable, live) = prepare(&dir)?;
            fs::write(
                &expect,
                serde_json::to_vec_pretty(&Expect { durable, live })?,
            )
            .with_context(|| format!("writing {}", expect.display()))?;
            println!("prepared {} ({})", dir.display(), expect.display());
            Ok(())
        }
        Step::Check { dir, expect, live } => {
            let e: Expect = serde_json::from_slice(
                &fs::read(&expect).with_context(|| format!("reading {}", expect.display()))?,
            )?;
            let want = if live { e.live } else { e.durable };
            let diffs = compare(&want, &manifest(&dir)?);
            if diffs.is_empty() {
                println!(
                    "{}: exactly the {} state ({} entries)",
                    dir.display(),
                    if live { "live" } else { "durable" },
                    want.len()
                );
                Ok(())
            } else {
                bail!(
                    "{} differs from the expectation:\n  {}",
                    dir.display(),
                    diffs.join("\n  ")
                )
            }
        }
    }
}

fn sha(b: &[u8]) -> String {
    let d = Sha256::digest(b);
    d.iter().map(|x| format!("{x:02x}")).collect()
}

fn file(b: &[u8]) -> Entry {
    Entry::File {
        len: b.len() as u64,
        sha256: sha(b),
    }
}

/// Everything under `dir` (relative paths).
pub fn manifest(dir: &Path) -> Result<Manifest> {
    fn walk(root: &Path, d: &Path, out: &mut Manifest) -> Result<()> {
        for e in fs::read_dir(d).with_context(|| format!("listing {}", d.display()))? {
            let e = e?;
            let p = e.path();
            let rel = p.strip_prefix(root)?.to_string_lossy().into_owned();
            if e.file_type()?.is_dir() {
                out.insert(rel, Entry::Dir);
                walk(root, &p, out)?;
            } else {
                out.insert(rel, file(&fs::read(&p)?));
            }
        }
        Ok(())
    }
    let mut m = Manifest::new();
    walk(dir, dir, &mut m)?;
    Ok(m)
}

/// Every difference between `want` and `got`, in words.
pub fn compare(want: &Manifest, got: &Manifest) -> Vec<String> {
    let mut d = vec![];
    for (k, v) in want {
        match got.get(k) {
            None => d.push(format!("{k}: missing (expected {v:?})")),
            Some(g) if g != v => d.push(format!("{k}: {g:?}, expected {v:?}")),
            _ => {}
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        d.push(format!("{k}: present, expected absent"));
    }
    d
}

fn fsync_dir(d: &Path) -> Result<()> {
    File::open(d)?.sync_all()?;
    Ok(())
}

fn put(p: &Path, b: &[u8], sync: bool) -> Result<()> {
    let mut f = File::create(p)?;
    f.write_all(b)?;
    if sync {
        f.sync_all()?;
    }
    Ok(())
}

fn bytes(c: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| c.wrapping_add((i % 251) as u8)).collect()
}

/// Writes the pattern; returns (durable, live) manifests.
pub fn prepare(dir: &Path) -> Result<(Manifest, Manifest)> {
    fs::create_dir_all(dir)?;
    if fs::read_dir(dir)?.next().is_some() {
        bail!("{} is not empty", dir.display());
    }
    // DIR itself is made durable in its parent (whose own name must be)
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fsync_dir(parent)?;
    }
    let mut durable = Manifest::new();
    let p = |n: &str| dir.join(n);
    // 1. durable files: written and fsynced, names made durable below
    let a = bytes(b'a', 8192);
    let d = bytes(b'd', 5000);
    let e = bytes(b'e', 3000);
    let f = bytes(b'f', 2000);
    let g = bytes(b'g', 3 * 4096 + 100);
    let h = bytes(b'h', 9000);
    let i_old = bytes(b'i', 700);
    let j_old = bytes(b'j', 800);
    for (n, b) in [
        ("a.log", &a),
        ("d.ren", &d),
        ("e.ren", &e),
        ("f.del", &f),
        ("g.ovw", &g),
        ("h.trunc", &h),
        ("i.ckpt", &i_old),
        ("j.ckpt", &j_old),
    ] {
        put(&p(n), b, true)?;
    }
    // a file whose name is made durable but whose data never is
    put(&p("b.new"), &bytes(b'b', 100), false)?;
    fs::create_dir(p("kept"))?;
    put(&p("kept/k.seg"), &bytes(b'k', 4096), true)?;
    fsync_dir(&p("kept"))?;
    fsync_dir(dir)?;
    // 2. changes made durable by a directory fsync
    fs::rename(p("e.ren"), p("e2.ren"))?;
    let i_new = bytes(b'I', 650);
    put(&p("i.ckpt.tmp"), &i_new, true)?;
    fs::rename(p("i.ckpt.tmp"), p("i.ckpt"))?; // a checkpoint replaced
    fsync_dir(dir)?;
    for (n, b) in [
        ("a.log", &a),
        ("d.ren", &d),
        ("e2.ren", &e),
        ("f.del", &f),
        ("g.ovw", &g),
        ("h.trunc", &h),
        ("i.ckpt", &i_new),
        ("j.ckpt", &j_old),
        ("kept/k.seg", &bytes(b'k', 4096)),
    ] {
        durable.insert(n.into(), file(b));
    }
    durable.insert("b.new".into(), file(b""));
    durable.insert("kept".into(), Entry::Dir);
    // 3. nothing below is made durable
    OpenOptions::new()
        .append(true)
        .open(p("a.log"))?
        .write_all(&bytes(b'A', 1000))?;
    put(&p("c.late"), &bytes(b'c', 1234), true)?; // file fsynced, name not
    fs::rename(p("d.ren"), p("d2.ren"))?;
    fs::remove_file(p("f.del"))?;
    OpenOptions::new()
        .write(true)
        .open(p("g.ovw"))?
        .write_all_at(&bytes(b'G', 5000), 2000)?;
    OpenOptions::new()
        .write(true)
        .open(p("h.trunc"))?
        .set_len(10)?;
    put(&p("j.ckpt.tmp"), &bytes(b'J', 900), true)?;
    fs::rename(p("j.ckpt.tmp"), p("j.ckpt"))?; // replaced, directory not fsynced
    fs::create_dir(p("sub"))?;
    put(&p("sub/s.seg"), &bytes(b's', 3000), true)?;
    fsync_dir(&p("sub"))?; // its parent is never fsynced: sub is not durable
    put(&p("kept/k2.seg"), &bytes(b'K', 100), true)?;
    OpenOptions::new()
        .append(true)
        .open(p("kept/k.seg"))?
        .write_all(&bytes(b'x', 10))?;
    let live = manifest(dir)?;
    Ok((durable, live))
}
