//! A fast path for parsing one op line, and a parser of whole chunks of
//! lines (for readers that parse in parallel).
//!
//! Why: serde's derived parser for [`Op`] was about half the CPU time of a
//! queue check (field-name matching, a visitor per field, the raw value
//! skipped and then re-read). The writer ([`crate::HistoryWriter`]) emits
//! every op in one shape — `{"index":N,"time":N,"process":N|"name",
//! "type":"…","f":"…","value":…[,"error":"…"]}` with no whitespace — and
//! [`parse_op`] scans exactly that shape by hand. Anything else (other key
//! orders, whitespace, escapes in strings, unknown keys, numbers beyond
//! u64) falls back to serde, which also produces the error message, so the
//! result — the op or the error — is the same as `serde_json::from_str`.
//! The value is validated by the scanner itself (a strict subset of JSON:
//! no whitespace, no escapes; anything else is serde's).

use crate::cursor::Cursor;
use crate::op::{Op, OpType, Process, F};
use crate::reader::{ReadError, ReadWarning};
use serde_json::value::RawValue;
use std::path::Path;

/// Parse one op line (already trimmed): the hand scanner, else serde.
pub fn parse_op(line: &str) -> Result<Op, serde_json::Error> {
    match scan(line.as_bytes(), line, &mut NoDecoder) {
        Some((op, _)) => Ok(op),
        None => serde_json::from_str(line),
    }
}

/// Parse one line's bytes as today's reader does: UTF-8 once, then
/// [`parse_op`]; bytes that are not UTF-8 go to serde (for its error).
pub fn parse_op_bytes(text: &[u8]) -> Result<Op, serde_json::Error> {
    match std::str::from_utf8(text) {
        Ok(t) => parse_op(t),
        Err(_) => serde_json::from_slice::<Op>(text),
    }
}

/// `text` as a raw JSON value without parsing it again.
///
/// Only for text that [`Cursor::value`] accepted (JSON, no surrounding
/// whitespace): exactly what serde's own parse of the line would have kept.
fn raw_value(text: &str) -> Box<RawValue> {
    debug_assert!(serde_json::from_str::<&RawValue>(text).is_ok_and(|r| r.get() == text));
    let boxed: Box<str> = text.into();
    // SAFETY: `RawValue` is `#[repr(transparent)]` over `str` (serde_json's
    // raw.rs: `pub struct RawValue { json: str }`, which serde_json itself
    // transmutes from `Box<str>` in `RawValue::from_owned`); its only
    // invariant, valid JSON, holds for the text `Cursor::value` accepted (the
    // proptests below compare with serde). Why not `RawValue::from_string`:
    // it parses the value again, a tenth of a check's CPU time.
    unsafe { std::mem::transmute::<Box<str>, Box<RawValue>>(boxed) }
}

/// A [`Cursor::str`] of `text` (the cursor's bytes) as text: its quotes
/// are ASCII, so its contents are whole UTF-8.
#[inline]
fn str_at<'t>(c: &mut Cursor<'t>, text: &'t str) -> Option<&'t str> {
    let n = c.str()?.len();
    text.get(c.i - 1 - n..c.i - 1)
}

/// Decodes what a reader needs of each op's value while the chunk parser
/// scans it ([`parse_chunk_with`]). Why: the queue checker's decoders of
/// sends and polls validate exactly what they read, so a value they take
/// needs no second pass of [`Cursor::value`] (validation and decoding were
/// a quarter of a queue check's instructions, each reading every byte).
pub trait ValueDecoder {
    /// What is kept per op.
    type Out;
    /// At an op's value in the writer's line shape (the cursor at its
    /// first byte): decode it and leave the cursor just past it, having
    /// accepted only JSON; `None` (the cursor is put back) to let the
    /// scanner validate the value and [`ValueDecoder::op`] decide.
    fn at(&mut self, kind: OpType, f: &F, c: &mut Cursor) -> Option<Self::Out>;
    /// The op, parsed otherwise (serde's path, or a value `at` refused).
    /// Must give what `at` gives on the same value when `at` accepts it.
    fn op(&mut self, op: &Op) -> Self::Out;
}

/// Decodes nothing.
pub struct NoDecoder;

impl ValueDecoder for NoDecoder {
    type Out = ();
    #[inline]
    fn at(&mut self, _: OpType, _: &F, _: &mut Cursor) -> Option<()> {
        None
    }
    #[inline]
    fn op(&mut self, _: &Op) {}
}

