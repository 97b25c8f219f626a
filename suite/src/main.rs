//! `kafka-trial`: put Apache Kafka on trial.

use clap::Parser;
use kafka_trial::cli as cmd;
use kafka_trial::cli::app::{Cli, Command};
use kafka_trial::cli::exit;
use std::process::ExitCode;

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
    // What trials whose controller died left on the engine: said before
    // anything else (`clean` says what it removes itself).
    if !matches!(cli.command, Command::Clean(_)) {
        kafka_trial::owner::notice_leftovers().await;
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
        Command::Shrink(a) => cmd::shrink::shrink_cmd(&cli.store, a).await,
        Command::Cluster(c) => cmd::cluster::cluster(c).await,
        Command::Image(c) => cmd::cluster::image_cmd(c).await,
        Command::Hosts(c) => cmd::hosts::hosts(c).await,
        Command::Clean(a) => cmd::cluster::clean(a).await,
        Command::Report(a) => cmd::report::report(&store, a),
        Command::Serve(a) => cmd::report::serve(&store, a).await,
        Command::Probe(a) => kafka_trial::external::probe::probe_cmd(a).await,
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            // A secret of `--client-config` quoted in an error: `***`.
            eprintln!(
                "kafka-trial: error: {}",
                kafka_trial::external::secrets::scrub(&format!("{e:#}"))
            );
            exit::code(exit::HARNESS)
        }
    }
}
