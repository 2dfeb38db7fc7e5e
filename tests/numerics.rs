//! Numerical safety: each test feeds the input that makes a naive formula give NaN or inf
//! (zero norms, exact zeros raised to a power, huge logits) and checks values and gradients
//! stay finite and right. Where it helps, a "control" computes the naive formula in the same
//! test to show the input really is the dangerous one.

mod common;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::VarMap;
use common::{assert_finite, assert_tensor, rng, tensor, uniform, values};
use ntm::models::factory::ModelConfig;
use ntm::models::ntm::{MemoryConfig, Ntm, NtmConfig};
use ntm::models::SequenceModel;
use ntm::optim::loss::{bce_with_logits, bit_errors, sequence_loss};
use ntm::pieces::addressing::{address, cosine_similarity, sharpen, softmax, AddressingParams};
use ntm::pieces::memory::CONSTANT_INIT;
use ntm::pieces::params::ParamBuilder;

const DTYPES: [DType; 2] = [DType::F64, DType::F32];

fn var(values: &[f64], shape: &[usize], dtype: DType) -> Var {
    Var::from_tensor(&tensor(values, shape, dtype)).unwrap()
}

/// The gradient of `of` in `grads`, which must exist and be finite.
fn finite_grad(grads: &candle_core::backprop::GradStore, of: &Var, what: &str) -> Vec<f64> {
    let g = grads.get(of.as_tensor()).unwrap_or_else(|| panic!("{what}: no gradient"));
    assert_finite(what, g);
    values(g)
}

// ---------------------------------------------------------------- zero norms

#[test]
fn control_a_norm_without_epsilon_has_a_nan_gradient_at_zero() {
    // d sqrt(x.x) / dx = x / |x| = 0 / 0 at x = 0: the reason for NORM_EPSILON.
    let x = var(&[0.0, 0.0], &[1, 2], DType::F64);
    let norm = x.as_tensor().sqr().unwrap().sum_all().unwrap().sqrt().unwrap();
    let grads = norm.backward().unwrap();
    let g = values(grads.get(x.as_tensor()).unwrap());
    assert!(g.iter().any(|v| !v.is_finite()), "expected a non-finite gradient, got {g:?}");
}

#[test]
fn zero_key_and_zero_memory_rows_through_address() {
    // B = 2, N = 4, M = 3. Row 0: zero key over a memory with two zero rows.
    // Row 1: a key over an all-zero memory.
    // Every similarity involving a zero vector is 0, so both rows' content weightings are
    // uniform 1/4 (softmax of (0, s1, 0, s3) for row 0 with s = 0 too since the key is 0).
    for dtype in DTYPES {
        let key = var(&[0.0, 0.0, 0.0, 0.3, -0.2, 0.5], &[2, 3], dtype);
        let memory = var(
            &[
                0.0, 0.0, 0.0, 1.0, -1.0, 0.5, 0.0, 0.0, 0.0, 0.2, 0.3, -0.4, //
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
            &[2, 4, 3],
            dtype,
        );
        let beta = var(&[3.0, 7.0], &[2, 1], dtype);
        let gate = var(&[0.7, 0.9], &[2, 1], dtype);
        let shift = var(&[0.1, 0.8, 0.1, 0.2, 0.3, 0.5], &[2, 3], dtype);
        let gamma = var(&[2.5, 1.5], &[2, 1], dtype);
        let previous = var(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], &[2, 4], dtype);
        let params = AddressingParams {
            key: key.as_tensor().clone(),
            beta: beta.as_tensor().clone(),
            gate: gate.as_tensor().clone(),
            shift: shift.as_tensor().clone(),
            gamma: gamma.as_tensor().clone(),
        };
        let sims = cosine_similarity(params.key.as_ref(), memory.as_tensor()).unwrap();
        assert_tensor(&format!("similarities ({dtype:?})"), &sims, &[0.0; 8], 1e-6);
        let out = address(&params, memory.as_tensor(), previous.as_tensor(), &[-1, 0, 1]).unwrap();
        assert_tensor(&format!("content ({dtype:?})"), &out.content, &[0.25; 8], 1e-6);
        assert_finite("weighting", &out.weighting);
        let projection = tensor(&uniform(&mut rng(1), 8, -1.0, 1.0), &[2, 4], dtype);
        let loss = ((&out.weighting * &projection).unwrap().sum_all().unwrap()
            + (&out.content * &projection).unwrap().sum_all().unwrap())
        .unwrap();
        let grads = loss.backward().unwrap();
        for (name, v) in [
            ("key", &key),
            ("memory", &memory),
            ("beta", &beta),
            ("gate", &gate),
            ("shift", &shift),
            ("gamma", &gamma),
            ("previous", &previous),
        ] {
            finite_grad(&grads, v, &format!("d loss / d {name} ({dtype:?})"));
        }
        // The gradient with respect to a zero key is not 0 (the key can move off zero): the
        // epsilon keeps it finite without flattening it.
        let gk = finite_grad(&grads, &key, "key");
        assert!(gk[..3].iter().any(|g| g.abs() > 1e-3), "{dtype:?}: zero key has a vanishing gradient {gk:?}");
    }
}

