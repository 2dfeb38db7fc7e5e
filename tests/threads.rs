//! A model trained on 1, 2 or 3 threads ends with the same bits: the fused kernels split their
//! work so that every value is computed by the same arithmetic in the same order
//! (`src/fused/split.rs`, `src/fused/ntm/groups.rs`). One test in this binary, because the
//! thread count (`ntm::base::pool::limit_threads`) belongs to the process.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use common::{ntm_cases, rng};
use ntm::base::kinds::{ControllerKind, Engine, MemoryInit};
use ntm::models::factory::ModelConfig;
use ntm::models::ntm::{MemoryConfig, NtmConfig};
use rand::Rng;

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

/// The LSTM baseline's loss and parameters after 3 steps at batch 1, 5 and 16, on 1, 2 and 3
/// threads.
fn lstm_trains_to_the_same_bits() {
    for batch in [1, 5, 16] {
        let (losses, parameters) = train(batch, 3, 1);
        for threads in [2, 3] {
            let (l, p) = train(batch, 3, threads);
            assert_eq!(l, losses, "batch {batch}: the losses differ on {threads} threads");
            assert!(p == parameters, "batch {batch}: a parameter differs on {threads} threads");
        }
    }
}

/// NTMs at the paper's sizes (copy: LSTM and feed-forward controllers, 128 x 20; two layers
/// and four heads), which the kernel splits in row groups, and the small ones of the other
/// tests, which it does not: logits, tape-free logits and every parameter's gradient.
fn ntm_cases_at_every_size() -> Vec<NtmConfig> {
    let copy = NtmConfig {
        controller_size: 100,
        memory: MemoryConfig { slots: 128, width: 20, init: MemoryInit::Random },
        ..NtmConfig::default()
    };
    let larger = vec![
        copy.clone(),
        NtmConfig { controller: ControllerKind::FeedForward, ..copy },
        NtmConfig {
            controller_size: 40,
            controller_layers: 2,
            read_heads: 2,
            write_heads: 2,
            shifts: vec![-2, -1, 0, 1, 2],
            memory: MemoryConfig { slots: 37, width: 10, init: MemoryInit::Learned },
            ..NtmConfig::default()
        },
    ];
    larger.into_iter().chain(ntm_cases()).collect()
}

/// The bits of `t`'s values.
fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()
}

/// The fused NTM's logits, tape-free logits and gradients (of a weighted sum of the logits)
/// for `config` over `[time, batch]` inputs, on `threads` threads.
fn ntm_pass(config: &NtmConfig, case: u64, (time, batch): (usize, usize), threads: usize) -> Vec<Vec<u32>> {
    ntm::base::pool::limit_threads(threads);
    let varmap = VarMap::new();
    let model = ModelConfig::Ntm(NtmConfig { engine: Engine::Fused, ..config.clone() })
        .build(&varmap, 3 + case, 9, 8, DType::F32, &Device::Cpu)
        .unwrap();
    let mut r = rng(case);
    let mut random = |count: usize| (0..count).map(|_| r.random_range(-1.0f32..1.0)).collect::<Vec<f32>>();
    let x = Tensor::from_vec(random(time * batch * 9), (time, batch, 9), &Device::Cpu).unwrap();
    let logits = model.forward(&x).unwrap();
    let weights = Tensor::from_vec(random(logits.elem_count()), logits.shape(), &Device::Cpu).unwrap();
    let grads = (&logits * &weights).unwrap().sum_all().unwrap().backward().unwrap();
    let mut out = vec![bits(&logits), bits(&model.forward_eval(&x).unwrap())];
    let mut vars: Vec<(String, candle_core::Var)> = varmap.data().lock().unwrap().clone().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(vars.iter().map(|(_, v)| bits(grads.get(v.as_tensor()).expect("a gradient"))));
    out
}

fn ntm_computes_the_same_bits() {
    for (case, config) in ntm_cases_at_every_size().iter().enumerate() {
        for shape in [(5, 1), (4, 2), (3, 4), (5, 5), (4, 8), (3, 16), (2, 17)] {
            let one = ntm_pass(config, case as u64, shape, 1);
            for threads in [2, 3, 4] {
                assert!(
                    ntm_pass(config, case as u64, shape, threads) == one,
                    "NTM case {case}, {shape:?} [steps, rows]: a logit or gradient differs on {threads} threads"
                );
            }
        }
    }
}

#[test]
fn the_lstm_and_the_ntm_compute_the_same_bits_on_one_to_four_threads() {
    lstm_trains_to_the_same_bits();
    ntm_computes_the_same_bits();
}
