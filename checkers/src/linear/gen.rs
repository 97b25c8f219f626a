//! Histories for the linearizability models, written both in our EDN and
//! in the two text formats Porcupine's own tests read (a Jepsen etcd log
//! for a CAS register, and its key-value log), so that both checkers can be
//! run on the same history; and readers that turn those two formats into
//! our EDN (to check Porcupine's own test histories).
//!
//! The formats were learnt from Porcupine's test parsers; no Porcupine code
//! or data is in this repository. Semantics that differ and how they are
//! bridged:
//! - a failed CAS: Porcupine's etcd model takes `:fail :cas` as "the value
//!   was not `old`"; we (like knossos) drop failed ops. Generated failures
//!   are genuine, so both accept them; on Porcupine's corpus the verdicts
//!   are compared and any difference reported.
//! - an `:ok :read nil`: Porcupine reads "the register is nil"; knossos's
//!   convention (ours) leaves it unconstrained. The generator reads nil
//!   only before the first write, which both accept; anomalies never read
//!   nil.
//! - an indefinite op: Porcupine gives it a return at the end of the
//!   history, which (for these models) is the same as "may never happen".
//!
//! The generator linearizes each op at a random moment between its call
//! and its return against a real sequential object, so every history it
//! writes without an anomaly is linearizable.

use super::models::{KvAppendInput, KvOp, RegInput};
use super::Call;
use crate::generate::Rng;
use std::fmt::Write as _;
use std::sync::Arc;

/// How an op ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Ok,
    /// Definitely did not happen (a CAS whose compare failed).
    Fail,
    /// Unknown (timed out).
    Info,
}

/// One event of a generated history.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<I, O> {
    Invoke {
        process: u64,
        input: I,
    },
    /// Completion; `output` is the value an ok read returned.
    Complete {
        process: u64,
        input: I,
        end: End,
        output: Option<O>,
    },
}

/// Shape of a generated history.
#[derive(Debug, Clone, Copy)]
pub struct GenConfig {
    pub seed: u64,
    /// Operations invoked.
    pub ops: usize,
    /// Processes with an op in flight at once.
    pub concurrency: usize,
    /// Percent of ops that end indefinite (`info`); the process is then
    /// retired and replaced by a new one, as Jepsen does.
    pub info_pct: u64,
    /// Keys (kv-append only).
    pub keys: usize,
}

/// Run a sequential object `apply` under `concurrency` processes; each op
/// takes effect at one instant between its call and its return (an `info`
/// op maybe never).
fn run<I: Clone, O: Clone, S>(
    cfg: &GenConfig,
    state: &mut S,
    mut gen: impl FnMut(&mut Rng, u64) -> I,
    mut apply: impl FnMut(&mut S, &I) -> (Option<O>, End),
) -> Vec<Event<I, O>> {
    let mut rng = Rng::new(cfg.seed);
    let c = cfg.concurrency.max(1);
    // Per slot: process id and the op in flight (input, applied result).
    type Slot<I, O> = (u64, Option<(I, Option<(Option<O>, End)>)>);
    let mut slots: Vec<Slot<I, O>> = (0..c as u64).map(|p| (p, None)).collect();
    let mut next_process = c as u64;
    let mut started = 0usize;
    let mut out = Vec::with_capacity(cfg.ops * 2);
    loop {
        let s = rng.below(c as u64) as usize;
        let (process, inflight) = &mut slots[s];
        match inflight.take() {
            None => {
                if started >= cfg.ops {
                    if slots.iter().all(|x| x.1.is_none()) {
                        break;
                    }
                    continue;
                }
                let input = gen(&mut rng, *process);
                out.push(Event::Invoke {
                    process: *process,
                    input: input.clone(),
                });
                *inflight = Some((input, None));
                started += 1;
            }
            Some((input, None)) => {
                if rng.pct(cfg.info_pct) && rng.pct(50) {
                    // Crashed before taking effect.
                    out.push(Event::Complete {
                        process: *process,
                        input,
                        end: End::Info,
                        output: None,
                    });
                    *process = next_process;
                    next_process += 1;
                } else {
                    let r = apply(state, &input);
                    *inflight = Some((input, Some(r)));
                }
            }
            Some((input, Some((output, end)))) => {
                let info = end == End::Ok && rng.pct(cfg.info_pct);
                out.push(Event::Complete {
                    process: *process,
                    input,
                    end: if info { End::Info } else { end },
                    output: if info { None } else { output },
                });
                if info {
                    *process = next_process;
                    next_process += 1;
                }
            }
        }
    }
    out
}

