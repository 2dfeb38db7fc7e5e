//! A sweep's learning curves and generalisation: per model, the median over seeds as a line,
//! the interquartile range (q1 to q3, linear interpolation as in `summary.json`) as a band,
//! and every seed as a faint line, on the log axes of the single-run figures.

use std::path::Path;

use plotters::prelude::*;

use super::axes::{draw_legend, legend_room, log_chart, two_panel_page, LogAxis, LogChart};
use super::generalisation::{shade_training, LengthRange};
use super::optimum::{has_optimum, plot_against_optimum};
use super::style::{model_colours, INK};
use super::{render, PlotError};
use crate::records::report::MetricsRecord;
use crate::sweep::summary::{Stats, Summary};

/// Opacity of one seed's line: faint enough that 20 overlapping seeds still show the median.
const SEED_ALPHA: f64 = 0.22;
/// Opacity of the interquartile band.
const BAND_ALPHA: f64 = 0.2;

/// Per x, the median and quartiles of the seeds that have a value there.
type Quartiles = Vec<(f64, Stats)>;

/// One metric of one model: every seed's `(x, y)` points and the quartiles over seeds.
struct Series {
    seeds: Vec<Vec<(f64, f64)>>,
    quartiles: Quartiles,
}

impl Series {
    fn new(seeds: Vec<Vec<(f64, f64)>>) -> Self {
        let mut xs: Vec<f64> = seeds.iter().flatten().map(|p| p.0).filter(|x| x.is_finite()).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let quartiles = xs
            .into_iter()
            .filter_map(|x| {
                let at_x = seeds.iter().flat_map(|s| s.iter().filter(|p| p.0 == x).map(|p| p.1));
                Some((x, Stats::of(at_x)?))
            })
            .collect();
        Self { seeds, quartiles }
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.seeds.iter().flatten().map(|p| p.1)
    }
}

/// Draws one model's seeds, band and median on `chart`; `dots` marks the median's points.
fn draw_model<'a, DB: DrawingBackend + 'a>(
    chart: &mut LogChart<'a, DB>,
    axis: &LogAxis,
    series: &Series,
    colour: RGBColor,
    label: String,
    dots: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for seed in &series.seeds {
        let pts: Vec<(f64, f64)> = seed.iter().filter_map(|&(x, y)| Some((x, axis.clamp(y)?))).collect();
        chart.draw_series(LineSeries::new(pts, colour.mix(SEED_ALPHA).stroke_width(1)))?;
    }
    let q = &series.quartiles;
    let mut band: Vec<(f64, f64)> = q.iter().filter_map(|(x, s)| Some((*x, axis.clamp(s.q1)?))).collect();
    band.extend(q.iter().rev().filter_map(|(x, s)| Some((*x, axis.clamp(s.q3)?))));
    if band.len() >= 3 {
        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(BAND_ALPHA).filled())))?;
    }
    let median: Vec<(f64, f64)> = q.iter().filter_map(|(x, s)| Some((*x, axis.clamp(s.median)?))).collect();
    let line = colour.stroke_width(3);
    if dots {
        chart.draw_series(median.iter().map(|&p| Circle::new(p, 5, colour.filled())))?;
    }
    chart.draw_series(LineSeries::new(median, line))?.label(label).legend(move |(x, y)| {
        EmptyElement::at((x, y))
            + Rectangle::new([(0, -6), (24, 6)], colour.mix(BAND_ALPHA).filled())
            + PathElement::new(vec![(0, 0), (24, 0)], line)
    });
    Ok(())
}

/// The legend label of a model: `ntm: median of 10 seeds, band q1-q3`.
fn label(name: &str, seeds: usize) -> String {
    format!("{name}: median of {seeds} seed{}, band q1-q3", if seeds == 1 { "" } else { "s" })
}

