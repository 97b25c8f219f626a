//! Linearizability checking: is there a total order of the operations,
//! consistent with real time (an op that completed before another was
//! invoked comes first), in which every op's outcome agrees with a
//! sequential model?
//!
//! - [`Model`]: initial state, `step(state, input, output) -> Option<state>`,
//!   a partition key (P-compositionality: independent objects are checked
//!   separately, which turns one exponential search into many small ones),
//!   and descriptions for counterexamples.
//! - [`check`]: Wing–Gong/Lowe search with memoisation ([`wgl`]), per
//!   partition, under a time limit; giving up is `unknown`, never a guess.
//! - Histories: Jepsen EDN ([`check_edn_file`], models `register`,
//!   `cas-register`, `kv`) and kafka-trial JSONL ([`check_history_log`],
//!   model `log`).
//!
//! `fail` ops did not happen and are dropped; `info` ops and invocations
//! that never completed may take effect at any point after their
//! invocation, or never.

pub mod edn;
pub mod gen;
pub mod log;
pub mod models;
mod scan;
pub mod wgl;
pub mod wgl_reference;

#[cfg(test)]
mod log_tests;
#[cfg(test)]
mod log_txn_tests;

use crate::verdict::Validity;
use crate::{CheckError, Isolation};
use models::{CasRegister, Kv, LogInput, LogOutput, RegInput, Register};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::path::Path;
use std::time::{Duration, Instant};
use trial_histories::Op;

/// A sequential specification.
pub trait Model {
    type State: Clone + Eq + Hash + Debug;
    type Input: Clone + Debug;
    type Output: Clone + Debug;
    fn name(&self) -> &str;
    fn init(&self) -> Self::State;
    /// Apply an op to a state. `output` is None when the outcome is unknown
    /// (`info`): any output is acceptable. None if the op cannot happen in
    /// this state with this output.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;
    /// Ops with different keys touch independent objects.
    fn partition(&self, _input: &Self::Input) -> u64 {
        0
    }
    fn describe(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;
    fn describe_state(&self, s: &Self::State) -> String {
        format!("{s:?}")
    }
}

/// One operation of a history, as the checker sees it.
#[derive(Debug, Clone)]
pub struct Call<I, O> {
    pub input: I,
    /// None: unknown outcome (`info` or never completed).
    pub output: Option<O>,
    /// Real-time position of the invocation (e.g. its history index).
    pub invoke: u64,
    /// Position of the completion; None if it never (knowably) completed.
    pub complete: Option<u64>,
    /// Index of the invocation in the source history (for reports).
    pub index: u64,
    pub process: String,
}

/// Evidence that a history is not linearizable.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Counterexample {
    /// The partition (key) of the model that failed.
    pub partition: u64,
    /// Length of the longest linearizable prefix found.
    pub prefix_len: usize,
    /// Its last ops (at most 20), in linearization order: `[index, text]`.
    pub prefix_tail: Vec<(u64, String)>,
    /// The model state after the prefix.
    pub state: String,
    /// The op that cannot be placed: its index, process and description.
    pub op_index: u64,
    pub op_process: String,
    pub op: String,
    pub message: String,
}

/// The linearizability checker's verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinearResult {
    pub valid: Validity,
    pub model: String,
    /// Operations considered (after dropping failed ones).
    pub ops: u64,
    pub partitions: u64,
    /// Search steps taken, all partitions.
    pub explored: u64,
    pub elapsed_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// Partitions the Wing–Gong/Lowe search decided (the `log` model's
    /// greedy, [`log`], decides the others; every partition for the other
    /// models).
    #[serde(default)]
    pub searched_partitions: u64,
    /// The time budget the check had, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_ms: Option<f64>,
    /// `nonlinearizable` with the counterexample as its example (the op
    /// that cannot be placed, then the prefix's tail): the shape every
    /// checker's anomalies have, so that a report links and shows its ops
    /// like any other anomaly's ([`LinearResult::with_anomalies`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub anomalies: BTreeMap<String, crate::verdict::AnomalyReport>,
}