/// A CAS-register history (values 0..5, like Jepsen's etcd test).
pub fn cas_history(cfg: &GenConfig) -> Vec<Event<RegInput, Option<i64>>> {
    let mut reg: Option<i64> = None;
    run(
        cfg,
        &mut reg,
        |rng, _| match rng.below(3) {
            0 => RegInput::Read,
            1 => RegInput::Write(rng.below(5) as i64),
            _ => RegInput::Cas(rng.below(5) as i64, rng.below(5) as i64),
        },
        |reg, i| match *i {
            RegInput::Read => (Some(*reg), End::Ok),
            RegInput::Write(v) => {
                *reg = Some(v);
                (None, End::Ok)
            }
            RegInput::Cas(a, b) if *reg == Some(a) => {
                *reg = Some(b);
                (None, End::Ok)
            }
            RegInput::Cas(..) => (None, End::Fail),
        },
    )
}

/// Make a CAS-register history non-linearizable: an ok read (the one
/// nearest the middle) returns a value no op ever wrote.
pub fn cas_phantom_read(h: &mut [Event<RegInput, Option<i64>>]) -> bool {
    let mid = h.len() / 2;
    let mut idx: Vec<usize> = (0..h.len()).collect();
    idx.sort_by_key(|&i| i.abs_diff(mid));
    for i in idx {
        if let Event::Complete {
            input: RegInput::Read,
            end: End::Ok,
            output,
            ..
        } = &mut h[i]
        {
            *output = Some(Some(99));
            return true;
        }
    }
    false
}

/// A kv-append history: gets, puts and appends on `keys` keys, every
/// written string unique (`x <process> <n> y`, as in Porcupine's logs).
pub fn kv_history(cfg: &GenConfig) -> Vec<Event<KvAppendInput, String>> {
    let names: Vec<Arc<str>> = (0..cfg.keys.max(1)).map(|k| k.to_string().into()).collect();
    let mut map: Vec<String> = vec![String::new(); names.len()];
    let mut n = 0u64;
    run(
        cfg,
        &mut map,
        |rng, process| {
            let k = rng.below(names.len() as u64) as usize;
            n += 1;
            let op = match rng.below(10) {
                0..=3 => KvOp::Get,
                4 => KvOp::Put(format!("x {process} {n} y")),
                _ => KvOp::Append(format!("x {process} {n} y")),
            };
            KvAppendInput {
                key: k as u64,
                name: names[k].clone(),
                op,
            }
        },
        |map, i| {
            let s = &mut map[i.key as usize];
            match &i.op {
                KvOp::Get => (Some(s.clone()), End::Ok),
                KvOp::Put(v) => {
                    *s = v.clone();
                    (None, End::Ok)
                }
                KvOp::Append(v) => {
                    s.push_str(v);
                    (None, End::Ok)
                }
            }
        },
    )
}

/// Anomalies [`kv_inject`] can add to a kv-append history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvAnomaly {
    /// A get returns the key's value before the last append returned.
    StaleRead,
    /// A get misses an acknowledged append.
    LostAppend,
    /// A get shows two appends, the second invoked after the first
    /// returned, in the opposite order.
    ReorderedAppend,
}

