//! The data a task hands to a model: a time-major [`Batch`] and one element of it, an
//! [`Episode`].
//!
//! Layout: every buffer is flat and row-major with time as the outermost axis, so step `t`
//! of the whole batch is one contiguous slice (`inputs[t * batch * input_width ..]`). That is
//! the order a recurrent model consumes the data in.
//!
//! A task whose optimum is known in closed form (dynamic N-grams: the Bayes-optimal
//! predictor of each next bit) also fills [`Batch::reference`], that predictor's probability
//! for every target, laid out as the targets are, so a model's cost can be set beside the
//! optimum's on the very same episodes ([`Batch::reference_bits`]). A task may also keep, per
//! element, draws its buffers do not show ([`Batch::info`], an [`EpisodeInfo`]: dynamic
//! N-grams' table, priority sort's priorities).

use crate::info::EpisodeInfo;
use serde::{Deserialize, Serialize};

/// A batch of episodes laid out time-major. All buffers are flat, row-major.
///
/// Elements shorter than the batch's longest are right-padded: after an element's last step
/// its inputs, targets (and reference predictions) are 0 and its mask is 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Number of time steps (the longest element's episode duration).
    pub time: usize,
    /// Number of elements (episodes) in the batch.
    pub batch: usize,
    /// Channels per input vector.
    pub input_width: usize,
    /// Channels per target vector.
    pub output_width: usize,
    /// Inputs, `[time, batch, input_width]`.
    pub inputs: Vec<f32>,
    /// Targets, `[time, batch, output_width]`; 0 wherever the mask is 0.
    pub targets: Vec<f32>,
    /// `[time, batch]`: 1 where the target counts towards the loss, else 0.
    pub mask: Vec<f32>,
    /// `[batch]`: the sequence length (the task's length parameter) of each element.
    pub lengths: Vec<usize>,
    /// For a task with a known optimal predictor (dynamic N-grams), that predictor's
    /// probability that each target is 1, `[time, batch, output_width]` like `targets`; 0
    /// wherever the mask is 0. `None` for the other tasks.
    pub reference: Option<Vec<f32>>,
    /// `[batch]`: what each element's task drew beside its buffers (dynamic N-grams: its
    /// table; priority sort: its priorities and the order of its answers), or `None`.
    pub info: Vec<Option<EpisodeInfo>>,
}

/// One element of a [`Batch`], as nested vectors (convenient for tests, logs and rendering).
///
/// It keeps all `time` steps of the batch, including any right padding, so step `t` here is
/// step `t` of a model's output on the batch. Serialisable, so a command can print it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The sequence length (the task's length parameter) of this element.
    pub length: usize,
    /// Inputs, `[time][input_width]`.
    pub inputs: Vec<Vec<f32>>,
    /// Targets, `[time][output_width]`; 0 wherever the mask is 0.
    pub targets: Vec<Vec<f32>>,
    /// `[time]`: 1 where the target counts, else 0.
    pub mask: Vec<f32>,
    /// The optimal predictor's probabilities, `[time][output_width]`, for a task that has
    /// one (see [`Batch::reference`]); else `None`.
    pub reference: Option<Vec<Vec<f32>>>,
    /// What the task drew beside the buffers (see [`Batch::info`]), or `None`.
    pub info: Option<EpisodeInfo>,
}

impl Batch {
    /// An all-zero batch (zero inputs, targets and mask) of the given shape, with
    /// `lengths` all 0, no reference predictions and no info. Task generators start from this
    /// and fill in what is non-zero.
    pub fn zeros(time: usize, batch: usize, input_width: usize, output_width: usize) -> Self {
        Batch {
            time,
            batch,
            input_width,
            output_width,
            inputs: vec![0.0; time * batch * input_width],
            targets: vec![0.0; time * batch * output_width],
            mask: vec![0.0; time * batch],
            lengths: vec![0; batch],
            reference: None,
            info: vec![None; batch],
        }
    }

    /// This batch with an all-zero [`reference`](Batch::reference) buffer, for a task that
    /// fills it in ([`reference_mut`](Batch::reference_mut)).
    pub fn with_reference(mut self) -> Self {
        self.reference = Some(vec![0.0; self.targets.len()]);
        self
    }

