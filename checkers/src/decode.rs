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

use trial_histories::cursor::Cursor;
use trial_histories::values::Record;

fn u64_of(v: i128) -> Option<u64> {
    u64::try_from(v).ok()
}

/// A send's (value, partition, offset), or None to fall back to serde.
pub fn send(raw: &str) -> Option<(u64, Option<i32>, Option<i64>)> {
    let mut c = Cursor::new(raw.as_bytes());
    let r = send_at(&mut c)?;
    c.end()?;
    Some(r)
}

/// [`send`] of the value at the cursor, which it leaves just past it.
pub fn send_at(c: &mut Cursor) -> Option<(u64, Option<i32>, Option<i64>)> {
    let at = c.i;
    if let Some(s) = send_exact(c) {
        return Some(s);
    }
    c.i = at;
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
    key?;
    Some((value?, partition, offset))
}

/// The writer's send, `{"key":k,"value":v[,"partition":p,"offset":o]}`
/// exactly (no whitespace, this order): what the general path gives on the
/// same text, in a fifth of its instructions (field names compared as
/// literals, not looked up).
#[inline]
fn send_exact(c: &mut Cursor) -> Option<(u64, Option<i32>, Option<i64>)> {
    c.lit(b"{\"key\":")?;
    c.u64()?;
    c.lit(b",\"value\":")?;
    let value = c.u64()?;
    if c.byte(b'}').is_some() {
        return Some((value, None, None));
    }
    c.lit(b",\"partition\":")?;
    let partition = i32::try_from(c.int_at()?).ok()?;
    c.lit(b",\"offset\":")?;
    let offset = i64::try_from(c.int_at()?).ok()?;
    c.byte(b'}')?;
    Some((value, Some(partition), Some(offset)))
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
    let mut c = Cursor::new(raw.as_bytes());
    poll_at(&mut c, out)?;
    c.end()
}

/// [`poll`] of the value at the cursor, which it leaves just past it;
/// `None` may leave records of it in `out`.
pub fn poll_at(c: &mut Cursor, out: &mut Vec<Record>) -> Option<()> {
    c.eat(b'{')?;
    if c.key()? != b"records" {
        return None;
    }
    record_array(c, out)?;
    c.eat(b'}')
}