impl Counterexample {
    /// The counterexample of an op (`index`, `process`, description `op`)
    /// that cannot be placed after a linearizable prefix of `prefix_len`
    /// ops (`tail`: its last ones, at most 20) reaching `state`; `why`: the
    /// reason, when the checker knows it.
    pub(crate) fn new(
        partition: u64,
        (prefix_len, tail): (usize, Vec<(u64, String)>),
        state: String,
        (index, process, op): (u64, String, String),
        why: Option<&str>,
    ) -> Counterexample {
        let why = why.map_or(String::new(), |w| format!(": {w}"));
        Counterexample {
            partition,
            prefix_len,
            prefix_tail: tail,
            message: format!(
                "after a linearizable prefix of {prefix_len} ops (state {state}), op {index} of \
                 process {process} ({op}) cannot be linearized{why}"
            ),
            state,
            op_index: index,
            op_process: process,
            op,
        }
    }
}

/// What a check found, before it is a verdict ([`LinearResult::from_tally`]).
pub(crate) struct Tally {
    pub model: String,
    pub ops: u64,
    pub partitions: u64,
    pub explored: u64,
    /// Calls that completed ok: none, and a pass would be vacuous.
    pub completed: usize,
    pub counterexample: Option<Counterexample>,
    pub unknown: Option<String>,
    pub searched_partitions: u64,
    pub budget: Duration,
    pub started: Instant,
}

impl LinearResult {
    /// The verdict of a tally: invalid with a counterexample, unknown when
    /// a search gave up or nothing completed, else valid.
    pub(crate) fn from_tally(t: Tally) -> LinearResult {
        let mut unknown = t.unknown;
        let valid = if t.counterexample.is_some() {
            Validity::Invalid
        } else if unknown.is_some() {
            Validity::Unknown
        } else if t.completed == 0 {
            // Nothing is constrained: a pass would be vacuous.
            unknown = Some(format!(
                "no operation completed ok ({} indefinite, failed ones dropped): nothing to check",
                t.ops
            ));
            Validity::Unknown
        } else {
            Validity::Valid
        };
        LinearResult {
            valid,
            model: t.model,
            ops: t.ops,
            partitions: t.partitions,
            explored: t.explored,
            elapsed_ms: t.started.elapsed().as_secs_f64() * 1e3,
            counterexample: t.counterexample,
            unknown_reason: if valid == Validity::Invalid {
                None
            } else {
                unknown
            },
            searched_partitions: t.searched_partitions,
            budget_ms: Some(t.budget.as_secs_f64() * 1e3),
            anomalies: BTreeMap::new(),
        }
    }

    /// Fill [`LinearResult::anomalies`] from the counterexample.
    pub fn with_anomalies(mut self) -> Self {
        use crate::verdict::{class, definition, AnomalyReport, Example};
        self.anomalies.clear();
        if let (Validity::Invalid, Some(c)) = (self.valid, &self.counterexample) {
            let mut ops = vec![c.op_index];
            for (i, _) in c.prefix_tail.iter().rev() {
                if !ops.contains(i) {
                    ops.push(*i);
                }
            }
            self.anomalies.insert(
                class::NONLINEARIZABLE.to_string(),
                AnomalyReport {
                    count: 1,
                    definition: definition(class::NONLINEARIZABLE).to_string(),
                    examples: vec![Example {
                        ops,
                        partition: i32::try_from(c.partition).ok(),
                        process: Some(c.op_process.clone()),
                        message: c.message.clone(),
                        ..Example::default()
                    }],
                    ..AnomalyReport::default()
                },
            );
        }
        self
    }

    /// One line for a person: the verdict, what was checked and how long
    /// it took; the counterexample's message or the reason it is undecided
    /// (for this checker only).
    pub fn summary_line(&self) -> String {
        let what = format!(
            "{} ops, {} partitions, {:.2} s",
            self.ops,
            self.partitions,
            self.elapsed_ms / 1e3
        );
        match self.valid {
            Validity::Valid => format!("linearizable ({}): valid — {what}", self.model),
            Validity::Invalid => format!(
                "linearizable ({}): INVALID — {what}: {}",
                self.model,
                self.counterexample
                    .as_ref()
                    .map_or("no counterexample", |c| c.message.as_str())
            ),
            Validity::Unknown => format!(
                "linearizable ({}): unknown for this checker only — {what}: {}",
                self.model,
                self.unknown_reason.as_deref().unwrap_or("no reason given")
            ),
        }
    }
}

