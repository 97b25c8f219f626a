//! What the nemesis' integration tests share: an in-memory history, plans
//! of hand-made actions, and playing them on a simulated cluster.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use trial_histories::op::Op;
use trial_histories::writer::HistoryWriter;
use trial_nemesis::{
    run, Action, Fault, NemesisError, NemesisOptions, NoTargets, Node, Phase, ProcessRole,
    RunReport, Schedule, Target, Targets,
};

#[derive(Clone, Default)]
pub struct Buf(pub Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Buf {
    pub fn ops(&self) -> Vec<Op> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

pub fn history() -> (Buf, Arc<HistoryWriter>) {
    let b = Buf::default();
    (b.clone(), Arc::new(HistoryWriter::from_writer(b)))
}

/// `(type, f)` of every op, all by the nemesis; the ops must pair.
pub fn shape(ops: &[Op]) -> Vec<(String, String)> {
    trial_histories::pair::pair_all(ops.iter().cloned()).expect("ops pair up");
    ops.iter()
        .map(|o| {
            assert_eq!(o.process.to_string(), "nemesis");
            (o.kind.to_string(), o.f.to_string())
        })
        .collect()
}

pub fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

pub fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub fn plan(n: usize, actions: Vec<Action>) -> Schedule {
    Schedule {
        seed: 0,
        nodes: trial_nemesis::node_names(n),
        zookeeper: vec![],
        period: Duration::from_secs(1),
        options: NemesisOptions::default(),
        actions,
    }
}

pub fn pair(id: u32, start_ms: u64, stop_ms: u64, fault: Fault) -> Vec<Action> {
    vec![
        Action {
            at_ms: start_ms,
            id,
            phase: Phase::Start,
            seed: 7,
            fault: fault.clone(),
        },
        Action {
            at_ms: stop_ms,
            id,
            phase: Phase::Stop,
            seed: 7,
            fault,
        },
    ]
}

pub fn never() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    std::mem::forget(tx);
    rx
}

pub fn no_targets() -> Arc<dyn Targets> {
    Arc::new(NoTargets)
}

pub fn kill(target: Target, nodes: Option<BTreeSet<String>>) -> Fault {
    Fault::Kill {
        target,
        nodes,
        process: ProcessRole::Broker,
    }
}

pub fn pause(target: Target, nodes: Option<BTreeSet<String>>) -> Fault {
    Fault::Pause {
        target,
        nodes,
        process: ProcessRole::Broker,
    }
}

/// Play `s` on `nodes` from now, never cancelled; the history and the
/// report (the run must succeed).
pub async fn play(
    s: &Schedule,
    nodes: Vec<Arc<dyn Node>>,
    targets: Arc<dyn Targets>,
) -> (Buf, RunReport) {
    let (buf, h) = history();
    let r = run(s, nodes, targets, h, never(), Instant::now()).await;
    (buf, r.expect("the run succeeds"))
}

/// As [`play`], for a run that must fail.
pub async fn play_err(
    s: &Schedule,
    nodes: Vec<Arc<dyn Node>>,
    targets: Arc<dyn Targets>,
) -> (Buf, NemesisError) {
    let (buf, h) = history();
    let r = run(s, nodes, targets, h, never(), Instant::now()).await;
    (buf, r.expect_err("the run fails"))
}
