//! The link figure of a DNC: its temporal link matrix L (Graves et al. 2016, Methods,
//! "Temporal memory linkage") as a heatmap, row i and column j holding how much slot i was
//! written right after slot j. Drawn after the input phase (the step before the first scored
//! one, when the episode has one) and after the last step, side by side, from the snapshots a
//! trace keeps ([`crate::pieces::trace::link_steps`]).

use std::path::Path;

use plotters::prelude::*;

use super::grid::{draw_caption, draw_colour_bar, draw_heatmap, Grid, Heatmap};
use super::style::{Scale, CAPTION_SIZE, TITLE_SIZE};
use super::{check_size, render, PlotError};
use crate::pieces::trace::{LinkSnapshot, Trace};

/// Outer margin of the image, pixels.
const MARGIN: u32 = 16;
/// Room left of the cells for slot ticks and the axis name.
const LEFT: u32 = 64;
/// Room under the cells for slot ticks and the axis name.
const BOTTOM: u32 = 46;
/// Room right of the last panel for the colour bar.
const BAR: u32 = 62;
/// Height of the title block.
const HEADER: u32 = 62;
/// Height of a panel's caption line.
const CAPTION_H: u32 = 24;
/// Gap between panels.
const GAP: u32 = 48;

/// The snapshots the figure shows: the last one kept at or before the end of the input phase
/// (the step before the first scored step), if the episode has one and it differs from the
/// last, and the last.
fn chosen(trace: &Trace) -> Vec<&LinkSnapshot> {
    let links = trace.dnc.as_ref().map_or(&[][..], |d| d.links.as_slice());
    let Some(last) = links.last() else { return Vec::new() };
    let first_scored = trace.mask.iter().position(|&m| m >= 0.5);
    let input_end = first_scored.and_then(|t| t.checked_sub(1));
    let before = input_end.and_then(|end| links.iter().rev().find(|l| l.step <= end));
    match before {
        Some(b) if b.step != last.step => vec![b, last],
        _ => vec![last],
    }
}

/// Draws the link figure of `trace` (a DNC's) to the PNG at `path`: each chosen link matrix
/// N x N, about 5 px a slot (at least 260, at most 900 px a side).
pub fn plot_links(trace: &Trace, title: &str, path: &Path) -> Result<(), PlotError> {
    let snapshots = chosen(trace);
    if snapshots.is_empty() {
        let why = match &trace.dnc {
            None => "the trace is not a DNC's (only a DNC keeps a link matrix)",
            Some(_) => "the trace keeps no link matrix (a DNC whose read modes do not follow links)",
        };
        return Err(PlotError::empty(path, why));
    }
    let slots = snapshots.iter().map(|l| l.matrix.len()).max().unwrap_or(0);
    if slots == 0 {
        return Err(PlotError::empty(path, "the link matrices are empty"));
    }
    let cells = (slots.min(180) as u32 * 5).clamp(260, 900);
    let panel_w = LEFT + cells;
    let n = snapshots.len() as u32;
    let width = MARGIN + n * panel_w + (n - 1) * GAP + BAR + MARGIN;
    let height = HEADER + CAPTION_H + cells + BOTTOM + MARGIN;
    check_size(path, width, height)?;
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_caption(&root, title, (MARGIN as i32, 12), TITLE_SIZE).map_err(err)?;
        let subtitle =
            format!("{slots} × {slots} link matrix: L[i, j] = how much slot i was written right after slot j");
        draw_caption(&root, &subtitle, (MARGIN as i32, 40), CAPTION_SIZE - 1).map_err(err)?;
        let page = root.margin(HEADER, MARGIN, MARGIN, MARGIN);
        let mut rest = page;
        let scale = Scale::unit();
        for (k, snapshot) in snapshots.iter().enumerate() {
            let (area, right) = rest.split_horizontally(panel_w);
            rest = if k + 1 < snapshots.len() { right.split_horizontally(GAP).1 } else { right };
            let when = if k + 1 == snapshots.len() { "after the last step" } else { "after the input" };
            let caption = format!("L after step {} ({when})", snapshot.step);
            draw_caption(&area, &caption, (LEFT as i32, 2), CAPTION_SIZE).map_err(err)?;
            // Column j of the matrix is "time" column j of the grid: grid(i, j) = L[i][j].
            let columns: Vec<Vec<f32>> = (0..slots)
                .map(|j| snapshot.matrix.iter().map(|row| row.get(j).copied().unwrap_or(f32::NAN)).collect())
                .collect();
            let grid = Grid::from_time_major(columns.iter().map(Vec::as_slice), slots);
            let body = area.margin(CAPTION_H, 0, 0, 0);
            let (cells_area, _) = body.split_vertically(cells + BOTTOM);
            let map = Heatmap {
                grid: &grid,
                rows: 0..slots,
                scale,
                left: LEFT,
                y_desc: "slot i (written after)",
                bottom: BOTTOM,
                x_desc: "slot j (written before)",
                faded: &[],
                marks: &[],
                dividers: &[],
            };
            draw_heatmap(&cells_area, &map).map_err(err)?;
        }
        let bar = rest.margin(CAPTION_H, 0, 0, 0);
        let (bar, _) = bar.split_vertically(cells + BOTTOM);
        draw_colour_bar(&bar, &scale, BOTTOM).map_err(err)?;
        root.present().map_err(err)
    })
}