/// Cached configurations per partition before giving up (memory bound).
pub const MAX_CACHE: usize = 20_000_000;

/// Check `calls` against `model` within `time_limit`, partitions in
/// parallel on all cores.
pub fn check<M>(
    model: &M,
    calls: Vec<Call<M::Input, M::Output>>,
    time_limit: Duration,
) -> LinearResult
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    check_threads(model, calls, time_limit, threads)
}

/// What one partition's search found, in a form that crosses threads
/// (the state already described).
enum PartOutcome {
    Linearizable,
    Not {
        prefix: Vec<usize>,
        state: String,
        blocked: usize,
    },
    GaveUp(String),
}

/// [`check`] on at most `threads` threads (1: in the caller's thread, as
/// when many files are checked in parallel). Partitions are searched
/// smallest first; the first violation (in that order) is reported and
/// cancels the searches still running.
pub fn check_threads<M>(
    model: &M,
    calls: Vec<Call<M::Input, M::Output>>,
    time_limit: Duration,
    threads: usize,
) -> LinearResult
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
{
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let t0 = Instant::now();
    let deadline = t0 + time_limit;
    let n = calls.len() as u64;
    let completed = calls.iter().filter(|c| c.complete.is_some()).count();
    type Calls<M> = Vec<Call<<M as Model>::Input, <M as Model>::Output>>;
    let mut parts: BTreeMap<u64, Calls<M>> = BTreeMap::new();
    for c in calls {
        parts.entry(model.partition(&c.input)).or_default().push(c);
    }
    // Small partitions first: a counterexample is found sooner.
    let mut order: Vec<(u64, Calls<M>)> = parts.into_iter().collect();
    order.sort_by_key(|(_, v)| v.len());
    let n_parts = order.len();
    let cancel = AtomicBool::new(false);
    let next_part = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<PartOutcome>>> =
        Mutex::new((0..n_parts).map(|_| None).collect());
    let explored = std::sync::atomic::AtomicU64::new(0);
    let work = || {
        let mut stats = wgl::SearchStats::default();
        loop {
            let i = next_part.fetch_add(1, Ordering::Relaxed);
            if i >= n_parts || cancel.load(Ordering::Relaxed) || Instant::now() >= deadline {
                break;
            }
            let calls = &order[i].1;
            let out = match wgl::search_cancellable(
                model, calls, deadline, MAX_CACHE, &mut stats, &cancel,
            ) {
                wgl::Outcome::Linearizable => PartOutcome::Linearizable,
                wgl::Outcome::NotLinearizable {
                    prefix,
                    state,
                    blocked,
                } => {
                    cancel.store(true, Ordering::Relaxed);
                    PartOutcome::Not {
                        prefix,
                        state: model.describe_state(&state),
                        blocked,
                    }
                }
                wgl::Outcome::GaveUp(why) => PartOutcome::GaveUp(why),
            };
            outcomes.lock().unwrap()[i] = Some(out);
        }
        explored.fetch_add(stats.explored, Ordering::Relaxed);
    };
    // Threads only pay for themselves on histories of some size (a spawn
    // costs more than searching a 100-op history).
    let threads = if n < 500 {
        1
    } else {
        threads.clamp(1, n_parts.max(1))
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let outcomes = outcomes.into_inner().unwrap();
    let mut unknown: Option<String> = None;
    let mut counterexample = None;
    for (i, out) in outcomes.into_iter().enumerate() {
        let (key, calls) = (&order[i].0, &order[i].1);
        match out {
            Some(PartOutcome::Linearizable) => {}
            Some(PartOutcome::Not {
                prefix,
                state: st,
                blocked,
            }) => {
                let b = &calls[blocked];
                let tail: Vec<(u64, String)> = prefix
                    .iter()
                    .skip(prefix.len().saturating_sub(20))
                    .map(|&i| {
                        (
                            calls[i].index,
                            model.describe(&calls[i].input, calls[i].output.as_ref()),
                        )
                    })
                    .collect();
                let op = model.describe(&b.input, b.output.as_ref());
                counterexample = Some(Counterexample::new(
                    *key,
                    (prefix.len(), tail),
                    st,
                    (b.index, b.process.clone(), op),
                    None,
                ));
                break;
            }
            Some(PartOutcome::GaveUp(why)) => {
                unknown.get_or_insert(format!("partition {key}: {why}"));
            }
            None => {
                unknown.get_or_insert(format!(
                    "partition {key}: not searched: the time limit was reached"
                ));
            }
        }
    }
    LinearResult::from_tally(Tally {
        model: model.name().to_string(),
        ops: n,
        partitions: n_parts as u64,
        explored: explored.into_inner(),
        completed,
        counterexample,
        unknown,
        searched_partitions: n_parts as u64,
        budget: time_limit,
        started: t0,
    })
}

/// The model names `check_edn_file` accepts.
pub const EDN_MODELS: &[&str] = &["register", "cas-register", "kv", "kv-append"];

/// Check a Jepsen EDN history (as in knossos's `data/`) against a model:
/// `register`, `cas-register` or `kv` (values `[key v]`, `[key [old new]]`).
pub fn check_edn_file(
    path: &Path,
    model_name: &str,
    time_limit: Duration,
) -> Result<LinearResult, CheckError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CheckError::Read(trial_histories::ReadError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })?;
    check_edn_str(&text, path, model_name, time_limit)
}

