//! The history writer: appends one JSON line per op and hands each line to
//! the operating system at once, so that a controller killed at any instant
//! leaves every completed line readable.

use crate::op::Op;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Shared, thread-safe history writer. Wrap it in an `Arc` and give a clone
/// to every worker task; `append` never awaits, and holds its lock only for
/// one `write` call.
pub struct HistoryWriter {
    inner: Mutex<Inner>,
    start: Instant,
    count: AtomicU64,
}

struct Inner {
    out: Box<dyn Write + Send>,
    next_index: u64,
    line: Vec<u8>,
    failed: Option<String>,
    /// The file (when writing one), to cut a line a failed write left
    /// half written (a full disk): what was written still parses.
    file: Option<File>,
    /// Bytes of whole lines written.
    written: u64,
}

impl HistoryWriter {
    /// Create (truncate) a history file.
    pub fn create(path: &Path) -> io::Result<HistoryWriter> {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        let keep = f.try_clone().ok();
        let w = Self::from_writer(f);
        w.inner.lock().unwrap_or_else(|p| p.into_inner()).file = keep;
        Ok(w)
    }

    /// Why writing failed, if it did (every later append fails too): a
    /// trial stops when its history cannot be written.
    pub fn failure(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failed
            .clone()
    }

    /// A writer over any sink (e.g. a `Vec<u8>` in tests). The sink should be
    /// unbuffered: each op is written with one `write_all` and then flushed.
    pub fn from_writer<W: Write + Send + 'static>(out: W) -> HistoryWriter {
        HistoryWriter {
            inner: Mutex::new(Inner {
                out: Box::new(out),
                next_index: 0,
                line: Vec::with_capacity(256),
                failed: None,
                file: None,
                written: 0,
            }),
            start: Instant::now(),
            count: AtomicU64::new(0),
        }
    }

    /// The instant the test started: `time` of every op counts from here.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Nanoseconds since the test started.
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Number of ops written so far.
    pub fn len(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append an op: its `index` and `time` are assigned here, under the
    /// lock, so indices are dense and times never decrease along the file.
    /// Returns the op as written.
    pub fn append(&self, mut op: Op) -> io::Result<Op> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = &g.failed {
            return Err(io::Error::other(format!(
                "history writer failed earlier: {e}"
            )));
        }
        op.index = g.next_index;
        op.time = self.now_ns();
        let inner = &mut *g;
        inner.line.clear();
        serde_json::to_writer(&mut inner.line, &op).map_err(io::Error::other)?;
        inner.line.push(b'\n');
        let res = inner
            .out
            .write_all(&inner.line)
            .and_then(|_| inner.out.flush());
        if let Err(e) = res {
            inner.failed = Some(e.to_string());
            // Cut the half-written line: the file stays whole lines.
            if let Some(f) = &inner.file {
                let _ = f.set_len(inner.written);
            }
            return Err(e);
        }
        inner.written += inner.line.len() as u64;
        inner.next_index += 1;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(op)
    }

    /// Append an op whose index and time were assigned elsewhere (imports,
    /// rewriting a history). Indices must still be dense.
    pub fn append_raw(&self, op: &Op) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let inner = &mut *g;
        inner.line.clear();
        serde_json::to_writer(&mut inner.line, op).map_err(io::Error::other)?;
        inner.line.push(b'\n');
        inner.out.write_all(&inner.line)?;
        inner.written += inner.line.len() as u64;
        inner.next_index = op.index + 1;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Flush and sync to disk (end of a test).
    pub fn sync(&self) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.out.flush()
    }
}

/// Sync a history file's data to disk.
pub fn fsync(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}
