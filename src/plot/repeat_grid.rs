//! The repeat-copy generalisation figure (the paper's figures 8 and 9 as a table): wrong bits
//! per sequence over (sequence length, repeat count), one heatmap per model side by side,
//! the cells inside the training ranges outlined.
//!
//! Each cell is coloured by log10(1 + wrong bits) on one scale shared by every panel (so 0
//! is dark, a few wrong bits already visible, hundreds bright) and carries its number.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::grid::{draw_caption, draw_colour_bar};
use super::style::{format_number, text, ColourMap, Scale, CAPTION_SIZE, INK, TICK_SIZE, TITLE_SIZE};
use super::{check_size, render, PlotError};

/// One evaluated cell: sequences of `length` vectors repeated `repeats` times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepeatCell {
    pub length: usize,
    pub repeats: usize,
    /// Mean wrong bits per sequence.
    pub bit_errors: f64,
}

/// One model's panel.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatPanel {
    pub model: String,
    pub cells: Vec<RepeatCell>,
}

/// The training ranges `(min, max)` inclusive, outlined in every panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainingRegion {
    pub lengths: (usize, usize),
    pub repeats: (usize, usize),
}

/// Pixel size of one panel's plotting square, and of the margins around it.
const PANEL: u32 = 420;
const LEFT: u32 = 62;
const BOTTOM: u32 = 52;
const HEADER: u32 = 76;
const BAR: u32 = 150;
/// Space between two panels.
const GAP: u32 = 40;

/// Colour of the training-region outline.
const OUTLINE: RGBColor = RGBColor(255, 255, 255);

/// Draws one heatmap per panel to the PNG at `path`. Lengths run up the y axis, repeat counts
/// along x; a (length, repeats) pair a panel lacks is drawn grey.
pub fn plot_repeat_grid(
    panels: &[RepeatPanel],
    training: TrainingRegion,
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    let all = || panels.iter().flat_map(|p| &p.cells);
    if all().next().is_none() {
        return Err(PlotError::empty(path, "no (length, repeats) evaluation results"));
    }
    let mut lengths: Vec<usize> = all().map(|c| c.length).collect();
    let mut repeats: Vec<usize> = all().map(|c| c.repeats).collect();
    for v in [&mut lengths, &mut repeats] {
        v.sort_unstable();
        v.dedup();
    }
    let top = all().map(|c| c.bit_errors).filter(|v| v.is_finite()).fold(0.0, f64::max);
    let scale = Scale { map: ColourMap::Viridis, lo: 0.0, hi: (1.0 + top).log10().max(1.0) };
    let width = panels.len() as u32 * (PANEL + LEFT + GAP) + BAR + 20;
    let height = PANEL + BOTTOM + HEADER + 10;
    check_size(path, width, height)?;

    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_caption(&root, title, (16, 12), TITLE_SIZE).map_err(err)?;
        let body = root.margin(HEADER - 28, 10, 10, 10);
        let (cells_area, bar_area) = body.split_horizontally(width - BAR - 20);
        let columns = cells_area.split_evenly((1, panels.len()));
        for (panel, area) in panels.iter().zip(&columns) {
            draw_panel(&area.margin(0, 0, 0, GAP as i32), panel, &lengths, &repeats, training, &scale).map_err(err)?;
        }
        let bar = bar_area.margin(28, 0, 0, 0);
        draw_colour_bar(&bar.margin(0, 0, 0, 70), &scale, BOTTOM).map_err(err)?;
        let note = text(TICK_SIZE).pos(Pos::new(HPos::Left, VPos::Top));
        bar_area.draw(&Text::new("colour: log10(1 +", (0, 0), note.clone())).map_err(err)?;
        bar_area.draw(&Text::new("wrong bits)", (0, 14), note)).map_err(err)?;
        root.present().map_err(err)
    })
}

