//! A test double of a Kafka client: an in-memory topic whose partitions
//! are vectors, behind the [`Driver`] contract, with transactions (open,
//! committed and aborted records, commit and abort markers that take an
//! offset each, a last stable offset for `read_committed`, and group
//! offsets committed with a transaction). A test can make its clients
//! stall ([`DoubleDriver::set_stalled`]). For unit tests of workloads and
//! of the driver seam only; an end-to-end test never uses it.

use super::{
    ClientSettings, Consumer, Driver, Isolation, OnDelivery, PollResult, Producer, SendOutcome,
    StartAt, TxnClient, TxnError, TxnErrorKind, TxnSettings,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trial_histories::values::{Partition, Record};

/// The state of one log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A plain record, or one of a committed transaction.
    Committed,
    /// A record of the open transaction with this number.
    Open(u64),
    Aborted,
    /// A transaction marker (a control record: never returned).
    Marker,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    value: u64,
    state: State,
}

/// The in-memory topic, and the groups' committed offsets.
#[derive(Debug, Default)]
struct Log {
    partitions: Vec<Vec<Entry>>,
    /// (group, partition) → committed offset.
    offsets: BTreeMap<(String, Partition), i64>,
    next_txn: u64,
}

impl Log {
    fn append(&mut self, p: usize, key: u64, value: u64, state: State) -> i64 {
        self.partitions[p].push(Entry { key, value, state });
        self.partitions[p].len() as i64 - 1
    }
}

/// A driver whose clients share one in-memory topic.
#[derive(Debug, Clone)]
pub struct DoubleDriver {
    log: Arc<Mutex<Log>>,
    /// While set, the clients answer nothing (see [`DoubleDriver::set_stalled`]).
    stalled: Arc<AtomicBool>,
}

