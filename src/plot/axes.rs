//! The log-scaled y axis and the line-chart frame shared by the learning-curve and
//! generalisation figures.
//!
//! Errors and losses reach exactly 0 once a model has learnt a task, which a log axis
//! cannot show. Such values are drawn at a floor a decade below the smallest positive value
//! and that tick is labelled `0`.

use std::ops::Range;
use std::path::Path;

use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use super::grid::draw_caption;
use super::style::{format_number, text, AXIS_SIZE, GRID, INK, TICK_SIZE, TITLE_SIZE};
use super::PlotError;

/// Size in pixels of a page of two charts side by side (learning curves, generalisation).
const PAGE: (u32, u32) = (1400, 560);
/// Height of such a page's title block.
const PAGE_HEADER: u32 = 48;

/// A drawing area of a PNG page.
pub(crate) type Page<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// A white page of two chart panels side by side under `title`, to be written to `path`: the
/// page (to `present` when drawn) and its left and right panels.
pub(crate) fn two_panel_page<'a>(path: &'a Path, title: &str) -> Result<(Page<'a>, Page<'a>, Page<'a>), PlotError> {
    let err = |e| PlotError::draw(path, e);
    let root = BitMapBackend::new(path, PAGE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    draw_caption(&root, title, (16, 12), TITLE_SIZE).map_err(err)?;
    let body = root.margin(PAGE_HEADER, 10, 10, 10);
    let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
    Ok((root, left, right))
}

/// Lowest floor used, however small the positive values are.
const MIN_FLOOR: f64 = 1e-6;

/// A log-scaled value axis from `floor` (standing for 0) to `hi`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LogAxis {
    pub floor: f64,
    pub hi: f64,
}

impl LogAxis {
    /// Fits the axis to `values`, ignoring NaN and infinities: the floor is the power of ten
    /// a decade below the smallest positive value (1e-2 if there is none, never below 1e-6);
    /// above the largest value (at least ten times the floor) the top `headroom` fraction of
    /// the axis is left empty for the legend.
    pub(crate) fn fit(values: impl IntoIterator<Item = f64>, headroom: f64) -> Self {
        let (mut min_pos, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.into_iter().filter(|v| v.is_finite()) {
            if v > 0.0 {
                min_pos = min_pos.min(v);
            }
            max = max.max(v);
        }
        let floor = if min_pos.is_finite() { 10f64.powf(min_pos.log10().floor() - 1.0).max(MIN_FLOOR) } else { 1e-2 };
        let top = if max.is_finite() { max.max(floor * 10.0) } else { floor * 10.0 };
        let span = (top / floor).log10();
        let f = headroom.clamp(0.05, 0.6);
        let hi = top * 10f64.powf(span * f / (1.0 - f));
        LogAxis { floor, hi }
    }

    /// The value drawn for `v`: values at or below the floor sit on it, NaN/inf give `None`.
    pub(crate) fn clamp(&self, v: f64) -> Option<f64> {
        v.is_finite().then(|| v.clamp(self.floor, self.hi))
    }

    /// The plotted range, a hair below the floor so its tick is kept despite rounding.
    pub(crate) fn range(&self) -> Range<f64> {
        self.floor * 0.999..self.hi
    }

    /// Number of labels to ask plotters for: one per decade, so no in-between labels.
    pub(crate) fn labels(&self) -> usize {
        ((self.hi / self.floor).log10().ceil() as usize).clamp(2, 12) + 1
    }

    /// A tick label: `0` at the floor, otherwise the number.
    pub(crate) fn label(&self, v: f64) -> String {
        if (v / self.floor - 1.0).abs() < 1e-3 {
            "0".to_string()
        } else {
            format_number(v)
        }
    }
}

/// The fraction of a chart's height that a legend of `entries` models needs at the top.
pub(crate) fn legend_room(entries: usize) -> f64 {
    (30.0 + 22.0 * entries as f64) / 420.0
}

/// A chart with a linear x axis and a [`LogAxis`] y axis.
pub(crate) type LogChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, LogCoord<f64>>>;

/// A chart builder on `area` with the house margins and label areas (room for tick labels
/// on the left and below).
pub(crate) fn chart_on<'a, 'b, DB: DrawingBackend>(area: &'a DrawingArea<DB, Shift>) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(8)
        .margin_right(20)
        .set_label_area_size(LabelAreaPosition::Left, 70)
        .set_label_area_size(LabelAreaPosition::Bottom, 50);
    builder
}

/// The house style of a chart's mesh: axes in ink, a light grid, the tick and axis-name fonts.
pub(crate) fn house_mesh<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.axis_style(INK)
        .bold_line_style(GRID)
        .light_line_style(WHITE)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(AXIS_SIZE))
}

/// Builds a line chart on `area`: white background, light grid, axis names, the log y
/// axis and `x` linear.
pub(crate) fn log_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: &LogAxis,
    x_desc: &str,
    y_desc: &str,
) -> Result<LogChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = chart_on(area).build_cartesian_2d(x, y.range().log_scale())?;
    let x_fmt = |v: &f64| format_number(*v);
    let y_fmt = |v: &f64| y.label(*v);
    house_mesh(&mut chart.configure_mesh())
        .x_labels(8)
        .y_labels(y.labels())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()?;
    Ok(chart)
}

/// Draws the legend of the series labelled so far, framed, at the top right, on a chart of
/// any axes (log or linear).
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(text(AXIS_SIZE))
        .background_style(WHITE.mix(0.9))
        .border_style(GRID.stroke_width(1))
        .margin(10)
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_is_a_decade_below_the_smallest_positive_value() {
        let axis = LogAxis::fit([0.0, 0.03, 4.0, f64::NAN, f64::INFINITY], 0.1);
        assert!((axis.floor - 1e-3).abs() < 1e-12);
        assert!(axis.hi > 4.0);
        assert_eq!(axis.clamp(0.0), Some(axis.floor));
        assert_eq!(axis.clamp(-5.0), Some(axis.floor));
        assert_eq!(axis.clamp(f64::NAN), None);
        assert_eq!(axis.label(axis.floor), "0");
        assert_eq!(axis.label(1.0), "1");
    }

    #[test]
    fn headroom_raises_the_top() {
        let tight = LogAxis::fit([1.0, 100.0], 0.05);
        let roomy = LogAxis::fit([1.0, 100.0], 0.5);
        assert!((roomy.floor - 0.1).abs() < 1e-12);
        assert!((roomy.hi / 1e5 - 1.0).abs() < 1e-9, "{roomy:?}");
        assert!(tight.hi < roomy.hi && tight.hi > 100.0);
    }

    #[test]
    fn degenerate_inputs_give_a_usable_axis() {
        let cases: [&[f64]; 4] = [&[], &[0.0, 0.0], &[f64::NAN], &[1e-30]];
        for values in cases {
            let axis = LogAxis::fit(values.iter().copied(), 0.2);
            assert!(axis.floor > 0.0 && axis.hi > axis.floor, "{axis:?}");
            assert!(axis.labels() >= 3);
        }
    }
}
