//! The scaling figure (`ntm plot bench`): time per sequence-step and peak memory of the bench's
//! rows against the memory size of the NTM or DNC, both axes logarithmic, one line per (model,
//! mode, length), each labelled with its fitted log-log slope (1: linear in N; 2: quadratic,
//! as a DNC's link matrix; 0: flat).

use std::path::Path;

use plotters::prelude::*;

use super::axes::{chart_on, house_mesh, two_panel_page};
use super::style::{format_number, text, AXIS_SIZE, GRID, PALETTE};
use super::{render, PlotError};
use crate::measure::bench::BenchRow;

/// Which points of a series a panel draws (time or memory).
type PointsOf = fn(&Series) -> &Vec<(f64, f64)>;

/// The least-squares slope of log y against log x over `points` (None with fewer than two
/// distinct x).
pub fn log_log_slope(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0 && x.is_finite() && y.is_finite())
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    let n = logs.len() as f64;
    let (mx, my) = logs.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let sxx: f64 = logs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let sxy: f64 = logs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    (logs.len() >= 2 && sxx > 0.0).then(|| sxy / sxx)
}

/// One line: the rows of one model, mode and length, by slots.
struct Series {
    label: String,
    dashed: bool,
    colour: RGBColor,
    time: Vec<(f64, f64)>,
    memory: Vec<(f64, f64)>,
}

fn series(rows: &[BenchRow]) -> Vec<Series> {
    let mut keys: Vec<(String, String, usize)> =
        rows.iter().filter(|r| r.slots.is_some()).map(|r| (r.model.clone(), r.mode.clone(), r.length)).collect();
    keys.sort();
    keys.dedup();
    // One colour per model and length, the modes told apart by dashes.
    let mut colours: Vec<(&str, usize)> = keys.iter().map(|k| (k.0.as_str(), k.2)).collect();
    colours.dedup();
    let several_models = keys.iter().any(|k| k.0 != keys[0].0);
    keys.iter()
        .map(|(model, mode, length)| {
            let of = |f: fn(&BenchRow) -> f64| {
                let mut pts: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| &r.model == model && &r.mode == mode && r.length == *length)
                    .filter_map(|r| Some((r.slots? as f64, f(r))))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                pts
            };
            let time = of(|r| r.ms_per_step);
            let memory = of(|r| r.peak_rss_mb);
            let slope = |p: &[(f64, f64)]| log_log_slope(p).map_or("-".into(), |s| format!("{s:.2}"));
            let index = colours.iter().position(|c| *c == (model.as_str(), *length)).unwrap_or(0);
            let colour = PALETTE[index % PALETTE.len()];
            let who = if several_models { format!("{model} ") } else { String::new() };
            Series {
                label: format!("{who}{mode} L={length}: slope {} / {}", slope(&time), slope(&memory)),
                dashed: mode == "eval",
                colour,
                time,
                memory,
            }
        })
        .collect()
}

/// Draws the rows' ms per sequence-step (left) and peak MiB (right) against memory slots to
/// the PNG at `path`; the legend gives each line's slope, time / memory.
pub fn plot_scaling(rows: &[BenchRow], title: &str, path: &Path) -> Result<(), PlotError> {
    let lines = series(rows);
    if lines.iter().all(|s| s.time.is_empty()) {
        return Err(PlotError::empty(path, "no bench rows with memory slots (NTM or DNC rows)"));
    }
    let xs: Vec<f64> = lines.iter().flat_map(|s| s.time.iter().map(|p| p.0)).collect();
    let x_range = xs.iter().cloned().fold(f64::INFINITY, f64::min) / 1.5..xs.iter().cloned().fold(0.0, f64::max) * 1.5;
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let (root, left, right) = two_panel_page(path, title)?;
        let panels: [(_, PointsOf, &str); 2] =
            [(&left, |s| &s.time, "ms per sequence-step"), (&right, |s| &s.memory, "peak MiB (whole process)")];
        for (area, points, y_desc) in panels {
            let ys: Vec<f64> = lines.iter().flat_map(|s| points(s).iter().map(|p| p.1)).filter(|y| *y > 0.0).collect();
            let (lo, hi) = ys.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &y| (a.min(y), b.max(y)));
            // Room above the data for the legend.
            let y_range = lo / 2.0..hi * (hi / lo).max(10.0).powf(0.8);
            let mut chart =
                chart_on(area).build_cartesian_2d(x_range.clone().log_scale(), y_range.log_scale()).map_err(err)?;
            let fmt = |v: &f64| format_number(*v);
            house_mesh(&mut chart.configure_mesh())
                .x_label_formatter(&fmt)
                .y_label_formatter(&fmt)
                .x_desc("memory slots N")
                .y_desc(y_desc)
                .draw()
                .map_err(err)?;
            for s in &lines {
                let pts = points(s).clone();
                let line = s.colour.stroke_width(2);
                if s.dashed {
                    chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, line)).map_err(err)?;
                } else {
                    chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(err)?;
                }
                let dashed = s.dashed;
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, s.colour.filled())))
                    .map_err(err)?
                    .label(s.label.clone())
                    .legend(move |(x, y)| {
                        let path = match dashed {
                            true => PathElement::new(vec![(0, 0), (8, 0)], line),
                            false => PathElement::new(vec![(0, 0), (24, 0)], line),
                        };
                        EmptyElement::at((x, y)) + path + Circle::new((12, 0), 4, line.color.filled())
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(text(AXIS_SIZE - 1))
                .background_style(WHITE.mix(0.9))
                .border_style(GRID.stroke_width(1))
                .margin(10)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_power_law() {
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0].iter().map(|&x| (x, 3.0 * x * x)).collect();
        assert!((log_log_slope(&pts).unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(log_log_slope(&[(1.0, 1.0)]), None);
    }
}
