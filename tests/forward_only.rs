//! The fused NTM's tape-free forward (`SequenceModel::forward_eval`, what `ntm eval`, `plot
//! outputs` and `run`'s evaluation use) against the taped forward that training uses: the same
//! logits, bit for bit, for every controller, head count, shift set, memory initialisation and
//! sequence length (odd and even, so both of its two places end the sequence; 1 step, where it
//! keeps one).

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use common::{ntm_cases, rng, CPU};
use ntm::base::kinds::Engine;
use ntm::models::factory::ModelConfig;
use ntm::models::ntm::NtmConfig;
use rand::Rng;

/// The bits of every value of `t`.
fn bits(t: &Tensor) -> Vec<u64> {
    let t = t.flatten_all().unwrap();
    match t.dtype() {
        DType::F32 => t.to_vec1::<f32>().unwrap().iter().map(|x| x.to_bits() as u64).collect(),
        _ => t.to_vec1::<f64>().unwrap().iter().map(|x| x.to_bits()).collect(),
    }
}

#[test]
fn tape_free_forward_gives_the_taped_logits_bit_for_bit() {
    for dtype in [DType::F32, DType::F64] {
        for (case, config) in ntm_cases().into_iter().enumerate() {
            let varmap = VarMap::new();
            let model = ModelConfig::Ntm(NtmConfig { engine: Engine::Fused, ..config })
                .build(&varmap, 3 + case as u64, 4, 3, dtype, &Device::Cpu)
                .unwrap();
            let mut r = rng(case as u64);
            for (time, batch) in [(1, 1), (1, 3), (2, 2), (7, 3), (12, 1)] {
                let x: Vec<f64> = (0..time * batch * 4).map(|_| r.random_range(-1.0..1.0)).collect();
                let x = Tensor::from_vec(x, (time, batch, 4), &CPU).unwrap().to_dtype(dtype).unwrap();
                let taped = model.forward(&x).unwrap();
                let free = model.forward_eval(&x).unwrap();
                assert_eq!(free.dims(), taped.dims());
                assert_eq!(
                    bits(&free),
                    bits(&taped),
                    "{dtype:?}, case {case}, {time} steps x {batch} rows: the tape-free logits differ"
                );
            }
        }
    }
}

/// The tape-free forward is a plain tensor: no gradient flows back from it.
#[test]
fn tape_free_forward_has_no_graph() {
    let varmap = VarMap::new();
    let model = ModelConfig::Ntm(NtmConfig::default()).build(&varmap, 1, 4, 3, DType::F32, &Device::Cpu).unwrap();
    let x = Tensor::ones((3, 2, 4), DType::F32, &CPU).unwrap();
    let logits = model.forward_eval(&x).unwrap();
    assert!(!logits.track_op(), "forward_eval's logits carry a graph");
}