/// Same, from text (`path` is used in messages).
pub fn check_edn_str(
    text: &str,
    path: &Path,
    model_name: &str,
    time_limit: Duration,
) -> Result<LinearResult, CheckError> {
    let ops = edn::parse_ops(text).map_err(|e| CheckError::Edn {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })?;
    check_edn_ops(&ops, path, model_name, time_limit)
}

/// Same, from parsed EDN ops (what `edn::parse_ops` returns): the part a
/// search-only timing measures.
pub fn check_edn_ops(
    ops: &[(u64, edn::Edn)],
    path: &Path,
    model_name: &str,
    time_limit: Duration,
) -> Result<LinearResult, CheckError> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    check_edn_ops_threads(ops, path, model_name, time_limit, all)
}

/// [`check_edn_ops`] on at most `threads` threads (1 when many files are
/// checked side by side, each on its own core).
pub fn check_edn_ops_threads(
    ops: &[(u64, edn::Edn)],
    path: &Path,
    model_name: &str,
    time_limit: Duration,
    threads: usize,
) -> Result<LinearResult, CheckError> {
    match model_name {
        "register" => {
            let calls = edn_calls(ops, path, reg_input, reg_output)?;
            Ok(check_threads(&Register, calls, time_limit, threads))
        }
        "cas-register" => {
            let calls = edn_calls(ops, path, reg_input, reg_output)?;
            Ok(check_threads(&CasRegister, calls, time_limit, threads))
        }
        "kv" => {
            let calls = edn_calls(
                ops,
                path,
                |f, v| {
                    let s = v.as_seq().filter(|s| s.len() == 2)?;
                    Some((s[0].as_int()?, reg_input(f, &s[1])?))
                },
                |f, v| match v.as_seq() {
                    Some(s) if s.len() == 2 => reg_output(f, &s[1]),
                    _ => Some(None),
                },
            )?;
            Ok(check_threads(&Kv, calls, time_limit, threads))
        }
        "kv-append" => {
            let calls = kv_append_calls(ops, path)?;
            Ok(check_threads(&models::KvAppend, calls, time_limit, threads))
        }
        other => Err(CheckError::Options(format!(
            "unknown model {other:?} for an EDN history: expected one of {}",
            EDN_MODELS.join(", ")
        ))),
    }
}

