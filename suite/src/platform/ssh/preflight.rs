//! The checks made on every host before anything starts, and the facts
//! they record (hosts.json): reachable over SSH; root, or `sudo -n` works;
//! Java 17 or later; iptables usable; the tools the platform's own scripts
//! use; the interface named in the file; nothing of kafka-trial's there
//! (or only what a crashed earlier run left, which is removed); the clock
//! offset (midpoint of the round trip of `date +%s%N`). The faults' own
//! needs (packages, devices) are checked at provision, when they are known
//! ([`requirements_script`]).

use super::host::Connection;
use super::remote::{self, Footprint, PATH};
use anyhow::{bail, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trial_nemesis::clock::LIBFAKETIME;

/// The oldest Java the Kafka releases of the suite run on (Kafka 4.x
/// brokers need 17).
pub const MIN_JAVA: u32 = 17;
/// Programs the platform's scripts use on a host.
pub const TOOLS: &[&str] = &[
    "bash",
    "tar",
    "sha256sum",
    "timeout",
    "setsid",
    "awk",
    "sort",
    "tr",
    "ln",
    "mv",
    "iptables",
];

/// What the preflight learned of a host.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    /// `id -un` of the SSH user.
    pub user: String,
    pub sudo: bool,
    pub kernel: String,
    /// `java -version`'s first line.
    pub java: String,
    pub java_major: u32,
    /// Host clock minus ours (ms), from the fastest of three round trips.
    pub clock_offset_ms: f64,
    pub rtt_ms: f64,
    /// What a crashed earlier run had left, removed before this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leftover_removed: Option<String>,
}

/// The base checks, as `key value` lines.
pub fn base_script(interface: Option<&str>) -> String {
    let mut s = format!("export PATH={PATH}\n");
    s.push_str("echo \"uid $(id -u)\"\necho \"kernel $(uname -r)\"\n");
    s.push_str("if command -v java >/dev/null 2>&1; then echo \"java $(java -XX:-UsePerfData -version 2>&1 | head -n1)\"; else echo 'java none'; fi\n");
    let _ = writeln!(
        s,
        "for t in {}; do command -v $t >/dev/null 2>&1 || echo \"missing the program $t\"; done",
        TOOLS.join(" ")
    );
    s.push_str("if command -v iptables >/dev/null 2>&1 && ! iptables -w -S >/dev/null 2>&1; then echo \"missing a usable iptables: $(iptables -w -S 2>&1 | head -n1)\"; fi\n");
    if let Some(i) = interface {
        let _ = writeln!(
            s,
            "[ -e /sys/class/net/{i} ] || echo 'missing the interface {i}'"
        );
    }
    s
}

/// The faults' needs: `missing …` lines for each absent device or
/// package. A package is looked for by what it provides where the suite
/// knows (libfaketime's library, iptables' program), else by dpkg.
pub fn requirements_script(packages: &[String], devices: &[String]) -> String {
    let mut s = format!("export PATH={PATH}\n");
    for d in devices {
        let q = remote::sq(d);
        let _ = writeln!(
            s,
            "[ -e {q} ] || echo {}",
            remote::sq(&format!("missing the device {d}"))
        );
    }
    for p in packages {
        let miss = remote::sq(&format!("missing the package {p}"));
        let check = match p.as_str() {
            "faketime" | "libfaketime" => format!("[ -e {LIBFAKETIME} ]"),
            "iptables" => "command -v iptables >/dev/null 2>&1".to_string(),
            _ => format!(
                "dpkg-query -W -f='${{Status}}' {} 2>/dev/null | grep -q 'ok installed'",
                remote::sq(p)
            ),
        };
        let _ = writeln!(s, "{check} || echo {miss}");
    }
    s
}

