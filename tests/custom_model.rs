//! A model of your own (`Trainer::with_model`): `examples/custom_model.rs` runs (a GRU written
//! with candle-nn, 400 sequences into a model folder, well under a second; its loss falls and
//! the model rebuilt and resumed from the folder gives the same results, or the example
//! returns an error); such a model resumes exactly; each misfit is one line; the commands
//! refuse to build it, and its folder, with one line each.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Init, Linear, VarBuilder, VarMap};
use ntm::{Experiment, Progress, SequenceModel, Step, Trainer};

#[path = "../examples/custom_model.rs"]
mod custom_model;
mod sandbox;
use sandbox::{snapshot, Sandbox, TINY};

#[test]
fn the_custom_model_example_trains_its_loss_falls_and_it_reloads() {
    custom_model::main().unwrap();
}

/// The tiny experiment (copy, 4 bits: inputs 5 wide, targets 4) with a model of your own,
/// `gru`, beside its NTM and LSTM.
fn tiny_with_custom() -> String {
    TINY.replacen(
        "[models.lstm]",
        "[models.gru]\nkind = \"custom\"\ndescription = \"a dense layer\"\n\n[models.lstm]",
        1,
    )
}

fn experiment() -> Experiment {
    Experiment::from_toml(&tiny_with_custom(), Path::new("tiny.toml"), &[]).unwrap()
}

/// logits_t = W x_t + b, each step alone: the smallest model of your own. `claimed`, if set,
/// is the parameter count it reports instead of its own.
struct Dense {
    layer: Linear,
    claimed: Option<usize>,
}

impl SequenceModel for Dense {
    fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        self.layer.forward(inputs) // [T, B, X] -> [T, B, Y]
    }

    fn parameter_count(&self) -> usize {
        let own = self.layer.weight().elem_count() + self.layer.bias().map_or(0, Tensor::elem_count);
        self.claimed.unwrap_or(own)
    }
}

/// A [`Dense`] of `inputs` -> `outputs` in a fresh varmap, its weights fixed (no draw: two of
/// them start the same).
fn dense(inputs: usize, outputs: usize) -> (Dense, VarMap) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu).pp("dense");
    let weight = vb.get_with_hints((outputs, inputs), "weight", Init::Const(0.1)).unwrap();
    let bias = vb.get_with_hints(outputs, "bias", Init::Const(0.0)).unwrap();
    (Dense { layer: Linear::new(weight, Some(bias)), claimed: None }, varmap)
}

/// A trainer of the tiny experiment's `gru` as a [`Dense`] for the copy task.
fn dense_trainer(experiment: &Experiment) -> Trainer {
    let (model, varmap) = dense(5, 4);
    Trainer::with_model(experiment, "gru", experiment.task.build(), Box::new(model), varmap).unwrap()
}

