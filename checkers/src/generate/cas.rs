//! Linearizable CAS-register histories for the linearizability checker.

use super::Rng;

/// A linearizable CAS-register history of `n` ops by `concurrency`
/// processes (reads, writes, compare-and-sets; about 2% indefinite), for
/// the linearizability checker's tests and benchmarks.
pub fn cas_register_calls(
    seed: u64,
    n: usize,
    concurrency: usize,
) -> Vec<crate::linear::Call<crate::linear::models::RegInput, Option<i64>>> {
    use crate::linear::models::RegInput;
    use crate::linear::Call;
    let mut rng = Rng::new(seed);
    let mut reg: Option<i64> = None;
    // Per process: the call in flight and whether it took effect.
    let mut inflight: Vec<Option<(usize, bool)>> = vec![None; concurrency.max(1)];
    let mut calls: Vec<Call<RegInput, Option<i64>>> = Vec::with_capacity(n);
    let mut pos = 0u64;
    let mut started = 0usize;
    let mut dead = 0u64; // processes retired after an indefinite op
    let mut keep: Vec<bool> = Vec::with_capacity(n);
    loop {
        let p = rng.below(inflight.len() as u64) as usize;
        match inflight[p] {
            None => {
                if started >= n {
                    if inflight.iter().all(|x| x.is_none()) {
                        break;
                    }
                    continue;
                }
                let input = match rng.below(3) {
                    0 => RegInput::Read,
                    1 => RegInput::Write(rng.below(5) as i64),
                    _ => RegInput::Cas(rng.below(5) as i64, rng.below(5) as i64),
                };
                calls.push(Call {
                    input,
                    output: None,
                    invoke: pos,
                    complete: None,
                    index: pos,
                    process: format!("{}", p as u64 + dead * concurrency as u64),
                });
                pos += 1;
                started += 1;
                keep.push(true);
                inflight[p] = Some((calls.len() - 1, false));
            }
            Some((c, false)) => {
                // The linearization point.
                let out = match calls[c].input {
                    RegInput::Read => Some(reg),
                    RegInput::Write(v) => {
                        reg = Some(v);
                        Some(None)
                    }
                    RegInput::Cas(a, b) => {
                        if reg == Some(a) {
                            reg = Some(b);
                            Some(None)
                        } else {
                            None // failed: did not happen
                        }
                    }
                };
                match out {
                    Some(o) => {
                        calls[c].output = Some(o);
                        inflight[p] = Some((c, true));
                    }
                    None => {
                        // A failed cas did not happen: drop it, like `fail`
                        // (and do not count it towards n).
                        keep[c] = false;
                        started -= 1;
                        inflight[p] = None;
                    }
                }
            }
            Some((c, true)) => {
                if rng.pct(2) {
                    // Indefinite: the outcome is not known.
                    calls[c].output = None;
                    dead += 1;
                } else {
                    calls[c].complete = Some(pos);
                    pos += 1;
                }
                inflight[p] = None;
            }
        }
    }
    calls
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(c, _)| c)
        .collect()
}
