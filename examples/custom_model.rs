//! A model of your own, trained with the library's public API: `cargo run --example custom_model`.
//!
//! The model is a one-layer GRU (Cho et al. 2014, in PyTorch's form) with a dense output layer,
//! written with candle-nn. Any model trains as the built-in ones do once it is
//!
//! 1. **a [`SequenceModel`]**: `forward` maps inputs `[T, B, input width]` to logits
//!    `[T, B, output width]` (before the sigmoid), `parameter_count` counts its scalars;
//! 2. **built on a [`VarMap`]**: its parameters are created through candle-nn's
//!    `VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)`, named by path
//!    (`vb.pp("gru")`: `gru.hidden.weight`, ... are the checkpoint's tensor names);
//! 3. **named in the experiment** as `[models.<name>]` with `kind = "custom"` (the experiment
//!    gives `[train]`, the data's seed and `[eval]`; its `[train.models.<name>]` applies).
//!
//! [`Trainer::with_model`] then takes the model and its varmap: every parameter of the varmap
//! is optimised, clipped, checkpointed and resumed as a built-in model's, and
//! [`Trainer::fit`] writes the same model folder (`config.toml`, `metrics.jsonl`, checkpoint).
//! To continue from that folder, build the model again and call [`Trainer::resume`]; the `ntm`
//! commands cannot rebuild it (`ntm eval` on the folder says so in one line), but
//! `ntm plot curves` draws its learning curve. [`evaluate`] tests the model at any length.
//!
//! The GRU, for input x and state h (`*` elementwise, sigma the logistic sigmoid):
//!
//! ```text
//! r  = sigma(W_ir x + b_ir + W_hr h + b_hr)          reset gate
//! z  = sigma(W_iz x + b_iz + W_hz h + b_hz)          update gate
//! n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))     candidate
//! h' = (1 - z) * n + z * h
//! ```
//!
//! The three input projections are one `linear` layer `[X] -> [3H]` (applied to every step at
//! once), the three hidden projections another `[H] -> [3H]`, split in the order r, z, n.

use std::error::Error;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{linear, ops::sigmoid, Linear, VarBuilder, VarMap};
use ntm::models::unroll;
use ntm::records::run_dir::read_metrics;
use ntm::{evaluate, Experiment, Progress, SequenceModel, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A one-layer GRU of `size` units and a dense output layer.
struct Gru {
    /// `[X] -> [3H]`: W_ir, W_iz, W_in stacked, with their biases.
    input: Linear,
    /// `[H] -> [3H]`: W_hr, W_hz, W_hn stacked, with their biases.
    hidden: Linear,
    /// `[H] -> [Y]`: the logits.
    output: Linear,
    size: usize,
}

impl Gru {
    /// The layers for `inputs` and `outputs` channels, their parameters created in `vb`'s varmap.
    fn new(vb: VarBuilder, inputs: usize, size: usize, outputs: usize) -> Result<Self> {
        Ok(Self {
            input: linear(inputs, 3 * size, vb.pp("gru").pp("input"))?,
            hidden: linear(size, 3 * size, vb.pp("gru").pp("hidden"))?,
            output: linear(size, outputs, vb.pp("output"))?,
            size,
        })
    }

    /// One step: the input's projections `gx` `[B, 3H]` and the state `h` `[B, H]` -> the next state.
    fn step(&self, gx: &Tensor, h: &Tensor) -> Result<Tensor> {
        let size = self.size;
        let gh = self.hidden.forward(h)?; // [B, 3H]
        let part = |g: &Tensor, i: usize| g.narrow(1, i * size, size); // [B, H]
        let r = sigmoid(&(part(gx, 0)? + part(&gh, 0)?)?)?;
        let z = sigmoid(&(part(gx, 1)? + part(&gh, 1)?)?)?;
        let n = (part(gx, 2)? + (r * part(&gh, 2)?)?)?.tanh()?;
        // (1 - z) * n + z * h, as n + z * (h - n).
        &n + (z * (h - &n)?)?
    }
}

impl SequenceModel for Gru {
    fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        let batch = inputs.dim(1)?;
        let h0 = Tensor::zeros((batch, self.size), inputs.dtype(), inputs.device())?;
        let gx = self.input.forward(inputs)?; // [T, B, 3H], every step at once
        let states = unroll(&gx, h0, |gx, h| {
            let next = self.step(gx, &h)?;
            Ok((next.clone(), next))
        })?; // [T, B, H]
        self.output.forward(&states) // [T, B, Y]
    }

    fn parameter_count(&self) -> usize {
        [&self.input, &self.hidden, &self.output]
            .iter()
            .map(|l| l.weight().elem_count() + l.bias().map_or(0, Tensor::elem_count))
            .sum()
    }
}

