//! Probes that tell, from inside the nodes, whether a fault took effect.
//!
//! The node image has bash but neither `nc` nor `ping`, so a TCP connect is
//! bash's `/dev/tcp`: `timeout 2 bash -c '</dev/tcp/IP/PORT'` exits 0 when the
//! connection is established. A connect from `a` to `b` needs packets both
//! ways, so under a grudge it gets an answer iff
//! [`crate::grudge::tcp_allows`]. The answer may be a refusal: a reset from
//! a port where nothing listens still proves that packets pass both ways,
//! while dropped packets make the connect time out (exit 124). So the
//! probes need no listener, and a dead broker does not look like a cut.
//!
//! The image also has `ping` (iputils), for [`ping_loss`].

use crate::grudge::{tcp_allows, Grudge};
use crate::node::{Node, NodeError};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// `timeout <t> bash -c '</dev/tcp/<ip>/<port>'`.
pub fn tcp_connect_argv(ip: IpAddr, port: u16, timeout: Duration) -> Vec<String> {
    vec![
        "timeout".into(),
        secs(timeout),
        "bash".into(),
        "-c".into(),
        format!("</dev/tcp/{ip}/{port}"),
    ]
}

/// One bash loop of `attempts` connects: prints the number that succeeded.
pub fn tcp_attempts_argv(ip: IpAddr, port: u16, attempts: u32, timeout: Duration) -> Vec<String> {
    vec![
        "bash".into(),
        "-c".into(),
        format!(
            "ok=0; for i in $(seq {attempts}); do timeout {} bash -c '</dev/tcp/{ip}/{port}' \
             2>/dev/null; [ $? -ne 124 ] && ok=$((ok+1)); done; echo $ok",
            secs(timeout)
        ),
    ]
}

/// What a TCP connect attempt from inside a node met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The connection was established (a listener answered).
    Connected,
    /// The peer answered with a reset (nothing listens there): packets
    /// still passed both ways.
    Refused,
    /// No answer within the timeout: packets were dropped one way or the
    /// other (or the peer is paused with a full backlog, or gone).
    TimedOut,
    /// Anything else (no route, …), with bash's message.
    Failed(String),
}

impl Probe {
    /// Packets pass both ways: connected or refused.
    pub fn reachable(&self) -> bool {
        matches!(self, Probe::Connected | Probe::Refused)
    }
}

/// Try a TCP connect from inside `from` to `ip:port` within `timeout`.
/// Missing tools (exit 126/127) are an error.
pub async fn tcp_probe(
    from: &dyn Node,
    ip: IpAddr,
    port: u16,
    timeout: Duration,
) -> Result<Probe, NodeError> {
    let argv = tcp_connect_argv(ip, port, timeout);
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = from.exec(&a).await?;
    Ok(match out.code {
        0 => Probe::Connected,
        124 => Probe::TimedOut,
        126 | 127 => {
            return Err(NodeError::Exec {
                node: from.name().to_string(),
                cmd: argv.join(" "),
                msg: format!("cannot run the probe: {}", out.stderr.trim()),
            })
        }
        _ if out.stderr.contains("refused") => Probe::Refused,
        _ => Probe::Failed(out.stderr.trim().to_string()),
    })
}

/// Whether a TCP connection from inside `from` to `ip:port` is established
/// within `timeout` (a listener must be there).
pub async fn tcp_connect(
    from: &dyn Node,
    ip: IpAddr,
    port: u16,
    timeout: Duration,
) -> Result<bool, NodeError> {
    Ok(tcp_probe(from, ip, port, timeout).await? == Probe::Connected)
}

/// For every ordered pair of distinct nodes `(from, to)`, whether packets
/// pass both ways between them, seen by a TCP connect from `from` to `to`'s
/// address on `port`: `true` if it connected *or was refused* (so a dead
/// broker does not look like a partition), `false` if it timed out. All
/// probes run concurrently: the matrix takes about one `timeout`.
pub async fn connectivity_matrix(
    nodes: &[Arc<dyn Node>],
    port: u16,
    timeout: Duration,
) -> Result<BTreeMap<(String, String), bool>, NodeError> {
    let mut set = JoinSet::new();
    for a in nodes {
        for b in nodes {
            if a.name() == b.name() {
                continue;
            }
            let (a, ip, to) = (a.clone(), b.ip(), b.name().to_string());
            set.spawn(async move {
                let r = tcp_probe(a.as_ref(), ip, port, timeout).await;
                ((a.name().to_string(), to), r)
            });
        }
    }
    let mut out = BTreeMap::new();
    while let Some(j) = set.join_next().await {
        let (pair, r) = j.map_err(|e| NodeError::Other {
            node: "?".into(),
            msg: format!("probe task failed: {e}"),
        })?;
        out.insert(pair, r?.reachable());
    }
    Ok(out)
}

