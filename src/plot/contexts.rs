//! The contexts figure (the idea of the paper's figure 15, dynamic N-grams): where an NTM's
//! heads go against the context the optimal predictor counts in, over one episode.
//!
//! The optimum keeps, per context of the last `C` bits, a count of the ones and zeros that
//! followed it. The paper's figure 15 shows its NTM reading the same memory slot whenever the
//! same context recurs, and writing that slot on the next step, and suggests it keeps one count
//! per context there. This figure tests that over a whole episode: one heatmap per head, a row
//! per context seen in the episode and a column per memory slot, each cell the head's mean
//! weighting on that slot over the steps of that context. A head that gives each context a slot
//! of its own draws one bright cell per row, in a different column for every row.
//!
//! Which context a step belongs to: at step `t` the model has read bits `0..=t` and predicts bit
//! `t + 1`, so a **read** head at `t` is placed by the context of bits `t - C + 1 ..= t` (whose
//! count the prediction needs); a **write** head at `t` by the context of bits `t - C ..= t - 1`
//! (the context the bit just read, bit `t`, followed: whose count it updates). Steps before a
//! full context are left out. Rows are sorted by the slot the first read head weights most (so
//! one slot per context draws a staircase), the same order in every panel.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use super::grid::{draw_caption, draw_colour_bar};
use super::style::{text, Scale, CAPTION_SIZE, INK, TICK_SIZE, TITLE_SIZE};
use super::{check_size, render, PlotError};
use crate::base::kinds::HeadKind;
use crate::pieces::trace::Trace;

/// How one head's weighting falls on the memory, context by context. A context seen "has a
/// slot of its own" when its peak slot is no other seen context's peak slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadContexts {
    /// Read or write head.
    pub kind: HeadKind,
    /// Index among heads of the same kind.
    pub index: usize,
    /// Which bits make a step's context for this head, relative to the step `t`: `"t-4..t"`
    /// (read heads) or `"t-5..t-1"` (write heads), for `C = 5`.
    pub bits: String,
    /// `[2^C]`: the steps of the episode placed in each context.
    pub visits: Vec<usize>,
    /// `[2^C][N]`: the head's mean weighting over those steps (empty for a context not seen).
    pub mean_weighting: Vec<Vec<f32>>,
    /// `[2^C]`: the slot of the largest mean weighting (`None` for a context not seen).
    pub peak_slot: Vec<Option<usize>>,
    /// `[2^C]`: that largest mean weighting, the mean weight the head puts on the context's
    /// slot (1: exactly there at every visit).
    pub peak_weight: Vec<Option<f32>>,
    /// Contexts seen.
    pub seen: usize,
    /// Contexts seen whose peak slot is no other seen context's peak slot.
    pub own_slots: usize,
}

/// Every head of one traced episode, context by context: what the contexts figure draws (and
/// what `ntm plot contexts` writes as JSON beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextUse {
    /// Bits of context, `C`.
    pub context: usize,
    /// Bits in the episode.
    pub length: usize,
    /// Read heads first, then write heads.
    pub heads: Vec<HeadContexts>,
}

/// The most contexts a figure draws a row for (visited ones only; 2^16 would be unreadable).
pub const MOST_ROWS: usize = 1024;

impl ContextUse {
    /// Reads the episode's bits (input channel 0, at or above 0.5 is a 1) and every head's
    /// weightings out of `trace`, `context` bits of context.
    ///
    /// # Panics
    /// If `context` is 0 or above 16.
    pub fn of(trace: &Trace, context: usize) -> Self {
        assert!((1..=16).contains(&context), "a context of {context} bits: must be from 1 to 16");
        let bits: Vec<bool> = trace.inputs.iter().map(|x| x.first().is_some_and(|&v| v >= 0.5)).collect();
        // contexts[t]: the context of bits t - C + 1 ..= t, once there are C bits.
        let contexts: Vec<Option<usize>> = (0..bits.len())
            .map(|t| (t + 1 >= context).then(|| bits[t + 1 - context..=t].iter().fold(0, |c, &b| c << 1 | b as usize)))
            .collect();
        let mut heads: Vec<_> = trace.heads.iter().collect();
        heads.sort_by_key(|h| (h.kind == HeadKind::Write, h.index));
        let heads = heads
            .into_iter()
            .map(|head| {
                // A write at t updates the context before bit t: that of step t - 1.
                let lag = usize::from(head.kind == HeadKind::Write);
                let placed = head.steps.iter().enumerate().filter_map(|(t, step)| {
                    let c = contexts.get(t.checked_sub(lag)?).copied().flatten()?;
                    Some((c, step.weighting.as_slice()))
                });
                let bits = match lag {
                    0 => format!("t-{}..t", context - 1),
                    _ => format!("t-{context}..t-1"),
                };
                HeadContexts::from_steps(head.kind, head.index, bits, context, placed)
            })
            .collect();
        ContextUse { context, length: bits.len(), heads }
    }

