//! What a report is made of, read leniently from a run folder: the test's
//! options (`test.json`), the checkers' results (`results.json`) and a
//! compact digest of the history (`history.jsonl`).
//!
//! Every input may be missing or partial (a run still being written, a
//! crashed controller, an older checker): nothing here fails on content; a
//! problem becomes a warning shown in the report. Only I/O errors other
//! than "not found" are errors.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use trial_histories::store::{HISTORY_FILE, NODES_DIR, RESULTS_FILE, TEST_FILE};
use trial_histories::{FaultTracker, HistoryReader, Op, OpType, Outstanding, Process, Step};

/// Longest value or error text kept per op for the op table (characters).
pub const SHORT_TEXT: usize = 120;
/// Longest value or error text kept for an op that an anomaly names.
pub const LONG_TEXT: usize = 4000;

/// Histories up to this many ops keep every op in the report (the
/// timeline and op table draw each one); longer ones are drawn from
/// [`Aggregates`] and reach their detail through `kafka-trial serve`.
pub const FULL_DETAIL_OPS: u64 = 100_000;
/// Columns the run is divided into for the aggregates (about the pixels
/// of a wide screen at the timeline's full zoom, twice over).
pub const COLUMNS: u64 = 4096;
/// Latency rows per doubling (log scale: row = ⌊8·log2(latency ns)⌋).
pub const ROWS_PER_OCTAVE: f64 = 8.0;

/// One run of consecutive ops of a lane drawn as one bar: ops of the same
/// function and outcome closer than a column, or ops shorter than a column
/// that fall inside the bar's last column (then the bar takes the worse
/// outcome, so that a failure is never hidden by its neighbours).
#[derive(Debug, Clone, PartialEq)]
pub struct LaneRun {
    pub f: u16,
    pub outcome: Outcome,
    pub start_ns: u64,
    pub end_ns: u64,
    /// First and last op (invocation index) of the run.
    pub first: u64,
    pub last: u64,
    pub count: u64,
}

/// What the timeline and plots of a long history are drawn from, built
/// while the history streams by: memory bounded by lanes × columns, not by
/// the ops.
#[derive(Debug, Clone, Default)]
pub struct Aggregates {
    /// Width of one column (ns); doubles as the run grows so that the run
    /// always fits in [`COLUMNS`] columns.
    pub col_ns: u64,
    /// Latency cells of completed client ops: (column, log row, outcome,
    /// f) → ops.
    pub latency: HashMap<(u32, u16, Outcome, u16), u32>,
    /// Completions of client ops per second, per (f, outcome).
    pub rate: BTreeMap<(u16, Outcome), Vec<u64>>,
    /// Client ops per function (marker shapes go to the common ones).
    pub f_count: Vec<u64>,
    /// Per lane (in [`HistoryDigest::lanes`] order), the runs of ops.
    pub runs: Vec<Vec<LaneRun>>,
}

fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::Ok => 0,
        Outcome::Open => 1,
        Outcome::Info => 2,
        Outcome::Fail => 3,
    }
}

/// The latency row of a latency (ns) and the row's middle (ns).
pub fn latency_row(ns: u64) -> u16 {
    ((ns.max(1) as f64).log2() * ROWS_PER_OCTAVE)
        .floor()
        .clamp(0.0, 600.0) as u16
}
pub fn row_latency_ns(row: u16) -> f64 {
    2f64.powf((row as f64 + 0.5) / ROWS_PER_OCTAVE)
}

impl Aggregates {
    fn new() -> Aggregates {
        Aggregates {
            col_ns: 1_000_000,
            ..Default::default()
        }
    }

    /// Make sure time `t` falls in a column, doubling the column width
    /// (and merging what was recorded) as needed.
    fn reach(&mut self, t: u64) {
        let mut shift = 0;
        while t / self.col_ns >= COLUMNS {
            self.col_ns *= 2;
            shift += 1;
        }
        if shift > 0 {
            let old = std::mem::take(&mut self.latency);
            for ((c, r, o, f), n) in old {
                *self.latency.entry((c >> shift, r, o, f)).or_default() += n;
            }
            self.compact();
        }
    }

