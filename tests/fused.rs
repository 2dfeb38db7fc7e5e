//! The fused engines against the composed reference: the same outputs and the same gradient
//! for every parameter (f32, relative error < 1e-4), finite differences in f64, identical
//! parameter names and shapes.

mod common;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use common::{check_gradients, ntm_cases, rng, uniform, values, CPU};
use ntm::base::kinds::Engine;
use ntm::fused::attention::causal_attention;
use ntm::fused::dsgu::{dsgu_layer, DsguWeights};
use ntm::fused::lstm::lstm_layer;
use ntm::fused::recurrent::{gru_layer, rnn_layer};
use ntm::models::attention::{contexts, AttentionConfig};
use ntm::models::dsgu::DsguCell;
use ntm::models::factory::ModelConfig;
use ntm::models::lstm::{LstmBaselineConfig, LstmCell, LstmState};
use ntm::models::ntm::NtmConfig;
use ntm::models::rnn::{CellKind, RecurrentCell, RnnBaselineConfig};
use ntm::models::SequenceModel;
use ntm::optim::loss::sequence_loss;
use ntm::pieces::params::{sorted_parameters, ParamBuilder};
use rand::Rng;

/// Largest relative error accepted between the engines in f32.
const ENGINE_TOLERANCE: f64 = 1e-4;

/// The same in f64, where the engines differ only by the order of their sums.
const ENGINE_TOLERANCE_F64: f64 = 1e-9;

/// Floor of the scale in [`relative_error`]: a gradient that is exactly zero in exact
/// arithmetic (e.g. of a single allowed shift, which sharpening normalises away) comes out of
/// either engine as f32 round-off of ~1e-8, not as 0.
const SCALE_FLOOR: f64 = 1e-5;

/// `max |a - b| / max |b|`: the error relative to the reference's scale (at least
/// [`SCALE_FLOOR`]).
fn relative_error(actual: &[f64], expected: &[f64]) -> f64 {
    assert_eq!(actual.len(), expected.len());
    let scale = expected.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(SCALE_FLOOR);
    let diff = actual.iter().zip(expected).fold(0.0f64, |m, (a, e)| m.max((a - e).abs()));
    assert!(actual.iter().all(|a| a.is_finite()), "non-finite values");
    diff / scale
}

fn random(r: &mut impl Rng, shape: &[usize], scale: f64, dtype: DType) -> Tensor {
    let count = shape.iter().product();
    let v: Vec<f64> = (0..count).map(|_| r.random_range(-scale..scale)).collect();
    Tensor::from_vec(v, shape, &CPU).unwrap().to_dtype(dtype).unwrap()
}

/// Asserts that the fused engine's logits and the gradient of every parameter in `vars` match
/// the reference engine's (relative error < [`ENGINE_TOLERANCE`], or `tolerance` if given).
fn assert_engines_agree(
    case: usize,
    vars: &[(String, Var)],
    (y_ref, g_ref): (&[f64], &GradStore),
    (y_fused, g_fused): (&[f64], &GradStore),
) {
    assert_engines_agree_within(ENGINE_TOLERANCE, case, vars, (y_ref, g_ref), (y_fused, g_fused));
}

