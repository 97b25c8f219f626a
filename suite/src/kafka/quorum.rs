//! The KRaft metadata quorum as the controllers keep it on disk: who the
//! active controller is.

use super::node::KafkaNode;
use std::sync::Arc;
use std::time::Duration;
use trial_nemesis::{Node, ProcessState};

/// The quorum state a running KRaft controller keeps on disk.
pub const QUORUM_STATE: &str = "/var/lib/kafka/data/__cluster_metadata-0/quorum-state";

/// The leader (active controller) id in a quorum-state file's text, if any.
pub fn quorum_leader(text: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("leaderId").and_then(|x| x.as_i64()))
        .filter(|id| *id >= 0)
}

/// The active KRaft controller's node name, read from [`QUORUM_STATE`].
pub async fn active_controller_of(nodes: &[Arc<KafkaNode>]) -> Option<String> {
    for n in nodes.iter().filter(|n| n.role.controller) {
        if !matches!(n.state(n.main_process()).await, Ok(ProcessState::Running)) {
            continue;
        }
        let Ok(out) = n
            .exec_timeout(&["cat", QUORUM_STATE], Duration::from_secs(5))
            .await
        else {
            continue;
        };
        if let Some(id) = quorum_leader(&out.stdout) {
            return nodes
                .iter()
                .find(|x| i64::from(x.role.id) == id)
                .map(|x| x.role.name.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_leader_reads_the_leader_id() {
        let t = r#"{"clusterId":"","leaderId":2,"leaderEpoch":1,"votedId":-1}"#;
        assert_eq!(quorum_leader(t), Some(2));
        assert_eq!(quorum_leader(r#"{"leaderId":-1}"#), None);
        assert_eq!(quorum_leader("garbage"), None);
    }
}
