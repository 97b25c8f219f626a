//! The shell the SSH platform runs on a host, built here as text so that
//! it can be read and tested without one: what a host holds of ours (its
//! footprint), the teardown back to nothing of ours, the checksummed cache,
//! file uploads that never overwrite what a user has.
//!
//! What is "ours" on a host: the folders [`ROOTS`] and run files
//! [`RUN_FILES`] (refused at preflight if present and not ours), the files
//! uploaded elsewhere (e.g. `/etc/faketimerc`, recorded in [`OWNED`] as
//! `path …` before they are written, refused if present and not recorded),
//! processes whose command line names `/opt/kafka/libs` or `/opt/kt/bin/`
//! (only ours can: the paths are), mounts under the roots (kt-lazyfs), and
//! the `KTRIAL` iptables chain with its jump (the suite's own name). Only
//! [`CACHE`] stays after a teardown.
//!
//! Scripts that look at processes ([`footprint_script`], [`teardown_script`])
//! are fed to `bash -s` on standard input, so that their own command line
//! names none of our paths.

use std::fmt::Write as _;
use trial_nemesis::iptables::CHAIN;

/// What stays on a host between runs: the checksummed Kafka jars and
/// suite tools (`dist/<sha256>/`), and [`OWNED`] while a cluster runs.
pub const CACHE: &str = "/var/cache/kafka-trial";
/// The record of a cluster on the host: `cluster <id>` then `path <p>` for
/// each file written outside [`ROOTS`].
pub const OWNED: &str = "/var/cache/kafka-trial/owned";
/// The folders a cluster makes and a teardown removes whole.
pub const ROOTS: &[&str] = &["/opt/kt", "/opt/kafka", "/var/log/kafka", "/var/lib/kafka"];
/// Files the control script makes outside the roots.
pub const RUN_FILES: &[&str] = &["/run/kt-broker.pid", "/run/kt-lazyfs"];
/// Command-line fragments that make a process ours.
pub const OUR_PROCESS_MARKS: &[&str] = &["/opt/kafka/libs", "/opt/kt/bin/"];
/// PATH of every command (sshd's default for a non-root user lacks the
/// sbin folders, where iptables lives).
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Quote `s` as one shell word.
pub fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Whether `path` lies inside one of the [`ROOTS`].
pub fn under_roots(path: &str) -> bool {
    ROOTS
        .iter()
        .any(|r| path == *r || path.starts_with(&format!("{r}/")))
}

/// Lists, one per line: `root P`, `run P`, `file P` (recorded files that
/// exist), `owned LINE` (the record), `rule LINE` (iptables lines naming
/// the chain), `proc PID CMDLINE`, `mount P`. Nothing at all: the host
/// holds nothing of ours. `files`: paths written outside the roots that
/// the record may no longer list (after a teardown removed it).
pub fn footprint_script(files: &[String]) -> String {
    let mut s = String::from("export PATH=");
    s.push_str(PATH);
    s.push('\n');
    for r in ROOTS {
        let _ = writeln!(s, "[ -e {r} ] || [ -L {r} ] && echo 'root {r}'");
    }
    for p in files {
        let _ = writeln!(s, "[ -e {} ] && echo {}", sq(p), sq(&format!("file {p}")));
    }
    for r in RUN_FILES {
        let _ = writeln!(s, "[ -e {r} ] && echo 'run {r}'");
    }
    let _ = writeln!(
        s,
        "if [ -f {OWNED} ]; then\n  while IFS= read -r l; do echo \"owned $l\"; \
         case \"$l\" in 'path '*) p=${{l#path }}; [ -e \"$p\" ] && echo \"file $p\";; esac; done < {OWNED}\nfi"
    );
    let _ = writeln!(
        s,
        "if command -v iptables >/dev/null 2>&1; then iptables -w -S 2>/dev/null | grep -w -- {CHAIN} | sed 's/^/rule /'; fi"
    );
    s.push_str(&procs_loop("echo \"proc $pid $cmd\""));
    s.push_str(&mounts_loop("echo \"mount $m\""));
    s.push_str("exit 0\n");
    s
}

