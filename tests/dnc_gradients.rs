//! The DNC's gradients against central finite differences in f64 (the method and tolerances
//! of `tests/gradients.rs`): candle's autograd through every piece of `src/pieces/dnc/`, and
//! whole DNCs on both engines (the reference's composed ops under autograd and the fused
//! kernel's hand-derived backward).
//!
//! The usage is differentiable in the previous write weighting (the paper's equation; see
//! `src/pieces/dnc/mod.rs`): its check includes that input, and a whole DNC checks only if the
//! gradient through it is there, since finite differences see every dependence. The
//! allocation's sort is constant in the backward pass; its check draws usages at least 1e-3
//! apart, so no step of the differences reorders them (the function is smooth there).

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use common::{check_gradients, check_model, distributions, rng, t64, uniform};
use ntm::base::kinds::{Engine, ReadMode};
use ntm::models::dnc::{Dnc, DncConfig, DncMemoryConfig};
use ntm::pieces::dnc::allocation::{allocation, exclusive_cumprod, retention, usage};
use ntm::pieces::dnc::interface::{split, InterfaceParts};
use ntm::pieces::dnc::linkage::{directional, link, precedence};
use ntm::pieces::dnc::weighting::{read_weighting, write_weighting};
use ntm::pieces::params::ParamBuilder;
use rand::seq::SliceRandom;

const B: usize = 2;
const N: usize = 5;

fn random(seed: u64, shape: &[usize], lo: f64, hi: f64) -> Tensor {
    t64(&uniform(&mut rng(seed), shape.iter().product(), lo, hi), shape)
}

fn distribution(seed: u64, rows: usize, n: usize) -> Tensor {
    t64(&distributions(&mut rng(seed), rows, n), &[rows, n])
}

/// Weightings that sum to less than 1, as a write weighting does: a distribution times 0.9.
fn sub_distribution(seed: u64, rows: usize, n: usize) -> Tensor {
    (distribution(seed, rows, n) * 0.9).unwrap()
}

#[test]
fn retention_gradient() {
    let inputs = [
        ("free gate 0", random(1, &[B, 1], 0.1, 0.9)),
        ("free gate 1", random(2, &[B, 1], 0.1, 0.9)),
        ("read weighting 0", distribution(3, B, N)),
        ("read weighting 1", distribution(4, B, N)),
    ];
    check_gradients("retention", &inputs, |t| retention(&t[..2], &t[2..]), 5);
}

#[test]
fn usage_gradient_includes_the_previous_write_weighting() {
    let inputs = [
        ("previous usage", random(10, &[B, N], 0.0, 1.0)),
        ("previous write weighting", sub_distribution(11, B, N)),
        ("retention", random(12, &[B, N], 0.0, 1.0)),
    ];
    check_gradients("usage", &inputs, |t| usage(&t[0], &t[1], &t[2]), 13);
    // And that part is not zero: d u / d w' = psi (1 - u') > 0 here.
    let (u, w, psi) = (random(10, &[1, N], 0.0, 0.9), sub_distribution(11, 1, N), random(12, &[1, N], 0.1, 1.0));
    let w = candle_core::Var::from_tensor(&w).unwrap();
    let grads = usage(&u, w.as_tensor(), &psi).unwrap().sum_all().unwrap().backward().unwrap();
    let g = common::values(grads.get(w.as_tensor()).expect("a gradient reaches the previous write weighting"));
    let expected: Vec<f64> = common::values(&u).iter().zip(common::values(&psi)).map(|(u, p)| p * (1.0 - u)).collect();
    common::assert_close("d u / d w'", &g, &expected, 1e-12);
}

/// `rows` rows of N usages in (0.05, 0.95), each row's values at least 1e-3 apart, shuffled.
fn separated_usages(seed: u64, rows: usize) -> Tensor {
    let mut r = rng(seed);
    let mut values = Vec::new();
    for _ in 0..rows {
        let mut row: Vec<f64> = (0..N).map(|i| 0.05 + 0.9 * (i as f64 + 0.5) / N as f64).collect();
        row.shuffle(&mut r);
        values.extend(row.iter().map(|v| v + uniform(&mut r, 1, -0.05, 0.05)[0]));
    }
    t64(&values, &[rows, N])
}

#[test]
fn allocation_gradient() {
    check_gradients("allocation", &[("usage", separated_usages(20, B))], |t| allocation(&t[0]), 21);
}

#[test]
fn exclusive_cumprod_gradient() {
    for (seed, n) in [(30, 1), (31, 2), (32, 5), (33, 9)] {
        let x = random(seed, &[B, n], -1.5, 1.5);
        check_gradients(&format!("exclusive_cumprod over {n}"), &[("x", x)], |t| exclusive_cumprod(&t[0]), seed);
    }
}

