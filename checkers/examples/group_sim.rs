//! Print a simulated consumer group's history, or its check:
//! `group_sim SEED PARTITIONS MEMBERS STEPS eager|cooperative sync|async|auto [CLASS|-] [check]`
//! (CLASS: a class of the `group` checker, injected by its mutator).
use trial_checkers::generate::{
    mutate_group, simulate_group, GroupAnomaly, GroupSimConfig, Rebalancing,
};
use trial_histories::values::CommitMode;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let n = |i: usize, d: u64| a.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let s = |i: usize| a.get(i).map(String::as_str).unwrap_or("");
    let cfg = GroupSimConfig {
        seed: n(1, 1),
        partitions: n(2, 3) as u32,
        members: n(3, 3) as u32,
        steps: n(4, 300),
        rebalancing: if s(5) == "eager" {
            Rebalancing::Eager
        } else {
            Rebalancing::Cooperative
        },
        commit: match s(6) {
            "async" => CommitMode::Async,
            "auto" => CommitMode::Auto,
            _ => CommitMode::Sync,
        },
        senders: true,
    };
    let mut ops = simulate_group(&cfg);
    if let Some(g) = GroupAnomaly::ALL.iter().find(|g| g.class() == s(7)) {
        ops = mutate_group(&ops, *g).expect("the history offers a place for the edit");
    }
    if s(8) == "check" {
        let r = trial_checkers::check_ops(&ops, &Default::default()).expect("well-formed");
        print!("{}", r.human_summary(2));
        let body = &r.checkers.other["group"];
        println!("{}", body.json.get());
        std::process::exit(i32::from(r.exit_code()));
    }
    for op in ops {
        println!("{}", serde_json::to_string(&op).unwrap());
    }
}
