//! Durations as a person writes them (`60s`, `500ms`, `2m`), in spec files
//! and on the command line; exact both ways (a spec written and read back
//! is the same spec to the nanosecond).

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// Parse `90`, `90s`, `500ms`, `2m`, `1h`, `1.5s`, `250us`, `7ns`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "s"),
    };
    let nanos_per: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    // Whole numbers exactly; fractions through f64.
    if let Ok(n) = num.parse::<u64>() {
        return n
            .checked_mul(nanos_per)
            .map(Duration::from_nanos)
            .ok_or_else(|| format!("{s:?} is too long"));
    }
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 30s, 500ms or 2m"))?;
    let secs = n * nanos_per as f64 / 1e9;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a valid duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `d` in the largest unit that states it exactly (`60s`, `1500ms`, `7ns`).
pub fn format_duration(d: Duration) -> String {
    let n = d.as_nanos();
    for (per, unit) in [
        (3_600_000_000_000u128, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
    ] {
        if n > 0 && n.is_multiple_of(per) {
            return format!("{}{unit}", n / per);
        }
    }
    if n == 0 {
        "0s".into()
    } else {
        format!("{n}ns")
    }
}

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

/// A duration in a file: a string with a unit, or a number of seconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    S(String),
    N(f64),
}

impl Written {
    fn duration<E: serde::de::Error>(self) -> Result<Duration, E> {
        match self {
            Written::S(s) => parse_duration(&s).map_err(E::custom),
            Written::N(n) => Duration::try_from_secs_f64(n).map_err(E::custom),
        }
    }
}

/// A string with a unit, or a number of seconds.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    Written::deserialize(d)
        .map_err(|_| {
            serde::de::Error::custom(
                "a duration is a string such as \"30s\" or \"500ms\", or seconds",
            )
        })?
        .duration()
}

/// The same for an optional duration (absent: `None`).
pub mod opt {
    use super::*;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<Written>::deserialize(d)?
            .map(Written::duration)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_exactly() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
        for d in [
            Duration::ZERO,
            Duration::from_secs(60),
            Duration::from_millis(1500),
            Duration::from_nanos(123_456_789),
            Duration::from_secs(7200),
        ] {
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
    }
}