    fn col(&self, t: u64) -> u32 {
        (t / self.col_ns) as u32
    }

    /// One client op's latency and rate.
    fn client(&mut self, s: &OpSpan, lone: bool) {
        if self.f_count.len() <= s.f as usize {
            self.f_count.resize(s.f as usize + 1, 0);
        }
        self.f_count[s.f as usize] += 1;
        let Some(end) = s.end_ns else { return };
        let sec = (end / 1_000_000_000) as usize;
        let v = self.rate.entry((s.f, s.outcome)).or_default();
        if v.len() <= sec {
            v.resize(sec + 1, 0);
        }
        v[sec] += 1;
        if lone || s.outcome == Outcome::Open {
            return;
        }
        let key = (
            self.col(s.start_ns),
            latency_row(end.saturating_sub(s.start_ns)),
            s.outcome,
            s.f,
        );
        *self.latency.entry(key).or_default() += 1;
    }

    /// One op of a lane (lane numbers as first seen; renumbered at the end).
    fn lane_op(&mut self, s: &OpSpan) {
        let lane = s.lane as usize;
        if self.runs.len() <= lane {
            self.runs.resize(lane + 1, Vec::new());
        }
        let px = self.col_ns / 2;
        let end = s.end_ns.unwrap_or(s.start_ns);
        let runs = &mut self.runs[lane];
        if let Some(r) = runs.last_mut() {
            let near = s.start_ns <= r.end_ns.saturating_add(px);
            let same = r.f == s.f && r.outcome == s.outcome;
            let tiny = end.saturating_sub(s.start_ns) < px && end <= r.end_ns.saturating_add(px);
            if near && (same || tiny) {
                if severity(s.outcome) > severity(r.outcome) {
                    r.outcome = s.outcome;
                    r.f = s.f;
                }
                r.end_ns = r.end_ns.max(end);
                r.start_ns = r.start_ns.min(s.start_ns);
                r.first = r.first.min(s.invoke);
                r.last = r.last.max(s.invoke);
                r.count += 1;
                return;
            }
        }
        runs.push(LaneRun {
            f: s.f,
            outcome: s.outcome,
            start_ns: s.start_ns,
            end_ns: end,
            first: s.invoke,
            last: s.invoke,
            count: 1,
        });
    }

    /// Merge runs again at the current column width.
    fn compact(&mut self) {
        let px = self.col_ns / 2;
        for runs in &mut self.runs {
            let mut out: Vec<LaneRun> = Vec::with_capacity(runs.len() / 2 + 1);
            for r in runs.drain(..) {
                if let Some(p) = out.last_mut() {
                    let near = r.start_ns <= p.end_ns.saturating_add(px);
                    let same = p.f == r.f && p.outcome == r.outcome;
                    let tiny = r.end_ns.saturating_sub(r.start_ns) < px
                        && r.end_ns <= p.end_ns.saturating_add(px);
                    if near && (same || tiny) {
                        if severity(r.outcome) > severity(p.outcome) {
                            p.outcome = r.outcome;
                            p.f = r.f;
                        }
                        p.end_ns = p.end_ns.max(r.end_ns);
                        p.first = p.first.min(r.first);
                        p.last = p.last.max(r.last);
                        p.count += r.count;
                        continue;
                    }
                }
                out.push(r);
            }
            *runs = out;
        }
    }

    /// Runs in all lanes.
    pub fn run_count(&self) -> usize {
        self.runs.iter().map(Vec::len).sum()
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    Fail,
    Info,
    /// Invoked, never completed (the history ended first): like `info`.
    Open,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
            Outcome::Open => "open",
        }
    }
    pub fn code(self) -> u8 {
        self as u8
    }
    fn of(t: OpType) -> Outcome {
        match t {
            OpType::Ok => Outcome::Ok,
            OpType::Fail => Outcome::Fail,
            _ => Outcome::Info,
        }
    }
}

