//! Histories for comparing the linearizability checker with Porcupine, and
//! the search-only timing of ours (README "Issue 17: linearizability at
//! speed" has the whole procedure).
//!
//! ```sh
//! linear_compare gen cas|kv --ops N --concurrency C [--seed S] [--info PCT] [--keys K] [--anomaly] PREFIX
//!     # writes PREFIX.edn (ours) and PREFIX.log (etcd Jepsen log) or PREFIX.txt (Porcupine kv log)
//! linear_compare convert etcd|kv IN OUT.edn   # Porcupine's formats → our EDN
//! linear_compare time MODEL [--reps R] FILE.edn…
//!     # per file: verdict, parse ms, search ms (best of R); then totals
//! ```

use std::path::Path;
use std::time::{Duration, Instant};
use trial_checkers::linear::gen::{self, GenConfig, KvAnomaly};
use trial_checkers::linear::{check_edn_ops, edn};

fn usage() -> ! {
    eprintln!(
        "usage: linear_compare gen cas|kv --ops N --concurrency C [--seed S] [--info PCT] \
         [--keys K] [--anomaly] PREFIX\n       linear_compare convert etcd|kv IN OUT.edn\n       \
         linear_compare time MODEL [--reps R] FILE.edn…"
    );
    std::process::exit(3)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") => generate(&args[1..]),
        Some("convert") => convert(&args[1..]),
        Some("time") => time(&args[1..]),
        _ => usage(),
    }
}

fn flag(args: &[String], name: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == name)?;
    Some(
        args.get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage()),
    )
}

fn generate(args: &[String]) {
    let kind = args.first().map(String::as_str).unwrap_or_else(|| usage());
    let prefix = args
        .last()
        .filter(|a| !a.starts_with("--"))
        .unwrap_or_else(|| usage());
    let cfg = GenConfig {
        seed: flag(args, "--seed").unwrap_or(1),
        ops: flag(args, "--ops").unwrap_or(1000) as usize,
        concurrency: flag(args, "--concurrency").unwrap_or(10) as usize,
        info_pct: flag(args, "--info").unwrap_or(0),
        keys: flag(args, "--keys").unwrap_or(10) as usize,
    };
    let anomaly = args.iter().any(|a| a == "--anomaly");
    let write = |ext: &str, text: String| {
        let p = format!("{prefix}.{ext}");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("writing {p}: {e}"));
    };
    match kind {
        "cas" => {
            let mut h = gen::cas_history(&cfg);
            if anomaly && !gen::cas_phantom_read(&mut h) {
                eprintln!("no ok read to alter");
                std::process::exit(3);
            }
            write("edn", gen::cas_edn(&h));
            write("log", gen::cas_etcd_log(&h));
        }
        "kv" => {
            let mut h = gen::kv_history(&cfg);
            let a = anomaly.then_some(match cfg.seed % 3 {
                0 => KvAnomaly::StaleRead,
                1 => KvAnomaly::LostAppend,
                _ => KvAnomaly::ReorderedAppend,
            });
            gen::kv_inject(&mut h, a);
            write("edn", gen::kv_edn(&h));
            write("txt", gen::kv_porcupine_log(&h));
        }
        _ => usage(),
    }
}

fn convert(args: &[String]) {
    let [kind, input, out] = args else { usage() };
    let text = std::fs::read_to_string(input).unwrap_or_else(|e| panic!("reading {input}: {e}"));
    let edn = match kind.as_str() {
        "etcd" => gen::etcd_log_to_edn(&text),
        "kv" => gen::kv_log_to_edn(&text),
        _ => usage(),
    }
    .unwrap_or_else(|e| {
        eprintln!("{input}: {e}");
        std::process::exit(3)
    });
    std::fs::write(out, edn).unwrap_or_else(|e| panic!("writing {out}: {e}"));
}

fn time(args: &[String]) {
    let model = args.first().unwrap_or_else(|| usage());
    let reps = flag(args, "--reps").unwrap_or(5).max(1);
    let files: Vec<&String> = args[1..]
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[1..][*i - 1] != "--reps"))
        .map(|(_, a)| a)
        .collect();
    let (mut parse_total, mut search_total) = (Duration::ZERO, Duration::ZERO);
    for f in files {
        let t = Instant::now();
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("reading {f}: {e}"));
        let ops = edn::parse_ops(&text).unwrap_or_else(|e| {
            eprintln!("{f}: line {}: {}", e.line, e.message);
            std::process::exit(3)
        });
        let parse = t.elapsed();
        let mut best = Duration::MAX;
        let mut verdict = String::new();
        let mut explored = 0;
        for _ in 0..reps {
            let t = Instant::now();
            let r = check_edn_ops(&ops, Path::new(f), model, Duration::from_secs(600))
                .unwrap_or_else(|e| {
                    eprintln!("{f}: {e}");
                    std::process::exit(3)
                });
            best = best.min(t.elapsed());
            verdict = format!("{:?}", r.valid).to_lowercase();
            explored = r.explored;
        }
        parse_total += parse;
        search_total += best;
        println!(
            "{f}\t{verdict}\tparse {:.3} ms\tsearch {:.3} ms\t{explored} steps",
            parse.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3
        );
    }
    println!(
        "total\tparse {:.3} ms\tsearch {:.3} ms",
        parse_total.as_secs_f64() * 1e3,
        search_total.as_secs_f64() * 1e3
    );
}
