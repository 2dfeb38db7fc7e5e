//! Helpers shared by the integration tests: building small tensors from literals, comparing
//! against expected values with a message that says where they differ, seeded randomness, and
//! the finite-difference gradient check.
#![allow(dead_code)]

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::VarMap;
use ntm::models::SequenceModel;
use ntm::optim::loss::sequence_loss;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const CPU: Device = Device::Cpu;

/// A tensor of `shape` from row-major `values`, converted to `dtype`.
pub fn tensor(values: &[f64], shape: &[usize], dtype: DType) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape, &CPU).and_then(|t| t.to_dtype(dtype)).expect("tensor from literal")
}

/// An f64 tensor of `shape` from row-major `values`.
pub fn t64(values: &[f64], shape: &[usize]) -> Tensor {
    tensor(values, shape, DType::F64)
}

/// Every entry of `t` as f64, row-major.
pub fn values(t: &Tensor) -> Vec<f64> {
    t.flatten_all().and_then(|t| t.to_dtype(DType::F64)).and_then(|t| t.to_vec1::<f64>()).expect("tensor to values")
}

/// Asserts `|actual[i] - expected[i]| <= tol` everywhere, naming `what` and the first index
/// that differs.
pub fn assert_close(what: &str, actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: {} values, expected {}", actual.len(), expected.len());
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol && a.is_finite(),
            "{what}: entry {i} is {a}, expected {e} (tolerance {tol})\n actual   {actual:?}\n expected {expected:?}"
        );
    }
}

/// Asserts the tensor equals `expected` (row-major) within `tol`.
pub fn assert_tensor(what: &str, actual: &Tensor, expected: &[f64], tol: f64) {
    assert_close(what, &values(actual), expected, tol);
}

/// Asserts every entry of `t` is finite.
pub fn assert_finite(what: &str, t: &Tensor) {
    let v = values(t);
    let bad = v.iter().filter(|x| !x.is_finite()).count();
    if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        let head: Vec<f64> = v.iter().take(8).copied().collect();
        panic!("{what}: {bad} of {} entries not finite, the first at {i}: {x}; first entries {head:?}", v.len());
    }
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `count` values uniform in `[lo, hi)`.
pub fn uniform(rng: &mut ChaCha8Rng, count: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..count).map(|_| rng.random_range(lo..hi)).collect()
}

/// `rows` random probability vectors of length `n` (entries in (0.05, 1) then normalised),
/// row-major: away from 0 so powers and logs stay smooth.
pub fn distributions(rng: &mut ChaCha8Rng, rows: usize, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows * n);
    for _ in 0..rows {
        let row = uniform(rng, n, 0.05, 1.0);
        let sum: f64 = row.iter().sum();
        out.extend(row.iter().map(|x| x / sum));
    }
    out
}

/// Finite-difference step of the gradient checks (central differences in f64: truncation error
/// ~ eps^2 |f'''| ~ 1e-12, round-off ~ 1e-16 |f| / eps ~ 1e-10).
pub const FD_EPS: f64 = 1e-6;
/// Largest relative error accepted between autograd and finite differences.
pub const FD_TOLERANCE: f64 = 1e-4;

/// The relative error of the gradient checks:
/// `|analytic - numeric| / max(1e-8, |analytic| + |numeric|)`.
/// The 1e-8 floor keeps a pair of (near-)zero gradients from counting as a mismatch.
pub fn relative_error(analytic: f64, numeric: f64) -> f64 {
    (analytic - numeric).abs() / (analytic.abs() + numeric.abs()).max(1e-8)
}

/// Central difference `(f(x + eps) - f(x - eps)) / (2 eps)` of a scalar loss with respect to
/// entry `index` of input `which`, the other inputs held fixed.
fn numeric_derivative(
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    projection: &Tensor,
    inputs: &[(String, Vec<f64>, Vec<usize>)],
    which: usize,
    index: usize,
) -> f64 {
    let loss_at = |delta: f64| -> f64 {
        let tensors: Vec<Tensor> = inputs
            .iter()
            .enumerate()
            .map(|(k, (_, v, shape))| {
                let mut v = v.clone();
                if k == which {
                    v[index] += delta;
                }
                t64(&v, shape)
            })
            .collect();
        let out = f(&tensors).expect("forward pass");
        (out * projection).and_then(|t| t.sum_all()).and_then(|t| t.to_scalar::<f64>()).expect("projected loss")
    };
    (loss_at(FD_EPS) - loss_at(-FD_EPS)) / (2.0 * FD_EPS)
}