/// One operation from invocation to completion (or a lone completion such
/// as a `rebalance` or `crash` event, whose start and end coincide).
#[derive(Debug, Clone)]
pub struct OpSpan {
    /// Index into [`HistoryDigest::lanes`].
    pub lane: u32,
    /// Index into [`HistoryDigest::fs`].
    pub f: u16,
    pub outcome: Outcome,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    /// Index of the invocation (or of the lone completion).
    pub invoke: u64,
    pub completion: Option<u64>,
    /// The completion's value if it has one, else the invocation's;
    /// shortened to [`SHORT_TEXT`].
    pub value: String,
    pub error: Option<String>,
}

impl OpSpan {
    pub fn latency_ns(&self) -> Option<u64> {
        self.end_ns.map(|e| e.saturating_sub(self.start_ns))
    }
}

/// A fault interval: from a `start-<kind>` info to the next `stop-<kind>`
/// (or `heal`), or to the end of the history if it was never stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultInterval {
    pub kind: String,
    pub start_ns: u64,
    pub end_ns: u64,
    /// False when no stop or heal was recorded (history ended first).
    pub stopped: bool,
    /// The `start-<kind>` info op.
    pub start_op: u64,
    /// The op that ended it, if any.
    pub end_op: Option<u64>,
    /// What the nemesis says it did (shortened).
    pub detail: String,
    /// Nodes where a step failed, with why (the fault applied only in
    /// part there).
    pub failed: BTreeMap<String, String>,
}

/// Every field of one history line, for the ops that anomalies name.
#[derive(Debug, Clone)]
pub struct OpRow {
    pub index: u64,
    pub time_ns: u64,
    pub process: String,
    pub kind: &'static str,
    pub f: String,
    pub value: String,
    pub error: Option<String>,
}

/// A compact digest of a history, enough for plots, the timeline and the
/// op table.
#[derive(Debug, Clone, Default)]
pub struct HistoryDigest {
    /// Was there a history file at all?
    pub present: bool,
    /// Lines read as ops.
    pub op_count: u64,
    /// Processes, in lane order: nemesis, workers by number, then others.
    pub lanes: Vec<String>,
    pub lane_is_nemesis: Vec<bool>,
    /// Function names, indexed by [`OpSpan::f`].
    pub fs: Vec<String>,
    /// Ops in invocation order: every op up to [`FULL_DETAIL_OPS`]; past
    /// it (`aggregated`), only the ops that anomalies name.
    pub spans: Vec<OpSpan>,
    /// More ops than [`FULL_DETAIL_OPS`]: the timeline is drawn from
    /// [`Aggregates::runs`], the detail comes from `serve`.
    pub aggregated: bool,
    /// Plots and the aggregated timeline, for every history.
    pub agg: Aggregates,
    pub faults: Vec<FaultInterval>,
    /// The last time in the history (ns).
    pub end_ns: u64,
    /// The ops named by anomaly examples, in full.
    pub named_ops: BTreeMap<u64, OpRow>,
    /// Problems met while reading (skipped lines, truncated tail, …).
    pub warnings: Vec<String>,
}

/// One example of an anomaly, as the checker gave it.
#[derive(Debug, Clone, Default)]
pub struct Example {
    /// The ops involved (history indices).
    pub ops: Vec<u64>,
    /// Every other field, rendered as compact JSON (strings without quotes).
    pub fields: Vec<(String, String)>,
    pub message: Option<String>,
}

/// An anomaly class reported by a checker.
#[derive(Debug, Clone, Default)]
pub struct AnomalyClass {
    pub checker: String,
    pub name: String,
    pub count: u64,
    pub definition: Option<String>,
    pub examples: Vec<Example>,
    /// The run's configuration permits this class (Kafka documents it as
    /// possible with these settings): why. It does not make the run
    /// invalid.
    pub permitted: Option<String>,
}

/// The verdict of results.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid,
    Unknown,
    /// No results.json (yet): the run is being written or was never checked.
    Pending,
}

