//! The transactional workload through the driver seam: against the
//! in-memory double (a valid history that commits and aborts), and against
//! a driver that injects librdkafka's error classes, to pin the outcome
//! mapping of `clients` (retriable commit resumed → ok; retries exhausted
//! after the run's end, fenced while committing → info; abortable commit then abort → fail;
//! fenced at begin → fail; every info or fatal error replaces the clients).

use super::*;
use crate::clients::double::DoubleDriver;
use crate::clients::{
    ClientSettings, Consumer, Driver, OnDelivery, Producer, SendOutcome, TxnClient, TxnError,
    TxnErrorKind, TxnSettings,
};
use crate::workloads::tests::{context, options};
use std::collections::VecDeque;
use std::sync::Mutex;
use trial_histories::values::{MicroOp, Partition, Txn as TxnValue};
use trial_histories::{Op, OpType, F};

fn txn_options() -> WorkloadOptions {
    let mut o = options(0);
    o.concurrency = 3;
    o.abort_probability = 0.2;
    o
}

fn read_history(dir: &std::path::Path) -> Vec<Op> {
    std::fs::read_to_string(dir.join("history.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn txn_of(op: &Op) -> TxnValue {
    op.value_as().unwrap()
}

/// Through the double: transactions commit and abort, committed sends
/// carry offsets, the consumed offsets travel with the commits, the final
/// read shows committed records only, and the checker finds the history
/// valid.
#[test]
fn txn_through_the_driver_seam_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let w = crate::workloads::build("txn", &txn_options()).unwrap();
    assert_eq!(w.topic().name, TXN_TOPIC);
    assert!(w.check_options().transactional);
    assert_eq!(
        w.transactional_ids(),
        vec!["kt-txn-0", "kt-txn-1", "kt-txn-2"]
    );
    let ctx = context(dir.path(), 3, Duration::from_millis(1500));
    let running = w.start(ctx.clone());
    assert!(running.join_within(Duration::from_secs(10)).is_empty());
    assert!(w.final_phase(&ctx, Duration::from_secs(5)));
    ctx.history.sync().unwrap();
    let r =
        trial_checkers::check_history_file(&dir.path().join("history.jsonl"), &w.check_options())
            .unwrap();
    assert_eq!(r.valid, trial_checkers::Validity::Valid, "{}", r.summary);

    let h = read_history(dir.path());
    let done = |t: OpType| {
        h.iter()
            .filter(|o| o.f == F::Txn && o.kind == t)
            .map(txn_of)
            .collect::<Vec<_>>()
    };
    let (ok, fail) = (done(OpType::Ok), done(OpType::Fail));
    assert!(ok.len() > 20, "only {} committed transactions", ok.len());
    assert!(fail.iter().any(|t| t.abort), "no deliberate abort");
    assert!(
        ok.iter().any(|t| !t.offsets.is_empty()),
        "no offsets committed"
    );
    // Every send of a transaction has its position (the double always
    // reports), committed or aborted.
    for t in ok.iter().chain(&fail) {
        for m in &t.ops {
            if let MicroOp::Send(s) = m {
                assert!(s.offset.is_some(), "{t:?}");
            }
        }
    }
    // The final read holds exactly the committed sends.
    let mut committed: Vec<u64> = ok
        .iter()
        .flat_map(|t| t.ops.iter())
        .filter_map(|m| match m {
            MicroOp::Send(s) => Some(s.value),
            _ => None,
        })
        .collect();
    let mut read: Vec<u64> = h
        .iter()
        .filter(|o| o.f == F::FinalRead && o.kind == OpType::Ok)
        .flat_map(|o| {
            let fr: trial_histories::values::FinalRead = o.value_as().unwrap();
            fr.records.into_iter().map(|r| r.value)
        })
        .collect();
    committed.sort_unstable();
    read.sort_unstable();
    assert_eq!(committed, read);
    // Every failed transaction is followed by a rewind of its process.
    let rewinds = h
        .iter()
        .filter(|o| o.f == F::Assign && o.kind == OpType::Ok)
        .count();
    assert!(
        rewinds > fail.len(),
        "{rewinds} assigns, {} fails",
        fail.len()
    );
}

/// A driver whose transactional clients are the double's, with the
/// results of `commit`, `begin` and `committed` (the group's offsets an
/// assignment starts at) taken from a script.
#[derive(Debug)]
struct Faulty {
    inner: DoubleDriver,
    commits: Arc<Mutex<VecDeque<Result<(), TxnErrorKind>>>>,
    begins: Arc<Mutex<VecDeque<Result<(), TxnErrorKind>>>>,
    lookups: Arc<Mutex<VecDeque<Result<(), TxnErrorKind>>>>,
    opened: Arc<Mutex<usize>>,
}

struct FaultyClient {
    inner: Box<dyn TxnClient>,
    commits: Arc<Mutex<VecDeque<Result<(), TxnErrorKind>>>>,
    begins: Arc<Mutex<VecDeque<Result<(), TxnErrorKind>>>>,
    lookups: Arc<Mutex<VecDeque<Result<(), TxnErrorKind>>>>,
}

fn scripted(q: &Mutex<VecDeque<Result<(), TxnErrorKind>>>) -> Option<TxnError> {
    match q.lock().unwrap().pop_front() {
        Some(Err(kind)) => Some(TxnError {
            kind,
            message: format!("injected {kind:?}"),
        }),
        _ => None,
    }
}

impl TxnClient for FaultyClient {
    fn begin(&self) -> Result<(), TxnError> {
        match scripted(&self.begins) {
            Some(e) => Err(e),
            None => self.inner.begin(),
        }
    }
    fn send_async(
        &self,
        p: Partition,
        k: u64,
        v: u64,
        done: OnDelivery,
    ) -> Result<(), SendOutcome> {
        self.inner.send_async(p, k, v, done)
    }
    fn send_offsets(&self, o: &[(Partition, i64)], w: Duration) -> Result<(), TxnError> {
        self.inner.send_offsets(o, w)
    }
    fn commit(&self, w: Duration) -> Result<(), TxnError> {
        match scripted(&self.commits) {
            Some(e) => Err(e),
            None => self.inner.commit(w),
        }
    }
    fn abort(&self, w: Duration) -> Result<(), TxnError> {
        self.inner.abort(w)
    }
    fn consumer(&self) -> &dyn Consumer {
        self.inner.consumer()
    }
    fn committed(
        &self,
        p: &[Partition],
        w: Duration,
    ) -> Result<Vec<(Partition, Option<i64>)>, String> {
        match scripted(&self.lookups) {
            Some(e) => Err(e.message),
            None => self.inner.committed(p, w),
        }
    }
}

impl Driver for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn producer(&self, s: &ClientSettings) -> Result<Arc<dyn Producer>, String> {
        self.inner.producer(s)
    }
    fn consumer(&self, s: &ClientSettings, g: &str) -> Result<Box<dyn Consumer>, String> {
        self.inner.consumer(s, g)
    }
    fn transactional(
        &self,
        s: &ClientSettings,
        t: &TxnSettings,
    ) -> Result<Box<dyn TxnClient>, String> {
        *self.opened.lock().unwrap() += 1;
        Ok(Box::new(FaultyClient {
            inner: self.inner.transactional(s, t)?,
            commits: self.commits.clone(),
            begins: self.begins.clone(),
            lookups: self.lookups.clone(),
        }))
    }
}

