//! Does it learn? A tiny NTM (12 x 8 memory, 32-unit LSTM controller), a tiny LSTM (1 x 32)
//! and the other baselines at the same size each train on the copy task (4 bits, lengths 1..3; Adam, lr 1e-2, batch 8) through the real
//! trainer (`ntm::train::Trainer`) for a few seconds: the mean loss of the last 10 batches must be
//! a stated factor below that of the first 10, and the bit errors too. Run with `--nocapture`
//! to see the measured numbers.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use ntm::config::Experiment;
use ntm::records::report::MetricsRecord;
use ntm::records::run_dir::read_metrics;
use ntm::train::progress::Progress;
use ntm::train::Trainer;

// Measured (debug profile, one thread, seeds 0-9, 8,000 sequences, first vs last 80):
//   ntm:  loss 7.3-8.6 -> 0.017-0.98 bits/seq, falls 8.6x-466x (median ~200x); bit errors
//         3.1-4.0 -> 0-0.24 per sequence; 3.0-3.6 s each.
//   lstm: loss 7.3-8.6 -> 0.47-1.37 bits/seq, falls 5.7x-17x (median ~10x); bit errors
//         3.0-4.1 -> 0.09-0.40 per sequence; 0.5-0.6 s each.
// Seed 5, near the middle for both:
//   ntm:  loss 7.894 -> 0.392 bits/seq (20.2x), bit errors 3.663 -> 0.075, 3.0-3.9 s
//   lstm: loss 7.882 -> 0.799 bits/seq (9.9x), bit errors 3.438 -> 0.175, 0.5-1.2 s
// (the two tests run side by side; the whole file takes ~4 s on a shared 2-core machine).
// The asserted factor, 4x, is below the worst seed of either model.
// The plain RNN learns more slowly (release profile, one thread, seeds 0-9, same settings):
//   rnn:  loss 7.4-8.6 -> 2.06-3.41 bits/seq, falls 2.5x-3.9x; bit errors 3.3-4.0 -> 0.54-1.09
//         per sequence (3.6x-7.2x); 0.4-0.5 s each. Seed 5: 7.858 -> 2.715 (2.9x), 3.638 -> 0.887.
// Its asserted factor, 2x, is below its worst seed. The GRU learns fastest of all:
//   gru:  loss 7.4-8.7 -> 0.022-0.128 bits/seq, falls 68x-356x; bit errors 3.3-4.2 -> 0 per
//         sequence on every seed; 0.6-0.8 s each (the common 4x applies).
//   attention (LSTM 1 x 32, A = 16): loss 7.3-8.6 -> 0.030-0.055 bits/seq, falls 151x-249x;
//         bit errors 3.1-3.9 -> 0 on every seed; 1.5-2.8 s each (the common 4x applies).
// The DSGU learns about as slowly as the RNN (test profile, one thread, seeds 0-9, same
// settings, on a shared 2-core machine):
//   dsgu: loss 7.5-8.8 -> 1.38-2.57 bits/seq, falls 3.1x-5.9x; bit errors 3.6-4.5 -> 0.34-0.83
//         per sequence (4.6x-11.7x); 0.8-1.1 s each. Seed 5: 8.031 -> 2.572 (3.1x), 3.812 -> 0.825.
// Its asserted factor, the RNN's 2x, is below its worst seed.

/// The seed of both tests (see the measurements above).
const SEED: u64 = 5;
/// Training sequences: 1,000 batches of 8.
const SEQUENCES: u64 = 8_000;
/// Report interval: 10 batches, so "first" and "last" are means over 10 batches each.
const REPORT_EVERY: u64 = 80;
/// Loss and bit errors per sequence must fall by at least this much.
const FACTOR: f64 = 4.0;

/// The same for the models that learn more slowly, per model (see the measurements above).
fn factor(model: &str) -> f64 {
    match model {
        "rnn" | "dsgu" => 2.0,
        _ => FACTOR,
    }
}

