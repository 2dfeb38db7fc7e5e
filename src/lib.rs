//! Neural Turing Machines (Graves, Wayne, Danihelka 2014) and an LSTM baseline in candle.
//!
//! The `ntm` command (the README shows it at work) trains, evaluates and draws the experiments
//! of `experiments/`, all through this library. The crate root re-exports what a program of
//! your own needs, in the order of a walk through it: an experiment, a trainer, evaluation, a
//! run folder and its figures, then a task or a model of your own. The layers (last section)
//! hold everything else.
//!
//! ## An experiment
//!
//! An [`Experiment`] is a TOML file ([`Experiment::load`]; `experiments/copy.toml` is the
//! paper's copy task, `docs/experiment-files.md` documents every field) or a string: the task
//! (`[task]`, a [`TaskSpec`] of the [`tasks`] crate: copy, repeat copy, associative recall),
//! the models by name (`[models.<name>]`, each a [`ModelConfig`]), how to train them
//! (`[train]`, a [`TrainConfig`]) and how to test them (`[eval]`, an [`EvalConfig`]). Unknown
//! keys and values out of range are errors naming the file, the field and the value.
//!
//! ```
//! use std::path::Path;
//!
//! let toml = r#"
//!     name = "tiny-copy"
//!     seed = 1
//!     [task]
//!     kind = "copy"
//!     bits = 4
//!     max_length = 3
//!     [models.ntm]
//!     kind = "ntm"
//!     controller_size = 16
//!     memory = { slots = 8, width = 6 }
//!     [train]
//!     sequences = 32
//!     batch = 8
//!     lr = 1e-2
//!     report_every = 16
//!     [eval]
//!     lengths = [2, 5]
//!     sequences = 8
//! "#;
//! // The path names the experiment in errors; `--set`-style overrides may follow.
//! let experiment = ntm::Experiment::from_toml(toml, Path::new("tiny-copy.toml"), &["train.batch=4".into()])?;
//! assert_eq!(experiment.train.batch, 4);
//! assert_eq!(experiment.task.build().input_width(), 5); // 4 bits and the delimiter flag
//! # Ok::<(), ntm::Error>(())
//! ```
//!
//! ## Training
//!
//! A [`Trainer`] owns one model of the experiment, its optimiser and its data stream, all
//! drawn from the experiment's seed: [`Trainer::step`] trains on the next batch and says what
//! happened ([`Step`]); [`Trainer::fit`] trains to `train.sequences` into a model folder;
//! [`Trainer::resume`] continues from one exactly.
//!
//! ```
//! # let toml = "name = 't'\nseed = 1\n[task]\nkind = 'copy'\nbits = 4\nmax_length = 3\n[models.ntm]\nkind = 'ntm'\ncontroller_size = 16\nmemory = { slots = 8, width = 6 }\n[train]\nsequences = 32\nbatch = 8\nlr = 1e-2\nreport_every = 16\n[eval]\nlengths = [2, 5]\nsequences = 8";
//! # let experiment = ntm::Experiment::from_toml(toml, std::path::Path::new("t.toml"), &[])?;
//! let mut trainer = ntm::Trainer::new(&experiment, "ntm")?;
//! while !trainer.finished() {
//!     match trainer.step()? {
//!         ntm::Step::Trained { loss_bits, bit_errors, .. } => {
//!             println!("{loss_bits:.2} bits, {bit_errors:.2} wrong bits per sequence")
//!         }
//!         fault => panic!("not a finite update: {fault:?}"),
//!     }
//! }
//! assert_eq!(trainer.sequences(), 32);
//! # Ok::<(), ntm::Error>(())
//! ```
//!
//! ## Evaluation
//!
//! [`evaluate`] tests a model on episodes of the lengths of an [`EvalConfig`], longer ones than
//! it trained on included (the paper's generalisation test): the same episodes for every model
//! of a seed. [`evaluate_model`] does so for a model of an experiment, in chunks that fit in
//! memory, and returns the [`EvalReport`] that a model folder's `eval.json` holds.
//!
//! ```
//! # let toml = "name = 't'\nseed = 1\n[task]\nkind = 'copy'\nbits = 4\nmax_length = 3\n[models.ntm]\nkind = 'ntm'\ncontroller_size = 16\nmemory = { slots = 8, width = 6 }\n[train]\nsequences = 32\nbatch = 8\nlr = 1e-2\nreport_every = 16\n[eval]\nlengths = [2, 5]\nsequences = 8";
//! # let experiment = ntm::Experiment::from_toml(toml, std::path::Path::new("t.toml"), &[])?;
//! # let trainer = ntm::Trainer::new(&experiment, "ntm")?;
//! let plan = ntm::EvalConfig { lengths: vec![5], sequences: 8, ..Default::default() };
//! let results = ntm::evaluate(trainer.model(), trainer.task(), &plan, experiment.seed)?;
//! println!("length 5: {:.2} wrong bits per sequence", results[0].bit_errors);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## A run folder and its figures
//!
//! [`Trainer::fit`] writes a model folder (`config.toml`, `metrics.jsonl`, the checkpoint);
//! a run folder holds one per model, as `ntm run` writes it ([`records::run_dir`] names every
//! file). [`load_model`] reads a model back with its weights. The functions of [`figures`] draw
//! a run folder's figures into its `plots/`: the learning curves (from `metrics.jsonl`), the
//! generalisation (from each `eval.json`), and, running the models, the heads' weightings and
//! the outputs on an episode.
//!
//! ```
//! # let toml = "name = 't'\nseed = 1\n[task]\nkind = 'copy'\nbits = 4\nmax_length = 3\n[models.ntm]\nkind = 'ntm'\ncontroller_size = 16\nmemory = { slots = 8, width = 6 }\n[train]\nsequences = 32\nbatch = 8\nlr = 1e-2\nreport_every = 16\n[eval]\nlengths = [2, 5]\nsequences = 8";
//! # let experiment = ntm::Experiment::from_toml(toml, std::path::Path::new("t.toml"), &[])?;
//! use std::sync::atomic::AtomicBool;
//!
//! let run = tempfile::tempdir()?;
//! let dir = run.path().join("ntm"); // the model folder
//! let mut trainer = ntm::Trainer::new(&experiment, "ntm")?;
//! // A silent progress display; raising the flag stops training with a checkpoint (Ctrl-C).
//! let outcome = trainer.fit(&dir, &ntm::Progress::silent(), &AtomicBool::new(false))?;
//! println!("{}", outcome.describe("ntm", &dir));
//!
//! let loaded = ntm::load_model(&dir)?;
//! let model = loaded.built.model.as_ref();
//! let report = ntm::evaluate_model("ntm", model, &loaded.experiment, &loaded.experiment.eval)?;
//! ntm::records::run_dir::write_eval(&dir, &report)?;
//! let curves = ntm::figures::curves(run.path(), None)?; // <run>/plots/curves.png
//! let generalisation = ntm::figures::generalisation(run.path(), None)?;
//! assert!(curves.is_file() && generalisation.is_file());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## A task or a model of your own
//!
//! Nothing in the trainer, the evaluator or the figures names a task or an architecture. A task
//! of your own implements [`Task`] (its widths, its lengths and a generator of [`Batch`]es) and
//! trains with [`Trainer::with_task`] (`examples/custom_task.rs`). A model of your own
//! implements [`SequenceModel`] (inputs `[T, B, X]` to logits `[T, B, Y]`), creates its
//! parameters in a candle-nn `VarMap` (`VarBuilder::from_varmap`, named by path) and trains with
//! [`Trainer::with_model`]: optimised, clipped, checkpointed and resumed as a built-in model
//! (`examples/custom_model.rs` trains a GRU). The experiment names it `[models.<name>]` with
//! `kind = "custom"`, so its `[train.models.<name>]` applies and its folder's `config.toml` says
//! what it was; the `ntm` commands cannot build it, and refuse it (and `ntm eval` its folder)
//! with one line.
//!
//! ```
//! use candle_core::{DType, Device, Module, Tensor};
//! use candle_nn::{linear, Linear, VarBuilder, VarMap};
//!
//! /// Logits from each step's input alone: a model without memory, which cannot copy.
//! struct PerStep(Linear);
//!
//! impl ntm::SequenceModel for PerStep {
//!     fn forward(&self, inputs: &Tensor) -> candle_core::Result<Tensor> {
//!         self.0.forward(inputs) // [T, B, X] -> [T, B, Y]
//!     }
//!
//!     fn parameter_count(&self) -> usize {
//!         self.0.weight().elem_count() + self.0.bias().map_or(0, Tensor::elem_count)
//!     }
//! }
//!
//! let toml = r#"
//!     name = "per-step"
//!     [task]
//!     kind = "copy"
//!     bits = 4
//!     max_length = 3
//!     [models.per-step]
//!     kind = "custom"
//!     description = "one dense layer per step"
//!     [train]
//!     sequences = 32
//!     batch = 8
//! "#;
//! let experiment = ntm::Experiment::from_toml(toml, std::path::Path::new("per-step.toml"), &[])?;
//! let task = experiment.task.build();
//! let varmap = VarMap::new();
//! let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
//! let model = PerStep(linear(task.input_width(), task.output_width(), vb.pp("output"))?);
//! let mut trainer = ntm::Trainer::with_model(&experiment, "per-step", task, Box::new(model), varmap)?;
//! assert!(matches!(trainer.step()?, ntm::Step::Trained { batch: 8, .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Layers
//!
//! Each folder of `src/` is one layer; a module uses only modules of its own layer and of the
//! layers above it in this table (the layers it is built on), never one below, and no two
//! modules use each other, even through others. `tests/layers.rs` reads every `use crate::...`
//! and `super::` of the library and fails on an edge that points down this table or on a
//! circle; `docs/architecture.md` shows the same table (checked to be the same).
//!
//! <!-- layers -->
//! | layer | folder | what it holds |
//! | --- | --- | --- |
//! | 1 | `base/` | the leaves: config enums, size limits, CPU buffers, a worker pool |
//! | 2 | `pieces/` | addressing, memory, heads, parameters, traces: the paper's equations, composed |
//! | 3 | `fused/` | hand-written kernels computing the pieces faster, with hand-derived backward passes |
//! | 4 | `models/` | the NTM, its controller, the LSTM baseline, `SequenceModel`, the factory, test-time resizing |
//! | 5 | `optim/` | update rules, gradient clipping, the loss and the paper's measures, the curriculum |
//! | 6 | `config/` | experiment files: types, validation, `--set` overrides |
//! | 7 | `records/`, `error.rs` | the run folder, checkpoints, report formats, failure records; the error type |
//! | 8 | `train/` | the `Trainer`, its loop into a model folder, progress display |
//! | 9 | `measure/` | evaluation, memory estimates, the benchmark |
//! | 10 | `sweep/` | seed sweeps: jobs, reading seed runs, summaries across seeds |
//! | 11 | `plot/` | figures: the data behind them (traced episodes) and their drawing |
//! <!-- /layers -->
//!
//! The command line (`src/main.rs` and `src/cmd/`) is the binary's, not the library's; it
//! sits on top of every layer.

pub mod base;
pub mod config;
pub mod fused;
pub mod measure;
pub mod models;
pub mod optim;
pub mod pieces;
pub mod plot;
pub mod records;
pub mod sweep;
pub mod train;

mod error;

// The face of the library: what the walk-through above uses, by short paths.
pub use config::{EvalConfig, Experiment, TrainConfig};
pub use error::{Error, Result};
pub use measure::eval::{evaluate, evaluate_model};
pub use models::factory::{CustomModelConfig, ModelConfig};
pub use models::SequenceModel;
pub use ntm_tasks as tasks;
pub use ntm_tasks::{Batch, Task, TaskSpec};
pub use plot::figures;
pub use records::report::{EvalReport, EvalResult, MetricsRecord};
pub use records::run_dir::{load_model, LoadedModel};
pub use train::progress::Progress;
pub use train::{Step, TrainOutcome, Trainer};