// ---------------------------------------------------------------- powers of exact zeros

#[test]
fn control_a_power_without_epsilon_has_a_nan_gradient_at_zero() {
    // exp(gamma ln w) at w = 0: ln 0 = -inf, and d/dgamma = ln w * w^gamma = -inf * 0 = NaN.
    let w = var(&[0.0, 1.0], &[1, 2], DType::F64);
    let gamma = var(&[2.0], &[1, 1], DType::F64);
    let powered = w.as_tensor().log().unwrap().broadcast_mul(gamma.as_tensor()).unwrap().exp().unwrap();
    let grads = powered.sum_all().unwrap().backward().unwrap();
    let g = values(grads.get(gamma.as_tensor()).unwrap());
    assert!(g.iter().any(|v| !v.is_finite()), "expected a non-finite gradient, got {g:?}");
}

#[test]
fn sharpen_of_weights_that_underflowed_to_zero() {
    // softmax(0, -200, -150, 1) in f32: e^-150 and e^-200 underflow to exactly 0 (the smallest
    // f32 is ~1.4e-45 = e^-103). Then sharpen with gamma 3: the zeros stay ~0, the rest is
    // e^(3 (0, 1)) normalised = (1, e^3) / (1 + e^3) = (0.04742587, 0.95257413).
    // Row 1 is an exact zero given directly, f64: (0.5, 0, 0.5, 0), gamma 1.5 -> (0.5, 0, 0.5, 0).
    for dtype in DTYPES {
        let logits = var(&[0.0, -200.0, -150.0, 1.0, 0.0, -1e4, 0.0, -1e4], &[2, 4], dtype);
        let gamma = var(&[3.0, 1.5], &[2, 1], dtype);
        let w = softmax(logits.as_tensor()).unwrap();
        let wv = values(&w);
        if dtype == DType::F32 {
            assert_eq!((wv[1], wv[2]), (0.0, 0.0), "f32 softmax entries should underflow to 0: {wv:?}");
        }
        assert_eq!((wv[5], wv[7]), (0.0, 0.0), "{dtype:?}: e^-10000 is 0 in any precision: {wv:?}");
        let sharp = sharpen(&w, gamma.as_tensor()).unwrap();
        let e3 = 3f64.exp();
        assert_tensor(
            &format!("sharpened ({dtype:?})"),
            &sharp,
            &[1.0 / (1.0 + e3), 0.0, 0.0, e3 / (1.0 + e3), 0.5, 0.0, 0.5, 0.0],
            1e-6,
        );
        let projection = tensor(&uniform(&mut rng(2), 8, -1.0, 1.0), &[2, 4], dtype);
        let grads = (&sharp * &projection).unwrap().sum_all().unwrap().backward().unwrap();
        finite_grad(&grads, &logits, &format!("d / d logits ({dtype:?})"));
        let gg = finite_grad(&grads, &gamma, &format!("d / d gamma ({dtype:?})"));
        assert!(gg[0] != 0.0, "{dtype:?}: gamma's gradient vanished: {gg:?}");
    }
}

