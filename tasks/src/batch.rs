//! The data a task hands to a model: a time-major [`Batch`] and one element of it, an
//! [`Episode`].
//!
//! Layout: every buffer is flat and row-major with time as the outermost axis, so step `t`
//! of the whole batch is one contiguous slice (`inputs[t * batch * input_width ..]`). That is
//! the order a recurrent model consumes the data in.

/// A batch of episodes laid out time-major. All three buffers are flat, row-major.
///
/// Elements shorter than the batch's longest are right-padded: after an element's last step
/// its inputs and targets are 0 and its mask is 0.
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
}

/// One element of a [`Batch`], as nested vectors (convenient for tests, logs and rendering).
///
/// It keeps all `time` steps of the batch, including any right padding, so step `t` here is
/// step `t` of a model's output on the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The sequence length (the task's length parameter) of this element.
    pub length: usize,
    /// Inputs, `[time][input_width]`.
    pub inputs: Vec<Vec<f32>>,
    /// Targets, `[time][output_width]`; 0 wherever the mask is 0.
    pub targets: Vec<Vec<f32>>,
    /// `[time]`: 1 where the target counts, else 0.
    pub mask: Vec<f32>,
}

impl Batch {
    /// An all-zero batch (zero inputs, targets and mask) of the given shape, with
    /// `lengths` all 0. Task generators start from this and fill in what is non-zero.
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
        }
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
        }
    }

    /// The elements of `parts`, in order, as one batch: its time is the longest part's,
    /// shorter parts are right-padded (zero inputs and targets, mask 0) as a task pads its
    /// own elements. `[time_i, batch_i, w]` for each part gives `[max time_i, sum batch_i, w]`.
    ///
    /// # Panics
    /// If `parts` is empty or the parts' input or output widths differ.
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
        let time = parts.iter().map(|p| p.time).max().unwrap_or(0);
        let batch = parts.iter().map(|p| p.batch).sum();
        let mut out = Batch::zeros(time, batch, input_width, output_width);
        let mut offset = 0;
        for part in parts {
            for b in 0..part.batch {
                out.lengths[offset + b] = part.lengths[b];
                for t in 0..part.time {
                    out.input_mut(t, offset + b).copy_from_slice(part.input(t, b));
                    out.target_mut(t, offset + b).copy_from_slice(part.target(t, b));
                    out.set_mask(t, offset + b, part.mask_at(t, b));
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
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn out_of_range_row_panics() {
        Batch::zeros(3, 2, 4, 2).input(3, 0);
    }
}