impl DoubleDriver {
    pub fn new(partitions: usize) -> DoubleDriver {
        DoubleDriver {
            log: Arc::new(Mutex::new(Log {
                partitions: vec![vec![]; partitions],
                ..Default::default()
            })),
            stalled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Make every client of this driver stall, or resume: while stalled,
    /// a plain send waits before it is accepted (its op stays in flight)
    /// and a poll returns nothing after its wait (at most 50 ms), as
    /// clients stuck on brokers that do not answer. The topic itself is
    /// untouched.
    pub fn set_stalled(&self, on: bool) {
        self.stalled.store(on, Ordering::SeqCst);
    }
}

impl Default for DoubleDriver {
    fn default() -> Self {
        DoubleDriver::new(3)
    }
}

struct DoubleProducer {
    log: Arc<Mutex<Log>>,
    stalled: Arc<AtomicBool>,
}

impl Producer for DoubleProducer {
    fn send_async(&self, key: u64, value: u64, done: OnDelivery) -> Result<(), SendOutcome> {
        while self.stalled.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut log = self.log.lock().expect("log lock");
        let n = log.partitions.len() as u64;
        let p = (key % n) as usize;
        let offset = log.append(p, key, value, State::Committed);
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
    isolation: Isolation,
    /// (partition, next offset) of each assigned partition.
    positions: Mutex<Vec<(Partition, i64)>>,
    stalled: Arc<AtomicBool>,
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
    fn assign_at(&self, at: &[(Partition, i64)]) -> Result<(), String> {
        *self.positions.lock().expect("lock") = at.to_vec();
        Ok(())
    }
    fn poll(&self, max: usize, within: Duration) -> PollResult {
        if self.stalled.load(Ordering::SeqCst) {
            std::thread::sleep(within.min(Duration::from_millis(50)));
            return PollResult::default();
        }
        let log = self.log.lock().expect("log lock");
        let mut res = PollResult::default();
        for (p, next) in self.positions.lock().expect("lock").iter_mut() {
            let part = &log.partitions[*p as usize];
            while (*next as usize) < part.len() && res.records.len() < max {
                let e = part[*next as usize];
                let visible = match (e.state, self.isolation) {
                    (State::Committed, _) => true,
                    (State::Marker, _) => false,
                    // The last stable offset: read_committed stops at the
                    // first record of an open transaction.
                    (State::Open(_), Isolation::ReadCommitted) => break,
                    (State::Open(_), Isolation::ReadUncommitted) => true,
                    (State::Aborted, i) => i == Isolation::ReadUncommitted,
                };
                if visible {
                    res.records.push(Record {
                        partition: *p,
                        offset: *next,
                        key: e.key,
                        value: e.value,
                    });
                }
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
    fn position(&self, p: Partition) -> Option<i64> {
        let pos = self.positions.lock().expect("lock");
        pos.iter().find(|(q, _)| *q == p).map(|(_, o)| *o)
    }
}

/// An open transaction: its number, the partitions it wrote to, the
/// offsets it will commit.
type OpenTxn = (u64, Vec<usize>, Vec<(Partition, i64)>);

/// A transactional client of the in-memory topic.
struct DoubleTxn {
    log: Arc<Mutex<Log>>,
    group: String,
    consumer: DoubleConsumer,
    /// The open transaction: its number, its partitions, its offsets.
    open: Mutex<Option<OpenTxn>>,
}

fn state_error(m: &str) -> TxnError {
    TxnError {
        kind: TxnErrorKind::Other,
        message: m.into(),
    }
}

impl DoubleTxn {
    /// Close the open transaction: mark its records and write a marker in
    /// every partition it touched.
    fn end(&self, commit: bool) -> Result<(), TxnError> {
        let (n, parts, offsets) = self
            .open
            .lock()
            .expect("lock")
            .take()
            .ok_or_else(|| state_error("no open transaction"))?;
        let mut log = self.log.lock().expect("log lock");
        for &p in &parts {
            for e in log.partitions[p].iter_mut() {
                if e.state == State::Open(n) {
                    e.state = if commit {
                        State::Committed
                    } else {
                        State::Aborted
                    };
                }
            }
            log.append(p, 0, 0, State::Marker);
        }
        if commit {
            for (p, o) in offsets {
                log.offsets.insert((self.group.clone(), p), o);
            }
        }
        Ok(())
    }
}

impl TxnClient for DoubleTxn {
    fn begin(&self) -> Result<(), TxnError> {
        let mut open = self.open.lock().expect("lock");
        if open.is_some() {
            return Err(state_error("a transaction is already open"));
        }
        let mut log = self.log.lock().expect("log lock");
        log.next_txn += 1;
        *open = Some((log.next_txn, vec![], vec![]));
        Ok(())
    }
    fn send_async(
        &self,
        partition: Partition,
        key: u64,
        value: u64,
        done: OnDelivery,
    ) -> Result<(), SendOutcome> {
        let mut open = self.open.lock().expect("lock");
        let Some((n, parts, _)) = open.as_mut() else {
            return Err(SendOutcome::Fail("no open transaction".into()));
        };
        let p = partition as usize;
        let offset = self
            .log
            .lock()
            .expect("log lock")
            .append(p, key, value, State::Open(*n));
        if !parts.contains(&p) {
            parts.push(p);
        }
        drop(open);
        done(SendOutcome::Ok { partition, offset });
        Ok(())
    }
    fn send_offsets(&self, offsets: &[(Partition, i64)], _w: Duration) -> Result<(), TxnError> {
        let mut open = self.open.lock().expect("lock");
        let (_, _, o) = open
            .as_mut()
            .ok_or_else(|| state_error("no open transaction"))?;
        o.extend_from_slice(offsets);
        Ok(())
    }
    fn commit(&self, _within: Duration) -> Result<(), TxnError> {
        self.end(true)
    }
    fn abort(&self, _within: Duration) -> Result<(), TxnError> {
        self.end(false)
    }
    fn consumer(&self) -> &dyn Consumer {
        &self.consumer
    }
    fn committed(
        &self,
        partitions: &[Partition],
        _within: Duration,
    ) -> Result<Vec<(Partition, Option<i64>)>, String> {
        let log = self.log.lock().expect("log lock");
        Ok(partitions
            .iter()
            .map(|&p| (p, log.offsets.get(&(self.group.clone(), p)).copied()))
            .collect())
    }
}

impl Driver for DoubleDriver {
    fn name(&self) -> &'static str {
        "double"
    }
    fn producer(&self, _s: &ClientSettings) -> Result<Arc<dyn Producer>, String> {
        Ok(Arc::new(DoubleProducer {
            log: self.log.clone(),
            stalled: self.stalled.clone(),
        }))
    }
    fn consumer(&self, _s: &ClientSettings, _group: &str) -> Result<Box<dyn Consumer>, String> {
        Ok(Box::new(DoubleConsumer {
            log: self.log.clone(),
            isolation: Isolation::ReadCommitted,
            positions: Mutex::new(vec![]),
            stalled: self.stalled.clone(),
        }))
    }
    fn transactional(
        &self,
        _s: &ClientSettings,
        t: &TxnSettings,
    ) -> Result<Box<dyn TxnClient>, String> {
        Ok(Box::new(DoubleTxn {
            log: self.log.clone(),
            group: t.group.clone(),
            consumer: DoubleConsumer {
                log: self.log.clone(),
                isolation: t.isolation,
                positions: Mutex::new(vec![]),
                stalled: self.stalled.clone(),
            },
            open: Mutex::new(None),
        }))
    }
}
