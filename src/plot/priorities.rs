//! The priority sort figure (the paper's figure 17): where each head puts its weight against
//! the priority of the vector concerned, from one traced priority-sort episode.
//!
//! The paper's NTM writes each input vector at a slot that is a linear function of its
//! priority, then reads the slots in order, so that the answers come out sorted. This figure
//! tests that for every head, one panel each: write heads (top row) at each input step `t`,
//! the slot of the weighting's peak against the priority of input `t` (written at that step);
//! read heads (bottom row) at each answer step, the slot of the peak against the priority of
//! the vector the answer should be (the read at step `t` feeds the output at step `t`). Each
//! panel fits `slot = a + b * priority` by least squares and gives `R²`; a head that writes
//! each vector where its priority says lines up on the fitted line (`R²` near 1). A point is
//! filled when the weighting's peak holds more than half its weight, hollow when the
//! weighting is spread. Slots count round the circular memory: when a head's points straddle
//! slot 0, the axis is cut at the largest gap between them instead, so the points stay
//! together (ticks show slot numbers modulo the memory size).
//!
//! Which head does the sorting is the model's choice: the paper's NTM has 5 write heads, and
//! nothing ties the sorting to any one of them. So every head gets its panel, and the heads'
//! fits say which do it.

use std::path::Path;

use plotters::prelude::*;

use super::axes::house_mesh;
use super::grid::draw_caption;
use super::style::{text, AXIS_SIZE, CAPTION_SIZE, INK, PALETTE, TITLE_SIZE};
use super::{check_size, render, PlotError};
use crate::base::kinds::HeadKind;
use crate::pieces::trace::Trace;

/// Size of one head's panel, pixels.
const PANEL: (u32, u32) = (330, 300);
/// Height of the title block and of a row's caption.
const HEADER: u32 = 70;
const ROW_CAPTION: u32 = 26;
/// Outer margin, pixels.
const MARGIN: u32 = 14;
/// A weighting whose peak holds more than this is drawn filled (focused).
const FOCUSED: f32 = 0.5;

/// One point of a panel: a priority and the slot of a head's peak weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadPoint {
    /// The priority of the vector written (or answered) at this step.
    pub priority: f64,
    /// The slot of the weighting's largest entry.
    pub slot: usize,
    /// That entry's weight, in [0, 1].
    pub peak: f32,
}

/// One head's points and its least-squares line.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadPriorities {
    pub kind: HeadKind,
    pub index: usize,
    pub points: Vec<HeadPoint>,
    /// The slots unwrapped round the circular memory: each point's slot plus a multiple of
    /// the memory size, so that the points sit together (see the module doc).
    pub unwrapped: Vec<f64>,
    /// `(a, b, R²)` of `slot = a + b * priority` over the unwrapped slots; `None` with fewer
    /// than 2 points or no spread in priority. `R²` is 1 when every point sits at one slot.
    pub fit: Option<(f64, f64, f64)>,
}

/// The figure's data from a priority-sort trace: the priorities in input order (from the
/// input channel after the bits, which the trace's targets count) and one entry per head,
/// write heads first. `Err` with a message when the trace is not of a priority-sort episode.
pub fn head_priorities(trace: &Trace) -> Result<(Vec<f64>, Vec<HeadPriorities>), String> {
    let bits = trace.targets.first().map_or(0, Vec::len);
    let n = trace.length;
    // n inputs with their priority at channel `bits`, the delimiter flag at `bits + 1`.
    let shaped = trace.inputs.len() > n && trace.inputs.iter().all(|x| x.len() == bits + 2);
    if trace.task != "priority-sort" || !shaped || n == 0 {
        return Err(format!("the trace is of a {} episode, not of priority sort", trace.task));
    }
    let priorities: Vec<f64> = trace.inputs[..n].iter().map(|x| x[bits] as f64).collect();
    let as_f32: Vec<f32> = priorities.iter().map(|&p| p as f32).collect();
    let order = ntm_tasks::priority_sort::priority_order(&as_f32);
    // The answer steps: where the mask is 1, in order; answer i is input order[i].
    let answers: Vec<usize> = (0..trace.mask.len()).filter(|&t| trace.mask[t] >= 0.5).collect();

    let mut heads: Vec<_> = trace.heads.iter().collect();
    heads.sort_by_key(|h| (h.kind == HeadKind::Read, h.index));
    let mut out = Vec::new();
    for head in heads {
        let steps: Vec<(usize, usize)> = match head.kind {
            HeadKind::Write => (0..n).map(|t| (t, t)).collect(),
            HeadKind::Read => answers.iter().zip(&order).map(|(&t, &input)| (t, input)).collect(),
        };
        let points: Vec<HeadPoint> = steps
            .into_iter()
            .filter_map(|(t, input)| {
                let (slot, peak) = peak(&head.steps.get(t)?.weighting)?;
                Some(HeadPoint { priority: priorities[input], slot, peak })
            })
            .collect();
        let slots = head.steps.first().map_or(0, |s| s.weighting.len());
        let unwrapped = unwrap(&points.iter().map(|p| p.slot).collect::<Vec<_>>(), slots);
        let fit = least_squares(&points.iter().map(|p| p.priority).collect::<Vec<_>>(), &unwrapped);
        out.push(HeadPriorities { kind: head.kind, index: head.index, points, unwrapped, fit });
    }
    Ok((priorities, out))
}