/// `for` every process of ours: `$pid`, `$cmd` (its command line).
fn procs_loop(body: &str) -> String {
    let pat = OUR_PROCESS_MARKS
        .iter()
        .map(|m| format!("*{m}*"))
        .collect::<Vec<_>>()
        .join("|");
    format!(
        "for d in /proc/[0-9]*; do pid=${{d#/proc/}}; [ \"$pid\" = $$ ] && continue; \
         cmd=$(tr '\\0' ' ' < $d/cmdline 2>/dev/null) || continue; \
         case \"$cmd\" in {pat}) {body};; esac; done\n"
    )
}

/// `for` every mount point under the roots, deepest first: `$m`.
fn mounts_loop(body: &str) -> String {
    let conds = ROOTS
        .iter()
        .map(|r| format!("$5 == \"{r}\" || index($5, \"{r}/\") == 1"))
        .collect::<Vec<_>>()
        .join(" || ");
    format!(
        "for m in $(awk '{conds} {{ print $5 }}' /proc/self/mountinfo | sort -r); do {body}; done\n"
    )
}

/// What [`footprint_script`] printed, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Footprint {
    pub roots: Vec<String>,
    pub run_files: Vec<String>,
    pub files: Vec<String>,
    /// The cluster id the record names.
    pub cluster: Option<String>,
    /// The record exists (even empty).
    pub owned: bool,
    pub rules: Vec<String>,
    pub processes: Vec<(u32, String)>,
    pub mounts: Vec<String>,
}

impl Footprint {
    pub fn parse(text: &str) -> Footprint {
        let mut f = Footprint::default();
        for line in text.lines() {
            let Some((kind, rest)) = line.split_once(' ') else {
                continue;
            };
            let rest = rest.trim_end();
            match kind {
                "root" => f.roots.push(rest.into()),
                "run" => f.run_files.push(rest.into()),
                "file" => f.files.push(rest.into()),
                "owned" => {
                    f.owned = true;
                    if let Some(id) = rest.strip_prefix("cluster ") {
                        f.cluster = Some(id.trim().to_string());
                    }
                }
                "rule" => f.rules.push(rest.into()),
                "proc" => {
                    let (pid, cmd) = rest.split_once(' ').unwrap_or((rest, ""));
                    if let Ok(pid) = pid.parse() {
                        f.processes.push((pid, cmd.trim().to_string()));
                    }
                }
                "mount" => f.mounts.push(rest.into()),
                _ => {}
            }
        }
        f.files.sort();
        f.files.dedup();
        f
    }

    /// Nothing of ours on the host.
    pub fn is_clean(&self) -> bool {
        *self == Footprint::default()
    }

    /// Something a person can act on: what is there.
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if let Some(c) = &self.cluster {
            parts.push(format!("the record of kafka-trial cluster {c} ({OWNED})"));
        } else if self.owned {
            parts.push(OWNED.to_string());
        }
        let list = |what: &str, v: &[String]| format!("{what} {}", v.join(", "));
        if !self.roots.is_empty() {
            parts.push(list("folders", &self.roots));
        }
        if !self.run_files.is_empty() {
            parts.push(list("run files", &self.run_files));
        }
        if !self.files.is_empty() {
            parts.push(list("files", &self.files));
        }
        if !self.rules.is_empty() {
            parts.push(list("iptables", &self.rules));
        }
        if !self.processes.is_empty() {
            let p: Vec<String> = self
                .processes
                .iter()
                .map(|(pid, cmd)| {
                    let short: String = cmd.chars().take(60).collect();
                    format!("{pid} ({short})")
                })
                .collect();
            parts.push(list("processes", &p));
        }
        if !self.mounts.is_empty() {
            parts.push(list("mounts", &self.mounts));
        }
        parts.join("; ")
    }
}

