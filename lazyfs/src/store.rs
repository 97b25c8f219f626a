//! The core of kt-lazyfs, with no FUSE in it: a tree of inodes over a
//! backing folder that holds the LIVE state, plus what is needed to go back
//! to the DURABLE state (what the last fsyncs made durable).
//!
//! - The backing folder is always the live tree, so a crash of the daemon or
//!   a plain unmount loses nothing (a process crash keeps what the kernel
//!   holds), and the folder can be read while debugging.
//! - Per file: its durable length and an undo map of the durable pages
//!   overwritten (or truncated away) since its last fsync, saved before the
//!   first change. Kafka appends, so appends cost nothing extra.
//! - Per directory: the snapshot of its entries (name → inode) at its last
//!   fsync, taken lazily at the first change after it (`None` = the live
//!   entries are durable).
//! - An unlinked or replaced file or directory moves to the trash folder
//!   next to the backing folder (`<backing>.trash`, same filesystem) while a
//!   durable snapshot still names it, so the drop can bring it back.
//!
//! [`Store::drop_unsynced`] rebuilds the durable tree and puts back the
//! durable bytes; see the README for the exact semantics.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The granularity of saved durable bytes.
pub const PAGE: u64 = 4096;
/// The root directory's inode number (FUSE's).
pub const ROOT: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// A saved durable page: its bytes, or only its length when it was all
/// zeros (Kafka preallocates index files sparse and shrinks them at a roll:
/// those pages cost no memory, and restoring them keeps the file sparse).
#[derive(Debug)]
enum Saved {
    Zeros(usize),
    Bytes(Vec<u8>),
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// Where it lives now: `Some((parent, name))`, or `None` in the trash
    /// (file `<trash>/<ino>`).
    place: Option<(u64, OsString)>,
    /// Deleted for good (trash emptied); kept so open handles still answer.
    gone: bool,
    // directories
    children: BTreeMap<OsString, u64>,
    durable_children: Option<BTreeMap<OsString, u64>>,
    // files
    durable_len: u64,
    undo: BTreeMap<u64, Saved>,
}

impl Node {
    fn new(kind: Kind, place: Option<(u64, OsString)>) -> Node {
        Node {
            kind,
            place,
            gone: false,
            children: BTreeMap::new(),
            durable_children: None,
            durable_len: 0,
            undo: BTreeMap::new(),
        }
    }
    fn durable_entries(&self) -> &BTreeMap<OsString, u64> {
        self.durable_children.as_ref().unwrap_or(&self.children)
    }
}

/// What a drop discarded (the contract's report; JSON field names are
/// stable: the nemesis records them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DropReport {
    pub files_removed: u64,
    pub files_restored: u64,
    pub files_truncated: u64,
    pub files_reverted: u64,
    pub dirs_removed: u64,
    pub dirs_restored: u64,
    pub bytes_dropped: u64,
    pub elapsed_ms: u64,
    pub sample: Vec<String>,
}

impl DropReport {
    fn note(&mut self, path: &Path) {
        if self.sample.len() < 20 {
            self.sample.push(path.to_string_lossy().into_owned());
        }
    }
}

pub struct Store {
    backing: PathBuf,
    trash: PathBuf,
    nodes: HashMap<u64, Node>,
    next_ino: u64,
}

