//! The heads figure (paper figure 6): one episode drawn as stacked heatmaps sharing a time
//! axis — inputs, targets, model outputs, then each head's weighting over memory slots and
//! its add (write heads) or read (read heads) vectors. A model with more than two heads of
//! both kinds gets two columns under the episode, write heads left and read heads right, so
//! that 4 + 4 heads stay one readable page.
//!
//! A DNC's trace draws its memory access instead, in two columns: the write side (write
//! weighting, allocation weighting, usage) left, each read head's weighting and its read
//! modes (one row per mode) right.

use std::ops::Range;
use std::path::Path;

use plotters::prelude::*;

use super::grid::{draw_caption, draw_colour_bar, draw_heatmap, Grid, Heatmap};
use super::style::{Scale, CAPTION_SIZE, TITLE_SIZE};
use super::{check_size, render, PlotError};
use crate::base::kinds::HeadKind;
use crate::pieces::trace::{DncTrace, HeadTrace, Trace};

/// Outer margin of the image, pixels.
const MARGIN: u32 = 16;
/// Room left of the cells for slot/channel ticks and the axis name.
const LEFT: u32 = 64;
/// Room right of the cells for the colour bar and its ticks.
const BAR: u32 = 62;
/// Height of the title block.
const HEADER: u32 = 62;
/// Height of a panel's caption line.
const CAPTION_H: u32 = 22;
/// Height of the time axis under the last panel.
const AXIS_H: u32 = 46;
/// Gap between panels.
const GAP: u32 = 6;
/// Gap between the write and the read heads' columns.
const COLUMN_GAP: u32 = 24;
/// More heads than this, of both kinds, are drawn in two columns.
const ONE_COLUMN_HEADS: usize = 2;
/// Memories with more slots than this are cropped to the slots the heads use.
const CROP_ABOVE: usize = 32;
/// A slot counts as used when some head puts more than this weight on it.
const USED_WEIGHT: f32 = 0.01;
/// Slots kept either side of the used ones.
const CROP_MARGIN: usize = 2;

/// One heatmap of the figure with its caption.
struct Panel {
    caption: String,
    y_desc: &'static str,
    grid: Grid,
    rows: Range<usize>,
    scale: Scale,
    /// Fade the columns where the mask is 0.
    masked: bool,
    /// Wrong bits to outline.
    marks: Vec<(usize, usize)>,
}

impl Panel {
    fn new(caption: String, y_desc: &'static str, grid: Grid, scale: Scale) -> Self {
        let rows = 0..grid.rows;
        Panel { caption, y_desc, grid, rows, scale, masked: false, marks: Vec::new() }
    }

    /// Pixel height of the cells: about 6 px a row, within [54, 320].
    fn body_height(&self) -> u32 {
        (self.rows.len().min(1000) as u32 * 6).clamp(54, 320)
    }
}

/// Draws the heads figure of `trace` to the PNG at `path`.
///
/// The image is about 5 px per time step wide (at least 640 px of cells, 400 in each of two
/// columns, at most 2400) and
/// each panel about 6 px per row high. Memories of more than 32 slots are cropped to the
/// slots some head ever weights above 0.01 (plus 2 either side); captions say so.
pub fn plot_heads(trace: &Trace, title: &str, path: &Path) -> Result<(), PlotError> {
    let figure = HeadsFigure::new(trace, title, None, path)?;
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let root = BitMapBackend::new(path, figure.size()).into_drawing_area();
        figure.draw(&root).map_err(err)?;
        root.present().map_err(err)
    })
}

/// The heads figure of one trace, laid out: drawn to a PNG by [`plot_heads`], or as a frame of
/// a film ([`super::film`]) onto an area of [`size`](Self::size) or larger.
pub(crate) struct HeadsFigure<'a> {
    trace: &'a Trace,
    title: String,
    episode: Vec<Panel>,
    columns: Vec<Vec<Panel>>,
    steps: usize,
    cells_w: u32,
    column_w: u32,
    size: (u32, u32),
}

