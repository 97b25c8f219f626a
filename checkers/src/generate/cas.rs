//! Linearizable CAS-register histories for the linearizability checker.

use crate::linear::gen::{cas_history, to_calls, GenConfig};
use crate::linear::models::RegInput;
use crate::linear::Call;

/// A linearizable CAS-register history of `n` ops by `concurrency`
/// processes (reads, writes, compare-and-sets; about 2% indefinite), for
/// the linearizability checker's tests and benchmarks: the calls of
/// [`cas_history`] (the generator that also writes Porcupine's formats).
pub fn cas_register_calls(
    seed: u64,
    n: usize,
    concurrency: usize,
) -> Vec<Call<RegInput, Option<i64>>> {
    to_calls(&cas_history(&GenConfig {
        seed,
        ops: n,
        concurrency,
        info_pct: 2,
        keys: 1,
    }))
}
