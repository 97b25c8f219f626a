//! A simulated cluster for the observer: brokers `1..=n` on nodes
//! `n1..nN`, partitions with replicas, leaders, epochs and ISRs, and a
//! controller. A fault that hits a broker moves the leadership of the
//! partitions it leads to another in-sync replica (the epoch rises), drops
//! it from every ISR and makes it unreachable (a controller on it moves
//! too); healing brings it back into every ISR.

use trial_histories::values::{ControllerState, Observation, PartitionState};

/// The state the observer samples.
#[derive(Debug, Clone)]
pub struct Cluster {
    brokers: i32,
    partitions: Vec<PartitionState>,
    controller: ControllerState,
    unreachable: Vec<i32>,
}

impl Cluster {
    /// `partitions` partitions over `brokers` brokers (at least 2),
    /// replication factor min(3, brokers), replicas rotated per partition.
    pub fn new(partitions: u32, brokers: u32) -> Cluster {
        let b = brokers.max(2) as i32;
        let rf = b.min(3);
        let partitions = (0..partitions as i32)
            .map(|p| {
                let replicas: Vec<i32> = (0..rf).map(|i| (p + i) % b + 1).collect();
                PartitionState {
                    partition: p,
                    leader: replicas[0],
                    epoch: 0,
                    isr: replicas.clone(),
                    replicas,
                    elr: None,
                    offline: Vec::new(),
                }
            })
            .collect();
        Cluster {
            brokers: b,
            partitions,
            controller: ControllerState { id: 1, epoch: 1 },
            unreachable: Vec::new(),
        }
    }

    /// The node name of a broker id.
    pub fn node(id: i32) -> String {
        format!("n{id}")
    }

    /// Every node name.
    pub fn nodes(&self) -> Vec<String> {
        (1..=self.brokers).map(Cluster::node).collect()
    }

    /// The leader of partition `p` (modulo the partition count).
    pub fn leader_of(&self, p: usize) -> i32 {
        self.partitions
            .get(p % self.partitions.len().max(1))
            .map_or(1, |s| s.leader)
    }

    /// A fault hits broker `id`.
    pub fn hit(&mut self, id: i32) {
        for p in &mut self.partitions {
            p.isr.retain(|&r| r != id);
            if p.leader == id {
                p.leader = p.isr.first().copied().unwrap_or(-1);
                p.epoch += 1;
            }
        }
        if self.controller.id == id {
            self.controller = ControllerState {
                id: id % self.brokers + 1,
                epoch: self.controller.epoch + 1,
            };
        }
        if !self.unreachable.contains(&id) {
            self.unreachable.push(id);
        }
    }

    /// Every broker is back: in every ISR and reachable.
    pub fn heal(&mut self) {
        for p in &mut self.partitions {
            p.isr = p.replicas.clone();
            if p.leader == -1 {
                p.leader = p.replicas[0];
                p.epoch += 1;
            }
        }
        self.unreachable.clear();
    }

    /// A sample as the observer writes it.
    pub fn observation(&self) -> Observation {
        Observation {
            partitions: self.partitions.clone(),
            controller: Some(self.controller),
            brokers: (1..=self.brokers)
                .map(|id| (id, Cluster::node(id)))
                .collect(),
            fenced: Some(self.unreachable.clone()),
            unreachable: self.unreachable.clone(),
            read_ms: 3,
            errors: Default::default(),
            zookeeper: None,
            voters: None,
            transactions: None,
            groups: None,
        }
    }
}
