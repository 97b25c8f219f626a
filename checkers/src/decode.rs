//! Hand-rolled decoders for the value shapes that make up almost every
//! line of a queue history: a send (`{"key":1,"value":7,"partition":0,
//! "offset":3}`), a poll (`{"records":[[p,o,k,v],…]}`) and a transaction
//! (`{"ops":[{"f":"send",…},{"f":"poll","records":[…]}],"offsets":[[p,o]],
//! "abort":true}`). They allocate nothing (they append to the caller's
//! reused buffers) and return `None`/false on anything unexpected — an
//! unknown or repeated field, a null, a float, an escape — in which case the
//! caller decodes with serde (which also produces the error message).
//! Serde's path for a transaction is slow: its micro-ops are an internally
//! tagged enum, which serde buffers as a tree of `Content` before decoding.

use trial_histories::values::Record;

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn ws(&mut self) {
        // (Histories are written without whitespace: one test, mostly.)
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
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
        // u64 arithmetic (i128's is slower); beyond u64, serde decides.
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.checked_mul(10)?.checked_add(d as u64)?;
            self.i += 1;
        }
        // (A leading zero, as in `01`, is not JSON: serde refuses it.)
        if self.i == start
            || (self.b[start] == b'0' && self.i - start > 1)
            || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        let v = v as i128;
        Some(if neg { -v } else { v })
    }
    /// `true` or `false`.
    #[inline]
    fn bool(&mut self) -> Option<bool> {
        self.ws();
        let rest = &self.b[self.i..];
        if rest.starts_with(b"true") {
            self.i += 4;
            Some(true)
        } else if rest.starts_with(b"false") {
            self.i += 5;
            Some(false)
        } else {
            None
        }
    }
    /// A string without escapes.
    #[inline]
    fn str(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            if c == b'"' {
                self.i += 1;
                return Some(&self.b[start..self.i - 1]);
            }
            if c == b'\\' {
                return None;
            }
            self.i += 1;
        }
        None
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
    /// `[e, e, …]`: `each` reads one element.
    #[inline]
    fn seq(&mut self, mut each: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? != b']' {
            loop {
                each(self)?;
                match self.peek()? {
                    b',' => self.i += 1,
                    b']' => break,
                    _ => return None,
                }
            }
        }
        self.eat(b']')
    }
    /// `{"k": v, …}`: `each` gets the key and reads its value.
    #[inline]
    fn fields(&mut self, mut each: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? != b'}' {
            loop {
                let k = self.key()?;
                each(self, k)?;
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.eat(b'}')
    }
    /// Only whitespace is left.
    #[inline]
    fn end(&mut self) -> Option<()> {
        self.ws();
        (self.i == self.b.len()).then_some(())
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
    let (mut key, mut value, mut partition, mut offset) = (None, None, None, None);
    c.fields(|c, k| {
        let v = c.int()?;
        match k {
            b"key" => key = Some(u64_of(v)?),
            b"value" => value = Some(u64_of(v)?),
            b"partition" => partition = Some(i32::try_from(v).ok()?),
            b"offset" => offset = Some(i64::try_from(v).ok()?),
            _ => return None,
        }
        Some(())
    })?;
    c.end()?;
    key?;
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
    record_array(&mut c, out)?;
    c.eat(b'}')?;
    c.end()
}

/// `[[p,o,k,v],…]` appended to `out`.
fn record_array(c: &mut Cursor, out: &mut Vec<Record>) -> Option<()> {
    c.seq(|c| {
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
        Some(())
    })
}

/// A send micro-op of a transaction: (value, partition, offset).
pub type TxnSend = (u64, Option<i32>, Option<i64>);

/// A transaction's send micro-ops appended to `sends` and its polls'
/// records (in micro-op order) to `records`; false to fall back to serde.
/// The fields `offsets` and `abort` are checked for shape but not returned
/// (no checker uses them).
pub fn txn(raw: &str, sends: &mut Vec<TxnSend>, records: &mut Vec<Record>) -> bool {
    let (s0, r0) = (sends.len(), records.len());
    let ok = txn_inner(raw, sends, records).is_some();
    if !ok {
        sends.truncate(s0);
        records.truncate(r0);
    }
    ok
}

fn txn_inner(raw: &str, sends: &mut Vec<TxnSend>, records: &mut Vec<Record>) -> Option<()> {
    let mut c = Cursor {
        b: raw.as_bytes(),
        i: 0,
    };
    // Fields seen: a repeated one is serde's error.
    let (mut ops, mut offsets, mut abort) = (false, false, false);
    c.fields(|c, k| match k {
        b"ops" if !ops => {
            ops = true;
            c.seq(|c| micro_op(c, sends, records))
        }
        b"offsets" if !offsets => {
            offsets = true;
            c.seq(|c| {
                c.eat(b'[')?;
                i32::try_from(c.int()?).ok()?;
                c.eat(b',')?;
                i64::try_from(c.int()?).ok()?;
                c.eat(b']')
            })
        }
        b"abort" if !abort => {
            abort = true;
            c.bool().map(|_| ())
        }
        _ => None,
    })?;
    c.end()?;
    ops.then_some(())
}

/// One micro-op: `{"f":"send","key":k,"value":v[,"partition":p,"offset":o]}`
/// or `{"f":"poll"[,"records":[…]]}`, fields in any order.
fn micro_op(c: &mut Cursor, sends: &mut Vec<TxnSend>, records: &mut Vec<Record>) -> Option<()> {
    let mut f: Option<&[u8]> = None;
    let (mut key, mut value, mut partition, mut offset) = (None, None, None, None);
    let mut has_records = false;
    c.fields(|c, k| {
        match k {
            b"f" if f.is_none() => f = Some(c.str()?),
            b"key" if key.is_none() => key = Some(u64_of(c.int()?)?),
            b"value" if value.is_none() => value = Some(u64_of(c.int()?)?),
            b"partition" if partition.is_none() => partition = Some(i32::try_from(c.int()?).ok()?),
            b"offset" if offset.is_none() => offset = Some(i64::try_from(c.int()?).ok()?),
            b"records" if !has_records => {
                has_records = true;
                record_array(c, records)?;
            }
            _ => return None,
        }
        Some(())
    })?;
    match f? {
        b"send" if !has_records => {
            key?;
            sends.push((value?, partition, offset));
        }
        b"poll" if key.is_none() && value.is_none() && partition.is_none() && offset.is_none() => {}
        _ => return None,
    }
    Some(())
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
        assert!(!poll(r#"{"records":[[01,2,3,4]]}"#, &mut v), "leading zero");
    }

    /// What serde makes of a transaction: (sends, records), or None.
    fn txn_by_serde(raw: &str) -> Option<(Vec<TxnSend>, Vec<Record>)> {
        use trial_histories::values::{MicroOp, Txn};
        let t: Txn = serde_json::from_str(raw).ok()?;
        let (mut s, mut r) = (Vec::new(), Vec::new());
        for m in t.ops {
            match m {
                MicroOp::Send(x) => s.push((x.value, x.partition, x.offset)),
                MicroOp::Poll(p) => r.extend(p.records),
            }
        }
        Some((s, r))
    }

    #[test]
    fn txn_decodes_what_serde_decodes_and_refuses_the_rest() {
        // Accepted: the same result as serde's.
        for raw in [
            r#"{"ops":[{"f":"send","key":1,"value":7}]}"#,
            r#"{"ops":[{"f":"send","key":1,"value":7,"partition":2,"offset":9},{"f":"poll","records":[[1,2,3,4],[1,3,3,5]]},{"f":"poll"},{"f":"poll","records":[]},{"key":2,"f":"send","value":8,"offset":10,"partition":2}],"offsets":[[1,4],[2,0]],"abort":false}"#,
            r#" { "abort" : true , "ops" : [ ] , "offsets" : [ ] } "#,
            r#"{"ops":[{"records":[[0,0,1,1]],"f":"poll"}],"abort":true}"#,
        ] {
            let (mut s, mut r) = (vec![(99, None, None)], vec![]);
            assert!(txn(raw, &mut s, &mut r), "{raw}");
            let (es, er) = txn_by_serde(raw).expect(raw);
            assert_eq!(s[1..], es[..], "{raw}");
            assert_eq!(r, er, "{raw}");
        }
        // Refused (serde decides: an error, or a shape this decoder leaves
        // to it), and the buffers are left as they were.
        for raw in [
            r#"{"ops":[{"f":"send","key":1,"value":7}]"#,
            r#"{}"#,
            r#"{"offsets":[]}"#,
            r#"{"ops":[{"f":"send","value":7}]}"#,
            r#"{"ops":[{"f":"send","key":1}]}"#,
            r#"{"ops":[{"key":1,"value":7}]}"#,
            r#"{"ops":[{"f":"write","key":1,"value":7}]}"#,
            r#"{"ops":[{"f":"send","key":1,"value":-7}]}"#,
            r#"{"ops":[{"f":"send","key":1,"value":7,"partition":null}]}"#,
            r#"{"ops":[{"f":"send","key":1,"value":7,"value":8}]}"#,
            r#"{"ops":[{"f":"send","key":1,"value":7,"records":[]}]}"#,
            r#"{"ops":[{"f":"poll","key":1}]}"#,
            r#"{"ops":[{"f":"poll","records":[[1,2,3]]}]}"#,
            r#"{"ops":[{"f":"se\u006ed","key":1,"value":7}]}"#,
            r#"{"ops":[],"ops":[]}"#,
            r#"{"ops":[],"abort":1}"#,
            r#"{"ops":[],"abort":truex}"#,
            r#"{"ops":[],"offsets":[[1]]}"#,
            r#"{"ops":[],"offsets":[[1,2.5]]}"#,
            r#"{"ops":[],"extra":1}"#,
            r#"{"ops":[{"f":"send","key":1,"value":7}]} x"#,
        ] {
            let (mut s, mut r) = (
                vec![(99, None, None)],
                vec![Record {
                    partition: 0,
                    offset: 0,
                    key: 0,
                    value: 0,
                }],
            );
            assert!(!txn(raw, &mut s, &mut r), "{raw}");
            assert_eq!((s.len(), r.len()), (1, 1), "{raw}");
        }
        // What this decoder refuses but serde accepts still decodes (by the
        // fallback in the queue feed): e.g. an escaped tag.
        assert!(txn_by_serde(r#"{"ops":[{"f":"se\u006ed","key":1,"value":7}]}"#).is_some());
        assert!(txn_by_serde(r#"{"ops":[{"f":"poll","key":1}]}"#).is_some());
    }
}
