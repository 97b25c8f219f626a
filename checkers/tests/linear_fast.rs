//! Issue 17's linearizability work, proven both ways: the fast search
//! gives the reference search's verdicts; generated histories (CAS
//! register, kv-append) pass and injected anomalies are found; the
//! Porcupine-format writers and readers round-trip to the same verdict.

use proptest::prelude::*;
use std::path::Path;
use std::time::{Duration, Instant};
use trial_checkers::linear::gen::{self, GenConfig, KvAnomaly};
use trial_checkers::linear::models::{CasRegister, KvAppend};
use trial_checkers::linear::{check, check_edn_str, wgl, wgl_reference, Model};
use trial_checkers::Validity;

const LIMIT: Duration = Duration::from_secs(60);

/// Both searches on one partition: Some(true) linearizable, Some(false)
/// not, None gave up.
fn both<M: Model>(
    m: &M,
    calls: &[trial_checkers::linear::Call<M::Input, M::Output>],
) -> (Option<bool>, Option<bool>) {
    let d = Instant::now() + LIMIT;
    let v = |o: wgl::Outcome<M::State>| match o {
        wgl::Outcome::Linearizable => Some(true),
        wgl::Outcome::NotLinearizable { .. } => Some(false),
        wgl::Outcome::GaveUp(_) => None,
    };
    let mut s = wgl::SearchStats::default();
    let fast = v(wgl::search(m, calls, d, 1 << 24, &mut s));
    let slow = v(wgl_reference::search(m, calls, d, 1 << 24, &mut s));
    (fast, slow)
}

