//! What the person watching sees: the live progress line (or plain lines
//! when stderr is not a terminal) and notes above it.

use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::time::Duration;
use trial_nemesis::{Phase, Schedule};

pub(crate) fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(250));
    pb
}

/// A line for the person watching: above the live progress line, as a
/// plain line when stderr is not a terminal (a CI log, a pipe), or in the
/// log when the caller asked for no progress output (library use).
pub(crate) fn note(pb: &ProgressBar, progress: bool, m: String) {
    if !progress {
        tracing::info!("{m}");
    } else if pb.is_hidden() {
        eprintln!("{m}");
    } else {
        pb.println(m);
    }
}

/// Faults of the schedule active `t` after the origin (for the progress line).
pub(crate) fn active_faults(s: &Schedule, t: Duration) -> Vec<String> {
    let t = t.as_millis() as u64;
    let mut active: BTreeMap<u32, String> = BTreeMap::new();
    for a in s.actions.iter().take_while(|a| a.at_ms <= t) {
        match a.phase {
            Phase::Start => {
                active.insert(a.id, a.fault.kind().name().to_string());
            }
            Phase::Stop => {
                active.remove(&a.id);
            }
        }
    }
    active.into_values().collect()
}
