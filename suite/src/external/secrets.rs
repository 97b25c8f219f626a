//! Client settings that pass through to every client of a run against a
//! cluster the user runs (`--client-config KEY=VALUE`, `--client-config-file`),
//! and the redaction of their secrets wherever a run writes its spec.
//!
//! The values live in memory only: the admin calls (`kafka::admin`) and the
//! rdkafka driver (`clients::rdkafka::common`) look them up by the bootstrap
//! address they connect to ([`apply`]), so no settings struct that could be
//! logged or serialised ever carries them. What is written (test.json,
//! spec.toml, the command line in the report) goes through [`redact_pairs`]
//! or [`redact_words`].

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// What a secret's value is written as.
pub const REDACTED: &str = "***";

/// Whether a client property's value is a secret: `sasl.jaas.config`,
/// `sasl.oauthbearer.config`, and anything whose name says password,
/// secret, key or token (`sasl.password`, `ssl.key.password`,
/// `ssl.keystore.password`, `sasl.oauthbearer.client.secret`, …).
pub fn is_secret(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    k == "sasl.jaas.config"
        || k == "sasl.oauthbearer.config"
        || ["password", "secret", "key", "token", "credential"]
            .iter()
            .any(|w| k.contains(w))
}

/// The pairs as they may be written: every secret's value `***`.
pub fn redacted(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| {
            let v = if is_secret(k) {
                REDACTED.to_string()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// Serde `serialize_with` for `Vec<(String, String)>` client settings: a
/// table of them, secrets `***` (test.json, spec.toml).
pub fn redact_pairs<S: serde::Serializer>(v: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    redacted(v)
        .into_iter()
        .collect::<BTreeMap<String, String>>()
        .serialize(s)
}

/// Serde `deserialize_with` matching [`redact_pairs`].
pub fn pairs_table<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, String)>, D::Error> {
    use serde::Deserialize;
    Ok(BTreeMap::<String, String>::deserialize(d)?
        .into_iter()
        .collect())
}

/// A command line's words with every secret's value `***`: the value of a
/// `KEY=VALUE` word (alone, or after `=` of a flag) whose key is a secret.
pub fn redact_words(words: &[String]) -> Vec<String> {
    words.iter().map(|w| redact_word(w)).collect()
}

fn redact_word(w: &str) -> String {
    // `--client-config=sasl.password=x` or `sasl.password=x`.
    let (prefix, rest) = match w.strip_prefix("--") {
        Some(flag) => match flag.split_once('=') {
            Some((f, rest)) => (format!("--{f}="), rest.to_string()),
            None => return w.to_string(),
        },
        None => (String::new(), w.to_string()),
    };
    match rest.split_once('=') {
        Some((k, _)) if is_secret(k) => format!("{prefix}{k}={REDACTED}"),
        _ => w.to_string(),
    }
}

/// A properties file (`KEY=VALUE` or `KEY: VALUE` lines, `#`/`!` comments):
/// what `--client-config-file` reads. Its secrets stay in memory.
pub fn read_properties(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the client properties {}", path.display()))?;
    parse_properties(&text).with_context(|| format!("client properties {}", path.display()))
}

/// [`read_properties`] of a text.
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with('!') {
            continue;
        }
        let split = l.find(['=', ':']);
        match split {
            Some(at) if at > 0 => {
                out.push((l[..at].trim().to_string(), l[at + 1..].trim().to_string()));
            }
            // The line is not shown: it may be a secret.
            _ => bail!("line {} is not KEY=VALUE", i + 1),
        }
    }
    Ok(out)
}

/// Every secret value this process was given (never forgotten): what
/// [`scrub`] takes out of a message.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// `text` with every secret value this process was given replaced by
/// `***` (librdkafka's configuration errors quote the value).
pub fn scrub(text: &str) -> String {
    let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let mut t = text.to_string();
    for v in seen.iter().filter(|v| v.len() >= 3) {
        t = t.replace(v.as_str(), REDACTED);
    }
    t
}

fn remember(pairs: &[(String, String)]) {
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    for (k, v) in pairs {
        if is_secret(k) && !seen.contains(v) {
            seen.push(v.clone());
        }
    }
}

/// Refuse settings librdkafka does not take (an unknown property, one
/// this build lacks — it has no OpenSSL, so no `ssl.*` — or a bad value),
/// naming the key; a secret's value never appears in the message.
pub fn check(pairs: &[(String, String)]) -> Result<()> {
    use rdkafka::consumer::BaseConsumer;
    remember(pairs);
    for (k, v) in pairs {
        let mut c = rdkafka::config::ClientConfig::new();
        c.set("bootstrap.servers", "127.0.0.1:1")
            .set("log_level", "0")
            .set(k, v);
        if let Err(e) = c.create::<BaseConsumer>() {
            bail!(
                "client setting {k}: librdkafka refuses it: {}",
                scrub(&e.to_string())
            );
        }
    }
    Ok(())
}