/// Draws the learning curves of a sweep to the PNG at `path`: loss on the left, bit errors
/// on the right (with the convergence `threshold` dashed), against training sequences seen.
/// `models` holds per model every seed's `metrics.jsonl` records. Records that carry the
/// optimal predictor's loss (dynamic N-grams) are drawn against it instead (see `optimum.rs`).
pub fn plot_sweep_curves(
    models: &[(String, Vec<Vec<MetricsRecord>>)],
    threshold: f64,
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    if has_optimum(models.iter().flat_map(|(_, seeds)| seeds.iter().flatten())) {
        return plot_against_optimum(models, title, path);
    }
    let metric = |f: fn(&MetricsRecord) -> f64| -> Vec<Series> {
        models
            .iter()
            .map(|(_, seeds)| {
                Series::new(seeds.iter().map(|r| r.iter().map(|m| (m.sequences as f64, f(m))).collect()).collect())
            })
            .collect()
    };
    let (loss, errors) = (metric(|m| m.loss_bits), metric(|m| m.bit_errors));
    if !loss.iter().chain(&errors).flat_map(Series::values).any(f64::is_finite) {
        return Err(PlotError::empty(path, "no training records with finite values"));
    }
    let names: Vec<&str> = models.iter().map(|(n, _)| n.as_str()).collect();
    let x_max = models.iter().flat_map(|(_, s)| s.iter().flatten()).map(|m| m.sequences as f64).fold(0.0, f64::max);
    let x_range = 0.0..if x_max > 0.0 { x_max * 1.02 } else { 1.0 };
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let (root, left, right) = two_panel_page(path, title)?;
        let colours = model_colours(&names);
        let panels = [
            (&left, &loss, "loss (bits per sequence)", None),
            (&right, &errors, "wrong bits per sequence", Some(threshold)),
        ];
        for (area, set, y_desc, line) in panels {
            let values = set.iter().flat_map(Series::values).chain(line);
            let axis = LogAxis::fit(values, legend_room(models.len() + line.is_some() as usize));
            let mut chart = log_chart(area, x_range.clone(), &axis, "training sequences seen", y_desc).map_err(err)?;
            for (((series, name), colour), (_, seeds)) in set.iter().zip(&names).zip(&colours).zip(models) {
                draw_model(&mut chart, &axis, series, *colour, label(name, seeds.len()), false).map_err(err)?;
            }
            if let Some(y) = line {
                let style = INK.mix(0.6).stroke_width(1);
                chart
                    .draw_series(DashedLineSeries::new([(0.0, y), (x_range.end, y)], 6, 4, style))
                    .map_err(err)?
                    .label(format!("threshold {y}"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
            }
            draw_legend(&mut chart).map_err(err)?;
        }
        root.present().map_err(err)
    })
}

/// Draws a sweep's generalisation to the PNG at `path`: wrong bits (left) and loss (right)
/// against test length, per model the median, band and seeds of `summary`'s evaluations,
/// with `train_range` (shortest, longest training length, or a [`LengthRange`] with the task's
/// words) shaded.
pub fn plot_sweep_generalisation(
    summary: &Summary,
    train_range: impl Into<LengthRange>,
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    let train_range: LengthRange = train_range.into();
    let models: Vec<(&String, usize)> =
        summary.models.iter().map(|(n, m)| (n, m.counts.evaluated)).filter(|m| m.1 > 0).collect();
    let metric = |f: fn(&crate::sweep::summary::EvalPoint) -> f64| -> Vec<Series> {
        models
            .iter()
            .map(|(name, _)| {
                let seeds = summary.models[*name].seeds.iter().filter_map(|s| s.eval.as_ref());
                Series::new(seeds.map(|e| e.iter().map(|p| (p.length as f64, f(p))).collect()).collect())
            })
            .collect()
    };
    let (errors, loss) = (metric(|p| p.bit_errors), metric(|p| p.loss_bits));
    if !errors.iter().chain(&loss).flat_map(Series::values).any(f64::is_finite) {
        return Err(PlotError::empty(path, "no evaluation results with finite values"));
    }
    let names: Vec<&str> = models.iter().map(|(n, _)| n.as_str()).collect();
    let hi = train_range.range.0.max(train_range.range.1);
    let longest = errors.iter().flat_map(|s| s.seeds.iter().flatten()).map(|p| p.0).fold(hi as f64, f64::max);
    let x_range = 0.0..longest.max(1.0) * 1.05 + 1.0;
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let (root, left, right) = two_panel_page(path, title)?;
        let colours = model_colours(&names);
        for (area, set, y_desc) in
            [(&left, &errors, "wrong bits per sequence"), (&right, &loss, "loss (bits per sequence)")]
        {
            let axis = LogAxis::fit(set.iter().flat_map(Series::values), legend_room(models.len()));
            let mut chart = log_chart(area, x_range.clone(), &axis, &train_range.axis(), y_desc).map_err(err)?;
            shade_training(&mut chart, &axis, &train_range).map_err(err)?;
            for ((series, (name, n)), colour) in set.iter().zip(&models).zip(&colours) {
                draw_model(&mut chart, &axis, series, *colour, label(name, *n), true).map_err(err)?;
            }
            draw_legend(&mut chart).map_err(err)?;
        }
        root.present().map_err(err)
    })
}
