//! The detail of a long history, for `kafka-trial serve`: ops by index
//! range and by time window, read through the history index
//! (`trial_histories::index`) so that a query touches a few blocks of
//! `history.jsonl`, never the whole file.
//!
//! `GET /runs/<run>/_ops?first=N&count=M` — history lines `N .. N+M`
//! (at most [`MAX_LINES`]): `{"total": ops, "first": N, "lines":
//! [[index, time µs, process, type, f, value, error], …]}`.
//!
//! `GET /runs/<run>/_ops?t0=A&t1=B` (µs) — the ops of the window, paired
//! like the report's timeline rows: `{"ops": [[process, f, outcome code,
//! start µs, end µs | -1, invoke, completion | -1, value, error], …]}`:
//! every op whose interval overlaps the window, also one that spans it
//! (invoked before the window, completed after it): reading starts at the
//! oldest invocation still in flight at the window's first block (the
//! index's `open_from`, looking back at most [`MAX_WINDOW_OPS`] lines) and
//! goes on past the window until every op in flight in it has completed
//! (at most [`MAX_WINDOW_OPS`] more lines; one still open then is shown
//! unfinished). An op in flight for longer than that look-back before the
//! window can still be missed. A window of more than [`MAX_WINDOW_OPS`]
//! lines is refused with an `error` (the page then keeps its aggregates).

use super::data::{shorten, SHORT_TEXT};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use trial_histories::index::Index;
use trial_histories::store::HISTORY_FILE;
use trial_histories::{Op, OpType, Process};

/// Most lines one `first`/`count` query returns.
pub const MAX_LINES: u64 = 10_000;
/// Most history lines a time window may span.
pub const MAX_WINDOW_OPS: u64 = 200_000;

/// Indexes of the histories served, kept while their history is
/// unchanged (an index of 10 M ops is ~1 MB).
#[derive(Default)]
pub struct IndexCache {
    map: Mutex<HashMap<PathBuf, Arc<Index>>>,
}

impl IndexCache {
    /// The current index of a history: cached, else `history.idx` if it
    /// is current, else built in memory (serve writes nothing).
    pub fn get(&self, history: &Path) -> Result<Arc<Index>> {
        let m =
            std::fs::metadata(history).with_context(|| format!("reading {}", history.display()))?;
        if let Some(i) = self.map.lock().expect("cache lock").get(history) {
            if i.history_len == m.len() {
                return Ok(i.clone());
            }
        }
        let i = Arc::new(Index::load_or_scan(history)?);
        self.map
            .lock()
            .expect("cache lock")
            .insert(history.to_path_buf(), i.clone());
        Ok(i)
    }
}

/// Answer `_ops?…` for the run folder `dir`.
pub fn answer(cache: &IndexCache, dir: &Path, query: &str) -> Result<Value> {
    let q: HashMap<&str, u64> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect();
    let history = dir.join(HISTORY_FILE);
    let idx = cache.get(&history)?;
    let mut f = File::open(&history).with_context(|| format!("opening {}", history.display()))?;
    if let Some(&first) = q.get("first") {
        let count = q.get("count").copied().unwrap_or(100).min(MAX_LINES);
        let lines = idx.read_lines(&mut f, first, count)?;
        let rows: Vec<Value> = lines
            .iter()
            .map(String::as_str)
            .filter_map(line_row)
            .collect();
        return Ok(json!({"total": idx.ops, "first": first, "lines": rows}));
    }
    let (Some(&t0), Some(&t1)) = (q.get("t0"), q.get("t1")) else {
        bail!("_ops needs first=N[&count=M] or t0=µs&t1=µs");
    };
    let (a, b) = (t0.saturating_mul(1000), t1.saturating_mul(1000));
    let r = idx.ops_between(a, b);
    if r.end - r.start > MAX_WINDOW_OPS {
        return Ok(json!({"error": format!(
            "{} history lines in this window: zoom in further to see every op",
            r.end - r.start
        )}));
    }
    // From the oldest op still in flight at the window's start: one that
    // spans the window is invoked before it.
    let from = idx.look_back(r.start, MAX_WINDOW_OPS);
    Ok(json!({"ops": window(&idx, &mut f, from, r.end, a, b)?}))
}

/// `[index, time µs, process, type, f, value, error]` of a history line.
fn line_row(line: &str) -> Option<Value> {
    let op: Op = serde_json::from_str(line).ok()?;
    Some(json!([
        op.index,
        op.time / 1000,
        op.process.to_string(),
        op.kind.as_str(),
        op.f.as_str(),
        shorten(op.value.get(), SHORT_TEXT * 4),
        op.error.as_deref().map(|e| shorten(e, SHORT_TEXT * 4)),
    ]))
}

