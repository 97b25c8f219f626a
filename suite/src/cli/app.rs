//! The whole command line: [`Cli`] and its subcommands (`main` parses
//! it; tests walk it).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// kafka-trial: Jepsen-style fault-injection trials of Apache Kafka.
///
/// Starts a real multi-broker KRaft cluster in containers, drives real
/// clients (librdkafka) against it while a nemesis partitions, kills, pauses
/// and skews brokers, records every operation in a history, and checks the
/// history for lost, duplicated, reordered or phantom records.
///
/// Exit codes: 0 valid, 1 anomalies found, 2 unknown (could not decide),
/// 3 the harness or its input failed.
#[derive(Parser, Debug)]
#[command(name = "kafka-trial", version, propagate_version = true)]
pub struct Cli {
    /// Where runs are stored (`<store>/<test>/<timestamp>/`).
    #[arg(
        long,
        global = true,
        default_value = "store",
        env = "KAFKA_TRIAL_STORE"
    )]
    pub store: PathBuf,
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a trial: cluster, workload and nemesis, heal, final reads, verdict.
    Test(Box<super::test::TestArgs>),
    /// Named, documented test presets: `scenario list`, `scenario run NAME`.
    #[command(subcommand)]
    Scenario(super::test::ScenarioCmd),
    /// Run a scenario on several Kafka releases, metadata modes and seeds.
    ///
    /// `matrix safe --versions 3.6.2,3.9.1,3.9.1:zookeeper,4.0.0 --seeds 1,2`
    /// makes one ordinary run per release, mode and seed (each in its own
    /// run folder), then prints a table: verdict, anomaly counts, fail-over
    /// time, ok ops. The table is also written as matrix.json and
    /// matrix.html in <store>/matrix/<scenario>/<timestamp>/, which `serve`
    /// lists. Every release and mode is checked before the first run: one
    /// the suite cannot run ends the command with exit 3. Exit code: the
    /// worst cell's (3 if one could not run, 1 anomalies, 2 unknown).
    Matrix(super::matrix::MatrixArgs),
    /// Textbook claims about Kafka as experiments, with verdicts.
    ///
    /// Each claim ("acks=1 keeps every acknowledged write when a partition
    /// leader fails") is one ordinary run built to refute it; `expected`
    /// says which way Kafka's documentation predicts it comes out. Prints
    /// the catalogue's estimated duration, progress per claim, then the
    /// table (claim, expected, verdict holds/refuted/inconclusive, observed,
    /// run), also written as claims.json and claims.html in
    /// <store>/claims/<timestamp>/, which `serve` lists. `--list` prints
    /// the catalogue. Exit code: 0 every claim came out as documented, 1
    /// one did not, 2 some were inconclusive, 3 a run could not be made.
    Claims(super::claims::ClaimsArgs),
    /// Shrink a failing run to the smallest fault schedule that still
    /// shows its anomaly, with how often it does.
    ///
    /// Delta debugging over the run's faults (halves, then single
    /// faults), then each fault's targets (one node instead of several)
    /// and window (halved), then the workload (time limit cut to just past
    /// the last fault, rate, processes, partitions). Each candidate runs
    /// --runs-per-candidate times on fresh clusters and reproduces when at
    /// least one run shows the class; its rate (95 % Wilson interval) is
    /// kept. The budget bounds the search; Ctrl-C keeps the best so far.
    /// Writes <store>/shrink/<ts>/minimal.toml (rerun it with `test --spec
    /// minimal.toml --repeat 10`), shrink.json and shrink.html. Exit code:
    /// 1 the minimal schedule reproduces, 2 the original did not
    /// reproduce, 3 the run cannot be shrunk (not a run, no schedule, a
    /// class it did not show).
    Shrink(super::shrink::ShrinkArgs),
    /// Check a stored run or a history file now, and print the verdict.
    Check(super::history::CheckArgs),
    /// List stored runs, newest first: test, time, verdict, op count.
    Runs(super::history::RunsArgs),
    /// Print a run's history as aligned lines (like Jepsen's history.txt).
    Show(super::history::ShowArgs),
    /// A cluster to poke at by hand: up, status, down.
    #[command(subcommand)]
    Cluster(super::cluster::ClusterCmd),
    /// The node image: build it now (it is also built when first needed).
    #[command(subcommand)]
    Image(super::cluster::ImageCmd),
    /// Hosts for the SSH platform: `hosts sandbox up N --out DIR` starts
    /// containers running sshd that stand in for them; `hosts sandbox down DIR`.
    #[command(subcommand)]
    Hosts(super::hosts::HostsCmd),
    /// Remove every container and network the suite left behind (never a
    /// running trial's: its controller is alive).
    Clean(super::cluster::CleanArgs),
    /// (Re)render a stored run's report: report.html, latency-raw.svg/.png
    /// and rate.svg/.png in the run folder.
    ///
    /// report.html is self-contained (no network): the verdict, each
    /// anomaly with its definition and the ops involved, the test's options
    /// and the command that repeats it, the plots, a zoomable timeline of
    /// every op (one lane per process, nemesis faults shaded) and a paged
    /// table of all ops. Open it from disk or through `kafka-trial serve`.
    Report(super::report::ReportArgs),
    /// Browse the store in a web browser (read-only).
    ///
    /// Lists every run newest first with its verdict, options and anomaly
    /// counts, and serves each run's report, plots, history and node logs.
    /// A run with no report.html yet (or one older than its results) is
    /// rendered on demand in memory, never written. Serves only files
    /// inside the store; binds 127.0.0.1 unless told otherwise.
    Serve(super::report::ServeArgs),
    /// A read-only look at a cluster you run (`--bootstrap`) before a
    /// trial: brokers, controller, the configuration the promise model
    /// would read back, and whether the credentials can create and delete
    /// a topic (a `kt-trial-probe-…` topic, deleted at once).
    Probe(crate::external::probe::ProbeArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every flag and argument of every subcommand says what it is.
    #[test]
    fn every_flag_of_every_subcommand_has_help() {
        fn walk(c: &clap::Command, path: &str, seen: &mut usize, missing: &mut Vec<String>) {
            for a in c.get_arguments() {
                *seen += 1;
                let said = |s: Option<&clap::builder::StyledStr>| {
                    s.is_some_and(|s| !s.to_string().trim().is_empty())
                };
                if !said(a.get_help()) && !said(a.get_long_help()) {
                    missing.push(format!("{path} {}", a.get_id()));
                }
            }
            for s in c.get_subcommands() {
                walk(s, &format!("{path} {}", s.get_name()), seen, missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let (mut seen, mut missing) = (0, vec![]);
        walk(&cmd, "kafka-trial", &mut seen, &mut missing);
        assert!(seen > 100, "only {seen} arguments walked");
        assert!(missing.is_empty(), "without help: {missing:#?}");
    }
}
