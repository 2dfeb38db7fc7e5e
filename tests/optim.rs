//! The optimisers' one-pass updates and gradient clipping against the same formulas composed
//! from candle operations (the implementation they replaced), on random parameters of several
//! shapes, in f32 and f64. Updates: weights and state agree bit for bit over several steps, at
//! the default momentum and at others (`train.momentum`), without and with weight decay
//! (`train.weight_decay`).
//! Clipping: the norm agrees to summation round-off (candle sums in the tensor's float type,
//! `clipped_gradients` in f64), the gradients exactly where nothing is scaled.

mod common;

use candle_core::{DType, Result, Tensor, Var};
use common::{rng, tensor, uniform, values, CPU};
use ntm::optim::{clipped_gradients, Optimizer, OptimizerKind};

const SHAPES: [&[usize]; 4] = [&[7], &[13, 5], &[3, 4, 6], &[1]];
const DTYPES: [DType; 2] = [DType::F32, DType::F64];
const LR: f64 = 1e-3;

/// One update of `w` with gradient `g` composed from candle operations: the code
/// `Optimizer::step` had before its single-pass loop, for step `t` (from 1), with momentum
/// `mu` (RMSProp's mu, Adam's b1), after decoupled weight decay `decay` (w = w (1 - lr decay)
/// first, as PyTorch's AdamW; skipped at 0).
fn composed_step(
    kind: OptimizerKind,
    (mu, decay): (f64, f64),
    w: &Var,
    state: &mut [Tensor; 2],
    g: &Tensor,
    t: i32,
) -> Result<()> {
    if decay != 0.0 {
        w.set(&(w.as_tensor() * (1.0 - LR * decay))?)?;
    }
    match kind {
        OptimizerKind::Rmsprop => {
            let [square, momentum] = state;
            *square = ((&*square * 0.95)? + (g.sqr()? * (1.0 - 0.95))?)?;
            let scaled = (g / (square.sqrt()? + 1e-8)?)?;
            *momentum = ((&*momentum * mu)? + scaled)?;
            w.set(&(w.as_tensor() - (&*momentum * LR)?)?)
        }
        OptimizerKind::Adam => {
            let [m, v] = state;
            *m = ((&*m * mu)? + (g * (1.0 - mu))?)?;
            *v = ((&*v * 0.999)? + (g.sqr()? * (1.0 - 0.999))?)?;
            let m_hat = (&*m / (1.0 - mu.powi(t)))?;
            let v_hat = (&*v / (1.0 - 0.999f64.powi(t)))?;
            let update = (m_hat / (v_hat.sqrt()? + 1e-8)?)?;
            w.set(&(w.as_tensor() - (update * LR)?)?)
        }
    }
}

/// Random parameters of `SHAPES` in `dtype`, uniform in [-1, 1).
fn parameters(seed: u64, dtype: DType) -> Vec<Var> {
    let mut rng = rng(seed);
    SHAPES
        .iter()
        .map(|&shape| {
            let data = uniform(&mut rng, shape.iter().product(), -1.0, 1.0);
            Var::from_tensor(&tensor(&data, shape, dtype)).unwrap()
        })
        .collect()
}

/// (momentum, weight decay): `None` is the optimiser's default momentum (0.9 for both rules),
/// `Some(mu)` is `with_momentum(mu)`; a decay is `with_weight_decay` (0: not called).
const SETTINGS: [(Option<f64>, f64); 5] =
    [(None, 0.0), (Some(0.5), 0.0), (Some(0.0), 0.0), (None, 0.5), (Some(0.5), 20.0)];