fn cfg(seed: u64, ops: usize, concurrency: usize, info_pct: u64, keys: usize) -> GenConfig {
    GenConfig {
        seed,
        ops,
        concurrency,
        info_pct,
        keys,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    /// Generated CAS-register histories are linearizable; with a phantom
    /// read they are not; the fast and the reference search agree on both.
    #[test]
    fn cas_register_both_ways(seed in any::<u64>(), ops in 5usize..120, conc in 1usize..6, info in 0u64..30) {
        let mut h = gen::cas_history(&cfg(seed, ops, conc, info, 1));
        let calls = gen::to_calls(&h);
        prop_assert_eq!(both(&CasRegister, &calls), (Some(true), Some(true)));
        if gen::cas_phantom_read(&mut h) {
            let calls = gen::to_calls(&h);
            prop_assert_eq!(both(&CasRegister, &calls), (Some(false), Some(false)));
        }
    }

    /// Random perturbations (a read's value changed to any small value):
    /// whatever the verdict, the two searches agree.
    #[test]
    fn fast_search_agrees_with_reference(seed in any::<u64>(), ops in 5usize..80, conc in 1usize..6, v in 0i64..5, at in any::<prop::sample::Index>()) {
        let mut h = gen::cas_history(&cfg(seed, ops, conc, 10, 1));
        let i = at.index(h.len());
        if let gen::Event::Complete { output: Some(o @ Some(_)), .. } = &mut h[i] {
            *o = Some(v);
        }
        let calls = gen::to_calls(&h);
        let (fast, slow) = both(&CasRegister, &calls);
        prop_assert_eq!(fast, slow);
    }

    /// kv-append: generated histories (with indefinite ops) pass; a stale
    /// read, a lost append and a reordered append are each found; the
    /// searches agree per key.
    #[test]
    fn kv_append_both_ways(seed in any::<u64>(), ops in 5usize..50, conc in 1usize..5, info in 0u64..20, keys in 1usize..4) {
        let mut h = gen::kv_history(&cfg(seed, ops, conc, info, keys));
        gen::kv_inject(&mut h, None);
        let r = check(&KvAppend, gen::to_calls(&h), LIMIT);
        prop_assert_eq!(r.valid, Validity::Valid);
        for a in [KvAnomaly::StaleRead, KvAnomaly::LostAppend, KvAnomaly::ReorderedAppend] {
            let mut h = gen::kv_history(&cfg(seed, ops, conc, info, keys));
            gen::kv_inject(&mut h, Some(a));
            let r = check(&KvAppend, gen::to_calls(&h), LIMIT);
            prop_assert_eq!(r.valid, Validity::Invalid, "{:?} not found", a);
            let c = r.counterexample.unwrap();
            prop_assert_eq!(c.partition, 0);
            let key0: Vec<_> = gen::to_calls(&h).into_iter().filter(|c| c.input.key == 0).collect();
            prop_assert_eq!(both(&KvAppend, &key0), (Some(false), Some(false)));
        }
    }

    /// The EDN and Porcupine-format writers and the readers: a generated
    /// history written in our EDN, and written in Porcupine's format then
    /// read back, gets the verdict of the history itself.
    #[test]
    fn formats_round_trip(seed in any::<u64>(), ops in 5usize..80, conc in 1usize..6, anomaly in any::<bool>()) {
        let mut h = gen::cas_history(&cfg(seed, ops, conc, 10, 1));
        let bad = anomaly && gen::cas_phantom_read(&mut h);
        let want = if bad { Validity::Invalid } else { Validity::Valid };
        let p = Path::new("gen.edn");
        let direct = check_edn_str(&gen::cas_edn(&h), p, "cas-register", LIMIT).unwrap();
        let via = gen::etcd_log_to_edn(&gen::cas_etcd_log(&h)).unwrap();
        let via = check_edn_str(&via, p, "cas-register", LIMIT).unwrap();
        // A history whose every op failed or timed out is unknown (vacuous).
        if direct.valid != Validity::Unknown {
            prop_assert_eq!(direct.valid, want);
        }
        prop_assert_eq!(via.valid, direct.valid);

        let mut k = gen::kv_history(&cfg(seed, ops, conc, 10, 3));
        gen::kv_inject(&mut k, anomaly.then_some(KvAnomaly::LostAppend));
        let want = if anomaly { Validity::Invalid } else { Validity::Valid };
        let direct = check_edn_str(&gen::kv_edn(&k), p, "kv-append", LIMIT).unwrap();
        let via = gen::kv_log_to_edn(&gen::kv_porcupine_log(&k)).unwrap();
        let via = check_edn_str(&via, p, "kv-append", LIMIT).unwrap();
        prop_assert_eq!(direct.valid, want);
        prop_assert_eq!(via.valid, want);
    }
}

#[test]
fn kv_append_edn_keys_and_values_of_any_kind() {
    // Keyword, string and integer keys and values are read as strings:
    // :a, "a" are the same key; 1 appended then "2" reads "12".
    let h = r#"
{:process 0, :type :invoke, :f :append, :value [:a 1]}
{:process 0, :type :ok, :f :append, :value [:a 1]}
{:process 1, :type :invoke, :f :append, :value ["a" "2"]}
{:process 1, :type :ok, :f :append, :value ["a" "2"]}
{:process 2, :type :invoke, :f :get, :value [a nil]}
{:process 2, :type :ok, :f :get, :value ["a" "12"]}
{:process 3, :type :invoke, :f :get, :value [7 nil]}
{:process 3, :type :ok, :f :get, :value [7 nil]}
"#;
    let r = check_edn_str(h, Path::new("t.edn"), "kv-append", LIMIT).unwrap();
    assert_eq!(r.valid, Validity::Valid, "{r:?}");
    assert_eq!(r.partitions, 2);
    let bad = h.replace(r#"["a" "12"]"#, r#"["a" "21"]"#);
    let r = check_edn_str(&bad, Path::new("t.edn"), "kv-append", LIMIT).unwrap();
    assert_eq!(r.valid, Validity::Invalid);
    let e = check_edn_str(
        "{:process 0, :type :invoke, :f :append, :value [1.5 2]}",
        Path::new("t.edn"),
        "kv-append",
        LIMIT,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unsupported"), "{e}");
}
