//! Plots (plotters): every figure as SVG and PNG. Text is rendered with the
//! DejaVu Sans font shipped in `assets/` (Bitstream Vera licence, see
//! `assets/DejaVuSans-LICENSE.txt`) through plotters' `ab_glyph` feature, so
//! no system font library is needed.

use crate::report::{Report, Series};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The font is a valid TrueType file compiled in; registration cannot
        // fail for it, and a failure would only remove text from the plots.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

const W: u32 = 800;
const H: u32 = 500;

type DrawResult = Result<(), String>;

fn e<T: std::fmt::Debug>(x: T) -> String {
    format!("{x:?}")
}

fn range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in v.filter(|x| x.is_finite()) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= 0.0 {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let m = 0.05 * (hi - lo);
    (lo - m, hi + m)
}

/// Float vs fixed curves on one chart.
fn curves<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, series: &[Series]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(e)?;
    let (x0, x1) = range(series.iter().flat_map(|s| s.x.iter().copied()));
    let (y0, y1) = range(series.iter().flat_map(|s| s.float.iter().chain(&s.fixed).copied()));
    let mut chart = ChartBuilder::on(root).caption(title, ("sans-serif", 20)).margin(10).x_label_area_size(40).y_label_area_size(70).build_cartesian_2d(x0..x1, y0..y1).map_err(e)?;
    let (xl, yl) = series.first().map_or(("", ""), |s| (s.x_label.as_str(), s.y_label.as_str()));
    chart.configure_mesh().x_desc(xl).y_desc(yl).label_style(("sans-serif", 12)).draw().map_err(e)?;
    for (k, s) in series.iter().enumerate() {
        let c = Palette99::pick(k).to_rgba();
        let pts = |v: &[f64]| s.x.iter().copied().zip(v.iter().copied()).collect::<Vec<_>>();
        chart.draw_series(LineSeries::new(pts(&s.float), c.stroke_width(2))).map_err(e)?.label(format!("{} float", s.name)).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(pts(&s.fixed).into_iter().map(|p| Cross::new(p, 4, c.stroke_width(1)))).map_err(e)?.label(format!("{} fixed", s.name)).legend(move |(x, y)| Cross::new((x + 10, y), 4, c));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 11)).draw().map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

/// A histogram of `values` (float and, if given, fixed).
fn histogram<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, x_label: &str, float: &[f64], fixed: &[f64]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(e)?;
    let (x0, x1) = range(float.iter().chain(fixed).copied());
    let bins = 40usize;
    let width = (x1 - x0) / bins as f64;
    let count = |v: &[f64]| {
        let mut c = vec![0u32; bins];
        for &x in v.iter().filter(|x| x.is_finite()) {
            c[(((x - x0) / width) as usize).min(bins - 1)] += 1;
        }
        c
    };
    let (cf, cx) = (count(float), count(fixed));
    let top = cf.iter().chain(&cx).copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let mut chart = ChartBuilder::on(root).caption(title, ("sans-serif", 20)).margin(10).x_label_area_size(40).y_label_area_size(60).build_cartesian_2d(x0..x1, 0.0..top).map_err(e)?;
    chart.configure_mesh().x_desc(x_label).y_desc("count").label_style(("sans-serif", 12)).draw().map_err(e)?;
    let bars = |c: &[u32], style: ShapeStyle| c.iter().enumerate().map(move |(i, &n)| Rectangle::new([(x0 + i as f64 * width, 0.0), (x0 + (i + 1) as f64 * width, n as f64)], style)).collect::<Vec<_>>();
    chart.draw_series(bars(&cf, BLUE.mix(0.4).filled())).map_err(e)?.label("float").legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], BLUE.mix(0.4).filled()));
    if !fixed.is_empty() {
        chart.draw_series(bars(&cx, RED.stroke_width(2))).map_err(e)?.label("fixed").legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], RED.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 11)).draw().map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

