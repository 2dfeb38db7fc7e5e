//! The learning-curves figure (paper figure 3): loss in bits per sequence and wrong bits per
//! sequence against training sequences seen, every model on the same two charts.
//!
//! Each model's raw report intervals are drawn faint, with a smoothed line over them: a
//! centred moving average taken in log space (a running geometric mean, which suits the log
//! axis and, being centred, does not lag behind a falling curve).

use std::path::Path;

use plotters::prelude::*;

use super::axes::{draw_legend, legend_room, log_chart, two_panel_page, LogAxis};
use super::optimum::{has_optimum, plot_against_optimum};
use super::smooth::{half_window, smoothed};
use super::style::model_colours;
use super::{render, PlotError};
use crate::records::report::MetricsRecord;

/// Runs with at most this many records also get a dot per record.
const FEW_POINTS: usize = 20;

/// One metric of one model, as `(sequences, value)` points in increasing x.
type Points = Vec<(f64, f64)>;

/// Draws the learning curves of `runs` (model name, its `metrics.jsonl` records) to the PNG
/// at `path`: loss on the left, bit errors on the right, log y axes. Records that carry the
/// optimal predictor's loss (dynamic N-grams) are drawn against it instead (see `optimum.rs`).
pub fn plot_curves(runs: &[(String, Vec<MetricsRecord>)], title: &str, path: &Path) -> Result<(), PlotError> {
    if has_optimum(runs.iter().flat_map(|(_, r)| r)) {
        let models: Vec<(String, Vec<Vec<MetricsRecord>>)> =
            runs.iter().map(|(n, r)| (n.clone(), vec![r.clone()])).collect();
        return plot_against_optimum(&models, title, path);
    }
    let loss: Vec<Points> = runs.iter().map(|(_, r)| points(r, |m| m.loss_bits)).collect();
    let errors: Vec<Points> = runs.iter().map(|(_, r)| points(r, |m| m.bit_errors)).collect();
    let any_finite = |set: &[Points]| set.iter().flatten().any(|p| p.1.is_finite());
    if !any_finite(&loss) && !any_finite(&errors) {
        return Err(PlotError::empty(path, "no training records with finite values"));
    }
    let names: Vec<&str> = runs.iter().map(|(n, _)| n.as_str()).collect();
    let x_max = loss.iter().flatten().map(|p| p.0).fold(0.0, f64::max);
    let x_range = 0.0..if x_max > 0.0 { x_max * 1.02 } else { 1.0 };

    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let (root, left, right) = two_panel_page(path, title)?;
        let colours = model_colours(&names);
        let panels = [(&left, &loss, "loss (bits per sequence)"), (&right, &errors, "wrong bits per sequence")];
        for (area, set, y_desc) in panels {
            let axis = LogAxis::fit(set.iter().flatten().map(|p| p.1), legend_room(runs.len()));
            let mut chart = log_chart(area, x_range.clone(), &axis, "training sequences seen", y_desc).map_err(err)?;
            for ((pts, name), colour) in set.iter().zip(&names).zip(&colours) {
                let raw: Points = pts.iter().filter_map(|&(x, y)| Some((x, axis.clamp(y)?))).collect();
                let smooth = smoothed(&raw, half_window(raw.len()));
                if raw.len() <= FEW_POINTS {
                    let dots = raw.iter().map(|&p| Circle::new(p, 3, colour.filled()));
                    chart.draw_series(dots).map_err(err)?;
                }
                chart.draw_series(LineSeries::new(raw, colour.mix(0.22).stroke_width(1))).map_err(err)?;
                let line = colour.stroke_width(2);
                chart
                    .draw_series(LineSeries::new(smooth, line))
                    .map_err(err)?
                    .label(name.to_string())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
            }
            draw_legend(&mut chart).map_err(err)?;
        }
        root.present().map_err(err)
    })
}

/// The points of one metric, sorted by sequences seen (bad values are dealt with later).
fn points(records: &[MetricsRecord], metric: impl Fn(&MetricsRecord) -> f64) -> Points {
    let mut pts: Points = records.iter().map(|r| (r.sequences as f64, metric(r))).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}