/// The tiny copy experiment: both models, Adam, batch 8.
fn experiment(seed: u64, sequences: u64, report_every: u64) -> Experiment {
    let text = format!(
        r#"
name = "learning"
seed = {seed}

[task]
kind = "copy"
bits = 4
min_length = 1
max_length = 3

[models.ntm]
kind = "ntm"
controller = "lstm"
controller_size = 32
controller_layers = 1
read_heads = 1
write_heads = 1
shifts = [-1, 0, 1]
memory = {{ slots = 12, width = 8, init = "constant" }}

[models.lstm]
kind = "lstm"
size = 32
layers = 1

[models.rnn]
kind = "rnn"
size = 32
layers = 1

[models.gru]
kind = "gru"
size = 32
layers = 1

[models.dsgu]
kind = "dsgu"
size = 32
layers = 1

[models.attention]
kind = "attention"
size = 32
layers = 1
attention = 16

[train]
sequences = {sequences}
batch = 8
lr = 1e-2
optimizer = "adam"
clip_value = 10.0
clip_norm = 50.0
report_every = {report_every}
checkpoint_every = {sequences}
"#
    );
    Experiment::from_toml(&text, Path::new("learning.toml"), &[]).expect("the experiment is valid")
}

/// Trains `model` and returns its metrics (one record per `report_every` sequences).
fn learn(model: &str, seed: u64, sequences: u64, report_every: u64) -> Vec<MetricsRecord> {
    // One thread, as the binary runs: RAYON_NUM_THREADS=1 comes from .cargo/config.toml (set
    // here while other tests run, the variable would be written as candle reads it).
    let dir = tempfile::tempdir().unwrap();
    let experiment = experiment(seed, sequences, report_every);
    let stop = AtomicBool::new(false);
    let mut trainer = Trainer::new(&experiment, model).expect("the model builds");
    trainer.fit(dir.path(), &Progress::silent(), &stop).expect("training runs");
    read_metrics(dir.path()).expect("metrics")
}

/// The first and the last report interval (each the mean over its 10 batches).
fn first_last(records: &[MetricsRecord]) -> (&MetricsRecord, &MetricsRecord) {
    (records.first().expect("a first record"), records.last().expect("a last record"))
}

/// Trains `model` on `SEQUENCES` and asserts its loss and bit errors fell by its `factor`.
fn check(model: &str) {
    let (seed, sequences, report_every, factor) = (SEED, SEQUENCES, REPORT_EVERY, factor(model));
    let records = learn(model, seed, sequences, report_every);
    let (first, last) = first_last(&records);
    let fell = first.loss_bits / last.loss_bits;
    println!(
        "{model} seed {seed}: {sequences} sequences in {:.1} s; loss {:.3} -> {:.3} bits/seq ({fell:.1}x), \
         bit errors {:.3} -> {:.3} per seq",
        last.seconds, first.loss_bits, last.loss_bits, first.bit_errors, last.bit_errors
    );
    assert!(
        fell >= factor,
        "{model}: loss fell from {:.3} to {:.3} bits per sequence, {fell:.2}x, less than {factor}x",
        first.loss_bits,
        last.loss_bits
    );
    assert!(
        last.bit_errors * factor <= first.bit_errors,
        "{model}: bit errors per sequence went from {:.3} to {:.3}, less than a {factor}x fall",
        first.bit_errors,
        last.bit_errors
    );
}

#[test]
fn tiny_ntm_learns_copy() {
    check("ntm");
}

#[test]
fn tiny_lstm_learns_copy() {
    check("lstm");
}

#[test]
fn tiny_rnn_learns_copy() {
    check("rnn");
}

#[test]
fn tiny_gru_learns_copy() {
    check("gru");
}

#[test]
fn tiny_dsgu_learns_copy() {
    check("dsgu");
}

#[test]
fn tiny_attention_learns_copy() {
    check("attention");
}

/// Seeds 0-9 for checking the margins, one line each. `LEARNING_MODEL` (ntm, lstm, rnn, gru, dsgu, attention),
/// `LEARNING_SEQUENCES` and `LEARNING_EVERY` change the defaults.
#[test]
#[ignore = "a sweep over seeds for choosing the margins: cargo test --test learning -- --ignored --nocapture"]
fn sweep_seeds() {
    let model = std::env::var("LEARNING_MODEL").unwrap_or_else(|_| "ntm".into());
    let sequences: u64 = std::env::var("LEARNING_SEQUENCES").ok().and_then(|s| s.parse().ok()).unwrap_or(SEQUENCES);
    let every: u64 = std::env::var("LEARNING_EVERY").ok().and_then(|s| s.parse().ok()).unwrap_or(REPORT_EVERY);
    for seed in 0..10 {
        let records = learn(&model, seed, sequences, every);
        let (first, last) = first_last(&records);
        println!(
            "{model} seed {seed}: {sequences} seq in {:.1} s; loss {:.3} -> {:.3} ({:.1}x), errors {:.3} -> {:.3}",
            last.seconds,
            first.loss_bits,
            last.loss_bits,
            first.loss_bits / last.loss_bits,
            first.bit_errors,
            last.bit_errors
        );
    }
}
