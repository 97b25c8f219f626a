//! Streaming a kafka-trial history into the log model's calls without
//! building an [`trial_histories::Op`] per line: a hand-rolled scanner for
//! the shape the writer produces (`{"index":…,"time":…,"process":…,
//! "type":…,"f":…,"value":…}`), falling back to serde for any line it does
//! not recognise (another field order is fine; an escape, an unknown field
//! or a malformed line goes to serde, which also words the error).

use super::log::{LogCalls, LogCallsBuilder, ProcessRef, Scratch, Value};
use crate::{CheckError, Isolation};
use std::io::{BufRead, BufReader};
use std::path::Path;
use trial_histories::cursor::Cursor;
use trial_histories::{Op, OpType, Process, ReadError, F};

/// A JSON unsigned integer (whitespace first) as [`Cursor::int`] reads it.
#[inline]
fn uint(c: &mut Cursor) -> Option<u64> {
    u64::try_from(c.int()?).ok()
}

/// A send value `{"key":k,"value":v[,"partition":p,"offset":o]}` (any
/// order): (key, value, partition, offset); None for anything else.
pub(crate) fn send(raw: &[u8]) -> Option<(u64, u64, Option<i32>, Option<i64>)> {
    let mut c = Cursor::new(raw);
    let (mut key, mut value, mut partition, mut offset) = (None, None, None, None);
    c.eat(b'{')?;
    loop {
        let k = c.key()?;
        match k {
            b"key" => key = Some(uint(&mut c)?),
            b"value" => value = Some(uint(&mut c)?),
            b"partition" => partition = Some(i32::try_from(c.int()?).ok()?),
            b"offset" => offset = Some(i64::try_from(c.int()?).ok()?),
            _ => return None,
        }
        match c.peek()? {
            b',' => c.i += 1,
            b'}' => break,
            _ => return None,
        }
    }
    c.eat(b'}')?;
    c.ws();
    (c.i == c.b.len()).then_some((key?, value?, partition, offset))
}

/// One line's fields, borrowed.
struct Line<'a> {
    index: u64,
    process: ProcessRef<'a>,
    kind: OpType,
    f: F,
    /// The value's text; with `tentative`, everything up to the line's
    /// closing brace (right when `value` is the last field: a decoder that
    /// fails on it sends the line through `strict`).
    value: &'a [u8],
    tentative: bool,
}

fn f_of(b: &[u8]) -> Option<F> {
    Some(match b {
        b"send" => F::Send,
        b"poll" => F::Poll,
        b"final-read" => F::FinalRead,
        other => F::parse(std::str::from_utf8(other).ok()?),
    })
}

/// The fields of a line in the writer's shape. Once `type` and `f` are
/// known, a value the model does not read is not scanned (nor what
/// follows it: the pairing pass of the check validates every line); one it
/// reads is taken tentatively as the rest of the line unless `strict`.
fn line(b: &[u8], strict: bool) -> Option<Line<'_>> {
    let mut c = Cursor::new(b);
    c.eat(b'{')?;
    let (mut index, mut process, mut kind, mut f) = (None, None, None, None);
    let mut value: &[u8] = b"null";
    let mut tentative = false;
    loop {
        let k = c.key()?;
        match k {
            b"index" => index = Some(uint(&mut c)?),
            b"time" => {
                uint(&mut c)?;
            }
            b"process" => {
                process = Some(if c.peek()? == b'"' {
                    ProcessRef::Named(std::str::from_utf8(c.string()?).ok()?)
                } else {
                    ProcessRef::Worker(uint(&mut c)?)
                })
            }
            b"type" => {
                kind = Some(match c.string()? {
                    b"invoke" => OpType::Invoke,
                    b"ok" => OpType::Ok,
                    b"fail" => OpType::Fail,
                    b"info" => OpType::Info,
                    _ => return None,
                })
            }
            b"f" => f = Some(f_of(c.string()?)?),
            b"value" => match (kind, &f) {
                (Some(k), Some(fv)) if !strict && !Value::needed(k, fv) => break,
                (Some(_), Some(_)) if !strict => {
                    c.ws();
                    let end = b.iter().rposition(|&x| x == b'}')?;
                    value = b.get(c.i..end)?.trim_ascii();
                    tentative = true;
                    break;
                }
                _ => value = c.raw()?,
            },
            b"error" => {
                if c.peek()? == b'n' {
                    c.raw()?;
                } else {
                    c.string()?;
                }
            }
            _ => return None,
        }
        match c.peek()? {
            b',' => c.i += 1,
            b'}' => {
                c.i += 1;
                c.ws();
                if c.i != b.len() {
                    return None;
                }
                break;
            }
            _ => return None,
        }
    }
    Some(Line {
        index: index?,
        process: process?,
        kind: kind?,
        f: f?,
        value,
        tentative,
    })
}