/// Checks candle's autograd gradient of `f` against central finite differences, for every
/// entry of every input. `f` maps the inputs (f64) to any tensor; it is reduced to the scalar
/// `L = sum(f(inputs) * P)` with a fixed random projection `P` (seeded), so every output entry
/// matters with a different weight. Panics naming the input and entry of the worst mismatch.
/// Returns the largest relative error seen.
pub fn check_gradients(
    name: &str,
    inputs: &[(&str, Tensor)],
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    seed: u64,
) -> f64 {
    let owned: Vec<(String, Vec<f64>, Vec<usize>)> =
        inputs.iter().map(|(n, t)| (n.to_string(), values(t), t.dims().to_vec())).collect();
    let vars: Vec<Var> = owned.iter().map(|(_, v, shape)| Var::from_tensor(&t64(v, shape)).expect("var")).collect();
    let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let out = f(&tensors).expect("forward pass");
    let mut r = rng(seed);
    let projection = t64(&uniform(&mut r, out.elem_count(), -1.0, 1.0), out.dims());
    let loss = (&out * &projection).and_then(|t| t.sum_all()).expect("projected loss");
    let grads = loss.backward().expect("backward pass");
    let mut worst = 0.0f64;
    for (which, ((input, v, _), var)) in owned.iter().zip(&vars).enumerate() {
        let analytic = match grads.get(var.as_tensor()) {
            Some(g) => values(g),
            None => panic!("{name}: autograd gave no gradient for input {input}"),
        };
        for (index, &analytic) in analytic.iter().enumerate().take(v.len()) {
            let numeric = numeric_derivative(&f, &projection, &owned, which, index);
            let err = relative_error(analytic, numeric);
            assert!(
                err < FD_TOLERANCE,
                "{name}: d L / d {input}[{index}]: autograd {analytic} vs finite differences {numeric} (relative error {err:.2e})"
            );
            worst = worst.max(err);
        }
    }
    worst
}

/// NTM configurations that between them cover both controllers, several controller layers,
/// several read and write heads, wider shifts (also wrapping onto each other), every memory
/// initialisation, and slot counts from 2 to over 16.
pub fn ntm_cases() -> Vec<ntm::models::ntm::NtmConfig> {
    use ntm::base::kinds::{ControllerKind, MemoryInit};
    use ntm::models::ntm::{MemoryConfig, NtmConfig};
    vec![
        NtmConfig {
            controller_size: 7,
            memory: MemoryConfig { slots: 9, width: 4, init: MemoryInit::Learned },
            ..NtmConfig::default()
        },
        NtmConfig {
            controller: ControllerKind::FeedForward,
            controller_size: 6,
            read_heads: 2,
            write_heads: 2,
            shifts: vec![-2, -1, 0, 1, 2],
            memory: MemoryConfig { slots: 8, width: 3, init: MemoryInit::Constant },
            ..NtmConfig::default()
        },
        NtmConfig {
            controller_size: 5,
            controller_layers: 2,
            read_heads: 2,
            write_heads: 3,
            shifts: vec![0, 1],
            // Over 16 slots: the kernel's blocked loops run whole blocks and a remainder.
            memory: MemoryConfig { slots: 37, width: 5, init: MemoryInit::Random },
            ..NtmConfig::default()
        },
        NtmConfig {
            controller: ControllerKind::FeedForward,
            controller_size: 4,
            controller_layers: 2,
            // Over 3 slots, shifts -2 and +1 (and +2 and -1) land on the same slot.
            shifts: vec![-2, -1, 0, 1, 2],
            memory: MemoryConfig { slots: 3, width: 2, init: MemoryInit::Learned },
            ..NtmConfig::default()
        },
        NtmConfig {
            controller_size: 3,
            write_heads: 2,
            memory: MemoryConfig { slots: 2, width: 3, init: MemoryInit::Constant },
            ..NtmConfig::default()
        },
    ]
}

/// DNC configurations that between them cover one and several read heads, one and two
/// controller layers, every read mode alone and in other orders than the paper's (and so a
/// DNC with and without its link matrix), and slot counts from 2 to over 16.
pub fn dnc_cases() -> Vec<ntm::models::dnc::DncConfig> {
    use ntm::base::kinds::ReadMode::{Backward, Content, Forward};
    use ntm::models::dnc::{DncConfig, DncMemoryConfig};
    vec![
        DncConfig { controller_size: 7, memory: DncMemoryConfig { slots: 5, width: 4 }, ..DncConfig::default() },
        DncConfig {
            controller_size: 5,
            controller_layers: 2,
            read_heads: 2,
            read_modes: vec![Forward, Content, Backward],
            memory: DncMemoryConfig { slots: 9, width: 3 },
            ..DncConfig::default()
        },
        DncConfig {
            controller_size: 6,
            read_heads: 3,
            // Over 16 slots: the content weighting's blocked loops run whole blocks and a
            // remainder.
            memory: DncMemoryConfig { slots: 17, width: 5 },
            ..DncConfig::default()
        },
        DncConfig {
            controller_size: 4,
            read_heads: 2,
            read_modes: vec![Content],
            memory: DncMemoryConfig { slots: 6, width: 2 },
            ..DncConfig::default()
        },
        DncConfig {
            controller_size: 3,
            read_modes: vec![Backward, Forward],
            memory: DncMemoryConfig { slots: 2, width: 3 },
            ..DncConfig::default()
        },
    ]
}