/// Remove everything of ours from the host: the processes (SIGKILL, the
/// pid file's first; waited for, at most 10 s), the mounts under the roots,
/// the chain and its jump, the roots, run files and recorded files, and the
/// record. With `cluster`, only if the record names that cluster (exit 3
/// and a message otherwise); a host with no record has nothing to remove
/// but what a crashed run may have left, which goes too.
pub fn teardown_script(cluster: Option<&str>) -> String {
    let mut s = format!("export PATH={PATH}\n");
    if let Some(id) = cluster {
        let _ = writeln!(
            s,
            "if [ -f {OWNED} ] && ! grep -qxF {} {OWNED}; then echo \"this host holds $(head -n1 {OWNED}), not cluster {id}\" >&2; exit 3; fi",
            sq(&format!("cluster {id}"))
        );
    }
    let _ = writeln!(
        s,
        "[ -s /run/kt-broker.pid ] && kill -9 $(cat /run/kt-broker.pid) 2>/dev/null"
    );
    let _ = write!(
        s,
        "for i in $(seq 1 50); do\n  left=0\n  {}  [ $left = 0 ] && break\n  sleep 0.2\ndone\n",
        procs_loop("kill -9 $pid 2>/dev/null; left=1")
    );
    s.push_str(&mounts_loop(
        "umount -l \"$m\" 2>/dev/null || fusermount3 -uz \"$m\" 2>/dev/null || fusermount -uz \"$m\" 2>/dev/null",
    ));
    let _ = writeln!(
        s,
        "if command -v iptables >/dev/null 2>&1; then\n  while iptables -w -D INPUT -j {CHAIN} 2>/dev/null; do :; done\n  iptables -w -F {CHAIN} 2>/dev/null; iptables -w -X {CHAIN} 2>/dev/null\nfi"
    );
    let _ = writeln!(
        s,
        "if [ -f {OWNED} ]; then\n  while IFS= read -r l; do case \"$l\" in 'path '*) rm -rf -- \"${{l#path }}\";; esac; done < {OWNED}\nfi"
    );
    let _ = writeln!(
        s,
        "rm -rf -- {} {} {OWNED}",
        ROOTS.join(" "),
        RUN_FILES.join(" ")
    );
    s.push_str("exit 0\n");
    s
}

/// Claim the host for `cluster`: the record, then the roots (checked
/// absent by the preflight).
pub fn claim_script(cluster: &str) -> String {
    format!(
        "set -e\nmkdir -p {CACHE}/dist\nprintf '%s\\n' {} > {OWNED}\nmkdir -p {}\n",
        sq(&format!("cluster {cluster}")),
        ROOTS.join(" ")
    )
}

/// Write standard input to `path` (mode 0755 or 0644), through a
/// temporary file and a rename. Outside the roots, a file that exists and
/// is not in the record is refused (exit 3); one that does not is recorded
/// first, so a teardown removes it.
pub fn upload_script(path: &str, executable: bool) -> String {
    let p = sq(path);
    let mut s = String::from("set -e\n");
    if !under_roots(path) {
        let rec = sq(&format!("path {path}"));
        let _ = writeln!(
            s,
            "if ! grep -qxF {rec} {OWNED} 2>/dev/null; then\n  if [ -e {p} ] || [ -L {p} ]; then echo \"refusing to overwrite {path}: it exists and kafka-trial did not write it\" >&2; exit 3; fi\n  printf '%s\\n' {rec} >> {OWNED}\nfi"
        );
    }
    let _ = writeln!(
        s,
        "mkdir -p \"$(dirname {p})\"\ncat > {p}.kt-tmp\nchmod {} {p}.kt-tmp\nmv -f {p}.kt-tmp {p}",
        if executable { "0755" } else { "0644" }
    );
    s
}

/// The cache entry of content with this checksum.
pub fn cache_entry(sha: &str) -> String {
    format!("{CACHE}/dist/{sha}")
}

/// Exit 0 if the cache has the entry (complete).
pub fn cache_probe_script(sha: &str) -> String {
    format!("test -f {}/.complete\n", cache_entry(sha))
}