/// Raster of float (dots) and fixed (crosses) spikes.
fn raster<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, dt_ms: f64, float: &[(u32, u32)], fixed: &[(u32, u32)]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(e)?;
    let t = |s: u32| s as f64 * dt_ms / 1000.0;
    let (x0, x1) = range(float.iter().chain(fixed).map(|p| t(p.0)));
    let (y0, y1) = range(float.iter().chain(fixed).map(|p| p.1 as f64));
    let mut chart = ChartBuilder::on(root).caption(title, ("sans-serif", 20)).margin(10).x_label_area_size(40).y_label_area_size(60).build_cartesian_2d(x0..x1, y0..y1).map_err(e)?;
    chart.configure_mesh().x_desc("time (s)").y_desc("neuron").label_style(("sans-serif", 12)).draw().map_err(e)?;
    chart.draw_series(float.iter().map(|p| Circle::new((t(p.0), p.1 as f64), 2, BLUE.filled()))).map_err(e)?.label("float").legend(|(x, y)| Circle::new((x + 8, y), 3, BLUE.filled()));
    chart.draw_series(fixed.iter().map(|p| Cross::new((t(p.0), p.1 as f64 + 0.3), 3, RED))).map_err(e)?.label("fixed").legend(|(x, y)| Cross::new((x + 8, y), 3, RED));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 11)).draw().map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

enum Figure<'a> {
    Curves(&'a str, &'a [Series]),
    Hist(&'a str, &'a str, &'a [f64], &'a [f64]),
    Raster(&'a str, f64, &'a [(u32, u32)], &'a [(u32, u32)]),
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, f: &Figure<'_>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    match f {
        Figure::Curves(t, s) => curves(root, t, s),
        Figure::Hist(t, x, a, b) => histogram(root, t, x, a, b),
        Figure::Raster(t, dt, a, b) => raster(root, t, *dt, a, b),
    }
}

fn both(dir: &Path, stem: &str, f: &Figure<'_>, written: &mut Vec<String>) -> DrawResult {
    let svg = dir.join(format!("{stem}.svg"));
    draw(&SVGBackend::new(&svg, (W, H)).into_drawing_area(), f)?;
    let png = dir.join(format!("{stem}.png"));
    draw(&BitMapBackend::new(&png, (W, H)).into_drawing_area(), f)?;
    written.push(format!("{stem}.svg"));
    written.push(format!("{stem}.png"));
    Ok(())
}

fn safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// Writes every figure the report has data for into `dir`; returns the file
/// names (relative to `dir`).
pub fn write_plots(report: &Report, dir: &Path) -> Result<Vec<String>, String> {
    register_font();
    let mut out = Vec::new();
    if !report.curves.is_empty() {
        let title = format!("{}: float vs fixed", report.protocol.as_deref().unwrap_or("protocol"));
        // one figure per group of curves with the same axes
        let mut groups: Vec<Vec<Series>> = Vec::new();
        for s in &report.curves {
            match groups.iter_mut().find(|g| g[0].x_label == s.x_label && g[0].y_label == s.y_label && g.len() < 5) {
                Some(g) => g.push(s.clone()),
                None => groups.push(vec![s.clone()]),
            }
        }
        for (k, g) in groups.iter().enumerate() {
            let stem = if report.protocol.as_deref() == Some("stdp-window") && k == 0 { "stdp_window".to_string() } else { format!("protocol_{}_{k}", safe(report.protocol.as_deref().unwrap_or("curves"))) };
            both(dir, &stem, &Figure::Curves(&title, g), &mut out)?;
        }
    }
    for p in &report.projections {
        let stem = safe(&p.projection);
        if !p.trajectories.is_empty() {
            both(dir, &format!("weights_{stem}"), &Figure::Curves(&format!("weight trajectories, {}", p.projection), &p.trajectories), &mut out)?;
        }
        if !p.dw_errors.is_empty() {
            both(dir, &format!("dw_error_{stem}"), &Figure::Hist(&format!("dw error, {}", p.projection), "(dw fixed - dw float) / (w_max - w_min)", &p.dw_errors, &[]), &mut out)?;
        }
        if !p.final_float.is_empty() {
            both(dir, &format!("weight_dist_{stem}"), &Figure::Hist(&format!("final weights, {}", p.projection), "weight", &p.final_float, &p.final_fixed), &mut out)?;
        }
    }
    for p in &report.populations {
        if !p.raster_float.is_empty() || !p.raster_fixed.is_empty() {
            both(dir, &format!("raster_{}", safe(&p.population)), &Figure::Raster(&format!("spikes, {}", p.population), report.dt_ms, &p.raster_float, &p.raster_fixed), &mut out)?;
        }
    }
    Ok(out)
}