// ---------------------------------------------------------------- whole models

/// The floor of the relative error for whole models (see `tests/gradients.rs`'s module doc).
pub const MODEL_FLOOR: f64 = 1e-4;

/// Every parameter of `varmap`, sorted by name.
pub fn parameters(varmap: &VarMap) -> Vec<(String, Var)> {
    let data = varmap.data().lock().unwrap();
    let mut vars: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Sets entry `index` of `var` to `value`.
pub fn set_entry(var: &Var, index: usize, value: f64) {
    let mut v = values(var.as_tensor());
    v[index] = value;
    var.set(&t64(&v, var.dims())).unwrap();
}

/// Gradient check of a sequence model's parameters. The scalar is the crate's masked
/// `sequence_loss` on random targets and mask, plus a fixed random projection of all the
/// logits (so the masked-out steps and every output channel matter too):
///   L = sequence_loss(y, targets, mask) + sum(y * P).
/// Parameters with at most `full` entries are checked at every entry, bigger ones at `sample`
/// random entries (`full = usize::MAX`: every entry of every parameter). Every parameter must get a gradient (none is disconnected).
pub fn check_model(
    name: &str,
    model: &dyn SequenceModel,
    varmap: &VarMap,
    (inputs, outputs): (usize, usize),
    seed: u64,
    (full, sample): (usize, usize),
) {
    let (t, b) = (4, 2);
    let mut r = rng(seed);
    let x = t64(&uniform(&mut r, t * b * inputs, -1.0, 1.0), &[t, b, inputs]);
    let targets: Vec<f64> = (0..t * b * outputs).map(|_| if r.random_bool(0.5) { 1.0 } else { 0.0 }).collect();
    let targets = t64(&targets, &[t, b, outputs]);
    // mask: the first step off for row 0, everything else on, one more random entry off
    let mut mask = vec![1.0; t * b];
    mask[0] = 0.0;
    mask[r.random_range(1..t * b)] = 0.0;
    let mask = t64(&mask, &[t, b]);
    let projection = t64(&uniform(&mut r, t * b * outputs, -1.0, 1.0), &[t, b, outputs]);
    let loss = |model: &dyn SequenceModel| -> Result<Tensor> {
        let y = model.forward(&x)?; // [T, B, Y]
        sequence_loss(&y, &targets, &mask)? + (y * &projection)?.sum_all()?
    };
    let l = loss(model).unwrap();
    let grads = l.backward().unwrap();
    let mut checked = 0;
    let mut worst = (0.0f64, String::new());
    for (pname, var) in parameters(varmap) {
        let analytic = match grads.get(var.as_tensor()) {
            Some(g) => values(g),
            None => panic!("{name}: parameter {pname} gets no gradient"),
        };
        assert!(analytic.iter().any(|g| *g != 0.0), "{name}: parameter {pname} has an all-zero gradient");
        let count = analytic.len();
        let entries: Vec<usize> =
            if count <= full { (0..count).collect() } else { (0..sample).map(|_| r.random_range(0..count)).collect() };
        let original = values(var.as_tensor());
        for index in entries {
            set_entry(&var, index, original[index] + FD_EPS);
            let plus = loss(model).unwrap().to_scalar::<f64>().unwrap();
            set_entry(&var, index, original[index] - FD_EPS);
            let minus = loss(model).unwrap().to_scalar::<f64>().unwrap();
            set_entry(&var, index, original[index]);
            let numeric = (plus - minus) / (2.0 * FD_EPS);
            let err = (analytic[index] - numeric).abs() / (analytic[index].abs() + numeric.abs()).max(MODEL_FLOOR);
            assert!(
                err < FD_TOLERANCE,
                "{name}: d L / d {pname}[{index}]: autograd {} vs finite differences {numeric} (relative error {err:.2e})",
                analytic[index]
            );
            checked += 1;
            if err > worst.0 {
                worst = (err, format!("{pname}[{index}]"));
            }
        }
    }
    assert!(checked > 50, "{name}: only {checked} entries checked");
    println!("{name}: {checked} entries checked, worst relative error {:.2e} at {}", worst.0, worst.1);
}
