//! Print a simulated history: `sim_dump SEED PARTITIONS WORKERS STEPS TXNS NEMESIS [FAULT]`.
use trial_checkers::generate::{simulate, Fault, SimConfig};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let n = |i: usize, d: u64| a.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let fault = a
        .get(7)
        .and_then(|f| Fault::ALL.iter().copied().find(|x| x.class() == f));
    let cfg = SimConfig {
        seed: n(1, 1),
        partitions: n(2, 3) as u32,
        workers: n(3, 5) as u32,
        steps: n(4, 100),
        txns: n(5, 0) == 1,
        nemesis: n(6, 1) == 1,
        fault,
        observer: n(8, 0) == 1,
    };
    for op in simulate(&cfg) {
        println!("{}", serde_json::to_string(&op).unwrap());
    }
}
