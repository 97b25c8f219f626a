//! `kafka-trial test` and `kafka-trial scenario`: run a trial from the
//! command line. Both take the trial spec's own flags (`crate::spec`,
//! declared once, flattened here), a spec file (`--spec`) or a scenario's
//! preset beneath them, and `--print-spec`.

use super::exit;
use crate::spec::{SpecArgs, TrialSpec};
use crate::trial::{self, TestSpec, SCENARIOS};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use crate::spec::{parse_duration, parse_judge};
pub use crate::workloads::parse_commit;
pub use crate::workloads::txn::parse_isolation;

/// Every option of a trial.
#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// A trial spec to start from (TOML, or JSON): a run folder's
    /// spec.toml, one printed by --print-spec or written by hand. The
    /// flags given override it.
    #[arg(long = "spec", value_name = "FILE")]
    pub spec_file: Option<PathBuf>,
    /// Print the effective spec as TOML and exit (nothing runs).
    #[arg(long)]
    pub print_spec: bool,
    /// Print the nemesis schedule and exit, touching no cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// Run the trial N times, each on a fresh cluster with the same spec
    /// and schedule, and print how often it came out INVALID with a 95 %
    /// (Wilson) interval.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
}

impl TestArgs {
    /// The trial these arguments describe: the spec file's (or the
    /// defaults) with the flags given laid over it.
    pub fn trial_spec(&self) -> Result<TrialSpec> {
        let base = self.spec_file.as_deref().map(TrialSpec::load).transpose()?;
        self.spec.apply(base)
    }

    pub fn spec(&self, store: &Path) -> Result<TestSpec> {
        let mut spec = self.trial_spec()?.to_test(store)?;
        spec.progress = true;
        spec.command = Some(command_line());
        spec.validate()?;
        Ok(spec)
    }
}

/// This process's command line, quoted for a shell.
pub fn command_line() -> String {
    // Secrets of `--client-config` written `***`.
    let args: Vec<String> = std::env::args().collect();
    crate::external::secrets::redact_words(&args)
        .into_iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run a spec, print the summary, return the verdict's exit code; or,
/// with `print_spec`, print its spec as TOML, with `dry_run` its schedule;
/// with `repeat` above 1, run it that many times and print the rate.
pub async fn run_spec(
    spec: TestSpec,
    dry_run: bool,
    print_spec: bool,
    repeat: u32,
) -> Result<ExitCode> {
    if print_spec {
        print!("{}", TrialSpec::from_test(&spec)?.to_toml());
        return Ok(exit::code(exit::VALID));
    }
    if dry_run {
        match spec.planned_schedule()? {
            Some(s) => println!("{s}"),
            None => println!("scripted nemesis: {:#?}", spec.nemesis),
        }
        return Ok(exit::code(exit::VALID));
    }
    if repeat > 1 {
        let store = spec.store.clone();
        let r = trial::repeat::repeat(&store, &spec, repeat as usize, trial::run).await;
        println!();
        print!("{}", r.table());
        return Ok(exit::code(r.exit_code()));
    }
    let report = trial::run(spec).await?;
    print!("{}", trial::summary(&report));
    Ok(exit::code(report.exit_code))
}

pub async fn test(store: &Path, a: TestArgs) -> Result<ExitCode> {
    let spec = match a.spec(store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "kafka-trial: {}",
                crate::external::secrets::scrub(&format!("{e:#}"))
            );
            return Ok(exit::code(exit::HARNESS));
        }
    };
    run_spec(spec, a.dry_run, a.print_spec, a.repeat).await
}

#[derive(Subcommand, Debug)]
pub enum ScenarioCmd {
    /// List the named scenarios: name, purpose, expected verdict.
    List,
    /// Print a scenario's spec (its preset) as TOML: a file `test --spec`
    /// runs, to read or to edit.
    Show {
        /// Scenario name (see `scenario list`).
        name: String,
    },
    /// Run a named scenario (its preset, then the flags given).
    Run(Box<ScenarioRunCli>),
}

/// `scenario run NAME`: the scenario's preset, then the trial flags given
/// (the same as `test`'s).
#[derive(Args, Debug, Clone)]
pub struct ScenarioRunCli {
    /// Scenario name (see `scenario list`).
    #[arg(value_name = "NAME")]
    pub scenario: String,
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Print the effective spec as TOML and exit (nothing runs).
    #[arg(long)]
    pub print_spec: bool,
    /// Print the nemesis schedule and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// Run the scenario N times, each on a fresh cluster, and print how
    /// often it came out INVALID with a 95 % (Wilson) interval.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
}

/// The spec `scenario run` runs: the scenario's preset, then the flags
/// given, validated; test.json's `command` is this process's command line.
pub fn scenario_run_spec(store: &Path, a: &ScenarioRunCli) -> Result<TestSpec> {
    let trial = scenario_trial_spec(&a.scenario, &a.spec)?;
    let mut spec = trial.to_test(store)?;
    spec.progress = true;
    spec.command = Some(command_line());
    spec.validate()?;
    Ok(spec)
}

