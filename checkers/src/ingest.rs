//! The one pairing pass: reading a history as a stream, pairing each
//! completion with its invocation ([`trial_histories::Outstanding`], the
//! one pairing rule) and feeding every checker that is on
//! ([`crate::checker`]).

use crate::checker::{enabled, Checker, CheckerOutput, Context, Invocation, ProcKey, Registration};
use crate::hash::FxHashMap;
use crate::{CheckError, CheckOptions};
use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trial_histories::cursor::Cursor;
use trial_histories::scan::{parse_chunk_with, ChunkOps, ValueDecoder};
use trial_histories::values::Record;
use trial_histories::{HistoryReader, Op, OpType, Outstanding, Process, Step, F};

/// What one streaming pass over a history produced.
pub struct Ingested {
    /// One output per checker that was on, in registration order.
    pub outputs: Vec<CheckerOutput>,
    pub ops: u64,
    pub warnings: Vec<String>,
}

#[derive(serde::Deserialize)]
struct PartitionOnly {
    #[serde(default)]
    partition: i32,
}

struct Driver<'a> {
    path: &'a Path,
    checkers: Vec<Box<dyn Checker>>,
    pending: Outstanding<Invocation>,
    named: FxHashMap<String, ProcKey>,
    /// The nemesis's key once named (`NO_KEY` before).
    nemesis: ProcKey,
    line: u64,
}

const NO_KEY: ProcKey = ProcKey::MAX;

const NAMED_BASE: u64 = 1 << 63;

/// What a parse worker decoded of an op's value for every checker (so the
/// checking thread, the sequential part, does less).
#[derive(Clone, Copy)]
enum Pre {
    /// Nothing was tried: the driver decodes a send itself.
    NotDone,
    /// Tried: nothing to hand over (not a send or a poll, or a shape the
    /// fast decoders do not take: the checkers use serde, as before).
    Nothing,
    /// A send's (value, partition, offset) ([`crate::decode::send`]).
    Send(u64, Option<i32>, Option<i64>),
    /// A poll's records: this range of the chunk's records
    /// ([`crate::decode::poll`]).
    Records(u32, u32),
}

/// A chunk's ops with what the worker decoded of them.
#[derive(Default)]
struct Decoded {
    chunk: ChunkOps,
    /// One per op of `chunk.ops`.
    pre: Vec<Pre>,
    records: Vec<Record>,
}

/// What the parse worker decodes of each op's value (the same decoders and
/// fall-backs the driver and the checkers use): sends and polls, while the
/// line is scanned ([`trial_histories::scan::parse_chunk_with`]).
struct PreDecoder<'r> {
    records: &'r mut Vec<Record>,
}

impl PreDecoder<'_> {
    /// The records from `a` on as a `Pre`, if they fit its range.
    fn records_from(&mut self, a: usize) -> Pre {
        if self.records.len() < u32::MAX as usize {
            Pre::Records(a as u32, self.records.len() as u32)
        } else {
            self.records.truncate(a);
            Pre::Nothing
        }
    }
}

impl ValueDecoder for PreDecoder<'_> {
    type Out = Pre;

    #[inline]
    fn at(&mut self, _: OpType, f: &F, c: &mut Cursor) -> Option<Pre> {
        match f {
            F::Send => crate::decode::send_at(c).map(|(v, p, o)| Pre::Send(v, p, o)),
            F::Poll => {
                let a = self.records.len();
                if crate::decode::poll_at(c, self.records).is_some() {
                    Some(self.records_from(a))
                } else {
                    self.records.truncate(a);
                    None
                }
            }
            _ => None,
        }
    }

    fn op(&mut self, op: &Op) -> Pre {
        let v = op.value.get();
        match op.f {
            F::Send => crate::decode::send(v).map_or(Pre::Nothing, |(v, p, o)| Pre::Send(v, p, o)),
            F::Poll if v != "null" => {
                let a = self.records.len();
                if crate::decode::poll(v, self.records) {
                    self.records_from(a)
                } else {
                    Pre::Nothing
                }
            }
            _ => Pre::Nothing,
        }
    }
}

