//! The plots of a run, drawn with `plotters` into SVG (inlined into the
//! report) and PNG (for people and tools that want an image):
//!
//! - **latency-raw**: every completed client op as a point; x the time of
//!   its invocation, y its latency on a log axis; colour by outcome, marker
//!   shape by `f`.
//! - **rate**: completed client ops per second over time, one line per
//!   `f` and outcome.
//!
//! Both shade the nemesis's fault intervals and label them by kind.
//!
//! Text needs a font: plotters' `ab_glyph` renderer is given a TrueType
//! file found at run time (the file `KAFKA_TRIAL_FONT` names, else
//! well-known paths such as Debian's `fonts-dejavu-core`), so no fontconfig
//! or freetype is needed. Without a font, plotting fails with a message
//! saying how to get one (and the report is written without plots).
//!
//! Thousands of points that land on the same pixel with the same colour and
//! marker are drawn once: a 100,000-op history gives an SVG of a few
//! hundred kB that looks exactly like the full one.

use super::data::{row_latency_ns, FaultInterval, HistoryDigest, Outcome};
use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Pixel size of both plots.
pub const SIZE: (u32, u32) = (1200, 560);
/// The font family name plots use (registered at run time).
const FAMILY: &str = "sans-serif";

/// Environment variable naming a TrueType font file for plot text.
pub const FONT_ENV: &str = "KAFKA_TRIAL_FONT";

