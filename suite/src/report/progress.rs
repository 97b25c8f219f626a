//! The workload's progress against the cluster's health, from results.json
//! `checkers.progress` (trial_checkers::progress): each fault's recovery
//! (three cells of "What each fault did") and the `client-stall` findings
//! (a section of their own). Read leniently: a missing field shows as
//! unknown, never as a number.

use super::escape::esc;
use serde_json::Value;
use std::fmt::Write;

/// The column heads the recovery adds to "What each fault did".
pub const RECOVERY_HEADS: &str = "<th>cluster ready after stop</th>\
     <th>first op after heal</th><th>80 % of pre-fault rate after heal</th>";

/// The recovery entry of fault `i` of `effects.intervals` (the two lists
/// are in the same order; an entry of another kind or start is not it).
pub fn recovery_of<'a>(progress: Option<&'a Value>, i: usize, fault: &Value) -> Option<&'a Value> {
    let r = progress?.get("recovery")?.as_array()?.get(i)?;
    let same = |k: &str| match (r.get(k), fault.get(k)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    (same("kind") && same("start_s")).then_some(r)
}

/// The three recovery cells of one fault: a figure in seconds, or
/// "unknown" / "never" with the reason in its title.
pub fn recovery_cells(o: &mut String, r: Option<&Value>) {
    let Some(r) = r else {
        o.push_str("<td>–</td><td>–</td><td>–</td>");
        return;
    };
    let why: Vec<String> = r
        .get("unknown")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let has = |needle: &str| why.iter().any(|w| w.contains(needle));
    let nothing_after = has("no operation of the workload completed");
    let pre_known = r.get("pre_fault_ok_per_s").and_then(Value::as_f64);
    // Never: the history shows it did not happen; unknown: it cannot say.
    let cells = [
        ("ready_after_s", has("saw the cluster ready"), None),
        ("first_ok_after_heal_s", nothing_after, None),
        (
            "rate_80_after_heal_s",
            has("did not reach") || (nothing_after && pre_known.is_some_and(|p| p > 0.0)),
            pre_known.map(|p| format!("pre-fault rate {p:.1} ok ops/s")),
        ),
    ];
    for (key, never, title) in cells {
        match r.get(key).and_then(Value::as_f64) {
            Some(x) => {
                let t = title.map(|t| format!(r#" title="{}""#, esc(&t)));
                let _ = write!(o, "<td{}>{x:.1} s</td>", t.unwrap_or_default());
            }
            None => {
                let _ = write!(
                    o,
                    r#"<td class="unknown" title="{}">{}</td>"#,
                    esc(&why.join("; ")),
                    if never { "never" } else { "unknown" }
                );
            }
        }
    }
}

/// "Client progress": the `client-stall` findings, each with its window
/// and the processes stuck in it, or the line that says there were none.
pub fn section(o: &mut String, progress: &Value) {
    o.push_str(r#"<section id="progress"><h2>Client progress</h2>"#);
    if let Some(s) = progress.get("summary").and_then(Value::as_str) {
        let _ = write!(o, r#"<p class="summary">{}</p>"#, esc(s));
    }
    let stalls = progress
        .get("stalls")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if stalls.is_empty() {
        o.push_str("</section>\n");
        return;
    }
    let num = |v: Option<&Value>| {
        v.and_then(Value::as_f64)
            .map_or("–".to_string(), |x| format!("{x:.1}"))
    };
    o.push_str(
        "<p>A <strong>client-stall</strong> is the harness's finding, not Kafka's: the \
         cluster was healthy (every partition led, every ISR full), no fault was active, and \
         the workload completed nothing for longer than its clients' timeouts allow. The \
         verdict stands, but it is weak evidence for that time.</p>\
         <table class=\"stalls\"><thead><tr><th>finding</th><th>from – to (s)</th>\
         <th>duration</th><th>processes stuck</th><th>process: in flight; last error</th>\
         </tr></thead><tbody>\n",
    );
    for s in &stalls {
        let mut procs = String::new();
        for p in s
            .get("processes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = p.get("process").map(|x| x.to_string()).unwrap_or_default();
            let flight = p
                .get("in_flight")
                .filter(|x| !x.is_null())
                .map(|x| {
                    format!(
                        "{} since {} s",
                        x.get("f").and_then(Value::as_str).unwrap_or("?"),
                        num(x.get("since_s"))
                    )
                })
                .unwrap_or_else(|| "nothing in flight".into());
            let err = p
                .get("last_error")
                .filter(|x| !x.is_null())
                .map(|x| {
                    format!(
                        "{} at {} s: {}",
                        x.get("f").and_then(Value::as_str).unwrap_or("?"),
                        num(x.get("at_s")),
                        x.get("error").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .unwrap_or_else(|| "no error".into());
            let _ = write!(
                procs,
                "<li><code>{}</code>: {}; {}</li>",
                esc(&id),
                esc(&flight),
                esc(&err)
            );
        }
        let _ = writeln!(
            o,
            "<tr class=\"stall\"><td>{f}</td><td>{a} – {b}</td><td>{d} s</td><td>{n}</td><td><ul>{procs}</ul></td></tr>",
            f = esc(s.get("finding").and_then(Value::as_str).unwrap_or("client-stall")),
            a = num(s.get("start_s")),
            b = num(s.get("end_s")),
            d = num(s.get("duration_s")),
            n = s.get("processes_stuck").and_then(Value::as_u64).unwrap_or(0),
        );
    }
    o.push_str("</tbody></table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn progress() -> Value {
        json!({
            "observed": true, "threshold_s": 20.0,
            "summary": "CLIENT-STALL: 1 (longest 31.0 s, 14.0–45.0 s, 2 process(es) stuck; threshold 20 s)",
            "stalls": [{"finding": "client-stall", "start_s": 14.0, "end_s": 45.0, "duration_s": 31.0,
                        "gap_start_s": 6.1, "gap_end_s": null, "processes_stuck": 2,
                        "processes": [
                            {"process": 11, "in_flight": {"f": "txn", "since_s": 6.2},
                             "last_error": {"at_s": 12.0, "f": "txn",
                                            "error": "Timed out <waiting> (Retriable)"}},
                            {"process": 12, "in_flight": null, "last_error": null}]}],
            "recovery": [
                {"kind": "kill", "start_s": 5.8, "stop_s": 14.8, "heal_s": 16.0, "ready_after_s": 1.2,
                 "first_ok_after_heal_s": null, "pre_fault_ok_per_s": 35.0,
                 "rate_80_after_heal_s": null,
                 "unknown": ["no operation of the workload completed ok after the heal"]},
                {"kind": "pause", "start_s": 20.0, "stop_s": 21.0, "heal_s": 21.5, "ready_after_s": 0.5,
                 "first_ok_after_heal_s": 0.3, "pre_fault_ok_per_s": 35.0,
                 "rate_80_after_heal_s": 1.0}
            ]
        })
    }

    #[test]
    fn stalls_show_their_window_processes_and_errors() {
        let mut o = String::new();
        section(&mut o, &progress());
        assert!(o.contains("Client progress"));
        assert!(
            o.contains("<td>client-stall</td><td>14.0 – 45.0</td><td>31.0 s</td><td>2</td>"),
            "{o}"
        );
        assert!(o.contains("<code>11</code>: txn since 6.2 s; txn at 12.0 s: Timed out &lt;waiting&gt; (Retriable)"), "{o}");
        assert!(o.contains("<code>12</code>: nothing in flight; no error"));
        let mut none = String::new();
        section(
            &mut none,
            &json!({"summary": "no client stall", "stalls": []}),
        );
        assert!(none.contains("no client stall") && !none.contains("<table"));
    }

    #[test]
    fn recovery_cells_say_never_rather_than_invent_a_figure() {
        let p = progress();
        let kill = json!({"kind": "kill", "start_s": 5.8});
        let mut o = String::new();
        recovery_cells(&mut o, recovery_of(Some(&p), 0, &kill));
        assert!(o.starts_with("<td>1.2 s</td>"), "{o}");
        assert_eq!(o.matches(">never</td>").count(), 2, "{o}");
        assert!(o.contains("title=\"no operation of the workload completed ok after the heal\""));
        let pause = json!({"kind": "pause", "start_s": 20.0});
        let mut o = String::new();
        recovery_cells(&mut o, recovery_of(Some(&p), 1, &pause));
        assert!(o.contains("<td>0.3 s</td>"), "{o}");
        assert!(
            o.contains(r#"<td title="pre-fault rate 35.0 ok ops/s">1.0 s</td>"#),
            "{o}"
        );
        // Another fault at that place (an older results.json): not matched.
        assert!(recovery_of(Some(&p), 1, &kill).is_none());
        assert!(recovery_of(None, 0, &kill).is_none());
        let mut o = String::new();
        recovery_cells(&mut o, None);
        assert_eq!(o, "<td>–</td><td>–</td><td>–</td>");
    }
}
