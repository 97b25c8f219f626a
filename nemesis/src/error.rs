//! Errors of the nemesis: bad options or impossible plans (user input), and
//! failures while acting on nodes.

use crate::node::NodeError;

/// A fault set, option or plan that cannot be used. Every message says what
/// was given and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown {what} {name:?}: expected one of {expected}")]
    Unknown {
        what: &'static str,
        name: String,
        expected: String,
    },
    #[error("{what} {value:?} is invalid: {why}")]
    Invalid {
        what: &'static str,
        value: String,
        why: String,
    },
    #[error("partition topology {topology} needs at least {min} nodes; the cluster has {n}")]
    TooFewNodes {
        topology: &'static str,
        min: usize,
        n: usize,
    },
}

impl PlanError {
    pub(crate) fn invalid(what: &'static str, value: impl ToString, why: impl ToString) -> Self {
        PlanError::Invalid {
            what,
            value: value.to_string(),
            why: why.to_string(),
        }
    }
}

/// Why the runner stopped early (after healing, as well as it could).
#[derive(Debug, thiserror::Error)]
pub enum NemesisError {
    #[error("writing the history failed: {0}")]
    History(#[from] std::io::Error),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("the schedule names node {0:?}, which is not among the nodes given to the runner")]
    UnknownNode(String),
    #[error("heal left faults behind: {0}")]
    HealIncomplete(String),
}