fn assert_engines_agree_within(
    tolerance: f64,
    case: usize,
    vars: &[(String, Var)],
    (y_ref, g_ref): (&[f64], &GradStore),
    (y_fused, g_fused): (&[f64], &GradStore),
) {
    let err = relative_error(y_fused, y_ref);
    assert!(err < tolerance, "case {case}: logits differ (relative error {err:.2e})");
    for (name, var) in vars {
        let gradient = |grads: &GradStore, engine: &str| {
            values(grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{engine}: no gradient for {name}")))
        };
        let err = relative_error(&gradient(g_fused, "fused"), &gradient(g_ref, "reference"));
        assert!(err < tolerance, "case {case}: gradient of {name} differs (relative error {err:.2e})");
    }
}

#[test]
fn fused_layer_matches_stepping_the_cell() {
    // (inputs, hidden, time, batch): random shapes, batch and length > 1 included.
    for (case, (inputs, hidden, time, batch)) in
        [(3, 4, 5, 2), (1, 7, 9, 3), (9, 16, 12, 4), (5, 3, 1, 1), (4, 5, 6, 1)].into_iter().enumerate()
    {
        let varmap = VarMap::new();
        let params = ParamBuilder::new(&varmap, case as u64, DType::F32, &Device::Cpu);
        let cell = LstmCell::new(&params, "cell", inputs, hidden).unwrap();
        let mut r = rng(100 + case as u64);
        let x = Var::from_tensor(&random(&mut r, &[time, batch, inputs], 1.0, DType::F32)).unwrap();
        let h0 = Var::from_tensor(&random(&mut r, &[batch, hidden], 0.5, DType::F32)).unwrap();
        let c0 = Var::from_tensor(&random(&mut r, &[batch, hidden], 0.5, DType::F32)).unwrap();
        let projection = random(&mut r, &[time, batch, hidden], 1.0, DType::F32);
        let vars = sorted_parameters(&varmap);
        let (weight, bias) = (vars[1].1.as_tensor(), vars[0].1.as_tensor());
        assert_eq!((vars[0].0.as_str(), vars[1].0.as_str()), ("cell.bias", "cell.weight"));

        let mut state = LstmState { h: h0.as_tensor().clone(), c: c0.as_tensor().clone() };
        let mut hs = Vec::new();
        for t in 0..time {
            state = cell.step(&x.as_tensor().get(t).unwrap(), &state).unwrap();
            hs.push(state.h.clone());
        }
        let reference = Tensor::stack(&hs, 0).unwrap();
        let fused = lstm_layer(x.as_tensor(), weight, bias, h0.as_tensor(), c0.as_tensor()).unwrap();
        let err = relative_error(&values(&fused), &values(&reference));
        assert!(err < ENGINE_TOLERANCE, "case {case}: hidden states differ (relative error {err:.2e})");

        let grads_ref = (reference * &projection).unwrap().sum_all().unwrap().backward().unwrap();
        let grads_fused = (fused * &projection).unwrap().sum_all().unwrap().backward().unwrap();
        let all = [("x", &x), ("h0", &h0), ("c0", &c0), ("weight", &vars[1].1), ("bias", &vars[0].1)];
        for (name, var) in all {
            let g_ref = values(grads_ref.get(var.as_tensor()).expect("reference gradient"));
            let g_fused = values(grads_fused.get(var.as_tensor()).expect("fused gradient"));
            let err = relative_error(&g_fused, &g_ref);
            assert!(err < ENGINE_TOLERANCE, "case {case}: d/d{name} differs (relative error {err:.2e})");
        }
    }
}

#[test]
fn fused_layer_gradients_match_finite_differences() {
    // f64; the initial state given per batch row ([B, H]) and broadcast ([H]).
    let (inputs, hidden, time, batch) = (3, 4, 4, 2);
    let mut r = rng(7);
    for (name, state_shape) in [("per-row state", vec![batch, hidden]), ("broadcast state", vec![hidden])] {
        let t = |r: &mut rand_chacha::ChaCha8Rng, shape: &[usize], scale: f64| {
            common::t64(&uniform(r, shape.iter().product(), -scale, scale), shape)
        };
        let inputs_ = [
            ("x", t(&mut r, &[time, batch, inputs], 1.0)),
            ("weight", t(&mut r, &[inputs + hidden, 4 * hidden], 0.8)),
            ("bias", t(&mut r, &[4 * hidden], 0.5)),
            ("h0", t(&mut r, &state_shape, 0.5)),
            ("c0", t(&mut r, &state_shape, 0.5)),
        ];
        let worst = check_gradients(name, &inputs_, |v| lstm_layer(&v[0], &v[1], &v[2], &v[3], &v[4]), 11);
        assert!(worst < 1e-4, "{name}: worst relative error {worst:.2e}");
    }
}

/// A fused layer: `(x, weight, bias, h0) -> h`.
type FusedLayer = fn(&Tensor, &Tensor, &Tensor, &Tensor) -> candle_core::Result<Tensor>;

/// The cell kinds with a fused layer, and that layer.
fn fused_cells() -> Vec<(CellKind, FusedLayer)> {
    vec![(CellKind::Rnn, rnn_layer), (CellKind::Gru, gru_layer)]
}

#[test]
fn fused_recurrent_layers_match_stepping_their_cells() {
    for (kind, layer) in fused_cells() {
        for (case, (inputs, hidden, time, batch)) in
            [(3, 4, 5, 2), (1, 7, 9, 3), (9, 16, 12, 4), (5, 3, 1, 1), (4, 5, 6, 1)].into_iter().enumerate()
        {
            for (dtype, tolerance) in [(DType::F32, ENGINE_TOLERANCE), (DType::F64, ENGINE_TOLERANCE_F64)] {
                let varmap = VarMap::new();
                let params = ParamBuilder::new(&varmap, case as u64, dtype, &Device::Cpu);
                let cell = RecurrentCell::new(kind, &params, "cell", inputs, hidden).unwrap();
                let vars = sorted_parameters(&varmap);
                assert_eq!((vars[0].0.as_str(), vars[1].0.as_str()), ("cell.bias", "cell.weight"));
                let mut r = rng(100 + case as u64);
                // A bias away from its initial zeros, so its gradient's every part is exercised.
                vars[0].1.set(&random(&mut r, vars[0].1.dims(), 0.5, dtype)).unwrap();
                let (weight, bias) = (vars[1].1.as_tensor(), vars[0].1.as_tensor());
                let x = Var::from_tensor(&random(&mut r, &[time, batch, inputs], 1.0, dtype)).unwrap();
                let h0 = Var::from_tensor(&random(&mut r, &[batch, hidden], 0.5, dtype)).unwrap();
                let projection = random(&mut r, &[time, batch, hidden], 1.0, dtype);

                let mut h = h0.as_tensor().clone();
                let mut hs = Vec::new();
                for t in 0..time {
                    h = cell.step(&x.as_tensor().get(t).unwrap(), &h).unwrap();
                    hs.push(h.clone());
                }
                let reference = Tensor::stack(&hs, 0).unwrap();
                let fused = layer(x.as_tensor(), weight, bias, h0.as_tensor()).unwrap();
                let label = format!("{} case {case} {dtype:?}", kind.name());
                let err = relative_error(&values(&fused), &values(&reference));
                assert!(err < tolerance, "{label}: hidden states differ (relative error {err:.2e})");

                let grads_ref = (reference * &projection).unwrap().sum_all().unwrap().backward().unwrap();
                let grads_fused = (fused * &projection).unwrap().sum_all().unwrap().backward().unwrap();
                let all = [("x", &x), ("h0", &h0), ("weight", &vars[1].1), ("bias", &vars[0].1)];
                for (name, var) in all {
                    let g_ref = values(grads_ref.get(var.as_tensor()).expect("reference gradient"));
                    let g_fused = values(grads_fused.get(var.as_tensor()).expect("fused gradient"));
                    let err = relative_error(&g_fused, &g_ref);
                    assert!(err < tolerance, "{label}: d/d{name} differs (relative error {err:.2e})");
                }
            }
        }
    }
}

#[test]
fn fused_recurrent_layer_gradients_match_finite_differences() {
    // f64; the initial state given per batch row ([B, H]) and broadcast ([H]).
    let (inputs, hidden, time, batch) = (3, 4, 4, 2);
    for (kind, layer) in fused_cells() {
        let gates = kind.gates();
        let mut r = rng(8);
        for (what, state_shape) in [("per-row state", vec![batch, hidden]), ("broadcast state", vec![hidden])] {
            let t = |r: &mut rand_chacha::ChaCha8Rng, shape: &[usize], scale: f64| {
                common::t64(&uniform(r, shape.iter().product(), -scale, scale), shape)
            };
            let inputs_ = [
                ("x", t(&mut r, &[time, batch, inputs], 1.0)),
                ("weight", t(&mut r, &[inputs + hidden, gates * hidden], 0.8)),
                ("bias", t(&mut r, &[gates * hidden], 0.5)),
                ("h0", t(&mut r, &state_shape, 0.5)),
            ];
            let name = format!("{} {what}", kind.name());
            let worst = check_gradients(&name, &inputs_, |v| layer(&v[0], &v[1], &v[2], &v[3]), 12);
            assert!(worst < 1e-4, "{name}: worst relative error {worst:.2e}");
        }
    }
}

/// A DSGU cell's parameters in `varmap` as [`DsguWeights`], the variables sorted by name
/// (g_bias, go_weight, hz_weight, xh_weight, xz_weight, z_bias, zxh_weight).
fn dsgu_weights(varmap: &VarMap) -> (DsguWeights, Vec<(String, Var)>) {
    let vars = sorted_parameters(varmap);
    let get = |name: &str| vars.iter().find(|(n, _)| n == &format!("cell.{name}")).expect(name).1.as_tensor().clone();
    let weights = DsguWeights {
        w_xh: get("xh_weight"),
        b_g: get("g_bias"),
        w_zxh: get("zxh_weight"),
        w_go: get("go_weight"),
        w_xz: get("xz_weight"),
        w_hz: get("hz_weight"),
        b_z: get("z_bias"),
    };
    (weights, vars)
}

/// Steps `cell` over `x` `[T, B, in]` from `h0` `[B, H]`: every hidden state `[T, B, H]`.
fn step_dsgu(cell: &DsguCell, x: &Tensor, h0: &Tensor) -> Tensor {
    let mut h = h0.clone();
    let mut hs = Vec::new();
    for t in 0..x.dim(0).unwrap() {
        h = cell.step(&x.get(t).unwrap(), &h).unwrap();
        hs.push(h.clone());
    }
    Tensor::stack(&hs, 0).unwrap()
}

#[test]
fn fused_dsgu_layer_matches_stepping_its_cell() {
    for (case, (inputs, hidden, time, batch)) in
        [(3, 4, 5, 2), (1, 7, 9, 3), (9, 16, 12, 4), (5, 3, 1, 1), (4, 5, 6, 1)].into_iter().enumerate()
    {
        for (dtype, tolerance) in [(DType::F32, ENGINE_TOLERANCE), (DType::F64, ENGINE_TOLERANCE_F64)] {
            let varmap = VarMap::new();
            let params = ParamBuilder::new(&varmap, case as u64, dtype, &Device::Cpu);
            let cell = DsguCell::new(&params, "cell", inputs, hidden).unwrap();
            let (weights, vars) = dsgu_weights(&varmap);
            assert_eq!(vars.len(), 7);
            let mut r = rng(200 + case as u64);
            // Biases away from their initial zeros, so their gradients' every part is exercised.
            for (name, var) in &vars {
                if name.ends_with("bias") {
                    var.set(&random(&mut r, var.dims(), 0.5, dtype)).unwrap();
                }
            }
            let x = Var::from_tensor(&random(&mut r, &[time, batch, inputs], 1.0, dtype)).unwrap();
            // h0 not 0: with h0 = 0 the products x_g h and z_g h vanish at step 1.
            let h0 = Var::from_tensor(&random(&mut r, &[batch, hidden], 0.5, dtype)).unwrap();
            let projection = random(&mut r, &[time, batch, hidden], 1.0, dtype);

            let reference = step_dsgu(&cell, x.as_tensor(), h0.as_tensor());
            let fused = dsgu_layer(x.as_tensor(), &weights, h0.as_tensor()).unwrap();
            let label = format!("dsgu case {case} {dtype:?}");
            let err = relative_error(&values(&fused), &values(&reference));
            assert!(err < tolerance, "{label}: hidden states differ (relative error {err:.2e})");

            let grads_ref = (reference * &projection).unwrap().sum_all().unwrap().backward().unwrap();
            let grads_fused = (fused * &projection).unwrap().sum_all().unwrap().backward().unwrap();
            let mut all = vec![("x".to_string(), &x), ("h0".to_string(), &h0)];
            all.extend(vars.iter().map(|(n, v)| (n.clone(), v)));
            for (name, var) in all {
                let g_ref = values(grads_ref.get(var.as_tensor()).expect("reference gradient"));
                let g_fused = values(grads_fused.get(var.as_tensor()).expect("fused gradient"));
                let err = relative_error(&g_fused, &g_ref);
                assert!(err < tolerance, "{label}: d/d{name} differs (relative error {err:.2e})");
            }
        }
    }
}

/// The update gate's bias of unit j in the finite-difference checks: small for even j, so
/// its hard sigmoid runs on its slope, and +-[`SATURATED_BIAS`] for odd j, so it is clamped
/// at 1 or 0. With inputs and states in [-1, 1] and the weights into the gate in
/// +-[`GATE_WEIGHT`], the rest of the gate's pre-activation a is at most
/// (in + H) GATE_WEIGHT = 1.4 in size here, so |a| stays within 1.7 or beyond 3.6: at least
/// 0.8 from the hard sigmoid's kinks at +-2.5, where it has no derivative and a central
/// difference over them would be wrong.
const SATURATED_BIAS: f64 = 5.0;
/// Bound of the weights W_xz and W_hz in the finite-difference checks (see [`SATURATED_BIAS`]).
const GATE_WEIGHT: f64 = 0.2;

#[test]
fn fused_dsgu_layer_gradients_match_finite_differences() {
    // f64; the initial state given per batch row ([B, H]) and broadcast ([H]).
    let (inputs, hidden, time, batch) = (3, 4, 4, 2);
    let mut r = rng(9);
    for (what, state_shape) in [("per-row state", vec![batch, hidden]), ("broadcast state", vec![hidden])] {
        let t = |r: &mut rand_chacha::ChaCha8Rng, shape: &[usize], scale: f64| {
            common::t64(&uniform(r, shape.iter().product(), -scale, scale), shape)
        };
        let z_bias: Vec<f64> = (0..hidden)
            .map(|j| match j % 4 {
                1 => SATURATED_BIAS,
                3 => -SATURATED_BIAS,
                _ => 0.3 * (j as f64 - 1.0),
            })
            .collect();
        let inputs_ = [
            ("x", t(&mut r, &[time, batch, inputs], 1.0)),
            ("w_xh", t(&mut r, &[inputs, hidden], 0.8)),
            ("b_g", t(&mut r, &[hidden], 0.5)),
            ("w_zxh", t(&mut r, &[hidden, hidden], 0.8)),
            ("w_go", t(&mut r, &[hidden, hidden], 0.8)),
            ("w_xz", t(&mut r, &[inputs, hidden], GATE_WEIGHT)),
            ("w_hz", t(&mut r, &[hidden, hidden], GATE_WEIGHT)),
            ("b_z", common::t64(&z_bias, &[hidden])),
            ("h0", t(&mut r, &state_shape, 0.5)),
        ];
        let layer = |v: &[Tensor]| {
            let weights = DsguWeights {
                w_xh: v[1].clone(),
                b_g: v[2].clone(),
                w_zxh: v[3].clone(),
                w_go: v[4].clone(),
                w_xz: v[5].clone(),
                w_hz: v[6].clone(),
                b_z: v[7].clone(),
            };
            dsgu_layer(&v[0], &weights, &v[8])
        };
        let name = format!("dsgu {what}");
        let worst = check_gradients(&name, &inputs_, layer, 13);
        assert!(worst < 1e-4, "{name}: worst relative error {worst:.2e}");
    }
}

/// The baselines with a fused engine, `layers` x `size` on `engine` (the attention model's
/// LSTM stack and attention on it, attention width 3).
fn recurrent_baselines(size: usize, layers: usize, engine: Engine) -> Vec<ModelConfig> {
    let config = RnnBaselineConfig { size, layers, engine };
    let attention = AttentionConfig { size, layers, attention: 3, engine };
    vec![
        ModelConfig::Rnn(config.clone()),
        ModelConfig::Gru(config.clone()),
        ModelConfig::Dsgu(config),
        ModelConfig::Attention(attention),
    ]
}

#[test]
fn recurrent_baseline_engines_match_in_f32_and_f64() {
    for (dtype, tolerance) in [(DType::F32, ENGINE_TOLERANCE), (DType::F64, ENGINE_TOLERANCE_F64)] {
        for (case, (size, layers, time, batch)) in
            [(6, 1, 7, 3), (9, 2, 5, 2), (5, 3, 8, 4), (12, 2, 11, 1)].into_iter().enumerate()
        {
            let (inputs, outputs) = (4, 3);
            let models = recurrent_baselines(size, layers, Engine::Reference).into_iter().zip(recurrent_baselines(
                size,
                layers,
                Engine::Fused,
            ));
            for (kind, (reference, fused)) in models.enumerate() {
                let varmap = VarMap::new();
                let seed = 30 + case as u64;
                let reference = reference.build(&varmap, seed, inputs, outputs, dtype, &Device::Cpu).unwrap();
                // Built second on the same varmap: it reuses the reference's parameters.
                let fused = fused.build(&varmap, seed, inputs, outputs, dtype, &Device::Cpu).unwrap();
                let vars = sorted_parameters(&varmap);
                let mut r = rng(seed);
                for (name, var) in &vars {
                    if name.ends_with("h0") || name.ends_with("c0") || name.ends_with("bias") {
                        var.set(&random(&mut r, var.dims(), 0.5, dtype)).unwrap();
                    }
                }
                let x = random(&mut r, &[time, batch, inputs], 1.0, dtype);
                let targets =
                    random(&mut r, &[time, batch, outputs], 1.0, dtype).gt(0.0).unwrap().to_dtype(dtype).unwrap();
                let mask = random(&mut r, &[time, batch], 1.0, dtype).gt(-0.5).unwrap().to_dtype(dtype).unwrap();
                let run = |model: &dyn SequenceModel| {
                    let logits = model.forward(&x).unwrap();
                    let grads = sequence_loss(&logits, &targets, &mask).unwrap().backward().unwrap();
                    (values(&logits), grads)
                };
                let (y_ref, g_ref) = run(reference.as_ref());
                let (y_fused, g_fused) = run(fused.as_ref());
                assert_eq!(reference.parameter_count(), fused.parameter_count());
                let label = 100 * kind + case;
                assert_engines_agree_within(tolerance, label, &vars, (&y_ref, &g_ref), (&y_fused, &g_fused));
            }
        }
    }
}

/// A deliberate bug must fail the comparison: the fused RNN's output against a reference whose
/// recurrent weight is perturbed by 1e-3 in one entry.
#[test]
fn the_recurrent_comparison_can_fail() {
    let varmap = VarMap::new();
    let params = ParamBuilder::new(&varmap, 3, DType::F64, &Device::Cpu);
    let cell = RecurrentCell::new(CellKind::Rnn, &params, "cell", 2, 3).unwrap();
    let vars = sorted_parameters(&varmap);
    let (weight, bias) = (vars[1].1.as_tensor().clone(), vars[0].1.as_tensor().clone());
    let x = random(&mut rng(4), &[5, 2, 2], 1.0, DType::F64);
    let h0 = Tensor::zeros((2, 3), DType::F64, &CPU).unwrap();
    let fused = values(&rnn_layer(&x, &weight, &bias, &h0).unwrap());
    common::set_entry(&vars[1].1, 2 * 3 + 1, values(&weight)[2 * 3 + 1] + 1e-3);
    let mut h = h0.clone();
    let mut hs = Vec::new();
    for t in 0..5 {
        h = cell.step(&x.get(t).unwrap(), &h).unwrap();
        hs.push(h.clone());
    }
    let err = relative_error(&fused, &values(&Tensor::stack(&hs, 0).unwrap()));
    assert!(err > ENGINE_TOLERANCE_F64, "a perturbed recurrent weight went unnoticed ({err:.2e})");
}

/// A deliberate bug must fail the DSGU's comparison too: the fused layer against a reference
/// whose W_go is perturbed by 1e-3 in one entry.
#[test]
fn the_dsgu_comparison_can_fail() {
    let varmap = VarMap::new();
    let params = ParamBuilder::new(&varmap, 3, DType::F64, &Device::Cpu);
    let cell = DsguCell::new(&params, "cell", 2, 3).unwrap();
    let (weights, vars) = dsgu_weights(&varmap);
    let x = random(&mut rng(4), &[5, 2, 2], 1.0, DType::F64);
    let h0 = random(&mut rng(5), &[2, 3], 0.5, DType::F64);
    let fused = values(&dsgu_layer(&x, &weights, &h0).unwrap());
    let go = &vars.iter().find(|(n, _)| n == "cell.go_weight").unwrap().1;
    common::set_entry(go, 3 + 1, values(go.as_tensor())[3 + 1] + 1e-3);
    let err = relative_error(&fused, &values(&step_dsgu(&cell, &x, &h0)));
    assert!(err > ENGINE_TOLERANCE_F64, "a perturbed W_go went unnoticed ({err:.2e})");
}

/// Random `q`, `k` `[B, T, A]`, `v` `[A]` and `h` `[B, T, H]` for the attention op, in
/// `dtype`, as variables (so each gets a gradient).
fn attention_inputs(
    r: &mut impl Rng,
    (batch, time, width, hidden): (usize, usize, usize, usize),
    dtype: DType,
) -> [Var; 4] {
    let shapes = [vec![batch, time, width], vec![batch, time, width], vec![width], vec![batch, time, hidden]];
    shapes.map(|shape| Var::from_tensor(&random(r, &shape, 1.5, dtype)).unwrap())
}

#[test]
fn fused_attention_matches_the_composed_reference() {
    // (batch, time, A, H): T = 1 (no past at all), batch 1 and > 1, A below, at and past a
    // multiple of the kernel's 8 lanes.
    let cases = [(1, 1, 3, 4), (3, 1, 9, 2), (1, 6, 8, 5), (2, 7, 3, 4), (3, 9, 19, 6), (4, 12, 16, 10)];
    for (dtype, tolerance) in [(DType::F32, ENGINE_TOLERANCE), (DType::F64, ENGINE_TOLERANCE_F64)] {
        for (case, dims) in cases.into_iter().enumerate() {
            let mut r = rng(60 + case as u64);
            let vars = attention_inputs(&mut r, dims, dtype);
            let [q, k, v, h] = vars.each_ref().map(|var| var.as_tensor());
            let projection = random(&mut r, &[dims.0, dims.1, dims.3], 1.0, dtype);
            let reference = contexts(q, k, v, h).unwrap();
            let fused = causal_attention(q, k, v, h).unwrap();
            assert_eq!(fused.dims(), reference.dims());
            let err = relative_error(&values(&fused), &values(&reference));
            assert!(err < tolerance, "{dtype:?} case {case}: contexts differ (relative error {err:.2e})");
            let grads_ref = (reference * &projection).unwrap().sum_all().unwrap().backward().unwrap();
            let grads_fused = (fused * &projection).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, var) in ["q", "k", "v", "h"].into_iter().zip(&vars) {
                let g_ref = values(grads_ref.get(var.as_tensor()).expect("reference gradient"));
                let g_fused = values(grads_fused.get(var.as_tensor()).expect("fused gradient"));
                let err = relative_error(&g_fused, &g_ref);
                assert!(err < tolerance, "{dtype:?} case {case}: d/d{name} differs (relative error {err:.2e})");
            }
        }
    }
}

