//! Fault kinds as modules, behind one trait, and their registry.
//!
//! Each kind of fault is one file here (`partition.rs`, `loss.rs`,
//! `clock.rs`, `kill.rs`, `pause.rs`; `unfsynced.rs` holds the two
//! filesystem kinds, which differ only in when they drop) implementing [`FaultBehaviour`]: what
//! it needs of a node ([`Requirements`]), how it checks its options and
//! plans one fault, what [`crate::run`] does to start it and to undo
//! exactly that, and how [`crate::heal_all`] undoes and verifies it on one
//! node without any record. The planner, the runner and heal know no kind:
//! they dispatch through [`REGISTRY`]. Shared mechanisms live beside them:
//! `net.rs` (the `KTRIAL` iptables chain of partition and loss),
//! `process.rs` (the one shape of kill and pause), `ctx.rs` (what a fault
//! may use while it runs).
//!
//! Adding a fault: a variant of [`FaultKind`] and of [`Fault`] (the stable
//! plan format), one file here, one line in [`REGISTRY`].

mod clock;
mod ctx;
mod kill;
mod loss;
mod net;
#[cfg(test)]
mod noop;
mod partition;
mod pause;
mod process;
mod unfsynced;

pub(crate) use ctx::ProcessBook;
pub use ctx::{FaultCtx, NodeHealing, STEP_TIMEOUT};
pub use unfsynced::{LAZYFS_ENV, LAZYFS_TOOL};

use crate::error::PlanError;
use crate::node::Node;
use crate::options::{FaultKind, FaultKinds, NemesisOptions};
use crate::requirements::Requirements;
use crate::schedule::{Action, Fault, PlanNodes};
use async_trait::async_trait;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::any::Any;

/// Every fault kind, once. The order is heal's: the network first (a
/// restarted process finds its peers), then clocks (it starts with a true
/// clock), then processes.
pub static REGISTRY: &[&dyn FaultBehaviour] = &[
    &partition::Partition,
    &loss::Loss,
    &clock::Clock,
    &kill::Kill,
    &pause::Pause,
    &unfsynced::LoseUnfsynced,
    &unfsynced::PowerLoss,
    #[cfg(test)]
    &noop::Noop,
];

/// The behaviour of one fault kind.
#[async_trait]
pub trait FaultBehaviour: Send + Sync {
    fn kind(&self) -> FaultKind;

    /// What the fault needs of every node.
    fn requirements(&self) -> Requirements;

    /// Check this kind's options against a cluster of `n` brokers and a
    /// ZooKeeper ensemble of `zookeeper` members (0 in KRaft mode); called
    /// only when the run asks for this kind.
    fn validate(
        &self,
        options: &NemesisOptions,
        n: usize,
        zookeeper: usize,
    ) -> Result<(), PlanError>;