/// Every parameter's values, by name.
fn parameters(trainer: &Trainer) -> Vec<(String, Vec<f32>)> {
    let flat = |(n, v): &(String, candle_core::Var)| (n.clone(), v.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    trainer.built().parameters.iter().map(flat).collect()
}

/// Trains `trainer` to the end, every step an update.
fn train_to_end(trainer: &mut Trainer) {
    while !trainer.finished() {
        assert!(matches!(trainer.step().unwrap(), Step::Trained { .. }));
    }
}

#[test]
fn a_custom_model_resumes_exactly() {
    let experiment = experiment();
    let mut straight = dense_trainer(&experiment);
    train_to_end(&mut straight);

    let dir = tempfile::tempdir().unwrap();
    let mut first = dense_trainer(&experiment);
    while first.sequences() < 32 {
        first.step().unwrap();
    }
    first.save(dir.path()).unwrap();
    let mut resumed = dense_trainer(&experiment);
    resumed.resume(dir.path()).unwrap();
    assert_eq!(resumed.sequences(), 32);
    train_to_end(&mut resumed);
    assert_eq!(parameters(&resumed), parameters(&straight), "trained in two halves, as in one go");
    assert_ne!(parameters(&straight), parameters(&dense_trainer(&experiment)), "training changed the weights");
}

#[test]
fn fit_writes_a_model_folder_that_records_the_custom_kind() {
    let experiment = experiment();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("gru");
    let outcome = dense_trainer(&experiment).fit(&folder, &Progress::silent(), &AtomicBool::new(false)).unwrap();
    assert_eq!(outcome.sequences, 64);
    let (recorded, name) = ntm::records::run_dir::read_config(&folder).unwrap();
    assert_eq!((recorded, name.as_str()), (experiment.single_model("gru"), "gru"));
    let config = std::fs::read_to_string(folder.join("config.toml")).unwrap();
    assert!(config.contains("kind = \"custom\"") && config.contains("description = \"a dense layer\""), "{config}");
    assert_eq!(ntm::records::run_dir::read_metrics(&folder).unwrap().len(), 4, "one line per 16 sequences");

    // The learning curves need no model; loading it does, and says so.
    let figure = dir.path().join("curves.png");
    ntm::figures::curves(dir.path(), Some(&figure)).unwrap();
    assert!(figure.is_file());
    let e = ntm::load_model(&folder).err().expect("a custom model cannot be loaded").to_string();
    assert!(
        e.contains("kind = \"custom\"") && e.contains("cannot rebuild") && e.contains("Trainer::with_model"),
        "{e}"
    );

    // `ntm eval` and `ntm plot heads` on the folder: one line each.
    let s = Sandbox::new();
    let path = folder.to_str().unwrap();
    s.fails(&["eval", path], &["gru", "kind = \"custom\"", "cannot rebuild"]);
    s.fails(&["plot", "heads", path], &["gru", "kind = \"custom\""]);
}

#[test]
fn each_misfit_of_a_custom_model_is_one_line() {
    let experiment = experiment();
    let copy = || experiment.task.build();
    let fails = |result: ntm::Result<Trainer>, words: &[&str]| {
        let e = result.err().expect("an error").to_string();
        assert!(!e.contains('\n'), "one line: {e}");
        for word in words {
            assert!(e.contains(word), "{e:?} does not mention {word:?}");
        }
    };
    let with = |name: &str, (model, varmap): (Dense, VarMap)| {
        Trainer::with_model(&experiment, name, copy(), Box::new(model), varmap)
    };
    fails(Trainer::new(&experiment, "gru"), &["model gru", "kind = \"custom\"", "Trainer::with_model"]);
    fails(with("ntm", dense(5, 4)), &["model ntm", "kind = \"ntm\"", "Trainer::new"]);
    fails(with("rnn", dense(5, 4)), &["no model named \"rnn\""]);
    let (model, _) = dense(5, 4);
    fails(with("gru", (model, VarMap::new())), &["model gru", "no parameters", "VarBuilder::from_varmap"]);
    let (mut model, varmap) = dense(5, 4);
    model.claimed = Some(7);
    fails(with("gru", (model, varmap)), &["parameter_count() is 7", "24 scalars in 2 tensors"]);
    fails(with("gru", dense(3, 4)), &["inputs [1, 1, 5] failed", "inputs are 5 wide and its targets 4"]);
    fails(with("gru", dense(5, 2)), &["logits [1, 1, 2], not f32 [1, 1, 4]"]);
    // A model built on another varmap than the one given: its parameters would never train.
    let (model, _) = dense(5, 4);
    fails(with("gru", (model, dense(5, 4).1)), &["parameter dense.bias", "takes no part in a forward pass"]);
}

#[test]
fn the_commands_refuse_a_custom_model_before_writing_anything() {
    let s = Sandbox::new();
    s.write("custom.toml", &tiny_with_custom());
    let before = snapshot(s.dir.path());
    s.fails(&["train", "custom.toml", "--model", "gru"], &["custom.toml", "model gru", "kind = \"custom\""]);
    s.fails(&["run", "custom.toml"], &["custom.toml", "model gru", "kind = \"custom\""]);
    s.fails(&["sweep", "custom.toml", "--seeds", "1-2"], &["custom.toml", "model gru", "kind = \"custom\""]);
    assert_eq!(snapshot(s.dir.path()), before, "nothing written");
    // Its other models still train.
    s.ok(&["train", "custom.toml", "--model", "lstm"]);
}
