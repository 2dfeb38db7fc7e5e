//! The gradient explosion through the weighting recurrence, reproduced, and the guard that
//! keeps it from ending a run (`train.skip_nonfinite`).
//!
//! A read head whose gate g is ~0 (it keeps its previous weighting), whose key strength beta is
//! ~0 (content addressing is flat) and whose sharpening gamma is ~21 carries a flat weighting
//! through every step. At a flat weighting, sharpening (eq. 9) multiplies a zero-sum change of
//! its input by gamma and interpolation (eq. 7) by (1 - g), so backpropagation multiplies the
//! gradient by about gamma (1 - g) ~ 21 per step: over the 41 steps of a length-20 copy episode,
//! ~21^41 ~ 1e54, far past f32's 3.4e38. The forward pass and the loss stay finite.

use ntm::config::Experiment;
use ntm::train::{Step, Trainer};

/// A small NTM on copy episodes of length 20 (41 steps), with a fixed random memory so that
/// slots differ (over a constant memory every slot's gradient is the same and the zero-sum
/// part that explodes is 0).
fn experiment(skip_nonfinite: u64) -> Experiment {
    let text = format!(
        r#"
name = "explosion"
seed = 3

[task]
kind = "copy"
bits = 4
min_length = 20
max_length = 20

[models.ntm]
kind = "ntm"
controller = "lstm"
controller_size = 16
read_heads = 1
write_heads = 1
shifts = [-1, 0, 1]
initial_weighting = "uniform"
memory = {{ slots = 32, width = 6, init = "random" }}

[train]
sequences = 64
batch = 2
lr = 1e-3
optimizer = "rmsprop"
clip_value = 10.0
clip_norm = 50.0
skip_nonfinite = {skip_nonfinite}
"#
    );
    Experiment::from_toml(&text, "explosion.toml".as_ref(), &[]).unwrap()
}

/// Sets the read head's biases so that its weighting stays flat with gamma ~21: gate
/// pre-activation -20 (g ~ 2e-9), beta -20 (beta ~ 2e-9), gamma +20 (gamma = 1 + softplus(20)).
/// The projection's layout is the heads table: key M, beta, gate, shift S, gamma.
fn flatten_read_head(trainer: &Trainer, width: usize, shifts: usize) {
    let (_, bias) =
        trainer.built().parameters.iter().find(|(name, _)| name == "heads.read0.bias").expect("the read head's bias");
    let mut values = bias.as_tensor().to_vec1::<f32>().unwrap();
    values[width] = -20.0; // beta
    values[width + 1] = -20.0; // gate
    values[width + 2 + shifts] = 20.0; // gamma
    let t = candle_core::Tensor::new(values, bias.as_tensor().device()).unwrap();
    bias.set(&t).unwrap();
}

fn parameters(trainer: &Trainer) -> Vec<Vec<f32>> {
    let flat = |(_, v): &(String, candle_core::Var)| v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    trainer.built().parameters.iter().map(flat).collect()
}

#[test]
fn a_flat_sharpened_weighting_overflows_the_gradient_with_a_finite_loss() {
    let mut trainer = Trainer::new(&experiment(0), "ntm").unwrap();
    flatten_read_head(&trainer, 6, 3);
    let before = parameters(&trainer);
    match trainer.step().unwrap() {
        Step::Fault { loss_bits, bit_errors, norm, tensor, .. } => {
            assert!(loss_bits.is_finite() && loss_bits > 0.0, "the loss stays finite: {loss_bits}");
            assert!(bit_errors.is_some());
            assert!(!norm.is_finite(), "the gradient norm overflows: {norm}");
            assert!(tensor.is_some(), "a parameter's gradient is named");
        }
        other => panic!("expected the gradient to overflow, got {other:?}"),
    }
    assert_eq!(parameters(&trainer), before, "a fault changes no parameter");
    assert_eq!(trainer.sequences(), 0, "a fault counts no sequence");

    // Control: the same model with an ordinary read head trains on the same batch.
    let mut control = Trainer::new(&experiment(0), "ntm").unwrap();
    assert!(matches!(control.step().unwrap(), Step::Trained { .. }));
}