/// The index and value of the largest finite entry of `w`.
fn peak(w: &[f32]) -> Option<(usize, f32)> {
    w.iter().enumerate().filter(|(_, v)| v.is_finite()).max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, &v)| (i, v))
}

/// The slots as numbers on a line: the circle of `n` slots cut at the largest gap between
/// the occupied slots, so a run of slots that straddles slot 0 stays together. The result
/// starts within `[0, n)`; a slot after the cut gets `n` added.
pub(crate) fn unwrap(slots: &[usize], n: usize) -> Vec<f64> {
    let mut used: Vec<usize> = slots.to_vec();
    used.sort_unstable();
    used.dedup();
    if used.len() < 2 || n == 0 {
        return slots.iter().map(|&s| s as f64).collect();
    }
    // The gap after used[i] (to the next used slot, round the circle); the cut goes in the
    // largest, and the points start at the slot after it. Ties keep the plain numbering.
    let gap = |i: usize| (used[(i + 1) % used.len()] + n - used[i]) % n;
    let mut widest = used.len() - 1;
    for i in 0..used.len() - 1 {
        if gap(i) > gap(widest) {
            widest = i;
        }
    }
    let start = used[(widest + 1) % used.len()];
    slots.iter().map(|&s| if s >= start { s as f64 } else { (s + n) as f64 }).collect()
}

/// `(a, b, R²)` of the least-squares line `y = a + b x`; `None` for fewer than 2 points or
/// no spread in `x`. `R²` is 1 when `y` does not vary (the line fits exactly).
pub(crate) fn least_squares(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let mean = |v: &[f64]| v[..n].iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let sxx: f64 = x[..n].iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x[..n].iter().zip(&y[..n]).map(|(a, b)| (a - mx) * (b - my)).sum();
    let syy: f64 = y[..n].iter().map(|v| (v - my).powi(2)).sum();
    if !sxx.is_finite() || sxx <= 0.0 || !syy.is_finite() {
        return None;
    }
    let b = sxy / sxx;
    let r2 = if syy > 0.0 { (sxy * sxy) / (sxx * syy) } else { 1.0 };
    Some((my - b * mx, b, r2))
}

/// Draws the figure of `heads` (from [`head_priorities`]) to the PNG at `path`: a row of
/// write heads above a row of read heads, one scatter panel per head; `slots` is the memory
/// size, for the ticks.
pub fn plot_priorities(heads: &[HeadPriorities], slots: usize, title: &str, path: &Path) -> Result<(), PlotError> {
    if heads.iter().all(|h| h.points.is_empty()) {
        return Err(PlotError::empty(path, "no head has a weighting at the input or answer steps"));
    }
    let rows: Vec<Vec<&HeadPriorities>> = [HeadKind::Write, HeadKind::Read]
        .iter()
        .map(|&k| heads.iter().filter(|h| h.kind == k).collect::<Vec<_>>())
        .filter(|r| !r.is_empty())
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(1).max(2) as u32;
    let width = 2 * MARGIN + columns * PANEL.0;
    let height = HEADER + rows.len() as u32 * (ROW_CAPTION + PANEL.1) + MARGIN;
    check_size(path, width, height)?;
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_caption(&root, title, (MARGIN as i32, 10), TITLE_SIZE).map_err(err)?;
        let legend = format!(
            "filled: the weighting's peak holds more than half its weight; hollow: spread; line: least-squares \
             fit of slot on priority (the slots count round: 0 follows {})",
            slots.saturating_sub(1)
        );
        draw_caption(&root, &legend, (MARGIN as i32, 40), CAPTION_SIZE - 1).map_err(err)?;
        let body = root.margin(HEADER, MARGIN, MARGIN, MARGIN);
        let row_areas = body.split_evenly((rows.len(), 1));
        for (row, area) in rows.iter().zip(&row_areas) {
            let what = match row[0].kind {
                HeadKind::Write => "write heads: the slot each input vector is written to (at its input step)",
                HeadKind::Read => {
                    "read heads: the slot read at each answer step, against the priority of the vector due"
                }
            };
            draw_caption(area, what, (4, 2), AXIS_SIZE + 1).map_err(err)?;
            let panels = area.margin(ROW_CAPTION, 0, 0, 0).split_evenly((1, columns as usize));
            for (head, panel) in row.iter().zip(&panels) {
                draw_panel(panel, head, slots).map_err(err)?;
            }
        }
        root.present().map_err(err)
    })
}

