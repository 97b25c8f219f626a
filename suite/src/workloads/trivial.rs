//! A test-only workload: the whole of what adding one takes (this module
//! plus one line in `registry`), one option included: `--trivial-examples`
//! (`[workload.trivial] trivial_examples = N` in a spec), which reaches its
//! checker options. One process sends one record; the final phase reads
//! the partition's watermarks.

use super::{Context, Running, TopicSpec, Workload, WorkloadOptions};
use std::time::Duration;
use trial_histories::values::Send;
use trial_histories::{Op, OpType, Process, F};

/// The trivial workload's one option.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, clap::Args)]
#[command(next_help_heading = "Workload: trivial")]
pub struct TrivialOptions {
    /// trivial workload: how many examples of each anomaly its checkers keep.
    #[arg(long, default_value_t = 3)]
    pub trivial_examples: usize,
}

impl super::PackageOptions for TrivialOptions {
    fn validate(&self) -> Result<(), String> {
        if self.trivial_examples == 0 {
            return Err("--trivial-examples must be at least 1".into());
        }
        Ok(())
    }
}

/// The package: its line in the registry is `&trivial::PACKAGE`.
pub static PACKAGE: super::Pkg<TrivialOptions> = super::Pkg {
    name: "trivial",
    build: build_with,
    carried: None,
};

fn build_with(_o: &WorkloadOptions, t: &TrivialOptions) -> Box<dyn Workload> {
    Box::new(Trivial {
        examples: t.trivial_examples,
    })
}

#[derive(Debug)]
struct Trivial {
    examples: usize,
}

impl Workload for Trivial {
    fn name(&self) -> &'static str {
        "trivial"
    }
    fn topic(&self) -> TopicSpec {
        TopicSpec {
            name: "trivial".into(),
            partitions: 1,
        }
    }
    fn start(&self, ctx: Context) -> Running {
        let mut r = Running::new();
        r.spawn("trivial".into(), move || {
            let v = Send {
                key: 0,
                value: 1,
                partition: None,
                offset: None,
            };
            let p = Process::Worker(0);
            ctx.record(Op::new(p.clone(), OpType::Invoke, F::Send).with_value(&v));
            let t = match ctx.driver.producer(&ctx.settings) {
                Ok(pr) => match pr.send(0, 1, Duration::from_secs(1)) {
                    crate::clients::SendOutcome::Ok { .. } => OpType::Ok,
                    _ => OpType::Info,
                },
                Err(_) => OpType::Fail,
            };
            ctx.record(Op::new(p, t, F::Send).with_value(&v));
        });
        r
    }
    fn check_options(&self) -> trial_checkers::CheckOptions {
        trial_checkers::CheckOptions {
            max_examples: self.examples,
            ..Default::default()
        }
    }
    fn final_phase(&self, ctx: &Context, timeout: Duration) -> bool {
        ctx.driver
            .consumer(&ctx.settings, "final")
            .and_then(|c| c.watermarks(0, timeout))
            .is_ok()
    }
}
