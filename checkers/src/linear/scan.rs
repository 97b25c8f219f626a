//! Streaming a kafka-trial history into the log model's calls without
//! building an [`trial_histories::Op`] per line: a hand-rolled scanner for
//! the shape the writer produces (`{"index":…,"time":…,"process":…,
//! "type":…,"f":…,"value":…}`), falling back to serde for any line it does
//! not recognise (another field order is fine; an escape, an unknown field
//! or a malformed line goes to serde, which also words the error).

use super::log::{LogCalls, LogCallsBuilder, ProcessRef};
use crate::CheckError;
use std::io::{BufRead, BufReader};
use std::path::Path;
use trial_histories::{Op, OpType, Process, ReadError, F};

struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    #[inline]
    fn ws(&mut self) {
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
    /// A non-negative or negative integer (no fraction, no exponent).
    #[inline]
    fn int(&mut self) -> Option<i64> {
        self.ws();
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut v: i64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.checked_mul(10)?.checked_add(d as i64)?;
            self.i += 1;
        }
        if self.i == start
            || (self.b[start] == b'0' && self.i - start > 1)
            || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        Some(if neg { -v } else { v })
    }
    fn uint(&mut self) -> Option<u64> {
        u64::try_from(self.int()?).ok()
    }
    /// A string without escapes.
    #[inline]
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let n = self.b[start..].iter().position(|&c| c == b'"' || c == b'\\')?;
        if self.b[start + n] != b'"' {
            return None;
        }
        self.i = start + n + 1;
        std::str::from_utf8(&self.b[start..start + n]).ok()
    }
    /// Skip one JSON value (strings without escapes); its text.
    fn raw(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        let mut depth = 0usize;
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'"' => {
                    self.str()?;
                    if depth == 0 {
                        break;
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        break;
                    }
                }
                b',' if depth == 0 => break,
                _ => {}
            }
            self.i += 1;
        }
        if depth != 0 || self.i == start {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i]).ok()
    }
}

/// A send value `{"key":k,"value":v[,"partition":p,"offset":o]}` (any
/// order): (key, value, partition, offset); None for anything else.
pub(crate) fn send(raw: &str) -> Option<(u64, u64, Option<i32>, Option<i64>)> {
    let mut c = Cur {
        b: raw.as_bytes(),
        i: 0,
    };
    let (mut key, mut value, mut partition, mut offset) = (None, None, None, None);
    c.eat(b'{')?;
    loop {
        let k = c.str()?;
        c.eat(b':')?;
        match k {
            "key" => key = Some(c.uint()?),
            "value" => value = Some(c.uint()?),
            "partition" => partition = Some(i32::try_from(c.int()?).ok()?),
            "offset" => offset = Some(c.int()?),
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
    f: &'a str,
    value: &'a str,
}

fn line(b: &[u8]) -> Option<Line<'_>> {
    let mut c = Cur { b, i: 0 };
    c.eat(b'{')?;
    let (mut index, mut process, mut kind, mut f, mut value) = (None, None, None, None, "null");
    let mut time = false;
    loop {
        let k = c.str()?;
        c.eat(b':')?;
        match k {
            "index" => index = Some(c.uint()?),
            "time" => {
                c.uint()?;
                time = true;
            }
            "process" => {
                process = Some(if c.peek()? == b'"' {
                    ProcessRef::Named(c.str()?)
                } else {
                    ProcessRef::Worker(c.uint()?)
                })
            }
            "type" => {
                kind = Some(match c.str()? {
                    "invoke" => OpType::Invoke,
                    "ok" => OpType::Ok,
                    "fail" => OpType::Fail,
                    "info" => OpType::Info,
                    _ => return None,
                })
            }
            "f" => f = Some(c.str()?),
            "value" => value = c.raw()?,
            "error" => {
                if c.peek()? == b'n' {
                    c.raw()?;
                } else {
                    c.str()?;
                }
            }
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
    (c.i == b.len() && time).then_some(())?;
    Some(Line {
        index: index?,
        process: process?,
        kind: kind?,
        f: f?,
        value,
    })
}

/// Stream a history file into the log model's calls. A malformed line is
/// an error naming it; a truncated last line is skipped (as the reader
/// does, with a warning there).
pub fn log_calls_file(path: &Path) -> Result<LogCalls, CheckError> {
    let io = |source| {
        CheckError::Read(ReadError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut b = LogCallsBuilder::new();
    let mut buf = Vec::with_capacity(512);
    let mut line_no = 0u64;
    let (send, poll, final_read) = (F::Send, F::Poll, F::FinalRead);
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
        if let Some(l) = line(text) {
            let f = match l.f {
                "send" => &send,
                "poll" => &poll,
                "final-read" => &final_read,
                other => &F::parse(other),
            };
            b.push(l.index, l.process, l.kind, f, l.value);
            continue;
        }
        match serde_json::from_slice::<Op>(text) {
            Ok(op) => {
                let p = match &op.process {
                    Process::Worker(n) => ProcessRef::Worker(*n),
                    Process::Nemesis => ProcessRef::Named("nemesis"),
                    Process::Named(s) => ProcessRef::Named(s),
                };
                b.push(op.index, p, op.kind, &op.f, op.value.get());
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
        let l = line(br#"{"index":3,"time":9,"process":2,"type":"ok","f":"send","value":{"key":1,"value":7,"partition":0,"offset":3}}"#).unwrap();
        assert_eq!((l.index, l.kind, l.f), (3, OpType::Ok, "send"));
        assert_eq!(send(l.value), Some((1, 7, Some(0), Some(3))));
        let l = line(br#"{"index":4,"time":9,"process":"nemesis","type":"info","f":"start-kill","value":{"a":[1,{"b":"x"}]},"error":"boom"}"#).unwrap();
        assert_eq!(l.value, r#"{"a":[1,{"b":"x"}]}"#);
        assert!(matches!(l.process, ProcessRef::Named("nemesis")));
        let l = line(br#"{"index":5,"time":1,"process":1,"type":"invoke","f":"poll","value":null}"#).unwrap();
        assert_eq!(l.value, "null");
        // Escapes and unknown fields go to serde.
        assert!(line(br#"{"index":5,"time":1,"process":"a\"b","type":"invoke","f":"poll"}"#).is_none());
        assert!(line(br#"{"index":5,"time":1,"extra":1,"process":1,"type":"invoke","f":"poll"}"#).is_none());
        assert_eq!(send(r#"{"key":1,"value":2.5}"#), None);
        assert_eq!(send(r#"{"value":2,"key":1}"#), Some((1, 2, None, None)));
    }
}
