//! Fixed schedules: faults exactly as a run's `schedule.json` planned
//! them (kind, targets, start, stop and the seed that resolves a dynamic
//! target when applied), replayed as they are instead of generated from a
//! seed. What `kafka-trial shrink` writes into `minimal.toml`
//! (`[[nemesis.schedule]]`), so that a shrunk generated schedule reruns
//! with `test --spec`.

use anyhow::{bail, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::Duration;
use trial_nemesis::{Action, Fault, FaultKinds, NemesisOptions, Phase, Schedule};

/// One fault of a fixed schedule: started at `start`, stopped at `stop`
/// (absent: active until the heal at the end of the time limit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedFault {
    #[serde(with = "crate::spec::dur")]
    pub start: Duration,
    #[serde(
        with = "crate::spec::dur::opt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop: Option<Duration>,
    /// Seeds the choices made when applied (which leader, which offset);
    /// written as a string: a 64-bit seed does not fit TOML's integers.
    #[serde(with = "seed_text")]
    pub seed: u64,
    #[serde(flatten)]
    pub fault: Fault,
}

impl FixedFault {
    /// `kill leaders (resolved when applied) 12s–21s`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.fault.kind().name(),
            self.fault.describe(),
            window(self.start, self.stop)
        )
    }
}

/// `12s–21s`, `12s–end`.
pub fn window(start: Duration, stop: Option<Duration>) -> String {
    let s = |d: Duration| format!("{:.1}s", d.as_secs_f64());
    match stop {
        Some(t) => format!("{}–{}", s(start), s(t)),
        None => format!("{}–end", s(start)),
    }
}

/// The faults of a played schedule, each start paired with its stop by
/// fault id, in start order.
pub fn from_schedule(s: &Schedule) -> Vec<FixedFault> {
    let mut out: Vec<FixedFault> = vec![];
    let mut open: BTreeMap<u32, usize> = BTreeMap::new();
    for a in &s.actions {
        match a.phase {
            Phase::Start => {
                open.insert(a.id, out.len());
                out.push(FixedFault {
                    start: a.at(),
                    stop: None,
                    seed: a.seed,
                    fault: a.fault.clone(),
                });
            }
            Phase::Stop => {
                if let Some(i) = open.remove(&a.id) {
                    out[i].stop = Some(a.at());
                }
            }
        }
    }
    out
}

/// The schedule the faults make on these nodes over `period` (fault ids
/// are their positions).
pub fn to_schedule(
    faults: &[FixedFault],
    brokers: &[String],
    zookeeper: &[String],
    period: Duration,
    seed: u64,
) -> Schedule {
    let mut actions = vec![];
    for (i, f) in faults.iter().enumerate() {
        actions.push(Action {
            at_ms: f.start.as_millis() as u64,
            id: i as u32,
            phase: Phase::Start,
            seed: f.seed,
            fault: f.fault.clone(),
        });
        if let Some(t) = f.stop {
            actions.push(Action {
                at_ms: t.as_millis() as u64,
                id: i as u32,
                phase: Phase::Stop,
                seed: f.seed,
                fault: f.fault.clone(),
            });
        }
    }
    // Stable: a stop and a start at the same instant keep their order.
    actions.sort_by_key(|a| a.at_ms);
    let options = NemesisOptions {
        kinds: kinds(faults),
        ..NemesisOptions::default()
    };
    Schedule {
        seed,
        nodes: brokers.to_vec(),
        zookeeper: zookeeper.to_vec(),
        period,
        options,
        actions,
    }
}

/// The fault kinds the faults play.
pub fn kinds(faults: &[FixedFault]) -> FaultKinds {
    FaultKinds(faults.iter().map(|f| f.fault.kind()).collect())
}

