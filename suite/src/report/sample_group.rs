//! The consumer group of a sample run ([`super::sample_run::SampleRunSpec::group`]):
//! the pollers (odd workers) subscribe to one group, get partitions
//! round-robin, commit synchronously after every poll that returned
//! records, and partition 0 moves from the first poller to the second in
//! the middle of the run: with anomalies the second gets it before the
//! first lets go (two owners at once), else after (a stretch without an
//! owner). Not a model of Kafka's group protocol: enough for the report's
//! group section to have something true to draw.

use super::sample_run::{Line, Out};
use anyhow::Result;
use serde_json::{json, Value};

/// The consumer group of a sample run.
pub const GROUP: &str = "kt-sample";

/// A partition moved from one poller to another in a sample group run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandOver {
    pub partition: usize,
    pub from: u64,
    pub to: u64,
    /// When both owned it (ns), with `anomalies`.
    pub overlap: Option<(u64, u64)>,
}

pub(super) struct SampleGroup {
    pollers: Vec<u64>,
    parts: usize,
    seed: u64,
    /// Per worker, the partitions it owns.
    owned: Vec<Vec<usize>>,
    joined: Vec<bool>,
    generation: i32,
    /// Per partition, the group's committed offset.
    committed: Vec<usize>,
    /// (from, to, partition, revoked at, added at)
    hand_over: Option<(u64, u64, usize, u64, u64)>,
    revoked_done: bool,
    added_done: bool,
}

/// Write one group event (a `rebalance` or `subscribe`): its invocation
/// and completion at once, as the group workload does.
fn event(out: &mut Out, t: u64, w: u64, f: &str, value: Value) -> Result<()> {
    for kind in ["invoke", "ok"] {
        out.put(Line {
            time: t,
            process: json!(w),
            kind,
            f,
            value: value.clone(),
            error: None,
        })?;
    }
    Ok(())
}

impl SampleGroup {
    /// Partition 0 is revoked from the first poller at `revoke_at` and
    /// given to the second at `add_at` (with at least two pollers).
    pub(super) fn new(workers: u64, parts: usize, seed: u64, revoke_at: u64, add_at: u64) -> Self {
        let pollers: Vec<u64> = (0..workers).filter(|w| w % 2 == 1).collect();
        let hand_over =
            (pollers.len() >= 2).then(|| (pollers[0], pollers[1], 0usize, revoke_at, add_at));
        SampleGroup {
            pollers,
            parts,
            seed,
            owned: vec![Vec::new(); workers as usize],
            joined: vec![false; workers as usize],
            generation: 1,
            committed: vec![0; parts],
            hand_over,
            revoked_done: false,
            added_done: false,
        }
    }

    pub(super) fn hand_over(&self) -> Option<HandOver> {
        self.hand_over.map(|(from, to, p, r, a)| HandOver {
            partition: p,
            from,
            to,
            overlap: (a < r).then_some((a, r)),
        })
    }

    pub(super) fn owns(&self, w: u64, p: usize) -> bool {
        self.owned[w as usize].contains(&p)
    }

    /// Before poller `w`'s op at `t`: join the group on its first op, and
    /// the hand-over's events once their time has come (each event's `at`
    /// is its scripted time, at or before the op that reports it).
    /// `read_pos` is the poller's position per partition.
    pub(super) fn before_op(
        &mut self,
        out: &mut Out,
        t: u64,
        w: u64,
        read_pos: &mut [usize],
    ) -> Result<()> {
        let wi = w as usize;
        if !self.joined[wi] {
            self.joined[wi] = true;
            let sub = json!({"topics": ["queue"], "group": GROUP, "protocol": "classic",
                "assignor": "cooperative-sticky", "commit": "sync"});
            event(out, t, w, "subscribe", sub)?;
            let i = self.pollers.iter().position(|x| *x == w).unwrap_or(0);
            let n = self.pollers.len().max(1);
            let mine: Vec<usize> = (0..self.parts).filter(|p| p % n == i).collect();
            for &p in &mine {
                read_pos[p] = self.committed[p];
            }
            self.owned[wi] = mine.clone();
            let v = json!({"partitions": mine, "added": mine, "generation": self.generation,
                "member": format!("rdkafka-{w}-{:08x}", self.seed), "at": t});
            event(out, t, w, "rebalance", v)?;
        }
        let Some((from, to, p, r, a)) = self.hand_over else {
            return Ok(());
        };
        if w == from && !self.revoked_done && t >= r {
            self.revoked_done = true;
            self.generation += 1;
            self.owned[wi].retain(|x| *x != p);
            let v = json!({"partitions": self.owned[wi], "revoked": [p],
                "generation": self.generation, "at": r});
            event(out, t, w, "rebalance", v)?;
        }
        if w == to && !self.added_done && t >= a {
            self.added_done = true;
            self.generation += 1;
            self.owned[wi].push(p);
            read_pos[p] = self.committed[p];
            let v = json!({"partitions": self.owned[wi], "added": [p], "generation": self.generation,
                "committed": [[p, self.committed[p]]], "at": a});
            event(out, t, w, "rebalance", v)?;
        }
        Ok(())
    }

    /// A sync commit of the next offsets (`pos`) of what `w` owns, right
    /// after its poll; `fail`: the coordinator refused it.
    pub(super) fn commit(
        &mut self,
        out: &mut Out,
        t: u64,
        w: u64,
        pos: &[usize],
        fail: bool,
    ) -> Result<()> {
        let owned = &self.owned[w as usize];
        let offsets: Vec<Value> = owned.iter().map(|&q| json!([q, pos[q]])).collect();
        let v = json!({"group": GROUP, "mode": "sync", "offsets": offsets,
            "generation": self.generation});
        let (kind, error) = if fail {
            ("fail", Some("Broker: Not coordinator".to_string()))
        } else {
            for &q in owned {
                self.committed[q] = self.committed[q].max(pos[q]);
            }
            ("ok", None)
        };
        for (kind, error) in [("invoke", None), (kind, error)] {
            out.put(Line {
                time: t,
                process: json!(w),
                kind,
                f: "commit",
                value: v.clone(),
                error,
            })?;
        }
        Ok(())
    }

    /// After the final reads: the group's committed offsets (`final`).
    pub(super) fn committed_line(&self, out: &mut Out, t: u64) -> Result<()> {
        let offsets: Vec<Value> = self
            .committed
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(p, c)| json!([p, c]))
            .collect();
        for (kind, offsets) in [("invoke", vec![]), ("ok", offsets)] {
            out.put(Line {
                time: t,
                process: json!("final"),
                kind,
                f: "committed",
                value: json!({"group": GROUP, "offsets": offsets}),
                error: None,
            })?;
        }
        Ok(())
    }

    /// A hand-written `group` checker body for results.json (its summary
    /// is what the report shows).
    pub(super) fn checker_body(&self) -> Value {
        json!({
            "valid": true, "applicable": true,
            "summary": format!("group {GROUP} (classic, cooperative-sticky, sync): {} members, 2 rebalances, 0 skipped, 0 regressions", self.pollers.len()),
        })
    }
}