impl<'a> HeadsFigure<'a> {
    /// The figure of `trace` under `title`, its heads' weightings over the memory slots of
    /// `window` (default: the slots it uses, see [`plot_heads`]); an error (naming `path`) for
    /// a trace without time steps or a figure too large.
    pub(crate) fn new(
        trace: &'a Trace,
        title: &str,
        window: Option<&Range<usize>>,
        path: &Path,
    ) -> Result<Self, PlotError> {
        let steps = time_steps(trace);
        if steps == 0 {
            return Err(PlotError::empty(path, "the trace has no time steps"));
        }
        let episode = episode_panels(trace, steps);
        let columns = head_columns(trace, steps, window);
        let n = columns.len().max(1) as u32;
        // Two columns of a short episode: narrower cells (still 10 px a step at 40 steps), so
        // that the page, shown at the width of a text column, keeps its labels readable.
        let narrowest = if n > 1 { 400 } else { 640 };
        let cells_w = (steps.min(480) as u32 * 5).clamp(narrowest, 2400);
        let column_w = LEFT + cells_w + BAR;
        let width = MARGIN + n * column_w + (n - 1) * COLUMN_GAP + MARGIN;
        let heads_h = columns.iter().map(|c| stack_height(c)).max().unwrap_or(0);
        let height = stack_height(&episode).saturating_add(heads_h).saturating_add(HEADER + AXIS_H + MARGIN);
        check_size(path, width, height)?;
        let title = title.to_owned();
        Ok(HeadsFigure { trace, title, episode, columns, steps, cells_w, column_w, size: (width, height) })
    }

    /// Width and height in pixels.
    pub(crate) fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Draws every panel onto `root` (white first), from its top left corner: the episode's on
    /// top, the heads' below it in columns side by side (the episode above the first column,
    /// so its time steps line up with it).
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (trace, steps) = (self.trace, self.steps);
        root.fill(&WHITE)?;
        draw_caption(root, &self.title, (MARGIN as i32, 12), TITLE_SIZE)?;
        draw_caption(root, &subtitle(trace, steps), (MARGIN as i32, 40), CAPTION_SIZE - 1)?;

        let faded: Vec<bool> = (0..steps).map(|t| trace.mask.get(t).is_some_and(|&m| m < 0.5)).collect();
        let dividers: Vec<usize> = (1..trace.mask.len().min(steps))
            .filter(|&t| (trace.mask[t] >= 0.5) != (trace.mask[t - 1] >= 0.5))
            .collect();

        let page = root.margin(HEADER, MARGIN, MARGIN, MARGIN);
        let style = Stack { faded: &faded, dividers: &dividers };
        let axis_on_episode = self.columns.is_empty();
        let (top, heads) =
            page.split_vertically(stack_height(&self.episode) + if axis_on_episode { AXIS_H } else { 0 });
        style.draw(&top, &self.episode, self.cells_w, axis_on_episode)?;
        let mut rest = heads;
        for column in &self.columns {
            let (area, right) = rest.split_horizontally(self.column_w + COLUMN_GAP);
            rest = right;
            style.draw(&area, column, self.cells_w, true)?;
        }
        Ok(())
    }
}

/// The memory slots the heads figure of `trace` shows on its own (see [`plot_heads`]): all of
/// them for a small memory, else those some head weights above 0.01, plus 2 either side.
pub(crate) fn shown_slots(trace: &Trace) -> Range<usize> {
    let steps = time_steps(trace);
    let mut grids: Vec<Grid> = trace
        .heads
        .iter()
        .map(|h| Grid::from_time_major(h.steps.iter().map(|s| s.weighting.as_slice()), steps))
        .collect();
    if let Some(dnc) = &trace.dnc {
        let grid = |f: &dyn Fn(&crate::pieces::trace::DncStep) -> &[f32]| {
            Grid::from_time_major(dnc.steps.iter().map(f), steps)
        };
        grids.push(grid(&|s| s.write_weighting.as_slice()));
        grids.push(grid(&|s| s.allocation.as_slice()));
        grids.push(grid(&|s| s.usage.as_slice()));
        for i in 0..dnc.steps.first().map_or(0, |s| s.reads.len()) {
            grids.push(grid(&|s| s.reads[i].weighting.as_slice()));
        }
    }
    slot_window(&grids, None).1
}