/// A scripted case: name, commit results, begin results, the outcome
/// wanted, whether the clients must be replaced.
type Case = (
    &'static str,
    Vec<Result<(), TxnErrorKind>>,
    Vec<Result<(), TxnErrorKind>>,
    OpType,
    bool,
);

/// Each scripted error class ends its transaction as the contract says,
/// and the clients are replaced exactly after info or fatal outcomes.
#[test]
fn error_classes_map_to_outcomes() {
    use TxnErrorKind::*;
    let cases: Vec<Case> = vec![
        ("commit ok", vec![Ok(())], vec![], OpType::Ok, false),
        (
            "retriable commit, retried",
            vec![Err(Retriable), Ok(())],
            vec![],
            OpType::Ok,
            false,
        ),
        (
            "retriable commit, resumed while the run goes on",
            vec![Err(Retriable); 6],
            vec![],
            OpType::Ok,
            false,
        ),
        (
            "retries exhausted after the run's end",
            vec![Err(Retriable); 3],
            vec![],
            OpType::Info,
            true,
        ),
        (
            "fenced while committing",
            vec![Err(Fatal)],
            vec![],
            OpType::Info,
            true,
        ),
        (
            "abortable commit, aborted",
            vec![Err(Abortable)],
            vec![],
            OpType::Fail,
            false,
        ),
        (
            "fenced at begin",
            vec![],
            vec![Err(Fatal)],
            OpType::Fail,
            true,
        ),
    ];
    for (name, commits, begins, want, replaced) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut o = txn_options();
        o.concurrency = 1;
        o.abort_probability = 0.0;
        o.send_ratio = 1.0;
        o.rate = 0.0;
        let driver = Arc::new(Faulty {
            inner: DoubleDriver::new(3),
            commits: Arc::new(Mutex::new(commits.into())),
            begins: Arc::new(Mutex::new(begins.into())),
            lookups: Arc::default(),
            opened: Arc::new(Mutex::new(0)),
        });
        let mut ctx = context(dir.path(), 3, Duration::from_secs(10));
        ctx.driver = driver.clone();
        let s = Shared {
            ctx: ctx.clone(),
            opts: o,
            next_value: AtomicU64::new(0),
            next_process: AtomicU64::new(1),
        };
        let mut pr = process::Proc::new(0, &s);
        assert!(pr.open());
        if name.ends_with("after the run's end") {
            ctx.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let end = pr.transaction();
        assert_eq!(end.kind, want, "{name}");
        assert_eq!(end.replace || end.kind == OpType::Info, replaced, "{name}");
        ctx.history.sync().unwrap();
        let h = read_history(dir.path());
        let last = h.iter().rev().find(|o| o.f == F::Txn).unwrap();
        assert_eq!(last.kind, want, "{name}");
        let t = txn_of(last);
        if want != OpType::Ok || name == "fenced at begin" {
            assert!(last.error.is_some(), "{name}: no error recorded");
        }
        if name != "fenced at begin" {
            // The sends reached the log whatever the outcome: their
            // positions are recorded.
            assert!(
                t.ops
                    .iter()
                    .all(|m| matches!(m, MicroOp::Send(s) if s.offset.is_some())),
                "{name}: {t:?}"
            );
        }
    }
}

