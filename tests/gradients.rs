//! Gradients against central finite differences in f64: candle's autograd through every
//! differentiable piece, and whole models on both engines (the reference's composed ops
//! under candle's autograd, and the fused kernel's hand-derived backward).
//!
//! Each function's output is reduced to a scalar L = sum(out * P) with a fixed random
//! projection P, so every output entry matters with its own weight. For every input entry x:
//!   numeric  = (L(x + eps) - L(x - eps)) / (2 eps),  eps = 1e-6
//!   relative = |autograd - numeric| / max(1e-8, |autograd| + |numeric|)  must be < 1e-4.
//! For whole models the floor is 1e-4 instead of 1e-8:
//!   relative = |autograd - numeric| / max(1e-4, |autograd| + |numeric|)  must be < 1e-4,
//! because their loss is a sum of many terms (|L| ~ 10) and the round-off of the central
//! difference, ~ 2e-16 |L| / eps ~ 2e-9, is then larger than the smallest gradients (1e-9
//! for the initial weighting logits of slots that start at softmax weight e^-10): every
//! gradient is then checked to an absolute 1e-8 at worst, 1e-4 relative for the rest.
//! Inputs are random and away from the non-differentiable points (the +-20 clip in the heads,
//! relu / abs at 0 inside softplus, ties of the detached softmax maximum).

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use common::{check_gradients, check_model, distributions, relative_error, rng, t64, uniform, FD_TOLERANCE};
use ntm::base::kinds::{ControllerKind, Engine, MemoryInit};
use ntm::models::attention::{AttentionBaseline, AttentionConfig};
use ntm::models::dsgu::DsguBaseline;
use ntm::models::lstm::{LstmBaseline, LstmBaselineConfig};
use ntm::models::ntm::{MemoryConfig, Ntm, NtmConfig};
use ntm::models::rnn::{CellKind, RnnBaseline, RnnBaselineConfig};
use ntm::pieces::addressing::{
    address, content_weighting, cosine_similarity, interpolate, sharpen, shift, AddressingParams,
};
use ntm::pieces::memory;
use ntm::pieces::params::ParamBuilder;
use std::panic::{catch_unwind, AssertUnwindSafe};

const B: usize = 2;
const N: usize = 5;
const M: usize = 3;

fn random(seed: u64, shape: &[usize], lo: f64, hi: f64) -> Tensor {
    let count = shape.iter().product();
    t64(&uniform(&mut rng(seed), count, lo, hi), shape)
}

fn distribution(seed: u64, rows: usize, n: usize) -> Tensor {
    t64(&distributions(&mut rng(seed), rows, n), &[rows, n])
}

#[test]
fn relative_error_formula() {
    // |a - n| / max(1e-8, |a| + |n|)
    assert_eq!(relative_error(1.0, 1.0), 0.0);
    assert!((relative_error(1.0, 0.9) - 0.1 / 1.9).abs() < 1e-15);
    assert!((relative_error(-1.0, 1.0) - 1.0).abs() < 1e-15);
    assert!(relative_error(1e-12, 0.0) < 1e-3); // both negligible: floor applies
}

#[test]
fn the_check_can_fail() {
    // A function whose "gradient" autograd cannot see: detach() hides x from the graph, so
    // the checker must report a missing gradient. And a wrong gradient (a straight-through
    // estimator x + (x^2 - x).detach(), value x^2, autograd slope 1) must be caught.
    let x = random(1, &[B, N], 0.5, 1.5);
    let missing =
        catch_unwind(AssertUnwindSafe(|| check_gradients("detached", &[("x", x.clone())], |t| t[0].detach().sqr(), 1)));
    assert!(missing.is_err(), "a missing gradient passed the check");
    let wrong = catch_unwind(AssertUnwindSafe(|| {
        check_gradients("straight-through", &[("x", x.clone())], |t| &t[0] + (t[0].sqr()? - &t[0])?.detach(), 1)
    }));
    assert!(wrong.is_err(), "a wrong gradient passed the check");
}