/// Fill the cache entry from standard input: the bytes are written,
/// their sha256 checked against `sha` (exit 4 on a mismatch), then a tar
/// archive is unpacked into `<entry>/content/` (a single file becomes
/// `<entry>/content`, mode 0755), and the entry appears whole (renamed
/// from a temporary folder, `.complete` inside).
pub fn cache_fill_script(sha: &str, archive: bool) -> String {
    let d = cache_entry(sha);
    let unpack = if archive {
        "mkdir \"$t/content\"\ntar -xf \"$t/blob\" -C \"$t/content\"\nrm -f \"$t/blob\"\n"
    } else {
        "mv \"$t/blob\" \"$t/content\"\nchmod 0755 \"$t/content\"\n"
    };
    format!(
        "set -e\nexport PATH={PATH}\nd={d}\nt=$d.tmp.$$\nrm -rf \"$t\"\nmkdir -p \"$t\"\ncat > \"$t/blob\"\n\
         if ! echo \"{sha}  $t/blob\" | sha256sum -c --status; then echo \"checksum mismatch: the upload of {sha} arrived damaged\" >&2; rm -rf \"$t\"; exit 4; fi\n\
         {unpack}touch \"$t/.complete\"\nrm -rf \"$d\"\nmv \"$t\" \"$d\"\n"
    )
}

/// Point `node_path` at the cache entry's content (a symbolic link).
pub fn cache_link_script(sha: &str, node_path: &str) -> String {
    let p = sq(node_path);
    format!(
        "set -e\nmkdir -p \"$(dirname {p})\"\nrm -rf {p}\nln -s {}/content {p}\n",
        cache_entry(sha)
    )
}

/// A tar archive of the file or folder `path` on standard output (a
/// folder's content, not the folder).
pub fn download_script(path: &str) -> String {
    let p = sq(path);
    format!(
        "if [ -d {p} ]; then tar -C {p} -cf - .; elif [ -e {p} ]; then tar -C \"$(dirname {p})\" -cf - \"$(basename {p})\"; else echo \"{path}: no such file or folder\" >&2; exit 2; fi\n"
    )
}

