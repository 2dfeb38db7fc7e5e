//! Gradient clipping: elementwise to +-a value (the paper's (-10, 10)), then by the global L2
//! norm (Collier & Beel's 50), in one read-only pass per gradient and a copy only of the
//! gradients that clipping changes.

use candle_core::backprop::GradStore;
use candle_core::{Device, Result, Tensor, Var};

use crate::base::cpu::{by_dtype, read, Float};

/// The gradients of `vars` from `grads`, clipped first elementwise to +-`value_clip` (the
/// paper's (-10, 10)) and then, if their global L2 norm exceeds `norm_clip`, scaled down to it
/// (Collier & Beel's 50). Returns the gradients and their global norm before norm clipping
/// (after value clipping; NaN if a gradient holds a NaN, and then nothing is scaled).
///
/// One read-only pass per gradient sums the squares of its clamped values; a second pass makes
/// a clipped copy only of a gradient that clipping changes. The others are returned as they
/// are (detached), without a copy.
pub fn clipped_gradients(
    vars: &[Var],
    grads: &GradStore,
    value_clip: Option<f64>,
    norm_clip: Option<f64>,
) -> Result<(Vec<Option<Tensor>>, f64)> {
    match vars.first() {
        None => Ok((Vec::new(), 0.0)),
        Some(v) => by_dtype!(v.dtype(), "gradient clipping", T => {
            clip::<T>(vars, grads, value_clip, norm_clip)
        }),
    }
}

/// `clipped_gradients` for parameters of float type `T`.
fn clip<T: Float>(
    vars: &[Var],
    grads: &GradStore,
    value_clip: Option<f64>,
    norm_clip: Option<f64>,
) -> Result<(Vec<Option<Tensor>>, f64)> {
    let clamp = Clamp::<T>::new(value_clip);
    let mut square_sum = 0.0f64;
    // Each parameter's gradient, if it has one, and whether value clipping changes it.
    let mut found = Vec::with_capacity(vars.len());
    for var in vars {
        let Some(g) = grads.get(var.as_tensor()) else {
            found.push(None);
            continue;
        };
        // Gradients carry the forward graph; detach them so that what is built from them does
        // not keep every past graph alive.
        let g = g.detach().contiguous()?;
        let (squares, changes) = read(&g, |g| clamp.squares(g))?;
        square_sum += squares;
        found.push(Some((g, changes)));
    }
    let norm = square_sum.sqrt();
    let scale = norm_clip.filter(|&max| norm > max).map(|max| max / norm);
    let clipped = found
        .into_iter()
        .map(|entry| match entry {
            Some((g, changes)) if changes || scale.is_some() => {
                let values = read(&g, |d| clamp.scaled(d, scale))?;
                Tensor::from_vec(values, g.shape(), &Device::Cpu).map(Some)
            }
            entry => Ok(entry.map(|(g, _)| g)),
        })
        .collect::<Result<_>>()?;
    Ok((clipped, norm))
}

/// Partial sums that `Clamp::squares` keeps apart, so that its loop can run several elements
/// at once (one running f64 sum would make every addition wait for the one before).
const LANES: usize = 8;

/// Elementwise clipping to [lo, hi] (+-infinity: none).
#[derive(Clone, Copy)]
struct Clamp<T> {
    lo: T,
    hi: T,
}

impl<T: Float> Clamp<T> {
    fn new(clip: Option<f64>) -> Self {
        let (lo, hi) = clip.map_or((f64::NEG_INFINITY, f64::INFINITY), |c| (-c, c));
        Self { lo: T::from_f64(lo), hi: T::from_f64(hi) }
    }

    /// `x` clipped; NaN stays NaN, as in candle's `clamp`. Two separate selects, not an
    /// else-if chain: this form the compiler vectorises.
    fn apply(self, x: T) -> T {
        let x = if x < self.lo { self.lo } else { x };
        if x > self.hi {
            self.hi
        } else {
            x
        }
    }

    /// The sum of the squares of `g` clipped (in f64), and whether clipping changes `g`.
    fn squares(self, g: &[T]) -> (f64, bool) {
        let mut sums = [0.0f64; LANES];
        let mut changes = [false; LANES];
        let (chunks, tail) = g.as_chunks::<LANES>();
        for chunk in chunks {
            for lane in 0..LANES {
                let x = self.apply(chunk[lane]);
                sums[lane] += x.to_f64() * x.to_f64();
                changes[lane] |= (chunk[lane] < self.lo) | (chunk[lane] > self.hi);
            }
        }
        for (lane, &x) in tail.iter().enumerate() {
            let clipped = self.apply(x);
            sums[lane] += clipped.to_f64() * clipped.to_f64();
            changes[lane] |= (x < self.lo) | (x > self.hi);
        }
        (sums.iter().sum(), changes.contains(&true))
    }

    /// `g` clipped and then, if `scale` is given, multiplied by it, as a new buffer.
    fn scaled(self, g: &[T], scale: Option<f64>) -> Vec<T> {
        match scale.map(T::from_f64) {
            Some(scale) => g.iter().map(|&x| self.apply(x) * scale).collect(),
            None => g.iter().map(|&x| self.apply(x)).collect(),
        }
    }
}
