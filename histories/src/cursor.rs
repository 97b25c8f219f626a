//! The one byte cursor over JSON text that every hand scanner of a history
//! uses: the op line ([`crate::scan`]), the queue checker's value decoders
//! (sends, polls, transactions, assignments) and the log model's line
//! scanner.
//!
//! Why one: three scanners were written in parallel with three copies of
//! the same integer, string and literal rules, and a fix to one (a leading
//! zero, a control character in a string, an integer past u64) had to be
//! made three times. The rules here are strict subsets of JSON — anything a
//! method accepts, serde accepts with the same meaning — so a caller that
//! gets `None` hands the text to serde, which decides (and words the
//! error).
//!
//! Two families of methods:
//! - exact ones ([`Cursor::lit`], [`Cursor::byte`], [`Cursor::u64`],
//!   [`Cursor::int_at`], [`Cursor::str`],
//!   [`Cursor::value`], [`Cursor::int_array`]) read at the cursor with no
//!   whitespace: the writer's shape, the hot path;
//! - tolerant ones ([`Cursor::eat`], [`Cursor::peek`], [`Cursor::int`],
//!   [`Cursor::string`], [`Cursor::raw`], [`Cursor::key`], [`Cursor::seq`], [`Cursor::fields`], [`Cursor::end`])
//!   skip JSON whitespace first: value decoders, which also see values that
//!   serde parsed from lines written by other tools.