/// `openjdk version "17.0.13" 2024-10-15` → 17; `java version "1.8.0_392"` → 8.
pub fn java_major(line: &str) -> Option<u32> {
    let v = line.split('"').nth(1)?;
    let mut parts = v.split(['.', '_', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// The `missing …` lines of a check's output.
pub fn missing(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("missing "))
        .map(str::to_string)
        .collect()
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// Run the base checks on one host; on success its facts.
pub async fn check(conn: &Connection) -> Result<Facts> {
    let e = &conn.entry;
    let name = &e.name;
    let short = std::time::Duration::from_secs(30);
    // Reachable, and who we are there.
    let who = conn
        .run(&["id".into(), "-un".into()], None, short)
        .await
        .map_err(|err| {
            anyhow::anyhow!("host {name} ({}@{}:{}): {err}", e.user, e.address, e.port)
        })?;
    let user = String::from_utf8_lossy(&who.stdout).trim().to_string();
    let mut facts = Facts {
        user,
        sudo: e.needs_sudo(),
        ..Default::default()
    };
    if e.needs_sudo() {
        let out = conn
            .run(&["sudo".into(), "-n".into(), "true".into()], None, short)
            .await
            .map_err(|err| anyhow::anyhow!("host {name}: {err}"))?;
        if !out.status.success() {
            bail!(
                "host {name}: user {} is not root and cannot use sudo without a password (sudo -n true: {}); give it passwordless sudo or use root",
                e.user,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    let out = conn
        .script("preflight", &base_script(e.interface.as_deref()), short)
        .await?;
    let mut problems = missing(&out);
    for l in out.lines() {
        if let Some(k) = l.strip_prefix("kernel ") {
            facts.kernel = k.to_string();
        }
        if let Some(j) = l.strip_prefix("java ") {
            facts.java = j.to_string();
        }
    }
    if facts.java == "none" {
        problems.push("Java (no `java` on PATH; Kafka needs 17 or later)".into());
    } else {
        match java_major(&facts.java) {
            Some(m) if m >= MIN_JAVA => facts.java_major = m,
            _ => problems.push(format!("Java {MIN_JAVA} or later (found: {})", facts.java)),
        }
    }
    if !problems.is_empty() {
        bail!("host {name} lacks {}", problems.join(", "));
    }
    // Nothing of ours there, or only leftovers.
    let fp = Footprint::parse(
        &conn
            .script(
                "look for kafka-trial's files",
                &remote::footprint_script(&[]),
                short,
            )
            .await?,
    );
    if !fp.is_clean() {
        let theirs = !fp.owned
            && (!fp.roots.is_empty() || !fp.processes.is_empty() || !fp.mounts.is_empty());
        if theirs {
            bail!(
                "host {name} has {} which kafka-trial did not make (no {}): move them away or use another host",
                fp.describe(),
                remote::OWNED
            );
        }
        if fp.owned && !fp.processes.is_empty() {
            let id = fp.cluster.clone().unwrap_or_else(|| "?".into());
            bail!(
                "host {name} runs kafka-trial cluster {id} ({}): stop it first with `kafka-trial cluster down {id} --hosts FILE`",
                fp.describe()
            );
        }
        // A crashed run's remains: remove them, then look again.
        let what = fp.describe();
        conn.script(
            "remove a crashed run's remains",
            &remote::teardown_script(None),
            Duration::from_secs(60),
        )
        .await?;
        let again = Footprint::parse(
            &conn
                .script("look again", &remote::footprint_script(&[]), short)
                .await?,
        );
        if !again.is_clean() {
            bail!(
                "host {name}: could not remove what an earlier run left: {}",
                again.describe()
            );
        }
        tracing::warn!("host {name}: removed what an earlier kafka-trial run left: {what}");
        facts.leftover_removed = Some(what);
    }
    // Clock offset: the fastest of three round trips.
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..3 {
        let t0 = now_ns();
        let out = conn
            .exec(&[], &["date", "+%s%N"], None, short)
            .await
            .map_err(|err| anyhow::anyhow!("host {name}: date: {err}"))?;
        let t1 = now_ns();
        let Ok(remote_ns) = String::from_utf8_lossy(&out.stdout).trim().parse::<i128>() else {
            bail!(
                "host {name}: `date +%s%N` printed {:?}, not nanoseconds (GNU date needed)",
                String::from_utf8_lossy(&out.stdout)
            );
        };
        let rtt = (t1 - t0) as f64 / 1e6;
        let offset = (remote_ns - (t0 + t1) / 2) as f64 / 1e6;
        if best.is_none_or(|(r, _)| rtt < r) {
            best = Some((rtt, offset));
        }
    }
    let (rtt, offset) = best.unwrap_or_default();
    facts.rtt_ms = (rtt * 10.0).round() / 10.0;
    facts.clock_offset_ms = (offset * 10.0).round() / 10.0;
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_versions() {
        assert_eq!(
            java_major("openjdk version \"17.0.13\" 2024-10-15"),
            Some(17)
        );
        assert_eq!(java_major("openjdk version \"21\" 2023-09-19"), Some(21));
        assert_eq!(java_major("java version \"1.8.0_392\""), Some(8));
        assert_eq!(java_major("openjdk version \"11.0.2-ea\""), Some(11));
        assert_eq!(java_major("none"), None);
    }

    #[test]
    fn checks_name_what_is_missing() {
        let s = requirements_script(
            &["faketime".into(), "iptables".into(), "fuse3".into()],
            &["/dev/fuse".into()],
        );
        assert!(s.contains(&format!(
            "[ -e {LIBFAKETIME} ] || echo 'missing the package faketime'"
        )));
        assert!(s.contains("[ -e '/dev/fuse' ] || echo 'missing the device /dev/fuse'"));
        assert!(s.contains("dpkg-query -W -f='${Status}' 'fuse3'"));
        assert_eq!(
            missing("uid 0\nmissing the program tar\nmissing the device /dev/fuse\n"),
            ["the program tar", "the device /dev/fuse"]
        );
        let b = base_script(Some("eth0"));
        assert!(b.contains("[ -e /sys/class/net/eth0 ] || echo 'missing the interface eth0'"));
        for t in TOOLS {
            assert!(b.contains(t));
        }
        for s in [b, s] {
            let out = std::process::Command::new("bash")
                .args(["-n", "-c", &s])
                .output()
                .unwrap();
            assert!(out.status.success(), "{s}");
        }
    }

    /// The base script run here, on this machine: it prints what it
    /// should (a real shell, not just parsing).
    #[test]
    fn the_base_script_runs() {
        let out = std::process::Command::new("bash")
            .args(["-c", &base_script(Some("no-such-nic0"))])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("uid "), "{text}");
        assert!(
            text.contains("missing the interface no-such-nic0"),
            "{text}"
        );
    }
}