/// Where fonts are looked for, in order, unless `KAFKA_TRIAL_FONT` names one.
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Find and register the plot font once per process. Returns its path.
pub fn ensure_font() -> Result<PathBuf> {
    static FONT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    FONT.get_or_init(|| {
        // A font the user names is the only one tried: a typo should say
        // so, not be papered over by another font.
        let candidates: Vec<PathBuf> = match std::env::var_os(FONT_ENV) {
            Some(p) if !p.is_empty() => vec![PathBuf::from(p)],
            _ => FONT_CANDIDATES.iter().map(PathBuf::from).collect(),
        };
        let mut tried = Vec::new();
        for p in candidates {
            match std::fs::read(&p) {
                Ok(bytes) => {
                    // plotters keeps fonts for the life of the process.
                    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                    match plotters::style::register_font(FAMILY, FontStyle::Normal, bytes) {
                        Ok(()) => return Ok(p),
                        Err(_) => tried.push(format!("{} (not a usable font)", p.display())),
                    }
                }
                Err(_) => tried.push(p.display().to_string()),
            }
        }
        Err(format!(
            "no TrueType font for the plots' text: tried {}. Install one \
             (Debian: apt-get install fonts-dejavu-core) or set {FONT_ENV} \
             to a .ttf file",
            tried.join(", ")
        ))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// Colour of an outcome: ok green, fail red, info orange, open grey.
pub fn outcome_color(o: Outcome) -> RGBColor {
    match o {
        Outcome::Ok => RGBColor(0x2c, 0xa0, 0x2c),
        Outcome::Fail => RGBColor(0xd6, 0x27, 0x28),
        Outcome::Info => RGBColor(0xff, 0x8c, 0x00),
        Outcome::Open => RGBColor(0x88, 0x88, 0x88),
    }
}

/// Colour of a fault kind (the same in plots, timeline and report).
pub fn fault_color(kind: &str) -> RGBColor {
    match kind {
        "partition" => RGBColor(0x1f, 0x77, 0xb4),
        "kill" => RGBColor(0xd6, 0x27, 0x28),
        "pause" => RGBColor(0xbc, 0x9c, 0x00),
        "loss" => RGBColor(0x94, 0x67, 0xbd),
        "clock" => RGBColor(0x17, 0xa0, 0x8f),
        "lose-unfsynced" => RGBColor(0x8c, 0x56, 0x4b),
        "power-loss" => RGBColor(0x44, 0x44, 0x44),
        other => {
            // A stable colour for kinds we do not know.
            let h = other
                .bytes()
                .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
            RGBColor(
                (h & 0x7f) as u8 + 0x40,
                ((h >> 8) & 0x7f) as u8 + 0x40,
                ((h >> 16) & 0x7f) as u8 + 0x40,
            )
        }
    }
}

/// CSS hex of a colour.
pub fn css(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

/// Marker shapes are given to functions by how common they are, except
/// that the usual queue functions keep a fixed shape.
fn markers(h: &HistoryDigest) -> Vec<Marker> {
    let mut count = h.agg.f_count.clone();
    count.resize(h.fs.len(), 0);
    let mut order: Vec<usize> = (0..h.fs.len()).collect();
    order.sort_by_key(|&f| std::cmp::Reverse(count[f]));
    let all = [
        Marker::Circle,
        Marker::Triangle,
        Marker::Square,
        Marker::Cross,
    ];
    let mut out = vec![Marker::Cross; h.fs.len()];
    let mut free: Vec<Marker> = all.to_vec();
    for (f, name) in h.fs.iter().enumerate() {
        let fixed = match name.as_str() {
            "send" => Some(Marker::Circle),
            "poll" => Some(Marker::Triangle),
            "txn" => Some(Marker::Square),
            "final-read" => Some(Marker::Cross),
            _ => None,
        };
        if let Some(m) = fixed {
            out[f] = m;
            free.retain(|x| *x != m);
        }
    }
    for f in order {
        if matches!(h.fs[f].as_str(), "send" | "poll" | "txn" | "final-read") || count[f] == 0 {
            continue;
        }
        out[f] = free.first().copied().unwrap_or(Marker::Cross);
        if free.len() > 1 {
            free.remove(0);
        }
    }
    out
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// The time axis: the whole history (at least one second), and room on
/// the right for the legend so that it hides no data.
fn x_range(h: &HistoryDigest) -> (f64, f64) {
    (0.0, secs(h.end_ns).max(1.0) * 1.16)
}

/// Vertical rows for fault labels, so overlapping intervals' labels do
/// not sit on each other.
fn label_rows(faults: &[FaultInterval]) -> Vec<usize> {
    let mut ends: Vec<u64> = Vec::new();
    faults
        .iter()
        .map(|f| {
            let row = ends
                .iter()
                .position(|&e| e <= f.start_ns)
                .unwrap_or_else(|| {
                    ends.push(0);
                    ends.len() - 1
                });
            ends[row] = f.end_ns.max(f.start_ns + 1);
            row
        })
        .collect()
}

type Err<DB> = DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>;

/// Shade and label fault intervals inside a chart's plotting area.
fn draw_faults<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    h: &HistoryDigest,
) -> std::result::Result<(), Err<DB>> {
    let (y0, y1) = {
        let r = chart.y_range();
        (r.start, r.end)
    };
    let rows = label_rows(&h.faults);
    let area = chart.plotting_area();
    for (f, row) in h.faults.iter().zip(rows) {
        let c = fault_color(&f.kind);
        let (s, e) = (secs(f.start_ns), secs(f.end_ns));
        area.draw(&Rectangle::new([(s, y0), (e, y1)], c.mix(0.13).filled()))?;
        area.draw(&PathElement::new(vec![(s, y0), (s, y1)], c.mix(0.6)))?;
        let (px, py) = chart.backend_coord(&(s, y1));
        let label = if f.stopped {
            f.kind.clone()
        } else {
            format!("{} (not stopped)", f.kind)
        };
        let style = TextStyle::from((FAMILY, 13).into_font()).color(&c);
        // Label in pixel space: just inside the band's top-left corner.
        let root = area.strip_coord_spec();
        let (ax, ay) = root.get_base_pixel();
        root.draw(&Text::new(
            label,
            (px - ax + 3, py - ay + 3 + 15 * row as i32),
            style,
        ))?;
    }
    Ok(())
}

fn draw_marker<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    area: &DrawingArea<DB, CT>,
    pts: &[(f64, f64)],
    m: Marker,
    r: i32,
    style: ShapeStyle,
) -> std::result::Result<(), Err<DB>> {
    for &p in pts {
        match m {
            Marker::Circle => area.draw(&Circle::new(p, r, style))?,
            Marker::Triangle => area.draw(&TriangleMarker::new(p, r + 1, style))?,
            Marker::Square => {
                area.draw(&(EmptyElement::at(p) + Rectangle::new([(-r, -r), (r, r)], style)))?
            }
            Marker::Cross => area.draw(&Cross::new(p, r, style))?,
        }
    }
    Ok(())
}

fn legend_marker<DB: DrawingBackend>(
    m: Marker,
    c: RGBColor,
) -> impl Fn((i32, i32)) -> DynElement<'static, DB, (i32, i32)> {
    move |(x, y)| {
        let st = c.filled();
        match m {
            Marker::Circle => Circle::new((x + 8, y), 4, st).into_dyn(),
            Marker::Triangle => TriangleMarker::new((x + 8, y), 5, st).into_dyn(),
            Marker::Square => Rectangle::new([(x + 4, y - 4), (x + 12, y + 4)], st).into_dyn(),
            Marker::Cross => Cross::new((x + 8, y), 4, c.stroke_width(2)).into_dyn(),
        }
    }
}

/// Draw latency-raw onto any backend.
fn draw_latency<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &HistoryDigest,
) -> std::result::Result<(), Err<DB>> {
    root.fill(&WHITE)?;
    let agg = &h.agg;
    let col_s = agg.col_ns as f64 / 1e9;
    // (time s, latency ms, outcome, f, ops) per latency cell.
    let mut lat: Vec<(f64, f64, Outcome, u16, u32)> = agg
        .latency
        .iter()
        .map(|(&(c, r, o, f), &n)| {
            (
                (c as f64 + 0.5) * col_s,
                (row_latency_ns(r) / 1e6).max(0.001),
                o,
                f,
                n,
            )
        })
        .collect();
    lat.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let (lo, hi) = lat.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let (lo, hi) = if lat.is_empty() {
        (0.1, 1000.0)
    } else {
        (lo / 1.5, (hi * 1.5).max(lo * 10.0))
    };
    let (x0, x1) = x_range(h);
    let mut chart = ChartBuilder::on(root)
        .caption(
            if h.aggregated {
                "Latency of completed client ops (log scale; every op, binned; lines: median and p99 per column)"
            } else {
                "Latency of every completed client op (log scale)"
            },
            (FAMILY, 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("time of invocation (s since the test started)")
        .y_desc("latency (ms)")
        .y_label_formatter(&|v| fmt_ms(*v))
        .x_label_formatter(&|v| trim(*v))
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(0xf3, 0xf3, 0xf3))
        .bold_line_style(RGBColor(0xd8, 0xd8, 0xd8))
        .draw()?;
    draw_faults(&mut chart, h)?;

    let marks = markers(h);
    // Dense plots get smaller markers, so that their structure shows, and
    // draw one marker per 3×3-pixel cell, colour and shape: the picture is
    // the same, the SVG a fraction of the size.
    let dense = lat.iter().map(|p| p.4 as usize).sum::<usize>() > 5_000;
    let (r, cell) = if dense { (2, 3) } else { (3, 1) };
    let mut seen: HashSet<(i32, i32, Outcome, Marker)> = HashSet::new();
    let mut groups: BTreeMap<(u8, u16), Vec<(f64, f64)>> = BTreeMap::new();
    for &(x, y, o, f, _) in &lat {
        let (px, py) = chart.backend_coord(&(x, y));
        if seen.insert((px / cell, py / cell, o, marks[f as usize])) {
            groups.entry((o.code(), f)).or_default().push((x, y));
        }
    }
    // ok first, so that fail and info stay visible on top.
    let area = chart.plotting_area();
    for ((oc, f), pts) in &groups {
        let o = outcome_from_code(*oc);
        let c = outcome_color(o);
        let style = if marks[*f as usize] == Marker::Cross {
            c.mix(0.8).stroke_width(1)
        } else {
            c.mix(0.55).filled()
        };
        draw_marker(area, pts, marks[*f as usize], r, style)?;
    }
    // Legend: colours for outcomes, shapes for functions.
    if h.aggregated {
        draw_percentiles(&mut chart, h)?;
    }
    let mut present_o: Vec<Outcome> = lat.iter().map(|p| p.2).collect();
    present_o.sort();
    present_o.dedup();
    for o in present_o {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(o.as_str())
            .legend(legend_marker(Marker::Circle, outcome_color(o)));
    }
    let mut present_f: Vec<u16> = lat.iter().map(|p| p.3).collect();
    present_f.sort_by_key(|&f| (marks[f as usize] as u8, f));
    present_f.dedup();
    for f in present_f {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(h.fs[f as usize].as_str())
            .legend(legend_marker(marks[f as usize], RGBColor(0x55, 0x55, 0x55)));
    }
    if lat.is_empty() {
        no_data(root)?;
    } else {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xbb, 0xbb, 0xbb))
            .label_font((FAMILY, 13))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The median and 99th percentile of each column's latencies (every
/// completed client op, all outcomes), as two lines.
fn draw_percentiles<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    h: &HistoryDigest,
) -> std::result::Result<(), Err<DB>> {
    let mut cols: BTreeMap<u32, BTreeMap<u16, u64>> = BTreeMap::new();
    for (&(c, r, _, _), &n) in &h.agg.latency {
        *cols.entry(c).or_default().entry(r).or_default() += n as u64;
    }
    let col_s = h.agg.col_ns as f64 / 1e9;
    // Eight columns per point: a line over every column is noise.
    let mut merged: BTreeMap<u32, BTreeMap<u16, u64>> = BTreeMap::new();
    for (c, rows) in cols {
        let m = merged.entry(c / 8).or_default();
        for (r, n) in rows {
            *m.entry(r).or_default() += n;
        }
    }
    for (q, color, label) in [
        (0.5, RGBColor(0x22, 0x22, 0x22), "median"),
        (0.99, RGBColor(0x99, 0x33, 0x99), "p99"),
    ] {
        let pts: Vec<(f64, f64)> = merged
            .iter()
            .filter_map(|(c, rows)| {
                let total: u64 = rows.values().sum();
                let want = ((total as f64) * q).ceil().max(1.0) as u64;
                let mut acc = 0;
                let row = rows.iter().find(|(_, n)| {
                    acc += **n;
                    acc >= want
                })?;
                Some((
                    (*c as f64 * 8.0 + 4.0) * col_s,
                    (row_latency_ns(*row.0) / 1e6).max(0.001),
                ))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
            });
    }
    Ok(())
}

/// Say so in the middle of an empty plot.
fn no_data<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> std::result::Result<(), Err<DB>> {
    let style = TextStyle::from((FAMILY, 16).into_font())
        .color(&RGBColor(0x66, 0x66, 0x66))
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ));
    root.draw(&Text::new(
        "no completed client ops (yet)",
        (SIZE.0 as i32 / 2, SIZE.1 as i32 / 2),
        style,
    ))
}

