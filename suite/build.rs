//! Builds the programs the suite ships into its nodes (today `kt-lazyfs`,
//! the FUSE filesystem of the `lose-unfsynced` and `power-loss` faults) so
//! that the suite can embed them (`include_bytes!`, see `src/tools.rs`):
//! every use of the library — the CLI, its tests, another crate's `cargo
//! test` — carries the binary that matches its own source, and a change to
//! the filesystem needs no new node image.
//!
//! A nested `cargo build --release -p kt-lazyfs` of this workspace, in a
//! target folder of its own (the outer build holds its own target folder's
//! lock): `<target>/kt-lazyfs`, one for every profile of the outer build,
//! so that `cargo test` after `cargo build --release` (the README's two
//! commands) finds it built — it is always a release build. `KT_LAZYFS_BIN=<path>` skips the build and embeds that
//! file instead (a prebuilt binary, e.g. for a cross build).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=KT_LAZYFS_BIN");
    let bin = match std::env::var_os("KT_LAZYFS_BIN") {
        Some(p) => {
            let p = PathBuf::from(p);
            if !p.is_file() {
                panic!("KT_LAZYFS_BIN={} is not a file", p.display());
            }
            println!("cargo:rerun-if-changed={}", p.display());
            p
        }
        None => build_lazyfs(),
    };
    println!("cargo:rustc-env=KT_LAZYFS_EMBED={}", bin.display());
}

fn build_lazyfs() -> PathBuf {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.parent().expect("suite/ is in the workspace");
    let lazyfs = root.join("lazyfs");
    println!("cargo:rerun-if-changed={}", lazyfs.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        lazyfs.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let target_dir = shared_target(&out).unwrap_or_else(|| out.join("lazyfs-target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "-p",
        "kt-lazyfs",
        "--bin",
        "kt-lazyfs",
    ])
    .arg("--manifest-path")
    .arg(root.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir)
    // Small: no debug info in a binary that is embedded in every build.
    .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
    .env("CARGO_PROFILE_RELEASE_STRIP", "true");
    // The outer build's flags are for the host crates it builds, not ours
    // (and a coverage or sanitizer flag would not link here).
    for v in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(v);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build kt-lazyfs: {e}"));
    if !status.success() {
        panic!(
            "building kt-lazyfs (the filesystem shipped into the nodes) failed: {status}; \
             set KT_LAZYFS_BIN to a prebuilt binary to skip this build"
        );
    }
    let bin = target_dir.join("release").join("kt-lazyfs");
    assert!(Path::new(&bin).is_file(), "{} was not built", bin.display());
    bin
}

/// `<target>/kt-lazyfs` of the outer build, from its `OUT_DIR`
/// (`<target>/<profile>/build/<pkg>-<hash>/out`); `None` for a layout
/// other than Cargo's usual one (the build then stays under `OUT_DIR`).
fn shared_target(out: &Path) -> Option<PathBuf> {
    let build = out.ancestors().nth(2)?;
    if build.file_name()? != "build" {
        return None;
    }
    Some(out.ancestors().nth(4)?.join("kt-lazyfs"))
}