#[test]
fn cosine_similarity_gradient() {
    let key = random(10, &[B, M], -1.0, 1.0);
    let memory = random(11, &[B, N, M], -1.0, 1.0);
    check_gradients("cosine_similarity", &[("key", key), ("memory", memory)], |t| cosine_similarity(&t[0], &t[1]), 12);
}

#[test]
fn content_weighting_gradient() {
    let key = random(20, &[B, M], -1.0, 1.0);
    let beta = random(21, &[B, 1], 0.5, 5.0);
    let memory = random(22, &[B, N, M], -1.0, 1.0);
    check_gradients(
        "content_weighting",
        &[("key", key), ("beta", beta), ("memory", memory)],
        |t| content_weighting(&t[0], &t[1], &t[2]),
        23,
    );
}

#[test]
fn interpolate_gradient() {
    let content = distribution(30, B, N);
    let previous = distribution(31, B, N);
    let gate = random(32, &[B, 1], 0.1, 0.9);
    check_gradients(
        "interpolate",
        &[("content", content), ("previous", previous), ("gate", gate)],
        |t| interpolate(&t[0], &t[1], &t[2]),
        33,
    );
}

#[test]
fn shift_gradient() {
    for (seed, shifts) in [(40u64, vec![-1i64, 0, 1]), (44, vec![-2, -1, 0, 1, 2]), (48, vec![0, 1])] {
        let w = distribution(seed, B, N);
        let s = distribution(seed + 1, B, shifts.len());
        let worst = check_gradients(
            &format!("shift {shifts:?}"),
            &[("weighting", w), ("shift", s)],
            |t| shift(&t[0], &t[1], &shifts),
            seed + 2,
        );
        assert!(worst < FD_TOLERANCE);
    }
}

#[test]
fn sharpen_gradient() {
    let w = distribution(50, B, N);
    let gamma = random(51, &[B, 1], 1.0, 4.0);
    check_gradients("sharpen", &[("weighting", w), ("gamma", gamma)], |t| sharpen(&t[0], &t[1]), 52);
}

#[test]
fn read_gradient() {
    let w = distribution(60, B, N);
    let memory = random(61, &[B, N, M], -1.0, 1.0);
    check_gradients("memory::read", &[("weighting", w), ("memory", memory)], |t| memory::read(&t[0], &t[1]), 62);
}

#[test]
fn write_gradient() {
    let memory = random(70, &[B, N, M], -1.0, 1.0);
    let w = distribution(71, B, N);
    let erase = random(72, &[B, M], 0.05, 0.95);
    let add = random(73, &[B, M], -1.0, 1.0);
    check_gradients(
        "memory::write",
        &[("memory", memory), ("weighting", w), ("erase", erase), ("add", add)],
        |t| memory::write(&t[0], &t[1], &t[2], &t[3]),
        74,
    );
}

#[test]
fn address_gradient() {
    // The whole pipeline, both weightings it returns, with respect to every input.
    let shifts = [-1i64, 0, 1];
    let inputs = [
        ("key", random(80, &[B, M], -1.0, 1.0)),
        ("beta", random(81, &[B, 1], 0.5, 5.0)),
        ("gate", random(82, &[B, 1], 0.1, 0.9)),
        ("shift", distribution(83, B, 3)),
        ("gamma", random(84, &[B, 1], 1.0, 3.0)),
        ("memory", random(85, &[B, N, M], -1.0, 1.0)),
        ("previous", distribution(86, B, N)),
    ];
    check_gradients(
        "address",
        &inputs,
        |t| {
            let params = AddressingParams {
                key: t[0].clone(),
                beta: t[1].clone(),
                gate: t[2].clone(),
                shift: t[3].clone(),
                gamma: t[4].clone(),
            };
            let out = address(&params, &t[5], &t[6], &shifts)?;
            Tensor::cat(&[&out.content, &out.weighting], 1) // [B, 2N]
        },
        87,
    );
}

// ---------------------------------------------------------------- whole models

fn small_ntm_config(controller: ControllerKind, init: MemoryInit) -> NtmConfig {
    NtmConfig {
        controller,
        controller_size: 8,
        controller_layers: 1,
        read_heads: 1,
        write_heads: 1,
        shifts: vec![-1, 0, 1],
        memory: MemoryConfig { slots: 6, width: 4, init },
        ..NtmConfig::default()
    }
}

