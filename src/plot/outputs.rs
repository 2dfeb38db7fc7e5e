//! The outputs figure (paper figures 4 and 5): what each model writes for sequences of each
//! test length, target above output, so local and global (shifted) copy errors show.
//!
//! One block per episode (a length; for repeat copy, a length and repeat count): its caption,
//! the target, then each model's output under it, with the model's wrong bits at the right end
//! of its row. Every block uses the same pixels per time step, so longer answers are drawn
//! wider; blocks are laid left to right in shelves as wide as the widest block (at least
//! [`SHELF_W`]), so short answers share a shelf instead of leaving it white.

use std::path::Path;

use ntm_tasks::LengthWords;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::grid::{draw_caption, draw_colour_bar, draw_heatmap, Grid, Heatmap};
use super::style::{text, Scale, CAPTION_SIZE, ERROR_MARK, INK, TITLE_SIZE};
use super::{check_size, render, PlotError, MAX_SIDE};
use crate::records::report::OutputSample;

/// Outer margin of the image, pixels.
const MARGIN: u32 = 16;
/// Height of the title block.
const HEADER: u32 = 50;
/// Room left of each shelf for the row names ("target", the models).
const LABEL_W: u32 = 72;
/// The narrowest a block's heatmaps may be, so that its caption fits.
const MIN_MAP_W: u32 = 96;
/// Room right of each output heatmap for its count of wrong bits.
const COUNT_W: u32 = 44;
/// Height of a block's caption line.
const CAPTION_H: u32 = 22;
/// Height of the time ticks under a block's last heatmap.
const AXIS_H: u32 = 24;
/// Space between heatmaps of a block.
const ROW_GAP: u32 = 4;
/// Space between blocks, both ways.
const GAP: u32 = 20;
/// Width of the colour-bar column on the right.
const BAR_W: u32 = 70;
/// Width the longest answer's cells aim for.
const TARGET_CELLS_W: u32 = 720;
/// The narrowest shelf: short answers fill it side by side.
pub const SHELF_W: u32 = 1000;

/// Where the blocks of the outputs figure go: pixels per time step and per channel, each
/// block's top-left corner, and the image's size.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputsLayout {
    /// Pixels per time step.
    pub px: u32,
    /// Height of one heatmap.
    pub map_h: u32,
    /// Top-left corner of each block, in the order given.
    pub origins: Vec<(u32, u32)>,
    /// Whether each block starts a shelf (gets the row names at its left).
    pub first: Vec<bool>,
    pub width: u32,
    pub height: u32,
}

/// The layout of blocks of `steps` time steps each (in order), for `models` outputs of
/// `channels` channels under each target; an error if the image would be too large
/// ([`MAX_SIDE`]). Known from the sizes alone, so `ntm run` checks it before training.
pub fn outputs_layout(
    steps: &[usize],
    models: usize,
    channels: usize,
    path: &Path,
) -> Result<OutputsLayout, PlotError> {
    let max_t = steps.iter().copied().max().unwrap_or(0).min(MAX_SIDE as usize) as u32;
    if max_t == 0 {
        return Err(PlotError::empty(path, "no output samples with time steps"));
    }
    let px = (TARGET_CELLS_W / max_t).clamp(1, 24);
    let row_h = px.clamp(5, 12); // pixels per channel
    let map_h = (channels.clamp(1, MAX_SIDE as usize) as u32).saturating_mul(row_h).max(20);
    let block_w = |t: usize| (t.min(MAX_SIDE as usize) as u32 * px).max(MIN_MAP_W) + COUNT_W;
    let shelf_w = steps.iter().map(|&t| block_w(t)).max().unwrap_or(0).max(SHELF_W);
    let rows = models.min(MAX_SIDE as usize) as u32 + 1;
    let block_h = CAPTION_H + rows.saturating_mul(map_h + ROW_GAP) + AXIS_H;
    let (mut x, mut y) = (0u32, HEADER);
    let (mut origins, mut first) = (Vec::new(), Vec::new());
    for &t in steps {
        let w = block_w(t);
        let starts = x == 0 || x + GAP + w > shelf_w;
        if starts && x > 0 {
            y = y.saturating_add(block_h + GAP);
            x = 0;
        }
        let left = if x == 0 { 0 } else { x + GAP };
        origins.push((MARGIN + LABEL_W + left, y));
        first.push(x == 0);
        x = left + w;
    }
    let width = MARGIN + LABEL_W + shelf_w + BAR_W + MARGIN;
    let height = y.saturating_add(block_h + MARGIN);
    check_size(path, width, height)?;
    Ok(OutputsLayout { px, map_h, origins, first, width, height })
}