/// Add `anomaly` to a kv-append history: after every op has returned,
/// fresh processes, one after another, put `P` on key 0, append `A`, append
/// `B` and get; the get returns `PA` (stale), `PB` (lost append) or `PBA`
/// (reordered) instead of `PAB`. The put fixes the key's state whatever
/// the concurrent body did, so the anomaly is certain; `None` appends the
/// same tail with the correct read (still linearizable).
pub fn kv_inject(h: &mut Vec<Event<KvAppendInput, String>>, anomaly: Option<KvAnomaly>) {
    let name: Arc<str> = "0".into();
    let base = h
        .iter()
        .map(|e| match e {
            Event::Invoke { process, .. } | Event::Complete { process, .. } => *process,
        })
        .max()
        .map_or(0, |p| p + 1);
    let (p, a, b) = ("tail P", "tail A", "tail B");
    let read = match anomaly {
        None => format!("{p}{a}{b}"),
        Some(KvAnomaly::StaleRead) => format!("{p}{a}"),
        Some(KvAnomaly::LostAppend) => format!("{p}{b}"),
        Some(KvAnomaly::ReorderedAppend) => format!("{p}{b}{a}"),
    };
    let ops = [
        (KvOp::Put(p.to_string()), None),
        (KvOp::Append(a.to_string()), None),
        (KvOp::Append(b.to_string()), None),
        (KvOp::Get, Some(read)),
    ];
    for (i, (op, output)) in ops.into_iter().enumerate() {
        let process = base + i as u64;
        let input = KvAppendInput {
            key: 0,
            name: name.clone(),
            op,
        };
        h.push(Event::Invoke {
            process,
            input: input.clone(),
        });
        h.push(Event::Complete {
            process,
            input,
            end: End::Ok,
            output,
        });
    }
}

/// Turn generated events into checker calls (positions = event index;
/// failed ops dropped), as the EDN reader would.
pub fn to_calls<I: Clone, O: Clone>(h: &[Event<I, O>]) -> Vec<Call<I, O>> {
    let mut calls: Vec<Call<I, O>> = Vec::new();
    let mut keep = Vec::new();
    let mut open: std::collections::HashMap<u64, usize> = Default::default();
    for (pos, e) in h.iter().enumerate() {
        match e {
            Event::Invoke { process, input } => {
                open.insert(*process, calls.len());
                calls.push(Call {
                    input: input.clone(),
                    output: None,
                    invoke: pos as u64,
                    complete: None,
                    index: pos as u64,
                    process: process.to_string(),
                });
                keep.push(true);
            }
            Event::Complete {
                process,
                end,
                output,
                ..
            } => {
                let c = open.remove(process).expect("completion of an invoked op");
                match end {
                    End::Ok => {
                        calls[c].complete = Some(pos as u64);
                        calls[c].output = output.clone();
                    }
                    End::Fail => keep[c] = false,
                    End::Info => {}
                }
            }
        }
    }
    calls
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(c, _)| c)
        .collect()
}

fn end_kw(e: End) -> &'static str {
    match e {
        End::Ok => "ok",
        End::Fail => "fail",
        End::Info => "info",
    }
}

/// Our EDN of a CAS-register history (model `cas-register`).
pub fn cas_edn(h: &[Event<RegInput, Option<i64>>]) -> String {
    let mut s = String::new();
    let v = |i: &RegInput| match i {
        RegInput::Read => ("read", "nil".to_string()),
        RegInput::Write(v) => ("write", v.to_string()),
        RegInput::Cas(a, b) => ("cas", format!("[{a} {b}]")),
    };
    for e in h {
        let (p, t, input, value) = match e {
            Event::Invoke { process, input } => (process, "invoke", input, v(input).1),
            Event::Complete {
                process,
                input,
                end,
                output,
            } => {
                let value = match (input, output) {
                    (RegInput::Read, Some(Some(x))) => x.to_string(),
                    (RegInput::Read, _) => "nil".to_string(),
                    _ => v(input).1,
                };
                (process, end_kw(*end), input, value)
            }
        };
        let _ = writeln!(
            s,
            "{{:process {p}, :type :{t}, :f :{}, :value {value}}}",
            v(input).0
        );
    }
    s
}

/// The same history as a Jepsen etcd log (the format of Porcupine's
/// `test_data/jepsen`): a timed-out read is `:fail :read :timed-out`, other
/// timeouts `:info … :timed-out`.
pub fn cas_etcd_log(h: &[Event<RegInput, Option<i64>>]) -> String {
    let mut s = String::new();
    for e in h {
        let line = match e {
            Event::Invoke { process, input } => match input {
                RegInput::Read => format!("{process}\t:invoke\t:read\tnil"),
                RegInput::Write(v) => format!("{process}\t:invoke\t:write\t{v}"),
                RegInput::Cas(a, b) => format!("{process}\t:invoke\t:cas\t[{a} {b}]"),
            },
            Event::Complete {
                process,
                input,
                end,
                output,
            } => match (input, end) {
                (RegInput::Read, End::Ok) => match output {
                    Some(Some(v)) => format!("{process}\t:ok\t:read\t{v}"),
                    _ => format!("{process}\t:ok\t:read\tnil"),
                },
                (RegInput::Read, _) => format!("{process}\t:fail\t:read\t:timed-out"),
                (RegInput::Write(_), End::Info) => format!("{process}\t:info\t:write\t:timed-out"),
                (RegInput::Write(v), _) => format!("{process}\t:ok\t:write\t{v}"),
                (RegInput::Cas(..), End::Info) => format!("{process}\t:info\t:cas\t:timed-out"),
                (RegInput::Cas(a, b), end) => {
                    format!("{process}\t:{}\t:cas\t[{a} {b}]", end_kw(*end))
                }
            },
        };
        let _ = writeln!(s, "INFO  jepsen.util - {line}");
    }
    s
}

