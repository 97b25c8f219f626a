//! Jepsen's own Kafka histories, checked directly.
//!
//! `history.edn` as Jepsen's Kafka workload (`jepsen.tests.kafka`) stores
//! it is translated op by op into kafka-trial's op model
//! ([`translate`]) and checked by the normal pairing pass and checkers, so
//! that one set of definitions judges both tools' histories. The result is
//! an ordinary [`Results`] with one more body, `checkers.jepsen`: what the
//! translation did, and every class found under both names — kafka-trial's
//! and the keyword Jepsen's checker reports it as ([`jepsen_name`]).

pub mod translate;

pub use translate::{looks_like_kafka, translate_str, Translation, ValueNames};

use crate::results::CheckerBody;
use crate::{CheckError, CheckOptions, ClientModel, Results};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The keyword (without its colon) Jepsen's Kafka checker uses for a
/// kafka-trial class; `None` when it has no counterpart. One table:
/// [`crate::verdict::jepsen_name`] (Jepsen folds reads of failed plain
/// sends and of aborted transactions into G1a, draws no anti-dependency
/// edges — so no G-single or G2 — and stops on a garbage read).
pub fn jepsen_name(class: &str) -> Option<String> {
    crate::verdict::jepsen_name(class).map(|k| k.trim_start_matches(':').to_string())
}

/// One class found, under both names.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct NamedClass {
    pub class: String,
    /// Jepsen's keyword, with its colon (`:G1a`); `null` when Jepsen's
    /// checker has no such class.
    pub jepsen: Option<String>,
    pub count: u64,
    /// Reported but not counted against validity (e.g. `int-send-skip`,
    /// `unseen` while the final reads do not decide it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub informational: bool,
}

/// `checkers.jepsen` in results.json.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct JepsenBody {
    /// Op maps in the EDN file.
    pub edn_ops: u64,
    /// Ops the translation added: a rebalance after each subscribe, the
    /// final reads made from the final polls (invocation and completion).
    pub synthetic_ops: u64,
    pub final_reads: u64,
    /// Values re-encoded as key × multiplier + value (values repeated
    /// across keys).
    pub value_multiplier: Option<u64>,
    /// The history had transactions (multi-micro-op or `:txn` ops).
    pub transactional: bool,
    /// Every class with a non-zero count, named both ways.
    pub classes: Vec<NamedClass>,
    /// The client model the history was judged by (`jepsen` unless
    /// `--client-model` said otherwise).
    pub client_model: ClientModel,
    /// Partition → Jepsen's key, for keys that are not their own number
    /// (messages already name keys and values as Jepsen wrote them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<i32, String>,
    pub summary: String,
}

/// Check a Jepsen Kafka history file (`history.edn`, or gzipped:
/// `history.edn.gz`, recognised by its magic bytes).
pub fn check_jepsen_file(path: &Path, opts: &CheckOptions) -> Result<Results, CheckError> {
    let text = read_edn_text(path)?;
    let t = translate_str(&text, path)?;
    // The text is not needed to check the ops: give its memory back.
    drop(text);
    check_translation(t, path, opts)
}

/// The text of an EDN file, gunzipped if it starts with gzip's magic
/// bytes. Not UTF-8 is bad input (exit 3), named by its line.
pub fn read_edn_text(path: &Path) -> Result<String, CheckError> {
    let io = |source| {
        CheckError::Read(trial_histories::ReadError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| CheckError::Edn {
                path: path.to_path_buf(),
                line: 0,
                message: format!("not a readable gzip file: {e}"),
            })?;
        out
    } else {
        bytes
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() as u64;
        CheckError::Edn {
            path: path.to_path_buf(),
            line,
            message: format!("not UTF-8 text (byte {at})"),
        }
    })
}

/// Check the text of a Jepsen Kafka history; `path` names it in errors.
pub fn check_jepsen_str(
    text: &str,
    path: &Path,
    opts: &CheckOptions,
) -> Result<Results, CheckError> {
    check_translation(translate_str(text, path)?, path, opts)
}