fn outcome_from_code(c: u8) -> Outcome {
    match c {
        0 => Outcome::Ok,
        1 => Outcome::Fail,
        2 => Outcome::Info,
        _ => Outcome::Open,
    }
}

fn fmt_ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}s", trim(v / 1000.0))
    } else {
        format!("{}ms", trim(v))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The bucket width of the rate plot: 1 s, or wider for long runs so that
/// there are at most about 600 buckets.
pub fn rate_bucket_s(h: &HistoryDigest) -> f64 {
    let len = secs(h.end_ns);
    [1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 3600.0]
        .into_iter()
        .find(|b| len / b <= 600.0)
        .unwrap_or(3600.0)
}

/// Draw rate onto any backend.
fn draw_rate<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &HistoryDigest,
) -> std::result::Result<(), Err<DB>> {
    root.fill(&WHITE)?;
    let b = rate_bucket_s(h);
    let nb = (secs(h.end_ns) / b).floor() as usize + 1;
    // (f, outcome) → completions per bucket, from the per-second counts.
    let mut series: BTreeMap<(u16, u8), Vec<u64>> = BTreeMap::new();
    for (&(f, o), per_s) in &h.agg.rate {
        let v = series.entry((f, o.code())).or_insert_with(|| vec![0; nb]);
        for (sec, &n) in per_s.iter().enumerate() {
            v[((sec as f64 / b) as usize).min(nb - 1)] += n;
        }
    }
    let ymax = series
        .values()
        .flat_map(|v| v.iter())
        .map(|&n| n as f64 / b)
        .fold(1.0, f64::max);
    let (x0, x1) = x_range(h);
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("Completed client ops per second ({} s buckets)", trim(b)),
            (FAMILY, 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0f64..ymax * 1.12)?;
    chart
        .configure_mesh()
        .x_desc("time of completion (s since the test started)")
        .y_desc("ops/s")
        .y_label_formatter(&|v| trim(*v))
        .x_label_formatter(&|v| trim(*v))
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(0xf3, 0xf3, 0xf3))
        .bold_line_style(RGBColor(0xd8, 0xd8, 0xd8))
        .draw()?;
    draw_faults(&mut chart, h)?;
    let marks = markers(h);
    let mut series: Vec<((u16, u8), Vec<u64>)> = series.into_iter().collect();
    series.sort_by_key(|&((f, oc), _)| (marks[f as usize] as u8, f, oc));
    for ((f, oc), counts) in &series {
        let (f, oc) = (*f, *oc);
        let o = outcome_from_code(oc);
        let c = outcome_color(o);
        let pts: Vec<(f64, f64)> = counts
            .iter()
            .enumerate()
            .map(|(i, &n)| ((i as f64 + 0.5) * b, n as f64 / b))
            .collect();
        let m = marks[f as usize];
        // Dashes tell functions apart where markers would crowd.
        let st = c.stroke_width(2);
        match m {
            Marker::Circle => {
                chart.draw_series(LineSeries::new(pts.iter().copied(), st))?;
            }
            _ => {
                let (dash, gap) = match m {
                    Marker::Triangle => (8, 4),
                    Marker::Square => (2, 3),
                    _ => (12, 3),
                };
                chart.draw_series(DashedLineSeries::new(pts.iter().copied(), dash, gap, st))?;
            }
        }
        if pts.len() <= 200 {
            draw_marker(chart.plotting_area(), &pts, m, 3, c.filled())?;
        }
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(format!("{} {}", h.fs[f as usize], o.as_str()))
            .legend(legend_marker(m, c));
    }
    if series.is_empty() {
        no_data(root)?;
    } else {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xbb, 0xbb, 0xbb))
            .label_font((FAMILY, 13))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Which plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plot {
    LatencyRaw,
    Rate,
}