/// Stream a history file into the log model's calls. A malformed line is
/// an error naming it; a truncated last line is skipped (as the reader
/// does, with a warning there).
/// `isolation`: the consumers' polls' (final reads are read_committed).
pub fn log_calls_file(path: &Path, isolation: Isolation) -> Result<LogCalls, CheckError> {
    let io = |source| {
        CheckError::Read(ReadError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut b = LogCallsBuilder::with_isolation(isolation);
    let mut buf = Vec::with_capacity(512);
    let mut recs = Scratch::default();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.ends_with(b"\n");
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        if let Some(l) = line(text, false) {
            match Value::decode(l.kind, &l.f, l.value, &mut recs) {
                Some(v) => {
                    b.push(l.index, l.process, l.kind, &l.f, v);
                    continue;
                }
                // The value was not the last field: scan the line strictly.
                None if l.tentative => {}
                None => {
                    b.push(l.index, l.process, l.kind, &l.f, Value::Other);
                    continue;
                }
            }
        }
        if let Some(l) = line(text, true) {
            let v = Value::decode(l.kind, &l.f, l.value, &mut recs).unwrap_or(Value::Other);
            b.push(l.index, l.process, l.kind, &l.f, v);
            continue;
        }
        match serde_json::from_slice::<Op>(text) {
            Ok(op) => {
                let p = match &op.process {
                    Process::Worker(n) => ProcessRef::Worker(*n),
                    Process::Nemesis => ProcessRef::Named("nemesis"),
                    Process::Named(s) => ProcessRef::Named(s),
                };
                let val = Value::decode(op.kind, &op.f, op.value.get().as_bytes(), &mut recs)
                    .unwrap_or(Value::Other);
                b.push(op.index, p, op.kind, &op.f, val);
            }
            Err(_) if !complete => break,
            Err(source) => {
                return Err(CheckError::Read(ReadError::Malformed {
                    path: path.to_path_buf(),
                    line: line_no,
                    source,
                }))
            }
        }
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_sends_scan_or_fall_back() {
        let l = line(br#"{"index":3,"time":9,"process":2,"type":"ok","f":"send","value":{"key":1,"value":7,"partition":0,"offset":3}}"#, false).unwrap();
        assert_eq!(
            (l.index, l.kind, &l.f, l.tentative),
            (3, OpType::Ok, &F::Send, true)
        );
        assert_eq!(send(l.value), Some((1, 7, Some(0), Some(3))));
        // A value followed by another field: tentatively too much, strictly right.
        let text = br#"{"index":3,"time":9,"process":2,"type":"ok","f":"send","value":{"key":1,"value":7},"error":"x"}"#;
        assert_eq!(send(line(text, false).unwrap().value), None);
        assert_eq!(
            send(line(text, true).unwrap().value),
            Some((1, 7, None, None))
        );
        let text = br#"{"index":4,"time":9,"process":"nemesis","type":"info","f":"start-kill","value":{"a":[1,{"b":"x"}]},"error":"boom"}"#;
        let l = line(text, true).unwrap();
        assert_eq!(l.value, br#"{"a":[1,{"b":"x"}]}"#);
        assert!(matches!(l.process, ProcessRef::Named("nemesis")));
        assert_eq!(
            line(text, false).unwrap().value,
            b"null",
            "not read: not scanned"
        );
        let l = line(
            br#"{"index":5,"time":1,"process":1,"type":"invoke","f":"poll","value":null}"#,
            true,
        )
        .unwrap();
        assert_eq!(l.value, b"null");
        // Escapes and unknown fields go to serde.
        assert!(line(
            br#"{"index":5,"time":1,"process":"a\"b","type":"invoke","f":"poll"}"#,
            true
        )
        .is_none());
        assert!(line(
            br#"{"index":5,"time":1,"extra":1,"process":1,"type":"invoke","f":"poll"}"#,
            true
        )
        .is_none());
        assert_eq!(send(br#"{"key":1,"value":2.5}"#), None);
        assert_eq!(send(br#"{"value":2,"key":1}"#), Some((1, 2, None, None)));
    }
}
