//! The data of f32 and f64 tensors on the CPU, as plain slices: what the fused kernels
//! ([`crate::fused`]) and the optimiser's in-place update ([`crate::optim`]) share.
//!
//! Both run hand-written loops over a tensor's buffer instead of composed candle operations;
//! this module gives them the buffer (read-only or writable, checked to be contiguous), the
//! float types they run in (`Float`) and the dispatch from a tensor's dtype to one of them
//! (`by_dtype!`).

use std::ops::Range;

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, DType, Layout, Result, Storage, Tensor, WithDType};

/// The float types of the CPU buffers (f32 for training, f64 for gradient checks).
pub(crate) trait Float: WithDType + std::ops::Neg<Output = Self> {
    fn sqrt(self) -> Self;
    /// The data of a CPU buffer of this type, writable; an error for any other type.
    fn slice_mut(storage: &mut CpuStorage) -> Result<&mut [Self]>;
}

macro_rules! float {
    ($t:ty, $variant:ident) => {
        impl Float for $t {
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn slice_mut(storage: &mut CpuStorage) -> Result<&mut [Self]> {
                match storage {
                    CpuStorage::$variant(data) => Ok(data),
                    other => bail!("a {:?} buffer where {:?} was expected", other.dtype(), DType::$variant),
                }
            }
        }
    };
}
float!(f32, F32);
float!(f64, F64);

/// Evaluates `$body` with the type `$T` standing for f32 or f64, as `$dtype` says; any other
/// dtype is an error naming `$what` (the op or the job).
macro_rules! by_dtype {
    ($dtype:expr, $what:expr, $T:ident => $body:expr) => {
        match $dtype {
            candle_core::DType::F32 => {
                type $T = f32;
                $body
            }
            candle_core::DType::F64 => {
                type $T = f64;
                $body
            }
            dtype => candle_core::bail!("{}: f32 or f64 only, not {dtype:?}", $what),
        }
    };
}
pub(crate) use by_dtype;

/// Where a contiguous layout's elements are in its storage.
pub(crate) fn range(layout: &Layout) -> Result<Range<usize>> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(start..end),
        None => bail!("a hand-written CPU loop needs contiguous tensors"),
    }
}

/// The contiguous data of a CPU storage under `layout`.
pub(crate) fn slice<'a, T: Float>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [T]> {
    Ok(&T::cpu_storage_as_slice(storage)?[range(layout)?])
}

/// The contiguous data of a CPU storage under `layout`, writable.
pub(crate) fn slice_mut<'a, T: Float>(storage: &'a mut CpuStorage, layout: &Layout) -> Result<&'a mut [T]> {
    Ok(&mut T::slice_mut(storage)?[range(layout)?])
}

/// `f` applied to the data of CPU tensor `t` (made contiguous if it is not).
pub(crate) fn read<T: Float, R>(t: &Tensor, f: impl FnOnce(&[T]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(s) = &*storage else { bail!("a hand-written CPU loop needs CPU tensors") };
    Ok(f(slice(s, layout)?))
}

/// A copy of the data of CPU tensor `t`, made contiguous.
pub(crate) fn host<T: Float>(t: &Tensor) -> Result<Vec<T>> {
    read(t, |d: &[T]| d.to_vec())
}