/// A position in JSON text. `b` is the text, `i` the next byte.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Cursor<'a> {
    /// At the start of `b`.
    #[inline]
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { b, i: 0 }
    }

    /// The byte at the cursor (no whitespace skipped).
    #[inline]
    pub fn at(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skip JSON whitespace.
    #[inline]
    pub fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// Exactly `s` at the cursor.
    #[inline]
    pub fn lit(&mut self, s: &[u8]) -> Option<()> {
        if self.b[self.i..].starts_with(s) {
            self.i += s.len();
            Some(())
        } else {
            None
        }
    }

    /// Whitespace, then the byte `c`.
    #[inline]
    pub fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// Whitespace, then the next byte (not consumed).
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// A JSON unsigned integer that fits a u64, at the cursor (no sign, no
    /// leading zero, no fraction or exponent after it).
    #[inline]
    pub fn u64(&mut self) -> Option<u64> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.checked_mul(10)?.checked_add(d as u64)?;
            self.i += 1;
        }
        if self.i == start || (self.b[start] == b'0' && self.i - start > 1) {
            return None;
        }
        match self.b.get(self.i) {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(v),
        }
    }

    /// Exactly the byte `c` at the cursor.
    #[inline]
    pub fn byte(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// Whitespace, then a JSON integer whose magnitude fits a u64 (as
    /// i128: the caller narrows it to its field's type; anything larger,
    /// or a fraction or exponent, is serde's to decide).
    #[inline]
    pub fn int(&mut self) -> Option<i128> {
        self.ws();
        self.int_at()
    }

    /// [`Cursor::int`] without whitespace first.
    #[inline]
    pub fn int_at(&mut self) -> Option<i128> {
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let v = self.u64()? as i128;
        Some(if neg { -v } else { v })
    }

    /// Whitespace, then `true` or `false`.
    #[inline]
    pub fn bool(&mut self) -> Option<bool> {
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

    /// A string at the cursor without escapes or control characters: its
    /// contents (`None` on anything else).
    #[inline]
    pub fn str(&mut self) -> Option<&'a [u8]> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        while let Some(&c) = self.b.get(j) {
            if c == b'"' {
                self.i = j + 1;
                return Some(&self.b[start..j]);
            }
            if c == b'\\' || c < 0x20 {
                return None;
            }
            j += 1;
        }
        None
    }

    /// Whitespace, then a [`Cursor::str`].
    #[inline]
    pub fn string(&mut self) -> Option<&'a [u8]> {
        self.ws();
        self.str()
    }

    /// Whitespace, then a JSON value as [`Cursor::value`] takes it: its
    /// text.
    #[inline]
    pub fn raw(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let start = self.i;
        self.value(0)?;
        Some(&self.b[start..self.i])
    }

    /// Whitespace, then an object key (a [`Cursor::str`]) and its colon.
    #[inline]
    pub fn key(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let k = self.str()?;
        self.eat(b':')?;
        Some(k)
    }

    /// `[e, e, …]` (whitespace allowed): `each` reads one element.
    #[inline]
    pub fn seq(&mut self, mut each: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
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

    /// `{"k": v, …}` (whitespace allowed): `each` gets the key and reads
    /// its value.
    #[inline]
    pub fn fields(
        &mut self,
        mut each: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
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
    pub fn end(&mut self) -> Option<()> {
        self.ws();
        (self.i == self.b.len()).then_some(())
    }

    /// A JSON number at the cursor (the grammar exactly:
    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`).
    #[inline]
    pub fn number(&mut self) -> Option<()> {
        let b = self.b;
        let digits = |i: &mut usize| {
            let s = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > s
        };
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.i = i;
        Some(())
    }

    /// At a `[`: an array of integers (a poll's `[p,o,k,v]` records, most
    /// of a queue history's bytes) in one tight loop. `false`, with the
    /// cursor unmoved, on anything else (the general path decides).
    #[inline]
    pub fn int_array(&mut self) -> bool {
        let b = self.b;
        let mut i = self.i + 1;
        if b.get(i) == Some(&b']') {
            self.i = i + 1;
            return true;
        }
        loop {
            if b.get(i) == Some(&b'-') {
                i += 1;
            }
            match b.get(i) {
                Some(b'0') => i += 1,
                Some(b'1'..=b'9') => {
                    i += 1;
                    while b.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                }
                _ => return false,
            }
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b']') => {
                    self.i = i + 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    /// One JSON value at the cursor without whitespace, escapes or control
    /// characters in strings (`None` on anything else: serde's turn).
    /// Validates as it goes, so the span it covers is JSON.
    pub fn value(&mut self, depth: u32) -> Option<()> {
        if depth > 100 {
            return None; // (serde's recursion limit is 128)
        }
        match *self.b.get(self.i)? {
            b'"' => self.str().map(|_| ()),
            b'{' => {
                self.i += 1;
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.str()?;
                    self.lit(b":")?;
                    self.value(depth + 1)?;
                    match *self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                if self.int_array() {
                    return Some(());
                }
                self.i += 1;
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    match *self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.lit(b"true"),
            b'f' => self.lit(b"false"),
            b'n' => self.lit(b"null"),
            _ => self.number(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_strings_and_literals() {
        assert_eq!(Cursor::new(b"123,").u64(), Some(123));
        assert_eq!(Cursor::new(b"0").u64(), Some(0));
        assert_eq!(Cursor::new(b"01").u64(), None, "leading zero");
        assert_eq!(Cursor::new(b"1.5").u64(), None);
        assert_eq!(Cursor::new(b"1e3").u64(), None);
        assert_eq!(Cursor::new(b"-1").u64(), None);
        assert_eq!(Cursor::new(b"18446744073709551615").u64(), Some(u64::MAX));
        assert_eq!(Cursor::new(b"18446744073709551616").u64(), None);
        assert_eq!(Cursor::new(b" -7 ").int(), Some(-7));
        assert_eq!(Cursor::new(b"-").int(), None);
        assert_eq!(Cursor::new(b"-0").int(), Some(0));
        assert_eq!(Cursor::new(br#""ab""#).str(), Some(&b"ab"[..]));
        assert_eq!(Cursor::new(br#""a\"b""#).str(), None, "escape");
        assert_eq!(Cursor::new(b"\"a\x01b\"").str(), None, "control");
        assert_eq!(Cursor::new(br#""ab"#).str(), None, "unterminated");
        assert_eq!(Cursor::new(b" true").bool(), Some(true));
        assert_eq!(Cursor::new(b"fals").bool(), None);
        let mut c = Cursor::new(br#" { "a" : [ 1 , 2 ] , "b":[] } "#);
        let mut seen = Vec::new();
        c.fields(|c, k| {
            let mut n = 0;
            c.seq(|c| c.int().map(|_| n += 1))?;
            seen.push((k.to_vec(), n));
            Some(())
        })
        .unwrap();
        c.end().unwrap();
        assert_eq!(seen, vec![(b"a".to_vec(), 2), (b"b".to_vec(), 0)]);
    }

    /// Serde's verdict on a whole text as one JSON value.
    fn serde_ok(t: &[u8]) -> bool {
        serde_json::from_slice::<serde_json::Value>(t).is_ok()
    }

    proptest! {
        /// Whatever `value` accepts as a whole text, serde accepts; and it
        /// accepts every compact rendering of a value without escapes.
        #[test]
        fn value_accepts_a_subset_of_json(bytes in proptest::collection::vec(
            prop_oneof![Just(b'['), Just(b']'), Just(b'{'), Just(b'}'), Just(b','), Just(b':'),
                Just(b'"'), Just(b'-'), Just(b'0'), Just(b'7'), Just(b'.'), Just(b'e'),
                Just(b'a'), Just(b't'), Just(b'n'), Just(b' '), Just(b'\\')], 0..24)) {
            let mut c = Cursor::new(&bytes);
            if c.value(0).is_some() && c.i == bytes.len() {
                prop_assert!(serde_ok(&bytes), "{}", String::from_utf8_lossy(&bytes));
            }
        }

        #[test]
        fn compact_values_are_accepted(v in proptest::collection::vec(
            (any::<i64>(), "[a-z]{0,4}", any::<bool>()), 0..5)) {
            let text = serde_json::to_vec(&v).unwrap();
            let mut c = Cursor::new(&text);
            prop_assert!(c.value(0).is_some());
            prop_assert_eq!(c.i, text.len());
        }
    }
}
