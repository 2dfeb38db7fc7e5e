//! Learning curves against a known optimum (dynamic N-grams, the paper's figure 13): for a task
//! whose training batches carry the optimal predictor's loss (`optimal_loss_bits` in
//! `metrics.jsonl`), the learning-curve figures of a run and of a sweep draw this instead of
//! their usual two panels.
//!
//! Left, the loss in bits per sequence on a linear axis (a model's loss falls from 1 bit per
//! prediction towards the optimum, a few bits above it, which a log axis would squeeze into a
//! sliver), with the optimal predictor's loss on the same batches dashed. Right, each model's
//! loss above the optimum on the same batches, on a log axis: the difference, not the loss, is
//! what tells models apart near the end (the batches' own difficulty, several bits from one
//! report interval to the next, cancels in it). Each model's report intervals are drawn faint
//! (every seed's, for a sweep) with a smoothed line over them (for a sweep, over the median
//! across seeds, and the interquartile band).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::axes::{chart_on, draw_legend, house_mesh, legend_room, log_chart, two_panel_page, LogAxis};
use super::smooth::{half_window, smoothed};
use super::style::{format_number, model_colours, INK};
use super::{render, PlotError};
use crate::records::report::MetricsRecord;
use crate::sweep::summary::Stats;

/// `(x, y)` points in increasing x.
type Points = Vec<(f64, f64)>;

/// A chart with both axes linear.
type LinearChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Opacity of the raw report intervals (every seed's).
const RAW_ALPHA: f64 = 0.22;
/// Opacity of the interquartile band.
const BAND_ALPHA: f64 = 0.2;

/// True if some record carries the optimal predictor's loss.
pub(crate) fn has_optimum<'a>(records: impl IntoIterator<Item = &'a MetricsRecord>) -> bool {
    records.into_iter().any(|r| r.optimal_loss_bits.is_some())
}

/// One model: a metric's points for every seed (one for a run).
struct Model {
    name: String,
    loss: Vec<Points>,
    /// Loss above the optimum of the same record.
    excess: Vec<Points>,
}

impl Model {
    fn new(name: &str, seeds: &[Vec<MetricsRecord>]) -> Self {
        let points = |f: &dyn Fn(&MetricsRecord) -> Option<f64>| -> Vec<Points> {
            seeds
                .iter()
                .map(|records| sorted(records.iter().filter_map(|r| Some((r.sequences as f64, f(r)?)))))
                .collect()
        };
        Model {
            name: name.to_owned(),
            loss: points(&|r| Some(r.loss_bits)),
            excess: points(&|r| Some(r.loss_bits - r.optimal_loss_bits?)),
        }
    }
}