impl Plot {
    pub const ALL: [Plot; 2] = [Plot::LatencyRaw, Plot::Rate];
    /// The file stem: `latency-raw`, `rate`.
    pub fn stem(self) -> &'static str {
        match self {
            Plot::LatencyRaw => "latency-raw",
            Plot::Rate => "rate",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Plot::LatencyRaw => "Latency of every op",
            Plot::Rate => "Throughput",
        }
    }
}

fn draw<DB: DrawingBackend>(
    plot: Plot,
    root: &DrawingArea<DB, Shift>,
    h: &HistoryDigest,
) -> std::result::Result<(), Err<DB>> {
    match plot {
        Plot::LatencyRaw => draw_latency(root, h),
        Plot::Rate => draw_rate(root, h),
    }
}

/// Render a plot as SVG text.
pub fn render_svg(plot: Plot, h: &HistoryDigest) -> Result<String> {
    ensure_font()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        draw(plot, &root, h).map_err(|e| anyhow!("drawing {}.svg: {e}", plot.stem()))?;
    }
    Ok(s)
}

/// Render a plot into a PNG file.
pub fn render_png(plot: Plot, h: &HistoryDigest, path: &Path) -> Result<()> {
    ensure_font()?;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw(plot, &root, h).map_err(|e| anyhow!("drawing {}: {e}", path.display()))?;
    Ok(())
}