/// PyTorch's initialisation of this model (its GRU's, and its linear layer's on H inputs):
/// every parameter uniform in +-1/sqrt(H), drawn here from `seed` in name order, so that runs
/// repeat exactly. (candle-nn's `linear` draws from candle's CPU generator, which cannot be
/// seeded.)
fn init_from_seed(varmap: &VarMap, size: usize, seed: u64) -> Result<()> {
    let bound = 1.0 / (size as f32).sqrt();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let vars = varmap.data().lock().expect("the varmap's lock");
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        let values: Vec<f32> = (0..var.elem_count()).map(|_| rng.random_range(-bound..=bound)).collect();
        var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu)?)?;
    }
    Ok(())
}

/// The copy task at a tiny size, and how to train the GRU on it: the same fields as an
/// experiment file. The model is `kind = "custom"`: this program builds it.
const EXPERIMENT: &str = r#"
name = "gru-copy"
seed = 7

[task]
kind = "copy"
bits = 4
max_length = 3

[models.gru]
kind = "custom"
description = "one-layer GRU, 32 units"

[train]
sequences = 400
batch = 8
optimizer = "adam"
lr = 1e-2
report_every = 40
checkpoint_every = 200

[eval]
lengths = [1, 2, 3, 5]
sequences = 32
"#;

/// Units of the GRU.
const SIZE: usize = 32;

/// The GRU for `experiment`'s task in a fresh varmap, its weights drawn from the experiment's
/// seed, handed to a trainer.
fn gru_trainer(experiment: &Experiment) -> std::result::Result<Trainer, Box<dyn Error>> {
    let task = experiment.task.build();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let gru = Gru::new(vb, task.input_width(), SIZE, task.output_width())?;
    init_from_seed(&varmap, SIZE, experiment.seed)?;
    Ok(Trainer::with_model(experiment, "gru", task, Box::new(gru), varmap)?)
}

/// Trains the GRU of [`EXPERIMENT`] into model folder `dir`, reloads it from there and tests
/// it; an error if the loss of the last report interval is not a tenth below that of the first,
/// or if the reloaded model does not give the trained one's results.
pub fn train_and_reload(dir: &Path) -> std::result::Result<(), Box<dyn Error>> {
    let experiment = Experiment::from_toml(EXPERIMENT, Path::new("custom_model.rs"), &[])?;
    let mut trainer = gru_trainer(&experiment)?;
    println!("{} parameters: {}", trainer.name(), trainer.model().parameter_count());
    let outcome = trainer.fit(dir, &Progress::silent(), &AtomicBool::new(false))?;
    println!("{}", outcome.describe(trainer.name(), dir));

    let metrics = read_metrics(dir)?;
    let (first, last) = (metrics[0].loss_bits, metrics[metrics.len() - 1].loss_bits);
    println!(
        "loss {first:.2} -> {last:.2} bits per sequence (the first and last of {} report intervals)",
        metrics.len()
    );
    let results = evaluate(trainer.model(), trainer.task(), &experiment.eval, experiment.seed)?;
    for r in &results {
        println!("length {}: {:.2} bits, {:.2} wrong bits per sequence", r.length, r.loss_bits, r.bit_errors);
    }
    if last > 0.9 * first {
        return Err(format!("the loss did not fall by a tenth: {first:.2} -> {last:.2} bits").into());
    }

    // The folder holds everything to continue: build the model again, then resume.
    let mut reloaded = gru_trainer(&experiment)?;
    reloaded.resume(dir)?;
    let again = evaluate(reloaded.model(), reloaded.task(), &experiment.eval, experiment.seed)?;
    if again != results || reloaded.sequences() != trainer.sequences() {
        return Err("the model reloaded from its folder does not give the trained model's results".into());
    }
    println!("reloaded from {} at {} sequences: the same results", dir.display(), reloaded.sequences());
    Ok(())
}

/// Runs [`train_and_reload`] in a temporary folder. (Public so `tests/custom_model.rs` can
/// run it.)
pub fn main() -> std::result::Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    train_and_reload(&dir.path().join("gru"))
}
