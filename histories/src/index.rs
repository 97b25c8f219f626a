//! The history index (`history.idx`): op number → byte offset and per-time
//! blocks, so that a reader (`kafka-trial serve`, the report) can fetch a
//! range of ops — by op index or by time window — from a history of ten
//! million ops without reading the whole file.
//!
//! Why blocks rather than one offset per op: an offset per op is 8 bytes ×
//! 10 M = 80 MB, as big as a tenth of the history; a checkpoint every
//! [`STRIDE`] ops is 24 bytes per 256 ops (~1 MB at 10 M ops) and costs a
//! reader at most 255 skipped lines (~35 KB) per query.
//!
//! Ops are numbered by their line in the file (the format's `index` is that
//! number: "dense position in the history, from 0"). Building scans the
//! bytes once and reads only each line's `"time":`, `"process":`,
//! `"type":` and `"f":` fields, so it runs near disk speed, not parse
//! speed.
//!
//! Each block also says where the oldest op still in flight at its start
//! was invoked (`open_from`): a reader of a time window starts there (within
//! a bound) so that an op invoked before the window and completed after it
//! — spanning it — is found (version 2; version 1 indexes are rebuilt).
//!
//! The file is binary, little-endian, versioned:
//!
//! ```text
//! "KTIDX\0" u16 version  u32 stride
//! u64 history length  u64 history mtime (ns since the epoch)
//! u64 ops  u64 end time (the largest time, ns)  u64 blocks
//! blocks × { u64 byte offset of the block's first op, u64 min time, u64 max time,
//!            u64 open_from }
//! ```
//!
//! A history whose length or mtime differ from the index's is newer than
//! the index: [`Index::load`] refuses it and [`Index::load_or_build`]
//! rebuilds.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The index's file name, next to `history.jsonl`.
pub const INDEX_FILE: &str = "history.idx";
/// Ops per block (one checkpoint per block).
pub const STRIDE: u64 = 256;
const MAGIC: &[u8; 6] = b"KTIDX\0";
const VERSION: u16 = 2;

/// One block of [`STRIDE`] consecutive ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Byte offset of the block's first op.
    pub offset: u64,
    /// Smallest and largest `time` of the block's ops (ns).
    pub min_time: u64,
    pub max_time: u64,
    /// The line of the oldest invocation still in flight (not completed)
    /// when the block starts; the block's first line if none is.
    pub open_from: u64,
}

/// The index of one history file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// History length and mtime when the index was built.
    pub history_len: u64,
    pub history_mtime_ns: u64,
    /// Ops (lines) in the history.
    pub ops: u64,
    /// The largest `time` in the history (ns).
    pub end_ns: u64,
    pub blocks: Vec<Block>,
}

/// Where some ops are: read `bytes`, skip `skip` lines, then take the ops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsSpan {
    pub bytes: Range<u64>,
    /// Lines at the start of `bytes` before the first op asked for.
    pub skip: u64,
    /// The first op asked for that exists, and how many exist.
    pub first: u64,
    pub count: u64,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// The index path of a history path (`…/history.jsonl` → `…/history.idx`).
pub fn index_path(history: &Path) -> PathBuf {
    history.with_file_name(INDEX_FILE)
}

fn stamp(history: &Path) -> io::Result<(u64, u64)> {
    let m = std::fs::metadata(history)?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    Ok((m.len(), mtime))
}

/// The value of the first `"time":` field of a history line.
fn line_time(line: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"time\":";
    let at = line.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = line[at..]
        .iter()
        .skip_while(|b| **b == b' ')
        .take_while(|b| b.is_ascii_digit());
    let mut n: u64 = 0;
    let mut any = false;
    for d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        any = true;
    }
    any.then_some(n)
}

/// The raw text of a line's field `key` (`"process":` …): up to the next
/// `,` or `}` (strings without escapes, numbers: what the writer puts in
/// these fields).
fn line_field<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = line.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = &line[at..];
    let end = rest.iter().position(|b| matches!(b, b',' | b'}'))?;
    Some(rest[..end].trim_ascii())
}

/// The ops in flight while a history is scanned: per process, the line and
/// `f` of its invocation (a completion of another `f` is a lone event).
#[derive(Default)]
struct InFlight {
    open: std::collections::HashMap<Vec<u8>, (u64, Vec<u8>)>,
}

