//! Synthetic run folders for tests, examples and benchmarks of the report
//! and of `serve`: a plausible queue history (sends, polls, nemesis fault
//! intervals, final reads), a `test.json`, a `results.json`, node logs, and
//! optionally injected anomalies and hostile text.
//!
//! Not a model of Kafka: the history is consistent enough to look real in
//! plots and the timeline, and the anomalies named in `results.json` point
//! at real op indices of the right kind.

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::sample_group::SampleGroup;
pub use super::sample_group::{HandOver, GROUP};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleRunSpec {
    /// Client workers (processes 0..workers); even ones send, odd ones poll.
    pub workers: u64,
    /// Roughly how many history lines to write (client ops; nemesis and
    /// final reads come on top).
    pub ops: u64,
    /// Length of the client phase, seconds.
    pub duration_s: f64,
    pub partitions: i32,
    pub seed: u64,
    /// Inject a lost write and a duplicate, and make results.json say so.
    pub anomalies: bool,
    /// Put `<script>` and other markup into errors, values, options and a
    /// process name.
    pub hostile_text: bool,
    /// Write results.json (false: a run still in progress).
    pub results: bool,
    /// Write cluster observer ops (`observer`/`observe`): leaders, epochs
    /// and ISR of every partition reacting to the faults.
    pub observer: bool,
    /// Make the pollers (odd workers) one consumer group ([`GROUP`]):
    /// subscribe, get partitions round-robin, commit after every poll that
    /// returned records, and hand partition 0 from the first poller to the
    /// second in the middle of the run — with `anomalies`, the second gets
    /// it before the first lets go (two owners at once), else after (a
    /// stretch without an owner). A `committed` op after the final reads,
    /// and a `group` checker body in results.json.
    pub group: bool,
}

impl Default for SampleRunSpec {
    fn default() -> Self {
        SampleRunSpec {
            workers: 6,
            ops: 2_000,
            duration_s: 30.0,
            partitions: 3,
            seed: 42,
            anomalies: false,
            hostile_text: false,
            results: true,
            observer: false,
            group: false,
        }
    }
}

/// What was generated, for assertions.
#[derive(Debug, Clone, Default)]
pub struct SampleRun {
    pub dir: PathBuf,
    pub op_count: u64,
    /// Op indices of the lost write: [send invoke, send ok, final-read ok].
    pub lost_write_ops: Vec<u64>,
    /// Op indices of the duplicate: [send invoke, send ok, final-read ok].
    pub duplicate_ops: Vec<u64>,
    /// The fault kinds injected, in order.
    pub fault_kinds: Vec<String>,
    /// Every process of the history, as written.
    pub processes: Vec<String>,
    /// With `group`: the scripted hand-over of a partition.
    pub hand_over: Option<HandOver>,
}

/// The markup hostile text uses; a report must show it, never run it. If
/// it ran, the page's root element would get a `data-pwned` attribute.
pub const HOSTILE: &str = "<script>document.documentElement.dataset.pwned=1</script>\
<img src=x onerror=\"document.documentElement.dataset.pwned=2\">";

pub(super) struct Line<'a> {
    pub(super) time: u64,
    pub(super) process: Value,
    pub(super) kind: &'a str,
    pub(super) f: &'a str,
    pub(super) value: Value,
    pub(super) error: Option<String>,
}

pub(super) struct Out {
    w: BufWriter<fs::File>,
    next: u64,
    /// The latest time written.
    last: u64,
}

impl Out {
    pub(super) fn put(&mut self, l: Line) -> Result<u64> {
        let i = self.next;
        self.next += 1;
        self.last = self.last.max(l.time);
        let mut o = json!({"index": i, "time": l.time, "process": l.process,
            "type": l.kind, "f": l.f, "value": l.value});
        if let Some(e) = l.error {
            o["error"] = Value::String(e);
        }
        serde_json::to_writer(&mut self.w, &o)?;
        self.w.write_all(b"\n")?;
        Ok(i)
    }

    /// A line whose value is JSON text already (a huge final read).
    fn put_raw(
        &mut self,
        time: u64,
        process: &str,
        kind: &str,
        f: &str,
        value: &str,
    ) -> Result<u64> {
        let i = self.next;
        self.next += 1;
        self.last = self.last.max(time);
        writeln!(
            self.w,
            r#"{{"index":{i},"time":{time},"process":{},"type":"{kind}","f":"{f}","value":{value}}}"#,
            serde_json::to_string(process)?
        )?;
        Ok(i)
    }
}