/// A flat weighting over `n` slots sharpened with a large gamma in f32, forward and backward.
/// Sharpen computes w^gamma / sum w^gamma with w^gamma = exp(gamma ln(w + eps)), not
/// normalised by the largest entry first, so for w = 1/n: w^gamma = n^-gamma, which in f32
/// (smallest subnormal 2^-149) underflows to 0 when gamma log2 n > 149, giving 0/0 forward;
/// and the division's backward, grad * w^gamma / (sum)^2 with sum = n^(1 - gamma), divides by
/// 0 once 2 (gamma - 1) log2 n > 149. gamma = 1 + softplus(x) reaches ~21 under the +-20 clip,
/// and a flat weighting is what content addressing gives over the constant initial memory.
fn sharpen_flat_f32(n: usize, gamma: f64) -> (Vec<f64>, Vec<f64>) {
    let w = Var::from_tensor(&Tensor::full(1.0f32 / n as f32, (1, n), &Device::Cpu).unwrap()).unwrap();
    let g = var(&[gamma], &[1, 1], DType::F32);
    let out = sharpen(w.as_tensor(), g.as_tensor()).unwrap();
    let projection = tensor(&uniform(&mut rng(3), n, -1.0, 1.0), &[1, n], DType::F32);
    let grads = (&out * &projection).unwrap().sum_all().unwrap().backward().unwrap();
    let mut grad = values(grads.get(w.as_tensor()).unwrap());
    grad.extend(values(grads.get(g.as_tensor()).unwrap()));
    (values(&out), grad)
}

#[test]
fn sharpen_flat_weighting_moderate_gamma_f32() {
    // The safe side of the bound above: N = 128, gamma = 5 -> w^gamma = 2^-35, sum^2 = 2^-56.
    let (out, grad) = sharpen_flat_f32(128, 5.0);
    assert!(out.iter().all(|x| (x - 1.0 / 128.0).abs() < 1e-6), "{out:?}");
    assert!(grad.iter().all(|x| x.is_finite()), "{grad:?}");
}

#[test]
fn sharpen_flat_weighting_large_gamma_backward_f32() {
    // N = 128 (the paper's memory), gamma = 15: w^gamma = 2^-105 (a normal f32 is >= 2^-126),
    // sum = 2^-98, sum^2 = 2^-196 = 0 in f32 -> the gradient is inf / NaN.
    // The forward value is still uniform 1/128.
    let (out, grad) = sharpen_flat_f32(128, 15.0);
    assert!(out.iter().all(|x| (x - 1.0 / 128.0).abs() < 1e-6), "forward {out:?}");
    let bad = grad.iter().filter(|x| !x.is_finite()).count();
    assert_eq!(bad, 0, "{bad} of {} gradient entries not finite, e.g. {:?}", grad.len(), &grad[..4]);
}

#[test]
fn sharpen_flat_weighting_large_gamma_forward_f32() {
    // N = 256, gamma = 21: w^gamma = 2^-168 = 0 in f32 for every slot -> 0 / 0.
    let (out, _) = sharpen_flat_f32(256, 21.0);
    let bad = out.iter().filter(|x| x.is_nan() || (*x - 1.0 / 256.0).abs() >= 1e-6).count();
    assert_eq!(bad, 0, "{bad} of {} entries are not 1/256, e.g. {:?}", out.len(), &out[..4]);
}

#[test]
fn ntm_saturated_head_over_constant_memory_f32() {
    // The same failure reached through the model: the paper's copy NTM in f32 (how train.rs
    // builds it) with the write head's gate pre-activation at 20 (g = sigmoid(20) = 1 in f32)
    // and its gamma pre-activation at 15 (gamma = 1 + softplus(15) ~ 16). Over the constant
    // memory every row is alike, so w^c = w^g = 1/128 everywhere and sharpen divides by
    // sum^2 = (128^(1 - gamma))^2 = 0. Bias layout of a write head (heads.rs table, M = 20,
    // S = 3): key 0..20, beta 20, gate 21, shift 22..25, gamma 25, erase 26..46, add 46..66.
    let varmap = VarMap::new();
    let params = ParamBuilder::new(&varmap, 1, DType::F32, &Device::Cpu);
    let model = Ntm::new(&NtmConfig::default(), &params, 9, 8).unwrap();
    {
        let data = varmap.data().lock().unwrap();
        let bias = data.get("heads.write0.bias").expect("heads.write0.bias");
        let mut b = values(bias.as_tensor());
        assert_eq!(b.len(), 66);
        b[21] = 20.0;
        b[25] = 15.0;
        bias.set(&tensor(&b, &[66], DType::F32)).unwrap();
    }
    let x = tensor(&uniform(&mut rng(5), 2 * 9, 0.0, 1.0), &[1, 2, 9], DType::F32);
    let y = model.forward(&x).unwrap();
    assert_finite("logits", &y);
    let grads = y.sum_all().unwrap().backward().unwrap();
    let data = varmap.data().lock().unwrap();
    for (name, v) in data.iter() {
        assert_finite(&format!("gradient of {name}"), grads.get(v.as_tensor()).unwrap());
    }
}

