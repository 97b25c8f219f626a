//! A version matrix: one scenario run per Kafka release, metadata mode and
//! seed (`kafka-trial matrix SCENARIO --versions … --seeds …`), and what
//! the runs found side by side.
//!
//! The runs are ordinary runs, each with its own folder in the store; the
//! matrix only names them. This module holds what a library user would
//! need without a terminal: the `--versions` and `--seeds` lists
//! ([`parse_versions`], [`parse_seeds`]), the cells in the order they run
//! ([`cells`]), the figures read back from a run's `results.json`
//! ([`CellResult::from_results`], [`CellResult::from_run_dir`]), the
//! summary per release and mode ([`summarise`]), the `matrix.json`
//! document ([`Matrix`]) and its terminal table ([`Matrix::table`]).
//! `report::matrix` renders the same document as `matrix.html`.
//!
//! One file of ~800 lines because these parts are one format (the cells,
//! their figures and the document that holds them), and a third of it is
//! their tests.

use crate::kafka::version::{self, KafkaVersion, Mode};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use trial_checkers::effects::{EffectsResults, Quantiles};
use trial_checkers::{Results, Validity};

/// The version of the `matrix.json` format (bumped on an incompatible
/// change; fields are only ever added otherwise).
pub const FORMAT: u32 = 1;

/// One entry of `--versions`: a release and the mode it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VersionMode {
    #[serde(with = "version_text")]
    pub version: KafkaVersion,
    pub mode: Mode,
}

impl std::fmt::Display for VersionMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.version, self.mode)
    }
}

/// `KafkaVersion` as its text (`"3.9.1"`) in matrix.json. (A `with`
/// module rather than serde impls on the type: `kafka/version.rs` decides
/// whether the type itself is serde.)
mod version_text {
    use super::KafkaVersion;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &KafkaVersion, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KafkaVersion, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Parse `--versions`: comma-separated `VERSION` (the release's default
/// mode, [`KafkaVersion::default_mode`]) or `VERSION:kraft` /
/// `VERSION:zookeeper`. Every pair is checked against what the suite runs
/// ([`version::check_pair`]) here, before anything starts; a pair given
/// twice (`3.9.1` and `3.9.1:kraft` are the same) is refused too.
pub fn parse_versions(s: &str) -> Result<Vec<VersionMode>> {
    let mut out: Vec<VersionMode> = Vec::new();
    for raw in s.split(',') {
        let entry = raw.trim();
        if entry.is_empty() {
            bail!("--versions {s:?}: an empty entry (expected e.g. 3.6.2,3.9.1:zookeeper,4.0.0)");
        }
        let (v, m) = match entry.split_once(':') {
            Some((v, m)) => (v, Some(m)),
            None => (entry, None),
        };
        let version: KafkaVersion = v
            .parse()
            .with_context(|| format!("--versions entry {entry:?}"))?;
        let mode = match m {
            Some(m) => m
                .parse::<Mode>()
                .with_context(|| format!("--versions entry {entry:?}"))?,
            None => version.default_mode(),
        };
        version::check_pair(version, mode)
            .with_context(|| format!("--versions entry {entry:?}"))?;
        let vm = VersionMode { version, mode };
        if out.contains(&vm) {
            bail!("--versions names Kafka {version} in {mode} mode twice ({entry:?})");
        }
        out.push(vm);
    }
    Ok(out)
}

/// Parse `--seeds`: comma-separated integers, each once.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for raw in s.split(',') {
        let t = raw.trim();
        let n: u64 = t.parse().map_err(|_| {
            anyhow::anyhow!("--seeds {s:?}: {t:?} is not a seed (a whole number such as 1,2,3)")
        })?;
        if out.contains(&n) {
            bail!("--seeds {s:?} names seed {n} twice");
        }
        out.push(n);
    }
    Ok(out)
}

