//! What the fused kernels share: the float types they run in and access to CPU buffers.

use candle_core::{CpuStorage, Layout, Result, Storage, Tensor, WithDType};
use gemm::Parallelism;

/// The float types the kernels run in (f32 for training, f64 for gradient checks).
pub(crate) trait Real: WithDType + std::ops::Neg<Output = Self> {
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    /// tanh; in f32 computed as sign(x) (1 - 2 / (e^2|x| + 1)), within ~1.2e-7 of tanh
    /// everywhere (absolute), about three times faster than the C library's tanhf, which
    /// was 16% of a training step.
    fn tanh(self) -> Self;
}

macro_rules! real {
    ($t:ty, $tanh:expr) => {
        impl Real for $t {
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn tanh(self) -> Self {
                $tanh(self)
            }
        }
    };
}
real!(f32, |x: f32| {
    let e = (2.0 * x.abs()).exp(); // inf past |x| ~ 44: then exactly 1
    (1.0 - 2.0 / (e + 1.0)).copysign(x)
});
real!(f64, f64::tanh);

/// The contiguous data of a CPU storage under `layout`.
pub(crate) fn slice<'a, T: Real>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&T::cpu_storage_as_slice(storage)?[start..end]),
        None => candle_core::bail!("fused kernel: inputs must be contiguous"),
    }
}

/// The data of a CPU tensor, made contiguous, as a `Vec` (a copy).
pub(crate) fn host<T: Real>(t: &Tensor) -> Result<Vec<T>> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => Ok(slice::<T>(s, layout)?.to_vec()),
        _ => candle_core::bail!("fused kernel: CPU only"),
    }
}

/// The gradients of a three-input op as candle wants them back: each `Vec` shaped like the
/// input it belongs to, on that input's device.
pub(crate) fn gradients3<T: Real>(
    grads: [Vec<T>; 3],
    inputs: [&Tensor; 3],
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let [g1, g2, g3] = grads;
    let grad = |g: Vec<T>, like: &Tensor| Tensor::from_vec(g, like.shape(), like.device()).map(Some);
    Ok((grad(g1, inputs[0])?, grad(g2, inputs[1])?, grad(g3, inputs[2])?))
}

/// The logistic function 1 / (1 + e^-x).
#[inline]
pub(crate) fn sigmoid<T: Real>(x: T) -> T {
    let one = T::from_f64(1.0);
    one / (one + (-x).exp())
}

/// Softmax of `z` in place (maximum subtracted).
pub(crate) fn softmax<T: Real>(z: &mut [T]) {
    let max = z.iter().copied().fold(z[0], |m, x| if x > m { x } else { m });
    let mut sum = T::from_f64(0.0);
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// The dot product of `a` and `b` (equal lengths), with eight independent partial sums so
/// the compiler can vectorise it.
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let zero = T::from_f64(0.0);
    let mut partial = [zero; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca.remainder().iter().zip(cb.remainder()).fold(zero, |s, (&x, &y)| s + x * y);
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            partial[k] += x[k] * y[k];
        }
    }
    partial.iter().fold(tail, |s, &p| s + p)
}

/// `dst = (accumulate ? dst : 0) + lhs rhs` for `lhs [m, k]` with strides `(row, column)`
/// `lhs_strides`, `rhs [k, n]` likewise and `dst [m, n]` contiguous, through the `gemm` crate
/// on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<T: Real>(
    dst: &mut [T],
    accumulate: bool,
    lhs: &[T],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[T],
    (rhs_rs, rhs_cs): (usize, usize),
    (m, n, k): (usize, usize, usize),
) {
    assert!(dst.len() >= m * n);
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(n == 0 || k == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // SAFETY: the asserts above keep every index gemm touches inside the three slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            T::from_f64(1.0),
            T::from_f64(1.0),
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}
