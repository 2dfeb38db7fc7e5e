//! The generalisation figure: how each model does on sequences longer than it was trained
//! on (the copy experiment of the paper's section 4.1), from each model's `eval.json`.
//!
//! Wrong bits per sequence on the left and loss in bits per sequence on the right, against
//! the test length, with the range of training lengths shaded. The task's [`LengthWords`]
//! name the axis and the band ("number of items" for associative recall).

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use ntm_tasks::LengthWords;

use super::axes::{draw_legend, legend_room, log_chart, two_panel_page, LogAxis, LogChart};
use super::style::{model_colours, text, AXIS_SIZE, INK};
use super::{render, PlotError};
use crate::records::report::{EvalReport, EvalResult};

/// Shade of the training range.
const TRAIN_SHADE: RGBColor = RGBColor(234, 234, 242);

/// Reads one number off an evaluation result.
type Metric = fn(&EvalResult) -> f64;

/// The training range of a task's length parameter, inclusive, and the words for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthRange {
    /// `(shortest, longest)` trained on.
    pub range: (usize, usize),
    /// How the task names its length (axis title, band label).
    pub words: LengthWords,
}

impl From<(usize, usize)> for LengthRange {
    /// A range of sequence lengths (copy, repeat copy).
    fn from(range: (usize, usize)) -> Self {
        LengthRange { range, words: LengthWords::default() }
    }
}

impl LengthRange {
    /// `(lo, hi)` in order, whichever way round the range was given.
    fn ordered(&self) -> (usize, usize) {
        (self.range.0.min(self.range.1), self.range.0.max(self.range.1))
    }

    /// The x axis title: `"test sequence length"`.
    pub(crate) fn axis(&self) -> String {
        format!("test {}", self.words.axis)
    }
}

/// Draws bit errors and loss against test length for every report to the PNG at `path`,
/// shading `train_range` (`(shortest, longest)` training length, inclusive, or a
/// [`LengthRange`] with the task's words for its length).
pub fn plot_generalisation(
    reports: &[EvalReport],
    train_range: impl Into<LengthRange>,
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    let train_range: LengthRange = train_range.into();
    let finite = |r: &EvalResult| r.bit_errors.is_finite() || r.loss_bits.is_finite();
    if !reports.iter().flat_map(|r| &r.results).any(finite) {
        return Err(PlotError::empty(path, "no evaluation results with finite values"));
    }
    let names: Vec<&str> = reports.iter().map(|r| r.model.as_str()).collect();
    let (_, train_hi) = train_range.ordered();
    let longest = reports.iter().flat_map(|r| &r.results).map(|r| r.length).max().unwrap_or(1);
    let x_max = longest.max(train_hi).max(1) as f64;
    let x_range = 0.0..x_max * 1.05 + 1.0;

    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let (root, left, right) = two_panel_page(path, title)?;
        let colours = model_colours(&names);
        let metrics: [(_, Metric, _); 2] = [
            (&left, |r| r.bit_errors, "wrong bits per sequence"),
            (&right, |r| r.loss_bits, "loss (bits per sequence)"),
        ];
        for (area, metric, y_desc) in metrics {
            let values = reports.iter().flat_map(|r| &r.results).map(metric);
            let axis = LogAxis::fit(values, legend_room(reports.len()));
            let mut chart = log_chart(area, x_range.clone(), &axis, &train_range.axis(), y_desc).map_err(err)?;
            shade_training(&mut chart, &axis, &train_range).map_err(err)?;
            for ((report, name), &colour) in reports.iter().zip(&names).zip(&colours) {
                let mut pts: Vec<(f64, f64)> =
                    report.results.iter().filter_map(|r| Some((r.length as f64, axis.clamp(metric(r))?))).collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let line = colour.stroke_width(2);
                chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(err)?;
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 5, colour.filled())))
                    .map_err(err)?
                    .label(name.to_string())
                    .legend(move |(x, y)| {
                        EmptyElement::at((x, y))
                            + PathElement::new(vec![(0, 0), (24, 0)], line)
                            + Circle::new((12, 0), 5, colour.filled())
                    });
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 5, WHITE.stroke_width(1)))).map_err(err)?;
            }
            draw_legend(&mut chart).map_err(err)?;
        }
        root.present().map_err(err)
    })
}

/// Shades the training range across the whole chart height and names the band.
pub(crate) fn shade_training<DB: DrawingBackend>(
    chart: &mut LogChart<'_, DB>,
    axis: &LogAxis,
    training: &LengthRange,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (bottom, top) = (axis.range().start, axis.hi);
    let (lo, hi) = training.ordered();
    let (x0, x1) = (lo as f64 - 0.5, hi as f64 + 0.5);
    chart.draw_series(std::iter::once(Rectangle::new([(x0, bottom), (x1, top)], TRAIN_SHADE.filled())))?;
    let ink = INK.mix(0.8);
    let style = text(AXIS_SIZE - 1).color(&ink).pos(Pos::new(HPos::Left, VPos::Top));
    let label = EmptyElement::at((x0, top)) + Text::new(training.words.range, (6, 6), style);
    chart.draw_series(std::iter::once(label))?;
    Ok(())
}
