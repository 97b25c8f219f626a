//! Check Jepsen Kafka histories (`history.edn`) and print the verdicts;
//! `gen N FILE` writes a generated N-op Jepsen history (for timing).

use std::path::Path;
use trial_checkers::{jepsen, CheckOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("gen") {
        let n: usize = args[1].parse().expect("N");
        std::fs::write(&args[2], generate(n)).expect("write");
        return;
    }
    for a in &args {
        let t0 = std::time::Instant::now();
        if std::env::var_os("TRANSLATE_ONLY").is_some() {
            let text = std::fs::read_to_string(a).expect("read");
            let t1 = std::time::Instant::now();
            let n = trial_checkers::linear::edn::OpMaps::new(&text).count();
            let t2 = std::time::Instant::now();
            let t = jepsen::translate_str(&text, Path::new(a)).expect("translate");
            println!(
                "{a}: read {:.3}s, parse {n} ops {:.3}s, translate {} ops {:.3}s",
                (t1 - t0).as_secs_f64(),
                (t2 - t1).as_secs_f64(),
                t.ops.len(),
                t2.elapsed().as_secs_f64()
            );
            continue;
        }
        match jepsen::check_jepsen_file(Path::new(a), &CheckOptions::default()) {
            Ok(r) => {
                println!("== {a} ({:.3}s)", t0.elapsed().as_secs_f64());
                print!("{}", r.human_summary(1));
            }
            Err(e) => println!("== {a}: error: {e}"),
        }
    }
}

/// A correct Jepsen-shaped history of about `n` ops: 8 processes sending
/// single values and two-key transactions, 4 polling their assignment, and
/// a final phase reading everything from the beginning.
fn generate(n: usize) -> String {
    use std::fmt::Write;
    let keys = 8i64;
    let mut next_off = vec![0i64; keys as usize];
    let mut log: Vec<Vec<(i64, i64)>> = vec![Vec::new(); keys as usize];
    let mut pos = vec![vec![0usize; keys as usize]; 4];
    let mut out = String::new();
    let i = std::cell::Cell::new(0u64);
    let (mut t, mut v) = (0u64, 0i64);
    let mut line = |out: &mut String, p: i64, ty: &str, f: &str, val: &str, extra: &str| {
        t += 1000;
        let _ = writeln!(
            out,
            "{{:index {}, :time {t}, :process {p}, :type :{ty}, :f :{f}, :value {val}{extra}}}",
            i.get()
        );
        i.set(i.get() + 1);
    };
    for c in 0..4 {
        line(&mut out, 8 + c, "invoke", "assign", "[0 1 2 3 4 5 6 7]", "");
        line(&mut out, 8 + c, "ok", "assign", "[0 1 2 3 4 5 6 7]", "");
    }
    let mut step = 0usize;
    while (i.get() as usize) < n {
        step += 1;
        let p = (step % 12) as i64;
        if p < 8 {
            if step.is_multiple_of(3) {
                let (a, b) = ((step as i64) % keys, (step as i64 + 1) % keys);
                let (va, vb) = (v + 1, v + 2);
                v += 2;
                line(
                    &mut out,
                    p,
                    "invoke",
                    "txn",
                    &format!("[[:send {a} {va}] [:send {b} {vb}]]"),
                    "",
                );
                let (oa, ob) = (next_off[a as usize], next_off[b as usize]);
                log[a as usize].push((oa, va));
                log[b as usize].push((ob, vb));
                // commit markers take an offset
                next_off[a as usize] += 2;
                next_off[b as usize] += 2;
                line(
                    &mut out,
                    p,
                    "ok",
                    "txn",
                    &format!("[[:send {a} [{oa} {va}]] [:send {b} [{ob} {vb}]]]"),
                    "",
                );
            } else {
                let k = (step as i64) % keys;
                v += 1;
                line(
                    &mut out,
                    p,
                    "invoke",
                    "send",
                    &format!("[[:send {k} {v}]]"),
                    "",
                );
                let o = next_off[k as usize];
                next_off[k as usize] += 1;
                log[k as usize].push((o, v));
                line(
                    &mut out,
                    p,
                    "ok",
                    "send",
                    &format!("[[:send {k} [{o} {v}]]]"),
                    "",
                );
            }
        } else {
            let c = (p - 8) as usize;
            let mut m = String::from("{");
            for k in 0..keys as usize {
                let l = &log[k];
                let end = l.len().min(pos[c][k] + 3);
                if end > pos[c][k] {
                    let _ = write!(m, "{k} [");
                    for (o, val) in &l[pos[c][k]..end] {
                        let _ = write!(m, "[{o} {val}] ");
                    }
                    m.push_str("] ");
                    pos[c][k] = end;
                }
            }
            m.push('}');
            line(&mut out, p, "invoke", "poll", "[[:poll]]", "");
            line(&mut out, p, "ok", "poll", &format!("[[:poll {m}]]"), "");
        }
    }
    line(
        &mut out,
        20,
        "invoke",
        "assign",
        "[0 1 2 3 4 5 6 7]",
        ", :seek-to-beginning? true",
    );
    line(
        &mut out,
        20,
        "ok",
        "assign",
        "[0 1 2 3 4 5 6 7]",
        ", :seek-to-beginning? true",
    );
    for (k, l) in log.iter().enumerate() {
        let mut m = format!("{{{k} [");
        for (o, val) in l {
            let _ = write!(m, "[{o} {val}] ");
        }
        m.push_str("]}");
        line(&mut out, 20, "invoke", "poll", "[[:poll]]", "");
        line(&mut out, 20, "ok", "poll", &format!("[[:poll {m}]]"), "");
    }
    out
}
