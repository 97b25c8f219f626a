//! The FUSE side: every request of the kernel becomes a call on the
//! [`Store`] under one lock. No `direct_io`: the kernel's page cache serves
//! Kafka's memory-mapped index files (their dirty pages reach us as writes)
//! and is thrown away with the mount at a drop.

use crate::store::{Kind, Store, ROOT};
use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TTL: Duration = Duration::from_secs(1);

pub struct LazyFs {
    inner: Arc<Mutex<Inner>>,
}

pub struct Inner {
    pub store: Store,
    handles: HashMap<u64, File>,
    next_fh: u64,
}

impl LazyFs {
    pub fn new(store: Store) -> (LazyFs, Arc<Mutex<Inner>>) {
        let inner = Arc::new(Mutex::new(Inner {
            store,
            handles: HashMap::new(),
            next_fh: 1,
        }));
        (
            LazyFs {
                inner: inner.clone(),
            },
            inner,
        )
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn err(e: io::Error) -> Errno {
    Errno::from(e)
}

/// Answers a lookup or a creation with the entry's attributes.
fn entry(reply: ReplyEntry, r: io::Result<FileAttr>) {
    match r {
        Ok(a) => reply.entry(&TTL, &a, Generation(0)),
        Err(e) => reply.error(err(e)),
    }
}

/// Answers a request that returns nothing.
fn done(reply: ReplyEmpty, r: io::Result<()>) {
    match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(err(e)),
    }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
    } else {
        UNIX_EPOCH
    }
}