fn scan<D: ValueDecoder>(b: &[u8], text: &str, d: &mut D) -> Option<(Op, Option<D::Out>)> {
    let mut c = Cursor::new(b);
    c.lit(b"{\"index\":")?;
    let index = c.u64()?;
    c.lit(b",\"time\":")?;
    let time = c.u64()?;
    c.lit(b",\"process\":")?;
    let process = if c.b.get(c.i) == Some(&b'"') {
        match str_at(&mut c, text)? {
            "nemesis" => Process::Nemesis,
            other => Process::Named(other.to_string()),
        }
    } else {
        Process::Worker(c.u64()?)
    };
    c.lit(b",\"type\":")?;
    let kind = match c.str()? {
        b"invoke" => OpType::Invoke,
        b"ok" => OpType::Ok,
        b"fail" => OpType::Fail,
        b"info" => OpType::Info,
        _ => return None,
    };
    c.lit(b",\"f\":")?;
    let f = F::parse(str_at(&mut c, text)?);
    c.lit(b",\"value\":")?;
    let vs = c.i;
    let decoded = d.at(kind, &f, &mut c);
    if decoded.is_none() {
        c.i = vs;
        c.value(0)?;
    }
    let value = raw_value(&text[vs..c.i]);
    let error = if c.lit(b",\"error\":").is_some() {
        if c.lit(b"null").is_some() {
            None
        } else {
            Some(str_at(&mut c, text)?.to_string())
        }
    } else {
        None
    };
    c.lit(b"}")?;
    (c.i == b.len()).then_some((
        Op {
            index,
            time,
            process,
            kind,
            f,
            value,
            error,
        },
        decoded,
    ))
}

/// What parsing a chunk of whole lines produced.
#[derive(Debug, Default)]
pub struct ChunkOps {
    /// Each op with its 1-based line number relative to the chunk (the
    /// chunk's first line is 1).
    pub ops: Vec<(Op, u64)>,
    /// Lines in the chunk (blank ones included).
    pub lines: u64,
    /// The first malformed line, as (relative line, serde's error): the
    /// ops before it are in `ops`; nothing after it was parsed.
    pub error: Option<(u64, serde_json::Error)>,
    /// The chunk ended the file with a line without a newline that did not
    /// parse: (relative line, its bytes) — the reader's truncated-last-line
    /// warning; nothing after it.
    pub truncated: Option<(u64, usize)>,
}

impl ChunkOps {
    /// Take the error of `error`, with the file's path and the absolute
    /// line (`base`: the lines before this chunk).
    pub fn take_error(&mut self, path: &Path, base: u64) -> Option<ReadError> {
        self.error
            .take()
            .map(|(line, source)| ReadError::Malformed {
                path: path.to_path_buf(),
                line: base + line,
                source,
            })
    }

    /// The warning of `truncated`, at its absolute line.
    pub fn warning(&self, base: u64) -> Option<ReadWarning> {
        self.truncated
            .map(|(line, bytes)| ReadWarning::TruncatedLastLine {
                line: base + line,
                bytes,
            })
    }
}

/// Parse a chunk of lines as [`crate::HistoryReader`] does, one by one:
/// blank lines skipped (but counted); the first malformed line stops it;
/// at the end of the file (`at_eof`), a last line without a newline that
/// does not parse is a truncated write, not an error. `chunk` holds whole
/// lines (each but perhaps the file's last ends with `\n`).
pub fn parse_chunk(chunk: &[u8], at_eof: bool, out: &mut ChunkOps) {
    parse_chunk_with(chunk, at_eof, out, &mut NoDecoder, &mut Vec::new());
}

