//! Batch elements are independent: a model's outputs for a batch equal its outputs for each
//! element run alone. (A batched op that mixed rows, e.g. through a broadcast view, would show
//! here and nowhere else: gradient checks compare a model with itself.)

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use ntm::models::factory::ModelConfig;
use ntm::models::lstm::LstmBaselineConfig;
use ntm::models::ntm::NtmConfig;
use ntm_tasks::{CopySpec, TaskSpec};
use rand::SeedableRng;

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
}

fn check(config: ModelConfig) {
    let task = TaskSpec::Copy(CopySpec { bits: 8, min_length: 1, max_length: 20 }).build();
    let varmap = VarMap::new();
    let model = config.build(&varmap, 3, task.input_width(), task.output_width(), DType::F32, &Device::Cpu).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let batch = task.sample(&mut rng, 6, Some(12));
    let inputs = Tensor::from_slice(&batch.inputs, (batch.time, 6, batch.input_width), &Device::Cpu).unwrap();
    let together = model.forward(&inputs).unwrap(); // [T, 6, Y]
    for b in 0..6 {
        let alone = model.forward(&inputs.narrow(1, b, 1).unwrap()).unwrap();
        let row = together.narrow(1, b, 1).unwrap();
        let diff = max_abs_diff(&row, &alone);
        assert!(diff < 1e-4, "batch element {b}: max |batched - alone| = {diff}");
    }
}

#[test]
fn ntm_batch_elements_are_independent() {
    check(ModelConfig::Ntm(NtmConfig::default()));
}

#[test]
fn lstm_batch_elements_are_independent() {
    check(ModelConfig::Lstm(LstmBaselineConfig { size: 32, layers: 2, ..Default::default() }));
}
