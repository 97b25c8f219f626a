//! What a fault needs of a node: capabilities, devices, environment of its
//! processes, packages of its image, files present before its processes
//! start, programs of the suite shipped into it.
//!
//! Each fault kind states its own ([`crate::faults::FaultBehaviour::requirements`]);
//! [`crate::faults::requirements`] unions those of the kinds a run asks
//! for, and the suite builds and launches its nodes from that (instead of a
//! flag per fault).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What the faults of a run need of every node. All sets: the union of two
/// requirements asks for everything either asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirements {
    /// Linux capabilities of the node (container), e.g. `NET_ADMIN`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub capabilities: BTreeSet<String>,
    /// Devices the node must have, e.g. `/dev/fuse`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub devices: BTreeSet<String>,
    /// Environment of the node's processes (the broker and the others),
    /// e.g. `LD_PRELOAD`. `LD_PRELOAD` asked by two faults lists both
    /// libraries (`a:b`); any other variable asked with two values keeps
    /// the first (see [`Requirements::union`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Debian packages the node image must have, e.g. `iptables`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub packages: BTreeSet<String>,
    /// Files that must exist before the node's processes start, with their
    /// initial content, e.g. `/etc/faketimerc` = `+0\n`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// Programs of the suite itself the node must have, by name, e.g.
    /// `kt-lazyfs`: the suite carries them (built with it) and shares them
    /// read-only into the node under `/opt/kt/bin`, like the Kafka jars,
    /// so a change to one needs no new image.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tools: BTreeSet<String>,
}

/// Variables whose values are lists that the dynamic loader splits on `:`.
const LIST_VARS: &[&str] = &["LD_PRELOAD"];

impl Requirements {
    /// Nothing needed (kill, pause).
    pub fn none() -> Self {
        Requirements::default()
    }

    pub fn is_empty(&self) -> bool {
        *self == Requirements::default()
    }

    pub fn capability(mut self, c: &str) -> Self {
        self.capabilities.insert(c.to_string());
        self
    }

    pub fn device(mut self, d: &str) -> Self {
        self.devices.insert(d.to_string());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.add_env(k, v);
        self
    }

    pub fn package(mut self, p: &str) -> Self {
        self.packages.insert(p.to_string());
        self
    }

    pub fn tool(mut self, t: &str) -> Self {
        self.tools.insert(t.to_string());
        self
    }

    pub fn file(mut self, path: &str, content: &str) -> Self {
        self.files
            .entry(path.to_string())
            .or_insert_with(|| content.to_string());
        self
    }

    fn add_env(&mut self, k: &str, v: &str) {
        match self.env.get_mut(k) {
            None => {
                self.env.insert(k.to_string(), v.to_string());
            }
            Some(old) if LIST_VARS.contains(&k) => {
                if !old.split(':').any(|x| x == v) {
                    old.push(':');
                    old.push_str(v);
                }
            }
            Some(_) => {}
        }
    }

    /// Everything `self` or `other` asks for. A file or a variable (other
    /// than `LD_PRELOAD`) asked by both with different values keeps
    /// `self`'s.
    pub fn union(mut self, other: &Requirements) -> Self {
        self.capabilities.extend(other.capabilities.iter().cloned());
        self.devices.extend(other.devices.iter().cloned());
        self.packages.extend(other.packages.iter().cloned());
        self.tools.extend(other.tools.iter().cloned());
        for (k, v) in &other.env {
            self.add_env(k, v);
        }
        for (p, c) in &other.files {
            self.files.entry(p.clone()).or_insert_with(|| c.clone());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_sets_and_preload_lists() {
        let a = Requirements::none()
            .capability("NET_ADMIN")
            .package("iptables")
            .env("LD_PRELOAD", "/a.so")
            .env("X", "1")
            .file("/etc/f", "+0\n");
        let b = Requirements::none()
            .capability("NET_ADMIN")
            .device("/dev/fuse")
            .env("LD_PRELOAD", "/b.so")
            .env("X", "2")
            .file("/etc/f", "other")
            .tool("kt-lazyfs");
        let u = a.clone().union(&b);
        assert_eq!(u.capabilities, BTreeSet::from(["NET_ADMIN".to_string()]));
        assert_eq!(u.devices, BTreeSet::from(["/dev/fuse".to_string()]));
        assert_eq!(u.env["LD_PRELOAD"], "/a.so:/b.so");
        assert_eq!(u.env["X"], "1");
        assert_eq!(u.files["/etc/f"], "+0\n");
        assert_eq!(u.tools, BTreeSet::from(["kt-lazyfs".to_string()]));
        assert_eq!(
            serde_json::to_string(&Requirements::none().tool("t")).unwrap(),
            r#"{"tools":["t"]}"#
        );
        // Idempotent.
        assert_eq!(u.clone().union(&b), u);
        assert!(Requirements::none().is_empty());
        assert_eq!(serde_json::to_string(&Requirements::none()).unwrap(), "{}");
    }
}