/// Client settings by the bootstrap address they apply to.
static REGISTRY: Mutex<BTreeMap<String, Vec<(String, String)>>> = Mutex::new(BTreeMap::new());

/// Every client this process makes for `bootstrap` gets `pairs` (the last
/// registration wins; [`forget`] at the end of the run).
pub fn register(bootstrap: &str, pairs: Vec<(String, String)>) {
    remember(&pairs);
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(bootstrap.to_string(), pairs);
}

/// Drop `bootstrap`'s settings.
pub fn forget(bootstrap: &str) {
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(bootstrap);
}

/// The settings registered for `bootstrap` (none for the suite's own
/// clusters).
pub fn lookup(bootstrap: &str) -> Vec<(String, String)> {
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(bootstrap)
        .cloned()
        .unwrap_or_default()
}

/// Put `bootstrap`'s registered settings on an rdkafka configuration.
pub fn apply(bootstrap: &str, c: &mut rdkafka::config::ClientConfig) {
    for (k, v) in lookup(bootstrap) {
        c.set(k, v);
    }
}

/// Whether the settings make the clients speak something other than
/// PLAINTEXT (the observer speaks PLAINTEXT only).
pub fn plaintext(pairs: &[(String, String)]) -> bool {
    pairs
        .iter()
        .find(|(k, _)| k == "security.protocol")
        .is_none_or(|(_, v)| v.eq_ignore_ascii_case("plaintext"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_named_by_their_keys() {
        for k in [
            "sasl.password",
            "ssl.key.password",
            "ssl.keystore.password",
            "sasl.jaas.config",
            "sasl.oauthbearer.client.secret",
            "ssl.key.pem",
            "SASL.PASSWORD",
        ] {
            assert!(is_secret(k), "{k}");
        }
        for k in [
            "security.protocol",
            "sasl.mechanism",
            "sasl.username",
            "client.id",
        ] {
            assert!(!is_secret(k), "{k}");
        }
    }

    #[test]
    fn words_and_pairs_are_redacted() {
        let w: Vec<String> = [
            "kafka-trial",
            "--client-config",
            "sasl.password=hunter2",
            "--client-config=ssl.key.password=pw",
            "--client-config",
            "security.protocol=SASL_PLAINTEXT",
        ]
        .map(String::from)
        .to_vec();
        let r = redact_words(&w).join(" ");
        assert!(!r.contains("hunter2") && !r.contains("=pw"), "{r}");
        assert!(r.contains("sasl.password=***"), "{r}");
        assert!(r.contains("--client-config=ssl.key.password=***"), "{r}");
        assert!(r.contains("security.protocol=SASL_PLAINTEXT"), "{r}");
        let p = redacted(&[
            ("sasl.jaas.config".into(), "x password=\"s\"".into()),
            ("acks".into(), "all".into()),
        ]);
        assert_eq!(p[0].1, REDACTED);
        assert_eq!(p[1].1, "all");
    }

    #[test]
    fn properties_parse_and_bad_lines_do_not_echo() {
        let p = parse_properties("# c\nsecurity.protocol=SASL_SSL\nsasl.password: s3\n\n").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1], ("sasl.password".into(), "s3".into()));
        let e = parse_properties("a=1\nsecretwithoutequals\n").unwrap_err();
        assert!(!format!("{e:#}").contains("secretwithoutequals"));
    }

    #[test]
    fn settings_librdkafka_refuses_are_named_without_their_secret() {
        let e = check(&[("ssl.key.password".into(), "s3cr3t-xyz".into())])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ssl.key.password") && !e.contains("s3cr3t-xyz"),
            "{e}"
        );
        assert!(check(&[("sasl.password".into(), "p".into())]).is_ok());
        assert_eq!(scrub("value s3cr3t-xyz here"), "value *** here");
    }

    #[test]
    fn the_registry_applies_by_bootstrap() {
        register("h:1", vec![("client.id".into(), "x".into())]);
        assert_eq!(lookup("h:1").len(), 1);
        assert!(lookup("h:2").is_empty());
        forget("h:1");
        assert!(lookup("h:1").is_empty());
        assert!(plaintext(&[]));
        assert!(!plaintext(&[(
            "security.protocol".into(),
            "SASL_SSL".into()
        )]));
    }
}
