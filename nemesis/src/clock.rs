//! Clock skew through libfaketime.
//!
//! Brokers run under libfaketime, which reads a relative offset such as
//! `+30s` from [`FAKETIME_FILE`] (`/etc/faketimerc`) inside each node. The
//! nemesis writes that file; heal writes `+0`. To check what a process in
//! the node would see, [`measure_offset`] runs `date +%s` twice in one exec:
//! once plain, once under the libfaketime environment of [`FaketimeEnv`].

use crate::node::{Node, NodeError, FAKETIME_FILE};
use crate::options::ClockOffset;

/// Where Debian's `libfaketime` package puts the library (amd64).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The environment under which a process in a node sees the faked clock.
/// The suite launches brokers with the same variables (plus, for the JVM,
/// `FAKETIME_DONT_FAKE_MONOTONIC=1`); it may build its own value of this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaketimeEnv {
    pub vars: Vec<(String, String)>,
}

impl Default for FaketimeEnv {
    /// `LD_PRELOAD=<LIBFAKETIME> FAKETIME_TIMESTAMP_FILE=/etc/faketimerc
    /// FAKETIME_NO_CACHE=1`.
    fn default() -> Self {
        FaketimeEnv {
            vars: vec![
                ("LD_PRELOAD".into(), LIBFAKETIME.into()),
                ("FAKETIME_TIMESTAMP_FILE".into(), FAKETIME_FILE.into()),
                ("FAKETIME_NO_CACHE".into(), "1".into()),
            ],
        }
    }
}

impl FaketimeEnv {
    /// The same settings with another library path.
    pub fn with_library(lib: &str) -> Self {
        let mut e = FaketimeEnv::default();
        e.vars[0].1 = lib.to_string();
        e
    }

    fn shell_prefix(&self) -> String {
        self.vars
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `sh -c "printf '%s\n' '+30s' > /etc/faketimerc"`.
pub fn write_offset_argv(offset: ClockOffset) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("printf '%s\\n' '{offset}' > {FAKETIME_FILE}"),
    ]
}

/// `cat /etc/faketimerc`.
pub fn read_offset_argv() -> Vec<String> {
    vec!["cat".into(), FAKETIME_FILE.into()]
}

/// The script of [`measure_offset`]: real then faked seconds, one per line.
pub fn measure_argv(env: &FaketimeEnv) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("date +%s; env {} date +%s", env.shell_prefix()),
    ]
}

async fn exec(node: &dyn Node, argv: &[String]) -> Result<String, NodeError> {
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = node.exec(&a).await?;
    if !out.success() {
        return Err(NodeError::Exec {
            node: node.name().to_string(),
            cmd: argv.join(" "),
            msg: format!("exit {}: {}", out.code, out.stderr.trim()),
        });
    }
    Ok(out.stdout)
}

/// Write an offset into the node's faketime file.
pub async fn set_offset(node: &dyn Node, offset: ClockOffset) -> Result<(), NodeError> {
    exec(node, &write_offset_argv(offset)).await.map(|_| ())
}

/// The faketime file's content, trimmed (`None` if there is no such file).
pub async fn read_offset(node: &dyn Node) -> Result<Option<String>, NodeError> {
    let a = read_offset_argv();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let out = node.exec(&a).await?;
    Ok(out.success().then(|| out.stdout.trim().to_string()))
}

/// The clock offset a process in the node sees under `env`, in seconds
/// (faked minus real; ±1 from the second boundary between the two reads).
pub async fn measure_offset(node: &dyn Node, env: &FaketimeEnv) -> Result<i64, NodeError> {
    let argv = measure_argv(env);
    let out = exec(node, &argv).await?;
    let nums: Vec<i64> = out
        .lines()
        .filter_map(|l| l.trim().parse::<i64>().ok())
        .collect();
    match nums.as_slice() {
        [real, faked] => Ok(faked - real),
        _ => Err(NodeError::Exec {
            node: node.name().to_string(),
            cmd: argv.join(" "),
            msg: format!("expected two timestamps, got {out:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv() {
        assert_eq!(
            write_offset_argv(ClockOffset(-120))[2],
            "printf '%s\\n' '-120s' > /etc/faketimerc"
        );
        assert_eq!(
            write_offset_argv(ClockOffset::ZERO)[2],
            "printf '%s\\n' '+0' > /etc/faketimerc"
        );
        assert_eq!(
            measure_argv(&FaketimeEnv::default())[2],
            "date +%s; env LD_PRELOAD='/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1' \
             FAKETIME_TIMESTAMP_FILE='/etc/faketimerc' FAKETIME_NO_CACHE='1' date +%s"
        );
    }
}
