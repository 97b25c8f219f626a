//! After heal: a fresh consumer reads every partition from its start to
//! its high watermark, one `final-read` op per partition (process `final`).
//! The transactional workload reuses it with a `read_committed` consumer:
//! there the last offsets below the high watermark may hold transaction
//! markers or aborted records that are never returned, so the read also
//! ends when the consumer's position reaches the high watermark — the
//! true one, asked with `read_uncommitted`, not the last stable offset a
//! `read_committed` consumer is told (see `final_read_one`).

use crate::clients::{ClientSettings, Driver, StartAt};
use crate::workloads::Context;
use std::time::{Duration, Instant};
use trial_histories::values::{FinalRead, Partition};
use trial_histories::{Op, OpType, Process, F};

/// Read every partition; returns whether every one was read completely.
pub fn final_reads(ctx: &Context, partitions: u32, timeout: Duration) -> bool {
    let proc_ = Process::Named("final".into());
    let mut all = true;
    for part in 0..partitions as Partition {
        let _ = ctx.history.append(
            Op::new(proc_.clone(), OpType::Invoke, F::FinalRead)
                .with_value(&serde_json::json!({ "partition": part })),
        );
        let (kind, value, err) = final_read_one(ctx.driver.as_ref(), &ctx.settings, part, timeout);
        all &= kind == OpType::Ok;
        let mut op = Op::new(proc_.clone(), kind, F::FinalRead).with_value(&value);
        if let Some(e) = err {
            op = op.with_error(e);
        }
        let _ = ctx.history.append(op);
    }
    all
}

/// Whether consumers made with `settings` read committed records only
/// (librdkafka's default `isolation.level`).
fn reads_committed(settings: &ClientSettings) -> bool {
    settings
        .consumer_overrides
        .get("isolation.level")
        .is_none_or(|v| v != "read_uncommitted")
}

fn final_read_one(
    driver: &dyn Driver,
    settings: &ClientSettings,
    part: Partition,
    timeout: Duration,
) -> (OpType, FinalRead, Option<String>) {
    let deadline = Instant::now() + timeout;
    let mut fr = FinalRead {
        partition: part,
        ..Default::default()
    };
    let c = match driver.consumer(settings, &format!("kt-final-{part}")) {
        Ok(c) => c,
        Err(e) => return (OpType::Fail, fr, Some(e)),
    };
    // Watermarks first: everything below the high watermark is committed to
    // the ISR, and the read must reach it. A read_committed consumer's
    // watermark query answers the last stable offset instead: a transaction
    // left open (its producer gone) holds that below records committed
    // after it, and a read that stopped there would report them never read
    // (`unseen`). So the high watermark is asked of a read_uncommitted
    // consumer; the read_committed read then reaches it once every
    // transaction below it has ended (its coordinator aborts an abandoned
    // one after the transaction timeout), or is recorded incomplete.
    let uncommitted;
    let w = if reads_committed(settings) {
        let mut s = settings.clone();
        s.consumer_overrides
            .insert("isolation.level".into(), "read_uncommitted".into());
        uncommitted = match driver.consumer(&s, &format!("kt-final-{part}")) {
            Ok(c) => c,
            Err(e) => return (OpType::Fail, fr, Some(e)),
        };
        uncommitted.as_ref()
    } else {
        c.as_ref()
    };
    let (lo, hi) = loop {
        match w.watermarks(part, Duration::from_secs(5)) {
            Ok(w) => break w,
            Err(e) if Instant::now() >= deadline => {
                return (OpType::Fail, fr, Some(format!("watermarks: {e}")))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    fr.start_offset = lo;
    fr.high_watermark = hi;
    if hi <= lo {
        return (OpType::Ok, fr, None);
    }
    if let Err(e) = c.assign(&[part], StartAt::Offset(lo)) {
        return (OpType::Fail, fr, Some(e));
    }
    let mut last = lo - 1;
    while last + 1 < hi {
        if Instant::now() >= deadline {
            return (
                OpType::Info,
                fr,
                Some(format!(
                    "timed out at offset {} of high watermark {hi}",
                    last + 1
                )),
            );
        }
        let r = c.poll(10_000, Duration::from_millis(500));
        for rec in r.records {
            if rec.partition == part && rec.offset < hi {
                last = last.max(rec.offset);
                fr.records.push(rec);
            }
        }
        if c.position(part).is_some_and(|pos| pos >= hi) {
            break;
        }
    }
    (OpType::Ok, fr, None)
}