impl Verdict {
    pub fn from_results(results: Option<&Value>) -> Verdict {
        match results.and_then(|r| r.get("valid")) {
            Some(Value::Bool(true)) => Verdict::Valid,
            Some(Value::Bool(false)) => Verdict::Invalid,
            Some(_) => Verdict::Unknown,
            None if results.is_some() => Verdict::Unknown,
            None => Verdict::Pending,
        }
    }
    /// A CSS class name and a word for people.
    pub fn class(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
            Verdict::Pending => "pending",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "INVALID",
            Verdict::Unknown => "unknown",
            Verdict::Pending => "no verdict yet",
        }
    }
}

/// Everything a report shows about one run.
#[derive(Debug, Clone)]
pub struct RunData {
    pub dir: PathBuf,
    /// test.json as an object (empty if missing or not an object).
    pub test: serde_json::Map<String, Value>,
    pub results: Option<Value>,
    pub verdict: Verdict,
    pub anomalies: Vec<AnomalyClass>,
    /// Node log files, relative to the run folder (`nodes/n1/server.log`).
    pub node_logs: Vec<String>,
    pub history: HistoryDigest,
    /// Problems with test.json / results.json.
    pub warnings: Vec<String>,
}

impl RunData {
    pub fn results_str(&self, key: &str) -> Option<&str> {
        self.results.as_ref()?.get(key)?.as_str()
    }
}