/// The episode's length in time steps: the longest of its recorded sequences.
fn time_steps(trace: &Trace) -> usize {
    let heads = trace.heads.iter().map(|h| h.steps.len());
    [trace.inputs.len(), trace.targets.len(), trace.outputs.len(), trace.mask.len()]
        .into_iter()
        .chain(heads)
        .max()
        .unwrap_or(0)
}

/// The heads' panels in columns: one column, or, for more than [`ONE_COLUMN_HEADS`] heads of
/// both kinds, the write heads' and the read heads'. Empty without heads. A DNC: its write
/// side and its read heads ([`dnc_columns`]).
fn head_columns(trace: &Trace, steps: usize, window: Option<&Range<usize>>) -> Vec<Vec<Panel>> {
    if let Some(dnc) = &trace.dnc {
        return dnc_columns(dnc, steps, window);
    }
    let panels = head_panels(trace, steps, window);
    if panels.is_empty() {
        return Vec::new();
    }
    let writes = trace.heads.iter().filter(|h| h.kind == HeadKind::Write).count();
    let reads = trace.heads.len() - writes;
    if trace.heads.len() <= ONE_COLUMN_HEADS || writes == 0 || reads == 0 {
        return vec![panels];
    }
    // Write heads come first (see head_panels); their panels are those captioned so.
    let (write, read): (Vec<Panel>, Vec<Panel>) = panels.into_iter().partition(|p| p.caption.starts_with("write"));
    vec![write, read]
}

/// Inputs, targets and outputs; wrong bits (where the mask is 1) are outlined.
fn episode_panels(trace: &Trace, steps: usize) -> Vec<Panel> {
    let scored = |t: usize| trace.mask.get(t).is_some_and(|&m| m >= 0.5);
    let grid = |m: &[Vec<f32>]| Grid::from_time_major(m.iter().map(Vec::as_slice), steps);
    let (inputs, targets, outputs) = (grid(&trace.inputs), grid(&trace.targets), grid(&trace.outputs));
    let wrong: Vec<(usize, usize)> = (0..outputs.rows)
        .flat_map(|r| (0..steps).map(move |t| (r, t)))
        .filter(|&(r, t)| {
            let (o, y) = (outputs.get(r, t), targets.get(r, t));
            scored(t) && o.is_finite() && y.is_finite() && (o >= 0.5) != (y >= 0.5)
        })
        .collect();
    let faded = if trace.mask.iter().any(|&m| m < 0.5) { " (faded: not scored)" } else { "" };
    let caption = match wrong.len() {
        0 => format!("model outputs: no wrong bits{faded}"),
        1 => format!("model outputs: 1 wrong bit, outlined red{faded}"),
        n => format!("model outputs: {n} wrong bits, outlined red{faded}"),
    };

    let scale = inputs.sequential_scale();
    let inputs = Panel::new("inputs".into(), "channel", inputs, scale);
    let mut target = Panel::new(format!("targets{faded}"), "channel", targets, Scale::unit());
    target.masked = true;
    let mut output = Panel::new(caption, "channel", outputs, Scale::unit());
    output.masked = true;
    output.marks = wrong;
    vec![inputs, target, output]
}