#[test]
fn fused_attention_gradients_match_finite_differences() {
    let mut r = rng(8);
    let [q, k, v, h] = attention_inputs(&mut r, (2, 5, 11, 3), DType::F64).map(|var| var.as_tensor().clone());
    let inputs = [("q", q), ("k", k), ("v", v), ("h", h)];
    let worst = check_gradients("fused attention", &inputs, |t| causal_attention(&t[0], &t[1], &t[2], &t[3]), 9);
    assert!(worst < 1e-4, "worst relative error {worst:.2e}");
}

/// A deliberate bug must fail the comparison: the fused attention against the reference with
/// one entry of the score vector moved by 1e-3.
#[test]
fn the_attention_comparison_can_fail() {
    let [q, k, v, h] = attention_inputs(&mut rng(5), (2, 6, 9, 4), DType::F64).map(|var| var.as_tensor().clone());
    let fused = values(&causal_attention(&q, &k, &v, &h).unwrap());
    let mut moved = values(&v);
    moved[3] += 1e-3;
    let v = common::t64(&moved, &[9]);
    let err = relative_error(&fused, &values(&contexts(&q, &k, &v, &h).unwrap()));
    assert!(err > ENGINE_TOLERANCE_F64, "a moved score vector went unnoticed ({err:.2e})");
}