/// A further axis of a matrix (`--axis FLAG=V1,V2`): a flag of `test`
/// (a field of the spec) and the values it takes, one per cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    /// The flag's long name, without `--` (`acks`, `timing`, …).
    pub flag: String,
    pub values: Vec<String>,
}

/// One run of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    #[serde(with = "version_text")]
    pub version: KafkaVersion,
    pub mode: Mode,
    pub seed: u64,
    /// The cell's value on each further axis (flag, value), in the
    /// matrix's order of axes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub axes: Vec<(String, String)>,
}

impl Cell {
    /// `4.4.0 kraft seed 1` (` acks=1` for each further axis).
    pub fn label(&self) -> String {
        format!(
            "{} {} seed {}{}",
            self.version,
            self.mode,
            self.seed,
            axes_text(&self.axes, " ")
        )
    }
}

/// ` acks=1 timing=fast` (with `lead` before each; empty without axes).
pub fn axes_text(axes: &[(String, String)], lead: &str) -> String {
    axes.iter().map(|(f, v)| format!("{lead}{f}={v}")).collect()
}

/// The cells in the order they run: the releases as given, each with
/// every combination of the further axes, each with every seed in turn
/// (so one release's distribution is fetched once, and a matrix cut short
/// has whole releases rather than whole seeds).
pub fn cells(versions: &[VersionMode], seeds: &[u64], axes: &[Axis]) -> Vec<Cell> {
    let mut combos: Vec<Vec<(String, String)>> = vec![vec![]];
    for a in axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                a.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((a.flag.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    let mut out = Vec::new();
    for vm in versions {
        for combo in &combos {
            for &seed in seeds {
                out.push(Cell {
                    version: vm.version,
                    mode: vm.mode,
                    seed,
                    axes: combo.clone(),
                });
            }
        }
    }
    out
}

/// What became of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellVerdict {
    Valid,
    Invalid,
    Unknown,
    /// The run could not be made (no cluster, a failed download, …): no
    /// verdict, `error` says why.
    Error,
    /// Not run: the matrix was interrupted before it got there, or is
    /// still running.
    NotRun,
}

impl CellVerdict {
    pub fn label(self) -> &'static str {
        match self {
            CellVerdict::Valid => "valid",
            CellVerdict::Invalid => "INVALID",
            CellVerdict::Unknown => "unknown",
            CellVerdict::Error => "error",
            CellVerdict::NotRun => "not run",
        }
    }
    /// A CSS class (the report's verdict colours).
    pub fn class(self) -> &'static str {
        match self {
            CellVerdict::Valid => "valid",
            CellVerdict::Invalid => "invalid",
            CellVerdict::Unknown => "unknown",
            CellVerdict::Error => "error",
            CellVerdict::NotRun => "pending",
        }
    }
}

impl From<Validity> for CellVerdict {
    fn from(v: Validity) -> Self {
        match v {
            Validity::Valid => CellVerdict::Valid,
            Validity::Invalid => CellVerdict::Invalid,
            Validity::Unknown => CellVerdict::Unknown,
        }
    }
}