/// Read a JSON file; `Ok(None)` if it does not exist, a warning if it does
/// not parse (a half-written file: tolerated).
pub fn read_json(path: &Path, warnings: &mut Vec<String>) -> io::Result<Option<Value>> {
    match fs::read(path) {
        Ok(b) => match serde_json::from_slice(&b) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                warnings.push(format!(
                    "{}: not valid JSON ({e}); ignored",
                    file_name(path)
                ));
                Ok(None)
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Read everything about a run folder.
pub fn load_run(dir: &Path) -> io::Result<RunData> {
    let mut warnings = Vec::new();
    let test = match read_json(&dir.join(TEST_FILE), &mut warnings)? {
        Some(Value::Object(m)) => m,
        Some(_) => {
            warnings.push(format!("{TEST_FILE}: not a JSON object; ignored"));
            Default::default()
        }
        None => Default::default(),
    };
    let results = read_json(&dir.join(RESULTS_FILE), &mut warnings)?;
    let verdict = Verdict::from_results(results.as_ref());
    let anomalies = results.as_ref().map(anomaly_classes).unwrap_or_default();
    let named: BTreeSet<u64> = anomalies
        .iter()
        .flat_map(|a| a.examples.iter().flat_map(|e| e.ops.iter().copied()))
        .collect();
    let history = digest_history(&dir.join(HISTORY_FILE), &named)?;
    let node_logs = list_node_logs(dir);
    Ok(RunData {
        dir: dir.to_path_buf(),
        test,
        results,
        verdict,
        anomalies,
        node_logs,
        history,
        warnings,
    })
}

/// `nodes/<node>/<file>` for every regular file two levels down, sorted
/// (n2 before n10).
pub fn list_node_logs(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir.join(NODES_DIR)) else {
        return out;
    };
    let mut nodes: Vec<_> = rd.flatten().filter(|e| e.path().is_dir()).collect();
    nodes.sort_by_key(|e| natural_key(&e.file_name().to_string_lossy()));
    for n in nodes {
        let Ok(files) = fs::read_dir(n.path()) else {
            continue;
        };
        let mut files: Vec<_> = files.flatten().filter(|e| e.path().is_file()).collect();
        files.sort_by_key(|e| e.file_name());
        for f in files {
            out.push(format!(
                "{NODES_DIR}/{}/{}",
                n.file_name().to_string_lossy(),
                f.file_name().to_string_lossy()
            ));
        }
    }
    out
}

/// Sort key that orders `n2` before `n10`.
pub fn natural_key(s: &str) -> (String, u64, String) {
    let digits_at = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let (head, rest) = s.split_at(digits_at);
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let n = rest[..end].parse().unwrap_or(0);
    (head.to_string(), n, rest[end..].to_string())
}

/// Shorten to `max` characters, marking the cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// Render a JSON value for people: strings without quotes, the rest compact.
pub fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The anomaly classes of results.json: every `checkers.<c>.anomalies.<name>`
/// plus any `anomaly_counts` entry no checker details. Classes with a count
/// of zero are kept (the report lists them as "none found").
pub fn anomaly_classes(results: &Value) -> Vec<AnomalyClass> {
    let mut out: Vec<AnomalyClass> = Vec::new();
    if let Some(checkers) = results.get("checkers").and_then(Value::as_object) {
        for (cname, c) in checkers {
            let Some(anoms) = c.get("anomalies").and_then(Value::as_object) else {
                continue;
            };
            for (name, a) in anoms {
                let examples: Vec<Example> = a
                    .get("examples")
                    .and_then(Value::as_array)
                    .map(|xs| xs.iter().map(example).collect())
                    .unwrap_or_default();
                let count = a
                    .get("count")
                    .and_then(Value::as_u64)
                    .or_else(|| a.as_u64())
                    .unwrap_or(examples.len() as u64);
                out.push(AnomalyClass {
                    checker: cname.clone(),
                    name: name.clone(),
                    count,
                    definition: a
                        .get("definition")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    examples,
                    permitted: a
                        .get("permitted")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .or_else(|| {
                            a.get("informational")
                                .and_then(Value::as_bool)
                                .filter(|i| *i)
                                .map(|_| "reported for information only".to_string())
                        }),
                });
            }
        }
    }
    if let Some(counts) = results.get("anomaly_counts").and_then(Value::as_object) {
        for (name, n) in counts {
            let n = n.as_u64().unwrap_or(0);
            if let Some(a) = out.iter_mut().find(|a| &a.name == name) {
                a.count = a.count.max(n);
            } else {
                out.push(AnomalyClass {
                    checker: String::new(),
                    name: name.clone(),
                    count: n,
                    ..Default::default()
                });
            }
        }
    }
    for a in &mut out {
        if a.definition.is_none() {
            a.definition = known_definition(&a.name).map(str::to_string);
        }
    }
    // Found anomalies first (most first), then the rest by name.
    out.sort_by(|a, b| {
        (b.count > 0)
            .cmp(&(a.count > 0))
            .then(b.count.cmp(&a.count))
            .then(a.name.cmp(&b.name))
    });
    out
}

fn example(v: &Value) -> Example {
    let mut ex = Example::default();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match k.as_str() {
                    "ops" => {
                        ex.ops = x
                            .as_array()
                            .map(|a| a.iter().filter_map(Value::as_u64).collect())
                            .or_else(|| x.as_u64().map(|n| vec![n]))
                            .unwrap_or_default()
                    }
                    "op" => ex.ops.extend(x.as_u64()),
                    "message" => ex.message = Some(json_text(x)),
                    _ => ex
                        .fields
                        .push((k.clone(), shorten(&json_text(x), LONG_TEXT))),
                }
            }
        }
        other => ex.message = Some(shorten(&json_text(other), LONG_TEXT)),
    }
    ex
}

