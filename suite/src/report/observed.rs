//! What the cluster observer saw (the `observer`/`observe` ops of a history,
//! see `notes/observer-op.md`), as one lane per partition under the
//! nemesis's bands: who led it (colour per node) and how many replicas were
//! in sync, over time. This is how a report shows whether a fault *bit*.
//!
//! Read in its own streaming pass over the history, leniently: a value that
//! does not parse is skipped and counted, never an error.

use super::html::esc;
use super::plots::{css, fault_color};
use crate::report::data::FaultInterval;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io;
use std::path::Path;
use trial_histories::values::Observation;
use trial_histories::{HistoryReader, OpType, Process, F};

/// One stretch of time during which a partition's leader, epoch and ISR
/// did not change.
#[derive(Debug, Clone, PartialEq)]
pub struct Stretch {
    pub start_ns: u64,
    pub end_ns: u64,
    /// Leader broker id, -1 for none.
    pub leader: i32,
    /// The leader's node name (`n2`), or `none` / `#id` when unknown.
    pub name: String,
    pub epoch: i32,
    pub isr: usize,
    pub replicas: usize,
}

/// One partition's lane.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionLane {
    pub partition: i32,
    pub stretches: Vec<Stretch>,
}

/// One lane of a cluster-wide role (`controller`, `ZooKeeper`).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleLane {
    pub label: String,
    pub stretches: Vec<Stretch>,
}

/// Extend a lane with one observed state (a new stretch when it differs).
fn extend(lane: &mut Vec<Stretch>, t: u64, s: Stretch) {
    if let Some(last) = lane.last_mut() {
        if last.leader == s.leader
            && last.name == s.name
            && last.epoch == s.epoch
            && last.isr == s.isr
            && last.replicas == s.replicas
        {
            return;
        }
        last.end_ns = t;
    }
    lane.push(s);
}

/// Everything the observer lanes draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// `observe` ok ops read.
    pub samples: u64,
    /// `observe` fail ops (the observer could not read the cluster).
    pub failed: u64,
    /// Values that did not parse.
    pub skipped: u64,
    pub lanes: Vec<PartitionLane>,
    /// Lanes of the cluster's own leaders under the partitions': the
    /// active controller (epoch in the tooltip), and in ZooKeeper mode the
    /// ensemble's leader (its line: how many members serve).
    pub roles: Vec<RoleLane>,
    /// Every node name seen, in order, for the colour legend.
    pub nodes: Vec<String>,
    pub end_ns: u64,
}

