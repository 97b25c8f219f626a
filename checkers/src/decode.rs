//! Hand-rolled decoders for the two value shapes that make up almost every
//! line of a queue history: a send (`{"key":1,"value":7,"partition":0,
//! "offset":3}`) and a poll (`{"records":[[p,o,k,v],…]}`). They allocate
//! nothing and return `None` on anything unexpected, in which case the
//! caller decodes with serde (which also produces the error message).

use trial_histories::values::Record;

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }
    #[inline]
    fn int(&mut self) -> Option<i128> {
        self.ws();
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut v: i128 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v * 10 + (c - b'0') as i128;
            self.i += 1;
            if self.i - start > 20 {
                return None;
            }
        }
        if self.i == start || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(if neg { -v } else { v })
    }
    /// A key without escapes.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            if c == b'"' {
                let k = &self.b[start..self.i];
                self.i += 1;
                self.eat(b':')?;
                return Some(k);
            }
            if c == b'\\' {
                return None;
            }
            self.i += 1;
        }
        None
    }
}

fn u64_of(v: i128) -> Option<u64> {
    u64::try_from(v).ok()
}

/// A send's (value, partition, offset), or None to fall back to serde.
pub fn send(raw: &str) -> Option<(u64, Option<i32>, Option<i64>)> {
    let mut c = Cursor {
        b: raw.as_bytes(),
        i: 0,
    };
    c.eat(b'{')?;
    let (mut key, mut value, mut partition, mut offset) = (None, None, None, None);
    if c.peek()? != b'}' {
        loop {
            let k = c.key()?;
            let v = c.int()?;
            match k {
                b"key" => key = Some(u64_of(v)?),
                b"value" => value = Some(u64_of(v)?),
                b"partition" => partition = Some(i32::try_from(v).ok()?),
                b"offset" => offset = Some(i64::try_from(v).ok()?),
                _ => return None,
            }
            match c.peek()? {
                b',' => c.i += 1,
                b'}' => break,
                _ => return None,
            }
        }
    }
    c.eat(b'}')?;
    c.ws();
    if c.i != c.b.len() || key.is_none() {
        return None;
    }
    Some((value?, partition, offset))
}

/// A poll's records appended to `out`; false to fall back to serde.
pub fn poll(raw: &str, out: &mut Vec<Record>) -> bool {
    let start = out.len();
    let ok = poll_inner(raw, out).is_some();
    if !ok {
        out.truncate(start);
    }
    ok
}

fn poll_inner(raw: &str, out: &mut Vec<Record>) -> Option<()> {
    let mut c = Cursor {
        b: raw.as_bytes(),
        i: 0,
    };
    c.eat(b'{')?;
    if c.key()? != b"records" {
        return None;
    }
    c.eat(b'[')?;
    if c.peek()? != b']' {
        loop {
            c.eat(b'[')?;
            let partition = i32::try_from(c.int()?).ok()?;
            c.eat(b',')?;
            let offset = i64::try_from(c.int()?).ok()?;
            c.eat(b',')?;
            let key = u64_of(c.int()?)?;
            c.eat(b',')?;
            let value = u64_of(c.int()?)?;
            c.eat(b']')?;
            out.push(Record {
                partition,
                offset,
                key,
                value,
            });
            match c.peek()? {
                b',' => c.i += 1,
                b']' => break,
                _ => return None,
            }
        }
    }
    c.eat(b']')?;
    c.eat(b'}')?;
    c.ws();
    (c.i == c.b.len()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_serde_decodes_and_refuses_the_rest() {
        assert_eq!(
            send(r#"{"key":1,"value":7,"partition":0,"offset":3}"#),
            Some((7, Some(0), Some(3)))
        );
        assert_eq!(
            send(r#" { "value" : 7 , "key":2 } "#),
            Some((7, None, None))
        );
        assert_eq!(send(r#"{"key":1}"#), None);
        assert_eq!(send(r#"{"value":7}"#), None, "key is required, as in serde");
        assert_eq!(send(r#"{"key":1,"value":7,"partition":null}"#), None);
        assert_eq!(send(r#"{"key":1,"value":-7}"#), None);
        assert_eq!(send(r#"{"key":1,"value":7.5}"#), None);
        assert_eq!(send(r#"{"key":1,"value":7,"x":1}"#), None);
        let mut v = Vec::new();
        assert!(poll(r#"{"records":[[1,2,3,4], [5,6,7,8]]}"#, &mut v));
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].value, 8);
        assert!(poll(r#"{"records":[]}"#, &mut v));
        assert_eq!(v.len(), 2);
        assert!(!poll(r#"{"records":[[1,2,3]]}"#, &mut v));
        assert!(!poll(r#"{"records":[[1,2,3,4]],"x":1}"#, &mut v));
        assert_eq!(v.len(), 2);
    }
}