/// Write heads before read heads (the order of the paper's figure), each as its weighting
/// over the shown slots, then its add (write) or read (read) vectors if recorded.
fn head_panels(trace: &Trace, steps: usize, window: Option<&Range<usize>>) -> Vec<Panel> {
    let mut heads: Vec<&HeadTrace> = trace.heads.iter().collect();
    heads.sort_by_key(|h| (h.kind == HeadKind::Read, h.index));
    let weightings: Vec<Grid> =
        heads.iter().map(|h| Grid::from_time_major(h.steps.iter().map(|s| s.weighting.as_slice()), steps)).collect();
    let (slots, shown) = slot_window(&weightings, window);
    let over = if shown.len() < slots {
        format!("slots {}–{} of {slots} (unused slots hidden)", shown.start, shown.end - 1)
    } else {
        format!("the {slots} memory slots")
    };

    let mut out = Vec::new();
    for (head, weighting) in heads.iter().zip(weightings) {
        let (name, what) = match head.kind {
            HeadKind::Read => (format!("read head {}", head.index), "read vector"),
            HeadKind::Write => (format!("write head {}", head.index), "add vector"),
        };
        let caption = format!("{name}: weighting over {over}");
        let mut w = Panel::new(caption, "slot", weighting, Scale::unit());
        w.rows = shown.start.min(w.grid.rows)..shown.end.min(w.grid.rows);
        out.push(w);

        let vectors: Vec<Option<&[f32]>> = match head.kind {
            HeadKind::Write => head.steps.iter().map(|s| s.add.as_deref()).collect(),
            HeadKind::Read => head.steps.iter().map(|s| s.read.as_deref()).collect(),
        };
        if vectors.iter().any(Option::is_some) {
            let grid = Grid::from_time_major(vectors.into_iter().map(|v| v.unwrap_or(&[])), steps);
            let max_abs = grid.finite_range().map_or(1.0, |(lo, hi)| lo.abs().max(hi.abs()));
            let scale = Scale::symmetric(max_abs);
            out.push(Panel::new(format!("{name}: {what}"), "channel", grid, scale));
        }
    }
    out
}

/// A DNC's memory access in two columns: the write weighting, the allocation weighting and the
/// usage over the shown slots; then per read head its weighting and its read modes (one row
/// per mode, in the trace's order). Empty without steps.
fn dnc_columns(dnc: &DncTrace, steps: usize, window: Option<&Range<usize>>) -> Vec<Vec<Panel>> {
    if dnc.steps.is_empty() {
        return Vec::new();
    }
    let write = Grid::from_time_major(dnc.steps.iter().map(|s| s.write_weighting.as_slice()), steps);
    let allocation = Grid::from_time_major(dnc.steps.iter().map(|s| s.allocation.as_slice()), steps);
    let usage = Grid::from_time_major(dnc.steps.iter().map(|s| s.usage.as_slice()), steps);
    let heads = dnc.steps[0].reads.len();
    let reads: Vec<Grid> = (0..heads)
        .map(|i| Grid::from_time_major(dnc.steps.iter().map(|s| s.reads[i].weighting.as_slice()), steps))
        .collect();
    let mut all = vec![write.clone(), allocation.clone(), usage.clone()];
    all.extend(reads.iter().cloned());
    let (slots, shown) = slot_window(&all, window);
    let over = if shown.len() < slots {
        format!("slots {}–{} of {slots} (unused slots hidden)", shown.start, shown.end - 1)
    } else {
        format!("the {slots} memory slots")
    };
    let panel = |caption: String, grid: Grid| {
        let mut p = Panel::new(caption, "slot", grid, Scale::unit());
        p.rows = shown.start.min(p.grid.rows)..shown.end.min(p.grid.rows);
        p
    };
    let write_side = vec![
        panel(format!("write weighting over {over}"), write),
        panel("allocation weighting a (where a new write would go)".into(), allocation),
        panel("usage u (1: in use, 0: free to reuse)".into(), usage),
    ];
    let names: Vec<&str> = dnc.read_modes.iter().map(|m| m.name()).collect();
    let mut read_side = Vec::new();
    for (i, weighting) in reads.into_iter().enumerate() {
        read_side.push(panel(format!("read head {i}: read weighting over {over}"), weighting));
        let modes = Grid::from_time_major(dnc.steps.iter().map(|s| s.reads[i].modes.as_slice()), steps);
        let caption = format!("read head {i}: read modes, rows top to bottom: {}", names.join(", "));
        read_side.push(Panel::new(caption, "mode", modes, Scale::unit()));
    }
    vec![write_side, read_side]
}