fn edn_str(s: &str) -> String {
    format!("{s:?}")
}

/// Our EDN of a kv-append history: `:value [k v]`.
pub fn kv_edn(h: &[Event<KvAppendInput, String>]) -> String {
    kv_write(h, |key, v| format!(":value [{key} {v}]"))
}

/// The same history in Porcupine's kv log format (`:key` apart, `:value`
/// the string or nil); an indefinite op is written `:type :info`.
pub fn kv_porcupine_log(h: &[Event<KvAppendInput, String>]) -> String {
    kv_write(h, |key, v| format!(":key {key}, :value {v}"))
}

/// A kv-append history one map a line; `kv(key, value)` writes the
/// fields that differ between the two formats.
fn kv_write(h: &[Event<KvAppendInput, String>], kv: impl Fn(&str, &str) -> String) -> String {
    let mut s = String::new();
    for e in h {
        let (p, t, input, out) = match e {
            Event::Invoke { process, input } => (process, "invoke", input, None),
            Event::Complete {
                process,
                input,
                end,
                output,
            } => (process, end_kw(*end), input, output.as_ref()),
        };
        let (f, v) = match (&input.op, out) {
            (KvOp::Get, Some(v)) => ("get", edn_str(v)),
            (KvOp::Get, None) => ("get", "nil".to_string()),
            (KvOp::Put(v), _) => ("put", edn_str(v)),
            (KvOp::Append(v), _) => ("append", edn_str(v)),
        };
        let _ = writeln!(
            s,
            "{{:process {p}, :type :{t}, :f :{f}, {}}}",
            kv(&edn_str(&input.name), &v)
        );
    }
    s
}

/// Read a Jepsen etcd log (Porcupine's `test_data/jepsen`) as our EDN for
/// `cas-register`. Lines that are not client ops are skipped (as
/// Porcupine's parser does); a malformed op line is an error naming it.
pub fn etcd_log_to_edn(text: &str) -> Result<String, String> {
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.split_once("jepsen.util - ").map(|x| x.1) else {
            continue;
        };
        let mut it = rest.split_whitespace();
        let (Some(p), Some(t), Some(f)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if p.parse::<u64>().is_err() || !matches!(f, ":read" | ":write" | ":cas") {
            continue;
        }
        let value: Vec<&str> = it.collect();
        let value = value.join(" ");
        let t = t.trim_start_matches(':');
        if !matches!(t, "invoke" | "ok" | "fail" | "info") {
            return Err(format!("line {}: unknown type :{t}", n + 1));
        }
        let value = if value == ":timed-out" || value.is_empty() {
            "nil".to_string()
        } else {
            value
        };
        let _ = writeln!(out, "{{:process {p}, :type :{t}, :f {f}, :value {value}}}");
    }
    Ok(out)
}

/// Read Porcupine's kv log format as our EDN for `kv-append` (`:key` and
/// `:value` joined into `[k v]`).
pub fn kv_log_to_edn(text: &str) -> Result<String, String> {
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(ki) = line.find(", :key ") else {
            return Err(format!("line {}: no :key", n + 1));
        };
        let Some(vi) = line.find(", :value ") else {
            return Err(format!("line {}: no :value", n + 1));
        };
        if vi < ki || !line.ends_with('}') {
            return Err(format!("line {}: not a kv op", n + 1));
        }
        let key = &line[ki + 7..vi];
        let value = &line[vi + 9..line.len() - 1];
        let _ = writeln!(out, "{}, :value [{key} {value}]}}", &line[..ki]);
    }
    Ok(out)
}