    /// The input vector of element `b` at step `t`, `[input_width]`.
    ///
    /// # Panics
    /// If `t >= time` or `b >= batch`.
    pub fn input(&self, t: usize, b: usize) -> &[f32] {
        let start = self.row(t, b) * self.input_width;
        &self.inputs[start..start + self.input_width]
    }

    /// Mutable access to the input vector of element `b` at step `t`, `[input_width]`.
    pub fn input_mut(&mut self, t: usize, b: usize) -> &mut [f32] {
        let start = self.row(t, b) * self.input_width;
        &mut self.inputs[start..start + self.input_width]
    }

    /// The target vector of element `b` at step `t`, `[output_width]`.
    pub fn target(&self, t: usize, b: usize) -> &[f32] {
        let start = self.row(t, b) * self.output_width;
        &self.targets[start..start + self.output_width]
    }

    /// Mutable access to the target vector of element `b` at step `t`, `[output_width]`.
    pub fn target_mut(&mut self, t: usize, b: usize) -> &mut [f32] {
        let start = self.row(t, b) * self.output_width;
        &mut self.targets[start..start + self.output_width]
    }

    /// The optimal predictor's probabilities for element `b` at step `t`, `[output_width]`,
    /// if the batch has them.
    pub fn reference(&self, t: usize, b: usize) -> Option<&[f32]> {
        let start = self.row(t, b) * self.output_width;
        self.reference.as_ref().map(|r| &r[start..start + self.output_width])
    }

    /// Mutable access to the reference probabilities of element `b` at step `t`,
    /// `[output_width]`.
    ///
    /// # Panics
    /// If the batch has no reference buffer (see [`with_reference`](Batch::with_reference)).
    pub fn reference_mut(&mut self, t: usize, b: usize) -> &mut [f32] {
        let start = self.row(t, b) * self.output_width;
        let width = self.output_width;
        let reference = self.reference.as_mut().expect("this batch has no reference predictions");
        &mut reference[start..start + width]
    }

    /// The optimal predictor's cross-entropy in bits per sequence on this batch, as the
    /// trainer's `loss_bits` counts a model's: summed over the output channels of every step
    /// where the mask is 1, averaged over the elements; f64 throughout. `None` without a
    /// reference.
    pub fn reference_bits(&self) -> Option<f64> {
        let reference = self.reference.as_ref()?;
        let mut bits = 0.0;
        for (row, &mask) in self.mask.iter().enumerate() {
            if mask == 0.0 {
                continue;
            }
            let cells = row * self.output_width..(row + 1) * self.output_width;
            for (&p, &y) in reference[cells.clone()].iter().zip(&self.targets[cells]) {
                bits += mask as f64 * cross_entropy_bits(p as f64, y as f64);
            }
        }
        Some(bits / self.batch as f64)
    }

    /// The mask of element `b` at step `t` (1 = the target counts).
    pub fn mask_at(&self, t: usize, b: usize) -> f32 {
        self.mask[self.row(t, b)]
    }

    /// Sets the mask of element `b` at step `t`.
    pub fn set_mask(&mut self, t: usize, b: usize, value: f32) {
        let row = self.row(t, b);
        self.mask[row] = value;
    }

    /// Copies element `b` out as an [`Episode`] of all `time` steps.
    ///
    /// # Panics
    /// If `b >= batch`.
    pub fn episode(&self, b: usize) -> Episode {
        assert!(b < self.batch, "element {b} out of range for a batch of {}", self.batch);
        Episode {
            length: self.lengths[b],
            inputs: (0..self.time).map(|t| self.input(t, b).to_vec()).collect(),
            targets: (0..self.time).map(|t| self.target(t, b).to_vec()).collect(),
            mask: (0..self.time).map(|t| self.mask_at(t, b)).collect(),
            reference: self
                .reference
                .is_some()
                .then(|| (0..self.time).flat_map(|t| self.reference(t, b)).map(<[f32]>::to_vec).collect()),
            info: self.info[b].clone(),
        }
    }