/// Checks the NTM of `config` on both engines (the reference's candle autograd and the fused
/// kernel's hand-derived backward), each built from `seed` and checked with `check_seed`.
fn check_ntm(name: &str, config: &NtmConfig, seed: u64, check_seed: u64, (full, sample): (usize, usize)) {
    for engine in [Engine::Reference, Engine::Fused] {
        let varmap = VarMap::new();
        let params = ParamBuilder::new(&varmap, seed, DType::F64, &Device::Cpu);
        let model = Ntm::new(&NtmConfig { engine, ..config.clone() }, &params, 3, 2).unwrap();
        if config.memory.init == MemoryInit::Learned {
            assert!(varmap.data().lock().unwrap().contains_key("initial.memory"));
        }
        check_model(&format!("{name} ({})", engine.name()), &model, &varmap, (3, 2), check_seed, (full, sample));
    }
}

/// N = 6, M = 4, controller 8, 1 read + 1 write head, batch 2, input 3, output 2, 4 steps.
#[test]
fn ntm_lstm_gradient() {
    check_ntm("NTM-LSTM", &small_ntm_config(ControllerKind::Lstm, MemoryInit::Constant), 5, 100, (usize::MAX, 0));
}

#[test]
fn ntm_lstm_learned_memory_gradient() {
    // Learned initial memory: the memory parameter must get the right gradient too.
    let config = small_ntm_config(ControllerKind::Lstm, MemoryInit::Learned);
    check_ntm("NTM-LSTM learned memory", &config, 6, 101, (40, 15));
}

#[test]
fn ntm_feed_forward_gradient() {
    check_ntm("NTM-FF", &small_ntm_config(ControllerKind::FeedForward, MemoryInit::Constant), 7, 102, (usize::MAX, 0));
}

#[test]
fn ntm_two_heads_each_two_layers_gradient() {
    // 2 read + 2 write heads, a 2-layer controller and shifts -2..2: the concatenations of
    // several read vectors and the layer stacking.
    let config = NtmConfig {
        controller_layers: 2,
        read_heads: 2,
        write_heads: 2,
        shifts: vec![-2, -1, 0, 1, 2],
        ..small_ntm_config(ControllerKind::Lstm, MemoryInit::Constant)
    };
    check_ntm("NTM 2x2 heads, 2 layers", &config, 8, 103, (20, 10));
}

#[test]
fn ntm_over_sixteen_slots_gradient() {
    // 17 slots: the fused kernel's loops over blocks of 16 slots and their remainder.
    let config = NtmConfig {
        memory: MemoryConfig { slots: 17, width: 3, init: MemoryInit::Learned },
        ..small_ntm_config(ControllerKind::Lstm, MemoryInit::Learned)
    };
    check_ntm("NTM 17 slots", &config, 10, 105, (30, 12));
}

#[test]
fn lstm_baseline_gradient() {
    let varmap = VarMap::new();
    let params = ParamBuilder::new(&varmap, 9, DType::F64, &Device::Cpu);
    let model =
        LstmBaseline::new(&LstmBaselineConfig { size: 5, layers: 2, ..Default::default() }, &params, 3, 2).unwrap();
    check_model("LSTM baseline", &model, &varmap, (3, 2), 104, (usize::MAX, 0));
}

/// The stacked baseline of cell `kind`, 2 x 5, on both engines; the learned initial states
/// and biases moved away from their zeros so their gradients are not degenerate.
fn check_recurrent_baseline(kind: CellKind, seed: u64) {
    for engine in [Engine::Reference, Engine::Fused] {
        let varmap = VarMap::new();
        let params = ParamBuilder::new(&varmap, seed, DType::F64, &Device::Cpu);
        let config = RnnBaselineConfig { size: 5, layers: 2, engine };
        let model = RnnBaseline::new(kind, &config, &params, 3, 2).unwrap();
        let mut r = rng(seed);
        for (name, var) in common::parameters(&varmap) {
            if name.ends_with("h0") || name.ends_with("bias") {
                var.set(&t64(&uniform(&mut r, var.elem_count(), -0.5, 0.5), var.dims())).unwrap();
            }
        }
        let name = format!("{} baseline ({})", kind.name(), engine.name());
        check_model(&name, &model, &varmap, (3, 2), seed + 100, (usize::MAX, 0));
    }
}