/// One model's heatmap with its caption, axis labels, numbers and training outline.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &RepeatPanel,
    lengths: &[usize],
    repeats: &[usize],
    training: TrainingRegion,
    scale: &Scale,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    draw_caption(area, &panel.model, (LEFT as i32, 4), CAPTION_SIZE)?;
    let (cols, rows) = (repeats.len(), lengths.len());
    let mut chart = ChartBuilder::on(&area.margin(28, 0, 0, 0))
        .set_label_area_size(LabelAreaPosition::Left, LEFT)
        .set_label_area_size(LabelAreaPosition::Bottom, BOTTOM)
        .build_cartesian_2d(-0.5..cols as f64 - 0.5, -0.5..rows as f64 - 0.5)?;
    let label = |values: &[usize], v: f64| {
        let i = v.round();
        match values.get(i as usize) {
            Some(value) if (v - i).abs() < 1e-6 && i >= 0.0 => value.to_string(),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .axis_style(INK)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(CAPTION_SIZE - 1))
        .x_labels(cols.max(2) * 2 + 1)
        .y_labels(rows.max(2) * 2 + 1)
        .x_label_formatter(&|v| label(repeats, *v))
        .y_label_formatter(&|v| label(lengths, *v))
        .x_desc("repeats")
        .y_desc("sequence length")
        .draw()?;
    let value = |length: usize, r: usize| {
        panel.cells.iter().find(|c| c.length == length && c.repeats == r).map(|c| c.bit_errors)
    };
    for (y, &length) in lengths.iter().enumerate() {
        for (x, &r) in repeats.iter().enumerate() {
            let v = value(length, r);
            let t = v.map_or(f64::NAN, |v| (1.0 + v.max(0.0)).log10());
            let (x, y) = (x as f64, y as f64);
            let cell = [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)];
            chart.draw_series(std::iter::once(Rectangle::new(cell, scale.colour(t).filled())))?;
            if let Some(v) = v {
                // Dark text on the bright end of viridis, white on the dark end.
                let ink = if t > 0.6 * scale.hi { INK } else { WHITE };
                let style = text(TICK_SIZE + 1).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                chart.draw_series(std::iter::once(Text::new(format_number(v), (x, y), style)))?;
            }
        }
    }
    // The outline: the box around the cells whose length and repeat count were trained on.
    let inside = |values: &[usize], (lo, hi): (usize, usize)| {
        let idx: Vec<usize> = (0..values.len()).filter(|&i| (lo..=hi).contains(&values[i])).collect();
        Some((*idx.first()?, *idx.last()?))
    };
    if let (Some((y0, y1)), Some((x0, x1))) = (inside(lengths, training.lengths), inside(repeats, training.repeats)) {
        let frame = [(x0 as f64 - 0.5, y0 as f64 - 0.5), (x1 as f64 + 0.5, y1 as f64 + 0.5)];
        chart.draw_series(std::iter::once(Rectangle::new(frame, OUTLINE.stroke_width(3))))?;
        chart.draw_series(std::iter::once(Rectangle::new(frame, INK.stroke_width(1))))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(model: &str, f: impl Fn(usize, usize) -> f64) -> RepeatPanel {
        let cells = [5, 10, 15, 20]
            .iter()
            .flat_map(|&l| [5, 10, 15, 20].map(|r| RepeatCell { length: l, repeats: r, bit_errors: f(l, r) }))
            .collect();
        RepeatPanel { model: model.into(), cells }
    }

    #[test]
    fn draws_a_decodable_png_and_refuses_no_data() {
        let dir = std::env::temp_dir().join(format!("ntm-repeat-grid-{}", std::process::id()));
        let path = dir.join("grid.png");
        let region = TrainingRegion { lengths: (1, 10), repeats: (1, 10) };
        let panels = [
            panel("ntm", |l, r| if l <= 10 && r <= 10 { 0.0 } else { (l * r) as f64 / 10.0 }),
            panel("lstm", |l, r| (l * r) as f64),
        ];
        plot_repeat_grid(&panels, region, "repeat copy", &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let empty = plot_repeat_grid(&[], region, "t", &dir.join("none.png"));
        assert!(matches!(empty, Err(PlotError::Empty { .. })));
        if std::env::var_os("KEEP").is_none() {
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}