#[test]
fn the_guard_skips_such_batches_up_to_its_limit_then_stops() {
    let limit = 3;
    let mut trainer = Trainer::new(&experiment(limit), "ntm").unwrap();
    flatten_read_head(&trainer, 6, 3);
    let before = parameters(&trainer);
    for k in 1..=limit {
        match trainer.step().unwrap() {
            Step::Skipped { batch, loss_bits, norm, .. } => {
                assert_eq!(batch, 2);
                assert!(loss_bits.is_finite() && !norm.is_finite());
            }
            other => panic!("batch {k}: expected a skip, got {other:?}"),
        }
        assert_eq!(trainer.sequences(), 2 * k, "a skipped batch counts as seen");
        assert_eq!(trainer.skips_in_a_row(), k);
    }
    assert_eq!(parameters(&trainer), before, "skipped updates change no parameter");
    // The head never leaves the flat state (nothing is updated), so the next one is a fault.
    assert!(matches!(trainer.step().unwrap(), Step::Fault { .. }));
}

#[test]
fn the_error_says_how_many_were_skipped_and_an_ordinary_run_writes_zero_skips() {
    use std::sync::atomic::AtomicBool;
    let dir = tempfile::tempdir().unwrap();
    let mut experiment = experiment(2);
    experiment.train.report_every = 8;
    let mut trainer = Trainer::new(&experiment, "ntm").unwrap();
    flatten_read_head(&trainer, 6, 3);
    // Two skips, then the fault ends the run: the metrics and failure say so.
    let progress = ntm::train::progress::Progress::silent();
    let err = trainer.fit(dir.path(), &progress, &AtomicBool::new(false)).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("after 2 batches skipped in a row"), "{message}");

    // An ordinary model with the guard on trains to the end; every metrics line says 0 skipped.
    let dir = tempfile::tempdir().unwrap();
    let mut trainer = Trainer::new(&experiment, "ntm").unwrap();
    let outcome = trainer.fit(dir.path(), &progress, &AtomicBool::new(false)).unwrap();
    assert_eq!(outcome.sequences, 64);
    let metrics = ntm::records::run_dir::read_metrics(dir.path()).unwrap();
    assert_eq!(metrics.len(), 8);
    assert!(metrics.iter().all(|m| m.skipped == 0));
    let text = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert!(text.lines().all(|l| l.contains("\"skipped\":0")), "{text}");
}

/// Restores the read head's biases (undoes [`flatten_read_head`]).
fn restore(trainer: &Trainer, bias: &[f32]) {
    let (_, var) = trainer.built().parameters.iter().find(|(name, _)| name == "heads.read0.bias").unwrap();
    var.set(&candle_core::Tensor::new(bias.to_vec(), var.as_tensor().device()).unwrap()).unwrap();
}

#[test]
fn after_a_skip_training_goes_on_and_a_checkpoint_keeps_the_count() {
    let mut trainer = Trainer::new(&experiment(3), "ntm").unwrap();
    let bias = |t: &Trainer| {
        let (_, v) = t.built().parameters.iter().find(|(n, _)| n == "heads.read0.bias").unwrap();
        v.as_tensor().to_vec1::<f32>().unwrap()
    };
    let original = bias(&trainer);
    flatten_read_head(&trainer, 6, 3);
    assert!(matches!(trainer.step().unwrap(), Step::Skipped { .. }));
    assert_eq!(trainer.skips_in_a_row(), 1);
    // Saved and resumed mid-run, the count in a row comes back.
    let dir = tempfile::tempdir().unwrap();
    trainer.save(dir.path()).unwrap();
    let mut resumed = Trainer::new(&experiment(3), "ntm").unwrap();
    resumed.resume(dir.path()).unwrap();
    assert_eq!((resumed.sequences(), resumed.skips_in_a_row()), (2, 1));
    let meta = std::fs::read_to_string(dir.path().join("checkpoint.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(meta["skipped"], serde_json::json!([1, 1]), "{meta}");
    // An ordinary read head again: the next batch trains and the run in a row ends.
    restore(&trainer, &original);
    assert!(matches!(trainer.step().unwrap(), Step::Trained { .. }));
    assert_eq!((trainer.sequences(), trainer.skips_in_a_row()), (4, 0));
}