fn sorted(points: impl Iterator<Item = (f64, f64)>) -> Points {
    let mut pts: Points = points.filter(|p| p.0.is_finite()).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

/// Per x, the statistics over the seeds that have a value there.
fn across(seeds: &[Points]) -> Vec<(f64, Stats)> {
    let mut at: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for (x, y) in seeds.iter().flatten() {
        at.entry(x.to_bits()).or_default().push(*y);
    }
    let mut out: Vec<(f64, Stats)> =
        at.into_iter().filter_map(|(x, ys)| Some((f64::from_bits(x), Stats::of(ys)?))).collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The optimum's points: per x, the median over every record there (every model of a seed
/// trains on the same episodes, so they agree; a sweep's seeds do not).
fn optimum(models: &[(String, Vec<Vec<MetricsRecord>>)]) -> Points {
    let seeds: Vec<Points> = models
        .iter()
        .flat_map(|(_, seeds)| seeds)
        .map(|records| sorted(records.iter().filter_map(|r| Some((r.sequences as f64, r.optimal_loss_bits?)))))
        .collect();
    across(&seeds).into_iter().map(|(x, s)| (x, s.median)).collect()
}

/// Draws the learning curves of `models` (per model every seed's `metrics.jsonl` records; one
/// seed for a run) against the optimum, to the PNG at `path`.
pub(crate) fn plot_against_optimum(
    models: &[(String, Vec<Vec<MetricsRecord>>)],
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    let optimum = optimum(models);
    let data: Vec<Model> = models.iter().map(|(name, seeds)| Model::new(name, seeds)).collect();
    let finite = |set: &dyn Fn(&Model) -> &Vec<Points>| data.iter().flat_map(set).flatten().any(|p| p.1.is_finite());
    if optimum.is_empty() || !finite(&|m| &m.loss) {
        return Err(PlotError::empty(path, "no training records with a finite loss and an optimum"));
    }
    let x_max = data.iter().flat_map(|m| m.loss.iter().flatten()).map(|p| p.0).fold(0.0, f64::max);
    let x_range = 0.0..if x_max > 0.0 { x_max * 1.02 } else { 1.0 };
    let names: Vec<&str> = data.iter().map(|m| m.name.as_str()).collect();
    let colours = model_colours(&names);
    let entries = data.len() + 1;

    // The loss axis: from just below the optimum to the highest loss, room above for the legend.
    let values = || data.iter().flat_map(|m| m.loss.iter().flatten()).map(|p| p.1).chain(optimum.iter().map(|p| p.1));
    let (lo, hi) =
        values().filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let span = (hi - lo).max(1.0);
    let room = legend_room(entries).clamp(0.05, 0.6);
    let y_range = (lo - 0.04 * span).floor()..hi + span * room / (1.0 - room);

    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let (root, left, right) = two_panel_page(path, title)?;
        let mut chart =
            linear_chart(&left, x_range.clone(), y_range.clone(), "loss (bits per sequence)").map_err(err)?;
        for (model, colour) in data.iter().zip(&colours) {
            for (pts, label, band) in draw_parts(&model.loss, &model.name, |v| Some(v).filter(|v| v.is_finite())) {
                draw_model(&mut chart, pts, band, label, *colour).map_err(err)?;
            }
        }
        let line = INK.stroke_width(2);
        let smooth = smoothed(&optimum, half_window(optimum.len()));
        chart
            .draw_series(DashedLineSeries::new(smooth, 8, 5, line))
            .map_err(err)?
            .label("optimum: the Bayes-optimal predictor on the same sequences")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
        draw_legend(&mut chart).map_err(err)?;

        let axis =
            LogAxis::fit(data.iter().flat_map(|m| m.excess.iter().flatten()).map(|p| p.1), legend_room(entries - 1));
        let y_desc = "loss above the optimum (bits per sequence)";
        let mut chart = log_chart(&right, x_range.clone(), &axis, "training sequences seen", y_desc).map_err(err)?;
        for (model, colour) in data.iter().zip(&colours) {
            for (pts, label, band) in draw_parts(&model.excess, &model.name, |v| axis.clamp(v)) {
                draw_model(&mut chart, pts, band, label, *colour).map_err(err)?;
            }
        }
        draw_legend(&mut chart).map_err(err)?;
        root.present().map_err(err)
    })
}

/// What to draw of one model's metric, each as `(points, label, band)`: every seed's raw
/// points (faint, no label), then the smoothed median with its label and, over several
/// seeds, the smoothed interquartile band. `clamp` maps a value onto the axis (`None`: left
/// out).
fn draw_parts(
    seeds: &[Points],
    name: &str,
    clamp: impl Fn(f64) -> Option<f64>,
) -> Vec<(Points, Option<String>, Points)> {
    let clamped = |pts: &[(f64, f64)]| -> Points { pts.iter().filter_map(|&(x, y)| Some((x, clamp(y)?))).collect() };
    let mut parts: Vec<(Points, Option<String>, Points)> =
        seeds.iter().map(|s| (clamped(s), None, Vec::new())).collect();
    let stats = across(seeds);
    let pick = |f: fn(&Stats) -> f64| -> Points { clamped(&stats.iter().map(|(x, s)| (*x, f(s))).collect::<Points>()) };
    let half = half_window(stats.len());
    let median = smoothed(&pick(|s| s.median), half);
    let (label, band) = match seeds.len() {
        1 => (name.to_owned(), Vec::new()),
        n => {
            let mut band = smoothed(&pick(|s| s.q1), half);
            band.extend(smoothed(&pick(|s| s.q3), half).into_iter().rev());
            (format!("{name}: median of {n} seeds, band q1-q3"), band)
        }
    };
    parts.push((median, Some(label), band));
    parts
}