/// Draws target and output of every sample, one block per length (and repeat count) with
/// every model's output under the target, to the PNG at `path`. Wrong bits (output on the
/// other side of 0.5) are outlined red and counted at the right of each output.
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
    let figure = OutputsFigure::new(samples, words, title, path)?;
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let root = BitMapBackend::new(path, figure.size()).into_drawing_area();
        figure.draw(&root).map_err(err)?;
        root.present().map_err(err)
    })
}

/// The outputs figure of some samples, laid out: drawn to a PNG by [`plot_outputs_in`], or as
/// a frame of a film ([`super::film`]) onto an area of [`size`](Self::size) or larger.
pub(crate) struct OutputsFigure<'a> {
    samples: &'a [OutputSample],
    words: LengthWords,
    title: String,
    /// The models, in the order of their first sample.
    models: Vec<&'a str>,
    /// The episodes, (length, repeats), sorted.
    episodes: Vec<(usize, Option<usize>)>,
    /// Time steps of each episode's block.
    block_steps: Vec<usize>,
    channels: usize,
    layout: OutputsLayout,
}

impl<'a> OutputsFigure<'a> {
    /// The figure of `samples` under `title`; an error (naming `path`) for samples without
    /// time steps or a figure too large.
    pub(crate) fn new(
        samples: &'a [OutputSample],
        words: LengthWords,
        title: &str,
        path: &Path,
    ) -> Result<Self, PlotError> {
        let steps = |s: &OutputSample| s.target.len().max(s.output.len());
        if samples.iter().map(steps).max().unwrap_or(0) == 0 {
            return Err(PlotError::empty(path, "no output samples with time steps"));
        }
        let mut models: Vec<&str> = Vec::new();
        let mut episodes: Vec<(usize, Option<usize>)> = Vec::new(); // (length, repeats)
        for s in samples {
            if !models.contains(&s.model.as_str()) {
                models.push(&s.model);
            }
            episodes.push((s.length, s.repeats));
        }
        episodes.sort_unstable();
        episodes.dedup();
        let widest = |m: &[Vec<f32>]| m.iter().map(|v| v.len()).max().unwrap_or(0);
        let channels = samples.iter().map(|s| widest(&s.target).max(widest(&s.output))).max().unwrap_or(1).max(1);
        let block_steps: Vec<usize> = episodes
            .iter()
            .map(|&(length, repeats)| {
                samples.iter().filter(|s| s.length == length && s.repeats == repeats).map(steps).max().unwrap_or(0)
            })
            .collect();
        let layout = outputs_layout(&block_steps, models.len(), channels, path)?;
        let title = title.to_owned();
        Ok(OutputsFigure { samples, words, title, models, episodes, block_steps, channels, layout })
    }

    /// Width and height in pixels.
    pub(crate) fn size(&self) -> (u32, u32) {
        (self.layout.width, self.layout.height)
    }

