//! What the fused kernels share: the float types they run in and access to CPU buffers.

use candle_core::{CpuStorage, Layout, Result, Storage, Tensor, WithDType};

/// The float types the kernels run in (f32 for training, f64 for gradient checks).
pub(crate) trait Real: WithDType + std::ops::Neg<Output = Self> {
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn tanh(self) -> Self;
}

macro_rules! real {
    ($t:ty) => {
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
                <$t>::tanh(self)
            }
        }
    };
}
real!(f32);
real!(f64);

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
