//! The exact iptables commands the nemesis runs inside nodes.
//!
//! Every rule lives in one dedicated chain, [`CHAIN`] (`KTRIAL`), in the
//! filter table, jumped to from the top of `INPUT`. Faults only *append* to
//! it and delete exactly what they appended; heal is `iptables -F KTRIAL`,
//! and "no rule remains" is checked by listing the table (`iptables -S`) and
//! finding no `-A KTRIAL` line. The chain and its jump are left in place
//! (empty, they drop nothing).
//!
//! Traffic is dropped on INPUT by source address, as Jepsen does: node `b`
//! drops what it receives from `a` with `-A KTRIAL -s <ip of a> -j DROP`.
//! Packet loss is the same rule with a `statistic` match:
//! `-A KTRIAL -s <ip> -m statistic --mode random --probability P -j DROP`.
//!
//! IPv4 only (the suite's docker network is IPv4); an IPv6 address is an
//! error rather than a silently ineffective rule.

use std::net::IpAddr;

/// The dedicated chain.
pub const CHAIN: &str = "KTRIAL";

/// The iptables binary (Debian's default backend, nft or legacy, either works).
pub const IPTABLES: &str = "iptables";

/// A shell script that creates the chain and the jump from INPUT if missing
/// (idempotent; one exec). Fails only if iptables cannot be used at all
/// (no NET_ADMIN capability, no iptables in the image).
pub const ENSURE_CHAIN_SCRIPT: &str = "iptables -w -N KTRIAL 2>/dev/null; \
     iptables -w -C INPUT -j KTRIAL 2>/dev/null || iptables -w -I INPUT 1 -j KTRIAL";

fn v(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn v4(ip: IpAddr) -> Result<String, String> {
    match ip {
        IpAddr::V4(a) => Ok(a.to_string()),
        IpAddr::V6(a) => Err(format!(
            "IPv6 address {a}: the nemesis only writes IPv4 (iptables) rules"
        )),
    }
}

/// `sh -c <ENSURE_CHAIN_SCRIPT>`.
pub fn ensure_chain() -> Vec<String> {
    v(&["sh", "-c", ENSURE_CHAIN_SCRIPT])
}

/// The rule spec that drops everything from `src`: `-s <ip> -j DROP`.
pub fn drop_from(src: IpAddr) -> Result<Vec<String>, String> {
    Ok(vec!["-s".into(), v4(src)?, "-j".into(), "DROP".into()])
}

/// Render a probability as iptables takes it: plain decimal, no exponent.
pub fn probability_arg(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// The rule spec that drops packets from `src` with probability `p`:
/// `-s <ip> -m statistic --mode random --probability <p> -j DROP`.
pub fn lossy_from(src: IpAddr, p: f64) -> Result<Vec<String>, String> {
    Ok(vec![
        "-s".into(),
        v4(src)?,
        "-m".into(),
        "statistic".into(),
        "--mode".into(),
        "random".into(),
        "--probability".into(),
        probability_arg(p),
        "-j".into(),
        "DROP".into(),
    ])
}

fn with_spec(op: &str, spec: &[String]) -> Vec<String> {
    let mut a = v(&[IPTABLES, "-w", op, CHAIN]);
    a.extend(spec.iter().cloned());
    a
}

/// `iptables -w -A KTRIAL <spec>`.
pub fn append(spec: &[String]) -> Vec<String> {
    with_spec("-A", spec)
}

/// `iptables -w -D KTRIAL <spec>`: delete exactly one rule appended earlier.
pub fn delete(spec: &[String]) -> Vec<String> {
    with_spec("-D", spec)
}

/// `iptables -w -F KTRIAL`: heal.
pub fn flush() -> Vec<String> {
    v(&[IPTABLES, "-w", "-F", CHAIN])
}

/// `iptables -w -S`: list the filter table (works whether or not the chain
/// exists; see [`chain_rules`]).
pub fn list() -> Vec<String> {
    v(&[IPTABLES, "-w", "-S"])
}

/// The `-A KTRIAL …` lines of an `iptables -S` listing: the rules in force.
pub fn chain_rules(listing: &str) -> Vec<String> {
    let prefix = format!("-A {CHAIN} ");
    listing
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// Whether `argv` is a command the nemesis treats as iptables.
pub fn is_iptables(argv: &[&str]) -> bool {
    argv.first() == Some(&IPTABLES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_argv() {
        let ip: IpAddr = "172.18.0.3".parse().unwrap();
        assert_eq!(
            append(&drop_from(ip).unwrap()).join(" "),
            "iptables -w -A KTRIAL -s 172.18.0.3 -j DROP"
        );
        assert_eq!(
            delete(&lossy_from(ip, 0.5).unwrap()).join(" "),
            "iptables -w -D KTRIAL -s 172.18.0.3 -m statistic --mode random --probability 0.5 -j DROP"
        );
        assert_eq!(flush().join(" "), "iptables -w -F KTRIAL");
        assert!(drop_from("::1".parse().unwrap()).is_err());
    }

    #[test]
    fn probabilities_are_plain_decimals() {
        assert_eq!(probability_arg(0.5), "0.5");
        assert_eq!(probability_arg(1.0), "1");
        assert_eq!(probability_arg(0.000001), "0.000001");
        assert_eq!(probability_arg(0.2), "0.2");
        assert_eq!(probability_arg(1e-9), "0");
    }

    #[test]
    fn rules_in_a_listing() {
        let listing = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-N KTRIAL\n-A INPUT -j KTRIAL\n\
                       -A KTRIAL -s 172.18.0.3/32 -j DROP\n-A KTRIALX -j DROP\n";
        assert_eq!(
            chain_rules(listing),
            vec!["-A KTRIAL -s 172.18.0.3/32 -j DROP".to_string()]
        );
        assert!(chain_rules("-P INPUT ACCEPT\n").is_empty());
    }
}
