//! `kafka-trial claims`: the catalogue of textbook claims run as
//! experiments, one ordinary run each, and the table of verdicts (written
//! as `claims.json` and `claims.html` in `<store>/claims/<timestamp>/`).
//!
//! Every selected claim's spec is built and validated before the first one
//! runs: an unknown `--only` id or an impossible option ends the command
//! with exit 3 and nothing run. A claim whose run fails is recorded as
//! `error` and the next one runs; Ctrl-C lets the running trial do its own
//! Ctrl-C handling (stop, heal, tear down, check what there is), then the
//! table so far is written and the command ends.

use super::exit;
use super::test::command_line;
use crate::report::claims as page;
use crate::spec::SpecArgs;
use crate::trial::claims::{self, mins, Claim, ClaimOptions, ClaimsDoc, CLAIMS};
use crate::trial::{self, TestSpec};
use anyhow::{Context, Result};
use clap::Args;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone, Default)]
pub struct ClaimsArgs {
    /// Only the quick subset (≤ 10 minutes on a 2-core machine).
    #[arg(long)]
    pub quick: bool,
    /// Only this claim (repeatable; see --list).
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
    /// Print the catalogue (claim, setting, faults, expected, estimate) and exit.
    #[arg(long)]
    pub list: bool,
    /// Print claims.json on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The flags of `test`, laid over every claim's own setting: `--seed`
    /// (default each claim's own, 0), `--time-limit` (default each
    /// claim's own), `--kafka-version` (default the suite's), and any
    /// other (a flag that changes a claim's setting, such as `--acks`,
    /// tests the claim under that setting instead: claims.json records
    /// the command).
    #[command(flatten)]
    pub spec: SpecArgs,
}

impl ClaimsArgs {
    pub fn options(&self, store: &Path) -> ClaimOptions {
        let f = &self.spec;
        ClaimOptions {
            store: store.to_path_buf(),
            seed: f.given("seed").then_some(f.spec.seed),
            time_limit: f.given("time_limit").then_some(f.spec.time_limit),
            kafka_version: f
                .given("kafka_version")
                .then(|| f.spec.cluster.kafka_version.clone())
                .flatten(),
            progress: true,
            overrides: (!f.given.is_empty()).then(|| f.clone()),
        }
    }
}

/// The selected claims, each with its validated spec.
pub fn plan(store: &Path, a: &ClaimsArgs) -> Result<Vec<(&'static Claim, TestSpec)>> {
    let o = a.options(store);
    claims::select(a.quick, &a.only)?
        .into_iter()
        .map(|c| Ok((c, c.spec(&o)?)))
        .collect()
}

/// `--list`: the phrasing rule, then every claim.
pub fn list_text(time_limit: Option<Duration>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", claims::PHRASING);
    let full: Duration = CLAIMS.iter().map(|c| c.estimate_at(time_limit)).sum();
    let quick: Duration = CLAIMS
        .iter()
        .filter(|c| c.quick)
        .map(|c| c.estimate_at(time_limit))
        .sum();
    for c in CLAIMS {
        let _ = writeln!(
            s,
            "{}{}  expected {}  ~{}\n  claim:   {}\n  setting: {}\n  faults:  {}\n  Kafka:   \"{}\" ({})\n",
            c.id,
            if c.quick { " (quick)" } else { "" },
            c.expected.label(),
            mins(c.estimate_at(time_limit)),
            c.claim,
            c.setting,
            c.faults,
            c.documented,
            c.source
        );
    }
    let _ = writeln!(
        s,
        "{} claims, ~{} in all; --quick: {} claims, ~{}",
        CLAIMS.len(),
        mins(full),
        CLAIMS.iter().filter(|c| c.quick).count(),
        mins(quick)
    );
    s
}