/// Draws `pts` on `chart`: faint without a label, a solid line (and `band`) with one.
fn draw_model<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    pts: Points,
    band: Points,
    label: Option<String>,
    colour: RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let Some(label) = label else {
        chart.draw_series(LineSeries::new(pts, colour.mix(RAW_ALPHA).stroke_width(1)))?;
        return Ok(());
    };
    if band.len() >= 3 {
        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(BAND_ALPHA).filled())))?;
    }
    let line = colour.stroke_width(2);
    chart
        .draw_series(LineSeries::new(pts, line))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
    Ok(())
}

/// A line chart on `area` with both axes linear, in the house style.
fn linear_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: Range<f64>,
    y_desc: &str,
) -> Result<LinearChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = chart_on(area).build_cartesian_2d(x, y)?;
    let fmt = |v: &f64| format_number(*v);
    house_mesh(&mut chart.configure_mesh())
        .x_labels(8)
        .y_labels(10)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .x_desc("training sequences seen")
        .y_desc(y_desc)
        .draw()?;
    Ok(chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequences: u64, loss: f64, optimum: Option<f64>) -> MetricsRecord {
        MetricsRecord {
            sequences,
            loss_bits: loss,
            optimal_loss_bits: optimum,
            bit_errors: 0.0,
            seconds: 0.0,
            skipped: 0,
        }
    }

    #[test]
    fn the_excess_is_taken_record_by_record() {
        let seeds = vec![vec![record(2, 140.0, Some(131.0)), record(1, 150.0, Some(133.0))]];
        let model = Model::new("ntm", &seeds);
        assert_eq!(model.loss, vec![vec![(1.0, 150.0), (2.0, 140.0)]]);
        assert_eq!(model.excess, vec![vec![(1.0, 17.0), (2.0, 9.0)]]);
        assert!(has_optimum(&seeds[0]));
        assert!(!has_optimum(&[record(1, 1.0, None)]));
    }

    #[test]
    fn the_optimum_is_the_median_over_runs_at_each_x() {
        let models = vec![
            ("a".to_owned(), vec![vec![record(1, 0.0, Some(130.0))], vec![record(1, 0.0, Some(134.0))]]),
            ("b".to_owned(), vec![vec![record(1, 0.0, Some(131.0)), record(2, 0.0, None)]]),
        ];
        assert_eq!(optimum(&models), vec![(1.0, 131.0)]);
    }

    #[test]
    fn several_seeds_get_a_median_and_a_band() {
        let seeds: Vec<Points> = (0..3).map(|s| (1..=5).map(|x| (x as f64, 10.0 + s as f64)).collect()).collect();
        let parts = draw_parts(&seeds, "ntm", Some);
        assert_eq!(parts.len(), 4);
        let (median, label, band) = &parts[3];
        assert_eq!(label.as_deref(), Some("ntm: median of 3 seeds, band q1-q3"));
        assert!(median.iter().all(|p| (p.1 - 11.0).abs() < 1e-9), "{median:?}");
        assert_eq!(band.len(), 10);
        let one = draw_parts(&seeds[..1], "ntm", Some);
        assert_eq!((one.len(), one[1].1.as_deref(), one[1].2.len()), (2, Some("ntm"), 0));
    }
}
