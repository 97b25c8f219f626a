//! A cycle in words: one clause per step, naming transactions T1, T2, ...
//! in the order the cycle meets them, each described (invocation op,
//! process) the first time it appears.

use super::build::Graph;
use super::search::order_of;
use super::{Input, Rel, Step, TxnId};
use std::fmt::Write;
use trial_histories::values::{Offset, Partition};

pub(crate) fn explain(input: &Input, g: &Graph, class: &str, steps: &[Step]) -> String {
    let mut names: Vec<TxnId> = Vec::new();
    let mut introduced: Vec<bool> = Vec::new();
    let mut name = |t: TxnId, names: &mut Vec<TxnId>| -> String {
        let i = match names.iter().position(|&x| x == t) {
            Some(i) => i,
            None => {
                names.push(t);
                introduced.push(false);
                names.len() - 1
            }
        };
        if introduced[i] {
            format!("T{}", i + 1)
        } else {
            introduced[i] = true;
            let x = &input.txns[t as usize];
            let inferred = if x.acknowledged {
                ""
            } else {
                ", commit inferred"
            };
            format!("T{} (op {}, process {}{inferred})", i + 1, x.op, x.process)
        }
    };
    let value = |p: Partition, o: Offset| -> Option<u64> {
        let vs = &g.orders[order_of(input, p)];
        let i = vs.partition_point(|v| v.0 < o);
        (i < vs.len() && vs[i].0 == o).then(|| vs[i].1)
    };
    let mut out = String::new();
    for (i, s) in steps.iter().enumerate() {
        let a = name(s.from, &mut names);
        let b = name(s.to, &mut names);
        let p = s.partition.unwrap_or(-1);
        let (fo, to) = (s.from_offset.unwrap_or(-1), s.to_offset.unwrap_or(-1));
        let show = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
        if i > 0 {
            out.push_str("; ");
        }
        let _ = match s.rel {
            Rel::Ww => write!(
                out,
                "{a} wrote {} at offset {fo} of partition {p}, and {b} wrote {} at the next \
                 offset written, {to}",
                show(value(p, fo)),
                show(value(p, to))
            ),
            Rel::Wr => write!(
                out,
                "{a} wrote {} at offset {fo} of partition {p}, and {b} read it (its last read \
                 of partition {p})",
                show(value(p, fo))
            ),
            Rel::Rw => {
                let read = input
                    .reads
                    .iter()
                    .find(|r| r.txn == s.from && r.partition == p && r.offset == fo)
                    .map(|r| r.value);
                let short = b.split(' ').next().unwrap_or("").to_string();
                let reader = a.split(' ').next().unwrap_or("").to_string();
                write!(
                    out,
                    "{a} read partition {p} up to offset {fo} (value {}), and {b} wrote the \
                     next version, {} at offset {to} (so {reader} did not observe {short})",
                    show(read),
                    show(value(p, to))
                )
            }
            Rel::Process => write!(
                out,
                "{a} and {b} ran in process {}, {} first",
                input.txns[s.from as usize].process,
                a.split(' ').next().unwrap_or("")
            ),
            Rel::Realtime => {
                let x = &input.txns[s.from as usize];
                let y = &input.txns[s.to as usize];
                write!(
                    out,
                    "{a} completed (op {}, at {} ns) before {b} was invoked (at {} ns)",
                    x.complete_op, x.complete_time, y.invoke_time
                )
            }
        };
    }
    let _ = write!(
        out,
        ": a {class} cycle of {} transaction{}.",
        names.len(),
        if names.len() == 1 { "" } else { "s" }
    );
    out
}
