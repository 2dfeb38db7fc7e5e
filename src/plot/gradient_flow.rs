//! The gradient-flow figure (the vanishing gradient, drawn): for each model, the mean norm of
//! the gradient of an answer step's loss with respect to the input `d` steps before it,
//! against `d`, on a log y axis; untrained models on the left, trained on the right, both
//! panels on the same axes so that they compare (what is measured:
//! [`crate::measure::gradient_flow`]).
//!
//! A log axis cannot show 0: exact zeros (and values that are not finite) are left out, and
//! each panel's caption says how many.

use std::path::Path;

use plotters::prelude::*;

use super::axes::{chart_on, draw_legend, house_mesh, legend_room, two_panel_page};
use super::grid::draw_caption;
use super::style::{format_number, model_colours, CAPTION_SIZE};
use super::{render, PlotError};

/// One model's line: its label and, at each distance 0, 1, ..., the mean gradient norm.
#[derive(Debug, Clone)]
pub struct FlowLine {
    /// The model's name (its colour follows the name, as in every figure).
    pub model: String,
    /// What the legend says (e.g. `ntm, 50k sequences`).
    pub label: String,
    /// The mean `|| dL_t / dx_{t-d} ||` at each distance `d`.
    pub by_distance: Vec<f64>,
}

/// One panel of the figure: its caption and its lines.
#[derive(Debug, Clone)]
pub struct FlowPanel {
    pub caption: String,
    pub lines: Vec<FlowLine>,
}

/// Height of a panel's caption line above its chart.
const CAPTION_H: u32 = 26;

/// The points of `line` a log axis can show, and how many it cannot (0, negative or not finite).
fn drawable(line: &FlowLine) -> (Vec<(f64, f64)>, usize) {
    let points: Vec<(f64, f64)> = line
        .by_distance
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite() && **v > 0.0)
        .map(|(d, &v)| (d as f64, v))
        .collect();
    let left_out = line.by_distance.len() - points.len();
    (points, left_out)
}

/// A label of the log axis: powers of ten as `1e5` from 10,000 up (gradient norms are not
/// counts, so not `100k` or `100000M`), smaller values as every figure writes them.
fn format_norm(v: f64) -> String {
    if v.abs() >= 1e4 && v.is_finite() {
        format!("{v:.0e}")
    } else {
        format_number(v)
    }
}

/// Draws `panels` (untrained, trained) side by side to the PNG at `path`, the same axes in
/// both: distance in steps on x, the mean gradient norm on a log y axis from the decade below
/// the smallest positive value to the decade above the largest, with room for the legend.
pub fn plot_gradient_flow(panels: &[FlowPanel; 2], title: &str, path: &Path) -> Result<(), PlotError> {
    let points: Vec<f64> = panels.iter().flat_map(|p| &p.lines).flat_map(|l| drawable(l).0).map(|(_, v)| v).collect();
    if points.is_empty() {
        return Err(PlotError::empty(path, "no gradient norm above 0"));
    }
    let lo = points.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = points.iter().copied().fold(0.0, f64::max);
    let (floor, top) = (10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil()).max(lo * 10.0));
    let lines = panels.iter().map(|p| p.lines.len()).max().unwrap_or(1);
    // The top part of the axis, in decades, left empty for the legend.
    let room = legend_room(lines).clamp(0.05, 0.6);
    let decades = (top / floor).log10();
    let y_range = floor..top * 10f64.powf(decades * room / (1.0 - room));
    let longest = panels.iter().flat_map(|p| &p.lines).map(|l| l.by_distance.len()).max().unwrap_or(1);
    let x_range = 0.0..(longest.max(2) - 1) as f64;
    let mut unique: Vec<&str> = Vec::new();
    for line in panels.iter().flat_map(|p| &p.lines) {
        if !unique.contains(&line.model.as_str()) {
            unique.push(&line.model);
        }
    }
    let colours = model_colours(&unique);
    let colour_of = |model: &str| colours[unique.iter().position(|n| *n == model).unwrap_or(0)];

    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let (root, left, right) = two_panel_page(path, title)?;
        for (area, panel) in [(&left, &panels[0]), (&right, &panels[1])] {
            let left_out: usize = panel.lines.iter().map(|l| drawable(l).1).sum();
            let caption = match left_out {
                0 => panel.caption.clone(),
                n => format!("{} ({n} point{} of 0 not drawn)", panel.caption, if n == 1 { "" } else { "s" }),
            };
            draw_caption(area, &caption, (78, 4), CAPTION_SIZE).map_err(err)?;
            let body = area.margin(CAPTION_H, 0, 0, 0);
            let mut chart =
                chart_on(&body).build_cartesian_2d(x_range.clone(), y_range.clone().log_scale()).map_err(err)?;
            let fmt = |v: &f64| format_norm(*v);
            house_mesh(&mut chart.configure_mesh())
                .x_labels(10)
                .y_labels(((top / floor).log10().ceil() as usize + 2).clamp(3, 14))
                .x_label_formatter(&|v: &f64| format!("{v:.0}"))
                .y_label_formatter(&fmt)
                .x_desc("distance d = t - s (time steps back from the answer step t)")
                .y_desc("mean ‖dL_t / dx_s‖ (log)")
                .draw()
                .map_err(err)?;
            for line in &panel.lines {
                let style = colour_of(&line.model).stroke_width(2);
                let (pts, _) = drawable(line);
                let dots = pts.iter().map(|&p| Circle::new(p, 2, style.color.filled()));
                chart.draw_series(dots).map_err(err)?;
                chart
                    .draw_series(LineSeries::new(pts, style))
                    .map_err(err)?
                    .label(line.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
            }
            draw_legend(&mut chart).map_err(err)?;
        }
        root.present().map_err(err)
    })
}

#[cfg(test)]
mod tests {
    use super::format_norm;

    #[test]
    fn large_norms_are_written_as_powers_of_ten() {
        assert_eq!(format_norm(1e11), "1e11");
        assert_eq!(format_norm(1e4), "1e4");
        assert_eq!(format_norm(1000.0), "1000");
        assert_eq!(format_norm(1e-3), "1e-3");
    }
}
