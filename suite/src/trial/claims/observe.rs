//! Reading a finished claim's run ([`ClaimRun`]: its results and the
//! refused sends of its history) and the observers that judge it.

use super::*;
use std::collections::BTreeMap;

/// What a claim's observer reads: the run's results, its folder, and
/// counts from the history the results do not hold.
#[derive(Debug, Clone)]
pub struct ClaimRun {
    pub results: Results,
    pub run_dir: PathBuf,
    /// Sends the brokers refused for want of in-sync replicas
    /// (`NOT_ENOUGH_REPLICAS`, `…_AFTER_APPEND`), by outcome (`fail`,
    /// `info`).
    pub not_enough_replicas: BTreeMap<String, u64>,
    /// The run was interrupted (Ctrl-C): no final reads.
    pub interrupted: bool,
}

/// Does a client error say the brokers lacked in-sync replicas?
/// (librdkafka: "Broker: Not enough in-sync replicas", "Broker: Message(s)
/// written to insufficient number of in-sync replicas"; Kafka's names.)
pub fn is_not_enough_replicas(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    e.contains("not enough in-sync replicas")
        || e.contains("insufficient number of in-sync replicas")
        || e.contains("not_enough_replicas")
        || e.contains("notenoughreplicas")
}

impl ClaimRun {
    /// From a run folder: `results.json` and the history's refused sends.
    pub fn from_run_dir(dir: &Path) -> Result<ClaimRun> {
        let p = dir.join(trial_histories::store::RESULTS_FILE);
        let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        let results: Results =
            serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", p.display()))?;
        let mut run = ClaimRun {
            results,
            run_dir: dir.to_path_buf(),
            not_enough_replicas: BTreeMap::new(),
            interrupted: false,
        };
        run.not_enough_replicas = refused_sends(&dir.join(trial_histories::store::HISTORY_FILE))?;
        Ok(run)
    }

    /// From a finished trial.
    pub fn from_report(r: &Report) -> Result<ClaimRun> {
        let mut run = ClaimRun {
            results: r.results.clone(),
            run_dir: r.run_dir.clone(),
            not_enough_replicas: BTreeMap::new(),
            interrupted: r.interrupted,
        };
        run.not_enough_replicas =
            refused_sends(&r.run_dir.join(trial_histories::store::HISTORY_FILE))?;
        Ok(run)
    }

    /// Acknowledged (ok) sends.
    pub fn ok_sends(&self) -> u64 {
        self.f_stats("send").map_or(0, |s| s.ok)
    }

    fn f_stats(&self, f: &str) -> Option<&trial_checkers::stats::FStats> {
        self.results.checkers.stats.by_f.get(f)
    }

    /// Sends refused for want of in-sync replicas, any outcome.
    pub fn refused(&self) -> u64 {
        self.not_enough_replicas.values().sum()
    }

    /// The count of non-informational findings of `classes` (permitted
    /// ones included: "permitted by this configuration" is still evidence
    /// against a claim).
    pub fn count(&self, classes: &[&str]) -> u64 {
        self.results
            .anomalies_found()
            .iter()
            .filter(|(c, _)| classes.contains(c))
            .map(|(_, n)| n)
            .sum()
    }