/// `[[p,o,k,v],…]` appended to `out`.
fn record_array(c: &mut Cursor, out: &mut Vec<Record>) -> Option<()> {
    let (at, n) = (c.i, out.len());
    if record_array_exact(c, out).is_some() {
        return Some(());
    }
    c.i = at;
    out.truncate(n);
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

/// [`record_array`] in the writer's shape exactly (`[[p,o,k,v],…]`, no
/// whitespace): the same records, without a whitespace test per byte.
#[inline]
fn record_array_exact(c: &mut Cursor, out: &mut Vec<Record>) -> Option<()> {
    c.byte(b'[')?;
    if c.byte(b']').is_some() {
        return Some(());
    }
    loop {
        c.byte(b'[')?;
        let partition = i32::try_from(c.int_at()?).ok()?;
        c.byte(b',')?;
        let offset = i64::try_from(c.int_at()?).ok()?;
        c.byte(b',')?;
        let key = c.u64()?;
        c.byte(b',')?;
        let value = c.u64()?;
        c.byte(b']')?;
        out.push(Record {
            partition,
            offset,
            key,
            value,
        });
        if c.byte(b',').is_none() {
            return c.byte(b']');
        }
    }
}

/// A final read's (partition, start offset, high watermark) with its
/// records appended to `out`; `None` (and `out` as it was) to fall back to
/// serde. Why: a final read holds every record of its partition, and
/// serde's decode of it was 7 % of a queue check's instructions, on the
/// sequential checking thread.
pub fn final_read(raw: &str, out: &mut Vec<Record>) -> Option<(i32, i64, i64)> {
    let start = out.len();
    let r = final_read_inner(raw, out);
    if r.is_none() {
        out.truncate(start);
    }
    r
}

fn final_read_inner(raw: &str, out: &mut Vec<Record>) -> Option<(i32, i64, i64)> {
    let mut c = Cursor::new(raw.as_bytes());
    let (mut partition, mut start, mut hw, mut records) = (None, None, None, false);
    c.fields(|c, k| {
        match k {
            b"partition" if partition.is_none() => partition = Some(i32::try_from(c.int()?).ok()?),
            b"start_offset" if start.is_none() => start = Some(i64::try_from(c.int()?).ok()?),
            b"high_watermark" if hw.is_none() => hw = Some(i64::try_from(c.int()?).ok()?),
            b"records" if !records => {
                records = true;
                record_array(c, out)?;
            }
            // (Unknown and repeated fields: serde's rules decide.)
            _ => return None,
        }
        Some(())
    })?;
    c.end()?;
    Some((partition?, start.unwrap_or(0), hw?))
}

/// An assignment (`assign`, `rebalance`): every field of
/// [`trial_histories::values::Assignment`] in the shapes the writer emits;
/// `None` on anything else (an unknown or repeated field, an escape in the
/// member id): serde decides. Why: serde's derived decoder cost a few
/// thousand instructions per assignment on the checking thread.
pub fn assignment(raw: &str) -> Option<trial_histories::values::Assignment> {
    let mut a = trial_histories::values::Assignment::default();
    let mut seen = 0u16;
    let mut c = Cursor::new(raw.as_bytes());
    let partitions = |c: &mut Cursor, v: &mut Vec<i32>| {
        c.seq(|c| {
            v.push(i32::try_from(c.int()?).ok()?);
            Some(())
        })
    };
    let pairs = |c: &mut Cursor, v: &mut Vec<(i32, i64)>| {
        c.seq(|c| {
            c.eat(b'[')?;
            let p = i32::try_from(c.int()?).ok()?;
            c.eat(b',')?;
            let o = i64::try_from(c.int()?).ok()?;
            c.eat(b']')?;
            v.push((p, o));
            Some(())
        })
    };
    c.fields(|c, k| {
        let bit = match k {
            b"partitions" => 1,
            b"seek" => 2,
            b"revoked" => 4,
            b"added" => 8,
            b"generation" => 16,
            b"member" => 32,
            b"committed" => 64,
            b"lost" => 128,
            b"at" => 256,
            _ => return None,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        match bit {
            1 => partitions(c, &mut a.partitions)?,
            2 => pairs(c, &mut a.seek)?,
            4 => partitions(c, &mut a.revoked)?,
            8 => partitions(c, &mut a.added)?,
            64 => pairs(c, &mut a.committed)?,
            128 => a.lost = c.bool()?,
            _ if c.peek()? == b'n' => c.lit(b"null")?,
            16 => a.generation = Some(i32::try_from(c.int()?).ok()?),
            32 => a.member = Some(std::str::from_utf8(c.string()?).ok()?.to_string()),
            _ => a.at = Some(u64::try_from(c.int()?).ok()?),
        }
        Some(())
    })?;
    c.end()?;
    (seen & 1 != 0).then_some(a)
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
    let mut c = Cursor::new(raw.as_bytes());
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
            b"f" if f.is_none() => f = Some(c.string()?),
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

    use proptest::prelude::*;
    use trial_histories::values::{Assignment, FinalRead};

    /// A text that is one of `good`'s fields changed: cut, a byte
    /// replaced, a field repeated or unknown, spaces, nulls.
    fn damaged(good: &str, how: u8, at: usize, byte: u8) -> String {
        let at = at % (good.len() + 1);
        match how % 6 {
            0 => good[..at].to_string(),
            1 => {
                let mut b = good.as_bytes().to_vec();
                if at < b.len() {
                    b[at] = byte;
                }
                String::from_utf8_lossy(&b).into_owned()
            }
            2 => good.replacen('{', "{\"x\":1,", 1),
            3 => good.replace(',', " , "),
            4 => good.replacen(":[", ":null,\"dup\":[", 1),
            _ => match good.find(',') {
                Some(c) => format!("{},{}", &good[..c], &good[1..]),
                None => good.to_string(),
            },
        }
    }

    fn assignment_strategy() -> impl Strategy<Value = Assignment> {
        let parts = || proptest::collection::vec(-2i32..9, 0..4);
        let pairs = || proptest::collection::vec((0i32..9, -1i64..100), 0..3);
        (
            (parts(), pairs(), parts(), parts()),
            (
                proptest::option::of(-1i32..5),
                proptest::option::of("[a-z\"\\\\-]{0,6}"),
                pairs(),
                any::<bool>(),
                proptest::option::of(any::<u64>()),
            ),
        )
            .prop_map(
                |(
                    (partitions, seek, revoked, added),
                    (generation, member, committed, lost, at),
                )| {
                    Assignment {
                        partitions,
                        seek,
                        revoked,
                        added,
                        generation,
                        member,
                        committed,
                        lost,
                        at,
                    }
                },
            )
    }

    proptest! {
        /// Written assignments decode to themselves; any damage gives
        /// serde's value or a refusal (serde then decides).
        #[test]
        fn assignment_is_serde_or_refused(a in assignment_strategy(), how in any::<u8>(),
                                          at in any::<usize>(), byte in any::<u8>()) {
            let good = serde_json::to_string(&a).unwrap();
            // (A member id with an escape is serde's.)
            if a.member.as_deref().is_none_or(|m| !m.contains(['"', '\\'])) {
                prop_assert_eq!(assignment(&good), Some(a));
            }
            let bad = damaged(&good, how, at, byte);
            if let Some(x) = assignment(&bad) {
                prop_assert_eq!(Some(x), serde_json::from_str::<Assignment>(&bad).ok(), "{}", bad);
            }
        }

        /// The same for final reads (records included).
        #[test]
        fn final_read_is_serde_or_refused(partition in -1i32..9, start in 0i64..9, hw in -1i64..1000,
                                          recs in proptest::collection::vec((0i32..9, 0i64..99, 0u64..9, 0u64..99), 0..5),
                                          how in any::<u8>(), at in any::<usize>(), byte in any::<u8>()) {
            let fr = FinalRead {
                partition,
                start_offset: start,
                high_watermark: hw,
                records: recs.into_iter().map(|(partition, offset, key, value)| Record { partition, offset, key, value }).collect(),
            };
            let decode = |t: &str| {
                let mut out = vec![];
                final_read(t, &mut out).map(|(partition, start_offset, high_watermark)| FinalRead {
                    partition, start_offset, high_watermark, records: out,
                })
            };
            let good = serde_json::to_string(&fr).unwrap();
            prop_assert_eq!(decode(&good), Some(fr));
            let bad = damaged(&good, how, at, byte);
            if let Some(x) = decode(&bad) {
                prop_assert_eq!(Some(x), serde_json::from_str::<FinalRead>(&bad).ok(), "{}", bad);
            }
            let mut out = vec![Record { partition: 0, offset: 0, key: 0, value: 0 }];
            if final_read(&bad, &mut out).is_none() {
                prop_assert_eq!(out.len(), 1, "left as it was");
            }
        }
    }

    proptest! {
        /// Sends and polls in the writer's shape (the exact fast paths)
        /// and damaged (the general path, or a refusal): what serde
        /// decodes, whenever the decoder accepts.
        #[test]
        fn sends_and_polls_are_serde_or_refused(
            key in any::<u64>(), value in any::<u64>(),
            pos in proptest::option::of((any::<i32>(), any::<i64>())),
            recs in proptest::collection::vec((any::<i32>(), any::<i64>(), any::<u64>(), any::<u64>()), 0..4),
            how in any::<u8>(), at in any::<usize>(), byte in any::<u8>(),
        ) {
            use trial_histories::values::{Poll, Send};
            let s = Send { key, value, partition: pos.map(|p| p.0), offset: pos.map(|p| p.1) };
            let good = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(send(&good), Some((value, s.partition, s.offset)));
            let bad = damaged(&good, how, at, byte);
            if let Some(x) = send(&bad) {
                let y = serde_json::from_str::<Send>(&bad);
                // (A repeated field: serde refuses, this decoder takes the
                // last, as it always did; both passes use this decoder.)
                if !bad.contains("\"dup\"") && bad.matches("\"key\"").count() < 2 {
                    prop_assert_eq!(Some(x), y.ok().map(|s| (s.value, s.partition, s.offset)), "{}", bad);
                }
            }
            let records: Vec<Record> = recs.into_iter()
                .map(|(partition, offset, key, value)| Record { partition, offset, key, value }).collect();
            let good = format!("{{\"records\":{}}}", serde_json::to_string(&records).unwrap());
            let mut out = vec![];
            prop_assert!(poll(&good, &mut out));
            prop_assert_eq!(&out, &records);
            let bad = damaged(&good, how, at, byte);
            let mut out = vec![];
            if poll(&bad, &mut out) {
                prop_assert_eq!(Some(out), serde_json::from_str::<Poll>(&bad).ok().map(|p| p.records), "{}", bad);
            } else {
                prop_assert!(out.is_empty());
            }
        }
    }
}