/// Definitions of the anomaly vocabulary (Jepsen's Kafka workload), for
/// results that do not carry their own.
pub fn known_definition(name: &str) -> Option<&'static str> {
    Some(match name {
        "lost-write" => "an acknowledged send (ok) whose record was never read, although a read went past its offset in that partition",
        "duplicate" => "one sent value appears at more than one offset (in one or several partitions)",
        "unseen" => "an acknowledged send not read by the end of the test; not proof of loss while reads did not reach its offset",
        "poll-skip" => "a consumer's consecutive polls of a partition skipped over offsets that other reads show holding records",
        "int-poll-skip" => "within one poll, records of a partition skip over offsets that other reads show holding records",
        "nonmonotonic-poll" => "a consumer's polls of a partition went backwards (a later poll returned a lower offset) without a reassignment in between",
        "int-nonmonotonic-poll" => "within one poll, offsets of a partition did not increase",
        "nonmonotonic-send" => "one producer's successive sends to a partition were acknowledged at offsets that did not increase",
        "int-send-skip" | "send-skip" => "a producer's successive acknowledged sends to a partition left offsets between them that hold other producers' records",
        "inconsistent-offsets" => "two reads disagree about which value is at one offset of a partition",
        "aborted-read" => "a read saw a record written by a transaction that aborted",
        "phantom-read" | "phantom" => "a read returned a value that no send ever wrote",
        "failed-read" | "fail-read" => "a read returned a value whose send definitely failed",
        "precommitted-read" => "a read returned a transaction's record before that transaction had committed",
        "G0" | "G0-process" | "G0-realtime" => "a cycle of transactions ordered only by their writes: each wrote to some partition before the other",
        "G1c" | "G1c-process" | "G1c-realtime" => "a cycle of transactions through writes and reads: each (directly or through others) saw or overwrote the other's records",
        "G-single" | "G-single-process" | "G-single-realtime" => "a dependency cycle with exactly one anti-dependency: a transaction missed a record that a transaction it depends on had already written",
        "G2" | "G2-process" | "G2-realtime" => "a dependency cycle with two or more anti-dependencies: transactions each missed the other's writes (write skew)",
        "G1a" | "G1b" | "cycle" => "a dependency cycle between transactions: no serial order explains what they read and wrote",
        _ => return None,
    })
}

/// Order of lanes: nemesis first, then workers by number, then other actors.
fn lane_rank(p: &Process) -> (u8, u64, String) {
    match p {
        Process::Nemesis => (0, 0, String::new()),
        Process::Worker(n) => (1, *n, String::new()),
        Process::Named(s) => (2, 0, s.clone()),
    }
}

struct Open {
    lane: u32,
    f: u16,
    start_ns: u64,
    index: u64,
    value: String,
}

/// One op of the digest: into the aggregates, and kept whole while the
/// history is short or when an anomaly names it.
fn emit(d: &mut HistoryDigest, procs: &[Process], named: &BTreeSet<u64>, s: OpSpan) {
    d.agg.lane_op(&s);
    if procs.get(s.lane as usize) != Some(&Process::Nemesis) {
        d.agg.client(&s, s.completion == Some(s.invoke));
    }
    if !d.aggregated
        || named.contains(&s.invoke)
        || s.completion.is_some_and(|c| named.contains(&c))
    {
        d.spans.push(s);
    }
}