/// The bytes of a file past `from` that hold data: its length past `from`,
/// but no more than it has allocated — a preallocated, sparse index file
/// (10 MiB long, a few KiB written) is not 10 MiB of lost writes.
fn data_bytes(md: &fs::Metadata, from: u64) -> u64 {
    use std::os::unix::fs::MetadataExt;
    md.len().saturating_sub(from).min(md.blocks() * 512)
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

impl Store {
    /// Opens `backing` (created if missing): everything in it is durable.
    pub fn open(backing: &Path) -> io::Result<Store> {
        fs::create_dir_all(backing)?;
        let backing = backing.canonicalize()?;
        let mut trash = backing.clone().into_os_string();
        trash.push(".trash");
        let trash = PathBuf::from(trash);
        if trash.exists() {
            fs::remove_dir_all(&trash)?;
        }
        fs::create_dir_all(&trash)?;
        let mut s = Store {
            backing,
            trash,
            nodes: HashMap::new(),
            next_ino: ROOT + 1,
        };
        s.nodes.insert(ROOT, Node::new(Kind::Dir, None));
        s.scan(ROOT)?;
        Ok(s)
    }

    fn scan(&mut self, dir: u64) -> io::Result<()> {
        let path = self.path(dir);
        let mut entries: Vec<(OsString, Kind)> = vec![];
        for e in fs::read_dir(&path)? {
            let e = e?;
            let t = e.file_type()?;
            let kind = if t.is_dir() {
                Kind::Dir
            } else if t.is_file() {
                Kind::File
            } else {
                continue; // kt-lazyfs makes neither links nor devices
            };
            entries.push((e.file_name(), kind));
        }
        for (name, kind) in entries {
            let ino = self.alloc(kind, Some((dir, name.clone())));
            if kind == Kind::File {
                let len = fs::metadata(self.path(ino))?.len();
                self.node_mut(ino).durable_len = len;
            }
            self.node_mut(dir).children.insert(name, ino);
            if kind == Kind::Dir {
                self.scan(ino)?;
            }
        }
        Ok(())
    }

    fn alloc(&mut self, kind: Kind, place: Option<(u64, OsString)>) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, Node::new(kind, place));
        ino
    }

    fn node(&self, ino: u64) -> &Node {
        &self.nodes[&ino]
    }
    fn node_mut(&mut self, ino: u64) -> &mut Node {
        self.nodes.get_mut(&ino).expect("known inode")
    }

    /// The backing path of an inode (its live place, or the trash).
    pub fn path(&self, ino: u64) -> PathBuf {
        if ino == ROOT {
            return self.backing.clone();
        }
        match &self.node(ino).place {
            Some((parent, name)) => self.path(*parent).join(name),
            None => self.trash.join(ino.to_string()),
        }
    }

    pub fn exists(&self, ino: u64) -> bool {
        self.nodes.get(&ino).is_some_and(|n| !n.gone)
    }

    pub fn kind(&self, ino: u64) -> Option<Kind> {
        self.nodes.get(&ino).map(|n| n.kind)
    }

    pub fn lookup(&self, parent: u64, name: &OsStr) -> Option<u64> {
        self.nodes.get(&parent)?.children.get(name).copied()
    }

    /// Live entries of a directory, sorted by name.
    pub fn entries(&self, dir: u64) -> io::Result<Vec<(OsString, u64, Kind)>> {
        let n = self.nodes.get(&dir).ok_or_else(|| errno(libc::ENOENT))?;
        if n.kind != Kind::Dir {
            return Err(errno(libc::ENOTDIR));
        }
        Ok(n.children
            .iter()
            .map(|(k, &v)| (k.clone(), v, self.node(v).kind))
            .collect())
    }

    /// The parent of a directory (itself for the root).
    pub fn parent(&self, ino: u64) -> u64 {
        match &self.node(ino).place {
            Some((p, _)) => *p,
            None => ROOT,
        }
    }

    fn dir(&self, ino: u64) -> io::Result<&Node> {
        match self.nodes.get(&ino) {
            Some(n) if n.kind == Kind::Dir && !n.gone => Ok(n),
            Some(_) => Err(errno(libc::ENOTDIR)),
            None => Err(errno(libc::ENOENT)),
        }
    }

    /// Before the first change of a directory's entries since its last
    /// fsync: remember them.
    fn touch_dir(&mut self, dir: u64) {
        let n = self.node_mut(dir);
        if n.durable_children.is_none() {
            n.durable_children = Some(n.children.clone());
        }
    }

    fn check_name(name: &OsStr) -> io::Result<()> {
        if name.is_empty() || name == "." || name == ".." || name.len() > 255 {
            return Err(errno(libc::EINVAL));
        }
        Ok(())
    }

    /// A new empty file (O_EXCL); its contents are durable (empty) and its
    /// name is durable once the directory is fsynced.
    pub fn create(&mut self, parent: u64, name: &OsStr, mode: u32) -> io::Result<u64> {
        Self::check_name(name)?;
        if self.dir(parent)?.children.contains_key(name) {
            return Err(errno(libc::EEXIST));
        }
        let path = self.path(parent).join(name);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o7777)
            .open(&path)?;
        self.touch_dir(parent);
        let ino = self.alloc(Kind::File, Some((parent, name.to_os_string())));
        self.node_mut(parent)
            .children
            .insert(name.to_os_string(), ino);
        Ok(ino)
    }

    /// A new directory: nothing in it is durable until it is fsynced.
    pub fn mkdir(&mut self, parent: u64, name: &OsStr, mode: u32) -> io::Result<u64> {
        Self::check_name(name)?;
        if self.dir(parent)?.children.contains_key(name) {
            return Err(errno(libc::EEXIST));
        }
        let path = self.path(parent).join(name);
        fs::create_dir(&path)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777))?;
        self.touch_dir(parent);
        let ino = self.alloc(Kind::Dir, Some((parent, name.to_os_string())));
        self.node_mut(ino).durable_children = Some(BTreeMap::new());
        self.node_mut(parent)
            .children
            .insert(name.to_os_string(), ino);
        Ok(ino)
    }

    /// Moves a linked inode to the trash (its data kept for a drop).
    fn move_to_trash(&mut self, ino: u64) -> io::Result<()> {
        let from = self.path(ino);
        let (parent, name) = self.node(ino).place.clone().expect("linked");
        let to = self.trash.join(ino.to_string());
        fs::rename(&from, &to)?;
        self.node_mut(parent).children.remove(&name);
        self.node_mut(ino).place = None;
        Ok(())
    }

    /// The inode named `name` in directory `parent`.
    fn child(&self, parent: u64, name: &OsStr) -> io::Result<u64> {
        self.dir(parent)?
            .children
            .get(name)
            .copied()
            .ok_or_else(|| errno(libc::ENOENT))
    }

    pub fn unlink(&mut self, parent: u64, name: &OsStr) -> io::Result<()> {
        let ino = self.child(parent, name)?;
        if self.node(ino).kind == Kind::Dir {
            return Err(errno(libc::EISDIR));
        }
        self.touch_dir(parent);
        self.move_to_trash(ino)?;
        self.collect_trash();
        Ok(())
    }

    pub fn rmdir(&mut self, parent: u64, name: &OsStr) -> io::Result<()> {
        let ino = self.child(parent, name)?;
        let n = self.node(ino);
        if n.kind != Kind::Dir {
            return Err(errno(libc::ENOTDIR));
        }
        if !n.children.is_empty() {
            return Err(errno(libc::ENOTEMPTY));
        }
        self.touch_dir(parent);
        self.move_to_trash(ino)?;
        self.collect_trash();
        Ok(())
    }

    /// rename(2), replacing an existing target (a file by a file, an empty
    /// directory by a directory); `noreplace` = RENAME_NOREPLACE.
    pub fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        noreplace: bool,
    ) -> io::Result<()> {
        Self::check_name(newname)?;
        let ino = self.child(parent, name)?;
        let target = self.dir(newparent)?.children.get(newname).copied();
        if target == Some(ino) {
            return Ok(());
        }
        let kind = self.node(ino).kind;
        if kind == Kind::Dir {
            // not into itself or below it
            let mut p = newparent;
            loop {
                if p == ino {
                    return Err(errno(libc::EINVAL));
                }
                if p == ROOT {
                    break;
                }
                p = self.parent(p);
            }
        }
        if let Some(t) = target {
            if noreplace {
                return Err(errno(libc::EEXIST));
            }
            let tn = self.node(t);
            match (kind, tn.kind) {
                (Kind::File, Kind::Dir) => return Err(errno(libc::EISDIR)),
                (Kind::Dir, Kind::File) => return Err(errno(libc::ENOTDIR)),
                (Kind::Dir, Kind::Dir) if !tn.children.is_empty() => {
                    return Err(errno(libc::ENOTEMPTY))
                }
                _ => {}
            }
        }
        self.touch_dir(parent);
        self.touch_dir(newparent);
        if let Some(t) = target {
            self.move_to_trash(t)?;
        }
        let from = self.path(ino);
        let to = self.path(newparent).join(newname);
        fs::rename(&from, &to)?;
        self.node_mut(parent).children.remove(name);
        self.node_mut(newparent)
            .children
            .insert(newname.to_os_string(), ino);
        self.node_mut(ino).place = Some((newparent, newname.to_os_string()));
        if target.is_some() {
            self.collect_trash();
        }
        Ok(())
    }

    /// Opens the backing file for reading and writing (whatever the caller
    /// asked: the saved-page reads need it; permissions are checked by the
    /// kernel on the mount).
    pub fn open_file(&self, ino: u64) -> io::Result<File> {
        match self.nodes.get(&ino) {
            Some(n) if n.kind == Kind::File && !n.gone => {}
            Some(n) if n.kind == Kind::Dir => return Err(errno(libc::EISDIR)),
            _ => return Err(errno(libc::ENOENT)),
        }
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.path(ino))
    }

    /// Saves the durable bytes of the pages of `[from, to)` that are not
    /// saved yet, read from `file` (the inode's backing file).
    fn save(&mut self, ino: u64, file: &File, from: u64, to: u64) -> io::Result<()> {
        let durable = self.node(ino).durable_len;
        let to = to.min(durable);
        if from >= to {
            return Ok(());
        }
        for page in from / PAGE..=(to - 1) / PAGE {
            if self.node(ino).undo.contains_key(&page) {
                continue;
            }
            let start = page * PAGE;
            let len = (durable - start).min(PAGE) as usize;
            let mut buf = vec![0u8; len];
            let mut got = 0;
            while got < len {
                let n = file.read_at(&mut buf[got..], start + got as u64)?;
                if n == 0 {
                    break; // shorter than durable: the rest was zeros
                }
                got += n;
            }
            let saved = if buf.iter().all(|&b| b == 0) {
                Saved::Zeros(len)
            } else {
                Saved::Bytes(buf)
            };
            self.node_mut(ino).undo.insert(page, saved);
        }
        Ok(())
    }

    /// pwrite through `file`, saving the durable bytes it overwrites first.
    pub fn write(&mut self, ino: u64, file: &File, offset: u64, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        self.save(ino, file, offset, offset + data.len() as u64)?;
        file.write_all_at(data, offset)?;
        Ok(data.len())
    }

    /// ftruncate, saving the durable bytes a shrink cuts off.
    pub fn truncate(&mut self, ino: u64, file: &File, len: u64) -> io::Result<()> {
        let cur = file.metadata()?.len();
        if len < cur {
            self.save(ino, file, len, cur)?;
        }
        file.set_len(len)
    }

    /// fsync/fdatasync of a file: its contents and length now are durable.
    pub fn fsync(&mut self, ino: u64) -> io::Result<()> {
        let len = fs::metadata(self.path(ino))?.len();
        let n = self.node_mut(ino);
        n.durable_len = len;
        n.undo.clear();
        Ok(())
    }

    /// fsync of a directory: its entries now are durable.
    pub fn fsyncdir(&mut self, ino: u64) -> io::Result<()> {
        self.dir(ino)?;
        self.node_mut(ino).durable_children = None;
        self.collect_trash();
        Ok(())
    }

    /// Every inode the durable state reaches, with its durable path
    /// (relative). An inode named in two places (renamed across
    /// directories, only one of them fsynced since) keeps a place that is
    /// not its live one — the rename is not durable until both directories
    /// are fsynced — the first such path in order.
    fn durable_tree(&self) -> Vec<(PathBuf, u64)> {
        // inode → candidate places
        let mut places: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
        let mut stack = vec![(PathBuf::new(), ROOT)];
        let mut seen_dirs = BTreeSet::from([ROOT]);
        let mut order = vec![];
        while let Some((path, dir)) = stack.pop() {
            for (name, &child) in self.node(dir).durable_entries() {
                let p = path.join(name);
                let first = !places.contains_key(&child);
                places.entry(child).or_default().push(p.clone());
                if first {
                    order.push(child);
                }
                if self.node(child).kind == Kind::Dir && seen_dirs.insert(child) {
                    stack.push((p, child));
                }
            }
        }
        let mut out = vec![];
        for ino in order {
            let mut ps = places[&ino].clone();
            ps.sort();
            let live = self.live_rel(ino);
            let chosen = ps
                .iter()
                .find(|p| Some(*p) != live.as_ref())
                .unwrap_or(&ps[0])
                .clone();
            out.push((chosen, ino));
        }
        // parents before children; a directory dropped from a path drops
        // what is below it
        out.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(PathBuf, u64)> = vec![];
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::from([PathBuf::new()]);
        for (p, ino) in out {
            let parent = p.parent().map(Path::to_path_buf).unwrap_or_default();
            if !dirs.contains(&parent) {
                continue;
            }
            if self.node(ino).kind == Kind::Dir {
                dirs.insert(p.clone());
            }
            kept.push((p, ino));
        }
        kept
    }

    fn live_rel(&self, ino: u64) -> Option<PathBuf> {
        let mut parts = vec![];
        let mut cur = ino;
        while cur != ROOT {
            let (p, name) = self.node(cur).place.clone()?;
            parts.push(name);
            cur = p;
        }
        Some(parts.iter().rev().collect())
    }

    /// Trash no durable snapshot names any more is deleted.
    fn collect_trash(&mut self) {
        let mut named = BTreeSet::new();
        for n in self.nodes.values() {
            if let Some(d) = &n.durable_children {
                named.extend(d.values().copied());
            }
        }
        let dead: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(ino, n)| {
                n.place.is_none() && **ino != ROOT && !n.gone && !named.contains(ino)
            })
            .map(|(ino, _)| *ino)
            .collect();
        for ino in dead {
            let p = self.trash.join(ino.to_string());
            let r = if self.node(ino).kind == Kind::Dir {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            if r.is_ok() {
                let n = self.node_mut(ino);
                n.gone = true;
                n.children.clear();
                n.undo.clear();
            }
        }
    }

    /// The power loss: the backing folder becomes the durable state. The
    /// store must not be used afterwards (the daemon exits; reopen with
    /// [`Store::open`]).
    pub fn drop_unsynced(&mut self) -> io::Result<DropReport> {
        let t0 = Instant::now();
        let mut r = DropReport::default();
        let tree = self.durable_tree();
        let durable: BTreeSet<u64> = tree.iter().map(|(_, i)| *i).collect();
        // what the live tree has that the durable one lacks
        let mut live = vec![(PathBuf::new(), ROOT)];
        while let Some((path, dir)) = live.pop() {
            for (name, &c) in &self.node(dir).children {
                let p = path.join(name);
                if self.node(c).kind == Kind::Dir {
                    if !durable.contains(&c) {
                        r.dirs_removed += 1;
                        r.note(&p);
                    }
                    live.push((p, c));
                } else if !durable.contains(&c) {
                    r.files_removed += 1;
                    r.bytes_dropped += data_bytes(&fs::metadata(self.path(c))?, 0);
                    r.note(&p);
                }
            }
        }
        // rebuild the durable tree next to the backing folder
        let mut fresh = self.backing.clone().into_os_string();
        fresh.push(".durable");
        let fresh = PathBuf::from(fresh);
        if fresh.exists() {
            fs::remove_dir_all(&fresh)?;
        }
        fs::create_dir(&fresh)?;
        for (rel, ino) in &tree {
            let to = fresh.join(rel);
            let n = self.node(*ino);
            let in_trash = n.place.is_none();
            match n.kind {
                Kind::Dir => {
                    let mode = fs::metadata(self.path(*ino))
                        .map(|m| m.permissions().mode())
                        .unwrap_or(0o755);
                    fs::create_dir(&to)?;
                    fs::set_permissions(&to, fs::Permissions::from_mode(mode & 0o7777))?;
                    if in_trash {
                        r.dirs_restored += 1;
                        r.note(rel);
                    }
                }
                Kind::File => {
                    let from = self.path(*ino);
                    fs::rename(&from, &to)?;
                    if in_trash {
                        r.files_restored += 1;
                        r.note(rel);
                    }
                    let f = OpenOptions::new().read(true).write(true).open(&to)?;
                    let md = f.metadata()?;
                    let len = md.len();
                    let n = self.node(*ino);
                    let mut changed = false;
                    // bytes dropped: live bytes (within the live length)
                    // that differ from the durable ones put back
                    let mut reverted = 0;
                    for (page, saved) in &n.undo {
                        let start = page * PAGE;
                        let live = if start < len {
                            let k = (PAGE.min(len - start)) as usize;
                            let mut b = vec![0u8; k];
                            f.read_exact_at(&mut b, start)?;
                            b
                        } else {
                            vec![]
                        };
                        match saved {
                            Saved::Bytes(bytes) => {
                                reverted += live
                                    .iter()
                                    .zip(bytes.iter().chain(std::iter::repeat(&0)))
                                    .filter(|(a, b)| a != b)
                                    .count() as u64;
                                f.write_all_at(bytes, start)?;
                            }
                            // only where the live file has bytes: past its
                            // end, the final set_len makes the zeros (a hole)
                            Saved::Zeros(n) => {
                                let k = live.len().min(*n);
                                if k > 0 {
                                    reverted +=
                                        live[..k].iter().filter(|&&b| b != 0).count() as u64;
                                    f.write_all_at(&vec![0u8; k], start)?;
                                }
                            }
                        }
                    }
                    if !n.undo.is_empty() && reverted > 0 {
                        r.files_reverted += 1;
                        r.bytes_dropped += reverted;
                        changed = true;
                    }
                    if len > n.durable_len {
                        r.files_truncated += 1;
                        r.bytes_dropped += data_bytes(&md, n.durable_len);
                        changed = true;
                    }
                    f.set_len(n.durable_len)?;
                    if changed && !in_trash {
                        r.note(rel);
                    }
                }
            }
        }
        // swap: the old live tree and the trash go
        let mut old = self.backing.clone().into_os_string();
        old.push(".old");
        let old = PathBuf::from(old);
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        fs::rename(&self.backing, &old)?;
        fs::rename(&fresh, &self.backing)?;
        fs::remove_dir_all(&old)?;
        fs::remove_dir_all(&self.trash)?;
        fs::create_dir(&self.trash)?;
        r.elapsed_ms = t0.elapsed().as_millis() as u64;
        Ok(r)
    }

    /// Bytes held to undo overwrites (for the log).
    pub fn saved_bytes(&self) -> u64 {
        self.nodes
            .values()
            .flat_map(|n| n.undo.values())
            .map(|v| match v {
                Saved::Bytes(b) => b.len() as u64,
                Saved::Zeros(_) => 0,
            })
            .sum()
    }
}
