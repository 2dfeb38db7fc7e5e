//! Matrices drawn as heatmaps (one filled rectangle per cell, as in plotters'
//! `examples/matshow.rs`), their colour bars and captions: the building blocks of the
//! heads and outputs figures.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{text, tick_label, Scale, CAPTION_SIZE, ERROR_MARK, INK, TICK_SIZE};

/// A `rows x cols` matrix of values, drawn with row 0 at the top and column = time step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    pub rows: usize,
    pub cols: usize,
    values: Vec<f32>, // [rows, cols], row-major
}

impl Grid {
    /// Transposes time-major vectors (`[time][channel]`, as the records store them) into a
    /// `[channel][time]` grid of `cols` time steps. Ragged or missing vectors are padded
    /// with NaN, which draws grey.
    pub(crate) fn from_time_major<'a>(steps: impl IntoIterator<Item = &'a [f32]>, cols: usize) -> Grid {
        let steps: Vec<&[f32]> = steps.into_iter().take(cols).collect();
        let rows = steps.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut values = vec![f32::NAN; rows * cols];
        for (t, step) in steps.iter().enumerate() {
            for (r, &v) in step.iter().enumerate() {
                values[r * cols + t] = v;
            }
        }
        Grid { rows, cols, values }
    }

    /// The value at row `r`, column `c` (NaN outside the grid).
    pub(crate) fn get(&self, r: usize, c: usize) -> f32 {
        if r < self.rows && c < self.cols {
            self.values[r * self.cols + c]
        } else {
            f32::NAN
        }
    }

    /// The smallest and largest finite values, if any.
    pub(crate) fn finite_range(&self) -> Option<(f64, f64)> {
        let finite = self.values.iter().filter(|v| v.is_finite()).map(|&v| v as f64);
        finite.fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
    }

    /// Rows holding a value above `threshold` somewhere, as `first..last + 1`.
    pub(crate) fn used_rows(&self, threshold: f32) -> Option<Range<usize>> {
        let used = |r: &usize| (0..self.cols).any(|c| self.get(*r, c) > threshold);
        let first = (0..self.rows).find(used)?;
        let last = (0..self.rows).rev().find(used)?;
        Some(first..last + 1)
    }

    /// The sequential scale for this grid: `[0, 1]` when every finite value lies in it
    /// (bits, probabilities), otherwise the grid's own finite range.
    pub(crate) fn sequential_scale(&self) -> Scale {
        match self.finite_range() {
            Some((lo, hi)) if lo < 0.0 || hi > 1.0 => Scale { lo, hi: hi.max(lo + 1e-6), ..Scale::unit() },
            _ => Scale::unit(),
        }
    }
}

/// How one heatmap is drawn, besides its data.
pub(crate) struct Heatmap<'a> {
    pub grid: &'a Grid,
    /// Rows shown (the others are cropped away).
    pub rows: Range<usize>,
    pub scale: Scale,
    /// Pixels left of the cells for tick labels and `y_desc` (0: no y axis).
    pub left: u32,
    /// Rotated description of the rows, e.g. "slot".
    pub y_desc: &'a str,
    /// Pixels below the cells for time tick labels and `x_desc` (0: no x axis).
    pub bottom: u32,
    /// Description of the columns under the ticks, e.g. "time step" ("" for none).
    pub x_desc: &'a str,
    /// Columns drawn faded, e.g. where the mask is 0.
    pub faded: &'a [bool],
    /// Cells outlined in red, `(row, col)`, e.g. wrong bits.
    pub marks: &'a [(usize, usize)],
    /// Columns before which a thin white divider is drawn (phase changes).
    pub dividers: &'a [usize],
}

