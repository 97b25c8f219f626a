//! The history writer: appends one JSON line per op, and hands a file's
//! lines to the operating system in groups — at the latest [`FLUSH_EVERY`] after
//! the oldest of them was appended (a thread of the writer's own sees to it
//! when nothing else is appended), or once [`FLUSH_BYTES`] have gathered —
//! so that a controller killed at any instant leaves every line older than
//! that readable, and the file is whole lines at every moment. One
//! `write(2)` per line capped the load generator: two threads appended
//! 252 k ops/s to a file that way against 1.27 M/s without the system call
//! (`cargo bench -p trial-histories --bench writer`, on a loaded 2-core
//! machine).

use crate::op::Op;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an appended line may wait in memory before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// How many bytes of lines may wait before they are written.
pub const FLUSH_BYTES: usize = 64 * 1024;

/// Shared, thread-safe history writer. Wrap it in an `Arc` and give a clone
/// to every worker task; `append` never awaits, and holds its lock for one
/// serialisation (and, every [`FLUSH_BYTES`] or [`FLUSH_EVERY`], one
/// `write` call).
pub struct HistoryWriter {
    inner: Arc<Mutex<Inner>>,
    start: Instant,
    count: AtomicU64,
}

struct Inner {
    out: Box<dyn Write + Send>,
    next_index: u64,
    /// Whole lines not written yet.
    pending: Vec<u8>,
    /// When the oldest of them was appended.
    oldest: Option<Instant>,
    /// Whether lines wait to be written in groups (a file), or each is
    /// written at once (a sink given to [`HistoryWriter::from_writer`]).
    grouped: bool,
    failed: Option<String>,
    /// The file (when writing one), to cut a line a failed write left
    /// half written (a full disk): what was written still parses.
    file: Option<File>,
    /// Bytes of whole lines written.
    written: u64,
}

impl Inner {
    /// Serialise `op` as a line into the pending lines; write them when
    /// they are due.
    fn push(&mut self, op: &Op) -> io::Result<()> {
        let at = self.pending.len();
        if let Err(e) = serde_json::to_writer(&mut self.pending, op) {
            self.pending.truncate(at);
            return Err(io::Error::other(e));
        }
        self.pending.push(b'\n');
        let oldest = *self.oldest.get_or_insert_with(Instant::now);
        if !self.grouped || self.pending.len() >= FLUSH_BYTES || oldest.elapsed() >= FLUSH_EVERY {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Hand the pending lines to the sink. A failure is kept (every later
    /// append fails too) and the file cut back to its whole lines.
    fn write_pending(&mut self) -> io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(io::Error::other(format!(
                "history writer failed earlier: {e}"
            )));
        }
        let res = self
            .out
            .write_all(&self.pending)
            .and_then(|_| self.out.flush());
        let n = self.pending.len() as u64;
        self.pending.clear();
        self.oldest = None;
        match res {
            Ok(()) => {
                self.written += n;
                Ok(())
            }
            Err(e) => {
                self.failed = Some(e.to_string());
                if let Some(f) = &self.file {
                    let _ = f.set_len(self.written);
                }
                Err(e)
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.write_pending();
        }
    }
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
        {
            let mut g = w.inner.lock().unwrap_or_else(|p| p.into_inner());
            g.file = keep;
            g.grouped = true;
        }
        // Lines appended just before a quiet spell are written within
        // FLUSH_EVERY all the same. The thread ends with the writer.
        let weak = Arc::downgrade(&w.inner);
        let _ = std::thread::Builder::new()
            .name("history-flush".into())
            .spawn(move || loop {
                std::thread::sleep(FLUSH_EVERY);
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
                if g.failed.is_none() && g.oldest.is_some_and(|t| t.elapsed() >= FLUSH_EVERY) {
                    let _ = g.write_pending();
                }
            });
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
    /// unbuffered: each line reaches it at once, with one `write_all` and
    /// then a flush (a test that watches the sink sees every op as it is
    /// appended; only [`HistoryWriter::create`]'s files are written in
    /// groups).
    pub fn from_writer<W: Write + Send + 'static>(out: W) -> HistoryWriter {
        let inner = Arc::new(Mutex::new(Inner {
            out: Box::new(out),
            next_index: 0,
            pending: Vec::with_capacity(FLUSH_BYTES + 4096),
            oldest: None,
            grouped: false,
            failed: None,
            file: None,
            written: 0,
        }));
        HistoryWriter {
            inner,
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

    /// Number of ops appended so far.
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
        g.push(&op)?;
        g.next_index += 1;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(op)
    }

    /// Append an op whose index and time were assigned elsewhere (imports,
    /// rewriting a history). Indices must still be dense.
    pub fn append_raw(&self, op: &Op) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.push(op)?;
        g.next_index = op.index + 1;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Write every pending line and flush the sink (end of a test, or
    /// before reading the file).
    pub fn sync(&self) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !g.pending.is_empty() {
            g.write_pending()?;
        }
        g.out.flush()
    }
}

/// Sync a history file's data to disk.
pub fn fsync(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}