/// A scenario's preset with the flags `f` gave laid over it.
pub fn scenario_trial_spec(name: &str, f: &SpecArgs) -> Result<TrialSpec> {
    let sc = scenario_named(name)?;
    let mut base = TestSpec::new(sc.name);
    if f.given("time_limit") {
        // A scenario may scale its script to the time it gets.
        base.time_limit = f.spec.time_limit;
    }
    let preset = sc.spec(base);
    let mut trial = TrialSpec::from_test(&preset)?;
    if f.given("hosts") {
        // The file decides the shape; the scenario's own metadata mode
        // must agree with it (a ZooKeeper scenario needs zookeeper hosts).
        let h = f.spec.cluster.hosts.as_ref().expect("given");
        let hosts = crate::platform::ssh::HostsFile::load(h)?;
        let file_mode = hosts.shape()?.mode;
        if let (Some(m), false) = (preset.cluster.mode, f.given("mode")) {
            if m != file_mode {
                bail!(
                    "scenario {} runs in {m} mode; the hosts file {} describes a {file_mode} cluster",
                    sc.name,
                    h.display()
                );
            }
        }
        let c = &mut trial.cluster;
        c.nodes = None;
        c.controllers = None;
        c.split_roles = false;
        c.zookeeper = None;
        c.mode = None;
    }
    f.apply(Some(trial))
}

fn scenario_named(name: &str) -> Result<&'static trial::Scenario> {
    SCENARIOS.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        anyhow::anyhow!("unknown scenario {name:?}; known: {}", names.join(", "))
    })
}

pub async fn scenario(store: &Path, cmd: ScenarioCmd) -> Result<ExitCode> {
    match cmd {
        ScenarioCmd::List => {
            println!("{:<26} {:<11} purpose", "name", "expected");
            for s in SCENARIOS {
                println!("{:<26} {:<11} {}", s.name, s.expected, s.purpose);
                println!("{:<26} promises tested: {}", "", s.promises.join(", "));
                if let Some(b) = &s.bug {
                    println!(
                        "{:<26} {} affects {}; fixed in {}; runs {} ({}) by default",
                        "",
                        b.ticket,
                        b.affects,
                        b.fixed_in,
                        b.default_version,
                        b.default_mode.name()
                    );
                }
            }
            Ok(exit::code(exit::VALID))
        }
        ScenarioCmd::Show { name } => {
            let spec = match scenario_named(&name)
                .and_then(|sc| TrialSpec::from_test(&sc.spec(TestSpec::new(sc.name))))
            {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kafka-trial: {e:#}");
                    return Ok(exit::code(exit::HARNESS));
                }
            };
            print!("{}", spec.to_toml());
            Ok(exit::code(exit::VALID))
        }
        ScenarioCmd::Run(a) => {
            let spec = match scenario_run_spec(store, &a) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kafka-trial: {e:#}");
                    return Ok(exit::code(exit::HARNESS));
                }
            };
            let sc = scenario_named(&a.scenario)?;
            eprintln!(
                "scenario {}: {} (expected: {}; promises tested: {})",
                sc.name,
                sc.purpose,
                sc.expected,
                sc.promises.join(", ")
            );
            run_spec(spec, a.dry_run, a.print_spec, a.repeat).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::Isolation;
    use crate::trial::Linearizability;
    use std::time::Duration;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn isolation_parses() {
        assert_eq!(
            parse_isolation("read_uncommitted").unwrap(),
            Isolation::ReadUncommitted
        );
        assert_eq!(
            parse_isolation("read-committed").unwrap(),
            Isolation::ReadCommitted
        );
        assert!(parse_isolation("serializable").is_err());
    }

    /// `scenario run NAME` with these flags.
    fn scenario(name: &str, flags: &[&str]) -> TestSpec {
        let f = SpecArgs::parse_from(flags).unwrap();
        let spec = scenario_trial_spec(name, &f)
            .unwrap()
            .to_test(Path::new("store"))
            .unwrap();
        spec.validate().unwrap();
        spec
    }

    #[test]
    fn linearizability_flags_reach_the_spec_and_its_check() {
        let spec = scenario(
            "safe",
            &["--linearizability", "off", "--linear-budget", "7s"],
        );
        assert_eq!(spec.linearizability, Linearizability::Off);
        assert!(spec.linear_check(Default::default()).linear_model.is_none());
        // The default: the log model within a budget scaled to the history,
        // in test.json so that `check RUN` does the same.
        let spec = scenario("safe", &[]);
        let o = spec.linear_check(Default::default());
        assert_eq!(
            (o.linear_model.as_deref(), o.linear_scaled_budget),
            (Some("log"), true)
        );
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["linearizability"], "log");
        let o = trial_checkers::CheckOptions::for_test_json(&json).unwrap();
        assert_eq!(
            (o.linear_model.as_deref(), o.linear_scaled_budget),
            (Some("log"), true)
        );
        let mut fixed = spec.clone();
        fixed.linear_budget = Some(Duration::from_millis(1500));
        let json = serde_json::to_value(&fixed).unwrap();
        assert_eq!(json["linear_budget"], 1.5);
        let back: TestSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back.linear_budget, Some(Duration::from_millis(1500)));
        let o = trial_checkers::CheckOptions::for_test_json(&json).unwrap();
        assert_eq!(
            (o.linear_scaled_budget, o.linear_time_limit),
            (false, Duration::from_millis(1500))
        );
    }

    #[test]
    fn every_scenario_builds_a_valid_spec() {
        for s in SCENARIOS {
            let lazyfs: &[&str] = if s.name == "safe" { &["--lazyfs"] } else { &[] };
            let spec = scenario(s.name, &[&["--seed", "3"][..], lazyfs].concat());
            assert_eq!(spec.name, s.name);
            assert_eq!(spec.seed, 3);
            if s.name == "safe" {
                assert!(spec.cluster.requirements.tools.contains("kt-lazyfs"));
            }
        }
    }
}