    /// The contexts seen by the first read head (or the first head), in the figure's row
    /// order: by that head's peak slot, then by context.
    fn row_order(&self) -> Vec<usize> {
        let Some(first) = self.heads.first() else { return Vec::new() };
        let mut rows: Vec<usize> = (0..first.visits.len()).filter(|&c| first.visits[c] > 0).collect();
        rows.sort_by_key(|&c| (first.peak_slot[c], c));
        rows
    }
}

impl HeadContexts {
    /// Means of the weightings `placed` (context, weighting over the slots) per context.
    fn from_steps<'a>(
        kind: HeadKind,
        index: usize,
        bits: String,
        context: usize,
        placed: impl Iterator<Item = (usize, &'a [f32])>,
    ) -> Self {
        let n = 1usize << context;
        let mut sums: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut visits = vec![0; n];
        for (c, weighting) in placed {
            let sum = &mut sums[c];
            if sum.len() < weighting.len() {
                sum.resize(weighting.len(), 0.0);
            }
            for (s, &w) in sum.iter_mut().zip(weighting) {
                *s += w as f64;
            }
            visits[c] += 1;
        }
        let mean_weighting: Vec<Vec<f32>> =
            sums.iter().zip(&visits).map(|(s, &v)| s.iter().map(|&x| (x / v.max(1) as f64) as f32).collect()).collect();
        let peaks: Vec<Option<(usize, f32)>> = mean_weighting
            .iter()
            .map(|row| {
                row.iter().copied().enumerate().filter(|(_, w)| w.is_finite()).max_by(|a, b| a.1.total_cmp(&b.1))
            })
            .collect();
        let seen = visits.iter().filter(|&&v| v > 0).count();
        let own_slots = peaks
            .iter()
            .enumerate()
            .filter_map(|(c, p)| Some((c, p.as_ref()?.0)))
            .filter(|&(c, slot)| !peaks.iter().enumerate().any(|(d, q)| d != c && q.is_some_and(|q| q.0 == slot)))
            .count();
        HeadContexts {
            kind,
            index,
            bits,
            visits,
            mean_weighting,
            peak_slot: peaks.iter().map(|p| p.map(|p| p.0)).collect(),
            peak_weight: peaks.iter().map(|p| p.map(|p| p.1)).collect(),
            seen,
            own_slots,
        }
    }

    fn name(&self) -> String {
        match self.kind {
            HeadKind::Read => format!("read head {}", self.index),
            HeadKind::Write => format!("write head {}", self.index),
        }
    }
}

/// Outer margin, pixels.
const MARGIN: u32 = 16;
/// Title and subtitle block.
const HEADER: u32 = 70;
/// A panel's caption lines.
const CAPTION_H: u32 = 44;
/// Room left of a panel's cells for the context labels.
const LEFT: u32 = 118;
/// Room under the cells for the slot axis.
const AXIS_H: u32 = 46;
/// Room right of the last panel for the colour bar.
const BAR: u32 = 62;
/// Gap between panels.
const GAP: u32 = 20;
/// Slots kept either side of those some head weights, and the weight that counts as used.
const CROP_MARGIN: usize = 2;
const USED_WEIGHT: f32 = 0.01;