pub async fn claims_cmd(store_root: &Path, a: ClaimsArgs) -> Result<ExitCode> {
    if a.list {
        print!(
            "{}",
            list_text(a.spec.given("time_limit").then_some(a.spec.spec.time_limit))
        );
        return Ok(exit::code(exit::VALID));
    }
    let plan = match plan(store_root, &a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("kafka-trial: {e:#}");
            return Ok(exit::code(exit::HARNESS));
        }
    };
    let o = a.options(store_root);
    let selected: Vec<&Claim> = plan.iter().map(|(c, _)| *c).collect();
    let mut doc = ClaimsDoc::new(&selected, command_line(), a.quick, &o);
    let dir = page::create_claims_dir(store_root)
        .with_context(|| format!("creating a claims folder in {}", store_root.display()))?;
    page::write_claims(&dir, &doc)?;
    eprintln!(
        "claims: {} to run, estimated {} in all; folder {}",
        plan.len(),
        mins(Duration::from_secs_f64(doc.estimate_s)),
        dir.display()
    );
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
            }
        });
    }
    let t0 = Instant::now();
    run_claims(store_root, &dir, &mut doc, plan, &stop, trial::run).await;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!();
        print!("{}", doc.table());
        if stop.load(Ordering::SeqCst) {
            println!("interrupted: the claims marked `not run` were not run");
        }
        println!("claims: {}", doc.counts_text());
    }
    eprintln!(
        "claims: {} and {} ({} in all)",
        dir.join(page::CLAIMS_FILE).display(),
        dir.join(page::CLAIMS_HTML).display(),
        mins(t0.elapsed())
    );
    Ok(exit::code(doc.exit_code()))
}

/// Run the claims in order through `run` (`trial::run`; a stand-in in
/// tests), judging each and rewriting the claims' files after each; a
/// claim whose run fails is recorded as `error` and the next one runs.
/// Stops before the next claim once `stop` is set (Ctrl-C) or a run says it
/// was interrupted.
pub async fn run_claims<F, Fut>(
    store_root: &Path,
    dir: &Path,
    doc: &mut ClaimsDoc,
    plan: Vec<(&'static Claim, TestSpec)>,
    stop: &AtomicBool,
    mut run: F,
) where
    F: FnMut(TestSpec) -> Fut,
    Fut: std::future::Future<Output = Result<trial::Report>>,
{
    let n = plan.len();
    let t0 = Instant::now();
    let mut left: f64 = doc.estimate_s;
    for (i, (claim, spec)) in plan.into_iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        eprintln!(
            "\n[{}/{n}] {} … ~{} (elapsed {}, ~{} left)",
            i + 1,
            claim.id,
            mins(Duration::from_secs_f64(doc.claims[i].estimate_s)),
            mins(t0.elapsed()),
            mins(Duration::from_secs_f64(left.max(0.0)))
        );
        left -= doc.claims[i].estimate_s;
        let test = spec.name.clone();
        let before = latest_run(store_root, &test);
        let t = Instant::now();
        let mut r = doc.claims[i].clone();
        match run(spec).await {
            Ok(report) => {
                if report.interrupted {
                    stop.store(true, Ordering::SeqCst);
                }
                if let Err(e) = claims::judge(claim, store_root, &report, &mut r) {
                    r.error = Some(format!("judging the run: {e:#}"));
                    r.run = Some(claims::relative(store_root, &report.run_dir));
                }
            }
            Err(e) => {
                let after = latest_run(store_root, &test);
                r.run = after.filter(|a| Some(a) != before.as_ref());
                r.error = Some(format!("{e:#}"));
            }
        }
        r.elapsed_s = Some(t.elapsed().as_secs_f64());
        eprintln!(
            "[{}/{n}] {}: {} ({}) in {}: {}",
            i + 1,
            claim.id,
            r.verdict_label(),
            r.agreement(),
            mins(t.elapsed()),
            r.error.as_deref().unwrap_or(&r.observed)
        );
        doc.claims[i] = r;
        doc.touch();
        if let Err(e) = page::write_claims(dir, doc) {
            eprintln!("kafka-trial: writing the claims so far: {e:#}");
        }
    }
    doc.status = if stop.load(Ordering::SeqCst) {
        crate::trial::matrix::MatrixStatus::Interrupted
    } else {
        crate::trial::matrix::MatrixStatus::Complete
    };
    doc.touch();
    if let Err(e) = page::write_claims(dir, doc) {
        eprintln!("kafka-trial: writing the claims: {e:#}");
    }
}