#[test]
fn write_weighting_gradient() {
    let inputs = [
        ("allocation", sub_distribution(40, B, N)),
        ("content", distribution(41, B, N)),
        ("allocation gate", random(42, &[B, 1], 0.1, 0.9)),
        ("write gate", random(43, &[B, 1], 0.1, 0.9)),
    ];
    check_gradients("write_weighting", &inputs, |t| write_weighting(&t[0], &t[1], &t[2], &t[3]), 44);
}

#[test]
fn read_weighting_gradient() {
    let inputs = [
        ("modes", distribution(50, B, 3)),
        ("backward", sub_distribution(51, B, N)),
        ("content", distribution(52, B, N)),
        ("forward", sub_distribution(53, B, N)),
    ];
    check_gradients("read_weighting", &inputs, |t| read_weighting(&t[0], &t[1..]), 54);
}

#[test]
fn precedence_gradient() {
    let inputs = [("previous", sub_distribution(60, B, N)), ("write weighting", sub_distribution(61, B, N))];
    check_gradients("precedence", &inputs, |t| precedence(&t[0], &t[1]), 62);
}

#[test]
fn link_gradient() {
    let inputs = [
        ("previous link", random(70, &[B, N, N], 0.0, 0.3)),
        ("write weighting", sub_distribution(71, B, N)),
        ("previous precedence", sub_distribution(72, B, N)),
    ];
    check_gradients("link", &inputs, |t| link(&t[0], &t[1], &t[2]), 73);
}

#[test]
fn directional_gradient() {
    let inputs = [("link", random(80, &[B, N, N], 0.0, 0.3)), ("previous read weighting", distribution(81, B, N))];
    check_gradients(
        "directional",
        &inputs,
        |t| {
            let (f, b) = directional(&t[0], &t[1])?;
            Tensor::cat(&[f, b], 1) // [B, 2N]
        },
        82,
    );
}

#[test]
fn interface_gradient() {
    // W = 3, R = 2, K = 3: every part and activation, raw values inside the +-20 clip.
    let parts = InterfaceParts::new(3, 2, 3);
    let raw = random(90, &[B, parts.width()], -3.0, 3.0);
    check_gradients(
        "interface",
        &[("raw", raw)],
        |t| {
            let xi = split(&t[0], parts)?;
            let mut all = xi.read_keys.clone();
            all.extend(xi.read_strengths.iter().cloned());
            all.extend([xi.write_key, xi.write_strength, xi.erase, xi.write_vector]);
            all.extend(xi.free_gates.iter().cloned());
            all.extend([xi.allocation_gate, xi.write_gate]);
            all.extend(xi.read_modes.iter().cloned());
            Tensor::cat(&all, 1)
        },
        91,
    );
}

// ---------------------------------------------------------------- whole DNCs

/// Checks the DNC of `config` on both engines, built from `seed`, checked with `check_seed`
/// (input 3, output 2, batch 2, 4 steps: `common::check_model`).
fn check_dnc(name: &str, config: &DncConfig, seed: u64, check_seed: u64, (full, sample): (usize, usize)) {
    for engine in [Engine::Reference, Engine::Fused] {
        let varmap = VarMap::new();
        let params = ParamBuilder::new(&varmap, seed, DType::F64, &Device::Cpu);
        let model = Dnc::new(&DncConfig { engine, ..config.clone() }, &params, 3, 2).unwrap();
        check_model(&format!("{name} ({})", engine.name()), &model, &varmap, (3, 2), check_seed, (full, sample));
    }
}

/// N = 5, W = 3, controller 6, 2 read heads with the paper's three modes: every parameter
/// entry.
#[test]
fn dnc_gradient() {
    let config = DncConfig {
        controller_size: 6,
        read_heads: 2,
        memory: DncMemoryConfig { slots: 5, width: 3 },
        ..DncConfig::default()
    };
    check_dnc("DNC", &config, 3, 110, (usize::MAX, 0));
}

/// Two controller layers, one read head with the modes reordered, over 16 slots (the
/// content weighting's blocked loops run a whole block and a remainder): sampled entries.
#[test]
fn dnc_two_layers_seventeen_slots_gradient() {
    let config = DncConfig {
        controller_size: 5,
        controller_layers: 2,
        read_modes: vec![ReadMode::Forward, ReadMode::Backward, ReadMode::Content],
        memory: DncMemoryConfig { slots: 17, width: 2 },
        ..DncConfig::default()
    };
    check_dnc("DNC 2 layers, 17 slots", &config, 4, 111, (40, 15));
}

/// Content reads only: no link matrix.
#[test]
fn dnc_without_links_gradient() {
    let config = DncConfig {
        controller_size: 4,
        read_modes: vec![ReadMode::Content],
        memory: DncMemoryConfig { slots: 4, width: 3 },
        ..DncConfig::default()
    };
    check_dnc("DNC content only", &config, 5, 112, (usize::MAX, 0));
}