#[test]
fn updates_match_composed_candle_operations() -> Result<()> {
    let kinds = [OptimizerKind::Rmsprop, OptimizerKind::Adam];
    let cases = DTYPES.iter().flat_map(|&d| kinds.iter().flat_map(move |&k| SETTINGS.map(|m| (d, k, m))));
    for (dtype, kind, (momentum, decay)) in cases {
        let (fused, composed) = (parameters(1, dtype), parameters(1, dtype));
        let mut optimizer = Optimizer::new(kind, fused.clone(), LR)?;
        if let Some(mu) = momentum {
            optimizer = optimizer.with_momentum(mu);
        }
        if decay != 0.0 {
            optimizer = optimizer.with_weight_decay(decay);
        }
        let mu = momentum.unwrap_or(0.9);
        let mut state: Vec<[Tensor; 2]> =
            composed.iter().map(|w| Ok([w.zeros_like()?, w.zeros_like()?])).collect::<Result<_>>()?;
        let mut rng = rng(2);
        for t in 1..=5 {
            // The last parameter gets no gradient at step 2.
            let grads: Vec<Option<Tensor>> = fused
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let g = uniform(&mut rng, w.elem_count(), -3.0, 3.0);
                    (i + 1 < fused.len() || t != 2).then(|| tensor(&g, w.dims(), dtype))
                })
                .collect();
            optimizer.step(&grads)?;
            for ((w, s), g) in composed.iter().zip(&mut state).zip(&grads) {
                if let Some(g) = g {
                    composed_step(kind, (mu, decay), w, s, g, t)?;
                }
            }
            let (fused_state, steps) = optimizer.state();
            assert_eq!(steps, t as u64);
            for (i, (a, b)) in fused.iter().zip(&composed).enumerate() {
                let what = format!("{kind:?} momentum {mu} decay {decay} {dtype:?} step {t} parameter {i}");
                assert_eq!(values(a), values(b), "{what}: weights");
                for slot in 0..2 {
                    let (a, b) = (&fused_state[i][slot], &state[i][slot]);
                    assert_eq!(values(a), values(b), "{what}: state {slot}");
                    assert_eq!(a.dtype(), dtype, "{what}: state {slot}");
                }
            }
        }
    }
    Ok(())
}

/// Clipping composed from candle operations: the code `clipped_gradients` had before.
fn composed_clip(grads: &[Tensor], value_clip: f64, norm_clip: Option<f64>) -> Result<(Vec<Tensor>, f64)> {
    let mut clipped: Vec<Tensor> = grads.iter().map(|g| g.clamp(-value_clip, value_clip)).collect::<Result<_>>()?;
    let mut square_sum = 0.0;
    for g in &clipped {
        square_sum += g.sqr()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    }
    let norm = f64::sqrt(square_sum);
    if let Some(max) = norm_clip.filter(|&max| norm > max) {
        clipped = clipped.iter().map(|g| g * (max / norm)).collect::<Result<_>>()?;
    }
    Ok((clipped, norm))
}

#[test]
fn clipping_matches_composed_candle_operations() -> Result<()> {
    for (dtype, tol) in [(DType::F32, 1e-6), (DType::F64, 1e-14)] {
        let vars = parameters(3, dtype);
        // loss = sum_i sum(w_i * c_i) has the gradients c_i: uniform in [-15, 15), so that
        // value clipping at 10 changes most parameters.
        let mut rng = rng(4);
        let c: Vec<Tensor> =
            vars.iter().map(|w| tensor(&uniform(&mut rng, w.elem_count(), -15.0, 15.0), w.dims(), dtype)).collect();
        let mut loss = Tensor::zeros((), dtype, &CPU)?;
        for (w, c) in vars.iter().zip(&c) {
            loss = (loss + (w.as_tensor() * c)?.sum_all()?)?;
        }
        let grads = loss.backward()?;
        // No norm clipping, a limit above the norm, and one below it (the norm is ~90).
        for norm_clip in [None, Some(1e3), Some(20.0)] {
            let (clipped, norm) = clipped_gradients(&vars, &grads, Some(10.0), norm_clip)?;
            let (expected, expected_norm) = composed_clip(&c, 10.0, norm_clip)?;
            let what = format!("{dtype:?} norm clip {norm_clip:?}");
            assert!((norm - expected_norm).abs() <= tol * expected_norm, "{what}: norm {norm} against {expected_norm}");
            for (i, (a, e)) in clipped.iter().zip(&expected).enumerate() {
                let (a, e) = (values(a.as_ref().expect("every parameter has a gradient")), values(e));
                if norm_clip == Some(20.0) {
                    common::assert_close(&format!("{what}: gradient {i}"), &a, &e, tol * 10.0);
                } else {
                    assert_eq!(a, e, "{what}: gradient {i}");
                }
            }
        }
    }
    Ok(())
}