    /// Plan one fault: draw from `rng` everything that does not depend on
    /// the cluster's state (the rest is resolved in [`Self::start`]).
    fn plan(
        &self,
        nodes: &PlanNodes<'_>,
        options: &NemesisOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Fault, PlanError>;

    /// Apply `action`'s fault. Returns the `info` value and errors, and
    /// what to undo (`None` when nothing was done).
    async fn start(&self, ctx: &mut FaultCtx<'_>, action: &Action) -> Started;

    /// Undo exactly what [`Self::start`] recorded in `undo`.
    async fn stop(&self, ctx: &mut FaultCtx<'_>, undo: Undo) -> Done;

    /// Undo this kind of fault on one node, without a record (heal).
    async fn heal_node(&self, node: &dyn Node, healing: &mut NodeHealing);

    /// Check that this kind of fault is undone on one node (after every
    /// kind's `heal_node`); problems go into `healing`.
    async fn verify_node(&self, node: &dyn Node, healing: &mut NodeHealing);
}

/// The behaviour registered for `kind`. Every kind has one (a unit test
/// checks it).
pub fn behaviour(kind: FaultKind) -> &'static dyn FaultBehaviour {
    *REGISTRY
        .iter()
        .find(|b| b.kind() == kind)
        .unwrap_or_else(|| panic!("no behaviour registered for fault kind {kind}"))
}

/// What the faults a run asks for need of every node (the union of their
/// [`FaultBehaviour::requirements`]).
pub fn requirements(kinds: &FaultKinds) -> Requirements {
    kinds
        .iter()
        .map(|k| behaviour(k).requirements())
        .fold(Requirements::none(), |all, r| all.union(&r))
}

/// The result of one action: what was done (the `info` value), and the
/// errors met on the way (the `info` error).
#[derive(Debug)]
pub struct Done {
    pub value: Value,
    pub errors: Vec<String>,
}

impl Done {
    pub fn new(value: Value, errors: Vec<String>) -> Self {
        Done { value, errors }
    }

    /// Nothing done: `value` says what was asked, `error` why not.
    pub fn failed(value: Value, error: String) -> Self {
        Done {
            value,
            errors: vec![error],
        }
    }
}

/// What a start did: its [`Done`], and what its stop must undo.
pub struct Started {
    pub done: Done,
    pub undo: Option<Undo>,
}

impl Started {
    /// Nothing to undo.
    pub fn nothing(done: Done) -> Self {
        Started { done, undo: None }
    }

    /// `undo` if `applied`, else nothing.
    pub fn undo_if<T: Any + Send + Sync>(done: Done, applied: bool, undo: T) -> Self {
        Started {
            done,
            undo: applied.then(|| Undo::new(undo)),
        }
    }
}

/// The record of what a started fault did, opaque to the runner: each kind
/// stores its own type and takes it back in its stop.
pub struct Undo(Box<dyn Any + Send + Sync>);

impl Undo {
    pub fn new<T: Any + Send + Sync>(x: T) -> Self {
        Undo(Box::new(x))
    }

    /// The record, if it is a `T`.
    pub fn take<T: Any>(self) -> Option<T> {
        self.0.downcast::<T>().ok().map(|b| *b)
    }
}

/// `stop` given an undo of another kind's type (a bug): say so.
fn wrong_undo(kind: FaultKind) -> Done {
    Done::failed(
        serde_json::json!({}),
        format!("internal: the undo record is not a {kind} record"),
    )
}

/// A start dispatched to the wrong kind (a bug): say so.
fn wrong_fault(action: &Action) -> Done {
    Done::failed(
        serde_json::json!({}),
        format!(
            "internal: {} dispatched to the wrong fault behaviour",
            action.f()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::FaultKind;
    use std::collections::BTreeSet;

    #[test]
    fn every_kind_registered_once() {
        for k in FaultKind::ALL {
            let n = REGISTRY.iter().filter(|b| b.kind() == k).count();
            assert_eq!(n, 1, "{k}");
        }
        let kinds: BTreeSet<FaultKind> = REGISTRY.iter().map(|b| b.kind()).collect();
        assert_eq!(kinds.len(), REGISTRY.len());
    }

    #[test]
    fn requirements_of_the_kinds_asked() {
        let r = requirements(&"kill,pause".parse().unwrap());
        assert!(r.is_empty(), "{r:?}");
        let r = requirements(&"partition".parse().unwrap());
        assert!(r.capabilities.contains("NET_ADMIN"));
        assert!(r.packages.contains("iptables"));
        assert!(r.env.is_empty());
        assert_eq!(r, requirements(&"loss".parse().unwrap()));
        let r = requirements(&"clock,kill".parse().unwrap());
        assert!(r.capabilities.is_empty());
        assert!(r.packages.contains("faketime"));
        assert_eq!(r.env["FAKETIME_TIMESTAMP_FILE"], crate::node::FAKETIME_FILE);
        assert_eq!(r.env["FAKETIME_DONT_FAKE_MONOTONIC"], "1");
        assert_eq!(r.env["FAKETIME_CACHE_DURATION"], "1");
        assert_eq!(r.env["LD_PRELOAD"], crate::clock::LIBFAKETIME);
        assert_eq!(r.files[crate::node::FAKETIME_FILE], "+0\n");
        for k in ["lose-unfsynced", "power-loss"] {
            let r = requirements(&k.parse().unwrap());
            assert!(r.devices.contains("/dev/fuse"), "{k}");
            assert!(r.capabilities.contains("SYS_ADMIN"), "{k}");
            assert_eq!(r.env[LAZYFS_ENV], "1", "{k}");
            assert!(r.tools.contains(LAZYFS_TOOL), "{k}");
        }
        assert!(requirements(&"kill,partition,clock".parse().unwrap())
            .tools
            .is_empty());
        let all = requirements(&FaultKinds::all());
        assert!(all.capabilities.contains("NET_ADMIN") && all.env.contains_key("LD_PRELOAD"));
        assert!(requirements(&FaultKinds::none()).is_empty());
    }
}
