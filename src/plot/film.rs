//! Films: one figure per snapshot of a model in training, drawn by the figures' own code
//! (the heads figure, or the outputs figure for a model without memory) as the frames of an
//! animated GIF, each with a band at its foot saying how many training sequences it shows.
//!
//! Every frame has the size of the largest (smaller ones are padded with white at the right
//! and the bottom); a heads film shows the same memory slots in every frame (those any frame
//! uses), so that its panels stay put while the weightings change.

use std::path::Path;

use ntm_tasks::LengthWords;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::grid::draw_caption;
use super::heads::{shown_slots, HeadsFigure};
use super::outputs::OutputsFigure;
use super::style::{GRID, PALETTE};
use super::{check_size, render, PlotError};
use crate::pieces::trace::Trace;
use crate::records::report::OutputSample;

/// Height of the band under each frame.
const BAND_H: u32 = 50;
/// Margin of the band's text and bar.
const MARGIN: u32 = 16;
/// Text size of the band.
const BAND_TEXT: u32 = 20;

/// The figure of one frame.
enum Figure<'a> {
    Heads(HeadsFigure<'a>),
    Outputs(OutputsFigure<'a>),
}

impl Figure<'_> {
    fn size(&self) -> (u32, u32) {
        match self {
            Figure::Heads(f) => f.size(),
            Figure::Outputs(f) => f.size(),
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        match self {
            Figure::Heads(f) => f.draw(area),
            Figure::Outputs(f) => f.draw(area),
        }
    }
}

/// Writes the heads figures of `frames` (each a trace, its title and the training sequences
/// behind it) as an animated GIF to `path`, `frame_ms` milliseconds a frame (the GIF counts in
/// hundredths of a second), the band of each frame measuring its sequences against `total`.
pub fn plot_heads_film(
    frames: &[(Trace, String, u64)],
    total: u64,
    frame_ms: u32,
    path: &Path,
) -> Result<(), PlotError> {
    let window =
        frames.iter().map(|(trace, _, _)| shown_slots(trace)).reduce(|a, b| a.start.min(b.start)..a.end.max(b.end));
    let figures = frames
        .iter()
        .map(|(trace, title, _)| HeadsFigure::new(trace, title, window.as_ref(), path).map(Figure::Heads))
        .collect::<Result<Vec<_>, _>>()?;
    let sequences: Vec<u64> = frames.iter().map(|f| f.2).collect();
    write_film(&figures, &sequences, total, frame_ms, path)
}

/// Writes the outputs figures of `frames` (each one sample, its title and the training
/// sequences behind it; `words`: the task's words for its length) as an animated GIF to
/// `path`, as [`plot_heads_film`] does.
pub fn plot_outputs_film(
    frames: &[(OutputSample, String, u64)],
    words: LengthWords,
    total: u64,
    frame_ms: u32,
    path: &Path,
) -> Result<(), PlotError> {
    let figures = frames
        .iter()
        .map(|(sample, title, _)| {
            OutputsFigure::new(std::slice::from_ref(sample), words, title, path).map(Figure::Outputs)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sequences: Vec<u64> = frames.iter().map(|f| f.2).collect();
    write_film(&figures, &sequences, total, frame_ms, path)
}

/// Draws `figures` as the frames of an animated GIF at `path`, each over the band of its
/// `sequences` out of `total`.
fn write_film(figures: &[Figure], sequences: &[u64], total: u64, frame_ms: u32, path: &Path) -> Result<(), PlotError> {
    if figures.is_empty() {
        return Err(PlotError::empty(path, "no frames"));
    }
    let width = figures.iter().map(|f| f.size().0).max().unwrap_or(1);
    let height = figures.iter().map(|f| f.size().1).max().unwrap_or(1).saturating_add(BAND_H);
    check_size(path, width, height)?;
    render(path, || {
        let err = |e| PlotError::draw(path, e);
        let backend = BitMapBackend::gif(path, (width, height), frame_ms).map_err(|e| PlotError::draw(path, e))?;
        let root = backend.into_drawing_area();
        for (figure, &done) in figures.iter().zip(sequences) {
            root.fill(&WHITE).map_err(err)?;
            let (w, h) = figure.size();
            figure.draw(&root.clone().shrink((0, 0), (w, h))).map_err(err)?;
            let band = root.clone().shrink((0, (height - BAND_H) as i32), (width, BAND_H));
            draw_band(&band, done, total).map_err(err)?;
            root.present().map_err(err)?;
        }
        Ok(())
    })
}

/// The band under a frame: `after 12,500 of 50,000 training sequences`, over a bar filled to
/// that fraction.
fn draw_band<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    done: u64,
    total: u64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, _) = area.dim_in_pixel();
    let words = format!("after {} of {} training sequences", thousands(done), thousands(total));
    draw_caption(area, &words, (MARGIN as i32, 2), BAND_TEXT)?;
    let (left, right) = (MARGIN as i32, width.saturating_sub(MARGIN) as i32);
    let (top, bottom) = (30, 42);
    area.draw(&Rectangle::new([(left, top), (right, bottom)], GRID.filled()))?;
    let fraction = if total == 0 { 1.0 } else { (done as f64 / total as f64).clamp(0.0, 1.0) };
    let filled = left + ((right - left) as f64 * fraction).round() as i32;
    area.draw(&Rectangle::new([(left, top), (filled, bottom)], PALETTE[0].filled()))
}

/// `50000` as `50,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(500), "500");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