/// The number of memory slots and the window of slots to show: `fixed` if given (within the
/// slots), else all of them for small memories, else the span some head weights above
/// [`USED_WEIGHT`], widened by [`CROP_MARGIN`].
fn slot_window(weightings: &[Grid], fixed: Option<&Range<usize>>) -> (usize, Range<usize>) {
    let slots = weightings.iter().map(|g| g.rows).max().unwrap_or(0);
    if let Some(w) = fixed {
        return (slots, w.start.min(slots)..w.end.min(slots));
    }
    if slots <= CROP_ABOVE {
        return (slots, 0..slots);
    }
    let used = weightings.iter().filter_map(|g| g.used_rows(USED_WEIGHT));
    let span = used.reduce(|a, b| a.start.min(b.start)..a.end.max(b.end));
    match span {
        Some(s) => (slots, s.start.saturating_sub(CROP_MARGIN)..(s.end + CROP_MARGIN).min(slots)),
        None => (slots, 0..slots),
    }
}

/// Height of a stack of panels, without the time axis.
fn stack_height(panels: &[Panel]) -> u32 {
    panels.iter().map(|p| CAPTION_H + p.body_height() + GAP).fold(0u32, u32::saturating_add)
}

/// What every stack of panels shares: the faded (unscored) steps and the dividers between
/// reading and answering.
struct Stack<'a> {
    faded: &'a [bool],
    dividers: &'a [usize],
}

impl Stack<'_> {
    /// Draws `panels` top to bottom in `area`, each `cells_w` wide, the time axis under the
    /// last if `axis`.
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        panels: &[Panel],
        cells_w: u32,
        axis: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let mut rest = area.clone();
        for (i, panel) in panels.iter().enumerate() {
            let bottom = if axis && i + 1 == panels.len() { AXIS_H } else { 0 };
            let (area, below) = rest.split_vertically(CAPTION_H + panel.body_height() + bottom + GAP);
            rest = below;
            draw_caption(&area, &panel.caption, (LEFT as i32, 2), CAPTION_SIZE)?;
            let body = area.margin(CAPTION_H, GAP, 0, 0);
            let (cells, rest_of_row) = body.split_horizontally(LEFT + cells_w);
            let (bar, _) = rest_of_row.split_horizontally(BAR);
            let map = Heatmap {
                grid: &panel.grid,
                rows: panel.rows.clone(),
                scale: panel.scale,
                left: LEFT,
                y_desc: panel.y_desc,
                bottom,
                x_desc: "time step",
                faded: if panel.masked { self.faded } else { &[] },
                marks: &panel.marks,
                dividers: self.dividers,
            };
            draw_heatmap(&cells, &map)?;
            draw_colour_bar(&bar, &panel.scale, bottom)?;
        }
        Ok(())
    }
}

/// One line under the title describing the memory and heads.
fn subtitle(trace: &Trace, steps: usize) -> String {
    if let Some(dnc) = &trace.dnc {
        let slots = trace.initial_memory.len();
        let width = trace.initial_memory.first().map_or(0, |row| row.len());
        let reads = dnc.steps.first().map_or(0, |s| s.reads.len());
        let modes: Vec<&str> = dnc.read_modes.iter().map(|m| m.name()).collect();
        return format!(
            "{steps} time steps  ·  memory {slots} × {width}  ·  1 write / {reads} read heads  ·  read modes {}",
            modes.join(", ")
        );
    }
    let slots = trace.heads.iter().flat_map(|h| h.steps.first()).map(|s| s.weighting.len()).max();
    let slots = slots.unwrap_or(trace.initial_memory.len());
    let width = trace.initial_memory.first().map_or(0, |row| row.len());
    let count = |k| trace.heads.iter().filter(|h| h.kind == k).count();
    let shifts: Vec<String> =
        trace.shifts.iter().map(|&s| if s == 0 { "0".into() } else { format!("{s:+}") }).collect();
    format!(
        "{} time steps  ·  memory {slots} × {width}  ·  {} read / {} write heads  ·  shifts {}",
        steps,
        count(HeadKind::Read),
        count(HeadKind::Write),
        if shifts.is_empty() { "none".to_string() } else { shifts.join(", ") },
    )
}