/// Where `<store>/<test>/latest` points (the newest run of `test`).
fn latest_run(store: &Path, test: &str) -> Option<String> {
    let t = std::fs::read_link(store.join(test).join(trial_histories::store::LATEST)).ok()?;
    Some(format!("{test}/{}", t.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trial::claims::Outcome;

    fn args(only: &[&str]) -> ClaimsArgs {
        ClaimsArgs {
            only: only.iter().map(|s| s.to_string()).collect(),
            spec: SpecArgs::parse_from(["--time-limit", "20s", "--seed", "4"]).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn the_plan_validates_every_selected_claim_with_the_options() {
        let p = plan(Path::new("/tmp/st"), &args(&[])).unwrap();
        assert_eq!(p.len(), CLAIMS.len());
        for (c, s) in &p {
            assert_eq!(s.name, c.test_name());
            assert_eq!((s.seed, s.time_limit), (4, Duration::from_secs(20)));
            assert_eq!(s.store, Path::new("/tmp/st"));
        }
        let quick = plan(
            Path::new("s"),
            &ClaimsArgs {
                quick: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(quick.len() < CLAIMS.len() && quick.iter().all(|(c, _)| c.quick));
        let e = plan(Path::new("s"), &args(&["acks-all-rf-n", "nope"]))
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("unknown claim \"nope\""), "{e:#}");
        // Any flag of `test` reaches every claim; one that does not apply
        // to a claim's workload is refused before anything runs.
        let mut a = args(&[]);
        a.spec = SpecArgs::parse_from(["--rate", "77", "--timing", "kafka-defaults"]).unwrap();
        for (_, s) in plan(Path::new("s"), &a).unwrap() {
            assert_eq!(s.rate, 77.0);
            assert_eq!(s.cluster.timing, crate::kafka::Timing::KafkaDefaults);
        }
        a.spec = SpecArgs::parse_from(["--abort-probability", "0.3"]).unwrap();
        let e = plan(Path::new("s"), &a).err().unwrap();
        assert!(format!("{e:#}").contains("txn workload"), "{e:#}");
        let l = list_text(None);
        assert!(
            l.contains(claims::PHRASING) && l.contains("expected refuted"),
            "{l}"
        );
    }

    /// A stand-in for `trial::run`: claim 1 fails after making its run
    /// folder, claim 2 is a checked sample run that was interrupted
    /// (Ctrl-C); claim 3 must then not run.
    #[tokio::test]
    async fn a_failed_claim_is_recorded_and_ctrl_c_stops_before_the_next() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        let a = args(&["acks-all-rf-n", "acks-1-keeps-acked", "partition-order"]);
        let p = plan(&root, &a).unwrap();
        let selected: Vec<&Claim> = p.iter().map(|(c, _)| *c).collect();
        let mut doc = ClaimsDoc::new(&selected, "cmd".into(), false, &a.options(&root));
        let dir = page::create_claims_dir(&root).unwrap();
        let stop = AtomicBool::new(false);
        let calls = std::sync::Mutex::new(Vec::new());
        run_claims(&root, &dir, &mut doc, p, &stop, |spec: TestSpec| {
            let store = trial_histories::Store::new(&root);
            let k = {
                let mut c = calls.lock().unwrap();
                c.push(spec.name.clone());
                c.len()
            };
            async move {
                let run = store.create_run(&spec.name)?;
                if k == 1 {
                    anyhow::bail!("no Docker engine");
                }
                trial::Report::stand_in(&run.path)
            }
        })
        .await;
        assert_eq!(
            *calls.lock().unwrap(),
            ["claim-acks-all-rf-n", "claim-acks-1-keeps-acked"]
        );
        let c = &doc.claims;
        assert_eq!(c[0].error.as_deref(), Some("no Docker engine"));
        assert!(c[0]
            .run
            .as_deref()
            .is_some_and(|r| r.starts_with("claim-acks-all-rf-n/")));
        // The interrupted run decides nothing.
        assert!(c[1].interrupted);
        assert_eq!(c[1].verdict, Some(Outcome::Inconclusive), "{:?}", c[1]);
        assert!(c[1].observed.contains("interrupted"), "{:?}", c[1]);
        assert!(c[1]
            .run
            .as_deref()
            .is_some_and(|r| r.starts_with("claim-acks-1-keeps-acked/")));
        assert_eq!(c[2].verdict_label(), "not run");
        assert_eq!(doc.exit_code(), exit::HARNESS);
        assert_eq!(doc.status, crate::trial::matrix::MatrixStatus::Interrupted);
        // What was written is what the command ends with.
        assert_eq!(page::read_claims(&dir).unwrap(), doc);
        assert!(dir.join(page::CLAIMS_HTML).is_file());
    }
}