    /// `lost-write 3, inconsistent-offsets 1` for `classes` found.
    pub fn found_text(&self, classes: &[&str]) -> String {
        self.results
            .anomalies_found()
            .iter()
            .filter(|(c, _)| classes.contains(c))
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn effects(&self) -> Option<EffectsView> {
        self.results.checker("effects")
    }

    fn group(&self) -> Option<GroupView> {
        self.results.checker::<GroupView>("group")
    }

    /// The most broker nodes down (killed, paused, power-lost) at one
    /// instant, from the effects checker's fault intervals.
    pub fn max_down(&self) -> usize {
        self.effects().map_or(0, |e| e.max_down())
    }

    /// Why the run cannot decide a claim, if it cannot: interrupted, no
    /// fault applied or none that bit, the clients stalled in a healthy
    /// cluster (`weak_evidence`), too few acknowledged sends, an unknown
    /// verdict.
    pub fn inconclusive(&self, min_ok_sends: u64) -> Option<String> {
        if self.interrupted {
            return Some("the run was interrupted (no final reads)".into());
        }
        // Every experiment of the catalogue schedules faults.
        if self.results.checkers.stats.faults.is_empty() {
            return Some("no fault was applied".into());
        }
        if let Some(e) = self.effects() {
            if e.faults > 0 && e.with_effect == Some(0) {
                return Some(format!(
                    "none of the {} faults had an observable effect on the cluster",
                    e.faults
                ));
            }
        }
        if let Some(w) = self.results.weak_evidence.first() {
            return Some(format!("the run's evidence is weak: {w}"));
        }
        if self.ok_sends() < min_ok_sends {
            return Some(format!(
                "only {} acknowledged sends (fewer than {min_ok_sends})",
                self.ok_sends()
            ));
        }
        if self.results.valid == Validity::Unknown {
            let why = self
                .results
                .unknown_reasons
                .first()
                .cloned()
                .unwrap_or_else(|| "the verdict is unknown".into());
            return Some(format!("the check could not decide: {why}"));
        }
        None
    }
}

/// Sends the brokers refused for want of in-sync replicas, by outcome,
/// from a history file (a missing history counts nothing).
fn refused_sends(history: &Path) -> Result<BTreeMap<String, u64>> {
    use std::io::BufRead;
    let mut out = BTreeMap::new();
    let f = match std::fs::File::open(history) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", history.display())),
    };
    for line in std::io::BufReader::new(f).lines() {
        let line = line.with_context(|| format!("reading {}", history.display()))?;
        // Cheap filters first: a history has hundreds of thousands of lines.
        if !line.contains("\"error\"") || !line.contains("\"send\"") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["f"] != "send" {
            continue;
        }
        let (Some(t), Some(e)) = (v["type"].as_str(), v["error"].as_str()) else {
            continue;
        };
        if is_not_enough_replicas(e) {
            *out.entry(t.to_string()).or_insert(0) += 1;
        }
    }
    Ok(out)
}

