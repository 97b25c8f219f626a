//! The report's account of what Kafka promised for the run's configuration
//! (results.json `promises`, written by `trial_checkers::promises`): the
//! headline under the verdict, a mark beside each anomaly class (broken
//! promise, or permitted by this configuration and why) and a section that
//! lists every promise with the documented sentence it rests on, the
//! conditions it is subject to and whether the run's faults stayed inside
//! them.
//!
//! Read from the JSON as it is (like the rest of the page), so a run
//! checked by an older kafka-trial, without `promises`, renders with none
//! of this and no error.

use super::data::RunData;
use super::escape::esc;
use serde_json::Value;
use std::fmt::Write;

fn promises(run: &RunData) -> Option<&Value> {
    run.results.as_ref()?.get("promises")
}

/// The headline under the verdict: `Kafka kept every promise of this
/// configuration` or `BROKEN PROMISE: …`.
pub fn headline(o: &mut String, run: &RunData) {
    let Some(p) = promises(run) else { return };
    let kept = p.get("kept").and_then(Value::as_bool).unwrap_or(true);
    let text = p
        .get("headline")
        .and_then(Value::as_str)
        .unwrap_or(if kept {
            "Kafka kept every promise of this configuration"
        } else {
            "BROKEN PROMISE"
        });
    let known = p
        .get("configuration_known")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let _ = write!(
        o,
        r##"<p id="promise-headline" class="promise-headline {cls}" data-kept="{kept}"><a href="#promises">{text}</a>{unknown}</p>"##,
        cls = if kept { "kept" } else { "broken" },
        text = esc(text),
        unknown = if known {
            ""
        } else {
            " <span class=\"muted\">(no test.json: judged against Kafka's default settings)</span>"
        },
    );
}

/// The mark beside an anomaly class: `(true, promise statement)` for a
/// broken promise, `(false, reason)` for a class this configuration
/// permits; `None` when results.json judges no such class.
pub fn class_judgement(run: &RunData, class: &str) -> Option<(bool, String)> {
    let c = promises(run)?.get("classes")?.get(class)?;
    match c.get("judgement").and_then(Value::as_str)? {
        "broken-promise" => {
            let statement = c.get("statement").and_then(Value::as_str).unwrap_or("");
            let id = c.get("promise").and_then(Value::as_str).unwrap_or("");
            Some((true, format!("{statement} ({id})")))
        }
        "permitted" => Some((
            false,
            c.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        )),
        _ => None,
    }
}

/// Write the mark of [`class_judgement`] as a paragraph.
pub fn class_mark(o: &mut String, run: &RunData, class: &str) {
    match class_judgement(run, class) {
        Some((true, what)) => {
            let _ = write!(
                o,
                r#"<p class="promise-mark broken"><b>Broken promise:</b> {}</p>"#,
                esc(&what)
            );
        }
        Some((false, why)) => {
            let _ = write!(
                o,
                r#"<p class="promise-mark permitted"><b>Permitted by this configuration:</b> {}</p>"#,
                esc(&why)
            );
        }
        None => {}
    }
}

/// A link to a documentation page, only for http(s) addresses (the text
/// comes from results.json).
fn source_link(src: &str) -> String {
    if src.starts_with("https://") || src.starts_with("http://") {
        format!(
            r#"<a class="source" href="{0}" rel="noreferrer">{0}</a>"#,
            esc(src)
        )
    } else {
        esc(src)
    }
}