/// The calls of a `kv-append` EDN history: `:f :get/:put/:append`,
/// `:value [k v]`; keys and values may be strings, keywords or integers
/// (read as strings); a get's `v` is the value read, nil the empty string.
pub fn kv_append_calls(
    ops: &[(u64, edn::Edn)],
    path: &Path,
) -> Result<Vec<Call<models::KvAppendInput, String>>, CheckError> {
    use models::{KvAppendInput, KvOp};
    use std::cell::RefCell;
    let keys: RefCell<std::collections::HashMap<String, (u64, std::sync::Arc<str>)>> =
        RefCell::new(std::collections::HashMap::new());
    fn text(v: &edn::Edn) -> Option<String> {
        match v {
            edn::Edn::Str(s) | edn::Edn::Keyword(s) | edn::Edn::Symbol(s) => Some(s.clone()),
            edn::Edn::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }
    edn_calls(
        ops,
        path,
        |f, v| {
            let s = v.as_seq().filter(|s| s.len() == 2)?;
            let name = text(&s[0])?;
            let op = match f {
                "get" => KvOp::Get,
                "put" => KvOp::Put(text(&s[1])?),
                "append" => KvOp::Append(text(&s[1])?),
                _ => return None,
            };
            let mut keys = keys.borrow_mut();
            let n = keys.len() as u64;
            let (key, name) = keys
                .entry(name.clone())
                .or_insert_with(|| (n, name.as_str().into()))
                .clone();
            Some(KvAppendInput { key, name, op })
        },
        |f, v| match (f, v.as_seq()) {
            ("get", Some(s)) if s.len() == 2 => match &s[1] {
                edn::Edn::Nil => Some(String::new()),
                other => text(other),
            },
            _ => Some(String::new()),
        },
    )
}

fn reg_input(f: &str, v: &edn::Edn) -> Option<RegInput> {
    match f {
        "read" => Some(RegInput::Read),
        "write" => Some(RegInput::Write(v.as_int()?)),
        "cas" => {
            let s = v.as_seq().filter(|s| s.len() == 2)?;
            Some(RegInput::Cas(s[0].as_int()?, s[1].as_int()?))
        }
        _ => None,
    }
}

/// The output of a completed op: a read's value (nil: unconstrained).
fn reg_output(f: &str, v: &edn::Edn) -> Option<Option<i64>> {
    match f {
        "read" => Some(v.as_int()),
        _ => Some(None),
    }
}

fn edn_calls<I: Clone + Debug, O: Clone + Debug>(
    ops: &[(u64, edn::Edn)],
    path: &Path,
    input: impl Fn(&str, &edn::Edn) -> Option<I>,
    output: impl Fn(&str, &edn::Edn) -> Option<O>,
) -> Result<Vec<Call<I, O>>, CheckError> {
    let bad = |line: u64, m: String| CheckError::Edn {
        path: path.to_path_buf(),
        line,
        message: m,
    };
    let mut pending: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    let mut calls: Vec<Call<I, O>> = Vec::new();
    let mut keep: Vec<bool> = Vec::new();
    let nil = edn::Edn::Nil;
    for (pos, (line, op)) in ops.iter().enumerate() {
        let process = match op.get("process") {
            Some(edn::Edn::Int(p)) => p.to_string(),
            // Nemesis and other named actors are not clients of the model.
            Some(_) | None => continue,
        };
        let kind = op
            .get("type")
            .and_then(|t| t.as_keyword())
            .ok_or_else(|| bad(*line, format!("op {pos}: no :type")))?;
        let f = op
            .get("f")
            .and_then(|t| t.as_keyword())
            .ok_or_else(|| bad(*line, format!("op {pos}: no :f")))?;
        let value = op.get("value").unwrap_or(&nil);
        let index = op
            .get("index")
            .and_then(|i| i.as_int())
            .map_or(pos as u64, |i| i as u64);
        match kind {
            "invoke" => {
                if let Some((prev, _)) = pending.get(&process) {
                    return Err(bad(
                        *line,
                        format!(
                            "process {process} invoked op {index} while op {} was outstanding",
                            calls[*prev].index
                        ),
                    ));
                }
                let inp = input(f, value).ok_or_else(|| {
                    bad(
                        *line,
                        format!("op {index}: unsupported :f :{f} with value {value:?}"),
                    )
                })?;
                pending.insert(process.clone(), (calls.len(), pos as u64));
                calls.push(Call {
                    input: inp,
                    output: None,
                    invoke: pos as u64,
                    complete: None,
                    index,
                    process,
                });
                keep.push(true);
            }
            "ok" | "fail" | "info" => {
                let Some((ci, _)) = pending.remove(&process) else {
                    return Err(bad(
                        *line,
                        format!("process {process} completed op {index} it never invoked"),
                    ));
                };
                match kind {
                    "ok" => {
                        calls[ci].complete = Some(pos as u64);
                        calls[ci].output = output(f, value);
                        // A completed read's value is in the completion;
                        // re-derive the input in case the invoke lacked it.
                        if let Some(i) = input(f, value) {
                            if matches!(f, "read") {
                                calls[ci].input = i;
                            }
                        }
                    }
                    "fail" => keep[ci] = false,
                    _ => {}
                }
            }
            other => return Err(bad(*line, format!("op {index}: unknown :type :{other}"))),
        }
    }
    Ok(calls
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(c, _)| c)
        .collect())
}

