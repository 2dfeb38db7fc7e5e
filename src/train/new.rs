//! The constructors of a [`Trainer`]: a model of the experiment ([`Trainer::new`]), on a task
//! of your own ([`Trainer::with_task`]), a model of your own ([`Trainer::with_model`]); all end
//! in the same trainer, with fresh optimiser state and data generator from the experiment's seed.

use std::time::Instant;

use candle_nn::VarMap;
use ntm_tasks::Task;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Interval, Trainer};
use crate::config::Experiment;
use crate::error::{tensor, Error, Result};
use crate::models::factory::{BuiltModel, ModelConfig};
use crate::models::SequenceModel;
use crate::optim::Optimizer;

/// The `[models.<name>]` entry of `experiment`, or the error naming the models it has.
fn model_config<'a>(experiment: &'a Experiment, name: &str) -> Result<&'a ModelConfig> {
    experiment.models.get(name).ok_or_else(|| {
        let known: Vec<&String> = experiment.models.keys().collect();
        Error::Invalid(format!("no model named {name:?} in the experiment (it has {known:?})"))
    })
}

impl Trainer {
    /// Model `name` of `experiment` with fresh parameters, optimiser state and data generator,
    /// all from the experiment's seed, trained on the experiment's `[task]`. Reads and writes
    /// nothing. A model of `kind = "custom"` is refused with one line: your program builds it
    /// and gives it to [`with_model`](Self::with_model).
    pub fn new(experiment: &Experiment, name: &str) -> Result<Self> {
        Self::with_task(experiment, name, experiment.task.build())
    }

    /// As [`new`](Self::new), trained on `task` instead of the experiment's `[task]`: a task
    /// of your own, any implementation of [`Task`] (see `examples/custom_task.rs`). The model
    /// is built for its input and output widths; the experiment gives everything else.
    /// [`step`](Self::step), [`model`](Self::model) and [`crate::measure::eval::evaluate`] then work
    /// as for a built-in task. A folder written by [`fit`](Self::fit) records the experiment's
    /// `[task]` in its `config.toml`, so the commands that reload a folder (`ntm eval`, `ntm
    /// plot`) would rebuild that task, not yours.
    pub fn with_task(experiment: &Experiment, name: &str, task: Box<dyn Task>) -> Result<Self> {
        let config = model_config(experiment, name)?;
        config.check_built_in(name).map_err(Error::Invalid)?;
        let built = BuiltModel::new(name, config, experiment.seed, task.as_ref()).map_err(tensor(name))?;
        Self::with_built(experiment, task, built)
    }

    /// A model of your own, trained exactly as a built-in one: `model` (any [`SequenceModel`],
    /// built by your program for `task`'s input and output widths) with its parameters in
    /// `varmap`, created through candle-nn's `VarBuilder::from_varmap(&varmap, DType::F32,
    /// &Device::Cpu)` and named by path (`vb.pp("gru")`: the tensor names of checkpoints).
    /// Every parameter of `varmap` is optimised, clipped, checkpointed and resumed as a built-in
    /// model's; `examples/custom_model.rs` trains a GRU this way.
    ///
    /// The experiment names the model: `[models.<name>]` with `kind = "custom"` (and an
    /// optional `description`), so that `[train.models.<name>]` applies to it and the folder
    /// [`fit`](Self::fit) writes records it in `config.toml`. It gives `[train]`, the seed of
    /// the data (your model initialises its own parameters) and `[eval]`; `task` may be the
    /// experiment's (`experiment.task.build()`) or one of your own.
    ///
    /// Each misfit is one line: no such model, a model the library builds (use
    /// [`new`](Self::new)), a varmap without parameters or not in f32 on the CPU, a
    /// `parameter_count` that does not count the varmap's scalars, logits that are not
    /// `[T, B, output width]` for inputs `[T, B, input width]` (one step of zeros is tried).
    ///
    /// To continue from a folder, build the model again in a fresh varmap, call this, then
    /// [`resume`](Self::resume): the checkpoint's weights replace the new ones. The `ntm`
    /// commands cannot rebuild such a model, so `ntm eval` and the figures that run a model
    /// refuse its folder with one line (the learning curves, from `metrics.jsonl`, still draw).
    pub fn with_model(
        experiment: &Experiment,
        name: &str,
        task: Box<dyn Task>,
        model: Box<dyn SequenceModel>,
        varmap: VarMap,
    ) -> Result<Self> {
        let config = model_config(experiment, name)?;
        let built = BuiltModel::custom(name, config, model, varmap, task.as_ref()).map_err(Error::Invalid)?;
        Self::with_built(experiment, task, built)
    }

    /// The trainer of `built` (a model of `experiment`) on `task`, with fresh optimiser state
    /// and data generator from the experiment's seed.
    fn with_built(experiment: &Experiment, task: Box<dyn Task>, built: BuiltModel) -> Result<Self> {
        let name = built.name.as_str();
        let settings = experiment.train.for_model(name);
        if let Some(curriculum) = &settings.curriculum {
            // The experiment's validation checked it against `[task]`; `task` may be another.
            let (min, max) = task.length_range();
            let bounds = format!("{min} and {max} (the {} task's training range)", task.name());
            // Named by the key that set it: the model's own, or `[train]`'s.
            let own = experiment.train.models.get(name).is_some_and(|o| o.curriculum.is_some());
            let key = if own { format!("train.models.{name}.") } else { "train.".to_owned() };
            curriculum
                .validate((min, max), &bounds)
                .map_err(|(field, message)| Error::Invalid(format!("model {name}: {key}{field} {message}")))?;
        }
        let optimizer = Optimizer::new(settings.optimizer, built.vars(), settings.lr)
            .map_err(tensor(name))?
            .with_epsilon(settings.epsilon)
            .with_momentum(settings.momentum)
            .with_weight_decay(settings.weight_decay);
        Ok(Self {
            task,
            rng: ChaCha8Rng::seed_from_u64(experiment.seed),
            lr: settings.lr_at(0),
            experiment: experiment.clone(),
            settings,
            vars: built.vars(),
            built,
            optimizer,
            sequences: 0,
            seconds_before: 0.0,
            clock: Instant::now(),
            interval: Interval::default(),
            saved: None,
            resumed: false,
            skips_in_a_row: 0,
        })
    }
}