/// An LSTM baseline config of `layers` x `size` on `engine`.
fn lstm(size: usize, layers: usize, engine: Engine) -> ModelConfig {
    ModelConfig::Lstm(LstmBaselineConfig { size, layers, engine })
}

#[test]
fn baseline_engines_match_outputs_and_every_parameter_gradient() {
    for (case, (size, layers, time, batch)) in
        [(6, 1, 7, 3), (9, 2, 5, 2), (5, 3, 8, 4), (12, 2, 11, 1)].into_iter().enumerate()
    {
        let (inputs, outputs) = (4, 3);
        let varmap = VarMap::new();
        let seed = 20 + case as u64;
        let reference = lstm(size, layers, Engine::Reference)
            .build(&varmap, seed, inputs, outputs, DType::F32, &Device::Cpu)
            .unwrap();
        // Built second on the same varmap: it reuses the reference's parameters.
        let fused =
            lstm(size, layers, Engine::Fused).build(&varmap, seed, inputs, outputs, DType::F32, &Device::Cpu).unwrap();
        // Learned initial states away from zero, so their gradients are exercised too.
        let vars = sorted_parameters(&varmap);
        let mut r = rng(seed);
        for (name, var) in &vars {
            if name.ends_with("h0") || name.ends_with("c0") {
                var.set(&random(&mut r, var.dims(), 0.5, DType::F32)).unwrap();
            }
        }
        let x = random(&mut r, &[time, batch, inputs], 1.0, DType::F32);
        let targets =
            random(&mut r, &[time, batch, outputs], 1.0, DType::F32).gt(0.0).unwrap().to_dtype(DType::F32).unwrap();
        let mask = random(&mut r, &[time, batch], 1.0, DType::F32).gt(-0.5).unwrap().to_dtype(DType::F32).unwrap();

        let run = |model: &dyn SequenceModel| {
            let logits = model.forward(&x).unwrap();
            let grads = sequence_loss(&logits, &targets, &mask).unwrap().backward().unwrap();
            (values(&logits), grads)
        };
        let (y_ref, g_ref) = run(reference.as_ref());
        let (y_fused, g_fused) = run(fused.as_ref());
        assert_eq!(reference.parameter_count(), fused.parameter_count());
        assert_engines_agree(case, &vars, (&y_ref, &g_ref), (&y_fused, &g_fused));
    }
}