/// Draws `uses` (one panel per head, side by side) to the PNG at `path`.
pub fn plot_contexts(uses: &ContextUse, title: &str, path: &Path) -> Result<(), PlotError> {
    let rows = uses.row_order();
    if rows.is_empty() || uses.heads.is_empty() {
        return Err(PlotError::empty(path, "no head and no context with a full history in the episode"));
    }
    if rows.len() > MOST_ROWS {
        return Err(PlotError::empty(
            path,
            format!("{} contexts, more than the {MOST_ROWS} a figure shows", rows.len()),
        ));
    }
    let slots = uses.heads.iter().flat_map(|h| &h.mean_weighting).map(Vec::len).max().unwrap_or(0);
    if slots == 0 {
        return Err(PlotError::empty(path, "the heads recorded no weightings"));
    }
    let used = |s: usize| {
        uses.heads.iter().flat_map(|h| &h.mean_weighting).any(|r| r.get(s).is_some_and(|&w| w > USED_WEIGHT))
    };
    let shown = match ((0..slots).find(|&s| used(s)), (0..slots).rev().find(|&s| used(s))) {
        (Some(a), Some(b)) => a.saturating_sub(CROP_MARGIN)..(b + 1 + CROP_MARGIN).min(slots),
        _ => 0..slots,
    };
    let row_h = (560 / rows.len() as u32).clamp(2, 18);
    let cell_w = (700 / shown.len() as u32).clamp(3, 14);
    let cells = (shown.len() as u32 * cell_w, rows.len() as u32 * row_h);
    let panels = uses.heads.len() as u32;
    let width = 2 * MARGIN + panels * (LEFT + cells.0) + (panels - 1) * GAP + BAR;
    let height = HEADER + CAPTION_H + cells.1 + AXIS_H + MARGIN;
    check_size(path, width, height)?;
    let subtitle = format!(
        "{} bits; a row per {}-bit context seen (oldest bit first, visits in brackets), sorted by the slot {} weights most; \
         colour: mean weighting over the steps of that context",
        uses.length,
        uses.context,
        uses.heads[0].name()
    );
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_caption(&root, title, (MARGIN as i32, 12), TITLE_SIZE).map_err(err)?;
        draw_caption(&root, &subtitle, (MARGIN as i32, 42), CAPTION_SIZE - 1).map_err(err)?;
        let scale = Scale::unit();
        let body = root.margin(HEADER, MARGIN, MARGIN, MARGIN);
        let mut rest = body;
        for head in &uses.heads {
            let (area, right) = rest.split_horizontally(LEFT + cells.0 + GAP);
            rest = right;
            let caption = format!("{}, placed by bits {}:", head.name(), head.bits);
            draw_caption(&area, &caption, (LEFT as i32, 0), CAPTION_SIZE).map_err(err)?;
            let mean_peak = mean(head.peak_weight.iter().flatten().map(|&w| w as f64));
            let summary = format!(
                "{} of {} contexts peak on a slot of their own; mean weight there {:.2}",
                head.own_slots, head.seen, mean_peak
            );
            draw_caption(&area, &summary, (LEFT as i32, 20), CAPTION_SIZE - 1).map_err(err)?;
            let panel = area.margin(CAPTION_H, 0, 0, 0);
            draw_panel(&panel, head, &rows, shown.clone(), (cell_w, row_h), uses.context).map_err(err)?;
        }
        let (bar, _) = rest.split_vertically(CAPTION_H + cells.1 + AXIS_H);
        let bar = bar.margin(CAPTION_H, 0, 0, 0);
        draw_colour_bar(&bar, &scale, AXIS_H).map_err(err)?;
        root.present().map_err(err)
    })
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// One head's heatmap: `rows` (contexts, top to bottom) x the `shown` slots, its context labels
/// on the left and the slot axis below.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    head: &HeadContexts,
    rows: &[usize],
    shown: std::ops::Range<usize>,
    (cell_w, row_h): (u32, u32),
    context: usize,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (w, h) = (shown.len() as u32 * cell_w, rows.len() as u32 * row_h);
    let (cells_area, _) = area.split_vertically(h + AXIS_H);
    let (cells_area, _) = cells_area.split_horizontally(LEFT + w);
    let x_range = shown.start as f64 - 0.5..shown.end as f64 - 0.5;
    let y_range = -(rows.len() as f64 - 0.5)..0.5;
    let mut chart = ChartBuilder::on(&cells_area)
        .set_label_area_size(LabelAreaPosition::Left, LEFT)
        .set_label_area_size(LabelAreaPosition::Bottom, AXIS_H)
        .build_cartesian_2d(x_range, y_range)?;
    let integer = |v: &f64| match (v - v.round()).abs() < 1e-6 {
        true => format!("{}", v.round()),
        false => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_y_axis()
        .axis_style(INK)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(CAPTION_SIZE - 1))
        .x_labels((w as usize / 50).clamp(2, shown.len().max(2)))
        .x_label_formatter(&integer)
        .x_desc("memory slot")
        .set_all_tick_mark_size(3)
        .draw()?;
    let scale = Scale::unit();
    chart.draw_series(rows.iter().enumerate().flat_map(|(r, &c)| {
        let row = &head.mean_weighting[c];
        let y = -(r as f64);
        shown.clone().map(move |s| {
            let value = if head.visits[c] == 0 { f64::NAN } else { row.get(s).map_or(f64::NAN, |&w| w as f64) };
            Rectangle::new([(s as f64 - 0.5, y + 0.5), (s as f64 + 0.5, y - 0.5)], scale.colour(value).filled())
        })
    }))?;
    let frame = [(shown.start as f64 - 0.5, 0.5), (shown.end as f64 - 0.5, -(rows.len() as f64 - 0.5))];
    chart.plotting_area().draw(&Rectangle::new(frame, INK.stroke_width(1)))?;
    // Context labels, where there is room for them.
    if row_h >= 10 {
        let style = text(TICK_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
        for (r, &c) in rows.iter().enumerate() {
            let label = format!("{}  ({})", context_bits(c, context), head.visits[c]);
            let y = (r as u32 * row_h + row_h / 2) as i32;
            cells_area.draw(&Text::new(label, (LEFT as i32 - 6, y), style.clone()))?;
        }
    }
    Ok(())
}

