//! One options struct per fault kind: its flags (prefixed with the kind's
//! name, `--kill-targets`) and its table in the spec file
//! (`[nemesis.kill] targets = [...]`, keys without the prefix). Each is
//! self-contained, so a fault kind's options can move into the kind's own
//! package without changing the file's shape.

use super::{dur, flag_defaults, parse_duration};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use trial_nemesis::{ClockMode, ClockOffset, NemesisOptions, Target, Topology};

fn defaults() -> NemesisOptions {
    NemesisOptions::default()
}

/// `partition` faults.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(next_help_heading = "Nemesis: partition")]
pub struct PartitionOptions {
    /// Partition topologies: halves,one,majority,majorities-ring,bridge,primaries,controller
    /// (among brokers), group-coordinator (its workload's consumer group's coordinator alone;
    /// never in the default mix), and with --mode zookeeper zk-all-brokers,zk-one-broker,zk-leader
    /// (brokers cut from the ensemble; in the default mix of a ZooKeeper-mode run).
    #[arg(id = "partition_topologies", long = "partition-topologies", value_name = "TOPOLOGIES", value_delimiter = ',', default_values_t = defaults().topologies)]
    pub topologies: Vec<Topology>,
}

/// `kill` faults.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(next_help_heading = "Nemesis: kill")]
pub struct KillOptions {
    /// Targets of kill: one,minority,majority,all,leaders,controller,replicas-but-one,coordinator,
    /// group-coordinator (brokers; the last two need transactions / a consumer group), and with
    /// --mode zookeeper zk-one,zk-majority,zk-leader (the ZooKeeper server of ensemble members).
    /// The default (the first seven) adds zk-one,zk-leader in ZooKeeper mode.
    #[arg(id = "kill_targets", long = "kill-targets", value_name = "TARGETS", value_delimiter = ',', default_values_t = defaults().kill_targets)]
    pub targets: Vec<Target>,
}

/// `pause` faults.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(next_help_heading = "Nemesis: pause")]
pub struct PauseOptions {
    /// Targets of pause (same names and defaults as kill).
    #[arg(id = "pause_targets", long = "pause-targets", value_name = "TARGETS", value_delimiter = ',', default_values_t = defaults().pause_targets)]
    pub targets: Vec<Target>,
}

/// `loss` faults.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(next_help_heading = "Nemesis: loss")]
pub struct LossOptions {
    /// Targets of loss: the links touching these nodes become lossy
    /// (one,minority,majority,all,leaders,controller,replicas-but-one).
    #[arg(id = "loss_targets", long = "loss-targets", value_name = "TARGETS", value_delimiter = ',', default_values_t = defaults().loss_targets)]
    pub targets: Vec<Target>,
    /// Chance that a packet on a lossy link is dropped, in (0, 1].
    #[arg(id = "loss_probability", long = "loss-probability", value_name = "P", default_value_t = defaults().loss_probability)]
    pub probability: f64,
}

/// `clock` faults.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(next_help_heading = "Nemesis: clock")]
pub struct ClockOptions {
    /// Targets of clock faults (one,minority,majority,all,leaders,controller,replicas-but-one).
    #[arg(id = "clock_targets", long = "clock-targets", value_name = "TARGETS", value_delimiter = ',', default_values_t = defaults().clock_targets)]
    pub targets: Vec<Target>,
    /// Clock fault modes to draw from: bump (the clock jumps by an
    /// offset), strobe (it flips back and forth).
    #[arg(id = "clock_modes", long = "clock-modes", value_name = "MODES", value_delimiter = ',', default_values_t = defaults().clock_modes)]
    pub modes: Vec<ClockMode>,
    /// Offsets to draw from, per node, in seconds (e.g. -120,30).
    #[arg(id = "clock_offsets", long = "clock-offsets", value_name = "OFFSETS", value_delimiter = ',', allow_hyphen_values = true, default_values_t = defaults().clock_offsets)]
    pub offsets: Vec<ClockOffset>,
    /// Time between two writes of a strobe.
    #[arg(id = "clock_strobe_period", long = "clock-strobe-period", value_name = "D", value_parser = parse_duration, default_value = "500ms")]
    #[serde(with = "dur")]
    pub strobe_period: Duration,
    /// Writes of a strobe (at most 100).
    #[arg(id = "clock_strobe_count", long = "clock-strobe-count", value_name = "N", default_value_t = defaults().strobe_count)]
    pub strobe_count: u32,
}