/// What happens next, ordered by time (earliest first), then by sequence.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Event(std::cmp::Reverse<(u64, u64)>, Ev);

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Invoke(u64),
    Complete(u64),
    /// Index into the nemesis line list.
    Nemesis(usize),
    /// Index into the observer's snapshots.
    Observe(usize),
}

/// A send or poll in flight.
struct Pending {
    send: Option<(u64, u64)>, // (key, value)
    invoke: u64,
    kind: &'static str,
    error: Option<String>,
}

/// Write a synthetic run into `dir` (created if needed). Times never
/// decrease along the file, and every process has one op in flight at most,
/// as in a real history.
pub fn write_sample_run(dir: &Path, spec: &SampleRunSpec) -> Result<SampleRun> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut out = Out {
        w: BufWriter::new(fs::File::create(dir.join("history.jsonl"))?),
        next: 0,
        last: 0,
    };
    let s = 1_000_000_000u64;
    let dur = ((spec.duration_s * 1e9) as u64).max(s);
    // Fault schedule (start, stop, kind), as fractions of the client phase;
    // the clock fault is ended by the final heal.
    let schedule: [(f64, f64, &str); 4] = [
        (0.15, 0.35, "partition"),
        (0.45, 0.60, "kill"),
        (0.65, 0.75, "pause"),
        (0.80, 2.0, "clock"),
    ];
    let at = |frac: f64| (frac * dur as f64) as u64;
    let heal_at = at(0.9).max(dur);
    // Nemesis lines: (time, f, type, value).
    let mut nem: Vec<(u64, String, &str, Value)> = Vec::new();
    for (a, b, kind) in schedule {
        let asked = match kind {
            "partition" => json!("majority"),
            "kill" | "pause" => json!({"targets": "leaders"}),
            _ => json!({"skew_ms": 20000}),
        };
        let done = match kind {
            "partition" => json!({"grudge": {"n1": ["n3"], "n2": ["n3"], "n3": ["n1", "n2"]}}),
            "clock" => json!({"nodes": ["n2"], "skew_ms": 20000}),
            _ => json!({"nodes": ["n2"]}),
        };
        nem.push((at(a), format!("start-{kind}"), "invoke", asked));
        nem.push((at(a) + s / 50, format!("start-{kind}"), "info", done));
        if b <= 1.0 {
            nem.push((at(b), format!("stop-{kind}"), "invoke", Value::Null));
            nem.push((
                at(b) + s / 50,
                format!("stop-{kind}"),
                "info",
                json!({"healed": kind}),
            ));
        }
    }
    if spec.hostile_text {
        // A fault kind with markup in its name: plots and timeline label it.
        let f = "start-<i>odd</i>".to_string();
        nem.push((at(0.05), f.clone(), "invoke", json!(HOSTILE)));
        nem.push((at(0.05) + s / 50, f, "info", json!({"what": HOSTILE})));
    }
    nem.push((heal_at, "heal".into(), "invoke", Value::Null));
    nem.push((
        heal_at + s / 2,
        "heal".into(),
        "info",
        json!({"healed": ["clock"]}),
    ));
    // Faults that slow clients down (a skewed clock does not).
    let in_fault = |t: u64| {
        schedule
            .iter()
            .any(|(a, b, k)| *k != "clock" && t >= at(*a) && t < at(b.min(1.0)))
    };

    let parts = spec.partitions.max(1) as usize;
    // Per partition log of values; index = offset.
    let mut log: Vec<Vec<u64>> = vec![Vec::new(); parts];
    let mut read_pos: Vec<Vec<usize>> = vec![vec![0; parts]; spec.workers as usize];
    let mut pending: Vec<Option<Pending>> = (0..spec.workers).map(|_| None).collect();
    let mut next_value = 0u64;
    let mut seq = 0u64;
    let mut heap = BinaryHeap::new();
    let mut push = |heap: &mut BinaryHeap<Event>, t: u64, ev: Ev| {
        seq += 1;
        heap.push(Event(std::cmp::Reverse((t, seq)), ev));
    };
    for (i, (t, ..)) in nem.iter().enumerate() {
        push(&mut heap, *t, Ev::Nemesis(i));
    }
    let observed = if spec.observer {
        observer_snapshots(parts, &|f| at(f), s)
    } else {
        vec![]
    };
    for (i, (t, _)) in observed.iter().enumerate() {
        push(&mut heap, *t, Ev::Observe(i));
    }
    for w in 0..spec.workers {
        push(&mut heap, rng.gen_range(0..s / 100), Ev::Invoke(w));
    }
    let mut client_lines = 0u64;
    let mut run = SampleRun {
        dir: dir.to_path_buf(),
        fault_kinds: schedule.iter().map(|f| f.2.to_string()).collect(),
        ..Default::default()
    };
    let mut lost: Option<(u64, u64, i32, i64, u64)> = None; // (inv, ok, p, offset, value)
    let mut dup: Option<(u64, u64, i32, u64)> = None;
    let mut hostile_done = false;
    // Each worker's share of the ops, spread over the time it has left.
    let per_worker = (spec.ops.max(2) / 2).div_ceil(spec.workers.max(1));
    let mut done_ops = vec![0u64; spec.workers as usize];
    // The group (spec.group): pollers, who owns what, committed offsets.
    let mut group = spec.group.then(|| {
        let added = if spec.anomalies { at(0.47) } else { at(0.52) };
        SampleGroup::new(spec.workers, parts, spec.seed, at(0.5), added)
    });
    run.hand_over = group.as_ref().and_then(SampleGroup::hand_over);

    while let Some(Event(std::cmp::Reverse((t, _)), ev)) = heap.pop() {
        match ev {
            Ev::Nemesis(i) => {
                let (t, f, kind, v) = &nem[i];
                out.put(Line {
                    time: *t,
                    process: json!("nemesis"),
                    kind,
                    f,
                    value: v.clone(),
                    error: None,
                })?;
            }
            Ev::Observe(i) => {
                let (t, v) = &observed[i];
                for kind in ["invoke", "ok"] {
                    out.put(Line {
                        time: *t,
                        process: json!("observer"),
                        kind,
                        f: "observe",
                        value: if kind == "ok" { v.clone() } else { Value::Null },
                        error: None,
                    })?;
                }
            }
            Ev::Invoke(w) => {
                if t >= dur || client_lines + 2 > spec.ops {
                    continue;
                }
                if let Some(g) = group.as_mut().filter(|_| w % 2 == 1) {
                    g.before_op(&mut out, t, w, &mut read_pos[w as usize])?;
                }
                client_lines += 2;
                let faulty = in_fault(t);
                let latency = if faulty && rng.gen_bool(0.04) {
                    rng.gen_range(s / 5..3 * s)
                } else {
                    (rng.gen::<f64>().powi(3) * 50e6) as u64 + 300_000
                };
                let p = if w % 2 == 0 {
                    let key = rng.gen_range(0..8u64);
                    let value = next_value;
                    next_value += 1;
                    let invoke = out.put(Line {
                        time: t,
                        process: json!(w),
                        kind: "invoke",
                        f: "send",
                        value: json!({"key": key, "value": value}),
                        error: None,
                    })?;
                    let roll: f64 = rng.gen();
                    let (kind, error) = if faulty && roll < 0.25 {
                        let e = if spec.hostile_text && !hostile_done {
                            hostile_done = true;
                            format!("{HOSTILE} Local: Message timed out")
                        } else {
                            "Local: Message timed out".to_string()
                        };
                        ("info", Some(e))
                    } else if roll < 0.02 {
                        (
                            "fail",
                            Some("Broker: Not enough in-sync replicas".to_string()),
                        )
                    } else {
                        ("ok", None)
                    };
                    Pending {
                        send: Some((key, value)),
                        invoke,
                        kind,
                        error,
                    }
                } else {
                    let invoke = out.put(Line {
                        time: t,
                        process: json!(w),
                        kind: "invoke",
                        f: "poll",
                        value: Value::Null,
                        error: None,
                    })?;
                    let (kind, error) = if faulty && rng.gen_bool(0.1) {
                        ("fail", Some("Broker: Leader not available".to_string()))
                    } else {
                        ("ok", None)
                    };
                    Pending {
                        send: None,
                        invoke,
                        kind,
                        error,
                    }
                };
                pending[w as usize] = Some(p);
                push(&mut heap, t + latency, Ev::Complete(w));
            }
            Ev::Complete(w) => {
                let Some(p) = pending[w as usize].take() else {
                    continue;
                };
                if let Some((key, value)) = p.send {
                    let part = (key as usize) % parts;
                    let mut v = json!({"key": key, "value": value});
                    if p.kind == "ok" {
                        v["partition"] = json!(part);
                        v["offset"] = json!(log[part].len());
                        log[part].push(value);
                    } else if p.kind == "info" && rng.gen_bool(0.5) {
                        log[part].push(value); // it did happen
                    }
                    let done = out.put(Line {
                        time: t,
                        process: json!(w),
                        kind: p.kind,
                        f: "send",
                        value: v,
                        error: p.error,
                    })?;
                    if p.kind == "ok" && spec.anomalies {
                        let offset = log[part].len() as i64 - 1;
                        if lost.is_none() && t > dur / 4 && offset > 2 {
                            lost = Some((p.invoke, done, part as i32, offset, value));
                        } else if dup.is_none() && t > dur / 2 {
                            log[part].push(value); // the same value at a second offset
                            dup = Some((p.invoke, done, part as i32, value));
                        }
                    }
                } else {
                    let mut records = Vec::new();
                    if p.kind == "ok" {
                        let pos = &mut read_pos[w as usize];
                        for (part, l) in log.iter().enumerate() {
                            if group.as_ref().is_some_and(|g| !g.owns(w, part)) {
                                continue;
                            }
                            let upto = (pos[part] + 5).min(l.len());
                            for (o, &val) in l.iter().enumerate().take(upto).skip(pos[part]) {
                                records.push(json!([part, o, val % 8, val]));
                            }
                            pos[part] = upto;
                        }
                    }
                    out.put(Line {
                        time: t,
                        process: json!(w),
                        kind: p.kind,
                        f: "poll",
                        value: if p.kind == "ok" {
                            json!({"records": records})
                        } else {
                            Value::Null
                        },
                        error: p.error,
                    })?;
                    if let Some(g) = group.as_mut().filter(|_| !records.is_empty()) {
                        let fail = in_fault(t) && rng.gen_bool(0.1);
                        g.commit(&mut out, t, w, &read_pos[w as usize], fail)?;
                    }
                }
                // Like a rate-limited generator: the worker's remaining ops
                // spread over the remaining time, so that one that fell
                // behind (slow ops during a fault) catches up.
                done_ops[w as usize] += 1;
                let left = per_worker.saturating_sub(done_ops[w as usize]);
                if left > 0 && t < dur {
                    // Less the typical latency (~15 ms) the next op takes.
                    let gap = ((dur - t) / (left + 1)).saturating_sub(15_000_000).max(2);
                    let next = t + 100_000 + rng.gen_range(gap / 2..gap.max(2) * 3 / 2);
                    push(&mut heap, next, Ev::Invoke(w));
                }
            }
        }
    }
    let end_t = out.last;
    if spec.hostile_text {
        out.put(Line {
            time: end_t,
            process: json!("<b>evil</b>"),
            kind: "info",
            f: "crash",
            value: json!({"note": HOSTILE}),
            error: Some(format!("{HOSTILE} & friends")),
        })?;
    }
    // Final reads, one per partition.
    let mut final_reads = vec![0u64; parts];
    let mut t = end_t + s / 2;
    for (p, l) in log.iter().enumerate() {
        // Written as text, not built as a JSON value: at 10 M ops a
        // partition's final read holds ~600,000 records.
        let mut records = String::with_capacity(l.len() * 24 + 2);
        records.push('[');
        for (o, &v) in l.iter().enumerate() {
            if lost
                .is_some_and(|(_, _, lp, lo, lv)| lp as usize == p && lo as usize == o && lv == v)
            {
                continue;
            }
            if records.len() > 1 {
                records.push(',');
            }
            let _ = write!(records, "[{p},{o},{},{v}]", v % 8);
        }
        records.push(']');
        out.put(Line {
            time: t,
            process: json!("final"),
            kind: "invoke",
            f: "final-read",
            value: json!({"partition": p}),
            error: None,
        })?;
        t += s / 5;
        final_reads[p] = out.put_raw(
            t,
            "final",
            "ok",
            "final-read",
            &format!(
                r#"{{"partition":{p},"start_offset":0,"high_watermark":{},"records":{records}}}"#,
                l.len()
            ),
        )?;
        t += s / 100;
    }
    if let Some(g) = &group {
        g.committed_line(&mut out, t)?;
    }
    out.w.flush()?;
    run.op_count = out.next;
    run.processes = (0..spec.workers).map(|w| w.to_string()).collect();
    run.processes.push("nemesis".into());
    run.processes.push("final".into());
    if spec.observer {
        run.processes.push("observer".into());
    }
    if spec.hostile_text {
        run.processes.push("<b>evil</b>".into());
        run.fault_kinds.push("<i>odd</i>".into());
    }

    // test.json
    let mut test = json!({
        "name": if spec.anomalies { "synthetic-lossy" } else { "synthetic-safe" },
        "nodes": 3, "replication_factor": 3, "min_insync_replicas": 2, "acks": "all",
        "idempotence": true, "unclean_leader_election": false,
        "nemesis": ["partition", "kill", "pause", "clock"], "nemesis_interval": "10s",
        "time_limit": format!("{}s", spec.duration_s), "concurrency": spec.workers,
        "workload": "queue", "seed": spec.seed,
        "command": format!("kafka-trial test --nodes 3 --replication-factor 3 --acks all --nemesis partition,kill,pause,clock --seed {}", spec.seed),
    });
    if spec.hostile_text {
        test["note"] = json!(format!("</script>{HOSTILE}"));
    }
    fs::write(dir.join("test.json"), serde_json::to_vec_pretty(&test)?)?;

    // Node logs.
    for n in 1..=3 {
        let nd = dir.join("nodes").join(format!("n{n}"));
        fs::create_dir_all(&nd)?;
        fs::write(
            nd.join("server.log"),
            format!("[2026-01-01 00:00:00,000] INFO [KafkaServer id={n}] started (kafka.server.KafkaServer)\n"),
        )?;
    }

    if !spec.results {
        return Ok(run);
    }
    let mut anomalies = serde_json::Map::new();
    let mut counts = serde_json::Map::new();
    if let Some((inv, ok, p, offset, value)) = lost {
        let fr = final_reads[p as usize];
        run.lost_write_ops = vec![inv, ok, fr];
        counts.insert("lost-write".into(), json!(1));
        anomalies.insert("lost-write".into(), json!({
            "count": 1,
            "definition": "an acknowledged send whose record was never read, although a read went past its offset",
            "examples": [{"ops": [inv, ok, fr], "partition": p, "offset": offset, "value": value,
                "message": format!("value {value} acknowledged at {p}/{offset}; the final read of partition {p} reached offset {} without it", log[p as usize].len())}]
        }));
    }
    if let Some((inv, ok, p, value)) = dup {
        let fr = final_reads[p as usize];
        run.duplicate_ops = vec![inv, ok, fr];
        counts.insert("duplicate".into(), json!(1));
        let msg = if spec.hostile_text {
            format!("value {value} appears twice {HOSTILE}")
        } else {
            format!("value {value} appears at two offsets of partition {p}")
        };
        anomalies.insert(
            "duplicate".into(),
            json!({
                "count": 1,
                "definition": "one sent value appears at more than one offset",
                "examples": [{"ops": [inv, ok, fr], "partition": p, "value": value, "message": msg}]
            }),
        );
    }
    for name in [
        "poll-skip",
        "nonmonotonic-poll",
        "inconsistent-offsets",
        "aborted-read",
    ] {
        counts.insert(name.into(), json!(0));
    }
    let found = !anomalies.is_empty();
    let over_time: Vec<Value> = (1..=10)
        .map(|i| json!([spec.duration_s * i as f64 / 10.0, if i < 8 { i } else { 0 }]))
        .collect();
    let mut results = json!({
        "valid": !found,
        "summary": if found { "anomalies found: 1 lost-write, 1 duplicate" } else { "no anomalies in the history" },
        "anomaly_counts": counts,
        "unknown_reasons": [],
        "checkers": {
            "queue": {"valid": !found, "anomalies": anomalies,
                      "unseen": {"final": 0, "over_time": over_time}},
            "stats": {"valid": true, "send": {"ok": 1, "info": 1}}
        },
        "ops": run.op_count,
    });
    if let Some(g) = &group {
        results["checkers"]["group"] = g.checker_body();
    }
    fs::write(
        dir.join("results.json"),
        serde_json::to_vec_pretty(&results)?,
    )?;
    Ok(run)
}

