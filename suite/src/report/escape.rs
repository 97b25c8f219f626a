//! Untrusted text on its way into a page, a script or a shell line: HTML
//! escaping, script-safe JSON, identifiers, URL paths and shell words.

use std::fmt::Write;

/// Escape text for HTML text or a quoted attribute.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    esc_into(&mut o, s);
    o
}

pub fn esc_into(o: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
}

/// JSON that is safe inside `<script type="application/json">`: no `<`,
/// `>` or `&` (so no `</script>` or `<!--`), no U+2028/U+2029.
pub fn json_for_script(v: &str) -> String {
    let mut o = String::with_capacity(v.len() + 16);
    for c in v.chars() {
        match c {
            '<' => o.push_str("\\u003c"),
            '>' => o.push_str("\\u003e"),
            '&' => o.push_str("\\u0026"),
            '\u{2028}' => o.push_str("\\u2028"),
            '\u{2029}' => o.push_str("\\u2029"),
            c => o.push(c),
        }
    }
    o
}

/// A name made safe for an `id` or a class: letters, digits, `-`, `_`.
pub fn ident(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Quote a word for a POSIX shell if it needs it.
pub fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/=@%+".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// Percent-encode a relative path for an href (keeps `/`).
pub fn url_path(p: &str) -> String {
    let mut o = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}