impl Decoded {
    /// Parse a chunk of whole lines, decoding sends and polls as they are
    /// scanned.
    fn parse(&mut self, chunk: &[u8], at_eof: bool) {
        self.records.clear();
        let mut d = PreDecoder {
            records: &mut self.records,
        };
        parse_chunk_with(chunk, at_eof, &mut self.chunk, &mut d, &mut self.pre);
    }
}

impl<'a> Driver<'a> {
    fn new(path: &'a Path, opts: &CheckOptions, registry: &[Registration]) -> Self {
        Driver {
            path,
            checkers: enabled(registry, opts).map(|r| (r.make)(opts)).collect(),
            pending: Outstanding::new(),
            named: FxHashMap::default(),
            nemesis: NO_KEY,
            line: 0,
        }
    }

    fn key(&mut self, p: &Process) -> ProcKey {
        match p {
            Process::Worker(n) if *n < NAMED_BASE => *n,
            // (Every nemesis op: no name to format and look up each time.)
            Process::Nemesis if self.nemesis != NO_KEY => self.nemesis,
            other => {
                let name = other.to_string();
                if let Some(k) = self.named.get(&name) {
                    return *k;
                }
                let k = NAMED_BASE + self.named.len() as u64;
                self.named.insert(name.clone(), k);
                for c in &mut self.checkers {
                    c.name_process(k, &name);
                }
                if *other == Process::Nemesis {
                    self.nemesis = k;
                }
                k
            }
        }
    }

    fn push(&mut self, op: &Op) -> Result<(), CheckError> {
        self.push_pre(op, Pre::NotDone, &[])
    }