/// Context `c` of `context` bits as a string, oldest bit first: 2 of 5 bits is `00010`.
pub fn context_bits(c: usize, context: usize) -> String {
    (0..context).rev().map(|i| if c >> i & 1 == 1 { '1' } else { '0' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pieces::trace::{HeadStep, HeadTrace};

    fn step(weighting: Vec<f32>) -> HeadStep {
        HeadStep {
            weighting,
            content_weighting: vec![],
            key: vec![],
            beta: 0.0,
            gate: 0.0,
            shift: vec![],
            gamma: 1.0,
            erase: None,
            add: None,
            read: None,
        }
    }

    /// A trace of `bits` whose read head weights slot `c` at a step of context `c` and whose
    /// write head does the same one step later.
    fn counting_trace(bits: &[u8], context: usize) -> Trace {
        let n = 1 << context;
        let ctx = |t: usize| {
            (t + 1 >= context).then(|| bits[t + 1 - context..=t].iter().fold(0, |c, &b| c << 1 | b as usize))
        };
        let one_hot = |c: Option<usize>| (0..n).map(|s| if Some(s) == c { 1.0 } else { 0.0 }).collect::<Vec<f32>>();
        let read = (0..bits.len()).map(|t| step(one_hot(ctx(t)))).collect();
        let write = (0..bits.len()).map(|t| step(one_hot(t.checked_sub(1).and_then(ctx)))).collect();
        Trace {
            task: "dynamic-ngrams".into(),
            length: bits.len(),
            repeats: None,
            trained_sequences: 0,
            shifts: vec![-1, 0, 1],
            inputs: bits.iter().map(|&b| vec![b as f32]).collect(),
            targets: vec![],
            mask: vec![],
            outputs: vec![],
            initial_memory: vec![vec![0.0; 2]; n],
            heads: vec![
                HeadTrace { kind: HeadKind::Write, index: 0, steps: write },
                HeadTrace { kind: HeadKind::Read, index: 0, steps: read },
            ],
            dnc: None,
        }
    }

    #[test]
    fn a_slot_per_context_is_found_for_both_heads() {
        // Contexts of 2 bits: 01 at t = 1, 11 at 2, 10 at 3, 00 at 4, 01 at 5.
        let bits = [0, 1, 1, 0, 0, 1];
        let uses = ContextUse::of(&counting_trace(&bits, 2), 2);
        assert_eq!((uses.context, uses.length), (2, 6));
        let (read, write) = (&uses.heads[0], &uses.heads[1]);
        assert_eq!((read.kind, write.kind), (HeadKind::Read, HeadKind::Write));
        assert_eq!((read.bits.as_str(), write.bits.as_str()), ("t-1..t", "t-2..t-1"));
        assert_eq!(read.visits, vec![1, 2, 1, 1]);
        // The write head is placed one step later: the last context (01 at t = 5) is not written.
        assert_eq!(write.visits, vec![1, 1, 1, 1]);
        for head in [read, write] {
            assert_eq!(head.peak_slot, vec![Some(0), Some(1), Some(2), Some(3)]);
            assert_eq!(head.peak_weight, vec![Some(1.0); 4]);
            assert_eq!((head.seen, head.own_slots), (4, 4));
        }
        assert_eq!(uses.row_order(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_head_that_stays_put_has_no_slot_per_context() {
        let mut trace = counting_trace(&[0, 1, 1, 0, 0, 1, 1, 1], 2);
        for head in &mut trace.heads {
            head.steps.iter_mut().for_each(|s| s.weighting = vec![0.5, 0.5, 0.0, 0.0]);
        }
        let uses = ContextUse::of(&trace, 2);
        let read = &uses.heads[0];
        assert_eq!(read.seen, 4);
        assert_eq!(read.own_slots, 0, "every context peaks on slot 0");
        assert_eq!(read.peak_weight[1], Some(0.5));
    }

    #[test]
    fn contexts_read_oldest_bit_first() {
        assert_eq!(context_bits(2, 5), "00010");
        assert_eq!(context_bits(15, 5), "01111");
        assert_eq!(context_bits(1, 1), "1");
    }
}