#[test]
fn engines_have_identical_parameter_names_shapes_and_initial_values() {
    let build = |engine| {
        let varmap = VarMap::new();
        lstm(8, 3, engine).build(&varmap, 5, 9, 8, DType::F32, &Device::Cpu).unwrap();
        sorted_parameters(&varmap)
            .into_iter()
            .map(|(n, v)| (n, v.dims().to_vec(), values(v.as_tensor())))
            .collect::<Vec<_>>()
    };
    let (reference, fused) = (build(Engine::Reference), build(Engine::Fused));
    assert_eq!(reference.len(), 3 * 4 + 2);
    assert_eq!(reference, fused);
}

#[test]
fn engine_is_a_documented_optional_config_field() {
    let config: LstmBaselineConfig = toml::from_str("size = 4\nlayers = 1").unwrap();
    assert_eq!(config.engine, Engine::default());
    let config: LstmBaselineConfig = toml::from_str("engine = \"reference\"").unwrap();
    assert_eq!(config.engine, Engine::Reference);
    let config: LstmBaselineConfig = toml::from_str("engine = \"fused\"").unwrap();
    assert_eq!(config.engine, Engine::Fused);
    assert!(toml::from_str::<LstmBaselineConfig>("engine = \"fast\"").is_err());
}

/// The NTM of `config` on each engine, sharing one set of parameters.
fn ntm_on_both_engines(
    config: &NtmConfig,
    varmap: &VarMap,
    seed: u64,
    (inputs, outputs): (usize, usize),
    dtype: DType,
) -> [Box<dyn SequenceModel>; 2] {
    [Engine::Reference, Engine::Fused].map(|engine| {
        ModelConfig::Ntm(NtmConfig { engine, ..config.clone() })
            .build(varmap, seed, inputs, outputs, dtype, &Device::Cpu)
            .unwrap()
    })
}

