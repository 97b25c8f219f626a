//! The spec's flags on a command line: [`SpecArgs`] flattens the spec's
//! own sections, every fault kind's options and every workload package's
//! options, and remembers which flags the user gave, so that they can be
//! laid over a spec from elsewhere (a file, a scenario) and so that a flag
//! which does not apply to the trial is refused instead of ignored.

use super::{flag_ids, FaultFlags, TrialSpec};
use crate::workloads::PackageFlags;
use anyhow::{bail, Result};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches};
use serde_json::Value;
use std::collections::BTreeSet;

/// Every option of a trial as flags (`test`, `scenario run`).
#[derive(Debug, Clone)]
pub struct SpecArgs {
    /// The spec the flags say (their defaults where not given).
    pub spec: TrialSpec,
    pub faults: FaultFlags,
    pub workloads: PackageFlags,
    /// Ids of the flags given on the command line.
    pub given: BTreeSet<String>,
    /// The flags given, as words (`--acks 1 --lazyfs`): what repeats them
    /// on another command line (a matrix cell's, a claim's).
    pub words: Vec<String>,
}

impl Default for SpecArgs {
    /// No flag given: the defaults.
    fn default() -> Self {
        SpecArgs::parse_from(std::iter::empty::<String>()).expect("the defaults parse")
    }
}

/// The words that repeat the flags of `m` given on the command line, in
/// the order of `cmd`'s arguments.
fn given_words(cmd: &clap::Command, m: &ArgMatches) -> Vec<String> {
    let mut w = Vec::new();
    for a in cmd.get_arguments() {
        let id = a.get_id().as_str();
        if m.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let Some(long) = a.get_long() else { continue };
        let takes_values = a.get_action().takes_values();
        if !takes_values {
            w.push(flag(long));
            continue;
        }
        if let Some(raw) = m.get_raw(id) {
            for v in raw {
                w.push(flag(long));
                w.push(v.to_string_lossy().into_owned());
            }
        }
    }
    w
}

impl Args for SpecArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        PackageFlags::augment_args(FaultFlags::augment_args(TrialSpec::augment_args(cmd)))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for SpecArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let given = m
            .ids()
            .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
            .map(|id| id.to_string())
            .collect();
        let cmd = SpecArgs::augment_args(clap::Command::new("spec"));
        Ok(SpecArgs {
            spec: TrialSpec::from_arg_matches(m)?,
            faults: FaultFlags::from_arg_matches(m)?,
            workloads: PackageFlags::from_arg_matches(m)?,
            given,
            words: given_words(&cmd, m),
        })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// The flag a user typed for `id`.
fn flag(long: &str) -> String {
    format!("--{long}")
}

impl SpecArgs {
    /// Flags parsed from `args` (no program name), e.g. for a matrix cell.
    pub fn parse_from<I, S>(args: I) -> Result<SpecArgs>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        let cmd = SpecArgs::augment_args(clap::Command::new("spec").no_binary_name(true));
        let m = cmd.try_get_matches_from(args)?;
        Ok(SpecArgs::from_arg_matches(&m)?)
    }

    /// Whether the user gave flag `id`.
    pub fn given(&self, id: &str) -> bool {
        self.given.contains(id)
    }

    /// The spec these flags make of `base` (a file's, a scenario's), or,
    /// without one, of the defaults: every flag given replaces its value;
    /// a workload's or a fault kind's flag that the trial does not run is
    /// an error.
    pub fn apply(&self, base: Option<TrialSpec>) -> Result<TrialSpec> {
        let flags = serde_json::to_value(&self.spec)?;
        let mut out = match base {
            None => {
                let mut s = flags.clone();
                // No tables of kinds not (yet) chosen.
                if let Some(w) = s.get_mut("workload").and_then(Value::as_object_mut) {
                    w.retain(|_, v| !v.is_object());
                }
                s
            }
            Some(b) => {
                let mut b = serde_json::to_value(b)?;
                let sections: [(&str, Vec<(String, String)>); 5] = [
                    ("cluster", flag_ids::<super::ClusterSection>()),
                    ("client", flag_ids::<super::ClientSection>()),
                    ("workload", flag_ids::<super::WorkloadSection>()),
                    ("nemesis", flag_ids::<super::NemesisSection>()),
                    ("check", flag_ids::<super::CheckSection>()),
                ];
                for top in ["name", "seed", "time_limit"] {
                    if self.given(top) {
                        b[top] = flags[top].clone();
                    }
                }
                for (section, ids) in sections {
                    for (id, _) in ids {
                        if self.given(&id) {
                            b[section][&id] = flags[section][&id].clone();
                        }
                    }
                }
                // A workload or fault kinds chosen here replace the
                // base's, and with them its tables of options.
                if self.given("kind") {
                    let w = b["workload"].as_object_mut().expect("a table");
                    w.retain(|_, v| !v.is_object());
                }
                if self.given("faults") {
                    b["nemesis"]["script"] = Value::Null;
                }
                b
            }
        };
        // The chosen workload's own flags.
        let kind = out["workload"]["kind"]
            .as_str()
            .unwrap_or("queue")
            .to_string();
        for p in crate::workloads::registry() {
            for (id, long) in p.flag_ids() {
                if !self.given(&id) {
                    continue;
                }
                if p.name() != kind {
                    bail!(
                        "{} is an option of the {} workload; this trial runs the {kind} workload",
                        flag(&long),
                        p.name()
                    );
                }
                let table = out["workload"]
                    .as_object_mut()
                    .expect("a table")
                    .entry(kind.clone())
                    .or_insert_with(|| Value::Object(Default::default()));
                table[&id] = self.workloads.0[p.name()][&id].clone();
            }
        }
        // The fault kinds' own flags.
        let faults: trial_nemesis::FaultKinds =
            serde_json::from_value(out["nemesis"]["faults"].clone())?;
        let scripted = !out["nemesis"]["script"].is_null();
        for (table, prefix, ids, values) in self.faults.tables() {
            let on = faults.iter().any(|k| k.name() == table);
            for (id, long) in ids {
                if !self.given(&id) {
                    continue;
                }
                if !on || scripted {
                    bail!(
                        "{} is an option of {table} faults; this trial's nemesis does not play them ({})",
                        flag(&long),
                        if scripted {
                            "it runs a script".to_string()
                        } else {
                            format!("faults: {faults}")
                        }
                    );
                }
                let key = id.strip_prefix(prefix).unwrap_or(&id).to_string();
                let slot = &mut out["nemesis"][table];
                if slot.is_null() {
                    *slot = Value::Object(Default::default());
                }
                slot[&key] = values[&key].clone();
            }
        }
        // Tables of fault kinds no longer played (the flags chose others).
        if self.given("faults") {
            for k in super::KIND_TABLES {
                if !faults.iter().any(|f| f.name() == k) {
                    out["nemesis"][k] = Value::Null;
                }
            }
        }
        let mut s: TrialSpec = serde_json::from_value(out)?;
        s.normalize()?;
        Ok(s)
    }
}
