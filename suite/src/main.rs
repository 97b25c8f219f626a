//! `kafka-trial`: put Apache Kafka on trial.

use clap::{Parser, Subcommand};
use kafka_trial::cli as cmd;
use kafka_trial::cli::exit;
use std::path::PathBuf;
use std::process::ExitCode;

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
struct Cli {
    /// Where runs are stored (`<store>/<test>/<timestamp>/`).
    #[arg(
        long,
        global = true,
        default_value = "store",
        env = "KAFKA_TRIAL_STORE"
    )]
    store: PathBuf,
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a trial: cluster, workload and nemesis, heal, final reads, verdict.
    Test(Box<cmd::test::TestArgs>),
    /// Named, documented test presets: `scenario list`, `scenario run NAME`.
    #[command(subcommand)]
    Scenario(cmd::test::ScenarioCmd),
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
    Matrix(cmd::matrix::MatrixArgs),
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
    Claims(cmd::claims::ClaimsArgs),
    /// Check a stored run or a history file now, and print the verdict.
    Check(cmd::history::CheckArgs),
    /// List stored runs, newest first: test, time, verdict, op count.
    Runs(cmd::history::RunsArgs),
    /// Print a run's history as aligned lines (like Jepsen's history.txt).
    Show(cmd::history::ShowArgs),
    /// A cluster to poke at by hand: up, status, down.
    #[command(subcommand)]
    Cluster(cmd::cluster::ClusterCmd),
    /// The node image: build it now (it is also built when first needed).
    #[command(subcommand)]
    Image(cmd::cluster::ImageCmd),
    /// Hosts for the SSH platform: `hosts sandbox up N --out DIR` starts
    /// containers running sshd that stand in for them; `hosts sandbox down DIR`.
    #[command(subcommand)]
    Hosts(cmd::hosts::HostsCmd),
    /// Remove every container and network the suite left behind.
    Clean,
    /// (Re)render a stored run's report: report.html, latency-raw.svg/.png
    /// and rate.svg/.png in the run folder.
    ///
    /// report.html is self-contained (no network): the verdict, each
    /// anomaly with its definition and the ops involved, the test's options
    /// and the command that repeats it, the plots, a zoomable timeline of
    /// every op (one lane per process, nemesis faults shaded) and a paged
    /// table of all ops. Open it from disk or through `kafka-trial serve`.
    Report(cmd::report::ReportArgs),
    /// Browse the store in a web browser (read-only).
    ///
    /// Lists every run newest first with its verdict, options and anomaly
    /// counts, and serves each run's report, plots, history and node logs.
    /// A run with no report.html yet (or one older than its results) is
    /// rendered on demand in memory, never written. Serves only files
    /// inside the store; binds 127.0.0.1 unless told otherwise.
    Serve(cmd::report::ServeArgs),
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        // librdkafka reports every refused connection as an error: during a
        // trial that is the nemesis at work, so its log shows from -vv on.
        0 => "warn,librdkafka=off,rdkafka=off",
        1 => "info,librdkafka=off,rdkafka=off",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Commands that only print what they read (`show RUN | head`) end
/// quietly when their reader goes away, as Unix tools do, instead of
/// panicking in `println!` on the broken pipe. Only these: a trial keeps
/// Rust's ignored SIGPIPE, so a socket closed under a client is an error
/// the client reports, never the end of the controller.
fn restore_sigpipe() {
    // SAFETY: setting a signal's disposition to its default, before any
    // thread of ours writes to a pipe; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // A usage error is the harness's (exit 3), never clap's own 2, which
    // here means "the checkers could not decide".
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(trial_checkers::exit_code::HARNESS)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(cli.verbose);
    if matches!(
        cli.command,
        Command::Check(_) | Command::Runs(_) | Command::Show(_)
    ) {
        restore_sigpipe();
    }
    let store = trial_histories::Store::new(&cli.store);
    let res = match cli.command {
        Command::Check(a) => cmd::history::check(&store, a),
        Command::Runs(a) => cmd::history::runs(&store, a),
        Command::Show(a) => cmd::history::show(&store, a),
        Command::Test(a) => cmd::test::test(&cli.store, *a).await,
        Command::Scenario(c) => cmd::test::scenario(&cli.store, c).await,
        Command::Matrix(a) => cmd::matrix::matrix(&cli.store, a).await,
        Command::Claims(a) => cmd::claims::claims_cmd(&cli.store, a).await,
        Command::Cluster(c) => cmd::cluster::cluster(c).await,
        Command::Image(c) => cmd::cluster::image_cmd(c).await,
        Command::Hosts(c) => cmd::hosts::hosts(c).await,
        Command::Clean => cmd::cluster::clean().await,
        Command::Report(a) => cmd::report::report(&store, a),
        Command::Serve(a) => cmd::report::serve(&store, a).await,
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kafka-trial: error: {e:#}");
            exit::code(exit::HARNESS)
        }
    }
}