/// A cell and what its run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    #[serde(flatten)]
    pub cell: Cell,
    pub verdict: CellVerdict,
    /// Anomaly classes with a non-zero count (results.json's
    /// `anomaly_counts`, permitted and informational classes included).
    #[serde(default)]
    pub anomaly_counts: BTreeMap<String, u64>,
    /// `checkers.effects.failover_s`: p50 and max of the fail-over times
    /// (absent without observer samples or without a fault that moved a
    /// leader).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_s: Option<Quantiles>,
    /// Client operations (send, poll, txn) that ended `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok_ops: Option<u64>,
    /// The run's folder relative to the store (`<test>/<timestamp>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The run was interrupted (Ctrl-C): no final reads were made.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Wall-clock seconds the cell took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    /// Why the run could not be made (`verdict: error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CellResult {
    /// A cell not run (yet).
    pub fn not_run(cell: Cell) -> CellResult {
        CellResult {
            cell,
            verdict: CellVerdict::NotRun,
            anomaly_counts: BTreeMap::new(),
            failover_s: None,
            ok_ops: None,
            run: None,
            interrupted: false,
            elapsed_s: None,
            error: None,
        }
    }

    /// A cell whose run failed to run.
    pub fn error(cell: Cell, message: String, run: Option<String>) -> CellResult {
        CellResult {
            verdict: CellVerdict::Error,
            error: Some(message),
            run,
            ..CellResult::not_run(cell)
        }
    }

    /// A cell's figures from its run's results.
    pub fn from_results(cell: Cell, r: &Results, run: Option<String>) -> CellResult {
        let effects: Option<EffectsResults> = r.checker("effects");
        let ok_ops = r
            .checkers
            .stats
            .by_f
            .iter()
            .filter(|(f, _)| trial_checkers::stats::is_client_data(f))
            .map(|(_, s)| s.ok)
            .sum();
        CellResult {
            verdict: r.valid.into(),
            anomaly_counts: r
                .anomaly_counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| (c.clone(), *n))
                .collect(),
            failover_s: effects.and_then(|e| e.failover_s),
            ok_ops: Some(ok_ops),
            run,
            ..CellResult::not_run(cell)
        }
    }

    /// A cell's figures from a run folder's `results.json`.
    pub fn from_run_dir(cell: Cell, dir: &Path, run: Option<String>) -> Result<CellResult> {
        let p = dir.join(trial_histories::store::RESULTS_FILE);
        let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        let r: Results =
            serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", p.display()))?;
        Ok(CellResult::from_results(cell, &r, run))
    }

    /// `lost-write 3, duplicate 1`, or `none` (`-` for a cell with no verdict).
    pub fn anomalies_text(&self) -> String {
        if !matches!(
            self.verdict,
            CellVerdict::Valid | CellVerdict::Invalid | CellVerdict::Unknown
        ) {
            return "-".into();
        }
        counts_text(&self.anomaly_counts)
    }

    /// `2.1/4.0` (p50/max seconds), or `-`.
    pub fn failover_text(&self) -> String {
        match &self.failover_s {
            Some(q) => format!("{:.1}/{:.1}", q.p50, q.max),
            None => "-".into(),
        }
    }
}

fn counts_text(c: &BTreeMap<String, u64>) -> String {
    if c.is_empty() {
        return "none".into();
    }
    c.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One release and mode across its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(with = "version_text")]
    pub version: KafkaVersion,
    pub mode: Mode,
    /// The further axes' values these runs share.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub axes: Vec<(String, String)>,
    /// Cells by verdict (`valid`, `invalid`, `unknown`, `error`, `not-run`).
    pub verdicts: BTreeMap<String, u64>,
    /// Each anomaly class summed over the runs.
    pub anomaly_counts: BTreeMap<String, u64>,
    /// The median of the runs' fail-over p50s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_p50_s: Option<f64>,
    /// The longest fail-over of any run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_max_s: Option<f64>,
    /// ok client ops summed over the runs that have a verdict.
    pub ok_ops: u64,
}

impl Summary {
    /// `2 valid, 1 INVALID` (verdicts in a fixed order).
    pub fn verdicts_text(&self) -> String {
        verdicts_text(&self.verdicts)
    }
}

/// `2 valid, 1 INVALID, 1 error`.
pub fn verdicts_text(v: &BTreeMap<String, u64>) -> String {
    let order = [
        CellVerdict::Valid,
        CellVerdict::Invalid,
        CellVerdict::Unknown,
        CellVerdict::Error,
        CellVerdict::NotRun,
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|c| {
            let n = *v.get(verdict_key(*c))?;
            (n > 0).then(|| format!("{n} {}", c.label()))
        })
        .collect();
    if parts.is_empty() {
        "no cells".into()
    } else {
        parts.join(", ")
    }
}