/// Read the observer's ops of a history (missing file: no observations).
pub fn digest_observations(path: &Path) -> io::Result<Observations> {
    let mut o = Observations::default();
    let mut reader = match HistoryReader::open(path) {
        Ok(r) => r,
        Err(trial_histories::ReadError::Io { source, .. })
            if source.kind() == io::ErrorKind::NotFound =>
        {
            return Ok(o)
        }
        Err(trial_histories::ReadError::Io { source, .. }) => return Err(source),
        Err(e) => return Err(io::Error::other(e.to_string())),
    };
    let observer = Process::Named(crate::observer::PROCESS.to_string());
    let mut lanes: BTreeMap<i32, Vec<Stretch>> = BTreeMap::new();
    // 0: the controller, 1: the ZooKeeper ensemble's leader.
    let mut roles: BTreeMap<u8, Vec<Stretch>> = BTreeMap::new();
    for item in &mut reader {
        let Ok(op) = item else { continue };
        o.end_ns = o.end_ns.max(op.time);
        if op.process != observer || op.f != F::Observe {
            continue;
        }
        match op.kind {
            OpType::Fail => o.failed += 1,
            OpType::Ok => {
                let Ok(v) = op.value_as::<Observation>() else {
                    o.skipped += 1;
                    continue;
                };
                o.samples += 1;
                for p in &v.partitions {
                    let name = match p.leader {
                        l if l < 0 => "none".to_string(),
                        l => v.brokers.get(&l).cloned().unwrap_or(format!("#{l}")),
                    };
                    if p.leader >= 0 && !o.nodes.contains(&name) {
                        o.nodes.push(name.clone());
                    }
                    let stretch = Stretch {
                        start_ns: op.time,
                        end_ns: op.time,
                        leader: p.leader,
                        name,
                        epoch: p.epoch,
                        isr: p.isr.len(),
                        replicas: p.replicas.len(),
                    };
                    extend(lanes.entry(p.partition).or_default(), op.time, stretch);
                }
                if let Some(c) = v.controller {
                    let name = match c.id {
                        l if l < 0 => "none".to_string(),
                        l => v.brokers.get(&l).cloned().unwrap_or(format!("#{l}")),
                    };
                    if c.id >= 0 && !o.nodes.contains(&name) {
                        o.nodes.push(name.clone());
                    }
                    let stretch = Stretch {
                        start_ns: op.time,
                        end_ns: op.time,
                        leader: c.id,
                        name,
                        epoch: c.epoch,
                        isr: 0,
                        replicas: 0,
                    };
                    extend(roles.entry(0).or_default(), op.time, stretch);
                }
                if let Some(z) = &v.zookeeper {
                    let name = z.leader.clone().unwrap_or_else(|| "none".into());
                    if z.leader.is_some() && !o.nodes.contains(&name) {
                        o.nodes.push(name.clone());
                    }
                    let serving = z.serving().count();
                    let epoch = z
                        .leader
                        .as_ref()
                        .and_then(|l| z.epochs.get(l))
                        .map_or(-1, |e| *e as i32);
                    let stretch = Stretch {
                        start_ns: op.time,
                        end_ns: op.time,
                        leader: i32::from(z.leader.is_some()) - 1,
                        name,
                        epoch,
                        isr: serving,
                        replicas: z.members.len(),
                    };
                    extend(roles.entry(1).or_default(), op.time, stretch);
                }
            }
            _ => {}
        }
    }
    o.nodes.sort_by_key(|n| super::data::natural_key(n));
    for (partition, mut stretches) in lanes {
        if let Some(last) = stretches.last_mut() {
            last.end_ns = o.end_ns.max(last.start_ns);
        }
        o.lanes.push(PartitionLane {
            partition,
            stretches,
        });
    }
    for (k, mut stretches) in roles {
        if let Some(last) = stretches.last_mut() {
            last.end_ns = o.end_ns.max(last.start_ns);
        }
        let label = if k == 0 { "controller" } else { "ZooKeeper" };
        o.roles.push(RoleLane {
            label: label.into(),
            stretches,
        });
    }
    Ok(o)
}

/// A colour per node name (stable across runs: from the name).
pub fn node_color(name: &str) -> &'static str {
    const PALETTE: [&str; 8] = [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
    ];
    if name == "none" {
        return "#bbbbbb";
    }
    let digits: String = name.chars().filter(|c| c.is_ascii_digit()).collect();
    let i = digits.parse::<usize>().unwrap_or_else(|_| {
        name.bytes()
            .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize))
    });
    PALETTE[i.saturating_sub(1) % PALETTE.len()]
}

const W: f64 = 1000.0;
const LABEL: f64 = 70.0;
const LANE: f64 = 30.0;