impl InFlight {
    fn line(&mut self, n: u64, line: &[u8]) {
        let (Some(p), Some(t), Some(f)) = (
            line_field(line, b"\"process\":"),
            line_field(line, b"\"type\":"),
            line_field(line, b"\"f\":"),
        ) else {
            return;
        };
        if t == b"\"invoke\"" {
            self.open.insert(p.to_vec(), (n, f.to_vec()));
        } else if self.open.get(p).is_some_and(|(_, g)| g == f) {
            self.open.remove(p);
        }
    }

    /// The oldest invocation in flight, or `n`.
    fn oldest(&self, n: u64) -> u64 {
        self.open.values().map(|v| v.0).min().unwrap_or(n).min(n)
    }
}

/// Index a history, streaming (memory: the blocks, ~0.1 byte per op), and
/// write `history.idx` beside it.
pub fn build(history: &Path) -> io::Result<Index> {
    let idx = scan(history)?;
    idx.save(&index_path(history))?;
    Ok(idx)
}

/// Index a history without writing anything (for read-only readers).
pub fn scan(history: &Path) -> io::Result<Index> {
    let (len, mtime) = stamp(history)?;
    let mut r = BufReader::with_capacity(1 << 20, File::open(history)?);
    let mut idx = Index {
        history_len: len,
        history_mtime_ns: mtime,
        ops: 0,
        end_ns: 0,
        blocks: Vec::new(),
    };
    let mut line = Vec::with_capacity(512);
    let mut offset = 0u64;
    let mut flight = InFlight::default();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        // A torn last line (a history still being written) is not an op yet.
        if line.last() != Some(&b'\n') || line.iter().all(u8::is_ascii_whitespace) {
            if line.last() != Some(&b'\n') {
                break;
            }
            offset += n as u64;
            continue;
        }
        let t = line_time(&line).unwrap_or(0);
        if idx.ops.is_multiple_of(STRIDE) {
            idx.blocks.push(Block {
                offset,
                min_time: t,
                max_time: t,
                open_from: flight.oldest(idx.ops),
            });
        }
        flight.line(idx.ops, &line);
        let b = idx.blocks.last_mut().expect("a block was pushed");
        b.min_time = b.min_time.min(t);
        b.max_time = b.max_time.max(t);
        idx.end_ns = idx.end_ns.max(t);
        idx.ops += 1;
        offset += n as u64;
    }
    Ok(idx)
}

impl Index {
    /// Write the index (temporary file + rename: never half an index).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension("idx.tmp");
        {
            let mut w = io::BufWriter::new(File::create(&tmp)?);
            w.write_all(MAGIC)?;
            w.write_all(&VERSION.to_le_bytes())?;
            w.write_all(&(STRIDE as u32).to_le_bytes())?;
            for v in [
                self.history_len,
                self.history_mtime_ns,
                self.ops,
                self.end_ns,
                self.blocks.len() as u64,
            ] {
                w.write_all(&v.to_le_bytes())?;
            }
            for b in &self.blocks {
                for v in [b.offset, b.min_time, b.max_time, b.open_from] {
                    w.write_all(&v.to_le_bytes())?;
                }
            }
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }

    /// Read an index file as it is (no staleness check).
    pub fn read(path: &Path) -> io::Result<Index> {
        let mut bytes = Vec::new();
        File::open(path)?.read_to_end(&mut bytes)?;
        let mut at = 0usize;
        let mut take = |n: usize| -> io::Result<&[u8]> {
            let s = bytes
                .get(at..at + n)
                .ok_or_else(|| bad(format!("{}: truncated", path.display())))?;
            at += n;
            Ok(s)
        };
        if take(6)? != MAGIC {
            return Err(bad(format!("{}: not a history index", path.display())));
        }
        let version = u16::from_le_bytes(take(2)?.try_into().expect("2 bytes"));
        if version != VERSION {
            return Err(bad(format!(
                "{}: index version {version}, this build reads {VERSION}",
                path.display()
            )));
        }
        let stride = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
        if u64::from(stride) != STRIDE {
            return Err(bad(format!("{}: stride {stride}", path.display())));
        }
        let mut u =
            || -> io::Result<u64> { Ok(u64::from_le_bytes(take(8)?.try_into().expect("8"))) };
        let (history_len, history_mtime_ns, ops, end_ns, n) = (u()?, u()?, u()?, u()?, u()?);
        if n != ops.div_ceil(STRIDE) {
            return Err(bad(format!("{}: {n} blocks for {ops} ops", path.display())));
        }
        let mut blocks = Vec::with_capacity(n as usize);
        for _ in 0..n {
            blocks.push(Block {
                offset: u()?,
                min_time: u()?,
                max_time: u()?,
                open_from: u()?,
            });
        }
        Ok(Index {
            history_len,
            history_mtime_ns,
            ops,
            end_ns,
            blocks,
        })
    }

