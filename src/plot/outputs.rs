//! The outputs figure (paper figures 4 and 5): what each model writes for sequences of each
//! test length, target above output, so local and global (shifted) copy errors show.
//!
//! A grid with one row per length (shortest on top; for repeat copy, per length and repeat
//! count) and one column per model. Every cell uses the same pixels per time step, so longer
//! answers are drawn wider.

use std::path::Path;

use ntm_tasks::LengthWords;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::grid::{draw_caption, draw_colour_bar, draw_heatmap, Grid, Heatmap};
use super::style::{text, Scale, CAPTION_SIZE, TITLE_SIZE};
use super::{check_size, render, PlotError, MAX_SIDE};
use crate::records::report::OutputSample;

/// Outer margin of the image, pixels.
const MARGIN: u32 = 16;
/// Height of the title block.
const HEADER: u32 = 50;
/// Room left of each heatmap for the words "target" / "output".
const LABEL_W: u32 = 60;
/// The narrowest a model's column may be, so that captions do not run into the next one.
const MIN_CELL_W: u32 = 260;
/// Height of a cell's caption line.
const CAPTION_H: u32 = 22;
/// Height of the time ticks under each output heatmap.
const AXIS_H: u32 = 24;
/// Space between cells, both ways.
const GAP: u32 = 20;
/// Width of the colour-bar column on the right.
const BAR_W: u32 = 70;
/// Width the longest sequence's cells aim for.
const TARGET_CELLS_W: u32 = 720;

/// Draws target and output of every sample, one column per model and one row per length
/// (and repeat count), to the PNG at `path`. Wrong bits (output on the other side of 0.5) are outlined red.
pub fn plot_outputs(samples: &[OutputSample], title: &str, path: &Path) -> Result<(), PlotError> {
    plot_outputs_in(samples, LengthWords::default(), title, path)
}

/// [`plot_outputs`] with the task's words for its length in the captions (`6 items`).
pub fn plot_outputs_in(
    samples: &[OutputSample],
    words: LengthWords,
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    let steps = |s: &OutputSample| s.target.len().max(s.output.len());
    let max_t = samples.iter().map(steps).max().unwrap_or(0);
    if max_t == 0 {
        return Err(PlotError::empty(path, "no output samples with time steps"));
    }
    let mut models: Vec<&str> = Vec::new();
    let mut rows: Vec<(usize, Option<usize>)> = Vec::new(); // (length, repeats)
    for s in samples {
        if !models.contains(&s.model.as_str()) {
            models.push(&s.model);
        }
        rows.push((s.length, s.repeats));
    }
    rows.sort_unstable();
    rows.dedup();
    let widest = |m: &[Vec<f32>]| m.iter().map(|v| v.len()).max().unwrap_or(0);
    let channels = samples.iter().map(|s| widest(&s.target).max(widest(&s.output))).max();
    let channels = channels.unwrap_or(1).max(1);

    let max_t = max_t.min(MAX_SIDE as usize) as u32;
    let px = (TARGET_CELLS_W / max_t).clamp(4, 24); // pixels per time step
    let row_h = px.clamp(5, 12); // pixels per channel
    let map_h = channels.min(MAX_SIDE as usize) as u32 * row_h;
    let map_h = map_h.max(20);
    // At least as wide as a caption ("ntm-ff, 20 items: 8 wrong bits"), for short answers.
    let cell_w = (LABEL_W + max_t * px + GAP).max(MIN_CELL_W);
    let block_h = CAPTION_H + map_h + 4 + map_h + AXIS_H + GAP;
    let side = |n: usize, each: u32| (n.min(MAX_SIDE as usize) as u32).saturating_mul(each);
    let width = (MARGIN + side(models.len(), cell_w) + BAR_W + MARGIN).max(640);
    let height = HEADER + side(rows.len(), block_h) + MARGIN;
    check_size(path, width, height)?;

    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_caption(&root, title, (MARGIN as i32, 12), TITLE_SIZE).map_err(err)?;
        for (i, &(length, repeats)) in rows.iter().enumerate() {
            for (j, &model) in models.iter().enumerate() {
                let origin = ((MARGIN + j as u32 * cell_w) as i32, (HEADER + i as u32 * block_h) as i32);
                let cell = root.clone().shrink(origin, (cell_w - GAP, block_h - GAP));
                let sample = samples.iter().find(|s| s.model == model && s.length == length && s.repeats == repeats);
                match sample {
                    Some(s) => draw_cell(&cell, s, words, px, map_h).map_err(err)?,
                    None => {
                        let caption = format!("{model}, {}: no sample", episode_name(words, length, repeats));
                        draw_caption(&cell, &caption, (0, 0), CAPTION_SIZE).map_err(err)?
                    }
                }
            }
        }
        let bar_x = (MARGIN + models.len() as u32 * cell_w) as i32;
        let bar = root.clone().shrink((bar_x, (HEADER + CAPTION_H) as i32), (BAR_W, 2 * map_h + 4));
        draw_colour_bar(&bar, &Scale::unit(), 0).map_err(err)?;
        root.present().map_err(err)
    })
}

/// `length 10`, or `length 10 x 20 repeats`, or in the task's words (`6 items`).
fn episode_name(words: LengthWords, length: usize, repeats: Option<usize>) -> String {
    match repeats {
        Some(r) => format!("length {length} x {r} repeats"),
        None => words.episode(length),
    }
}

/// Draws one sample: a caption, the target heatmap and below it the output heatmap.
fn draw_cell<DB: DrawingBackend>(
    cell: &DrawingArea<DB, plotters::coord::Shift>,
    sample: &OutputSample,
    words: LengthWords,
    px: u32,
    map_h: u32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let steps = sample.target.len().max(sample.output.len());
    let target = Grid::from_time_major(sample.target.iter().map(Vec::as_slice), steps);
    let output = Grid::from_time_major(sample.output.iter().map(Vec::as_slice), steps);
    let wrong: Vec<(usize, usize)> = (0..output.rows.max(target.rows))
        .flat_map(|r| (0..steps).map(move |t| (r, t)))
        .filter(|&(r, t)| {
            let (o, y) = (output.get(r, t), target.get(r, t));
            o.is_finite() && y.is_finite() && (o >= 0.5) != (y >= 0.5)
        })
        .collect();
    let plural = if wrong.len() == 1 { "" } else { "s" };
    let caption = format!(
        "{}, {}: {} wrong bit{plural}",
        sample.model,
        episode_name(words, sample.length, sample.repeats),
        wrong.len()
    );
    draw_caption(cell, &caption, (0, 0), CAPTION_SIZE)?;
    if steps == 0 {
        return Ok(());
    }

    let maps_w = LABEL_W + steps as u32 * px;
    let label = text(CAPTION_SIZE - 2).pos(Pos::new(HPos::Left, VPos::Center));
    let panels =
        [("target", &target, CAPTION_H, 0, &[][..]), ("output", &output, CAPTION_H + map_h + 4, AXIS_H, &wrong[..])];
    for (name, grid, y, bottom, marks) in panels {
        let mid = (y + map_h / 2) as i32;
        cell.draw(&Text::new(name, (0, mid), label.clone()))?;
        let area = cell.clone().shrink((LABEL_W as i32, y as i32), (maps_w - LABEL_W, map_h + bottom));
        let map = Heatmap {
            grid,
            rows: 0..grid.rows,
            scale: Scale::unit(),
            left: 0,
            y_desc: "",
            bottom,
            x_desc: "",
            faded: &[],
            marks,
            dividers: &[],
        };
        draw_heatmap(&area, &map)?;
    }
    Ok(())
}
