//! The logical send processes: `senders` processes share one producer,
//! each with at most one send outstanding, invoked at the sends' share of
//! `--rate` (Poisson). Delivery reports complete their sends in the history
//! and free their processes; a send that ends `info` retires its process
//! and a fresh id takes its place (Jepsen's rule), so the number of live
//! processes stays `senders`. librdkafka batches across the outstanding
//! sends, so this is also how the harness keeps up with Kafka.

use super::consumers::send_completion;
use super::Shared;
use crate::clients::SendOutcome;
use crate::workloads::pacing::Pacer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Duration;
use trial_histories::values::Send;
use trial_histories::{Op, OpType, Process, F};

/// Run the senders until the deadline, then wait (bounded) for every
/// outstanding send's report.
pub(crate) fn senders(s: &Arc<Shared>) {
    let ctx = &s.ctx;
    let first = s.opts.concurrency as u64;
    let (idle_tx, idle_rx) = std::sync::mpsc::channel::<u64>();
    for p in first..first + s.opts.senders as u64 {
        let _ = idle_tx.send(p);
    }
    let mut settings = ctx.settings.clone();
    // Batch across the in-flight sends, as a real high-throughput producer would.
    settings
        .producer_overrides
        .entry("linger.ms".into())
        .or_insert_with(|| "5".into());
    let producer = match ctx.driver.producer(&settings) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("cannot create the senders' producer: {e}");
            return;
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed ^ 0x5EED_F00D);
    let gap = if s.opts.rate > 0.0 {
        1.0 / (s.opts.rate * s.opts.send_ratio.max(0.01))
    } else {
        0.0
    };
    let mut pacer = Pacer::new(gap);
    while !ctx.done() {
        if !pacer.wait(&mut rng, ctx.deadline) {
            break;
        }
        let Ok(p) = idle_rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let key = rng.gen_range(0..s.opts.keys.max(1));
        let value = s.fresh_value();
        let v = Send {
            key,
            value,
            partition: None,
            offset: None,
        };
        ctx.record(Op::new(Process::Worker(p), OpType::Invoke, F::Send).with_value(&v));
        let done = {
            let s = s.clone();
            let idle = idle_tx.clone();
            Box::new(move |o: SendOutcome| {
                let retire = matches!(o, SendOutcome::Info(_));
                s.ctx.record(send_completion(&s, Process::Worker(p), v, o));
                let _ = idle.send(if retire { s.fresh_process() } else { p });
            })
        };
        if let Err(refused) = producer.send_async(key, value, done) {
            let queue_full = matches!(&refused, SendOutcome::Fail(e) if e.contains("Queue full"));
            ctx.record(send_completion(s, Process::Worker(p), v, refused));
            let _ = idle_tx.send(p);
            if queue_full {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    // Every outstanding send gets its report within the message timeout.
    producer.flush(ctx.settings.message_timeout + Duration::from_secs(5));
}