/// Read a history into a [`HistoryDigest`], streaming, leniently: malformed
/// lines are skipped with a warning; an invocation followed by another one
/// of the same process is closed as never completed; a lone completion
/// (`rebalance`, `crash`) is an instant op.
pub fn digest_history(path: &Path, named: &BTreeSet<u64>) -> io::Result<HistoryDigest> {
    let mut d = HistoryDigest {
        agg: Aggregates::new(),
        ..Default::default()
    };
    let mut reader = match HistoryReader::open(path) {
        Ok(r) => r,
        Err(trial_histories::ReadError::Io { source, .. })
            if source.kind() == io::ErrorKind::NotFound =>
        {
            return Ok(d);
        }
        Err(trial_histories::ReadError::Io { source, .. }) => return Err(source),
        Err(e) => return Err(io::Error::other(e.to_string())),
    };
    d.present = true;
    let mut lane_of: HashMap<Process, u32> = HashMap::new();
    let mut procs: Vec<Process> = Vec::new();
    let mut f_of: HashMap<String, u16> = HashMap::new();
    // The one pairing rule (trial_histories::Outstanding), leniently.
    let mut open: Outstanding<Open> = Outstanding::new();
    // The one fault-interval computation (trial_histories::FaultTracker).
    let mut faults = FaultTracker::new();
    let mut skipped = 0u64;
    let mut first_skip: Option<String> = None;

    for item in &mut reader {
        let op: Op = match item {
            Ok(op) => op,
            Err(trial_histories::ReadError::Io { source, .. }) => return Err(source),
            Err(e) => {
                skipped += 1;
                first_skip.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        d.op_count += 1;
        d.end_ns = d.end_ns.max(op.time);
        d.agg.reach(op.time);
        if d.op_count > FULL_DETAIL_OPS && !d.aggregated {
            d.aggregated = true;
            d.spans.retain(|s| {
                named.contains(&s.invoke) || s.completion.is_some_and(|c| named.contains(&c))
            });
            d.spans.shrink_to_fit();
        }
        if named.contains(&op.index) {
            d.named_ops.insert(
                op.index,
                OpRow {
                    index: op.index,
                    time_ns: op.time,
                    process: op.process.to_string(),
                    kind: op.kind.as_str(),
                    f: op.f.as_str().to_string(),
                    value: shorten(op.value.get(), LONG_TEXT),
                    error: op.error.as_deref().map(|e| shorten(e, LONG_TEXT)),
                },
            );
        }
        let lane = *lane_of.entry(op.process.clone()).or_insert_with(|| {
            procs.push(op.process.clone());
            (procs.len() - 1) as u32
        });
        let fname = op.f.as_str();
        let f = match f_of.get(fname) {
            Some(&f) => f,
            None => {
                let f = d.fs.len().min(u16::MAX as usize) as u16;
                d.fs.push(fname.to_string());
                f_of.insert(fname.to_string(), f);
                f
            }
        };
        faults.push(&op);
        let step = open.step_lenient(&op, || Open {
            lane,
            f,
            start_ns: op.time,
            index: op.index,
            value: shorten(op.value.get(), SHORT_TEXT),
        });
        let inv = match step {
            Step::Invoked(prev) => {
                if let Some(prev) = prev.map(|e| e.data) {
                    emit(
                        &mut d,
                        &procs,
                        named,
                        OpSpan {
                            lane: prev.lane,
                            f: prev.f,
                            outcome: Outcome::Open,
                            start_ns: prev.start_ns,
                            end_ns: None,
                            invoke: prev.index,
                            completion: None,
                            value: prev.value,
                            error: None,
                        },
                    );
                }
                continue;
            }
            Step::Completed(e) => Some(e.data),
            Step::Event => None,
        };
        let outcome = Outcome::of(op.kind);
        let value = op.value.get();
        let error = op.error.as_deref().map(|e| shorten(e, SHORT_TEXT));
        match inv {
            Some(inv) => emit(
                &mut d,
                &procs,
                named,
                OpSpan {
                    lane,
                    f: inv.f,
                    outcome,
                    start_ns: inv.start_ns,
                    end_ns: Some(op.time.max(inv.start_ns)),
                    invoke: inv.index,
                    completion: Some(op.index),
                    value: if value == "null" || value == "{}" {
                        inv.value
                    } else {
                        shorten(value, SHORT_TEXT)
                    },
                    error,
                },
            ),
            None => emit(
                &mut d,
                &procs,
                named,
                OpSpan {
                    lane,
                    f,
                    outcome,
                    start_ns: op.time,
                    end_ns: Some(op.time),
                    invoke: op.index,
                    completion: Some(op.index),
                    value: shorten(value, SHORT_TEXT),
                    error,
                },
            ),
        }
    }
    for (_, o) in open.drain() {
        let o = o.data;
        emit(
            &mut d,
            &procs,
            named,
            OpSpan {
                lane: o.lane,
                f: o.f,
                outcome: Outcome::Open,
                start_ns: o.start_ns,
                end_ns: None,
                invoke: o.index,
                completion: None,
                value: o.value,
                error: None,
            },
        );
    }
    d.faults = faults
        .finish(d.end_ns)
        .intervals
        .into_iter()
        .map(|f| FaultInterval {
            kind: f.kind,
            start_ns: f.start_ns,
            end_ns: f.end_ns,
            stopped: f.stopped,
            start_op: f.start_op,
            end_op: f.end_op,
            detail: shorten(&f.detail, SHORT_TEXT * 2),
            failed: f.failed,
        })
        .collect();
    d.spans.sort_by_key(|s| s.invoke);
    for w in reader.warnings() {
        d.warnings.push(format!("{HISTORY_FILE}: {w}"));
    }
    if skipped > 0 {
        d.warnings.push(format!(
            "{HISTORY_FILE}: {skipped} malformed line(s) skipped; the first: {}",
            first_skip.unwrap_or_default()
        ));
    }

    // Lanes in a stable, readable order; renumber the spans to match.
    let mut order: Vec<u32> = (0..procs.len() as u32).collect();
    order.sort_by_key(|&i| lane_rank(&procs[i as usize]));
    let mut new_of_old = vec![0u32; procs.len()];
    for (new, &old) in order.iter().enumerate() {
        new_of_old[old as usize] = new as u32;
    }
    for s in &mut d.spans {
        s.lane = new_of_old[s.lane as usize];
    }
    d.agg.compact();
    d.agg.runs.resize(procs.len(), Vec::new());
    let mut runs = std::mem::take(&mut d.agg.runs);
    d.agg.runs = order
        .iter()
        .map(|&old| std::mem::take(&mut runs[old as usize]))
        .collect();
    d.lanes = order
        .iter()
        .map(|&i| procs[i as usize].to_string())
        .collect();
    d.lane_is_nemesis = order
        .iter()
        .map(|&i| procs[i as usize] == Process::Nemesis)
        .collect();
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_and_shorten() {
        let mut v = vec!["n10", "n2", "n1"];
        v.sort_by_key(|s| natural_key(s));
        assert_eq!(v, ["n1", "n2", "n10"]);
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("ab", 3), "ab");
        assert_eq!(shorten("ééé", 2), "éé…");
    }

    #[test]
    fn verdicts() {
        use serde_json::json;
        assert_eq!(Verdict::from_results(None), Verdict::Pending);
        assert_eq!(
            Verdict::from_results(Some(&json!({"valid": true}))),
            Verdict::Valid
        );
        assert_eq!(
            Verdict::from_results(Some(&json!({"valid": false}))),
            Verdict::Invalid
        );
        assert_eq!(
            Verdict::from_results(Some(&json!({"valid": "unknown"}))),
            Verdict::Unknown
        );
        assert_eq!(Verdict::from_results(Some(&json!({}))), Verdict::Unknown);
    }

    #[test]
    fn anomaly_classes_are_read_leniently() {
        use serde_json::json;
        let r = json!({
            "anomaly_counts": {"lost-write": 3, "duplicate": 0, "poll-skip": 2},
            "checkers": {"queue": {"anomalies": {
                "lost-write": {"count": 3, "definition": "D", "examples": [
                    {"ops": [12, 40], "partition": 1, "message": "m"}, "odd"]},
                "weird": "not an object"}},
                "stats": 7}
        });
        let a = anomaly_classes(&r);
        assert_eq!(a[0].name, "lost-write");
        assert_eq!(a[0].examples[0].ops, [12, 40]);
        assert_eq!(a[0].examples[0].message.as_deref(), Some("m"));
        assert_eq!(a[0].examples[1].message.as_deref(), Some("odd"));
        assert_eq!(a[1].name, "poll-skip");
        assert!(a[1].definition.is_some());
        assert!(a.iter().any(|c| c.name == "duplicate" && c.count == 0));
        assert!(anomaly_classes(&json!([1, 2])).is_empty());
    }

    #[test]
    fn a_permitted_class_carries_its_reason() {
        use serde_json::json;
        let r = json!({"checkers": {"queue": {"anomalies": {
            "G0": {"count": 2, "permitted": "writes are not isolated", "examples": []},
            "int-send-skip": {"count": 1, "informational": true, "examples": []},
            "lost-write": {"count": 1, "examples": []}}}}});
        let a = anomaly_classes(&r);
        let find = |n: &str| a.iter().find(|c| c.name == n).unwrap();
        assert_eq!(
            find("G0").permitted.as_deref(),
            Some("writes are not isolated")
        );
        assert!(find("int-send-skip").permitted.is_some());
        assert_eq!(find("lost-write").permitted, None);
        assert!(find("G0").definition.is_some());
    }
}