/// Draws `map` to fill `area`.
pub(crate) fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    map: &Heatmap,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (lo, hi) = (map.rows.start, map.rows.end.max(map.rows.start + 1));
    let cols = map.grid.cols.max(1);
    // Cells centred on integer coordinates; y = -row so that row 0 is on top.
    let x_range = -0.5..cols as f64 - 0.5;
    let y_range = -(hi as f64 - 0.5)..-(lo as f64 - 0.5);
    let mut chart = ChartBuilder::on(area)
        .set_label_area_size(LabelAreaPosition::Left, map.left)
        .set_label_area_size(LabelAreaPosition::Bottom, map.bottom)
        .build_cartesian_2d(x_range, y_range)?;
    let (w, h) = chart.plotting_area().dim_in_pixel();

    let integer = |v: &f64| {
        if (v - v.round()).abs() < 1e-6 {
            format!("{}", v.round().abs())
        } else {
            String::new()
        }
    };
    let y_ticks = (h as usize / 22).clamp(2, (hi - lo).max(2));
    let x_ticks = (w as usize / 55).clamp(2, cols.max(2));
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh()
        .axis_style(INK)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(CAPTION_SIZE - 1))
        .x_labels(x_ticks)
        .y_labels(y_ticks)
        .x_label_formatter(&integer)
        .y_label_formatter(&integer)
        .set_all_tick_mark_size(3);
    if map.left == 0 {
        mesh.disable_y_axis();
    } else {
        mesh.y_desc(map.y_desc);
    }
    if map.bottom == 0 {
        mesh.disable_x_axis();
    } else if !map.x_desc.is_empty() {
        mesh.x_desc(map.x_desc);
    }
    mesh.draw()?;

    let cell = |r: usize, c: usize| {
        let (x, y) = (c as f64, -(r as f64));
        [(x - 0.5, y + 0.5), (x + 0.5, y - 0.5)]
    };
    chart.draw_series((lo..hi.min(map.grid.rows)).flat_map(|r| {
        (0..map.grid.cols).map(move |c| {
            let colour = map.scale.colour(map.grid.get(r, c) as f64);
            Rectangle::new(cell(r, c), colour.filled())
        })
    }))?;
    let area_pixels = chart.plotting_area();
    for run in runs(map.faded) {
        let (x0, x1) = (run.start as f64 - 0.5, run.end.min(cols) as f64 - 0.5);
        let band = [(x0, -(hi as f64 - 0.5)), (x1, -(lo as f64 - 0.5))];
        area_pixels.draw(&Rectangle::new(band, WHITE.mix(0.6).filled()))?;
    }
    let mark = ERROR_MARK.stroke_width(if w as usize >= 10 * cols { 2 } else { 1 });
    for &(r, c) in map.marks.iter().filter(|(r, c)| map.rows.contains(r) && *c < cols) {
        area_pixels.draw(&Rectangle::new(cell(r, c), mark))?;
    }
    for &c in map.dividers.iter().filter(|&&c| c > 0 && c < cols) {
        let x = c as f64 - 0.5;
        let line = vec![(x, -(hi as f64 - 0.5)), (x, -(lo as f64 - 0.5))];
        area_pixels.draw(&PathElement::new(line, WHITE.mix(0.9).stroke_width(1)))?;
    }
    // A frame around the cells.
    let frame = [(-0.5, -(lo as f64 - 0.5)), (cols as f64 - 0.5, -(hi as f64 - 0.5))];
    area_pixels.draw(&Rectangle::new(frame, INK.stroke_width(1)))?;
    Ok(())
}

/// Maximal runs of `true` in `flags`, as index ranges.
fn runs(flags: &[bool]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, _) in flags.iter().enumerate().filter(|(_, &f)| f) {
        match out.last_mut() {
            Some(run) if run.end == i => run.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// Draws a vertical colour bar for `scale` filling `area`, ticks on its right; `bottom`
/// pixels are left empty so that it lines up with a heatmap drawn with the same `bottom`.
pub(crate) fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: &Scale,
    bottom: u32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .margin_left(8)
        .set_label_area_size(LabelAreaPosition::Right, 38)
        .set_label_area_size(LabelAreaPosition::Bottom, bottom)
        .build_cartesian_2d(0.0..1.0, scale.lo..scale.hi)?;
    let (_, h) = chart.plotting_area().dim_in_pixel();
    let fmt = |v: &f64| tick_label(*v, scale.hi - scale.lo);
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .axis_style(INK)
        .label_style(text(TICK_SIZE - 1))
        .y_labels(if h < 70 { 2 } else { 5 })
        .y_label_formatter(&fmt)
        .set_all_tick_mark_size(3)
        .draw()?;
    const STRIPS: usize = 64;
    let step = (scale.hi - scale.lo) / STRIPS as f64;
    chart.draw_series((0..STRIPS).map(|i| {
        let v0 = scale.lo + step * i as f64;
        let colour = scale.colour(v0 + step / 2.0);
        Rectangle::new([(0.0, v0), (1.0, v0 + step)], colour.filled())
    }))?;
    chart.plotting_area().draw(&Rectangle::new([(0.0, scale.lo), (1.0, scale.hi)], INK.stroke_width(1)))?;
    Ok(())
}

/// Writes `caption` at pixel `(x, y)` of `area` (top-left anchored).
pub(crate) fn draw_caption<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    (x, y): (i32, i32),
    size: u32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = text(size).pos(Pos::new(HPos::Left, VPos::Top));
    area.draw(&Text::new(caption.to_string(), (x, y), style))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_and_pads_ragged_steps() {
        let steps: Vec<Vec<f32>> = vec![vec![1.0, 2.0], vec![3.0]];
        let g = Grid::from_time_major(steps.iter().map(|s| s.as_slice()), 3);
        assert_eq!((g.rows, g.cols), (2, 3));
        assert_eq!(g.get(1, 0), 2.0);
        assert_eq!(g.get(0, 1), 3.0);
        assert!(g.get(1, 1).is_nan() && g.get(0, 2).is_nan() && g.get(9, 9).is_nan());
    }

    #[test]
    fn runs_of_flags() {
        assert_eq!(runs(&[true, true, false, true]), vec![0..2, 3..4]);
        assert!(runs(&[]).is_empty());
    }

    #[test]
    fn used_rows_and_range() {
        let steps: Vec<Vec<f32>> = vec![vec![0.0, 0.5, 0.0, 0.0], vec![0.0, 0.0, 0.9, f32::NAN]];
        let g = Grid::from_time_major(steps.iter().map(|s| s.as_slice()), 2);
        assert_eq!(g.used_rows(0.01), Some(1..3));
        assert_eq!(g.finite_range(), Some((0.0, 0.9f32 as f64)));
        assert_eq!(g.sequential_scale(), Scale::unit());
        let empty = Grid::from_time_major(std::iter::empty(), 0);
        assert_eq!(empty.used_rows(0.01), None);
    }
}
