//! Running a claim and the `claims.json` document: one row per claim,
//! the exit code and the terminal table.

use super::*;
use std::fmt::Write;

// ---- running a claim, and the document -------------------------------

/// One claim's row of `claims.json`: the claim, what its run observed, the
/// verdict, and where the run is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    pub id: String,
    pub claim: String,
    pub setting: String,
    pub faults: String,
    pub expected: Outcome,
    pub documented: String,
    pub source: String,
    /// `None`: not run (yet), or the run failed (`error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Outcome>,
    #[serde(default)]
    pub observed: String,
    /// The run's folder relative to the store (`claim-<id>/<timestamp>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The run's anomaly verdict (`valid`, `invalid`, `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomalies: Option<String>,
    /// The run's promise verdict (results.json `promises.headline`): what
    /// Kafka promised for the claim's setting, kept or broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promises: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    pub estimate_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    /// Why the run could not be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ClaimResult {
    /// A claim not run (yet).
    pub fn not_run(c: &Claim, time_limit: Option<Duration>) -> ClaimResult {
        ClaimResult {
            id: c.id.into(),
            claim: c.claim.into(),
            setting: c.setting.into(),
            faults: c.faults.into(),
            expected: c.expected,
            documented: c.documented.into(),
            source: c.source.into(),
            verdict: None,
            observed: String::new(),
            run: None,
            anomalies: None,
            promises: None,
            interrupted: false,
            estimate_s: c.estimate_at(time_limit).as_secs_f64(),
            elapsed_s: None,
            error: None,
        }
    }

    /// The verdict as the table shows it: `holds`, `REFUTED`,
    /// `inconclusive`, `error`, `not run`.
    pub fn verdict_label(&self) -> &'static str {
        match (self.verdict, &self.error) {
            (Some(Outcome::Refuted), _) => "REFUTED",
            (Some(v), _) => v.label(),
            (None, Some(_)) => "error",
            (None, None) => "not run",
        }
    }

    /// Did the experiment come out as documented? `None` when it decided
    /// nothing.
    pub fn as_expected(&self) -> Option<bool> {
        match self.verdict {
            Some(Outcome::Inconclusive) | None => None,
            Some(v) => Some(v == self.expected),
        }
    }

    /// `as documented`, `NOT as documented`, or `-`.
    pub fn agreement(&self) -> &'static str {
        match self.as_expected() {
            Some(true) => "as documented",
            Some(false) => "NOT as documented",
            None => "-",
        }
    }
}

/// Observe a finished trial.
pub fn judge(c: &Claim, store_root: &Path, report: &Report, r: &mut ClaimResult) -> Result<()> {
    let run = ClaimRun::from_report(report)?;
    let o = (c.observe)(&run);
    r.verdict = Some(o.verdict);
    r.observed = o.observed;
    r.interrupted = report.interrupted;
    r.anomalies = Some(
        match report.results.valid {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::Unknown => "unknown",
        }
        .into(),
    );
    r.promises = report.results.promises.as_ref().map(|p| p.headline.clone());
    r.run = Some(relative(store_root, &report.run_dir));
    Ok(())
}

/// `<test>/<timestamp>` of a run folder under the store, else its path.
pub fn relative(store: &Path, dir: &Path) -> String {
    dir.strip_prefix(store)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| dir.display().to_string())
}

/// Run one claim's experiment on a real cluster and judge it.
pub async fn run_claim(c: &Claim, o: &ClaimOptions) -> Result<ClaimResult> {
    let spec = c.spec(o)?;
    let report = crate::trial::run(spec).await?;
    let mut r = ClaimResult::not_run(c, o.time_limit);
    judge(c, &o.store, &report, &mut r)?;
    Ok(r)
}

/// `claims.json`: the command, the options, every selected claim's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimsDoc {
    pub format: u32,
    pub command: String,
    /// UTC, like run folder names.
    pub started: String,
    pub updated: String,
    pub status: MatrixStatus,
    pub quick: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_version: Option<String>,
    /// The catalogue's estimated duration (the sum of the rows').
    pub estimate_s: f64,
    /// How the claims are phrased ([`PHRASING`]).
    pub phrasing: String,
    pub claims: Vec<ClaimResult>,
}