/// One head's scatter of slot against priority, with its fitted line.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    head: &HeadPriorities,
    slots: usize,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (name, colour) = match head.kind {
        HeadKind::Write => (format!("write head {}", head.index), PALETTE[0]),
        HeadKind::Read => (format!("read head {}", head.index), PALETTE[1]),
    };
    let fit = match head.fit {
        Some((a, b, r2)) => {
            let a = a.rem_euclid(slots.max(1) as f64); // the slot at priority 0, round the circle
            format!("slot ≈ {a:.0} {} {:.0} p, R² {r2:.2}", if b < 0.0 { '−' } else { '+' }, b.abs())
        }
        None => "no fit".to_owned(),
    };
    let finite = head.unwrapped.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, slots.max(1) as f64) };
    let pad = ((hi - lo) * 0.08).max(2.0);
    let modulo = slots.max(1) as f64;
    let y_fmt = |v: &f64| format!("{}", v.round().rem_euclid(modulo));
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .margin_right(14)
        .caption(format!("{name}: {fit}"), text(CAPTION_SIZE - 2))
        .set_label_area_size(LabelAreaPosition::Left, 48)
        .set_label_area_size(LabelAreaPosition::Bottom, 40)
        .build_cartesian_2d(-1.05..1.05, (lo - pad)..(hi + pad))?;
    house_mesh(&mut chart.configure_mesh())
        .x_labels(5)
        .y_labels(6)
        .y_label_formatter(&y_fmt)
        .x_desc("priority")
        .y_desc("slot")
        .draw()?;
    if let Some((a, b, _)) = head.fit {
        let line = vec![(-1.0, a - b), (1.0, a + b)];
        chart.draw_series(LineSeries::new(line, INK.mix(0.6).stroke_width(1)))?;
    }
    let points = head.points.iter().zip(&head.unwrapped);
    chart.draw_series(points.map(|(p, &y)| {
        let style = if p.peak > FOCUSED { colour.filled() } else { colour.stroke_width(2) };
        Circle::new((p.priority, y), 4, style)
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_keeps_a_run_across_slot_zero_together() {
        // 126, 127, 0, 1 on 128 slots: the cut goes in the gap 2..125.
        assert_eq!(unwrap(&[126, 0, 127, 1], 128), [126.0, 128.0, 127.0, 129.0]);
        // A run that does not straddle 0 keeps its numbers.
        assert_eq!(unwrap(&[10, 12, 11], 128), [10.0, 12.0, 11.0]);
        assert_eq!(unwrap(&[5], 128), [5.0]);
        assert_eq!(unwrap(&[], 128), Vec::<f64>::new());
    }

    #[test]
    fn least_squares_line_and_r2() {
        let (a, b, r2) = least_squares(&[-1.0, 0.0, 1.0], &[10.0, 20.0, 30.0]).unwrap();
        assert!((a - 20.0).abs() < 1e-12 && (b - 10.0).abs() < 1e-12 && (r2 - 1.0).abs() < 1e-12);
        let (_, b, r2) = least_squares(&[-1.0, 1.0, -1.0, 1.0], &[0.0, 0.0, 2.0, 2.0]).unwrap();
        assert!(b.abs() < 1e-12 && r2.abs() < 1e-12);
        assert_eq!(least_squares(&[1.0, 1.0], &[0.0, 5.0]), None);
        assert_eq!(least_squares(&[1.0], &[0.0]), None);
        assert_eq!(least_squares(&[0.0, 1.0], &[3.0, 3.0]).map(|f| f.2), Some(1.0));
    }
}