/// Clients reopened while the group coordinator is away: the assignment
/// at open fails (its committed offsets cannot be fetched), and the
/// process asks for an assignment again before its next transaction
/// instead of polling nothing.
#[test]
fn a_failed_assignment_is_asked_again_before_the_next_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = txn_options();
    o.concurrency = 1;
    o.rate = 0.0;
    let driver = Arc::new(Faulty {
        inner: DoubleDriver::new(3),
        commits: Arc::default(),
        begins: Arc::default(),
        lookups: Arc::new(Mutex::new(vec![Err(TxnErrorKind::Other)].into())),
        opened: Arc::new(Mutex::new(0)),
    });
    let mut ctx = context(dir.path(), 3, Duration::from_millis(300));
    ctx.driver = driver;
    let s = Shared {
        ctx: ctx.clone(),
        opts: o,
        next_value: AtomicU64::new(0),
        next_process: AtomicU64::new(1),
    };
    process::txn_process(0, &s);
    ctx.history.sync().unwrap();
    let h = read_history(dir.path());
    let completed: Vec<&Op> = h
        .iter()
        .filter(|o| o.kind != OpType::Invoke && matches!(o.f, F::Assign | F::Txn))
        .collect();
    assert!(completed.len() >= 3, "{completed:?}");
    assert_eq!(
        (completed[0].f.clone(), completed[0].kind),
        (F::Assign, OpType::Fail)
    );
    assert_eq!(
        (completed[1].f.clone(), completed[1].kind),
        (F::Assign, OpType::Ok),
        "the next step after a failed assignment is an assignment"
    );
    assert_eq!(completed[2].f, F::Txn);
}