    /// The index of `history` if `history.idx` exists and matches the
    /// history's length and mtime; `Ok(None)` if missing or stale.
    pub fn load(history: &Path) -> io::Result<Option<Index>> {
        let (len, mtime) = stamp(history)?;
        match Index::read(&index_path(history)) {
            Ok(i) if i.history_len == len && i.history_mtime_ns == mtime => Ok(Some(i)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The current index of `history`, built and saved if missing or stale.
    pub fn load_or_build(history: &Path) -> io::Result<Index> {
        match Index::load(history)? {
            Some(i) => Ok(i),
            None => build(history),
        }
    }

    /// The current index of `history`, built in memory (nothing written)
    /// if missing or stale: for read-only readers such as `serve`.
    pub fn load_or_scan(history: &Path) -> io::Result<Index> {
        match Index::load(history)? {
            Some(i) => Ok(i),
            None => scan(history),
        }
    }

    /// Where ops `first .. first + count` are (clipped to the history).
    pub fn ops_range(&self, first: u64, count: u64) -> OpsSpan {
        let first = first.min(self.ops);
        let end = first.saturating_add(count).min(self.ops);
        if first == end {
            return OpsSpan {
                bytes: self.history_len..self.history_len,
                skip: 0,
                first,
                count: 0,
            };
        }
        let b0 = (first / STRIDE) as usize;
        let b1 = end.div_ceil(STRIDE) as usize;
        let start = self.blocks[b0].offset;
        let stop = self.blocks.get(b1).map_or(self.history_len, |b| b.offset);
        OpsSpan {
            bytes: start..stop,
            skip: first - b0 as u64 * STRIDE,
            first,
            count: end - first,
        }
    }

    /// The ops that may have a time in `t0 ..= t1` (ns): from the first
    /// block whose latest time reaches `t0` to the last block whose earliest
    /// time is not after `t1`. Block-grained: the caller filters by time.
    pub fn ops_between(&self, t0: u64, t1: u64) -> Range<u64> {
        // Histories are written in time order, so max_time is (nearly)
        // sorted; the running max makes the search exact for any order.
        let mut lo = None;
        let mut hi = 0usize;
        let mut run_max = 0u64;
        for (i, b) in self.blocks.iter().enumerate() {
            run_max = run_max.max(b.max_time);
            if lo.is_none() && run_max >= t0 {
                lo = Some(i);
            }
            if b.min_time <= t1 {
                hi = i + 1;
            }
        }
        let Some(lo) = lo else {
            return self.ops..self.ops;
        };
        if hi <= lo {
            return lo as u64 * STRIDE..lo as u64 * STRIDE;
        }
        lo as u64 * STRIDE..(hi as u64 * STRIDE).min(self.ops)
    }

    /// Where a reader of ops from `first` on starts so as to see the
    /// invocation of every op still in flight at `first`: the oldest one's
    /// line (block-grained), but at most `max_back` lines before `first`.
    pub fn look_back(&self, first: u64, max_back: u64) -> u64 {
        let from = self
            .blocks
            .get((first / STRIDE) as usize)
            .map_or(first, |b| b.open_from);
        from.max(first.saturating_sub(max_back)).min(first)
    }

    /// The lines of ops `first .. first + count` (without their newlines),
    /// read through the index from the open history.
    pub fn read_lines<R: Read + Seek>(
        &self,
        history: &mut R,
        first: u64,
        count: u64,
    ) -> io::Result<Vec<String>> {
        let span = self.ops_range(first, count);
        let mut out = Vec::with_capacity(span.count as usize);
        if span.count == 0 {
            return Ok(out);
        }
        history.seek(SeekFrom::Start(span.bytes.start))?;
        let r = BufReader::new(history.take(span.bytes.end - span.bytes.start));
        for line in r.lines().skip(span.skip as usize).take(span.count as usize) {
            out.push(line?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn history(times: &[u64]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.jsonl");
        let mut s = String::new();
        for (i, t) in times.iter().enumerate() {
            s.push_str(&format!(
                "{{\"index\":{i},\"time\":{t},\"process\":0,\"type\":\"invoke\",\"f\":\"send\",\"value\":{{\"time\":1}}}}\n"
            ));
        }
        std::fs::write(&p, s).unwrap();
        (dir, p)
    }

    proptest! {
        #[test]
        fn ranges_give_exactly_the_ops_asked_for(
            gaps in proptest::collection::vec(0u64..1000, 0..1500),
            first in 0u64..1600, count in 0u64..700,
            a in 0u64..800_000, w in 0u64..300_000,
        ) {
            let times: Vec<u64> = gaps.iter().scan(0, |t, g| { *t += g; Some(*t) }).collect();
            let (_d, p) = history(&times);
            let idx = build(&p).unwrap();
            prop_assert_eq!(idx.ops, times.len() as u64);
            prop_assert_eq!(Index::load(&p).unwrap(), Some(idx.clone()));
            let mut f = File::open(&p).unwrap();
            let lines = idx.read_lines(&mut f, first, count).unwrap();
            let want: Vec<u64> = (first..(first + count).min(times.len() as u64)).collect();
            let got: Vec<u64> = lines.iter().map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["index"].as_u64().unwrap()
            }).collect();
            prop_assert_eq!(got, want);
            // Every op in the time window is inside ops_between.
            let r = idx.ops_between(a, a + w);
            for (i, t) in times.iter().enumerate() {
                if (a..=a + w).contains(t) {
                    prop_assert!(r.contains(&(i as u64)), "op {} at {} not in {:?}", i, t, r);
                }
            }
            // And it is no wider than the blocks touching the window.
            prop_assert!(r.end - r.start <= times.iter().filter(|t| (a..=a + w).contains(*t)).count() as u64 + 2 * STRIDE);
        }
    }

    #[test]
    fn blocks_know_the_oldest_op_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.jsonl");
        let mut s = String::new();
        // Process 7 invokes at line 1 and completes at line 600; a lone
        // `ok` of another f (a rebalance) does not end it; processes 0 and
        // 1 alternate short ops.
        for i in 0..800u64 {
            let (p, t, f) = match i {
                1 => (7, "invoke", "poll"),
                300 => (7, "ok", "rebalance"),
                600 => (7, "ok", "poll"),
                _ => (i % 2, if i % 4 < 2 { "invoke" } else { "ok" }, "send"),
            };
            s.push_str(&format!(
                "{{\"index\":{i},\"time\":{i},\"process\":{p},\"type\":\"{t}\",\"f\":\"{f}\",\"value\":null}}\n"
            ));
        }
        std::fs::write(&p, s).unwrap();
        let idx = build(&p).unwrap();
        let from: Vec<u64> = idx.blocks.iter().map(|b| b.open_from).collect();
        assert_eq!(from, [0, 1, 1, 768]);
        assert_eq!(
            Index::load(&p).unwrap(),
            Some(idx.clone()),
            "saved and read"
        );
        assert_eq!(idx.look_back(512, 10_000), 1);
        assert_eq!(idx.look_back(512, 100), 412, "bounded");
        assert_eq!(idx.look_back(768, 10_000), 768);
    }

    #[test]
    fn a_stale_or_foreign_index_is_rebuilt() {
        let (_d, p) = history(&[1, 2, 3]);
        let idx = Index::load_or_build(&p).unwrap();
        assert_eq!((idx.ops, idx.end_ns), (3, 3));
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"index\":3,\"time\":9,\"process\":0,\"type\":\"ok\",\"f\":\"send\"}\n")
            .unwrap();
        assert_eq!(Index::load(&p).unwrap(), None, "stale");
        assert_eq!(Index::load_or_build(&p).unwrap().ops, 4);
        std::fs::write(index_path(&p), b"garbage").unwrap();
        assert_eq!(Index::load(&p).unwrap(), None);
        assert!(Index::read(&index_path(&p)).is_err());
    }

    #[test]
    fn a_torn_last_line_is_not_indexed() {
        let (_d, p) = history(&[5, 6]);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"index\":2,\"ti")
            .unwrap();
        let idx = scan(&p).unwrap();
        assert_eq!((idx.ops, idx.end_ns), (2, 6));
    }
}