/// [`parse_chunk`], with `d` decoding each op's value as it is scanned:
/// `decoded` gets one entry per op of `out.ops`, in order.
pub fn parse_chunk_with<D: ValueDecoder>(
    chunk: &[u8],
    at_eof: bool,
    out: &mut ChunkOps,
    d: &mut D,
    decoded: &mut Vec<D::Out>,
) {
    decoded.clear();
    out.ops.clear();
    out.lines = 0;
    out.error = None;
    out.truncated = None;
    let mut rest = chunk;
    while !rest.is_empty() {
        let (line, complete, n) = match memchr::memchr(b'\n', rest) {
            Some(p) => (&rest[..=p], true, p + 1),
            None => (rest, false, rest.len()),
        };
        rest = &rest[n..];
        out.lines += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let fast = std::str::from_utf8(text)
            .ok()
            .and_then(|t| scan(text, t, d));
        if let Some((op, x)) = fast {
            decoded.push(match x {
                Some(x) => x,
                None => d.op(&op),
            });
            out.ops.push((op, out.lines));
            continue;
        }
        // (The scanner refused it: serde's parse, or its error.)
        let slow = match std::str::from_utf8(text) {
            Ok(t) => serde_json::from_str::<Op>(t),
            Err(_) => serde_json::from_slice::<Op>(text),
        };
        match slow {
            Ok(op) => {
                decoded.push(d.op(&op));
                out.ops.push((op, out.lines));
            }
            Err(_) if !complete && at_eof => {
                out.truncated = Some((out.lines, n));
                return;
            }
            Err(e) => {
                out.error = Some((out.lines, e));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same(line: &str) {
        let fast = parse_op(line);
        let slow = serde_json::from_str::<Op>(line);
        match (&fast, &slow) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{line}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{line}"),
            _ => panic!("{line}: fast {fast:?} slow {slow:?}"),
        }
    }

    #[test]
    fn the_written_shapes_and_their_neighbours() {
        for l in [
            r#"{"index":0,"time":0,"process":2,"type":"invoke","f":"send","value":{"key":1,"value":1}}"#,
            r#"{"index":4,"time":4516035,"process":0,"type":"ok","f":"send","value":{"key":3,"value":3,"partition":3,"offset":0}}"#,
            r#"{"index":17,"time":2,"process":1,"type":"ok","f":"poll","value":{"records":[[5,0,5,5],[0,0,8,8]]}}"#,
            r#"{"index":23,"time":3,"process":"nemesis","type":"invoke","f":"start-kill","value":"kill"}"#,
            r#"{"index":24,"time":3,"process":"nemesis","type":"info","f":"start-kill","value":"kill","error":"timed out"}"#,
            r#"{"index":24,"time":3,"process":"final","type":"info","f":"x","value":null,"error":null}"#,
            r#"{"index":1,"time":3,"process":"observer","type":"ok","f":"observe","value":[1,{"a":"b]"},true,-2.5e3]}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":{"records":[[1,2,3,4]}}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":{"a":"\"x"}}"#,
            r#"{"index":01,"time":3,"process":1,"type":"ok","f":"poll","value":1}"#,
            r#"{"index":1,"time":3,"process":-1,"type":"ok","f":"poll","value":1}"#,
            r#"{"index":1,"time":3,"process":1,"type":"okay","f":"poll","value":1}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":1} "#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":1}x"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":1,"index":2}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll"}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":tru}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":[1,]}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":[[1,-2,0],[],[-0,3]]}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":[01]}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":[1,2.5,-]}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":[-]}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":[1 ]}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":[1,2"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":"é"}"#,
            r#"{"index":99999999999999999999,"time":3,"process":1,"type":"ok","f":"p","value":1}"#,
            r#"{"time":3,"index":1,"process":1,"type":"ok","f":"poll","value":1}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":1,"error":"a\nb"}"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":{"records":[[1,2,3,4]]"#,
            r#"{"index":1,"time":3,"process":1,"type":"ok","f":"poll","value":]}"#,
            r#"{"index":1,"time":3"#,
            "",
            "{}",
        ] {
            same(l);
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| serde_json::json!(x)),
            "[a-z\"\\\\ é]{0,6}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Written ops parse to themselves; any cut or one-byte change of a
        /// line gives what serde gives (the op, or the same error).
        #[test]
        fn fast_path_equals_serde(
            index in any::<u64>(), time in any::<u64>(),
            process in prop_oneof![any::<u64>().prop_map(Process::Worker),
                Just(Process::Nemesis), "[a-z\"]{0,5}".prop_map(Process::Named)],
            kind in prop_oneof![Just(OpType::Invoke), Just(OpType::Ok), Just(OpType::Fail), Just(OpType::Info)],
            f in "[a-z-]{1,8}",
            value in json_value(),
            error in proptest::option::of("[a-z \"]{0,6}"),
            cut in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut op = Op::new(process, kind, f.as_str()).with_value(&value);
            op.index = index;
            op.time = time;
            op.error = error;
            let line = serde_json::to_string(&op).unwrap();
            prop_assert_eq!(parse_op(&line).unwrap(), op);
            same(&line);
            let at = cut.index(line.len() + 1);
            if line.is_char_boundary(at) {
                same(&line[..at]);
                let mut changed = line.clone().into_bytes();
                if at < changed.len() && byte.is_ascii() {
                    changed[at] = byte;
                    if let Ok(s) = String::from_utf8(changed) {
                        same(&s);
                    }
                }
            }
        }
    }
}
