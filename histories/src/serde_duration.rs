//! The project's one pair of `Duration` serde helpers, for
//! `#[serde(with = "…")]`: [`ms`] writes whole milliseconds (plans,
//! schedules), [`secs`] fractional seconds (`test.json`, read by people).

/// A `Duration` as whole milliseconds.
pub mod ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// A `Duration` as (fractional) seconds.
pub mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use std::time::Duration;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super::ms")]
        a: Duration,
        #[serde(with = "super::secs")]
        b: Duration,
    }

    #[test]
    fn round_trip() {
        let t = T {
            a: Duration::from_millis(1500),
            b: Duration::from_millis(2500),
        };
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(s, r#"{"a":1500,"b":2.5}"#);
        assert_eq!(serde_json::from_str::<T>(&s).unwrap(), t);
        assert!(serde_json::from_str::<T>(r#"{"a":1,"b":-1}"#).is_err());
    }
}