/// The observer section: one lane per partition (a bar per leader stretch,
/// coloured by node and labelled with its name; a step line of the ISR
/// size), the nemesis's fault bands behind, on the run's time axis.
pub fn observer_section(
    out: &mut String,
    obs: &Observations,
    faults: &[FaultInterval],
    end_ns: u64,
) {
    out.push_str(
        r#"<section id="observer"><h2>Leaders, ISR and controller (cluster observer)</h2>"#,
    );
    if obs.lanes.is_empty() {
        out.push_str(r#"<p class="muted" id="observer-none">No observer ops in this history: partition leaders and ISR over time are not shown.</p></section>"#);
        out.push('\n');
        return;
    }
    let _ = write!(
        out,
        r#"<p class="help">One lane per partition: the bar is its leader (colour per node, epoch in the tooltip), the line the number of in-sync replicas (top: all replicas in sync; bottom: none). Under them the active controller and, in ZooKeeper mode, the ensemble's leader (the line: how many members serve). Shaded bands are the nemesis's faults. {} observed state(s){}.</p><div class="legend">"#,
        obs.samples,
        if obs.failed > 0 {
            format!(", {} failed read(s)", obs.failed)
        } else {
            String::new()
        }
    );
    for n in obs.nodes.iter().chain(std::iter::once(&"none".to_string())) {
        let _ = write!(
            out,
            r#"<span class="key"><span class="swatch" style="background:{}"></span>{}</span> "#,
            node_color(n),
            esc(n)
        );
    }
    out.push_str("</div>");
    let end = end_ns.max(obs.end_ns).max(1) as f64;
    let x = |t: u64| LABEL + (t as f64 / end) * (W - LABEL);
    let h = (obs.lanes.len() + obs.roles.len()) as f64 * LANE + 18.0;
    let _ = write!(
        out,
        r#"<svg id="observer-lanes" class="observer-lanes" viewBox="0 0 {W} {h}" width="100%" role="img" aria-label="partition leaders and ISR size over time" font-family="sans-serif" font-size="11">"#
    );
    for f in faults {
        let _ = write!(
            out,
            r#"<rect class="obs-fault" x="{:.1}" y="0" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.18"><title>{} {:.1}–{:.1} s</title></rect>"#,
            x(f.start_ns),
            (x(f.end_ns) - x(f.start_ns)).max(1.0),
            h - 18.0,
            css(fault_color(&f.kind)),
            esc(&f.kind),
            f.start_ns as f64 / 1e9,
            f.end_ns as f64 / 1e9,
        );
    }
    let parts = obs.lanes.iter().map(|l| {
        (
            format!("partition {}", l.partition),
            format!(r#"data-partition="{}""#, l.partition),
            &l.stretches,
        )
    });
    let roles = obs.roles.iter().map(|l| {
        (
            l.label.clone(),
            format!(r#"data-role="{}""#, esc(&l.label)),
            &l.stretches,
        )
    });
    for (i, (label, attr, stretches)) in parts.chain(roles).enumerate() {
        let y = i as f64 * LANE;
        let _ = write!(
            out,
            r#"<g class="obs-lane" {attr}><text x="4" y="{:.1}">{}</text>"#,
            y + 17.0,
            esc(&label)
        );
        // Partitions: the line is the ISR; the controller has none; the
        // ZooKeeper lane's line is how many members serve.
        let what = if label.starts_with("partition") {
            "ISR"
        } else {
            "serving"
        };
        let mut steps = String::new();
        for s in stretches {
            let (x0, x1) = (x(s.start_ns), x(s.end_ns).max(x(s.start_ns) + 0.5));
            let _ = write!(
                out,
                r#"<rect class="obs-leader" data-leader="{n}" x="{x0:.1}" y="{:.1}" width="{:.1}" height="12" fill="{c}"><title>{l}: leader {n} (epoch {e}){isr}, {t0:.1}–{t1:.1} s</title></rect>"#,
                y + 4.0,
                x1 - x0,
                n = esc(&s.name),
                c = node_color(&s.name),
                l = esc(&label),
                e = s.epoch,
                isr = if s.replicas > 0 {
                    format!(", {what} {}/{}", s.isr, s.replicas)
                } else {
                    String::new()
                },
                t0 = s.start_ns as f64 / 1e9,
                t1 = s.end_ns as f64 / 1e9,
            );
            if x1 - x0 > 8.0 * s.name.len() as f64 {
                let _ = write!(
                    out,
                    r##"<text x="{:.1}" y="{:.1}" fill="#fff" pointer-events="none">{}</text>"##,
                    x0 + 3.0,
                    y + 14.0,
                    esc(&s.name)
                );
            }
            if s.replicas == 0 {
                continue;
            }
            // ISR size: a step line in the 10 px under the bar.
            let frac = s.isr as f64 / s.replicas as f64;
            let yy = y + 27.0 - frac * 9.0;
            let _ = write!(steps, "{x0:.1},{yy:.1} {x1:.1},{yy:.1} ");
        }
        let _ = write!(
            out,
            r##"<polyline class="obs-isr" points="{}" fill="none" stroke="#333" stroke-width="1.5"/></g>"##,
            steps.trim_end()
        );
    }
    let _ = write!(
        out,
        r#"<text x="{LABEL}" y="{:.1}">0 s</text><text x="{W}" y="{:.1}" text-anchor="end">{:.1} s</text></svg></section>"#,
        h - 4.0,
        h - 4.0,
        end / 1e9
    );
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_controller_and_the_zookeeper_leader_get_lanes_of_their_own() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history.jsonl");
        let mk = |i: u64, t: u64, zl: &str, z2: &str| {
            format!(
                r#"{{"index":{i},"time":{t},"process":"observer","type":"ok","f":"observe","value":{{"partitions":[{{"partition":0,"leader":1,"epoch":0,"replicas":[1,2,3],"isr":[1,2,3]}}],"controller":{{"id":2,"epoch":-1}},"brokers":{{"1":"n1","2":"n2","3":"n3"}},"zookeeper":{{"leader":"{zl}","members":{{"z1":"follower","z2":"{z2}","z3":"leader"}},"epochs":{{"z3":4}}}}}}}}"#
            )
        };
        let text = [mk(0, 10, "z3", "follower"), mk(1, 20, "z3", "unreachable")].join("\n");
        std::fs::write(&p, text + "\n").unwrap();
        let o = digest_observations(&p).unwrap();
        assert_eq!(o.roles.len(), 2);
        assert_eq!(o.roles[0].label, "controller");
        assert_eq!(o.roles[0].stretches.len(), 1);
        assert_eq!(o.roles[0].stretches[0].name, "n2");
        let z = &o.roles[1];
        assert_eq!(z.label, "ZooKeeper");
        // z2 stopped serving: a second stretch, the leader unchanged.
        assert_eq!(z.stretches.len(), 2);
        assert_eq!(
            (
                z.stretches[0].isr,
                z.stretches[1].isr,
                z.stretches[1].replicas
            ),
            (3, 2, 3)
        );
        assert_eq!(
            (z.stretches[1].name.as_str(), z.stretches[1].epoch),
            ("z3", 4)
        );
        let mut html = String::new();
        observer_section(&mut html, &o, &[], 30);
        assert!(html.contains(r#"data-role="ZooKeeper""#), "{html}");
        assert!(html.contains(r#"data-role="controller""#));
        assert!(html.contains("serving 2/3"));
    }

    #[test]
    fn stretches_follow_leader_and_isr_changes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("history.jsonl");
        let mk = |i: u64, t: u64, leader: i32, epoch: i32, isr: &str| {
            format!(
                r#"{{"index":{i},"time":{t},"process":"observer","type":"ok","f":"observe","value":{{"partitions":[{{"partition":0,"leader":{leader},"epoch":{epoch},"replicas":[1,2,3],"isr":{isr}}}],"brokers":{{"1":"n1","2":"n2","3":"n3"}}}}}}"#
            )
        };
        let text = [
            mk(0, 10, 1, 0, "[1,2,3]"),
            mk(1, 20, 1, 0, "[1,2,3]"),
            mk(2, 30, 2, 1, "[2,3]"),
            r#"{"index":3,"time":40,"process":"observer","type":"ok","f":"observe","value":"garbage"}"#.into(),
            r#"{"index":4,"time":50,"process":0,"type":"invoke","f":"send","value":null}"#.into(),
        ]
        .join("\n");
        std::fs::write(&p, text + "\n").unwrap();
        let o = digest_observations(&p).unwrap();
        assert_eq!(o.samples, 3);
        assert_eq!(o.skipped, 1);
        assert_eq!(o.nodes, ["n1", "n2"]);
        let s = &o.lanes[0].stretches;
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].start_ns, s[0].end_ns, s[0].name.as_str(), s[0].isr),
            (10, 30, "n1", 3)
        );
        assert_eq!(
            (s[1].start_ns, s[1].end_ns, s[1].name.as_str(), s[1].isr),
            (30, 50, "n2", 2)
        );
        let mut html = String::new();
        observer_section(&mut html, &o, &[], o.end_ns);
        assert!(html.contains(r#"data-partition="0""#) && html.contains(r#"data-leader="n2""#));
        let mut none = String::new();
        observer_section(&mut none, &Observations::default(), &[], 0);
        assert!(none.contains("observer-none"));
    }
}

/// "What each fault did": the `effects` checker's judgement of every fault
/// interval (from results.json), a fault with no observable effect marked
/// so, and the workload's recovery after it (`checkers.progress`, when
/// given: [`super::progress`]). Read leniently: missing fields show as `–`.
pub fn effects_section(
    o: &mut String,
    e: &serde_json::Value,
    progress: Option<&serde_json::Value>,
) {
    let num = |v: &serde_json::Value| v.as_f64().map_or("–".to_string(), |x| format!("{x:.1} s"));
    o.push_str(r#"<section id="effects"><h2>What each fault did</h2>"#);
    if let Some(s) = e.get("summary").and_then(|s| s.as_str()) {
        let _ = write!(o, r#"<p class="summary">{}</p>"#, esc(s));
    }
    let intervals = e
        .get("intervals")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    if intervals.is_empty() {
        o.push_str("<p>No fault intervals.</p></section>\n");
        return;
    }
    o.push_str(
        "<table class=\"effects\"><thead><tr><th>fault</th><th>nodes</th><th>from – to</th>\
         <th>effect</th><th>leader changes</th><th>ISR −/+</th><th>controller changes</th>\
         <th>fenced</th><th>unreachable</th><th>fail-over</th><th>full ISR after heal</th>",
    );
    o.push_str(super::progress::RECOVERY_HEADS);
    o.push_str("</tr></thead><tbody>\n");
    for (i, f) in intervals.iter().enumerate() {
        let s = |k: &str| f.get(k).cloned().unwrap_or(serde_json::Value::Null);
        let list = |k: &str| {
            s(k).as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x.to_string().trim_matches('"').to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        let bit = s("effect").as_bool();
        let leader_changes: u64 = s("leader_changes")
            .as_object()
            .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
            .unwrap_or(0);
        let _ = write!(
            o,
            "<tr class=\"{cls}\"><td>{kind}</td><td>{nodes}</td><td>{from} – {to}</td><td>{effect}</td>\
             <td>{lc}</td><td>{shr} / {exp}</td><td>{cc}</td><td>{fenced}</td><td>{unr}</td><td>{fo}</td><td>{full}</td>",
            cls = if bit == Some(false) { "no-effect" } else { "bit" },
            kind = esc(s("kind").as_str().unwrap_or("?")),
            nodes = esc(&list("nodes")),
            from = num(&s("start_s")),
            to = num(&s("stop_s")),
            effect = match bit {
                Some(true) => "yes",
                Some(false) => "<strong>no observable effect</strong>",
                None => "unknown (no observer)",
            },
            lc = leader_changes,
            shr = s("isr_shrinks").as_u64().unwrap_or(0),
            exp = s("isr_expansions").as_u64().unwrap_or(0),
            cc = s("controller_changes").as_u64().unwrap_or(0),
            fenced = esc(&list("newly_fenced")),
            unr = {
                let mut u = esc(&list("newly_unreachable"));
                if let Some(n) = s("unreadable_samples").as_u64().filter(|n| *n > 0) {
                    if !u.is_empty() {
                        u.push_str("; ");
                    }
                    let _ = write!(u, "whole cluster unreadable in {n} samples");
                }
                u
            },
            fo = num(&s("failover_s")),
            full = num(&s("full_isr_after_s")),
        );
        super::progress::recovery_cells(o, super::progress::recovery_of(progress, i, f));
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table></section>\n");
}

#[cfg(test)]
mod effects_tests {
    use super::*;

    #[test]
    fn each_fault_is_shown_and_one_without_effect_is_marked() {
        let e = serde_json::json!({
            "summary": "faults: 2, with an observable effect: 1",
            "intervals": [
                {"kind": "kill", "nodes": ["n2"], "start_s": 6.0, "stop_s": 18.0, "effect": true,
                 "leader_changes": {"0": 1, "2": 1}, "isr_shrinks": 2, "isr_expansions": 2,
                 "controller_changes": 0, "newly_fenced": [2], "newly_unreachable": [2],
                 "failover_s": 3.4, "full_isr_after_s": 2.1},
                {"kind": "pause", "nodes": ["<n3>"], "start_s": 20.0, "stop_s": 21.0, "effect": false,
                 "leader_changes": {}, "isr_shrinks": 0, "isr_expansions": 0, "controller_changes": 0,
                 "newly_fenced": [], "newly_unreachable": [], "failover_s": null, "full_isr_after_s": 0.0}
            ]
        });
        let mut o = String::new();
        effects_section(&mut o, &e, None);
        assert!(o.contains("What each fault did"));
        assert!(o.contains("faults: 2, with an observable effect: 1"));
        assert!(o.contains("<td>kill</td><td>n2</td>"), "{o}");
        assert!(o.contains("<td>2</td><td>2 / 2</td>"), "{o}");
        assert!(o.contains("3.4 s"));
        assert_eq!(o.matches("no observable effect").count(), 1);
        assert!(o.contains("class=\"no-effect\""));
        assert!(o.contains("&lt;n3&gt;"), "node names are escaped");
    }
}