/// The ops of lines `first .. end` that overlap `a ..= b` (ns), paired per
/// process (an invocation with the next completion of its process). Reads
/// on past `end` (at most [`MAX_WINDOW_OPS`] more lines) until every op
/// invoked in the window has completed: an op slowed by a fault completes
/// seconds after the window.
fn window<R: Read + Seek>(
    idx: &Index,
    f: &mut R,
    first: u64,
    end: u64,
    a: u64,
    b: u64,
) -> Result<Vec<Value>> {
    let span = idx.ops_range(first, idx.ops - first);
    f.seek(SeekFrom::Start(span.bytes.start))?;
    let r = BufReader::new(f.take(span.bytes.end - span.bytes.start));
    let mut open: HashMap<Process, Op> = HashMap::new();
    let mut out = Vec::new();
    // Processes met since the first line read: a completion of a process
    // not met yet was invoked before the lines read (drawn from the window's
    // start); one of a process met is a lone event (a crash, a rebalance).
    let mut met: std::collections::HashSet<Process> = Default::default();
    let row = |inv: Option<&Op>, done: &Op, start: u64| -> Value {
        let outcome = match done.kind {
            OpType::Ok => 0,
            OpType::Fail => 1,
            _ => 2,
        };
        let value = if matches!(done.value.get(), "null" | "{}") {
            inv.map_or("null", |i| i.value.get())
        } else {
            done.value.get()
        };
        json!([
            done.process.to_string(),
            done.f.as_str(),
            outcome,
            start / 1000,
            done.time / 1000,
            inv.map_or(done.index, |i| i.index),
            done.index,
            shorten(value, SHORT_TEXT),
            done.error
                .as_deref()
                .map(|e| shorten(e, SHORT_TEXT))
                .unwrap_or_default(),
        ])
    };
    let overlaps = |s: u64, e: u64| s <= b && e >= a;
    for (n, line) in (first..).zip(r.lines().skip(span.skip as usize)) {
        if n >= end && (n >= end + MAX_WINDOW_OPS || open.values().all(|i| i.time > b)) {
            break;
        }
        let line = line?;
        let Ok(op) = serde_json::from_str::<Op>(&line) else {
            continue;
        };
        if op.kind == OpType::Invoke {
            met.insert(op.process.clone());
            open.insert(op.process.clone(), op);
            continue;
        }
        let inv = open.remove(&op.process).filter(|i| i.f == op.f);
        let start = match &inv {
            Some(i) => i.time,
            None if n >= end => continue,
            None if !met.contains(&op.process) => op.time.min(a),
            None => op.time,
        };
        met.insert(op.process.clone());
        if overlaps(start, op.time) {
            out.push(row(inv.as_ref(), &op, start));
        }
    }
    for (_, inv) in open {
        if inv.time <= b {
            let mut v = row(Some(&inv), &inv, inv.time);
            v[2] = json!(3);
            v[4] = json!(-1);
            v[6] = json!(-1);
            out.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_give_the_ops_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = String::new();
        for i in 0..2000u64 {
            let (kind, t) = if i % 2 == 0 {
                ("invoke", i * 1000)
            } else {
                ("ok", i * 1000 + 500)
            };
            s.push_str(&format!(
                "{{\"index\":{i},\"time\":{t},\"process\":{},\"type\":\"{kind}\",\"f\":\"send\",\"value\":{i}}}\n",
                (i / 2) % 3
            ));
        }
        std::fs::write(dir.path().join(HISTORY_FILE), s).unwrap();
        let cache = IndexCache::default();
        let v = answer(&cache, dir.path(), "first=700&count=5").unwrap();
        assert_eq!(v["total"], 2000);
        let idx: Vec<u64> = v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l[0].as_u64().unwrap())
            .collect();
        assert_eq!(idx, [700, 701, 702, 703, 704]);
        // 100..200 µs = ops 100..=200 (ns 100_000..=200_000).
        let v = answer(&cache, dir.path(), "t0=100&t1=200").unwrap();
        let ops = v["ops"].as_array().unwrap();
        let inv: Vec<u64> = ops.iter().map(|o| o[5].as_u64().unwrap()).collect();
        assert_eq!(inv, (100..=200).step_by(2).collect::<Vec<_>>());
        assert!(ops
            .iter()
            .all(|o| o[6].as_u64() == Some(o[5].as_u64().unwrap() + 1)));
        assert!(answer(&cache, dir.path(), "nothing").is_err());
    }

    /// An op invoked long before a window and completed long after it
    /// overlaps the window: it is among the window's ops.
    #[test]
    fn an_op_spanning_the_whole_window_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = String::new();
        let line = |s: &mut String, i: u64, t: u64, p: u64, kind: &str| {
            s.push_str(&format!(
                "{{\"index\":{i},\"time\":{t},\"process\":{p},\"type\":\"{kind}\",\"f\":\"poll\",\"value\":null}}\n"
            ));
        };
        // Process 9 invokes at line 0 and completes at the last line; in
        // between, processes 0..3 do short ops (1 µs apart).
        line(&mut s, 0, 0, 9, "invoke");
        let n = 5000u64;
        for i in 1..n {
            let kind = if i % 2 == 1 { "invoke" } else { "ok" };
            line(&mut s, i, i * 1000, (i - 1) / 2 % 3, kind);
        }
        line(&mut s, n, n * 1000, 9, "ok");
        std::fs::write(dir.path().join(HISTORY_FILE), s).unwrap();
        let cache = IndexCache::default();
        let v = answer(&cache, dir.path(), "t0=2000&t1=2100").unwrap();
        let ops = v["ops"].as_array().unwrap();
        let long: Vec<&Value> = ops.iter().filter(|o| o[0] == "9").collect();
        assert_eq!(long.len(), 1, "the spanning op: {ops:?}");
        assert_eq!(
            (long[0][5].as_u64(), long[0][6].as_u64()),
            (Some(0), Some(n))
        );
        assert_eq!(
            (long[0][3].as_u64(), long[0][4].as_u64()),
            (Some(0), Some(n))
        );
        // And the window's own ops, as before.
        assert!(ops.iter().filter(|o| o[0] != "9").count() >= 50);
    }
}