/// What the cluster observer would have recorded under the synthetic
/// schedule: n3 cut off by the partition, n2 killed then paused; leaders
/// move off the faulty node with a new epoch, the ISR shrinks and expands.
fn observer_snapshots(parts: usize, at: &dyn Fn(f64) -> u64, s: u64) -> Vec<(u64, Value)> {
    // Per partition: (leader, epoch, isr); leaders spread over n1..n3.
    let mut st: Vec<(i32, i32, Vec<i32>)> = (0..parts)
        .map(|p| ((p % 3) as i32 + 1, 0, vec![1, 2, 3]))
        .collect();
    let mut unreachable: Vec<i32> = vec![];
    let mut fenced: Vec<i32> = vec![];
    let mut out = Vec::new();
    let mut snap = |t: u64, st: &[(i32, i32, Vec<i32>)], unreachable: &[i32], fenced: &[i32]| {
        let partitions: Vec<Value> = st
            .iter()
            .enumerate()
            .map(|(p, (l, e, isr))| json!({"partition": p, "leader": l, "epoch": e, "replicas": [1, 2, 3], "isr": isr, "elr": [], "offline": []}))
            .collect();
        out.push((
            t,
            json!({
                "partitions": partitions,
                "controller": {"id": 1, "epoch": 1},
                "brokers": {"1": "n1", "2": "n2", "3": "n3"},
                "fenced": fenced, "unreachable": unreachable, "read_ms": 4,
            }),
        ));
    };
    let down = |st: &mut Vec<(i32, i32, Vec<i32>)>, n: i32| {
        for (l, e, isr) in st.iter_mut() {
            isr.retain(|r| *r != n);
            if *l == n {
                *l = isr[0];
                *e += 1;
            }
        }
    };
    let up = |st: &mut Vec<(i32, i32, Vec<i32>)>, n: i32| {
        for (_, _, isr) in st.iter_mut() {
            if !isr.contains(&n) {
                isr.push(n);
                isr.sort_unstable();
            }
        }
    };
    snap(s / 10, &st, &unreachable, &fenced);
    // partition: n3 cut off
    down(&mut st, 3);
    unreachable.push(3);
    snap(at(0.15) + s / 5, &st, &unreachable, &fenced);
    up(&mut st, 3);
    unreachable.clear();
    snap(at(0.35) + s, &st, &unreachable, &fenced);
    // kill: n2 dead, then fenced
    down(&mut st, 2);
    unreachable.push(2);
    snap(at(0.45) + s / 5, &st, &unreachable, &fenced);
    fenced.push(2);
    snap(at(0.45) + s / 2, &st, &unreachable, &fenced);
    up(&mut st, 2);
    unreachable.clear();
    fenced.clear();
    snap(at(0.60) + 2 * s, &st, &unreachable, &fenced);
    // pause: n2 stops answering, leaves the ISR
    down(&mut st, 2);
    unreachable.push(2);
    snap(at(0.65) + s / 2, &st, &unreachable, &fenced);
    up(&mut st, 2);
    unreachable.clear();
    snap(at(0.75) + s, &st, &unreachable, &fenced);
    out
}

/// A synthetic run whose `results.json` is written by the real checkers
/// (the default check options) from its history, rather than the
/// hand-written one: fixtures for code that reads verdicts and figures
/// back (the version matrix). Returns the results too.
pub fn write_checked_sample_run(
    dir: &Path,
    spec: &SampleRunSpec,
) -> Result<(SampleRun, trial_checkers::Results)> {
    let run = write_sample_run(
        dir,
        &SampleRunSpec {
            results: false,
            ..spec.clone()
        },
    )?;
    let results = trial_checkers::check_history_file(
        &dir.join(trial_histories::store::HISTORY_FILE),
        &trial_checkers::CheckOptions::default(),
    )
    .with_context(|| format!("checking {}", dir.display()))?;
    trial_histories::store::write_json_atomic(
        &dir.join(trial_histories::store::RESULTS_FILE),
        &results,
    )?;
    Ok((run, results))
}