/// The part of `checkers.effects` the claims read (lenient: every field
/// defaulted, so results of any age parse).
#[derive(Debug, Clone, Default, Deserialize)]
struct EffectsView {
    #[serde(default)]
    faults: u64,
    #[serde(default)]
    with_effect: Option<u64>,
    #[serde(default)]
    intervals: Vec<IntervalView>,
    /// Leader changes per partition over the run.
    #[serde(default)]
    leader_changes: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct IntervalView {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    nodes: Vec<String>,
    #[serde(default)]
    start_s: f64,
    #[serde(default)]
    stop_s: f64,
}

/// Fault kinds that take a node down (not alive).
const DOWN_KINDS: &[&str] = &["kill", "pause", "lose-unfsynced", "power-loss"];

impl EffectsView {
    /// The most distinct nodes down at one instant.
    fn max_down(&self) -> usize {
        let down: Vec<&IntervalView> = self
            .intervals
            .iter()
            .filter(|i| DOWN_KINDS.contains(&i.kind.as_str()))
            .collect();
        let mut best = 0;
        // The count changes only at a start: look at each one.
        for i in &down {
            let t = i.start_s;
            let mut nodes: Vec<&str> = down
                .iter()
                .filter(|j| j.start_s <= t && t < j.stop_s.max(j.start_s + 1e-9))
                .flat_map(|j| j.nodes.iter().map(String::as_str))
                .collect();
            nodes.sort_unstable();
            nodes.dedup();
            best = best.max(nodes.len());
        }
        best
    }
}

/// The part of `checkers.group` the claims read.
#[derive(Debug, Clone, Default, Deserialize)]
struct GroupView {
    #[serde(default)]
    applicable: bool,
    #[serde(default)]
    crashes: u64,
    #[serde(default)]
    leaves: u64,
    #[serde(default)]
    stalls: u64,
    #[serde(default)]
    rebalances: RebalancesView,
    #[serde(default)]
    overlaps: OverlapsView,
    #[serde(default)]
    unowned: UnownedView,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RebalancesView {
    #[serde(default)]
    events: u64,
    #[serde(default)]
    windows: u64,
    #[serde(default)]
    p50_ms: f64,
    #[serde(default)]
    max_ms: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct OverlapsView {
    #[serde(default)]
    count: u64,
    #[serde(default)]
    max_ms: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct UnownedView {
    #[serde(default)]
    max_ms: f64,
}

// ---- the observers ---------------------------------------------------

/// A claim that nothing of `classes` happens: refuted by any finding,
/// inconclusive when the run cannot decide, else holds.
fn none_of(run: &ClaimRun, classes: &[&str], what: &str, holds: String) -> Observation {
    let n = run.count(classes);
    if n > 0 {
        return Observation::new(
            Outcome::Refuted,
            format!(
                "{}; {} acknowledged sends",
                run.found_text(classes),
                run.ok_sends()
            ),
        );
    }
    if let Some(why) = run.inconclusive(MIN_OK_SENDS) {
        return Observation::new(Outcome::Inconclusive, format!("no {what} seen, but {why}"));
    }
    Observation::new(Outcome::Holds, holds)
}

fn refused_text(run: &ClaimRun) -> String {
    if run.not_enough_replicas.is_empty() {
        "no send refused with NotEnoughReplicas".into()
    } else {
        format!(
            "sends refused with NotEnoughReplicas: {}",
            run.not_enough_replicas
                .iter()
                .map(|(t, n)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

pub(super) fn observe_acks_all_rf_n(run: &ClaimRun) -> Observation {
    let down = run.max_down();
    let o = none_of(
        run,
        LOSS_CLASSES,
        "loss",
        format!(
            "nothing lost: {} acknowledged sends all read back; up to {down} brokers down at once; {}",
            run.ok_sends(),
            refused_text(run)
        ),
    );
    if o.verdict == Outcome::Holds && down < 2 {
        return Observation::new(
            Outcome::Inconclusive,
            format!(
                "nothing lost, but at most {down} broker(s) were down at once (the claim is about 2)"
            ),
        );
    }
    o
}

pub(super) fn observe_keeps_acked(run: &ClaimRun) -> Observation {
    none_of(
        run,
        LOSS_CLASSES,
        "loss",
        format!(
            "nothing lost: {} acknowledged sends all read back",
            run.ok_sends()
        ),
    )
}

pub(super) fn observe_min_insync(run: &ClaimRun) -> Observation {
    let lost = run.count(LOSS_CLASSES);
    if lost > 0 {
        return Observation::new(
            Outcome::Refuted,
            format!(
                "{} although the ISR fell below min.insync.replicas; {}",
                run.found_text(LOSS_CLASSES),
                refused_text(run)
            ),
        );
    }
    if run.refused() == 0 {
        return Observation::new(
            Outcome::Inconclusive,
            format!(
                "no send was refused with NotEnoughReplicas (the ISR never fell below 2 while a send arrived); nothing lost of {} acknowledged",
                run.ok_sends()
            ),
        );
    }
    if let Some(why) = run.inconclusive(MIN_OK_SENDS) {
        return Observation::new(
            Outcome::Inconclusive,
            format!("{}, no loss seen, but {why}", refused_text(run)),
        );
    }
    Observation::new(
        Outcome::Holds,
        format!(
            "{}; nothing lost of {} acknowledged",
            refused_text(run),
            run.ok_sends()
        ),
    )
}

pub(super) fn observe_order(run: &ClaimRun) -> Observation {
    let polls = run.f_stats("poll").map_or(0, |s| s.ok);
    let o = none_of(
        run,
        ORDER_CLASSES,
        "reordering",
        format!(
            "every process's acknowledged offsets and every consumer's reads went forward: {} acknowledged sends, {polls} ok polls",
            run.ok_sends()
        ),
    );
    if o.verdict == Outcome::Holds && polls < 20 {
        return Observation::new(
            Outcome::Inconclusive,
            format!("no reordering seen, but only {polls} ok polls"),
        );
    }
    o
}

pub(super) fn observe_idempotence(run: &ClaimRun) -> Observation {
    let moves: u64 = run.effects().map_or(0, |e| e.leader_changes.values().sum());
    none_of(
        run,
        &["duplicate"],
        "duplicate",
        format!(
            "no value written twice: {} acknowledged sends through {moves} leader changes (each one sends the producer's in-flight requests again)",
            run.ok_sends()
        ),
    )
}

fn group_or_inconclusive(run: &ClaimRun) -> Result<GroupView, Observation> {
    match run.group() {
        Some(g) if g.applicable => Ok(g),
        _ => Err(Observation::new(
            Outcome::Inconclusive,
            "the run has no consumer group (checkers.group not applicable)",
        )),
    }
}

pub(super) fn observe_one_owner(run: &ClaimRun) -> Observation {
    let g = match group_or_inconclusive(run) {
        Ok(g) => g,
        Err(o) => return o,
    };
    let n = run.count(&["double-ownership"]);
    if n > 0 {
        return Observation::new(
            Outcome::Refuted,
            format!(
                "double-ownership {n}: two members owned a partition at once, the earlier one knowing it was out; {} rebalance events",
                g.rebalances.events
            ),
        );
    }
    if g.rebalances.events == 0 {
        return Observation::new(
            Outcome::Inconclusive,
            "no double ownership, but no rebalance happened (ownership never changed hands)",
        );
    }
    if let Some(why) = run.inconclusive(MIN_OK_SENDS) {
        return Observation::new(
            Outcome::Inconclusive,
            format!("no double ownership seen, but {why}"),
        );
    }
    Observation::new(
        Outcome::Holds,
        format!(
            "one owner per partition: {} rebalance events after {} member crashes, {} leaves and {} stalls past max.poll.interval.ms; overlaps with a member not yet told it was out: {} (max {:.0} ms, not judged)",
            g.rebalances.events,
            g.crashes,
            g.leaves,
            g.stalls,
            g.overlaps.count,
            g.overlaps.max_ms
        ),
    )
}

pub(super) fn observe_takeover(run: &ClaimRun) -> Observation {
    let g = match group_or_inconclusive(run) {
        Ok(g) => g,
        Err(o) => return o,
    };
    let skipped = run.count(&["group-skip"]);
    if skipped > 0 {
        return Observation::new(
            Outcome::Refuted,
            format!("group-skip {skipped}: the group moved past records no member consumed"),
        );
    }
    if g.unowned.max_ms > TAKEOVER_BOUND_MS {
        return Observation::new(
            Outcome::Refuted,
            format!(
                "a partition stayed without an owner for {:.1} s (more than {:.0} s) after {} member crashes",
                g.unowned.max_ms / 1000.0,
                TAKEOVER_BOUND_MS / 1000.0,
                g.crashes
            ),
        );
    }
    if g.crashes == 0 {
        return Observation::new(
            Outcome::Inconclusive,
            "no member crashed: nothing to take over",
        );
    }
    if g.rebalances.events == 0 {
        return Observation::new(
            Outcome::Inconclusive,
            format!("{} member crashes but no rebalance recorded", g.crashes),
        );
    }
    if let Some(why) = run.inconclusive(MIN_OK_SENDS) {
        return Observation::new(
            Outcome::Inconclusive,
            format!("no failed takeover, but {why}"),
        );
    }
    Observation::new(
        Outcome::Holds,
        format!(
            "{} member crashes, {} rebalance events; partitions without an owner for at most {:.1} s ({} windows, p50 {:.0} ms, max {:.0} ms); nothing skipped",
            g.crashes,
            g.rebalances.events,
            g.unowned.max_ms / 1000.0,
            g.rebalances.windows,
            g.rebalances.p50_ms,
            g.rebalances.max_ms
        ),
    )
}