/// Refuse a fixed schedule that cannot play within `time_limit` on these
/// nodes: a fault that stops before it starts or after the time limit, a
/// node the cluster does not have.
pub fn validate(
    faults: &[FixedFault],
    brokers: &[String],
    zookeeper: &[String],
    time_limit: Duration,
) -> Result<()> {
    for (i, f) in faults.iter().enumerate() {
        let n = i + 1;
        if f.start > time_limit {
            bail!(
                "[[nemesis.schedule]] fault {n} starts at {:?}, after the time limit ({:?})",
                f.start,
                time_limit
            );
        }
        if let Some(t) = f.stop {
            if t < f.start {
                bail!("[[nemesis.schedule]] fault {n} stops before it starts");
            }
            if t > time_limit {
                bail!(
                    "[[nemesis.schedule]] fault {n} stops at {t:?}, after the time limit ({time_limit:?})"
                );
            }
        }
        let known = |x: &String| brokers.contains(x) || zookeeper.contains(x);
        for node in named_nodes(&f.fault) {
            if !known(&node) {
                bail!(
                    "[[nemesis.schedule]] fault {n} names node {node:?}; this cluster has {}",
                    brokers
                        .iter()
                        .chain(zookeeper)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
    }
    Ok(())
}

/// The nodes a planned fault names (not those resolved when applied).
pub fn named_nodes(f: &Fault) -> Vec<String> {
    match f {
        Fault::Kill { nodes, .. }
        | Fault::Pause { nodes, .. }
        | Fault::Loss { nodes, .. }
        | Fault::LoseUnfsynced { nodes, .. }
        | Fault::PowerLoss { nodes, .. } => nodes.iter().flatten().cloned().collect(),
        Fault::Partition { grudge, .. } => grudge
            .iter()
            .flat_map(|g| g.iter().flat_map(|(k, v)| std::iter::once(k).chain(v)))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        Fault::Clock { offsets, .. } => offsets.iter().flat_map(|o| o.keys()).cloned().collect(),
    }
}

/// A u64 as a decimal string (also read from an integer).
mod seed_text {
    use super::*;

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        S(String),
        N(u64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Written::deserialize(d)? {
            Written::N(n) => Ok(n),
            Written::S(s) => s
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("seed {s:?} is not a number"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use trial_nemesis::{ProcessRole, Target};

    #[test]
    fn a_schedule_pairs_into_faults_and_back() {
        let nodes = trial_nemesis::node_names(3);
        let kill = Fault::Kill {
            target: Target::Leaders,
            nodes: None,
            process: ProcessRole::Broker,
        };
        let pause = Fault::Pause {
            target: Target::One,
            nodes: Some(BTreeSet::from(["n2".to_string()])),
            process: ProcessRole::Broker,
        };
        let faults = vec![
            FixedFault {
                start: Duration::from_secs(5),
                stop: Some(Duration::from_secs(14)),
                seed: u64::MAX - 3,
                fault: kill,
            },
            FixedFault {
                start: Duration::from_millis(20_500),
                stop: None,
                seed: 7,
                fault: pause,
            },
        ];
        let s = to_schedule(&faults, &nodes, &[], Duration::from_secs(30), 1);
        assert_eq!(s.actions.len(), 3);
        assert_eq!(from_schedule(&s), faults);
        validate(&faults, &nodes, &[], Duration::from_secs(30)).unwrap();
        let e = validate(&faults, &nodes, &[], Duration::from_secs(10)).unwrap_err();
        assert!(e.to_string().contains("after the time limit"), "{e}");
        let e = validate(&faults, &nodes[..1], &[], Duration::from_secs(30)).unwrap_err();
        assert!(e.to_string().contains("\"n2\""), "{e}");
        // TOML keeps a seed past i64 (as text) and the fault's fields flat.
        #[derive(Serialize, Deserialize)]
        struct Doc {
            schedule: Vec<FixedFault>,
        }
        let text = toml::to_string(&Doc {
            schedule: faults.clone(),
        })
        .unwrap();
        assert!(text.contains("seed = \"18446744073709551612\""), "{text}");
        assert!(text.contains("kind = \"kill\""), "{text}");
        let back: Doc = toml::from_str(&text).unwrap();
        assert_eq!(back.schedule, faults);
    }
}