impl ClaimsDoc {
    pub fn new(claims: &[&Claim], command: String, quick: bool, o: &ClaimOptions) -> ClaimsDoc {
        let now = trial_histories::store::timestamp_now();
        let rows: Vec<ClaimResult> = claims
            .iter()
            .map(|c| ClaimResult::not_run(c, o.time_limit))
            .collect();
        ClaimsDoc {
            format: FORMAT,
            command,
            started: now.clone(),
            updated: now,
            status: MatrixStatus::Running,
            quick,
            seed: o.seed,
            time_limit_s: o.time_limit.map(|d| d.as_secs_f64()),
            kafka_version: o.kafka_version.clone(),
            estimate_s: rows.iter().map(|r| r.estimate_s).sum(),
            phrasing: PHRASING.into(),
            claims: rows,
        }
    }

    pub fn touch(&mut self) {
        self.updated = trial_histories::store::timestamp_now();
    }

    /// 3 if a claim's run could not be made, else 1 if a claim did not
    /// come out as documented, else 2 if one was inconclusive or not run,
    /// else 0.
    pub fn exit_code(&self) -> u8 {
        use trial_checkers::exit_code::*;
        if self.claims.iter().any(|c| c.error.is_some()) {
            HARNESS
        } else if self.claims.iter().any(|c| c.as_expected() == Some(false)) {
            ANOMALIES
        } else if self.claims.iter().any(|c| c.as_expected().is_none()) {
            UNKNOWN
        } else {
            VALID
        }
    }

    /// `5 as documented, 1 inconclusive` (or `nothing run`).
    pub fn counts_text(&self) -> String {
        let n = |f: &dyn Fn(&ClaimResult) -> bool| self.claims.iter().filter(|c| f(c)).count();
        let parts = [
            (n(&|c| c.as_expected() == Some(true)), "as documented"),
            (n(&|c| c.as_expected() == Some(false)), "NOT as documented"),
            (
                n(&|c| c.verdict == Some(Outcome::Inconclusive)),
                "inconclusive",
            ),
            (n(&|c| c.error.is_some()), "error"),
            (n(&|c| c.verdict.is_none() && c.error.is_none()), "not run"),
        ];
        let s: Vec<String> = parts
            .iter()
            .filter(|(k, _)| *k > 0)
            .map(|(k, l)| format!("{k} {l}"))
            .collect();
        if s.is_empty() {
            "no claims".into()
        } else {
            s.join(", ")
        }
    }

    /// The terminal table: claim, setting, faults, expected, observed,
    /// verdict, duration, run folder; the claims' sentences below it.
    pub fn table(&self) -> String {
        let head = [
            "claim", "expected", "verdict", "", "time", "observed", "run",
        ];
        let rows: Vec<[String; 7]> = self
            .claims
            .iter()
            .map(|c| {
                [
                    c.id.clone(),
                    c.expected.label().into(),
                    format!(
                        "{}{}",
                        c.verdict_label(),
                        if c.interrupted { " (interrupted)" } else { "" }
                    ),
                    c.agreement().into(),
                    c.elapsed_s
                        .map_or("-".into(), |s| mins(Duration::from_secs_f64(s))),
                    match (&c.error, c.observed.is_empty()) {
                        (Some(e), _) => format!("error: {e}"),
                        (None, true) => "-".into(),
                        (None, false) => c.observed.clone(),
                    },
                    c.run.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        let mut w = head.map(|h| h.chars().count());
        for r in &rows {
            // The observed text is long: it is not padded (last but one).
            for (i, x) in r.iter().enumerate().take(5) {
                w[i] = w[i].max(x.chars().count());
            }
        }
        let mut s = String::new();
        let line = |s: &mut String, cols: &[&str]| {
            let mut l = String::new();
            for (i, x) in cols.iter().enumerate() {
                if i < 5 {
                    let pad = w[i].saturating_sub(x.chars().count());
                    let _ = write!(l, "{x}{}  ", " ".repeat(pad));
                } else {
                    let _ = write!(l, "{x}  ");
                }
            }
            s.push_str(l.trim_end());
            s.push('\n');
        };
        line(&mut s, &head);
        for r in &rows {
            line(&mut s, &r.iter().map(String::as_str).collect::<Vec<_>>());
        }
        s.push('\n');
        for c in &self.claims {
            let _ = writeln!(s, "{}: {}", c.id, c.claim);
            let _ = writeln!(s, "  setting: {}", c.setting);
            let _ = writeln!(s, "  faults:  {}", c.faults);
        }
        s
    }
}

/// `1m40s`.
pub fn mins(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}