#[test]
fn rnn_baseline_gradient() {
    check_recurrent_baseline(CellKind::Rnn, 11);
}

#[test]
fn gru_baseline_gradient() {
    check_recurrent_baseline(CellKind::Gru, 12);
}

/// The hard sigmoid's kinks in the DSGU's update gate: its pre-activation a must stay this far
/// from +-2.5, where the gate has no derivative and a central difference over a kink would
/// disagree with either one-sided derivative. The test's weights into the gate are scaled so
/// that |a - b_z| <= (in + H) [`DSGU_GATE_WEIGHT`] = 1.6 (inputs and states in [-1, 1]), and
/// b_z is small (|b_z| <= 0.2, on the slope) or +-5 (clamped), giving |a| <= 1.8 or >= 3.4.
const DSGU_KINK_MARGIN: f64 = 0.6;
/// Bound of the DSGU's W_xz and W_hz in its gradient check (see [`DSGU_KINK_MARGIN`]).
const DSGU_GATE_WEIGHT: f64 = 0.16;

/// The DSGU baseline, 2 x 5, on both engines; h0 and the biases away from their zeros (with
/// h0 = 0 the products with h vanish at step 1), the update gate away from its kinks.
#[test]
fn dsgu_baseline_gradient() {
    let (inputs, size) = (3, 5);
    // |a - b_z| <= (in + H) DSGU_GATE_WEIGHT in layer 1, whose input is layer 0's h (5 wide).
    let reach = (size + size) as f64 * DSGU_GATE_WEIGHT;
    assert!(2.5 - (reach + 0.2) >= DSGU_KINK_MARGIN && 5.0 - reach - 2.5 >= DSGU_KINK_MARGIN);
    for engine in [Engine::Reference, Engine::Fused] {
        let varmap = VarMap::new();
        let params = ParamBuilder::new(&varmap, 14, DType::F64, &Device::Cpu);
        let config = RnnBaselineConfig { size, layers: 2, engine };
        let model = DsguBaseline::new(&config, &params, inputs, 2).unwrap();
        let mut r = rng(14);
        for (name, var) in common::parameters(&varmap) {
            let n = var.elem_count();
            let values: Vec<f64> = if name.ends_with("z_bias") {
                (0..n).map(|j| [0.2, 5.0, -0.2, -5.0][j % 4]).collect()
            } else if name.ends_with("xz_weight") || name.ends_with("hz_weight") {
                uniform(&mut r, n, -DSGU_GATE_WEIGHT, DSGU_GATE_WEIGHT)
            } else if name.ends_with("h0") || name.ends_with("bias") {
                uniform(&mut r, n, -0.5, 0.5)
            } else {
                continue;
            };
            var.set(&t64(&values, var.dims())).unwrap();
        }
        check_model(&format!("dsgu baseline ({})", engine.name()), &model, &varmap, (inputs, 2), 114, (usize::MAX, 0));
    }
}

/// The attention baseline, 2 x 5 with attention width 4, on both engines (the reference's
/// composed attention and the fused op's hand-derived backward).
#[test]
fn attention_baseline_gradient() {
    for engine in [Engine::Reference, Engine::Fused] {
        let varmap = VarMap::new();
        let params = ParamBuilder::new(&varmap, 13, DType::F64, &Device::Cpu);
        let config = AttentionConfig { size: 5, layers: 2, attention: 4, engine };
        let model = AttentionBaseline::new(&config, &params, 3, 2).unwrap();
        let mut r = rng(13);
        for (name, var) in common::parameters(&varmap) {
            if name.ends_with("h0") || name.ends_with("c0") {
                var.set(&t64(&uniform(&mut r, var.elem_count(), -0.5, 0.5), var.dims())).unwrap();
            }
        }
        check_model(&format!("attention baseline ({})", engine.name()), &model, &varmap, (3, 2), 113, (usize::MAX, 0));
    }
}