/// Compares the engines on every case of [`ntm_cases`] at several (time, batch) shapes, in
/// `dtype`, to `tolerance`. With `perturb`, the learned initial state is moved away from its
/// start (zero h0 and c0, weightings focused on slot 0) so that swapping any two of its parts
/// would show, and head biases go up to +-25, so some pre-activations pass the +-20 clip (no
/// gradient beyond it) and others saturate their activations (gamma ~ 21).
fn compare_ntm_engines(dtype: DType, perturb: bool, tolerance: f64, shapes: &[(usize, usize)]) {
    for (case, config) in ntm_cases().into_iter().enumerate() {
        for &(time, batch) in shapes {
            let (inputs, outputs) = (4, 3);
            let varmap = VarMap::new();
            let seed = 50 + case as u64;
            let [reference, fused] = ntm_on_both_engines(&config, &varmap, seed, (inputs, outputs), dtype);
            let mut r = rng(seed);
            let vars = sorted_parameters(&varmap);
            for (name, var) in &vars {
                let scale = match name.as_str() {
                    _ if !perturb => continue,
                    n if n.starts_with("initial.") || n.ends_with("h0") || n.ends_with("c0") => 1.0,
                    n if n.starts_with("heads.") && n.ends_with("bias") => 25.0,
                    _ => continue,
                };
                var.set(&random(&mut r, var.dims(), scale, dtype)).unwrap();
            }
            let x = random(&mut r, &[time, batch, inputs], 1.0, dtype);
            let targets = random(&mut r, &[time, batch, outputs], 1.0, dtype).gt(0.0).unwrap().to_dtype(dtype).unwrap();
            let mask = Tensor::ones((time, batch), dtype, &CPU).unwrap();
            let run = |model: &dyn SequenceModel| {
                let logits = model.forward(&x).unwrap();
                let grads = sequence_loss(&logits, &targets, &mask).unwrap().backward().unwrap();
                (values(&logits), grads)
            };
            let (y_ref, g_ref) = run(reference.as_ref());
            let (y_fused, g_fused) = run(fused.as_ref());
            let label = case * 10 + shapes.iter().position(|&s| s == (time, batch)).unwrap_or(0);
            assert_engines_agree_within(tolerance, label, &vars, (&y_ref, &g_ref), (&y_fused, &g_fused));
        }
    }
}