impl Inner {
    fn attr(&self, ino: u64, fh: Option<u64>) -> io::Result<FileAttr> {
        let md = match fh.and_then(|h| self.handles.get(&h)) {
            Some(f) => f.metadata()?,
            None => {
                if !self.store.exists(ino) {
                    return Err(io::Error::from_raw_os_error(libc::ENOENT));
                }
                std::fs::symlink_metadata(self.store.path(ino))?
            }
        };
        let kind = match self.store.kind(ino) {
            Some(Kind::Dir) => FileType::Directory,
            _ => FileType::RegularFile,
        };
        Ok(FileAttr {
            ino: INodeNo(ino),
            size: md.size(),
            blocks: md.blocks(),
            atime: time(md.atime(), md.atime_nsec()),
            mtime: time(md.mtime(), md.mtime_nsec()),
            ctime: time(md.ctime(), md.ctime_nsec()),
            crtime: time(md.ctime(), md.ctime_nsec()),
            kind,
            perm: (md.mode() & 0o7777) as u16,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid: md.uid(),
            gid: md.gid(),
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    fn add_handle(&mut self, f: File) -> u64 {
        let fh = self.next_fh;
        self.next_fh += 1;
        self.handles.insert(fh, f);
        fh
    }

    /// A handle to write through: the caller's, or a fresh one.
    fn file(&self, ino: u64, fh: Option<u64>) -> io::Result<File> {
        match fh.and_then(|h| self.handles.get(&h)) {
            Some(f) => f.try_clone(),
            None => self.store.open_file(ino),
        }
    }
}

fn to_time(t: TimeOrNow) -> SystemTime {
    match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    }
}

impl Filesystem for LazyFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let g = self.lock();
        match g.store.lookup(parent.0, name) {
            Some(ino) => entry(reply, g.attr(ino, None)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let g = self.lock();
        match g.attr(ino.0, fh.map(|h| h.0)) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(err(e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut g = self.lock();
        let ino = ino.0;
        let fh = fh.map(|h| h.0);
        let res = (|| -> io::Result<()> {
            let path = g.store.path(ino);
            if let Some(len) = size {
                let f = g.file(ino, fh)?;
                g.store.truncate(ino, &f, len)?;
            }
            if let Some(m) = mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m & 0o7777))?;
            }
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::chown(&path, uid, gid)?;
            }
            if atime.is_some() || mtime.is_some() {
                let f = std::fs::File::options().read(true).open(&path)?;
                let mut t = std::fs::FileTimes::new();
                if let Some(a) = atime {
                    t = t.set_accessed(to_time(a));
                }
                if let Some(m) = mtime {
                    t = t.set_modified(to_time(m));
                }
                f.set_times(t)?;
            }
            Ok(())
        })();
        match res.and_then(|_| g.attr(ino, fh)) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(err(e)),
        }
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        if mode & libc::S_IFMT != libc::S_IFREG {
            return reply.error(Errno::EPERM);
        }
        let mut g = self.lock();
        let r = g.store.create(parent.0, name, mode & !umask);
        entry(reply, r.and_then(|ino| g.attr(ino, None)))
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let mut g = self.lock();
        let r = g.store.mkdir(parent.0, name, mode & !umask);
        entry(reply, r.and_then(|ino| g.attr(ino, None)))
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        done(reply, self.lock().store.unlink(parent.0, name))
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        done(reply, self.lock().store.rmdir(parent.0, name))
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            return reply.error(Errno::EINVAL);
        }
        let noreplace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        match self
            .lock()
            .store
            .rename(parent.0, name, newparent.0, newname, noreplace)
        {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(err(e)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let mut g = self.lock();
        let res = g.store.open_file(ino.0).and_then(|f| {
            if flags.0 & libc::O_TRUNC != 0 {
                g.store.truncate(ino.0, &f, 0)?;
            }
            Ok(f)
        });
        match res {
            Ok(f) => {
                let fh = g.add_handle(f);
                reply.opened(FileHandle(fh), FopenFlags::empty())
            }
            Err(e) => reply.error(err(e)),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let mut g = self.lock();
        let res = g
            .store
            .create(parent.0, name, mode & !umask)
            .and_then(|ino| {
                let f = g.store.open_file(ino)?;
                let fh = g.add_handle(f);
                Ok((g.attr(ino, Some(fh))?, fh))
            });
        match res {
            Ok((a, fh)) => {
                reply.created(&TTL, &a, Generation(0), FileHandle(fh), FopenFlags::empty())
            }
            Err(e) => reply.error(err(e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let g = self.lock();
        let f = match g.file(ino.0, Some(fh.0)) {
            Ok(f) => f,
            Err(e) => return reply.error(err(e)),
        };
        drop(g);
        let mut buf = vec![0u8; size as usize];
        let mut got = 0;
        while got < buf.len() {
            match f.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return reply.error(err(e)),
            }
        }
        reply.data(&buf[..got]);
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut g = self.lock();
        let res = g
            .file(ino.0, Some(fh.0))
            .and_then(|f| g.store.write(ino.0, &f, offset, data));
        match res {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(err(e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.lock().handles.remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        done(reply, self.lock().store.fsync(ino.0))
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.lock().store.kind(ino.0) {
            Some(Kind::Dir) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Some(Kind::File) => reply.error(Errno::ENOTDIR),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let g = self.lock();
        let entries = match g.store.entries(ino.0) {
            Ok(e) => e,
            Err(e) => return reply.error(err(e)),
        };
        let parent = if ino.0 == ROOT {
            ROOT
        } else {
            g.store.parent(ino.0)
        };
        let mut all = vec![
            (
                INodeNo(ino.0),
                FileType::Directory,
                OsStr::new(".").to_os_string(),
            ),
            (
                INodeNo(parent),
                FileType::Directory,
                OsStr::new("..").to_os_string(),
            ),
        ];
        for (name, child, kind) in entries {
            let t = match kind {
                Kind::Dir => FileType::Directory,
                Kind::File => FileType::RegularFile,
            };
            all.push((INodeNo(child), t, name));
        }
        for (i, (child, t, name)) in all.into_iter().enumerate().skip(offset as usize) {
            if reply.add(child, (i + 1) as u64, t, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        done(reply, self.lock().store.fsyncdir(ino.0))
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let g = self.lock();
        let path = g.store.path(ROOT);
        let c = match std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) {
            Ok(c) => c,
            Err(_) => return reply.error(Errno::EINVAL),
        };
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid C string and a zeroed out-struct.
        if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
            return reply.error(err(io::Error::last_os_error()));
        }
        reply.statfs(
            s.f_blocks,
            s.f_bfree,
            s.f_bavail,
            s.f_files,
            s.f_ffree,
            s.f_bsize as u32,
            s.f_namemax as u32,
            s.f_frsize as u32,
        );
    }

    fn access(&self, _req: &Request, ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        if self.lock().store.exists(ino.0) {
            reply.ok()
        } else {
            reply.error(Errno::ENOENT)
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        // Only plain allocation (what RandomAccessFile.setLength-like
        // preallocation asks): it grows the file, never changing durable bytes.
        if mode != 0 {
            return reply.error(Errno::EOPNOTSUPP);
        }
        let g = self.lock();
        let res = g.file(ino.0, Some(fh.0)).and_then(|f| {
            let len = f.metadata()?.len();
            if offset + length > len {
                f.set_len(offset + length)?;
            }
            Ok(())
        });
        done(reply, res)
    }
}
