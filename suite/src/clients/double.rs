//! A test double of a Kafka client: an in-memory topic whose partitions
//! are vectors, behind the [`Driver`] contract. For unit tests of workloads
//! and of the driver seam only; an end-to-end test never uses it.

use super::{
    ClientSettings, Consumer, Driver, OnDelivery, PollResult, Producer, SendOutcome, StartAt,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trial_histories::values::{Partition, Record};

/// The in-memory topic: one vector of (key, value) per partition.
#[derive(Debug, Default)]
struct Log {
    partitions: Vec<Vec<(u64, u64)>>,
}

/// A driver whose clients share one in-memory topic.
#[derive(Debug, Clone)]
pub struct DoubleDriver {
    log: Arc<Mutex<Log>>,
}

impl DoubleDriver {
    pub fn new(partitions: usize) -> DoubleDriver {
        DoubleDriver {
            log: Arc::new(Mutex::new(Log {
                partitions: vec![vec![]; partitions],
            })),
        }
    }
}

impl Default for DoubleDriver {
    fn default() -> Self {
        DoubleDriver::new(3)
    }
}

struct DoubleProducer {
    log: Arc<Mutex<Log>>,
}

impl Producer for DoubleProducer {
    fn send_async(&self, key: u64, value: u64, done: OnDelivery) -> Result<(), SendOutcome> {
        let mut log = self.log.lock().expect("log lock");
        let n = log.partitions.len() as u64;
        let p = (key % n) as usize;
        log.partitions[p].push((key, value));
        let offset = log.partitions[p].len() as i64 - 1;
        drop(log);
        done(SendOutcome::Ok {
            partition: p as Partition,
            offset,
        });
        Ok(())
    }
    fn flush(&self, _within: Duration) {}
}

struct DoubleConsumer {
    log: Arc<Mutex<Log>>,
    /// (partition, next offset) of each assigned partition.
    positions: Mutex<Vec<(Partition, i64)>>,
}

impl Consumer for DoubleConsumer {
    fn assign(&self, partitions: &[Partition], from: StartAt) -> Result<(), String> {
        let start = match from {
            StartAt::Beginning => 0,
            StartAt::Offset(o) => o,
        };
        *self.positions.lock().expect("lock") = partitions.iter().map(|&p| (p, start)).collect();
        Ok(())
    }
    fn subscribe(&self) -> Result<(), String> {
        let n = self.log.lock().expect("log lock").partitions.len();
        self.assign(&(0..n as Partition).collect::<Vec<_>>(), StartAt::Beginning)
    }
    fn poll(&self, max: usize, _within: Duration) -> PollResult {
        let log = self.log.lock().expect("log lock");
        let mut res = PollResult::default();
        for (p, next) in self.positions.lock().expect("lock").iter_mut() {
            let part = &log.partitions[*p as usize];
            while (*next as usize) < part.len() && res.records.len() < max {
                let (key, value) = part[*next as usize];
                res.records.push(Record {
                    partition: *p,
                    offset: *next,
                    key,
                    value,
                });
                *next += 1;
            }
        }
        res
    }
    fn watermarks(&self, p: Partition, _within: Duration) -> Result<(i64, i64), String> {
        let log = self.log.lock().expect("log lock");
        let part = log
            .partitions
            .get(p as usize)
            .ok_or_else(|| format!("no partition {p}"))?;
        Ok((0, part.len() as i64))
    }
}

impl Driver for DoubleDriver {
    fn name(&self) -> &'static str {
        "double"
    }
    fn producer(&self, _s: &ClientSettings) -> Result<Arc<dyn Producer>, String> {
        Ok(Arc::new(DoubleProducer {
            log: self.log.clone(),
        }))
    }
    fn consumer(&self, _s: &ClientSettings, _group: &str) -> Result<Box<dyn Consumer>, String> {
        Ok(Box::new(DoubleConsumer {
            log: self.log.clone(),
            positions: Mutex::new(vec![]),
        }))
    }
}