fn verdict_key(v: CellVerdict) -> &'static str {
    match v {
        CellVerdict::Valid => "valid",
        CellVerdict::Invalid => "invalid",
        CellVerdict::Unknown => "unknown",
        CellVerdict::Error => "error",
        CellVerdict::NotRun => "not-run",
    }
}

/// Cells by verdict (the keys of [`Summary::verdicts`]).
pub fn verdict_counts<'a>(
    cells: impl IntoIterator<Item = &'a CellResult>,
) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for c in cells {
        *m.entry(verdict_key(c.verdict).to_string()).or_insert(0) += 1;
    }
    m
}

/// One summary per release and mode, in the order they first appear.
pub fn summarise(cells: &[CellResult]) -> Vec<Summary> {
    type Key = (KafkaVersion, Mode, Vec<(String, String)>);
    let mut keys: Vec<Key> = Vec::new();
    for c in cells {
        let k = (c.cell.version, c.cell.mode, c.cell.axes.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(version, mode, axes)| {
            let mine: Vec<&CellResult> = cells
                .iter()
                .filter(|c| c.cell.version == version && c.cell.mode == mode && c.cell.axes == axes)
                .collect();
            let mut anomaly_counts = BTreeMap::new();
            for c in &mine {
                for (k, n) in &c.anomaly_counts {
                    *anomaly_counts.entry(k.clone()).or_insert(0) += n;
                }
            }
            let mut p50s: Vec<f64> = mine
                .iter()
                .filter_map(|c| c.failover_s.as_ref().map(|q| q.p50))
                .collect();
            p50s.sort_by(f64::total_cmp);
            let failover_p50_s = (!p50s.is_empty()).then(|| {
                let n = p50s.len();
                if n % 2 == 1 {
                    p50s[n / 2]
                } else {
                    (p50s[n / 2 - 1] + p50s[n / 2]) / 2.0
                }
            });
            let failover_max_s = mine
                .iter()
                .filter_map(|c| c.failover_s.as_ref().map(|q| q.max))
                .max_by(f64::total_cmp);
            Summary {
                version,
                mode,
                axes,
                verdicts: verdict_counts(mine.iter().copied()),
                anomaly_counts,
                failover_p50_s,
                failover_max_s,
                ok_ops: mine.iter().filter_map(|c| c.ok_ops).sum(),
            }
        })
        .collect()
}

/// Where a matrix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatrixStatus {
    Running,
    Complete,
    /// Stopped by Ctrl-C: the cells after the interrupted one were not run.
    Interrupted,
}

/// `matrix.json`: the matrix's command, every cell with its run's relative
/// path and figures, and the summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub format: u32,
    pub scenario: String,
    /// The command line that made the matrix.
    pub command: String,
    /// UTC, like run folder names (`20261124T153012.123Z`).
    pub started: String,
    pub updated: String,
    pub status: MatrixStatus,
    /// `VERSION:mode`, as run.
    pub versions: Vec<VersionMode>,
    pub seeds: Vec<u64>,
    /// Further axes (`--axis`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub axes: Vec<Axis>,
    /// `--time-limit` (absent: the scenario's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_s: Option<f64>,
    pub cells: Vec<CellResult>,
    pub summary: Vec<Summary>,
}

impl Matrix {
    /// A matrix about to run: every cell `not-run`.
    pub fn new(
        scenario: &str,
        command: String,
        versions: Vec<VersionMode>,
        seeds: Vec<u64>,
        axes: Vec<Axis>,
        time_limit_s: Option<f64>,
    ) -> Matrix {
        let now = trial_histories::store::timestamp_now();
        let cells = cells(&versions, &seeds, &axes)
            .into_iter()
            .map(CellResult::not_run)
            .collect::<Vec<_>>();
        let mut m = Matrix {
            format: FORMAT,
            scenario: scenario.to_string(),
            command,
            started: now.clone(),
            updated: now,
            status: MatrixStatus::Running,
            versions,
            seeds,
            axes,
            time_limit_s,
            cells,
            summary: vec![],
        };
        m.refresh();
        m
    }