/// Check a translated history; `path` names it in errors.
pub fn check_translation(
    t: Translation,
    path: &Path,
    opts: &CheckOptions,
) -> Result<Results, CheckError> {
    let mut opts = opts.clone();
    opts.transactional |= t.transactional;
    // A Jepsen history was made by Jepsen's client.
    let model = *opts.client_model.get_or_insert(ClientModel::Jepsen);
    opts.excused_internal = t.excused.clone();
    // The `log` model reads kafka-trial files; an EDN history is checked
    // by the pairing pass only.
    opts.linear_model = None;
    let mut r = crate::check_ops(&t.ops, &opts).map_err(|e| relocate(e, path, &t.lines))?;
    r.client_model = Some(model);
    name_everything(&mut r, &t);
    let classes: Vec<NamedClass> = r
        .anomaly_counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| NamedClass {
            class: c.clone(),
            jepsen: jepsen_name(c).map(|j| format!(":{j}")),
            count: *n,
            informational: r.checkers.queue.as_ref().is_some_and(|q| {
                q.anomalies.get(c).is_some_and(|a| a.informational)
                    || (c == crate::results::class::UNSEEN && !q.unseen.is_loss)
            }),
        })
        .collect();
    let named: Vec<String> = classes
        .iter()
        .map(|c| {
            let info = if c.informational {
                " (informational)"
            } else {
                ""
            };
            match &c.jepsen {
                Some(j) => format!("{} {} = {j}{info}", c.count, c.class),
                None => format!("{} {} (no Jepsen class){info}", c.count, c.class),
            }
        })
        .collect();
    let summary = format!(
        "{} EDN ops, client model {model}{}{}; {}",
        t.edn_ops,
        if t.transactional {
            ", transactional"
        } else {
            ""
        },
        if t.final_reads > 0 {
            format!(", {} final reads from the final polls", t.final_reads)
        } else {
            ", no final polls (no assign with :seek-to-beginning?)".to_string()
        },
        if named.is_empty() {
            "no anomaly".to_string()
        } else {
            format!("as Jepsen names them: {}", named.join(", "))
        }
    );
    let body = JepsenBody {
        edn_ops: t.edn_ops,
        synthetic_ops: t.synthetic,
        final_reads: t.final_reads,
        value_multiplier: t.value_multiplier,
        transactional: t.transactional,
        classes,
        client_model: model,
        keys: t.key_names.clone(),
        summary: summary.clone(),
    };
    r.checkers.other.insert(
        "jepsen".to_string(),
        CheckerBody {
            json: serde_json::value::to_raw_value(&body).expect("serialisable"),
            summary: Some(summary),
        },
    );
    r.warnings.extend(t.warnings);
    Ok(r)
}

/// Every message of the results names keys and values as Jepsen wrote
/// them: `partition 1073741824` → `key :x`, `value 3` → `value :c`.
fn name_everything(r: &mut Results, t: &Translation) {
    let key = |p: i64| -> String {
        i32::try_from(p)
            .ok()
            .and_then(|p| t.key_names.get(&p).cloned())
            .unwrap_or_else(|| p.to_string())
    };
    let value = |v: u64| t.value_names.name(v);
    let fix = |s: &mut String| *s = rename(s, &key, &value);
    if let Some(q) = r.checkers.queue.as_mut() {
        for a in q.anomalies.values_mut() {
            for e in &mut a.examples {
                fix(&mut e.message);
            }
        }
        q.unknown_reasons.iter_mut().for_each(fix);
    }
    r.unknown_reasons.iter_mut().for_each(fix);
    r.summary = rename(&r.summary, &key, &value);
}

/// `partition N` → `key NAME`; `value N` and `wrote N` → with the value's
/// name, when it has one.
pub fn rename(
    s: &str,
    key: &dyn Fn(i64) -> String,
    value: &dyn Fn(u64) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    'scan: while !rest.is_empty() {
        for (word, is_key) in [("partition ", true), ("value ", false), ("wrote ", false)] {
            if let Some(after) = rest.strip_prefix(word) {
                let digits = after
                    .char_indices()
                    .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
                    .count();
                let num = &after[..digits];
                if is_key {
                    if let Ok(n) = num.parse::<i64>() {
                        out.push_str("key ");
                        out.push_str(&key(n));
                        rest = &after[digits..];
                        continue 'scan;
                    }
                } else if let Some(name) = num.parse::<u64>().ok().and_then(value) {
                    out.push_str(word);
                    out.push_str(&name);
                    rest = &after[digits..];
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A checker error about translated op N names the EDN line it came from.
fn relocate(e: CheckError, path: &Path, lines: &[u64]) -> CheckError {
    let edn_line = |l: u64| {
        lines
            .get(l.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(l)
    };
    match e {
        CheckError::Pairing {
            line,
            index,
            message,
            ..
        } => CheckError::Edn {
            path: path.to_path_buf(),
            line: edn_line(line),
            message: format!("op {index}: {message}"),
        },
        CheckError::Value {
            line, f, message, ..
        } => CheckError::Edn {
            path: path.to_path_buf(),
            line: edn_line(line),
            message: format!("{f}: {message}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_both_ways() {
        assert_eq!(jepsen_name("aborted-read").as_deref(), Some("G1a"));
        assert_eq!(jepsen_name("failed-write-read").as_deref(), Some("G1a"));
        assert_eq!(jepsen_name("G1c-realtime").as_deref(), Some("G1c-realtime"));
        assert_eq!(jepsen_name("G0-process").as_deref(), Some("G0-process"));
        assert_eq!(jepsen_name("poll-skip").as_deref(), Some("poll-skip"));
        assert_eq!(jepsen_name("poll-skip-process"), None);
        assert_eq!(jepsen_name("G-single"), None);
        assert_eq!(jepsen_name("garbage-read"), None);
        for c in ["lost-write", "G1c", "precommitted-read", "int-send-skip"] {
            assert!(jepsen_name(c).is_some(), "{c}");
        }
    }
}