/// Remove the whole cache (`cluster down --purge-cache`), refused while a
/// cluster's record is there.
pub fn purge_cache_script() -> String {
    format!("if [ -f {OWNED} ]; then echo \"a cluster is recorded in {OWNED}: tear it down first\" >&2; exit 3; fi\nrm -rf -- {CACHE}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(sq("a b"), "'a b'");
        assert_eq!(sq("it's"), "'it'\\''s'");
        assert!(under_roots("/opt/kt/bin/broker"));
        assert!(under_roots("/opt/kafka"));
        assert!(!under_roots("/opt/kafka-other/x"));
        assert!(!under_roots("/etc/faketimerc"));
    }

    #[test]
    fn footprints_parse_and_describe() {
        let text = "root /opt/kt\nrun /run/kt-broker.pid\nowned cluster abc123\nowned path /etc/faketimerc\n\
                    file /etc/faketimerc\nrule -N KTRIAL\nrule -A INPUT -j KTRIAL\n\
                    proc 42 java -cp /opt/kafka/libs/* kafka.Kafka\nmount /var/lib/kafka/data\n";
        let f = Footprint::parse(text);
        assert_eq!(f.roots, ["/opt/kt"]);
        assert_eq!(f.cluster.as_deref(), Some("abc123"));
        assert_eq!(f.files, ["/etc/faketimerc"]);
        assert_eq!(f.rules.len(), 2);
        assert_eq!(
            f.processes,
            [(42, "java -cp /opt/kafka/libs/* kafka.Kafka".to_string())]
        );
        assert_eq!(f.mounts, ["/var/lib/kafka/data"]);
        assert!(!f.is_clean());
        let d = f.describe();
        for s in [
            "cluster abc123",
            "/opt/kt",
            "KTRIAL",
            "42 (java",
            "/var/lib/kafka/data",
            "/etc/faketimerc",
        ] {
            assert!(d.contains(s), "{s} in {d}");
        }
        assert!(Footprint::parse("").is_clean());
        assert!(Footprint::parse("noise\n").is_clean());
    }

    #[test]
    fn teardown_removes_every_kind_of_footprint() {
        let s = teardown_script(Some("abc"));
        // refuses another cluster's host
        assert!(s.contains("grep -qxF 'cluster abc' /var/cache/kafka-trial/owned"));
        // processes: by pid file, then every one naming our paths
        assert!(s.contains("kill -9 $(cat /run/kt-broker.pid)"));
        assert!(s.contains("*/opt/kafka/libs*|*/opt/kt/bin/*) kill -9 $pid"));
        // mounts, then the chain and its jump, then files, then the record
        assert!(s.contains("umount -l \"$m\""));
        assert!(s.contains("while iptables -w -D INPUT -j KTRIAL"));
        assert!(s.contains("iptables -w -X KTRIAL"));
        assert!(s.contains("rm -rf -- \"${l#path }\""));
        assert!(s.contains("rm -rf -- /opt/kt /opt/kafka /var/log/kafka /var/lib/kafka /run/kt-broker.pid /run/kt-lazyfs /var/cache/kafka-trial/owned"));
        // never the cache itself
        assert!(!s.contains("rm -rf -- /var/cache/kafka-trial\n"));
        let order = [
            "kill -9 $pid",
            "umount",
            "iptables -w -X",
            "rm -rf -- /opt/kt",
        ];
        let pos: Vec<usize> = order.iter().map(|x| s.find(x).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
        assert!(!teardown_script(None).contains("grep -qxF 'cluster"));
        // what the footprint looks for, the teardown removes
        let f = footprint_script(&["/etc/faketimerc".to_string()]);
        assert!(f.contains("[ -e '/etc/faketimerc' ] && echo 'file /etc/faketimerc'"));
        for r in ROOTS.iter().chain(RUN_FILES) {
            assert!(f.contains(r) && s.contains(r), "{r}");
        }
    }

    #[test]
    fn uploads_outside_the_roots_are_recorded_or_refused() {
        let inside = upload_script("/opt/kt/server.properties", false);
        assert!(!inside.contains("refusing"));
        assert!(inside.contains("chmod 0644 '/opt/kt/server.properties'.kt-tmp"));
        let outside = upload_script("/etc/faketimerc", false);
        assert!(outside.contains("refusing to overwrite /etc/faketimerc"));
        assert!(outside
            .contains("printf '%s\\n' 'path /etc/faketimerc' >> /var/cache/kafka-trial/owned"));
        assert!(upload_script("/opt/kt/bin/broker", true).contains("chmod 0755"));
    }

    #[test]
    fn the_cache_is_checked_and_appears_whole() {
        let sha = "ab".repeat(32);
        let s = cache_fill_script(&sha, true);
        assert!(s.contains(&format!("echo \"{sha}  $t/blob\" | sha256sum -c --status")));
        assert!(s.contains("tar -xf \"$t/blob\" -C \"$t/content\""));
        assert!(s.contains("mv \"$t\" \"$d\""));
        assert!(s.find("sha256sum").unwrap() < s.find(".complete").unwrap());
        assert!(cache_fill_script(&sha, false).contains("mv \"$t/blob\" \"$t/content\""));
        assert_eq!(
            cache_probe_script(&sha),
            format!("test -f /var/cache/kafka-trial/dist/{sha}/.complete\n")
        );
        assert!(
            cache_link_script(&sha, "/opt/kafka/libs").contains(&format!(
                "ln -s /var/cache/kafka-trial/dist/{sha}/content '/opt/kafka/libs'"
            ))
        );
    }

    /// The scripts are valid shell (bash -n parses them without running).
    #[test]
    fn scripts_parse_as_bash() {
        let sha = "0".repeat(64);
        for s in [
            footprint_script(&["/etc/a b".into()]),
            teardown_script(Some("x")),
            teardown_script(None),
            claim_script("x"),
            upload_script("/etc/x y", true),
            cache_fill_script(&sha, true),
            cache_link_script(&sha, "/opt/kafka/libs"),
            download_script("/var/log/kafka"),
            purge_cache_script(),
        ] {
            let out = std::process::Command::new("bash")
                .args(["-n", "-c", &s])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{s}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
