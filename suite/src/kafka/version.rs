//! Kafka releases and the metadata mode they run in.
//!
//! Kafka kept its cluster metadata in ZooKeeper until 3.x and in its own
//! Raft quorum (KRaft) since: KRaft was marked production-ready in 3.3
//! (KIP-833), ZooKeeper mode was removed in 4.0 (KIP-500's end). So a
//! release runs in one or both modes:
//!
//! | releases      | KRaft | ZooKeeper | default mode |
//! | ------------- | ----- | --------- | ------------ |
//! | 2.8.0 – 3.2.x | no    | yes       | zookeeper    |
//! | 3.3.0 – 3.9.x | yes   | yes       | kraft        |
//! | 4.0.0 –       | yes   | no        | kraft        |
//!
//! (2.8–3.2 shipped KRaft as early access, without the features the suite
//! relies on; the suite refuses it there.)

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Kafka release number, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KafkaVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl KafkaVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        KafkaVersion {
            major,
            minor,
            patch,
        }
    }
    /// The first release the suite runs at all (ZooKeeper mode).
    pub const OLDEST: KafkaVersion = KafkaVersion::new(2, 8, 0);
    /// The first release whose KRaft mode is production-ready (KIP-833).
    pub const KRAFT_SINCE: KafkaVersion = KafkaVersion::new(3, 3, 0);
    /// The first release without ZooKeeper mode.
    pub const ZOOKEEPER_UNTIL: KafkaVersion = KafkaVersion::new(4, 0, 0);
    /// The newest release with ZooKeeper mode that Maven Central serves
    /// here: what `--mode zookeeper` runs when no version is given.
    pub const ZOOKEEPER_DEFAULT: &'static str = "3.9.1";

    /// The modes this release can run in.
    pub fn modes(self) -> Vec<Mode> {
        let mut v = vec![];
        if self >= Self::KRAFT_SINCE {
            v.push(Mode::Kraft);
        }
        if self >= Self::OLDEST && self < Self::ZOOKEEPER_UNTIL {
            v.push(Mode::Zookeeper);
        }
        v
    }

    /// KRaft where the release has it, ZooKeeper before.
    pub fn default_mode(self) -> Mode {
        if self >= Self::KRAFT_SINCE {
            Mode::Kraft
        } else {
            Mode::Zookeeper
        }
    }

    /// `--feature` levels at format time (`kafka-storage format --feature`)
    /// exist from 4.0 on.
    pub fn has_format_features(self) -> bool {
        self >= KafkaVersion::new(4, 0, 0)
    }
}

impl fmt::Display for KafkaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The ranges the suite runs, for messages.
pub const SUPPORTED: &str =
    "KRaft mode runs Kafka 3.3.0 to 4.x, ZooKeeper mode Kafka 2.8.0 to 3.9.x";

impl FromStr for KafkaVersion {
    type Err = anyhow::Error;
    fn from_str(v: &str) -> Result<Self> {
        let parts: Vec<&str> = v.trim().split('.').collect();
        let nums: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
        if parts.len() != 3 || nums.len() != 3 {
            bail!("unknown Kafka version {v:?}: expected a release such as 3.9.1 or 4.1.0");
        }
        let k = KafkaVersion::new(nums[0], nums[1], nums[2]);
        if k.modes().is_empty() {
            bail!("Kafka version {k} is not supported: {SUPPORTED}");
        }
        Ok(k)
    }
}

/// Where the cluster keeps its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Kafka's own Raft quorum of controllers (KIP-500).
    Kraft,
    /// A ZooKeeper ensemble, and one broker elected controller through it.
    Zookeeper,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Kraft => "kraft",
            Mode::Zookeeper => "zookeeper",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kraft" => Ok(Mode::Kraft),
            "zookeeper" | "zk" => Ok(Mode::Zookeeper),
            _ => bail!("unknown mode {s:?}: expected kraft or zookeeper"),
        }
    }
}

/// Refuse a release that cannot run in `mode`, naming the supported range.
pub fn check_pair(v: KafkaVersion, mode: Mode) -> Result<()> {
    if !v.modes().contains(&mode) {
        let why = match mode {
            Mode::Kraft => "KRaft is production-ready from 3.3.0 on (KIP-833)",
            Mode::Zookeeper => "ZooKeeper mode was removed in Kafka 4.0",
        };
        bail!("Kafka {v} cannot run in {mode} mode: {why}. {SUPPORTED}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> KafkaVersion {
        s.parse().unwrap()
    }

    #[test]
    fn releases_map_to_their_modes() {
        assert_eq!(v("2.8.2").modes(), vec![Mode::Zookeeper]);
        assert_eq!(v("3.2.3").modes(), vec![Mode::Zookeeper]);
        assert_eq!(v("3.3.0").modes(), vec![Mode::Kraft, Mode::Zookeeper]);
        assert_eq!(v("3.9.1").modes(), vec![Mode::Kraft, Mode::Zookeeper]);
        assert_eq!(v("4.0.0").modes(), vec![Mode::Kraft]);
        assert_eq!(v("3.9.1").default_mode(), Mode::Kraft);
        assert_eq!(v("2.8.2").default_mode(), Mode::Zookeeper);
        assert!(v("3.10.0") > v("3.9.1"));
    }

    #[test]
    fn impossible_pairs_name_the_supported_range() {
        let e = check_pair(v("4.0.0"), Mode::Zookeeper).unwrap_err();
        assert!(e.to_string().contains("2.8.0 to 3.9.x"), "{e}");
        let e = check_pair(v("3.2.0"), Mode::Kraft).unwrap_err();
        assert!(e.to_string().contains("3.3.0"), "{e}");
        assert!(check_pair(v("3.6.2"), Mode::Kraft).is_ok());
        assert!(check_pair(v("3.6.2"), Mode::Zookeeper).is_ok());
        let e = "2.7.0".parse::<KafkaVersion>().unwrap_err();
        assert!(e.to_string().contains("2.8.0"), "{e}");
        assert!("banana".parse::<KafkaVersion>().is_err());
        assert!("4.1".parse::<KafkaVersion>().is_err());
        assert_eq!("ZK".parse::<Mode>().unwrap(), Mode::Zookeeper);
    }
}