    /// Recompute the summaries and the update time after a cell changed.
    pub fn refresh(&mut self) {
        self.summary = summarise(&self.cells);
        self.updated = trial_histories::store::timestamp_now();
    }

    /// Cells by verdict.
    pub fn verdict_counts(&self) -> BTreeMap<String, u64> {
        verdict_counts(&self.cells)
    }

    /// The exit code of the whole matrix: 3 if a cell could not be run,
    /// else 1 if a run found anomalies, else 2 if a verdict is unknown or a
    /// cell was not run, else 0 — `scenario run`'s codes, the worst cell's.
    pub fn exit_code(&self) -> u8 {
        use trial_checkers::exit_code::*;
        let has = |v: CellVerdict| self.cells.iter().any(|c| c.verdict == v);
        if has(CellVerdict::Error) {
            HARNESS
        } else if has(CellVerdict::Invalid) {
            ANOMALIES
        } else if has(CellVerdict::Unknown) || has(CellVerdict::NotRun) {
            UNKNOWN
        } else {
            VALID
        }
    }

    /// The table for a terminal: one line per cell, then one summary line
    /// per release and mode.
    pub fn table(&self) -> String {
        let head = [
            "version",
            "mode",
            "seed",
            "verdict",
            "anomalies",
            "fail-over p50/max s",
            "ok ops",
            "run",
        ];
        let rows: Vec<[String; 8]> = self
            .cells
            .iter()
            .map(|c| {
                [
                    c.cell.version.to_string(),
                    format!("{}{}", c.cell.mode, axes_text(&c.cell.axes, " ")),
                    c.cell.seed.to_string(),
                    format!(
                        "{}{}",
                        c.verdict.label(),
                        if c.interrupted { " (interrupted)" } else { "" }
                    ),
                    c.anomalies_text(),
                    c.failover_text(),
                    c.ok_ops.map_or("-".into(), |n| n.to_string()),
                    c.run.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        let mut w = head.map(str::len);
        for r in &rows {
            for (i, x) in r.iter().enumerate() {
                w[i] = w[i].max(x.chars().count());
            }
        }
        let mut s = String::new();
        let line = |s: &mut String, cols: &[&str]| {
            let mut l = String::new();
            for (i, x) in cols.iter().enumerate() {
                let pad = w[i].saturating_sub(x.chars().count());
                if i == 2 || i == 6 {
                    let _ = write!(l, "{}{x}  ", " ".repeat(pad));
                } else {
                    let _ = write!(l, "{x}{}  ", " ".repeat(pad));
                }
            }
            s.push_str(l.trim_end());
            s.push('\n');
        };
        line(&mut s, &head);
        for r in &rows {
            line(&mut s, &r.iter().map(String::as_str).collect::<Vec<_>>());
        }
        for c in &self.cells {
            if let Some(e) = &c.error {
                let _ = writeln!(s, "error in {}: {e}", c.cell.label());
            }
        }
        s.push('\n');
        for m in &self.summary {
            let runs: u64 = m.verdicts.values().sum();
            let _ = writeln!(
                s,
                "{} {}{}: {} seed{}: {}; anomalies: {}; fail-over p50 {} s, max {} s; ok ops {}",
                m.version,
                m.mode,
                axes_text(&m.axes, " "),
                runs,
                if runs == 1 { "" } else { "s" },
                m.verdicts_text(),
                counts_text(&m.anomaly_counts),
                m.failover_p50_s.map_or("-".into(), |x| format!("{x:.1}")),
                m.failover_max_s.map_or("-".into(), |x| format!("{x:.1}")),
                m.ok_ops
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(v: &str, m: Mode) -> VersionMode {
        VersionMode {
            version: v.parse().unwrap(),
            mode: m,
        }
    }

    #[test]
    fn versions_parse_with_their_modes() {
        let v = parse_versions("3.6.2, 3.9.1,3.9.1:zookeeper,4.0.0,4.4.0:KRaft").unwrap();
        assert_eq!(
            v,
            vec![
                vm("3.6.2", Mode::Kraft),
                vm("3.9.1", Mode::Kraft),
                vm("3.9.1", Mode::Zookeeper),
                vm("4.0.0", Mode::Kraft),
                vm("4.4.0", Mode::Kraft),
            ]
        );
        // Before KRaft, the default is ZooKeeper.
        assert_eq!(
            parse_versions("2.8.2").unwrap(),
            vec![vm("2.8.2", Mode::Zookeeper)]
        );
        assert_eq!(v[2].to_string(), "3.9.1:zookeeper");
    }

    #[test]
    fn refused_pairs_name_the_supported_range() {
        for (bad, says) in [
            ("4.0.0:zookeeper", "2.8.0 to 3.9.x"),
            ("3.9.1,3.2.0:kraft", "3.3.0"),
            ("2.7.0", "2.8.0"),
        ] {
            let e = format!("{:#}", parse_versions(bad).unwrap_err());
            assert!(e.contains(says), "{bad}: {e}");
            assert!(e.contains("--versions entry"), "{bad}: {e}");
        }
        let e = format!("{:#}", parse_versions("3.9.1:raft").unwrap_err());
        assert!(e.contains("unknown mode \"raft\""), "{e}");
        let e = format!("{:#}", parse_versions("3.9.1,3.9.1:kraft").unwrap_err());
        assert!(e.contains("twice"), "{e}");
        assert!(parse_versions("3.9.1,,4.0.0").is_err());
        assert!(parse_versions("").is_err());
        assert!(parse_versions("latest").is_err());
    }

    #[test]
    fn seeds_parse() {
        assert_eq!(parse_seeds("1, 2,3").unwrap(), vec![1, 2, 3]);
        assert!(parse_seeds("1,x").is_err());
        assert!(parse_seeds("1,1").is_err());
        assert!(parse_seeds("").is_err());
        assert!(parse_seeds("-1").is_err());
    }

    #[test]
    fn cells_run_release_by_release_seed_by_seed() {
        let v = parse_versions("4.4.0,3.9.1:zookeeper").unwrap();
        let c = cells(&v, &[7, 2], &[]);
        let got: Vec<String> = c
            .iter()
            .map(|c| format!("{}:{}/{}", c.version, c.mode, c.seed))
            .collect();
        assert_eq!(
            got,
            [
                "4.4.0:kraft/7",
                "4.4.0:kraft/2",
                "3.9.1:zookeeper/7",
                "3.9.1:zookeeper/2"
            ]
        );
        assert!(cells(&v, &[], &[]).is_empty());
    }

    #[test]
    fn summaries_take_the_median_p50_and_the_max() {
        let v = parse_versions("3.9.1,4.0.0").unwrap();
        let cs = cells(&v, &[1, 2, 3], &[]);
        let q = |p50: f64, max: f64| Some(Quantiles { p50, max, n: 2 });
        let mut res: Vec<CellResult> = cs.iter().cloned().map(CellResult::not_run).collect();
        for (i, (verdict, fo, lost)) in [
            (CellVerdict::Valid, q(2.0, 3.0), 0),
            (CellVerdict::Invalid, q(4.0, 9.0), 5),
            (CellVerdict::Valid, q(3.0, 4.0), 0),
        ]
        .into_iter()
        .enumerate()
        {
            res[i].verdict = verdict;
            res[i].failover_s = fo;
            res[i].ok_ops = Some(100);
            if lost > 0 {
                res[i].anomaly_counts.insert("lost-write".into(), lost);
            }
        }
        res[3] = CellResult::error(cs[3].clone(), "no cluster".into(), None);
        let s = summarise(&res);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].failover_p50_s, Some(3.0));
        assert_eq!(s[0].failover_max_s, Some(9.0));
        assert_eq!(s[0].ok_ops, 300);
        assert_eq!(s[0].anomaly_counts["lost-write"], 5);
        assert_eq!(s[0].verdicts_text(), "2 valid, 1 INVALID");
        assert_eq!(s[1].verdicts_text(), "1 error, 2 not run");
        assert_eq!(s[1].failover_p50_s, None);
        let mut m = Matrix::new("safe", "x".into(), v, vec![1, 2, 3], vec![], None);
        m.cells = res;
        m.refresh();
        assert_eq!(m.exit_code(), trial_checkers::exit_code::HARNESS);
        let t = m.table();
        assert!(t.contains("error in 4.0.0 kraft seed 1: no cluster"), "{t}");
        assert!(t.contains("3.9.1 kraft: 3 seeds: 2 valid, 1 INVALID; anomalies: lost-write 5; fail-over p50 3.0 s, max 9.0 s; ok ops 300"), "{t}");
        // Even p50 count: the mean of the middle two.
        m.cells[4].failover_s = q(1.0, 1.0);
        m.cells[5].failover_s = q(2.0, 2.0);
        m.refresh();
        assert_eq!(m.summary[1].failover_p50_s, Some(1.5));
        // A matrix document survives a round trip.
        let back: Matrix = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    /// ok client ops counted straight from a history file.
    fn ok_client_ops(history: &Path) -> u64 {
        std::fs::read_to_string(history)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|o| {
                o["type"] == "ok" && matches!(o["f"].as_str(), Some("send" | "poll" | "txn"))
            })
            .count() as u64
    }

    #[test]
    fn figures_come_from_results_written_by_the_real_checkers() {
        use crate::report::sample_run::{write_checked_sample_run, SampleRunSpec};
        let d = tempfile::tempdir().unwrap();
        let cells = cells(&parse_versions("3.9.1:zookeeper").unwrap(), &[1, 2], &[]);
        let mut res = Vec::new();
        for (i, anomalies) in [false, true].into_iter().enumerate() {
            let dir = d.path().join(format!("run{i}"));
            let spec = SampleRunSpec {
                anomalies,
                observer: true,
                seed: 5 + i as u64,
                ..Default::default()
            };
            let (_, results) = write_checked_sample_run(&dir, &spec).unwrap();
            let r = CellResult::from_run_dir(cells[i].clone(), &dir, Some(format!("t/run{i}")))
                .unwrap();
            assert_eq!(r.verdict, CellVerdict::from(results.valid));
            assert_eq!(r.ok_ops, Some(ok_client_ops(&dir.join("history.jsonl"))));
            assert!(r.ok_ops.unwrap() > 100, "{:?}", r.ok_ops);
            // The observer samples show leaders moving off faulty nodes.
            let q = r.failover_s.clone().expect("fail-over times");
            assert!(q.n > 0 && q.p50 > 0.0 && q.max >= q.p50, "{q:?}");
            let found: BTreeMap<String, u64> = results
                .anomaly_counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (k.clone(), *n))
                .collect();
            assert_eq!(r.anomaly_counts, found);
            res.push(r);
        }
        assert_eq!(res[0].verdict, CellVerdict::Valid, "{:?}", res[0]);
        assert_eq!(res[1].verdict, CellVerdict::Invalid, "{:?}", res[1]);
        // The injected duplicate, as the checkers name it.
        assert!(
            res[1].anomaly_counts.get("duplicate") >= Some(&1),
            "{:?}",
            res[1]
        );
        assert!(res[0].anomaly_counts.is_empty(), "{:?}", res[0]);
        let s = summarise(&res);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].verdicts_text(), "1 valid, 1 INVALID");
        assert_eq!(s[0].ok_ops, res[0].ok_ops.unwrap() + res[1].ok_ops.unwrap());
        assert_eq!(
            s[0].failover_max_s,
            res.iter()
                .map(|r| r.failover_s.as_ref().unwrap().max)
                .max_by(f64::total_cmp)
        );
        // A run folder without results.json is an error, not a verdict.
        assert!(CellResult::from_run_dir(cells[0].clone(), d.path(), None).is_err());
    }
}
