//! Generate a synthetic run folder and time `write_run_report` on it.
//!
//! ```sh
//! cargo run --release -p kafka-trial --example report_sample -- /tmp/kt-100k 100000
//! cargo run --release -p kafka-trial --example report_sample -- /tmp/kt-small 2000 --anomalies --hostile
//! ```
//!
//! Prints the time to render and the size of every file written. The run
//! folder can then be opened in a browser or served with
//! `kafka-trial --store <parent of parent> serve`.

use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(ops)) = (args.first(), args.get(1)) else {
        anyhow::bail!(
            "usage: report_sample DIR OPS [--anomalies] [--hostile] [--group] [--observer] [--workers N] [--seconds S]"
        );
    };
    let mut spec = kafka_trial::report::sample_run::SampleRunSpec {
        ops: ops.parse()?,
        anomalies: args.iter().any(|a| a == "--anomalies"),
        hostile_text: args.iter().any(|a| a == "--hostile"),
        group: args.iter().any(|a| a == "--group"),
        observer: args.iter().any(|a| a == "--observer"),
        ..Default::default()
    };
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    spec.workers = opt("--workers")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20);
    spec.duration_s = opt("--seconds")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or((spec.ops as f64 / 1000.0).max(30.0));
    let dir = PathBuf::from(dir);
    let t = Instant::now();
    let run = kafka_trial::report::sample_run::write_sample_run(&dir, &spec)?;
    println!(
        "generated {} ops ({} workers, {} s) in {:.2} s",
        run.op_count,
        spec.workers,
        spec.duration_s,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let files = kafka_trial::report::write_run_report(&dir)?;
    let took = t.elapsed();
    println!("write_run_report: {:.2} s", took.as_secs_f64());
    if let Some(e) = &files.plot_error {
        println!("no plots: {e}");
    }
    for f in files.all() {
        let n = std::fs::metadata(f)?.len();
        println!("  {:>10} bytes  {}", n, f.display());
    }
    Ok(())
}
