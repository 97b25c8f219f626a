//! The store against a reference model that keeps whole copies: random
//! sequences of creates, writes, truncates, renames, unlinks, mkdirs,
//! rmdirs, fsyncs of files and of directories, then a drop: the backing
//! folder must be exactly the reference's durable state (and, before the
//! drop, exactly its live state).

use kt_lazyfs::store::{Kind, Store, ROOT};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Obj {
    Dir,
    File(Vec<u8>),
}

type Entries = BTreeMap<String, u64>;

/// Objects by id (root = 0): files with live and durable bytes, dirs with
/// live and durable entries.
#[derive(Default)]
struct Ref {
    next: u64,
    files: HashMap<u64, (Vec<u8>, Vec<u8>)>,
    dirs: HashMap<u64, (Entries, Entries)>,
}

const DIRS: [&str; 3] = ["", "d0", "d1"];
const NAMES: [&str; 3] = ["f0", "f1", "f2"];

#[derive(Debug, Clone)]
enum Op {
    Create(usize, usize),
    Mkdir(usize),
    Rmdir(usize),
    Write(usize, usize, u16, u16, u8),
    Truncate(usize, usize, u16),
    Fsync(usize, usize),
    FsyncDir(usize),
    Rename(usize, usize, usize, usize),
    Unlink(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let d = 0..3usize;
    let n = 0..3usize;
    prop_oneof![
        3 => (d.clone(), n.clone()).prop_map(|(d, n)| Op::Create(d, n)),
        1 => (1..3usize).prop_map(Op::Mkdir),
        1 => (1..3usize).prop_map(Op::Rmdir),
        5 => (d.clone(), n.clone(), 0..12000u16, 1..6000u16, any::<u8>())
            .prop_map(|(d, n, o, l, b)| Op::Write(d, n, o, l, b)),
        2 => (d.clone(), n.clone(), 0..12000u16).prop_map(|(d, n, l)| Op::Truncate(d, n, l)),
        3 => (d.clone(), n.clone()).prop_map(|(d, n)| Op::Fsync(d, n)),
        3 => d.clone().prop_map(Op::FsyncDir),
        2 => (d.clone(), n.clone(), d.clone(), n.clone()).prop_map(|(a, b, c, e)| Op::Rename(a, b, c, e)),
        2 => (d, n).prop_map(|(d, n)| Op::Unlink(d, n)),
    ]
}

impl Ref {
    fn new() -> Ref {
        let mut r = Ref {
            next: 1,
            ..Default::default()
        };
        r.dirs.insert(0, (BTreeMap::new(), BTreeMap::new()));
        r
    }
    fn dir_id(&self, d: usize) -> Option<u64> {
        if d == 0 {
            return Some(0);
        }
        let id = *self.dirs[&0].0.get(DIRS[d])?;
        self.dirs.contains_key(&id).then_some(id)
    }
    fn file_id(&self, d: usize, n: usize) -> Option<u64> {
        let id = *self.dirs[&self.dir_id(d)?].0.get(NAMES[n])?;
        self.files.contains_key(&id).then_some(id)
    }
    fn alloc(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
    /// Applies `op` if it is legal here; whether it was.
    fn apply(&mut self, op: &Op) -> bool {
        match *op {
            Op::Create(d, n) => {
                let Some(dir) = self.dir_id(d) else {
                    return false;
                };
                if self.dirs[&dir].0.contains_key(NAMES[n]) {
                    return false;
                }
                let id = self.alloc();
                self.files.insert(id, (vec![], vec![]));
                self.dirs
                    .get_mut(&dir)
                    .unwrap()
                    .0
                    .insert(NAMES[n].into(), id);
            }
            Op::Mkdir(d) => {
                if self.dirs[&0].0.contains_key(DIRS[d]) {
                    return false;
                }
                let id = self.alloc();
                self.dirs.insert(id, (BTreeMap::new(), BTreeMap::new()));
                self.dirs.get_mut(&0).unwrap().0.insert(DIRS[d].into(), id);
            }
            Op::Rmdir(d) => {
                let Some(id) = self.dir_id(d) else {
                    return false;
                };
                if !self.dirs[&id].0.is_empty() {
                    return false;
                }
                self.dirs.get_mut(&0).unwrap().0.remove(DIRS[d]);
            }
            Op::Write(d, n, off, len, b) => {
                let Some(id) = self.file_id(d, n) else {
                    return false;
                };
                let live = &mut self.files.get_mut(&id).unwrap().0;
                let (off, len) = (off as usize, len as usize);
                if live.len() < off + len {
                    live.resize(off + len, 0);
                }
                for (i, x) in live[off..off + len].iter_mut().enumerate() {
                    *x = b.wrapping_add(i as u8);
                }
            }
            Op::Truncate(d, n, len) => {
                let Some(id) = self.file_id(d, n) else {
                    return false;
                };
                self.files.get_mut(&id).unwrap().0.resize(len as usize, 0);
            }
            Op::Fsync(d, n) => {
                let Some(id) = self.file_id(d, n) else {
                    return false;
                };
                let f = self.files.get_mut(&id).unwrap();
                f.1 = f.0.clone();
            }
            Op::FsyncDir(d) => {
                let Some(id) = self.dir_id(d) else {
                    return false;
                };
                let e = self.dirs.get_mut(&id).unwrap();
                e.1 = e.0.clone();
            }
            Op::Rename(a, b, c, e) => {
                let Some(id) = self.file_id(a, b) else {
                    return false;
                };
                let Some(to) = self.dir_id(c) else {
                    return false;
                };
                if let Some(&t) = self.dirs[&to].0.get(NAMES[e]) {
                    if !self.files.contains_key(&t) {
                        return false; // a directory there
                    }
                }
                let from = self.dir_id(a).unwrap();
                if from == to && NAMES[b] == NAMES[e] {
                    return false;
                }
                self.dirs.get_mut(&from).unwrap().0.remove(NAMES[b]);
                self.dirs
                    .get_mut(&to)
                    .unwrap()
                    .0
                    .insert(NAMES[e].into(), id);
            }
            Op::Unlink(d, n) => {
                let Some(dir) = self.dir_id(d) else {
                    return false;
                };
                if self.file_id(d, n).is_none() {
                    return false;
                }
                self.dirs.get_mut(&dir).unwrap().0.remove(NAMES[n]);
            }
        }
        true
    }
    fn live_path(&self, id: u64) -> Option<PathBuf> {
        for (name, &c) in &self.dirs[&0].0 {
            if c == id {
                return Some(PathBuf::from(name));
            }
            if let Some((entries, _)) = self.dirs.get(&c) {
                for (n, &x) in entries {
                    if x == id {
                        return Some(Path::new(name).join(n));
                    }
                }
            }
        }
        None
    }
    fn tree(&self, durable: bool) -> BTreeMap<PathBuf, Obj> {
        let entries = |id: u64| {
            if durable {
                &self.dirs[&id].1
            } else {
                &self.dirs[&id].0
            }
        };
        let content = |id: u64| {
            let f = &self.files[&id];
            if durable {
                f.1.clone()
            } else {
                f.0.clone()
            }
        };
        // candidate places per id
        let mut places: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
        for (name, &c) in entries(0) {
            places.entry(c).or_default().push(PathBuf::from(name));
            if self.dirs.contains_key(&c) {
                for (n, &x) in entries(c) {
                    places.entry(x).or_default().push(Path::new(name).join(n));
                }
            }
        }
        let mut chosen: BTreeMap<PathBuf, u64> = BTreeMap::new();
        for (id, mut ps) in places {
            ps.sort();
            let live = self.live_path(id);
            let p = ps
                .iter()
                .find(|p| Some(*p) != live.as_ref())
                .unwrap_or(&ps[0])
                .clone();
            chosen.insert(p, id);
        }
        let mut out = BTreeMap::new();
        for (p, id) in &chosen {
            if let Some(parent) = p.parent().filter(|x| !x.as_os_str().is_empty()) {
                if !matches!(chosen.get(parent), Some(pid) if self.dirs.contains_key(pid)) {
                    continue;
                }
            }
            let o = if self.dirs.contains_key(id) {
                Obj::Dir
            } else {
                Obj::File(content(*id))
            };
            out.insert(p.clone(), o);
        }
        out
    }
}

fn scan(root: &Path) -> BTreeMap<PathBuf, Obj> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<PathBuf, Obj>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if e.file_type().unwrap().is_dir() {
                out.insert(rel, Obj::Dir);
                walk(root, &p, out);
            } else {
                out.insert(rel, Obj::File(std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(root, root, &mut m);
    m
}

fn store_dir(s: &Store, d: usize) -> u64 {
    if d == 0 {
        ROOT
    } else {
        s.lookup(ROOT, OsStr::new(DIRS[d])).unwrap()
    }
}

fn apply(s: &mut Store, op: &Op) {
    let name = |n: usize| OsStr::new(NAMES[n]);
    match *op {
        Op::Create(d, n) => {
            let dir = store_dir(s, d);
            s.create(dir, name(n), 0o644).unwrap();
        }
        Op::Mkdir(d) => {
            s.mkdir(ROOT, OsStr::new(DIRS[d]), 0o755).unwrap();
        }
        Op::Rmdir(d) => s.rmdir(ROOT, OsStr::new(DIRS[d])).unwrap(),
        Op::Write(d, n, off, len, b) => {
            let ino = s.lookup(store_dir(s, d), name(n)).unwrap();
            let f = s.open_file(ino).unwrap();
            let data: Vec<u8> = (0..len as usize).map(|i| b.wrapping_add(i as u8)).collect();
            s.write(ino, &f, off as u64, &data).unwrap();
        }
        Op::Truncate(d, n, len) => {
            let ino = s.lookup(store_dir(s, d), name(n)).unwrap();
            let f = s.open_file(ino).unwrap();
            s.truncate(ino, &f, len as u64).unwrap();
        }
        Op::Fsync(d, n) => {
            let ino = s.lookup(store_dir(s, d), name(n)).unwrap();
            s.fsync(ino).unwrap();
        }
        Op::FsyncDir(d) => {
            let dir = store_dir(s, d);
            s.fsyncdir(dir).unwrap();
        }
        Op::Rename(a, b, c, e) => {
            let (from, to) = (store_dir(s, a), store_dir(s, c));
            s.rename(from, name(b), to, name(e), false).unwrap();
        }
        Op::Unlink(d, n) => {
            let dir = store_dir(s, d);
            s.unlink(dir, name(n)).unwrap();
        }
    }
}

fn run(initial: &[Op], ops: &[Op]) {
    let tmp = tempfile::tempdir().unwrap();
    let backing = tmp.path().join("b");
    // an initial tree, all durable at mount
    let mut r = Ref::new();
    let mut s = Store::open(&backing).unwrap();
    for o in initial {
        if r.apply(o) {
            apply(&mut s, o);
        }
    }
    drop(s);
    // remount: everything present is durable
    for f in r.files.values_mut() {
        f.1 = f.0.clone();
    }
    for e in r.dirs.values_mut() {
        e.1 = e.0.clone();
    }
    let mut s = Store::open(&backing).unwrap();
    for o in ops {
        if r.apply(o) {
            apply(&mut s, o);
        }
    }
    assert_eq!(scan(&backing), r.tree(false), "live state after {ops:?}");
    let report = s.drop_unsynced().unwrap();
    let want = r.tree(true);
    assert_eq!(
        scan(&backing),
        want,
        "durable state after {ops:?} (report {report:?})"
    );
    // a second mount of the durable state answers the same
    let s2 = Store::open(&backing).unwrap();
    assert_eq!(s2.kind(ROOT), Some(Kind::Dir));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn drop_leaves_exactly_the_durable_state(
        initial in prop::collection::vec(op(), 0..12),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        run(&initial, &ops);
    }
}

#[test]
fn an_unsynced_append_is_dropped_and_the_check_sees_it() {
    let tmp = tempfile::tempdir().unwrap();
    let backing = tmp.path().join("b");
    let mut s = Store::open(&backing).unwrap();
    let f = s.create(ROOT, OsStr::new("seg"), 0o644).unwrap();
    s.fsyncdir(ROOT).unwrap();
    let h = s.open_file(f).unwrap();
    s.write(f, &h, 0, b"durable").unwrap();
    s.fsync(f).unwrap();
    s.write(f, &h, 7, b" and lost").unwrap();
    let before = scan(&backing);
    let r = s.drop_unsynced().unwrap();
    let after = scan(&backing);
    assert_ne!(before, after);
    assert_eq!(after[Path::new("seg")], Obj::File(b"durable".to_vec()));
    assert_eq!((r.files_truncated, r.bytes_dropped), (1, 9));
}

#[test]
fn a_preallocated_index_shrunk_and_restored_stays_sparse_and_drops_nothing() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let backing = tmp.path().join("b");
    let mut s = Store::open(&backing).unwrap();
    let f = s.create(ROOT, OsStr::new("0.index"), 0o644).unwrap();
    s.fsyncdir(ROOT).unwrap();
    let h = s.open_file(f).unwrap();
    s.truncate(f, &h, 10 << 20).unwrap(); // preallocated, sparse
    s.write(f, &h, 0, &[1u8; 16]).unwrap();
    s.fsync(f).unwrap();
    s.truncate(f, &h, 16).unwrap(); // trimmed at a roll, never fsynced
    assert_eq!(s.saved_bytes(), 4096, "only the page with data is held");
    let r = s.drop_unsynced().unwrap();
    assert_eq!(r.bytes_dropped, 0, "{r:?}");
    let md = std::fs::metadata(backing.join("0.index")).unwrap();
    assert_eq!(md.len(), 10 << 20);
    assert!(
        md.blocks() * 512 < 1 << 20,
        "restored sparse: {} blocks",
        md.blocks()
    );
    let back = std::fs::read(backing.join("0.index")).unwrap();
    assert_eq!(&back[..16], &[1u8; 16]);
}