    /// Draws every block onto `root` (white first), from its top left corner.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (samples, models, layout, channels) = (self.samples, &self.models, &self.layout, self.channels);
        let of = |&(length, repeats): &(usize, Option<usize>)| {
            samples.iter().filter(move |s| s.length == length && s.repeats == repeats)
        };
        root.fill(&WHITE)?;
        draw_caption(root, &self.title, (MARGIN as i32, 12), TITLE_SIZE)?;
        let label = text(CAPTION_SIZE - 2).pos(Pos::new(HPos::Left, VPos::Center));
        let names = std::iter::once("target").chain(models.iter().copied());
        for (i, episode) in self.episodes.iter().enumerate() {
            let (x, y) = layout.origins[i];
            let row_y = |row: u32| y + CAPTION_H + row * (layout.map_h + ROW_GAP);
            if layout.first[i] {
                for (row, name) in names.clone().enumerate() {
                    let mid = (row_y(row as u32) + layout.map_h / 2) as i32;
                    root.draw(&Text::new(name.to_string(), (MARGIN as i32, mid), label.clone()))?;
                }
            }
            let (length, repeats) = *episode;
            draw_caption(root, &episode_name(self.words, length, repeats), (x as i32, y as i32), CAPTION_SIZE)?;
            let t = self.block_steps[i];
            let map_w = (t as u32 * layout.px).max(1);
            let target = of(episode).next().map(|s| s.target.as_slice()).unwrap_or(&[]);
            let rows: Vec<(Option<&OutputSample>, &[Vec<f32>])> = std::iter::once((None, target))
                .chain(models.iter().map(|m| {
                    let sample = of(episode).find(|s| s.model == *m);
                    (sample, sample.map(|s| s.output.as_slice()).unwrap_or(&[]))
                }))
                .collect();
            for (row, (sample, values)) in rows.iter().enumerate() {
                let last = row + 1 == rows.len();
                let bottom = if last { AXIS_H } else { 0 };
                let top = row_y(row as u32);
                let area = root.clone().shrink((x as i32, top as i32), (map_w, layout.map_h + bottom));
                let grid = Grid::from_time_major(values.iter().map(Vec::as_slice), t);
                let wrong = match sample {
                    Some(s) => wrong_bits(s, t),
                    None => Vec::new(),
                };
                let map = Heatmap {
                    grid: &grid,
                    rows: 0..grid.rows.max(channels),
                    scale: Scale::unit(),
                    left: 0,
                    y_desc: "",
                    bottom,
                    x_desc: "",
                    faded: &[],
                    marks: &wrong,
                    dividers: &[],
                };
                draw_heatmap(&area, &map)?;
                let count = match (row, sample) {
                    (0, _) => continue,
                    (_, None) => "-".to_owned(),
                    (_, Some(_)) => wrong.len().to_string(),
                };
                let colour = if wrong.is_empty() { INK } else { ERROR_MARK };
                let style = text(CAPTION_SIZE - 2).pos(Pos::new(HPos::Left, VPos::Center)).color(&colour);
                let at = ((x + map_w + 6) as i32, (top + layout.map_h / 2) as i32);
                root.draw(&Text::new(count, at, style))?;
            }
        }
        let bar_x = (layout.width - MARGIN - BAR_W) as i32;
        let bar = root.clone().shrink((bar_x, (HEADER + CAPTION_H) as i32), (BAR_W, 2 * layout.map_h + ROW_GAP));
        draw_colour_bar(&bar, &Scale::unit(), 0)
    }
}

/// The wrong bits of `sample` over its first `steps` steps: `(channel, step)` where the output
/// is on the other side of 0.5 from the target.
fn wrong_bits(sample: &OutputSample, steps: usize) -> Vec<(usize, usize)> {
    let target = Grid::from_time_major(sample.target.iter().map(Vec::as_slice), steps);
    let output = Grid::from_time_major(sample.output.iter().map(Vec::as_slice), steps);
    (0..output.rows.max(target.rows))
        .flat_map(|r| (0..steps).map(move |t| (r, t)))
        .filter(|&(r, t)| {
            let (o, y) = (output.get(r, t), target.get(r, t));
            o.is_finite() && y.is_finite() && (o >= 0.5) != (y >= 0.5)
        })
        .collect()
}

/// `length 10`, or `length 10 x 20 repeats`, or in the task's words (`6 items`).
fn episode_name(words: LengthWords, length: usize, repeats: Option<usize>) -> String {
    match repeats {
        Some(r) => format!("length {length} x {r} repeats"),
        None => words.episode(length),
    }
}
