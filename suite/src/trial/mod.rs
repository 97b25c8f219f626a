//! A trial: the spec, the run from cluster to verdict, scripted nemeses,
//! named scenarios and the progress shown meanwhile.
//!
//! A user's `cargo test` scenario is a few lines:
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use kafka_trial::trial::{run, TestSpec};
//! let report = run(TestSpec::new("my-test").nodes(3).acks_all().nemesis("kill")?).await?;
//! assert_eq!(report.anomaly("lost-write"), 0);
//! # Ok(()) }
//! ```
//!
//! - [`spec`]: [`TestSpec`] (→ `test.json`), [`NemesisPlan`], [`Report`];
//! - [`run`](mod@run): [`run()`] and the terminal [`summary`];
//! - [`script`]: scripted faults resolved against the topic's leaders;
//! - [`fixed`]: fixed schedules, faults replayed exactly as planned;
//! - [`shrink`]: from a failing run to the smallest schedule that still
//!   fails, with its reproduction rate (`kafka-trial shrink`);
//! - [`scenarios`]: the named presets (`kafka-trial scenario list`);
//! - [`claims`]: textbook claims as experiments with verdicts
//!   (`kafka-trial claims`): the catalogue, `claims.json`;
//! - [`matrix`]: a scenario over Kafka releases, modes and seeds
//!   (`kafka-trial matrix`): cells, figures, `matrix.json`;
//! - [`targets`]: Kafka-aware targets for the nemesis;
//! - [`progress`]: the live progress line.

pub mod claims;
pub mod fixed;
pub mod matrix;
pub mod progress;
pub mod repeat;
pub mod run;
pub mod scenarios;
pub mod script;
pub mod shrink;
pub mod spec;
pub mod targets;

pub use run::{run, summary};
pub use scenarios::{last_replica_script, unclean_script, Scenario, SCENARIOS};
pub use script::{ScriptFault, ScriptStep, ScriptTarget};
pub use spec::{Linearizability, NemesisPlan, Report, TestSpec};