/// One `key=value` line of the configuration the promises were derived
/// from.
fn configuration_line(c: &Value) -> String {
    let Some(m) = c.as_object() else {
        return String::new();
    };
    m.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The section: configuration, the faults applied, and every promise.
pub fn section(o: &mut String, run: &RunData) {
    let Some(p) = promises(run) else { return };
    o.push_str(r#"<section id="promises"><h2>What Kafka promised</h2>"#);
    if let Some(c) = p.get("configuration") {
        let _ = write!(
            o,
            r#"<p class="configuration"><b>Configuration.</b> <code>{}</code></p>"#,
            esc(&configuration_line(c))
        );
    }
    if let Some(e) = p.get("exposure") {
        let n = |k: &str| e.get(k).and_then(Value::as_u64).unwrap_or(0);
        let kinds: Vec<&str> = e
            .get("kinds")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let _ = write!(
            o,
            r#"<p class="exposure"><b>Faults applied.</b> {kinds}; at most {down} node(s) down at once (killed, paused or powered off), {cut} cut off, {power} losing un-fsynced writes together{clock}.</p>"#,
            kinds = if kinds.is_empty() {
                "none".to_string()
            } else {
                esc(&kinds.join(", "))
            },
            down = n("max_down"),
            cut = n("max_cut"),
            power = n("max_power_loss"),
            clock = if e.get("clock").and_then(Value::as_bool) == Some(true) {
                ", clocks skewed"
            } else {
                ""
            },
        );
    }
    let list = p
        .get("promises")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    o.push_str(
        r#"<table class="promises"><thead><tr><th>promise</th><th>this run</th><th>Kafka's words</th></tr></thead><tbody>"#,
    );
    for pr in &list {
        let s = |k: &str| pr.get(k).and_then(Value::as_str).unwrap_or("");
        let covered = pr.get("covered").and_then(Value::as_bool).unwrap_or(true);
        let (cls, state) = match (covered, pr.get("kept").and_then(Value::as_bool)) {
            (_, Some(false)) => ("broken", "BROKEN".to_string()),
            (true, Some(true)) => ("kept", "kept".to_string()),
            (false, _) => (
                "beyond",
                format!(
                    "not promised for these faults: {}",
                    pr.get("beyond").and_then(Value::as_str).unwrap_or("")
                ),
            ),
            (true, None) => ("unjudged", "not judged".to_string()),
        };
        let conditions: Vec<&str> = pr
            .get("conditions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let classes: Vec<&str> = pr
            .get("classes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let _ = write!(
            o,
            r#"<tr class="promise {cls}" data-promise="{id}"><td><b>{statement}</b><br><span class="muted">{id}</span>{conds}{classes}</td><td class="state">{state}</td><td><blockquote>{quote}</blockquote>{src}</td></tr>"#,
            id = esc(s("id")),
            statement = esc(s("statement")),
            conds = if conditions.is_empty() {
                String::new()
            } else {
                format!("<br>if: {}", esc(&conditions.join("; ")))
            },
            classes = if classes.is_empty() {
                String::new()
            } else {
                format!(
                    r#"<br><span class="muted">broken by: {}</span>"#,
                    esc(&classes.join(", "))
                )
            },
            state = esc(&state),
            quote = esc(s("quote")),
            src = source_link(s("source")),
        );
    }
    o.push_str("</tbody></table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(results: Value) -> RunData {
        RunData {
            dir: "/nonexistent".into(),
            test: Default::default(),
            results: Some(results),
            verdict: super::super::data::Verdict::Invalid,
            anomalies: Vec::new(),
            node_logs: Vec::new(),
            history: Default::default(),
            warnings: Vec::new(),
        }
    }

    fn sample() -> Value {
        serde_json::json!({"promises": {
            "kept": false,
            "headline": "BROKEN PROMISE: acknowledged writes survive (lost-write: 3)",
            "configuration_known": true,
            "configuration": {"acks": "all", "replication_factor": 3, "idempotence": false},
            "exposure": {"max_down": 1, "max_cut": 1, "max_power_loss": 0, "clock": false, "kinds": ["kill", "partition"]},
            "promises": [
                {"id": "acked-writes-survive", "statement": "an acknowledged write is never lost",
                 "quote": "This guarantees that the record will not be lost <b>", "source": "javascript:alert(1)",
                 "conditions": ["one in-sync replica alive"], "covered": true, "classes": ["lost-write"], "kept": false},
                {"id": "no-duplicates", "statement": "no duplicates", "quote": "q", "source": "https://kafka.apache.org/documentation/#producerconfigs_enable.idempotence",
                 "conditions": [], "covered": false, "beyond": "idempotence is off", "classes": ["duplicate"]}
            ],
            "classes": {
                "lost-write": {"count": 3, "judgement": "broken-promise", "promise": "acked-writes-survive", "statement": "an acknowledged write is never lost"},
                "duplicate": {"count": 2, "judgement": "permitted", "reason": "enable.idempotence=false: \"may write duplicates\""}
            }
        }})
    }

    #[test]
    fn the_promises_reach_the_page_escaped_both_ways() {
        let run = run_with(sample());
        let mut o = String::new();
        headline(&mut o, &run);
        assert!(o.contains("BROKEN PROMISE: acknowledged writes survive"));
        assert!(o.contains(r#"class="promise-headline broken""#));
        let mut o = String::new();
        section(&mut o, &run);
        assert!(o.contains("&lt;b&gt;"), "quotes are escaped");
        assert!(!o.contains("href=\"javascript"), "only http(s) links");
        assert!(o.contains(
            r#"href="https://kafka.apache.org/documentation/#producerconfigs_enable.idempotence""#
        ));
        assert!(o.contains("not promised for these faults: idempotence is off"));
        assert!(o.contains(r#"data-promise="acked-writes-survive""#) && o.contains("BROKEN"));
        assert_eq!(
            class_judgement(&run, "lost-write"),
            Some((
                true,
                "an acknowledged write is never lost (acked-writes-survive)".into()
            ))
        );
        let mut o = String::new();
        class_mark(&mut o, &run, "duplicate");
        assert!(o.contains("Permitted by this configuration") && o.contains("&quot;may write"));
        assert_eq!(class_judgement(&run, "poll-skip"), None);
    }

    #[test]
    fn a_run_without_promises_renders_none_of_it() {
        let run = run_with(serde_json::json!({"valid": true}));
        let mut o = String::new();
        headline(&mut o, &run);
        section(&mut o, &run);
        class_mark(&mut o, &run, "lost-write");
        assert!(o.is_empty());
    }
}
