//! Print a plan: `cargo run -p trial-nemesis --example plan -- [faults] [seed] [nodes] [period_s] [zookeeper]`
//! (`zookeeper`: the size of a ZooKeeper ensemble `z1..zK`, default 0).
use std::time::Duration;
use trial_nemesis::{node_names, NemesisOptions, Schedule};

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let kinds = a.first().map_or("all", String::as_str);
    let seed = a.get(1).and_then(|s| s.parse().ok()).unwrap_or(42);
    let n = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let period = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(60);
    let k: usize = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(0);
    let zookeeper: Vec<String> = (1..=k).map(|i| format!("z{i}")).collect();
    let kinds = match kinds.parse() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(3);
        }
    };
    let o = NemesisOptions::with_kinds(kinds);
    match Schedule::generate_with_zookeeper(
        seed,
        &node_names(n),
        &zookeeper,
        Duration::from_secs(period),
        &o,
    ) {
        Ok(s) => print!("{s}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(3);
        }
    }
}