/// The matrix [`connectivity_matrix`] should observe under `grudge` (every
/// broker listening).
pub fn expected_matrix(grudge: &Grudge) -> BTreeMap<(String, String), bool> {
    let mut out = BTreeMap::new();
    for a in grudge.keys() {
        for b in grudge.keys() {
            if a != b {
                out.insert((a.clone(), b.clone()), tcp_allows(grudge, a, b));
            }
        }
    }
    out
}

/// Where an observed matrix differs from what the grudge implies, as
/// readable lines (`n1 -> n3: connected, expected cut`); empty when they
/// agree.
pub fn matrix_mismatches(
    observed: &BTreeMap<(String, String), bool>,
    grudge: &Grudge,
) -> Vec<String> {
    let word = |b: bool| if b { "connected" } else { "cut" };
    let expected = expected_matrix(grudge);
    let mut out = Vec::new();
    for ((a, b), want) in &expected {
        match observed.get(&(a.clone(), b.clone())) {
            Some(got) if got == want => {}
            Some(got) => out.push(format!(
                "{a} -> {b}: {}, expected {}",
                word(*got),
                word(*want)
            )),
            None => out.push(format!("{a} -> {b}: not probed")),
        }
    }
    out
}

/// Of `attempts` sequential TCP connects from `from` to `ip:port`, how many
/// got an answer, connected or refused (one exec). Under loss probability
/// `p` on the packets each way (the `loss` fault on both ends), an attempt
/// without retransmission is answered with probability `(1-p)^2`; keep
/// `timeout` below 1s (the first SYN retransmit) for that to hold.
pub async fn tcp_success_count(
    from: &dyn Node,
    ip: IpAddr,
    port: u16,
    attempts: u32,
    timeout: Duration,
) -> Result<u32, NodeError> {
    let argv = tcp_attempts_argv(ip, port, attempts, timeout);
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = from.exec(&a).await?;
    out.stdout.trim().parse().map_err(|_| NodeError::Exec {
        node: from.name().to_string(),
        cmd: argv.join(" "),
        msg: format!(
            "expected a count, got {:?} (stderr {:?})",
            out.stdout, out.stderr
        ),
    })
}

/// `ping -q -n -c <count> -i 0.2 -W 1 <ip>` (needs `iputils-ping` in the
/// image).
pub fn ping_argv(ip: IpAddr, count: u32) -> Vec<String> {
    vec![
        "ping".into(),
        "-q".into(),
        "-n".into(),
        "-c".into(),
        count.to_string(),
        "-i".into(),
        "0.2".into(),
        "-W".into(),
        "1".into(),
        ip.to_string(),
    ]
}

/// The packet loss ping reports, as a fraction, from inside `from` to `ip`.
/// Needs `iputils-ping` in the image (an error otherwise).
pub async fn ping_loss(from: &dyn Node, ip: IpAddr, count: u32) -> Result<f64, NodeError> {
    let argv = ping_argv(ip, count);
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = from.exec(&a).await?;
    parse_ping_loss(&out.stdout).ok_or_else(|| NodeError::Exec {
        node: from.name().to_string(),
        cmd: argv.join(" "),
        msg: format!(
            "no loss figure in ping's output (exit {}): {}",
            out.code,
            out.stderr.trim()
        ),
    })
}

/// `… 20 packets transmitted, 9 received, 55% packet loss …` → 0.55.
pub fn parse_ping_loss(stdout: &str) -> Option<f64> {
    let i = stdout.find("% packet loss")?;
    let head = &stdout[..i];
    let start = head
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(0, |j| j + 1);
    head[start..].parse::<f64>().ok().map(|p| p / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv() {
        let ip: IpAddr = "172.18.0.4".parse().unwrap();
        assert_eq!(
            tcp_connect_argv(ip, 9092, Duration::from_secs(2)),
            [
                "timeout",
                "2.000",
                "bash",
                "-c",
                "</dev/tcp/172.18.0.4/9092"
            ]
        );
        assert!(
            tcp_attempts_argv(ip, 9092, 20, Duration::from_millis(500))[2]
                .contains("$(seq 20); do timeout 0.500 bash -c '</dev/tcp/172.18.0.4/9092'")
        );
    }

    #[test]
    fn ping_output() {
        let out = "--- 172.18.0.4 ping statistics ---\n\
                   20 packets transmitted, 9 received, 55% packet loss, time 3805ms\n";
        assert_eq!(parse_ping_loss(out), Some(0.55));
        assert_eq!(
            parse_ping_loss("5 packets transmitted, 5 received, 0% packet loss"),
            Some(0.0)
        );
        assert_eq!(parse_ping_loss("ping: unknown host"), None);
    }
}