// ---------------------------------------------------------------- whole NTM from a flat memory

/// The gradients of every parameter of an NTM with its state's memory set by `memory`
/// (`None`: the model's own initial state), 3 steps of the copy-task shapes, f32.
fn ntm_gradients(config: &NtmConfig, memory: Option<f64>) -> Vec<(String, Vec<f64>)> {
    let varmap = VarMap::new();
    let params = ParamBuilder::new(&varmap, 11, DType::F32, &Device::Cpu);
    let model = Ntm::new(config, &params, 9, 8).unwrap();
    let (t, b) = (3, 2);
    let mut r = rng(12);
    let x = tensor(
        &uniform(&mut r, t * b * 9, 0.0, 1.0).iter().map(|v| v.round()).collect::<Vec<_>>(),
        &[t, b, 9],
        DType::F32,
    );
    let targets = tensor(
        &uniform(&mut r, t * b * 8, 0.0, 1.0).iter().map(|v| v.round()).collect::<Vec<_>>(),
        &[t, b, 8],
        DType::F32,
    );
    let mask = tensor(&[1.0; 6], &[t, b], DType::F32);
    let mut state = model.initial_state(b).unwrap();
    if let Some(value) = memory {
        state.memory = state.memory.ones_like().unwrap().affine(0.0, value).unwrap();
    }
    let initial = values(&state.memory);
    let expected = memory.unwrap_or(CONSTANT_INIT) as f32 as f64;
    assert!(initial.iter().all(|&v| v == expected), "initial memory is not {expected}");
    let mut outputs = Vec::new();
    for step in 0..t {
        let (y, next, _) = model.step(&x.get(step).unwrap(), state, false).unwrap();
        assert_finite(&format!("logits at step {step}"), &y);
        assert_finite(&format!("memory after step {step}"), &next.memory);
        outputs.push(y);
        state = next;
    }
    let logits = Tensor::stack(&outputs, 0).unwrap();
    let loss = sequence_loss(&logits, &targets, &mask).unwrap();
    assert_finite("loss", &loss);
    let grads = loss.backward().unwrap();
    let data = varmap.data().lock().unwrap();
    let mut out: Vec<(String, Vec<f64>)> = data
        .iter()
        .map(|(name, v)| {
            let g = grads.get(v.as_tensor()).unwrap_or_else(|| panic!("{name}: no gradient"));
            (name.clone(), values(g))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn ntm_on_constant_memory_has_finite_gradients() {
    // The paper's copy-task NTM (N = 128, M = 20, LSTM 100) on memory.init = constant: every
    // memory row is the same 1e-6 vector, so all similarities are equal; 3 steps in f32.
    let config = NtmConfig::default();
    assert_eq!(config.memory.init, ntm::base::kinds::MemoryInit::Constant);
    for (name, g) in ntm_gradients(&config, None) {
        assert!(g.iter().all(|v| v.is_finite()), "{name}: non-finite gradient");
        assert!(g.iter().any(|v| *v != 0.0), "{name}: all-zero gradient");
    }
}

#[test]
fn ntm_on_zero_memory_has_finite_gradients() {
    // An exactly zero memory (every norm 0): the first write heads' keys meet only zero rows.
    let config = NtmConfig {
        memory: MemoryConfig { slots: 16, width: 6, ..MemoryConfig::default() },
        controller_size: 20,
        ..NtmConfig::default()
    };
    for (name, g) in ntm_gradients(&config, Some(0.0)) {
        assert!(g.iter().all(|v| v.is_finite()), "{name}: non-finite gradient");
    }
}

#[test]
fn paper_models_forward_is_finite_in_f32() {
    // Each paper-size model (built the way the trainer builds it) on a 20-step copy-like input.
    for config in [ModelConfig::Ntm(NtmConfig::default()), ModelConfig::Lstm(Default::default())] {
        let varmap = VarMap::new();
        let model = config.build(&varmap, 3, 9, 8, DType::F32, &Device::Cpu).unwrap();
        let x = tensor(&uniform(&mut rng(4), 20 * 2 * 9, -1.0, 1.0), &[20, 2, 9], DType::F32);
        let y = model.forward(&x).unwrap();
        assert_eq!(y.dims(), &[20, 2, 8]);
        assert_finite(config.kind(), &y);
    }
}

// ---------------------------------------------------------------- loss and metrics

#[test]
fn control_candle_nn_bce_overflows_for_large_logits() {
    // candle-nn's binary_cross_entropy_with_logit takes ln(sigmoid(x)): at x = 1000 with target 1
    // it computes 0 * ln(1 - 1) = 0 * -inf = NaN. This is why loss.rs has its own.
    let logits = tensor(&[1000.0], &[1, 1], DType::F32);
    let targets = tensor(&[1.0], &[1, 1], DType::F32);
    let naive = candle_nn::loss::binary_cross_entropy_with_logit(&logits, &targets).unwrap();
    assert!(!values(&naive)[0].is_finite(), "candle-nn's BCE is finite here now: {:?}", values(&naive));
}

#[test]
fn bce_with_logits_extremes_match_analytic_values() {
    // l(x, y) = max(x, 0) - x y + ln(1 + e^-|x|)            dl/dx = sigmoid(x) - y
    //   x = 1000,  y = 0: 1000 - 0 + ln(1 + e^-1000) = 1000    gradient 1
    //   x = -1000, y = 0: 0 + 0 + ~e^-1000          = 0       gradient 0
    //   x = 1000,  y = 1: 1000 - 1000 + 0           = 0       gradient 0
    //   x = -1000, y = 1: 0 + 1000 + 0              = 1000    gradient -1
    //   x = 0,   y = 0.5: ln 2 = 0.69314718                   gradient 0.5 - 0.5 = 0
    //   x = 2,     y = 1: ln(1 + e^-2) = 0.12692801           gradient sigmoid(2) - 1 = -0.11920292
    //   x = -3,    y = 0: ln(1 + e^-3) = 0.04858735           gradient sigmoid(-3) = 0.04742587
    let x = [1000.0, -1000.0, 1000.0, -1000.0, 0.0, 2.0, -3.0];
    let y = [0.0, 0.0, 1.0, 1.0, 0.5, 1.0, 0.0];
    let expected = [1000.0, 0.0, 0.0, 1000.0, std::f64::consts::LN_2, 0.12692801, 0.04858735];
    let expected_grad = [1.0, 0.0, 0.0, -1.0, 0.0, -0.11920292, 0.04742587];
    for dtype in DTYPES {
        let logits = var(&x, &[7], dtype);
        let targets = tensor(&y, &[7], dtype);
        let l = bce_with_logits(logits.as_tensor(), &targets).unwrap();
        assert_tensor(&format!("bce ({dtype:?})"), &l, &expected, 1e-5);
        let grads = l.sum_all().unwrap().backward().unwrap();
        let g = grads.get(logits.as_tensor()).unwrap();
        assert_tensor(&format!("bce gradient ({dtype:?})"), g, &expected_grad, 1e-6);
    }
}

/// T = 2, B = 2, Y = 2 logits, targets and mask of the hand examples below.
fn loss_example(masked_logits: [f64; 2]) -> (Tensor, Tensor, Tensor) {
    let logits = [0.0, 0.0, masked_logits[0], masked_logits[1], 1000.0, 0.0, -1000.0, 2.0];
    let targets = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    let mask = [1.0, 0.0, 1.0, 1.0];
    (
        tensor(&logits, &[2, 2, 2], DType::F64),
        tensor(&targets, &[2, 2, 2], DType::F64),
        tensor(&mask, &[2, 2], DType::F64),
    )
}

#[test]
fn sequence_loss_respects_the_mask() {
    // step 0, row 0: x (0, 0),       y (1, 0): ln 2 + ln 2                 = 2 ln 2
    // step 0, row 1: masked out (logits (5, -5) here, (-1000, -1000) in the second run)
    // step 1, row 0: x (1000, 0),    y (0, 1): 1000 + ln 2
    // step 1, row 1: x (-1000, 2),   y (0, 1): 0 + ln(1 + e^-2)            = 0.12692801
    // sum / B = (1000 + 3 ln 2 + 0.12692801) / 2 = 501.10318478
    let expected = (1000.0 + 3.0 * 2f64.ln() + (1.0 + (-2f64).exp()).ln()) / 2.0;
    assert!((expected - 501.10318478).abs() < 1e-6);
    for masked in [[5.0, -5.0], [-1000.0, -1000.0]] {
        let (logits, targets, mask) = loss_example(masked);
        let logits = Var::from_tensor(&logits).unwrap();
        let loss = sequence_loss(logits.as_tensor(), &targets, &mask).unwrap();
        assert_tensor(&format!("masked logits {masked:?}"), &loss, &[expected], 1e-9);
        let g = values(loss.backward().unwrap().get(logits.as_tensor()).unwrap());
        assert_eq!(&g[2..4], &[0.0, 0.0], "the masked step gets a gradient");
        // unmasked: (sigmoid(x) - y) / B, e.g. step 0 row 0 channel 0: (0.5 - 1) / 2
        assert!((g[0] + 0.25).abs() < 1e-12, "{g:?}");
    }
}

#[test]
fn bit_errors_counts_thresholded_mismatches() {
    // Prediction = logit > 0 (logit 0 predicts 0), truth = target > 0.5.
    // step 0 row 0: x (1, -1, 2)      -> (1, 0, 1) vs (1, 1, 0): 2 wrong
    // step 0 row 1: x (-3, 0.5, 0)    -> (0, 1, 0) vs (0, 0, 0): 1 wrong
    // step 1 row 0: x (0.2, 0.3, -5)  -> (1, 1, 0) vs (1, 1, 1): 1 wrong, but masked out
    // step 1 row 1: x (1, 1, 1)       -> (1, 1, 1) vs (0, 0, 0): 3 wrong
    // (2 + 1 + 3) / B = 3 wrong bits per sequence.
    let logits = [1.0, -1.0, 2.0, -3.0, 0.5, 0.0, 0.2, 0.3, -5.0, 1.0, 1.0, 1.0];
    let targets = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
    for dtype in DTYPES {
        let l = tensor(&logits, &[2, 2, 3], dtype);
        let t = tensor(&targets, &[2, 2, 3], dtype);
        let masked = bit_errors(&l, &t, &tensor(&[1.0, 1.0, 0.0, 1.0], &[2, 2], dtype)).unwrap();
        assert_eq!(masked, 3.0, "{dtype:?}");
        // unmasked: (2 + 1 + 1 + 3) / 2 = 3.5
        let all = bit_errors(&l, &t, &tensor(&[1.0; 4], &[2, 2], dtype)).unwrap();
        assert_eq!(all, 3.5, "{dtype:?}");
        // perfect predictions: 0
        let perfect = (t.affine(2.0, -1.0).unwrap() * 5.0).unwrap(); // +5 for 1, -5 for 0
        assert_eq!(bit_errors(&perfect, &t, &tensor(&[1.0; 4], &[2, 2], dtype)).unwrap(), 0.0);
    }
}

#[test]
fn softmax_is_stable_for_huge_logits() {
    // The row maximum is subtracted first: (1000, 999, -1000) -> (1, e^-1, 0) / (1 + e^-1).
    for dtype in DTYPES {
        let x = tensor(&[1000.0, 999.0, -1000.0], &[1, 3], dtype);
        let e1 = (-1f64).exp();
        let s = softmax(&x).unwrap();
        assert_tensor(&format!("softmax ({dtype:?})"), &s, &[1.0 / (1.0 + e1), e1 / (1.0 + e1), 0.0], 1e-6);
        assert_eq!(s.sum(D::Minus1).unwrap().dims(), &[1]);
    }
}