    /// [`Driver::push`] with what a parse worker decoded already (`records`:
    /// the chunk's records that `Pre::Records` ranges index).
    fn push_pre(&mut self, op: &Op, pre: Pre, records: &[Record]) -> Result<(), CheckError> {
        let key = self.key(&op.process);
        let step = self
            .pending
            .step(op, || Invocation {
                f: op.f.clone(),
                index: op.index,
                time: op.time,
                process: key,
                partition: if op.f == F::FinalRead {
                    op.value_as::<PartitionOnly>().map_or(-1, |p| p.partition)
                } else {
                    0
                },
            })
            .map_err(|e| CheckError::Pairing {
                path: self.path.to_path_buf(),
                line: self.line,
                index: op.index,
                message: e.to_string(),
            })?;
        let cx = Context {
            path: self.path,
            line: self.line,
            process: key,
            worker: matches!(op.process, Process::Worker(_)),
            send: match pre {
                Pre::NotDone if op.f == F::Send => crate::decode::send(op.value.get()),
                Pre::Send(v, p, o) => Some((v, p, o)),
                _ => None,
            },
            records: match pre {
                Pre::Records(a, b) => Some(&records[a as usize..b as usize]),
                _ => None,
            },
        };
        match step {
            Step::Invoked(_) => {
                for c in &mut self.checkers {
                    c.invoke(op, &cx)?;
                }
            }
            Step::Completed(inv) => {
                for c in &mut self.checkers {
                    c.complete(Some(&inv.data), op, &cx)?;
                }
            }
            Step::Event => {
                debug_assert!(op.kind != OpType::Invoke);
                for c in &mut self.checkers {
                    c.complete(None, op, &cx)?;
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Vec<CheckerOutput> {
        let rest = self.pending.drain();
        for (_, p) in &rest {
            for c in &mut self.checkers {
                c.unfinished(&p.data);
            }
        }
        // Each checker's end (the queue checker's transaction graph and
        // cycle search, the stats' quantiles, ...) is independent of the
        // others': one thread each, outputs in registration order.
        std::thread::scope(|s| {
            let ends: Vec<_> = self
                .checkers
                .into_iter()
                .map(|c| s.spawn(move || c.finish()))
                .collect();
            ends.into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }
}

/// Told how far a check is: `(bytes done, bytes in all)` of the history
/// file, at most ~20 times a second ([`crate::CheckOptions::progress`]).
#[derive(Clone, Default)]
pub struct Progress(pub Option<Arc<dyn Fn(u64, u64) + Send + Sync>>);

impl Progress {
    pub fn new(f: impl Fn(u64, u64) + Send + Sync + 'static) -> Self {
        Progress(Some(Arc::new(f)))
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(callback)"
        } else {
            "Progress(none)"
        })
    }
}

/// Calls a [`Progress`] at most every 50 ms.
struct Ticker<'a> {
    progress: &'a Progress,
    total: u64,
    last: Instant,
}

impl Ticker<'_> {
    fn tick(&mut self, done: u64, last_call: bool) {
        if let Some(f) = &self.progress.0 {
            if last_call || self.last.elapsed() >= Duration::from_millis(50) {
                f(done, self.total);
                self.last = Instant::now();
            }
        }
    }
}

/// Bytes per chunk of the parallel parse: a few thousand ops, small
/// enough that the chunks in flight (about three per worker) stay a few MB.
const CHUNK: usize = 1 << 20;

/// Read the history at `path` once and run every registered checker that
/// is on, with parsing on all cores ([`ingest_file_with`]).
pub fn ingest_file(
    path: &Path,
    opts: &CheckOptions,
    registry: &[Registration],
) -> Result<Ingested, CheckError> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    ingest_file_with(path, opts, registry, workers)
}

/// A parsed chunk: its ops, its buffer and the bytes of it that were the
/// chunk, and where its op list goes back to.
type Parsed = (Decoded, Vec<u8>, usize, SyncSender<Decoded>);

/// What the reading thread hands the checking thread, in file order.
enum Next {
    /// A chunk being parsed by a worker: its ops arrive here.
    Chunk(Receiver<Parsed>),
    Io(std::io::Error),
}

/// The parallel pass: one thread reads the file in chunks of whole lines
/// ([`CHUNK`] bytes), `workers` threads parse chunks at once
/// ([`trial_histories::scan::parse_chunk`]: the hand scanner, serde for
/// anything unusual), and this thread pairs and checks the ops in file
/// order (each chunk's result comes through its own one-slot channel,
/// queued in order). Why: parsing was more than half of a check's CPU time
/// and is independent per line; pairing and the checkers' state are
/// sequential but cheap. Memory: the chunks in flight are bounded
/// (`2 × workers + 2`), so peak memory is the checkers' state (distinct
/// values and offsets), not the file. Same outputs, errors (same lines) and
/// warnings as [`ingest_file_reference`].
pub fn ingest_file_with(
    path: &Path,
    opts: &CheckOptions,
    registry: &[Registration],
    workers: usize,
) -> Result<Ingested, CheckError> {
    ingest_chunked(path, opts, registry, workers, CHUNK)
}

/// [`ingest_file_with`] with chunks of `chunk` bytes (tests: tiny chunks
/// put chunk boundaries everywhere).
fn ingest_chunked(
    path: &Path,
    opts: &CheckOptions,
    registry: &[Registration],
    workers: usize,
    chunk: usize,
) -> Result<Ingested, CheckError> {
    let workers = workers.max(1);
    let chunk = chunk.max(1);
    let io_err = |source| {
        CheckError::Read(trial_histories::ReadError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let total = file.metadata().map_or(0, |m| m.len());
    let mut ticker = Ticker {
        progress: &opts.progress,
        total,
        last: Instant::now(),
    };
    std::thread::scope(|s| {
        type Job = (Vec<u8>, usize, bool, SyncSender<Parsed>);
        let (job_tx, job_rx) = sync_channel::<Job>(workers);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (order_tx, order_rx) = sync_channel::<Next>(2 * workers + 2);
        // Parsed chunks' op lists go back to the worker that parsed them,
        // which frees their ops when it reuses the list: every op is freed
        // by the thread that allocated it (frees across threads contend in
        // the system allocator). Byte buffers go back to the reader.
        let (buf_back_tx, buf_back_rx) = sync_channel::<Vec<u8>>(4 * workers + 4);
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let (own_tx, own_rx) = sync_channel::<Decoded>(4);
            s.spawn(move || loop {
                let job = job_rx
                    .lock()
                    .map_err(|_| ())
                    .and_then(|r| r.recv().map_err(|_| ()));
                let Ok((buf, len, at_eof, done)) = job else {
                    return;
                };
                let mut out = own_rx.try_recv().unwrap_or_default();
                out.parse(&buf[..len], at_eof);
                let _ = done.send((out, buf, len, own_tx.clone()));
            });
        }
        s.spawn(move || {
            // Each buffer is chunk bytes and more (zeroed once, then
            // reused): `len` of it is the chunk; a partial last line moves
            // to the start of the next buffer.
            let mut carry: Vec<u8> = Vec::new();
            loop {
                let mut buf = buf_back_rx.try_recv().unwrap_or_default();
                if buf.len() < chunk + carry.len() {
                    buf.resize(chunk + carry.len(), 0);
                }
                let mut len = carry.len();
                buf[..len].copy_from_slice(&carry);
                carry.clear();
                // Read a chunk's worth, and on until a newline (a line
                // longer than a chunk) or the end of the file.
                let at_eof = loop {
                    let have = len;
                    let want = have + chunk;
                    if buf.len() < want {
                        buf.resize(want, 0);
                    }
                    let n = match read_full(&mut file, &mut buf[have..want]) {
                        Ok(n) => n,
                        Err(e) => {
                            let _ = order_tx.send(Next::Io(e));
                            return;
                        }
                    };
                    len = have + n;
                    if n < chunk {
                        break true;
                    }
                    if memchr::memchr(b'\n', &buf[have..len]).is_some() {
                        break false;
                    }
                };
                if !at_eof {
                    let cut = memchr::memrchr(b'\n', &buf[..len]).map_or(len, |p| p + 1);
                    carry.extend_from_slice(&buf[cut..len]);
                    len = cut;
                }
                if len == 0 && at_eof {
                    return;
                }
                let (done_tx, done_rx) = sync_channel(1);
                if order_tx.send(Next::Chunk(done_rx)).is_err()
                    || job_tx.send((buf, len, at_eof, done_tx)).is_err()
                {
                    return; // the checker stopped (an error)
                }
                if at_eof {
                    return;
                }
            }
        });
        let mut d = Driver::new(path, opts, registry);
        let mut ops = 0u64;
        let mut base = 0u64;
        let mut bytes = 0u64;
        let mut warnings = Vec::new();
        for next in order_rx {
            let rx = match next {
                Next::Chunk(rx) => rx,
                Next::Io(e) => return Err(io_err(e)),
            };
            let Ok((mut parsed, buf, len, owner)) = rx.recv() else {
                break; // (a worker panicked: the scope re-raises it)
            };
            for ((op, line), pre) in parsed.chunk.ops.iter().zip(&parsed.pre) {
                d.line = base + line;
                ops += 1;
                d.push_pre(op, *pre, &parsed.records)?;
            }
            if let Some(e) = parsed.chunk.take_error(path, base) {
                return Err(CheckError::Read(e));
            }
            if let Some(w) = parsed.chunk.warning(base) {
                tracing::warn!("{}: {}", path.display(), w);
                warnings.push(w.to_string());
            }
            base += parsed.chunk.lines;
            bytes += len as u64;
            ticker.tick(bytes, false);
            let _ = owner.try_send(parsed);
            let _ = buf_back_tx.try_send(buf);
        }
        ticker.tick(bytes, true);
        Ok(Ingested {
            outputs: d.finish(),
            ops,
            warnings,
        })
    })
}

/// Read until `buf` is full or the end of the file.
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The reference pass (before issue 17): [`HistoryReader`] with serde's
/// parser alone, on two threads. Kept for differential tests: the parallel
/// [`ingest_file`] must give the same outputs.
///
/// Two threads: one reads and parses lines (the JSON of each op), the other
/// decodes values and runs the checkers; ops pass between them in batches,
/// in order. Parsing is about half the work, so on two cores this nearly
/// halves the wall time; memory stays bounded (a few batches in flight).
pub fn ingest_file_reference(
    path: &Path,
    opts: &CheckOptions,
    registry: &[Registration],
) -> Result<Ingested, CheckError> {
    enum Msg {
        Ops(Vec<(Op, u64)>),
        Err(trial_histories::ReadError),
        End(Vec<String>),
    }
    const BATCH: usize = 1024;
    let mut r = HistoryReader::open(path)?.serde_only();
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Msg>(8);
        // Batches come back to the reader to be dropped and reused there:
        // ops are freed by the thread that allocated them (cross-thread
        // frees are slow in the system allocator).
        let (back_tx, back_rx) = sync_channel::<Vec<(Op, u64)>>(16);
        s.spawn(move || {
            let fresh =
                |back_rx: &std::sync::mpsc::Receiver<Vec<(Op, u64)>>| match back_rx.try_recv() {
                    Ok(mut b) => {
                        b.clear();
                        b
                    }
                    Err(_) => Vec::with_capacity(BATCH),
                };
            let mut batch = fresh(&back_rx);
            while let Some(op) = r.next() {
                match op {
                    Ok(op) => {
                        batch.push((op, r.lines_read()));
                        if batch.len() == BATCH {
                            let next = fresh(&back_rx);
                            let full = std::mem::replace(&mut batch, next);
                            if tx.send(Msg::Ops(full)).is_err() {
                                return; // the checker stopped (an error)
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Msg::Ops(batch));
                        let _ = tx.send(Msg::Err(e));
                        return;
                    }
                }
            }
            let _ = tx.send(Msg::Ops(batch));
            let _ = tx.send(Msg::End(
                r.warnings().iter().map(|w| w.to_string()).collect(),
            ));
            // Drain returned batches here, so their ops are freed here.
            drop(tx);
            while back_rx.recv().is_ok() {}
        });
        let mut d = Driver::new(path, opts, registry);
        let mut ops = 0u64;
        let mut warnings = Vec::new();
        for msg in rx {
            match msg {
                Msg::Ops(batch) => {
                    for (op, line) in &batch {
                        d.line = *line;
                        ops += 1;
                        d.push(op)?;
                    }
                    // If the reader is gone or its queue is full, drop here.
                    let _ = back_tx.try_send(batch);
                }
                Msg::Err(e) => return Err(CheckError::Read(e)),
                Msg::End(w) => warnings = w,
            }
        }
        drop(back_tx);
        Ok(Ingested {
            outputs: d.finish(),
            ops,
            warnings,
        })
    })
}

/// Same, from any reader.
pub fn ingest_reader<R: std::io::BufRead>(
    r: &mut HistoryReader<R>,
    path: &Path,
    opts: &CheckOptions,
    registry: &[Registration],
) -> Result<Ingested, CheckError> {
    let mut d = Driver::new(path, opts, registry);
    let mut ops = 0u64;
    while let Some(op) = r.next() {
        let op = op?;
        d.line = r.lines_read();
        ops += 1;
        d.push(&op)?;
    }
    let warnings = r.warnings().iter().map(|w| w.to_string()).collect();
    Ok(Ingested {
        outputs: d.finish(),
        ops,
        warnings,
    })
}

/// Check ops already in memory (tests, generators).
pub fn ingest_ops(
    ops: &[Op],
    opts: &CheckOptions,
    registry: &[Registration],
) -> Result<Ingested, CheckError> {
    let path = Path::new("<memory>");
    let mut d = Driver::new(path, opts, registry);
    for (i, op) in ops.iter().enumerate() {
        d.line = i as u64 + 1;
        d.push(op)?;
    }
    Ok(Ingested {
        outputs: d.finish(),
        ops: ops.len() as u64,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{
        simulate_group_to_file, simulate_to_file, simulate_txn_to_file, GroupSimConfig, SimConfig,
        TxnSimConfig,
    };
    use crate::{checker::REGISTRY, Isolation};
    use proptest::prelude::*;

    /// The whole results.json of a pass, or the error's text.
    fn results(r: Result<Ingested, CheckError>, opts: &CheckOptions) -> String {
        match r {
            Ok(ing) => serde_json::to_string(&crate::assemble(ing, None, opts)).unwrap(),
            Err(e) => format!("error at line {:?}: {e}", e.line()),
        }
    }

    /// The parallel pass and the reference give the same results (or the
    /// same error) on `path`, with chunks of `chunk` bytes.
    fn same(path: &Path, opts: &CheckOptions, chunk: usize, workers: usize) {
        let reference = results(ingest_file_reference(path, opts, REGISTRY), opts);
        let fast = results(ingest_chunked(path, opts, REGISTRY, workers, chunk), opts);
        assert_eq!(fast, reference, "chunk {chunk}, {workers} workers");
    }

    /// Lines changed in the ways a damaged or foreign file is: a blank
    /// line, CRLF, whitespace (serde's path), a malformed line, a cut-off
    /// last line.
    fn damage(text: &str, how: u8, at: usize) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let at = at % lines.len().max(1);
        match how % 6 {
            0 => lines.insert(at, String::new()),
            1 => lines[at].push('\r'),
            2 => lines[at] = lines[at].replacen(':', ": ", 2),
            3 => lines[at].insert(3, 'x'),
            4 => {
                let l = lines.pop().unwrap_or_default();
                let mut out = lines.join("\n");
                out.push('\n');
                out.push_str(&l[..l.len() / 2]);
                return out;
            }
            _ => lines[at] = lines[at].replace("\"value\":", "\"value\" :"),
        }
        lines.join("\n") + "\n"
    }

    #[test]
    fn every_generator_gives_the_reference_results() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q.jsonl");
        simulate_to_file(
            &SimConfig {
                steps: 3000,
                nemesis: true,
                ..SimConfig::default()
            },
            &q,
        )
        .unwrap();
        let qt = dir.path().join("qt.jsonl");
        simulate_to_file(
            &SimConfig {
                steps: 3000,
                txns: true,
                ..SimConfig::default()
            },
            &qt,
        )
        .unwrap();
        let t = dir.path().join("t.jsonl");
        simulate_txn_to_file(
            &TxnSimConfig {
                steps: 3000,
                ..TxnSimConfig::default()
            },
            &t,
        )
        .unwrap();
        let g = dir.path().join("g.jsonl");
        simulate_group_to_file(
            &GroupSimConfig {
                steps: 1000,
                ..GroupSimConfig::default()
            },
            &g,
        )
        .unwrap();
        let plain = CheckOptions::default();
        let txn = CheckOptions {
            transactional: true,
            isolation: Isolation::ReadCommitted,
            ..CheckOptions::default()
        };
        for (path, opts) in [(&q, &plain), (&qt, &txn), (&t, &txn), (&g, &plain)] {
            for (chunk, workers) in [(CHUNK, 2), (1, 1), (333, 3), (4096, 2)] {
                same(path, opts, chunk, workers);
            }
        }
    }

    #[test]
    fn progress_is_reported_up_to_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q.jsonl");
        simulate_to_file(
            &SimConfig {
                steps: 500,
                ..SimConfig::default()
            },
            &q,
        )
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = Arc::clone(&seen);
        let opts = CheckOptions {
            progress: Progress::new(move |done, total| s2.lock().unwrap().push((done, total))),
            ..CheckOptions::default()
        };
        ingest_chunked(&q, &opts, REGISTRY, 2, 512).unwrap();
        let len = std::fs::metadata(&q).unwrap().len();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.last(), Some(&(len, len)));
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Damaged files: the same results, or the same error on the same
        /// line, whatever the chunk size.
        #[test]
        fn damaged_files_give_the_reference_outcome(
            seed in any::<u64>(), how in any::<u8>(), at in any::<usize>(), chunk in 1usize..3000,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let clean = dir.path().join("clean.jsonl");
            simulate_to_file(
                &SimConfig { seed, steps: 300, nemesis: true, ..SimConfig::default() },
                &clean,
            )
            .unwrap();
            let text = std::fs::read_to_string(&clean).unwrap();
            let bad = dir.path().join("bad.jsonl");
            std::fs::write(&bad, damage(&text, how, at)).unwrap();
            same(&bad, &CheckOptions::default(), chunk, 2);
        }
    }
}