/// (time steps, batch rows) of the comparisons.
const SHAPES: [(usize, usize); 4] = [(6, 3), (1, 3), (1, 1), (5, 1)];

/// In f32 at batch 3. At batch 1 the gradients of the initial weighting logits (~1e-9 for
/// slots at softmax weight e^-10) differ by up to 1.2e-4 of their scale, with the library's
/// exp and tanh in the kernels too: f32 round-off in a different order of sums; the f64
/// comparison below covers batch 1 strictly.
#[test]
fn ntm_engines_match_outputs_and_every_parameter_gradient() {
    compare_ntm_engines(DType::F32, false, ENGINE_TOLERANCE, &SHAPES[..2]);
}

/// Moved initial states and saturated heads amplify f32 round-off past [`ENGINE_TOLERANCE`]
/// (e.g. sharpening with gamma ~ 21 of weightings near 0), so this comparison runs in f64,
/// where it can be far stricter.
#[test]
fn ntm_engines_match_in_f64_with_moved_initial_state_and_clipped_heads() {
    compare_ntm_engines(DType::F64, true, ENGINE_TOLERANCE_F64, &SHAPES);
}

#[test]
fn ntm_engines_record_the_same_traces() {
    for (case, config) in ntm_cases().into_iter().enumerate() {
        let (inputs, outputs, time, batch) = (4, 3, 7, 2);
        let varmap = VarMap::new();
        let seed = 80 + case as u64;
        let [reference, fused] = ntm_on_both_engines(&config, &varmap, seed, (inputs, outputs), DType::F32);
        let x = random(&mut rng(seed), &[time, batch, inputs], 1.0, DType::F32);
        let (y_ref, record_ref) = reference.forward_traced_with_memory(&x).unwrap();
        let (y_fused, record_fused) = fused.forward_traced_with_memory(&x).unwrap();
        let err = relative_error(&values(&y_fused), &values(&y_ref));
        assert!(err < ENGINE_TOLERANCE, "case {case}: traced logits differ ({err:.2e})");
        let (record_ref, record_fused) = (record_ref.unwrap(), record_fused.unwrap());
        assert_eq!(record_fused.initial_memory, record_ref.initial_memory);
        let memories = |r: &ntm::models::MemoryRecord| -> Vec<f64> {
            r.memory.as_ref().expect("memory recorded").iter().map(|&v| v as f64).collect()
        };
        let (memory_ref, memory_fused) = (memories(&record_ref), memories(&record_fused));
        let (n, m) = (config.memory.slots, config.memory.width);
        assert_eq!((memory_ref.len(), memory_fused.len()), (time * n * m, time * n * m), "case {case}: [T, N, M]");
        let err = relative_error(&memory_fused, &memory_ref);
        assert!(err < ENGINE_TOLERANCE, "case {case}: memories differ ({err:.2e})");
        assert_eq!(record_fused.heads.len(), config.read_heads + config.write_heads);
        for (head_ref, head_fused) in record_ref.heads.iter().zip(&record_fused.heads) {
            assert_eq!((head_fused.kind, head_fused.index), (head_ref.kind, head_ref.index));
            assert_eq!(head_fused.steps.len(), time);
            for (t, (a, b)) in head_ref.steps.iter().zip(&head_fused.steps).enumerate() {
                let floats = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
                let optional = |v: &Option<Vec<f32>>| v.as_deref().map(floats).unwrap_or_default();
                let fields = [
                    ("weighting", floats(&a.weighting), floats(&b.weighting)),
                    ("content weighting", floats(&a.content_weighting), floats(&b.content_weighting)),
                    ("key", floats(&a.key), floats(&b.key)),
                    ("beta, gate, gamma", floats(&[a.beta, a.gate, a.gamma]), floats(&[b.beta, b.gate, b.gamma])),
                    ("shift", floats(&a.shift), floats(&b.shift)),
                    ("erase", optional(&a.erase), optional(&b.erase)),
                    ("add", optional(&a.add), optional(&b.add)),
                    ("read", optional(&a.read), optional(&b.read)),
                ];
                for (field, reference, fused) in fields {
                    assert_eq!(
                        fused.len(),
                        reference.len(),
                        "case {case}, {:?} {}, step {t}: {field}",
                        head_ref.kind,
                        head_ref.index
                    );
                    let err = relative_error(&fused, &reference);
                    assert!(
                        err < ENGINE_TOLERANCE,
                        "case {case}, {:?} head {}, step {t}: {field} differs ({err:.2e})",
                        head_ref.kind,
                        head_ref.index
                    );
                }
            }
        }
    }
}
