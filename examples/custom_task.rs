//! A task of your own, trained with the library's public API: `cargo run --example custom_task`.
//!
//! The task, *reverse*, is not one of the paper's: read a few random bit vectors and a
//! delimiter, then write the vectors back in reverse order. Everything a task needs is the
//! [`Task`] trait: its widths, its range of lengths, and a generator of [`Batch`]es
//! (time-major inputs, targets and a loss mask). [`Trainer::with_task`] trains any model of an
//! experiment on it; the experiment (here a string, usually a file) gives the model and the
//! optimiser, its `[task]` table is not used. [`evaluate`] tests the trained model.
//!
//! Channel layout of one episode with `L = 2`, `bits = 3` (`#` = 1, `.` = 0):
//!
//! ```text
//!               | seq  | dl | answer |
//! time step     | 0  1 | 2  | 3  4   |
//! input  bit 0  | #  . | .  | .  .   |
//!        bit 1  | .  # | .  | .  .   |
//!        bit 2  | #  # | .  | .  .   |
//!        delim  | .  . | #  | .  .   |
//! target bit 0  | .  . | .  | .  #   |
//!        bit 1  | .  . | .  | #  .   |
//!        bit 2  | .  . | .  | #  #   |
//! mask          | .  . | .  | #  #   |
//! ```

use std::error::Error;
use std::path::Path;

use ntm::tasks::{render_episode, Batch, Task};
use ntm::{evaluate, EvalConfig, Experiment, Step, Trainer};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Reverse a sequence of `1..=max_length` random vectors of `bits` bits.
struct Reverse {
    bits: usize,
    max_length: usize,
}

impl Task for Reverse {
    fn name(&self) -> &'static str {
        "reverse"
    }

    /// The bits and a delimiter flag.
    fn input_width(&self) -> usize {
        self.bits + 1
    }

    fn output_width(&self) -> usize {
        self.bits
    }

    fn length_range(&self) -> (usize, usize) {
        (1, self.max_length)
    }

    fn sample_sized(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> Batch {
        assert!(repeats.is_none(), "the reverse task has no repeat count");
        // Draw every element first: the batch lasts as long as its longest episode.
        let sequences: Vec<Vec<Vec<f32>>> = (0..batch)
            .map(|_| {
                let len = length.unwrap_or_else(|| rng.random_range(1..=self.max_length));
                (0..len).map(|_| (0..self.bits).map(|_| rng.random_range(0..2) as f32).collect()).collect()
            })
            .collect();
        let longest = sequences.iter().map(Vec::len).max().unwrap_or(0);
        let mut out = Batch::zeros(2 * longest + 1, batch, self.input_width(), self.output_width());
        for (b, seq) in sequences.iter().enumerate() {
            let len = seq.len();
            out.lengths[b] = len;
            for (t, vector) in seq.iter().enumerate() {
                out.input_mut(t, b)[..self.bits].copy_from_slice(vector);
                // Answer step len + 1 + t gives back vector len - 1 - t.
                out.target_mut(2 * len - t, b).copy_from_slice(vector);
                out.set_mask(2 * len - t, b, 1.0);
            }
            out.input_mut(len, b)[self.bits] = 1.0; // delimiter
        }
        out
    }
}

/// A small NTM and how to train it: the same fields as an experiment file.
const EXPERIMENT: &str = r#"
name = "reverse"
seed = 3

[models.ntm]
kind = "ntm"
controller = "lstm"
controller_size = 32
memory = { slots = 12, width = 8 }

[train]
sequences = 800
batch = 8
optimizer = "adam"
lr = 1e-2
"#;

/// Trains the NTM of [`EXPERIMENT`] on [`Reverse`] and tests it; an error if the loss over
/// the last 10 batches is not below that of the first 10. (Public so `tests/custom_task.rs`
/// can run it.)
pub fn main() -> Result<(), Box<dyn Error>> {
    let task = Reverse { bits: 4, max_length: 3 };
    let experiment = Experiment::from_toml(EXPERIMENT, Path::new("custom_task.rs"), &[])?;
    let mut rng = ChaCha8Rng::seed_from_u64(experiment.seed);
    println!("one episode of the task:\n{}", render_episode(&task.sample(&mut rng, 1, Some(3)).episode(0)));

    let mut trainer = Trainer::with_task(&experiment, "ntm", Box::new(Reverse { ..task }))?;
    let mut losses = Vec::new();
    while !trainer.finished() {
        match trainer.step()? {
            Step::Trained { loss_bits, .. } => losses.push(loss_bits),
            step => return Err(format!("training failed: {step:?}").into()),
        }
    }
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let (first, last) = (mean(&losses[..10]), mean(&losses[losses.len() - 10..]));
    println!(
        "trained {} sequences: loss {first:.2} -> {last:.2} bits per sequence (means over the first and last 10 batches)",
        trainer.sequences()
    );

    let plan = EvalConfig { lengths: vec![1, 2, 3, 5], sequences: 32, ..EvalConfig::default() };
    for r in evaluate(trainer.model(), trainer.task(), &plan, experiment.seed)? {
        println!("length {}: {:.2} bits, {:.2} wrong bits per sequence", r.length, r.loss_bits, r.bit_errors);
    }
    if last >= first {
        return Err(format!("the loss did not fall: {first:.2} -> {last:.2} bits").into());
    }
    Ok(())
}
