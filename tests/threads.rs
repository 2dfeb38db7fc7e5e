//! A model trained on 1, 2 or 3 threads ends with the same bits: the fused kernels split their
//! work so that every value is computed by the same arithmetic in the same order
//! (`src/fused/split.rs`). One test in this binary, because the thread count
//! (`ntm::base::pool::limit_threads`) belongs to the process.

use ntm::config::Experiment;
use ntm::train::{Step, Trainer};

/// The copy task's LSTM baseline at the paper's size (3 x 256, whose products are wide enough
/// to be split), trained with Adam at batch `batch` on copy sequences of 1..12.
fn experiment(batch: usize) -> Experiment {
    let text = format!(
        r#"
name = "threads"
seed = 5

[task]
kind = "copy"
bits = 8
min_length = 1
max_length = 12

[models.lstm]
kind = "lstm"
size = 256
layers = 3

[train]
sequences = 1000
batch = {batch}
lr = 1e-3
optimizer = "adam"
"#
    );
    Experiment::from_toml(&text, "threads.toml".as_ref(), &[]).unwrap()
}

/// The loss of each of `steps` training steps and every parameter's bits after them.
fn train(batch: usize, steps: usize, threads: usize) -> (Vec<u64>, Vec<Vec<u32>>) {
    ntm::base::pool::limit_threads(threads);
    let mut trainer = Trainer::new(&experiment(batch), "lstm").unwrap();
    let mut losses = Vec::new();
    for _ in 0..steps {
        match trainer.step().unwrap() {
            Step::Trained { loss_bits, .. } => losses.push(loss_bits.to_bits()),
            other => panic!("a step that did not train: {other:?}"),
        }
    }
    let bits = |(_, v): &(String, candle_core::Var)| {
        v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()
    };
    (losses, trainer.built().parameters.iter().map(bits).collect())
}

#[test]
fn the_lstm_trains_to_the_same_bits_on_one_two_and_three_threads() {
    for batch in [1, 5, 16] {
        let (losses, parameters) = train(batch, 3, 1);
        for threads in [2, 3] {
            let (l, p) = train(batch, 3, threads);
            assert_eq!(l, losses, "batch {batch}: the losses differ on {threads} threads");
            assert!(p == parameters, "batch {batch}: a parameter differs on {threads} threads");
        }
    }
}