/// `lose-unfsynced` faults.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(next_help_heading = "Nemesis: lose-unfsynced")]
pub struct LoseUnfsyncedOptions {
    /// Targets of lose-unfsynced: one,minority,majority,all,leaders,replicas-but-one.
    #[arg(id = "lose_unfsynced_targets", long = "lose-unfsynced-targets", value_name = "TARGETS", value_delimiter = ',', default_values_t = defaults().lose_unfsynced_targets)]
    pub targets: Vec<Target>,
}

/// `power-loss` faults.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[command(next_help_heading = "Nemesis: power-loss")]
pub struct PowerLossOptions {
    /// Targets of power-loss (same names as lose-unfsynced; default majority,all).
    #[arg(id = "power_loss_targets", long = "power-loss-targets", value_name = "TARGETS", value_delimiter = ',', default_values_t = defaults().power_loss_targets)]
    pub targets: Vec<Target>,
}

macro_rules! default_from_flags {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                flag_defaults()
            }
        }
    )*};
}
default_from_flags!(
    PartitionOptions,
    KillOptions,
    PauseOptions,
    LossOptions,
    ClockOptions,
    LoseUnfsyncedOptions,
    PowerLossOptions
);

/// One fault kind's flags: its table name, its flags' id prefix, their ids
/// and long names, and their values as a table.
pub type KindFlags = (
    &'static str,
    &'static str,
    Vec<(String, String)>,
    serde_json::Value,
);

/// Every fault kind's flags, for the command line: the kind's options
/// apply only when the nemesis plays that kind.
#[derive(Args, Debug, Clone)]
pub struct FaultFlags {
    #[command(flatten)]
    pub partition: PartitionOptions,
    #[command(flatten)]
    pub kill: KillOptions,
    #[command(flatten)]
    pub pause: PauseOptions,
    #[command(flatten)]
    pub loss: LossOptions,
    #[command(flatten)]
    pub clock: ClockOptions,
    #[command(flatten)]
    pub lose_unfsynced: LoseUnfsyncedOptions,
    #[command(flatten)]
    pub power_loss: PowerLossOptions,
}

impl FaultFlags {
    /// Each kind's table name, flag prefix, flag ids and flags as a table.
    pub fn tables(&self) -> Vec<KindFlags> {
        use super::flag_ids;
        let v = |x: &dyn erased::ToJson| x.json();
        vec![
            (
                "partition",
                "partition_",
                flag_ids::<PartitionOptions>(),
                v(&self.partition),
            ),
            ("kill", "kill_", flag_ids::<KillOptions>(), v(&self.kill)),
            (
                "pause",
                "pause_",
                flag_ids::<PauseOptions>(),
                v(&self.pause),
            ),
            ("loss", "loss_", flag_ids::<LossOptions>(), v(&self.loss)),
            (
                "clock",
                "clock_",
                flag_ids::<ClockOptions>(),
                v(&self.clock),
            ),
            (
                "lose-unfsynced",
                "lose_unfsynced_",
                flag_ids::<LoseUnfsyncedOptions>(),
                v(&self.lose_unfsynced),
            ),
            (
                "power-loss",
                "power_loss_",
                flag_ids::<PowerLossOptions>(),
                v(&self.power_loss),
            ),
        ]
    }
}

mod erased {
    pub trait ToJson {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> ToJson for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("options are JSON")
        }
    }
}