/// Check a kafka-trial JSONL history with the `log` model: sends append
/// and return their offset, polls and final reads return slices of a
/// partition's log (transactions as [`log`] says). Offsets are taken
/// relative to the lowest offset seen in each partition (the topic is
/// assumed fresh). The file is
/// streamed into compact calls ([`log::LogCalls`]) and decided by the
/// greedy of [`log`], the search only where it cannot decide.
pub fn check_history_log(
    path: &Path,
    model_name: &str,
    time_limit: Duration,
) -> Result<LinearResult, CheckError> {
    check_history_log_budget(path, model_name, Some(time_limit))
}

/// [`check_history_log`] with the budget scaled to the history
/// ([`log::scaled_budget`]) when `budget` is None.
pub fn check_history_log_budget(
    path: &Path,
    model_name: &str,
    budget: Option<Duration>,
) -> Result<LinearResult, CheckError> {
    check_history_log_isolation(path, model_name, budget, Isolation::ReadCommitted)
}

/// [`check_history_log_budget`] of a run whose consumers' polls have this
/// isolation level (what a read_uncommitted poll may return differs).
pub fn check_history_log_isolation(
    path: &Path,
    model_name: &str,
    budget: Option<Duration>,
    isolation: Isolation,
) -> Result<LinearResult, CheckError> {
    log_model(model_name)?;
    let t0 = Instant::now();
    let calls = scan::log_calls_file(path, isolation)?;
    let budget = budget.unwrap_or_else(|| log::scaled_budget(calls.len() as u64));
    let mut r = log::check_log(&calls, budget);
    // The time includes reading the file.
    r.elapsed_ms = t0.elapsed().as_secs_f64() * 1e3;
    Ok(r)
}

fn log_model(model_name: &str) -> Result<(), CheckError> {
    if model_name != "log" {
        return Err(CheckError::Options(format!(
            "model {model_name:?} does not apply to a kafka-trial history; use `log` (or give \
             an EDN history for {})",
            EDN_MODELS.join(", ")
        )));
    }
    Ok(())
}

/// [`check_history_log`] for ops in memory.
pub fn check_ops_log(
    ops: &[Op],
    model_name: &str,
    time_limit: Duration,
) -> Result<LinearResult, CheckError> {
    check_ops_log_budget(ops, model_name, Some(time_limit))
}

/// [`check_ops_log`] with the budget scaled to the history when None.
pub fn check_ops_log_budget(
    ops: &[Op],
    model_name: &str,
    budget: Option<Duration>,
) -> Result<LinearResult, CheckError> {
    check_ops_log_isolation(ops, model_name, budget, Isolation::ReadCommitted)
}

/// [`check_ops_log_budget`] with the polls' isolation level.
pub fn check_ops_log_isolation(
    ops: &[Op],
    model_name: &str,
    budget: Option<Duration>,
    isolation: Isolation,
) -> Result<LinearResult, CheckError> {
    log_model(model_name)?;
    let calls = log::log_calls_with(ops, isolation);
    let budget = budget.unwrap_or_else(|| log::scaled_budget(calls.len() as u64));
    Ok(log::check_log(&calls, budget))
}

/// Turn a kafka-trial history into calls of the log model (generic calls
/// for [`check`]; [`log::log_calls_compact`] keeps them compact).
pub fn log_calls(ops: &[Op]) -> Vec<Call<LogInput, LogOutput>> {
    log::log_calls_compact(ops).to_calls()
}
