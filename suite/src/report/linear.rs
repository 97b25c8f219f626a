//! The report's linearizability section (results.json
//! `checkers.linearizable`, written by `trial_checkers::linear`): the
//! verdict against the model with what was checked (ops, partitions, time,
//! configurations explored, partitions the search had to decide, the
//! budget), the reason when it is undecided (for that checker only), and
//! when it is violated, the counterexample: the partition, the op that
//! cannot be placed, the model's state after the linearizable prefix and
//! that prefix's last ops.
//!
//! Every op is a link to its `#op-N` row: results.json lists the
//! counterexample's ops as the example of `checkers.linearizable.anomalies
//! .nonlinearizable`, so the report renders them statically among the ops
//! named by anomalies, as it does for every other checker's examples.
//! Read from the JSON as it is: a run checked without linearizability (or
//! by an older kafka-trial) gets a one-line "not checked".

use super::data::RunData;
use super::escape::esc;
use serde_json::Value;
use std::fmt::Write;

fn link(i: u64) -> String {
    format!(r##"<a class="op-link" href="#op-{i}" data-op="{i}">op {i}</a>"##)
}

/// The section (nothing without results.json).
pub fn section(o: &mut String, run: &RunData) {
    let Some(results) = run.results.as_ref() else {
        return;
    };
    o.push_str(r#"<section id="linearizability"><h2>Linearizability</h2>"#);
    let Some(l) = results
        .get("checkers")
        .and_then(|c| c.get("linearizable"))
        .filter(|l| l.is_object())
    else {
        o.push_str(
            r#"<p class="linear-verdict not-checked muted">Not checked (linearizability off for this run, or checked before every trial checked it: <code>kafka-trial check RUN</code> checks it now).</p></section>"#,
        );
        return;
    };
    let num = |k: &str| l.get(k).and_then(Value::as_f64);
    let int = |k: &str| l.get(k).and_then(Value::as_u64).unwrap_or(0);
    let model = l.get("model").and_then(Value::as_str).unwrap_or("?");
    let (label, class) = match l.get("valid") {
        Some(Value::Bool(true)) => ("linearizable", "valid"),
        Some(Value::Bool(false)) => ("NOT linearizable", "invalid"),
        _ => ("undecided", "unknown"),
    };
    let budget = num("budget_ms")
        .map(|b| format!(" of a {:.1} s budget", b / 1e3))
        .unwrap_or_default();
    let _ = write!(
        o,
        r#"<p class="linear-verdict {class}" data-linear="{class}">Against the <code>{model}</code> model: <b>{label}</b> — {ops} ops in {parts} partitions ({searched} decided by the search), {explored} steps explored, {secs:.2} s{budget}.</p>"#,
        model = esc(model),
        ops = int("ops"),
        parts = int("partitions"),
        searched = int("searched_partitions"),
        explored = int("explored"),
        secs = num("elapsed_ms").unwrap_or(0.0) / 1e3,
    );
    if class == "unknown" {
        let _ = write!(
            o,
            r#"<p class="linear-unknown">Undecided for this checker only (the run's verdict stands on the other checkers): {}</p>"#,
            esc(l
                .get("unknown_reason")
                .and_then(Value::as_str)
                .unwrap_or("no reason given"))
        );
    }
    if let Some(c) = l.get("counterexample").filter(|c| c.is_object()) {
        counterexample(o, c);
    }
    o.push_str("</section>\n");
}

fn counterexample(o: &mut String, c: &Value) {
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
    let op = c.get("op_index").and_then(Value::as_u64).unwrap_or(0);
    let prefix_len = c.get("prefix_len").and_then(Value::as_u64).unwrap_or(0);
    let _ = write!(
        o,
        r#"<div class="counterexample" data-op="{op}"><h3>Counterexample (partition {part})</h3><p class="cx-message">{msg}</p><p class="cx-op">Cannot be placed: {link} of process {proc}: <code>{what}</code></p><p class="cx-state">Model state after the linearizable prefix of {prefix_len} ops: <code>{state}</code></p>"#,
        part = c.get("partition").and_then(Value::as_u64).unwrap_or(0),
        msg = esc(s("message")),
        link = link(op),
        proc = esc(s("op_process")),
        what = esc(s("op")),
        state = esc(s("state")),
    );
    let tail: Vec<(u64, &str)> = c
        .get("prefix_tail")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let e = e.as_array()?;
                    Some((e.first()?.as_u64()?, e.get(1)?.as_str().unwrap_or("")))
                })
                .collect()
        })
        .unwrap_or_default();
    if !tail.is_empty() {
        let _ = write!(
            o,
            r#"<p>The prefix's last {} ops, in linearization order:</p><ol class="cx-prefix">"#,
            tail.len()
        );
        for (i, what) in tail {
            let _ = write!(o, r#"<li>{} <code>{}</code></li>"#, link(i), esc(what));
        }
        o.push_str("</ol>");
    }
    o.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(results: Value) -> RunData {
        RunData {
            dir: Default::default(),
            test: Default::default(),
            results: Some(results),
            verdict: super::super::data::Verdict::Pending,
            anomalies: Vec::new(),
            node_logs: Vec::new(),
            history: Default::default(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn verdict_counterexample_and_links() {
        let r = run(json!({"checkers": {"linearizable": {
            "valid": false, "model": "log", "ops": 5, "partitions": 1, "explored": 5,
            "elapsed_ms": 3.0, "searched_partitions": 0, "budget_ms": 10000.0,
            "counterexample": {"partition": 2, "prefix_len": 1,
                "prefix_tail": [[0, "send 10 to 2 → offset 0"]], "state": "[10]",
                "op_index": 2, "op_process": "c", "op": "read 2 from 0 → [10, 11]",
                "message": "after … <cannot> be linearized"}}}}));
        let mut o = String::new();
        section(&mut o, &r);
        assert!(o.contains(r#"data-linear="invalid""#), "{o}");
        assert!(o.contains("NOT linearizable"));
        assert!(o.contains(r##"href="#op-2""##) && o.contains(r##"href="#op-0""##));
        assert!(o.contains("partition 2") && o.contains("<code>[10]</code>"));
        assert!(o.contains("&lt;cannot&gt;"), "escaped");
        assert!(o.contains("of a 10.0 s budget"));
    }

    #[test]
    fn undecided_and_not_checked() {
        let r = run(json!({"checkers": {"linearizable": {
            "valid": "unknown", "model": "log", "ops": 5, "partitions": 1, "explored": 9,
            "elapsed_ms": 3.0, "unknown_reason": "partition 0: time limit reached"}}}));
        let mut o = String::new();
        section(&mut o, &r);
        assert!(
            o.contains("for this checker only") && o.contains("time limit reached"),
            "{o}"
        );
        let mut o = String::new();
        section(&mut o, &run(json!({"checkers": {}})));
        assert!(o.contains("Not checked"));
        let mut o = String::new();
        section(
            &mut o,
            &RunData {
                results: None,
                ..run(json!({}))
            },
        );
        assert!(o.is_empty());
    }
}
