//! A small EDN reader for the subset Jepsen histories use: maps, vectors,
//! lists, sets, keywords, symbols, integers, floats, strings, characters,
//! `nil`, booleans, comments, `#_` discards and tagged literals (the tag is
//! dropped, the value kept, so `#jepsen.history.Op{…}` reads as a map).
//!
//! Written here rather than taken from a crate: the subset is small, we
//! need line numbers in errors, and the EDN crates on crates.io are either
//! unmaintained or bring a large dependency tree for this one use.
//!
//! The one EDN reader of the project: the linearizability models read
//! their histories with [`parse_ops`], and [`crate::jepsen`] streams
//! Jepsen's Kafka histories (`history.edn`, one op map per line) through
//! [`OpMaps`], one op at a time, each with the line it starts on.

/// An EDN value.
#[derive(Debug, Clone, PartialEq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Char(char),
    Keyword(String),
    Symbol(String),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    Set(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// Look a keyword up in a map (`get(":f")` or `get("f")`).
    pub fn get(&self, key: &str) -> Option<&Edn> {
        let key = key.trim_start_matches(':');
        match self {
            Edn::Map(kv) => kv
                .iter()
                .find(|(k, _)| matches!(k, Edn::Keyword(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_keyword(&self) -> Option<&str> {
        match self {
            Edn::Keyword(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Edn::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// Elements of a vector or list.
    pub fn as_seq(&self) -> Option<&[Edn]> {
        match self {
            Edn::Vector(v) | Edn::List(v) => Some(v),
            _ => None,
        }
    }
}

/// A parse error with its 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct EdnError {
    pub line: u64,
    pub message: String,
}

/// Streaming parser over a string: yields top-level forms with the line
/// each one starts on.
pub struct Parser<'a> {
    src: &'a str,
    s: &'a [u8],
    pos: usize,
    line: u64,
    /// Forms open around the one being read (the reader recurses).
    depth: u32,
}

/// Deeper nesting than this is refused (an error naming the line), so a
/// hostile file cannot overflow the stack. Jepsen's ops nest ~6 deep.
pub const MAX_DEPTH: u32 = 256;

impl<'a> Parser<'a> {
    pub fn new(s: &'a str) -> Self {
        Parser {
            src: s,
            s: s.as_bytes(),
            pos: 0,
            line: 1,
            depth: 0,
        }
    }

    fn err<T>(&self, m: impl Into<String>) -> Result<T, EdnError> {
        Err(EdnError {
            line: self.line,
            message: m.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || c == b',' {
                self.bump();
            } else if c == b';' {
                while let Some(c) = self.bump() {
                    if c == b'\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    /// The next top-level form and its starting line, or None at the end.
    pub fn next_form(&mut self) -> Option<Result<(u64, Edn), EdnError>> {
        self.skip_ws();
        self.peek()?;
        let line = self.line;
        Some(self.value().map(|v| (line, v)))
    }

    /// The line the parser is on.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn seq(&mut self, close: u8) -> Result<Vec<Edn>, EdnError> {
        // Called just after the opening bracket: the line it is on.
        let start = self.line;
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    return Err(EdnError {
                        line: start,
                        message: format!(
                            "unclosed collection (expected '{}' before the end of the input)",
                            close as char
                        ),
                    })
                }
                Some(c) if c == close => {
                    self.bump();
                    return Ok(out);
                }
                Some(_) => {
                    if let Some(v) = self.value_or_discard()? {
                        out.push(v);
                    }
                }
            }
        }
    }

    /// A value, or None for a `#_` discarded form.
    fn value_or_discard(&mut self) -> Result<Option<Edn>, EdnError> {
        if self.peek() == Some(b'#') && self.s.get(self.pos + 1) == Some(&b'_') {
            self.bump();
            self.bump();
            self.skip_ws();
            self.value()?;
            return Ok(None);
        }
        self.value().map(Some)
    }

    fn value(&mut self) -> Result<Edn, EdnError> {
        if self.depth >= MAX_DEPTH {
            return self.err(format!("nested deeper than {MAX_DEPTH} forms"));
        }
        self.depth += 1;
        let v = self.value_inner();
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self) -> Result<Edn, EdnError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return self.err("unexpected end of input");
        };
        match c {
            b'[' => {
                self.bump();
                Ok(Edn::Vector(self.seq(b']')?))
            }
            b'(' => {
                self.bump();
                Ok(Edn::List(self.seq(b')')?))
            }
            b'{' => {
                let start = self.line;
                self.bump();
                let items = self.seq(b'}')?;
                if items.len() % 2 != 0 {
                    return Err(EdnError {
                        line: start,
                        message: "a map needs an even number of forms".into(),
                    });
                }
                let mut kv = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    kv.push((k, v));
                }
                Ok(Edn::Map(kv))
            }
            b'#' => {
                self.bump();
                match self.peek() {
                    Some(b'{') => {
                        self.bump();
                        Ok(Edn::Set(self.seq(b'}')?))
                    }
                    Some(b'_') => {
                        self.bump();
                        self.value()?;
                        self.value()
                    }
                    Some(c) if c.is_ascii_alphabetic() => {
                        // Tagged literal: drop the tag, keep the value.
                        self.token();
                        self.value()
                    }
                    _ => self.err("unsupported dispatch after '#'"),
                }
            }
            b'"' => self.string(),
            b'\\' => {
                self.bump();
                let t = self.token();
                let ch = match t {
                    "newline" => '\n',
                    "space" => ' ',
                    "tab" => '\t',
                    "return" => '\r',
                    s if s.chars().count() == 1 => s.chars().next().unwrap_or(' '),
                    s => return self.err(format!("unknown character \\{s}")),
                };
                Ok(Edn::Char(ch))
            }
            b')' | b']' | b'}' => self.err(format!("unexpected '{}'", c as char)),
            b':' => {
                self.bump();
                let t = self.token();
                if t.is_empty() {
                    return self.err("empty keyword");
                }
                Ok(Edn::Keyword(t.to_string()))
            }
            _ => {
                let t = self.token();
                if t.is_empty() {
                    return self.err(format!("unexpected character '{}'", c as char));
                }
                Ok(atom(t))
            }
        }
    }

    /// The next token, borrowed from the input (no allocation: numbers,
    /// the bulk of a history, are parsed straight from it). Tokens end at
    /// ASCII delimiters, so the slice is valid UTF-8.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace()
                || matches!(
                    c,
                    b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';'
                )
            {
                break;
            }
            self.pos += 1; // no newline inside a token
        }
        let src: &'a str = self.src;
        src.get(start..self.pos).unwrap_or("")
    }

    fn string(&mut self) -> Result<Edn, EdnError> {
        self.bump();
        let mut out = Vec::new();
        loop {
            match self.bump() {
                None => return self.err("unterminated string"),
                Some(b'"') => break,
                Some(b'\\') => match self.bump() {
                    Some(b'n') => out.push(b'\n'),
                    Some(b't') => out.push(b'\t'),
                    Some(b'r') => out.push(b'\r'),
                    Some(c) => out.push(c),
                    None => return self.err("unterminated string"),
                },
                Some(c) => out.push(c),
            }
        }
        Ok(Edn::Str(String::from_utf8_lossy(&out).into_owned()))
    }
}

fn atom(t: &str) -> Edn {
    match t {
        "nil" => return Edn::Nil,
        "true" => return Edn::Bool(true),
        "false" => return Edn::Bool(false),
        _ => {}
    }
    let num = t.strip_suffix('N').unwrap_or(t);
    if let Ok(i) = num.parse::<i64>() {
        return Edn::Int(i);
    }
    let fl = t.strip_suffix('M').unwrap_or(t);
    if fl
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+')
    {
        if let Ok(f) = fl.parse::<f64>() {
            return Edn::Float(f);
        }
    }
    Edn::Symbol(t.to_string())
}

/// Every op map of an EDN history: either one top-level vector/list of
/// maps, or maps one after another. Each with the line it starts on.
pub fn parse_ops(text: &str) -> Result<Vec<(u64, Edn)>, EdnError> {
    OpMaps::new(text).collect()
}

/// The op maps of an EDN history one at a time, each with the line it
/// starts on: maps one after another (Jepsen's `history.edn`, one per
/// line), or the maps inside top-level vectors or lists (a history written
/// as one `[...]`). Streaming: only one op's tree is alive at a time.
pub struct OpMaps<'a> {
    p: Parser<'a>,
    /// Inside a top-level collection: its closing byte and opening line.
    inside: Option<(u8, u64)>,
}

impl<'a> OpMaps<'a> {
    pub fn new(text: &'a str) -> Self {
        OpMaps {
            p: Parser::new(text),
            inside: None,
        }
    }

    fn not_a_map<T>(line: u64, v: &Edn) -> Result<T, EdnError> {
        let mut shown = format!("{v:?}");
        if shown.len() > 80 {
            let mut cut = 77;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push_str("...");
        }
        Err(EdnError {
            line,
            message: format!("expected an op map or a vector of them, got {shown}"),
        })
    }
}

impl Iterator for OpMaps<'_> {
    type Item = Result<(u64, Edn), EdnError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.p.skip_ws();
            match (self.inside, self.p.peek()) {
                (Some((_, line)), None) => {
                    self.inside = None;
                    return Some(Err(EdnError {
                        line,
                        message: "unclosed top-level collection".into(),
                    }));
                }
                (Some((close, _)), Some(c)) if c == close => {
                    self.p.bump();
                    self.inside = None;
                }
                (None, None) => return None,
                (None, Some(c @ (b'[' | b'('))) => {
                    let close = if c == b'[' { b']' } else { b')' };
                    self.inside = Some((close, self.p.line()));
                    self.p.bump();
                }
                (_, Some(_)) => {
                    let line = self.p.line();
                    return match self.p.value_or_discard() {
                        Err(e) => {
                            // Stop after an error: the rest cannot be trusted.
                            self.p.pos = self.p.s.len();
                            self.inside = None;
                            Some(Err(e))
                        }
                        Ok(None) => continue,
                        Ok(Some(m @ Edn::Map(_))) => Some(Ok((line, m))),
                        Ok(Some(other)) => {
                            self.p.pos = self.p.s.len();
                            self.inside = None;
                            Some(Self::not_a_map(line, &other))
                        }
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jepsen_ops() {
        let ops = parse_ops(
            "[{:process 0, :type :invoke, :f :cas, :value [1 2]}\n \
             {:process 0, :type :ok, :f :read, :value nil, :time 12}]\n\
             ; a comment\n{:process :nemesis :type :info :f :start :value \"x y\"}\n\
             #jepsen.history.Op{:index 3 :type :invoke :f :write :value -4 #_ :ignored}",
        )
        .unwrap();
        assert_eq!(ops.len(), 4);
        let o = &ops[0].1;
        assert_eq!(o.get(":f").unwrap().as_keyword(), Some("cas"));
        assert_eq!(
            o.get("value").unwrap(),
            &Edn::Vector(vec![Edn::Int(1), Edn::Int(2)])
        );
        assert_eq!(ops[1].1.get("value"), Some(&Edn::Nil));
        assert_eq!(ops[2].0, 4);
        assert_eq!(ops[3].1.get("value"), Some(&Edn::Int(-4)));
    }

    #[test]
    fn op_maps_stream_with_their_own_lines() {
        let text = "; a comment\n[{:a 1}\n {:a 2}\n #_{:a 9}\n {:a 3}]\n{:a 4}\n";
        let got: Vec<(u64, i64)> = OpMaps::new(text)
            .map(|r| {
                let (l, m) = r.unwrap();
                (l, m.get("a").and_then(Edn::as_int).unwrap())
            })
            .collect();
        assert_eq!(got, vec![(2, 1), (3, 2), (5, 3), (6, 4)]);
        let e = parse_ops("{:a 1}\n[{:a 2}\n 7]\n").unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        let e = parse_ops("[{:a 1}\n").unwrap_err();
        assert!(e.message.contains("unclosed"), "{e:?}");
    }

    #[test]
    fn errors_name_the_line() {
        // An unclosed form is named by the line it opens on.
        let e = parse_ops("{:a 1}\n{:b 2\n").unwrap_err();
        assert!(e.message.contains("unclosed"), "{e:?}");
        assert_eq!(e.line, 2);
        let e = parse_ops("{:a 1}\n{:b\n}\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
