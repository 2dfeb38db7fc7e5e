//! A sweep's convergence strip: one row per seed (grouped by model), a bar from 0 to the
//! sequences at which the seed's training bit errors first fell below the threshold, a dot
//! there, a red tick at every report interval after it whose bit errors rose above the relapse
//! threshold, a thin line to where training ended, and the outcome at the row's end.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axes::house_mesh;
use super::grid::draw_caption;
use super::style::{format_number, model_colours, text, AXIS_SIZE, ERROR_MARK, INK, TICK_SIZE, TITLE_SIZE};
use super::{check_size, render, PlotError};
use crate::sweep::summary::{SeedSummary, Status, Summary};

/// Page width in pixels (as the two-panel figures).
const WIDTH: u32 = 1400;
/// Pixels above the rows (title and legend) and below them (the x axis).
const TOP: u32 = 88;
const BOTTOM: u32 = 70;
/// Width of the row labels on the left and of the outcome notes on the right.
const LEFT: u32 = 130;
const RIGHT: u32 = 200;
/// Height of one row: roomy for a few seeds, tighter for many (labels thinned when smaller
/// than a line of text).
fn row_height(rows: usize) -> u32 {
    match rows {
        0..=12 => 34,
        13..=40 => 24,
        _ => (16_000 / rows as u32).clamp(3, 16),
    }
}

/// One row: the model's index (colour), the label and the seed's summary.
struct Row<'a> {
    model: usize,
    label: String,
    seed: &'a SeedSummary,
}

/// Draws the convergence strip of every model and seed of `summary` to the PNG at `path`.
pub fn plot_sweep_convergence(summary: &Summary, title: &str, path: &Path) -> Result<(), PlotError> {
    let names: Vec<&str> = summary.models.keys().map(String::as_str).collect();
    let many_models = names.len() > 1;
    let rows: Vec<Row> = summary
        .models
        .values()
        .enumerate()
        .flat_map(|(m, model)| {
            let name = names[m];
            model.seeds.iter().map(move |seed| Row {
                model: m,
                label: if many_models { format!("{name}  seed {}", seed.seed) } else { format!("seed {}", seed.seed) },
                seed,
            })
        })
        .collect();
    if rows.is_empty() {
        return Err(PlotError::empty(path, "no seeds"));
    }
    let row_h = row_height(rows.len());
    let height = TOP + BOTTOM + row_h * rows.len() as u32;
    check_size(path, WIDTH, height)?;
    let x_max = rows.iter().map(|r| r.seed.sequences as f64).fold(0.0, f64::max).max(1.0) * 1.02;
    let n = rows.len() as f64;
    // Row i sits at y = n - 1 - i, so the first row is on top.
    let y_of = |i: usize| n - 1.0 - i as f64;
    let label_every = (14 / row_h as usize).max(1);

    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_caption(&root, title, (16, 12), TITLE_SIZE).map_err(err)?;
        draw_key(&root, summary.relapse_threshold).map_err(err)?;
        let body = root.margin(TOP, 10, 10, 10);
        let mut chart = ChartBuilder::on(&body)
            .margin_right(RIGHT as i32)
            .set_label_area_size(LabelAreaPosition::Left, LEFT)
            .set_label_area_size(LabelAreaPosition::Bottom, 50)
            .build_cartesian_2d(0.0..x_max, -0.5..n - 0.5)
            .map_err(err)?;
        let x_fmt = |v: &f64| format_number(*v);
        house_mesh(&mut chart.configure_mesh())
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(10)
            .x_label_formatter(&x_fmt)
            .x_desc("training sequences seen")
            .draw()
            .map_err(err)?;
        let colours = model_colours(&names);
        let half = 0.28;
        for (i, row) in rows.iter().enumerate() {
            let (y, colour, seed) = (y_of(i), colours[row.model], row.seed);
            // A line between two models' rows.
            if i > 0 && rows[i - 1].model != row.model {
                let sep = [(0.0, y + 0.5), (x_max, y + 0.5)];
                chart.draw_series(std::iter::once(PathElement::new(sep, INK.mix(0.5)))).map_err(err)?;
            }
            let end = seed.sequences as f64;
            chart.draw_series(std::iter::once(PathElement::new([(0.0, y), (end, y)], INK.mix(0.45)))).map_err(err)?;
            if let Some(at) = seed.converged_at {
                let bar = Rectangle::new([(0.0, y - half), (at as f64, y + half)], colour.mix(0.75).filled());
                chart.draw_series(std::iter::once(bar)).map_err(err)?;
                let radius = (row_h as i32 / 4).clamp(2, 6);
                let dot = Circle::new((at as f64, y), radius, colour.filled());
                chart.draw_series(std::iter::once(dot)).map_err(err)?;
            }
            if let Some(relapse) = &seed.relapse {
                let ticks = relapse.above.iter().map(|&x| {
                    PathElement::new([(x as f64, y - 0.42), (x as f64, y + 0.42)], ERROR_MARK.stroke_width(2))
                });
                chart.draw_series(ticks).map_err(err)?;
            }
            if seed.status == Status::Diverged {
                let size = (row_h as i32 / 3).clamp(3, 7);
                chart
                    .draw_series(std::iter::once(Cross::new((end, y), size, ERROR_MARK.stroke_width(2))))
                    .map_err(err)?;
            }
            let (px, py) = chart.backend_coord(&(x_max, y));
            let (lx, _) = chart.backend_coord(&(0.0, y));
            let note = outcome(seed);
            if row_h >= 10 || !note.is_empty() {
                let style = text(TICK_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
                root.draw(&Text::new(note, (px + 10, py), style)).map_err(err)?;
            }
            if i % label_every == 0 {
                let style = text(TICK_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
                root.draw(&Text::new(row.label.clone(), (lx - 8, py), style)).map_err(err)?;
            }
        }
        root.present().map_err(err)
    })
}

/// The note at a row's right end: how training ended and how high it relapsed.
fn outcome(seed: &SeedSummary) -> String {
    let mut parts = Vec::new();
    match seed.status {
        Status::Diverged => parts.push("diverged".to_owned()),
        Status::Unfinished => parts.push("unfinished".to_owned()),
        Status::Finished => {}
    }
    match &seed.relapse {
        None => parts.push("never below".to_owned()),
        Some(r) if !r.above.is_empty() => parts.push(format!("relapse to {}", format_number(r.max_bit_errors))),
        Some(_) => {}
    }
    parts.join(", ")
}

/// The key under the title: what the bar, dot, ticks and cross mean.
fn draw_key<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    relapse: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let y = 58;
    let style = text(AXIS_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    let mut x = 20;
    root.draw(&Rectangle::new([(x, y - 6), (x + 30, y + 6)], INK.mix(0.45).filled()))?;
    root.draw(&Circle::new((x + 30, y), 5, INK.filled()))?;
    root.draw(&Text::new(
        "bar: training until the bit errors first fell below the threshold",
        (x + 44, y),
        style.clone(),
    ))?;
    x += 560;
    root.draw(&PathElement::new([(x, y - 9), (x, y + 9)], ERROR_MARK.stroke_width(2)))?;
    root.draw(&Text::new(
        format!("a report interval above {relapse} bit errors after that"),
        (x + 12, y),
        style.clone(),
    ))?;
    x += 420;
    root.draw(&Cross::new((x, y), 6, ERROR_MARK.stroke_width(2)))?;
    root.draw(&Text::new("diverged (NaN)", (x + 14, y), style))?;
    Ok(())
}