    /// The elements of `parts`, in order, as one batch: its time is the longest part's,
    /// shorter parts are right-padded (zero inputs and targets, mask 0) as a task pads its
    /// own elements. `[time_i, batch_i, w]` for each part gives `[max time_i, sum batch_i, w]`.
    /// Reference predictions are carried over, padded with 0, when every part has them; each
    /// element keeps its info.
    ///
    /// # Panics
    /// If `parts` is empty, the parts' input or output widths differ, or some parts have
    /// reference predictions and others not.
    pub fn stack(parts: &[Batch]) -> Batch {
        let first = parts.first().expect("cannot stack an empty list of batches");
        let (input_width, output_width) = (first.input_width, first.output_width);
        for part in parts {
            assert!(
                (part.input_width, part.output_width) == (input_width, output_width),
                "cannot stack batches of widths ({input_width}, {output_width}) and ({}, {})",
                part.input_width,
                part.output_width
            );
        }
        let with_reference = parts.iter().filter(|p| p.reference.is_some()).count();
        assert!(
            with_reference == 0 || with_reference == parts.len(),
            "cannot stack batches with reference predictions ({with_reference} of them) and without ({})",
            parts.len() - with_reference
        );
        let time = parts.iter().map(|p| p.time).max().unwrap_or(0);
        let batch = parts.iter().map(|p| p.batch).sum();
        let mut out = Batch::zeros(time, batch, input_width, output_width);
        if with_reference > 0 {
            out = out.with_reference();
        }
        let mut offset = 0;
        for part in parts {
            for b in 0..part.batch {
                out.lengths[offset + b] = part.lengths[b];
                out.info[offset + b] = part.info[b].clone();
                for t in 0..part.time {
                    out.input_mut(t, offset + b).copy_from_slice(part.input(t, b));
                    out.target_mut(t, offset + b).copy_from_slice(part.target(t, b));
                    out.set_mask(t, offset + b, part.mask_at(t, b));
                    if let Some(reference) = part.reference(t, b) {
                        out.reference_mut(t, offset + b).copy_from_slice(reference);
                    }
                }
            }
            offset += part.batch;
        }
        out
    }

    /// Index of the `(t, b)` row in the `[time, batch]` grid.
    fn row(&self, t: usize, b: usize) -> usize {
        assert!(
            t < self.time && b < self.batch,
            "(t = {t}, b = {b}) out of range for a batch of {} steps x {} elements",
            self.time,
            self.batch
        );
        t * self.batch + b
    }
}

impl Episode {
    /// Number of time steps (including any padding).
    pub fn time(&self) -> usize {
        self.inputs.len()
    }
}

