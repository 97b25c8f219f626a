//! A test-only workload: the whole of what adding one takes (this module
//! plus one line in `registry`). One process sends one record; the final
//! phase reads the partition's watermarks.

use super::{Context, Running, TopicSpec, Workload, WorkloadOptions};
use std::time::Duration;
use trial_histories::values::Send;
use trial_histories::{Op, OpType, Process, F};

#[derive(Debug)]
struct Trivial;

pub fn build(_o: &WorkloadOptions) -> Box<dyn Workload> {
    Box::new(Trivial)
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
    fn final_phase(&self, ctx: &Context, timeout: Duration) -> bool {
        ctx.driver
            .consumer(&ctx.settings, "final")
            .and_then(|c| c.watermarks(0, timeout))
            .is_ok()
    }
}
