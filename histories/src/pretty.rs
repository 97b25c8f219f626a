//! Human-readable history lines, aligned like Jepsen's `history.txt`.

use crate::op::Op;
use std::fmt::Write;

/// Format one op as an aligned line:
/// `index  time(s)  process  type  f  value  [error]`.
pub fn format_op(op: &Op) -> String {
    let mut s = String::with_capacity(96);
    let _ = write!(
        s,
        "{:>7} {:>11.6} {:>8} {:<7} {:<16} {}",
        op.index,
        op.time as f64 / 1e9,
        op.process.to_string(),
        op.kind.as_str(),
        op.f.as_str(),
        op.value.get()
    );
    if let Some(e) = &op.error {
        let _ = write!(s, "  ! {e}");
    }
    s
}

/// The header that goes with [`format_op`].
pub fn header() -> String {
    format!(
        "{:>7} {:>11} {:>8} {:<7} {:<16} {}",
        "index", "time(s)", "process", "type", "f", "value"
    )
}