/// The cross-entropy in bits of a target `y` (0 or 1) under the prediction "1 with
/// probability `p`": `-(y log2 p + (1 - y) log2 (1 - p))`, a term left out where its weight
/// is 0 (so `p = 0` costs nothing on a 0 target, and infinitely much on a 1).
pub fn cross_entropy_bits(p: f64, y: f64) -> f64 {
    let term = |weight: f64, q: f64| if weight == 0.0 { 0.0 } else { -weight * q.log2() };
    term(y, p) + term(1.0 - y, 1.0 - p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_address_time_major_rows() {
        let mut batch = Batch::zeros(3, 2, 4, 2);
        batch.input_mut(2, 1)[3] = 7.0;
        batch.target_mut(1, 0)[1] = 5.0;
        batch.set_mask(1, 1, 1.0);
        // [time, batch, width]: (2, 1, 3) -> (2 * 2 + 1) * 4 + 3
        assert_eq!(batch.inputs[23], 7.0);
        // (1, 0, 1) -> (1 * 2 + 0) * 2 + 1
        assert_eq!(batch.targets[5], 5.0);
        // (1, 1) -> 1 * 2 + 1
        assert_eq!(batch.mask[3], 1.0);
        assert_eq!(batch.inputs.iter().filter(|&&v| v != 0.0).count(), 1);

        let ep = batch.episode(1);
        assert_eq!(ep.time(), 3);
        assert_eq!(ep.inputs[2], vec![0.0, 0.0, 0.0, 7.0]);
        assert_eq!(ep.mask, vec![0.0, 1.0, 0.0]);
        assert_eq!(batch.episode(0).targets[1], vec![0.0, 5.0]);
    }

    #[test]
    fn stack_pads_to_the_longest_part() {
        let mut short = Batch::zeros(2, 1, 3, 2);
        short.input_mut(1, 0)[2] = 1.0;
        short.set_mask(1, 0, 1.0);
        short.lengths[0] = 1;
        let mut long = Batch::zeros(4, 2, 3, 2);
        long.target_mut(3, 1)[0] = 1.0;
        long.set_mask(3, 1, 1.0);
        long.lengths = vec![2, 3];
        long.info[1] = Some(EpisodeInfo::DynamicNgrams { table: vec![0.5, 0.25] });
        let both = Batch::stack(&[short.clone(), long.clone()]);
        assert_eq!((both.time, both.batch, both.lengths.clone()), (4, 3, vec![1, 2, 3]));
        let padded = |e: Episode, time| Episode {
            inputs: e.inputs[..time].to_vec(),
            targets: e.targets[..time].to_vec(),
            mask: e.mask[..time].to_vec(),
            ..e
        };
        assert_eq!(padded(both.episode(0), 2), short.episode(0));
        assert_eq!(&both.episode(0).mask[2..], &[0.0, 0.0]);
        assert_eq!(both.episode(1), long.episode(0));
        assert_eq!(both.episode(2), long.episode(1));
        assert_eq!(both.info, [None, None, long.info[1].clone()]);
        assert_eq!(both.episode(2).info, long.info[1]);
    }

    #[test]
    fn reference_travels_with_episode_and_stack() {
        let mut short = Batch::zeros(2, 1, 1, 1).with_reference();
        short.target_mut(0, 0)[0] = 1.0;
        short.set_mask(0, 0, 1.0);
        short.reference_mut(0, 0)[0] = 0.25;
        let mut long = Batch::zeros(3, 1, 1, 1).with_reference();
        long.set_mask(2, 0, 1.0);
        long.reference_mut(2, 0)[0] = 0.75;
        assert_eq!(short.episode(0).reference, Some(vec![vec![0.25], vec![0.0]]));
        let both = Batch::stack(&[short, long]);
        // [time, batch, 1]: (0, 0) -> 0, (2, 1) -> 5; the short element's step 2 is padding.
        assert_eq!(both.reference, Some(vec![0.25, 0.0, 0.0, 0.0, 0.0, 0.75]));
        assert_eq!(both.episode(1).reference, Some(vec![vec![0.0], vec![0.0], vec![0.75]]));
        // -log2(0.25) = 2 bits for the 1 of element 0, -log2(1 - 0.75) = 2 bits for the 0 of
        // element 1: 4 bits over 2 sequences.
        assert_eq!(both.reference_bits(), Some(2.0));
        assert_eq!(Batch::zeros(2, 1, 1, 1).reference_bits(), None);
        assert_eq!(Batch::zeros(2, 1, 1, 1).episode(0).reference, None);
    }

    #[test]
    #[should_panic(expected = "cannot stack batches with reference predictions (1 of them) and without (1)")]
    fn stacking_with_and_without_reference_panics() {
        Batch::stack(&[Batch::zeros(1, 1, 1, 1).with_reference(), Batch::zeros(1, 1, 1, 1)]);
    }

    #[test]
    fn cross_entropy_in_bits() {
        assert_eq!(cross_entropy_bits(0.5, 1.0), 1.0);
        assert_eq!(cross_entropy_bits(0.125, 1.0), 3.0);
        assert_eq!(cross_entropy_bits(0.875, 0.0), 3.0);
        assert_eq!(cross_entropy_bits(0.0, 0.0), 0.0);
        assert_eq!(cross_entropy_bits(1.0, 1.0), 0.0);
        assert_eq!(cross_entropy_bits(0.0, 1.0), f64::INFINITY);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn out_of_range_row_panics() {
        Batch::zeros(3, 2, 4, 2).input(3, 0);
    }
}
