//! The NTM's erase-then-add memory write (eqs. 3-4, [`crate::memory::write`]) as one custom
//! operation with a hand-derived backward pass.
//!
//! The composed write builds and saves five `[B, N, M]` intermediates per head and step; this
//! saves none (the backward needs only the inputs). For output gradient G `[B, N, M]`:
//! ```text
//! M'_in = M_in (1 - w_i e_n) + w_i a_n
//! dM_in = G_in (1 - w_i e_n)        dw_i = sum_n G_in (a_n - M_in e_n)
//! de_n  = -sum_i G_in M_in w_i       da_n = sum_i G_in w_i
//! ```
//! (here `n` runs over the slot width M and `i` over the N slots).

use candle_core::{
    backend::BackendStorage, CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};

use crate::fused::kernel::{gradients3, host, slice, Real};

/// The fused equivalent of [`crate::memory::write`]: `memory` `[B, N, M]`, `weighting`
/// `[B, N]`, `erase`, `add` `[B, M]` -> the new memory `[B, N, M]`.
pub fn write(memory: &Tensor, weighting: &Tensor, erase: &Tensor, add: &Tensor) -> Result<Tensor> {
    let erase_add = Tensor::cat(&[erase, add], 1)?; // [B, 2M]
    memory
        .contiguous()?
        .apply_op3(&weighting.contiguous()?, &erase_add, FusedWrite)
}

struct FusedWrite;

#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    slots: usize,
    width: usize,
}

fn dims(memory: &Layout, weighting: &Layout, erase_add: &Layout) -> Result<Dims> {
    let (batch, slots, width) = memory.shape().dims3()?;
    if weighting.shape().dims() != [batch, slots] || erase_add.shape().dims() != [batch, 2 * width]
    {
        candle_core::bail!(
            "fused write: shapes memory {:?}, weighting {:?}, erase and add {:?} do not fit",
            memory.shape(),
            weighting.shape(),
            erase_add.shape()
        );
    }
    Ok(Dims {
        batch,
        slots,
        width,
    })
}

fn forward<T: Real>(mem: &[T], w: &[T], ea: &[T], d: Dims) -> Vec<T> {
    let Dims {
        batch,
        slots: n,
        width: m,
    } = d;
    let one = T::from_f64(1.0);
    let mut out = vec![T::from_f64(0.0); batch * n * m];
    for b in 0..batch {
        let (erase, add) = (&ea[b * 2 * m..][..m], &ea[b * 2 * m + m..][..m]);
        for i in 0..n {
            let wi = w[b * n + i];
            let at = (b * n + i) * m;
            for c in 0..m {
                out[at + c] = mem[at + c] * (one - wi * erase[c]) + wi * add[c];
            }
        }
    }
    out
}

/// Gradients of memory, weighting and `[erase, add]` from the output gradient `g`.
fn backward<T: Real>(mem: &[T], w: &[T], ea: &[T], g: &[T], d: Dims) -> [Vec<T>; 3] {
    let Dims {
        batch,
        slots: n,
        width: m,
    } = d;
    let zero = T::from_f64(0.0);
    let one = T::from_f64(1.0);
    let (mut dmem, mut dw, mut dea) = (
        vec![zero; batch * n * m],
        vec![zero; batch * n],
        vec![zero; batch * 2 * m],
    );
    for b in 0..batch {
        let (erase, add) = (&ea[b * 2 * m..][..m], &ea[b * 2 * m + m..][..m]);
        let (derase, dadd) = dea[b * 2 * m..][..2 * m].split_at_mut(m);
        for i in 0..n {
            let wi = w[b * n + i];
            let at = (b * n + i) * m;
            let mut dwi = zero;
            for c in 0..m {
                let (gc, mc) = (g[at + c], mem[at + c]);
                dmem[at + c] = gc * (one - wi * erase[c]);
                dwi += gc * (add[c] - mc * erase[c]);
                derase[c] -= gc * mc * wi;
                dadd[c] += gc * wi;
            }
            dw[b * n + i] = dwi;
        }
    }
    [dmem, dw, dea]
}

impl FusedWrite {
    fn bwd_typed<T: Real>(
        memory: &Tensor,
        weighting: &Tensor,
        erase_add: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = dims(memory.layout(), weighting.layout(), erase_add.layout())?;
        let (mem, w, ea, g) = (
            host::<T>(memory)?,
            host::<T>(weighting)?,
            host::<T>(erase_add)?,
            host::<T>(grad)?,
        );
        let [dmem, dw, dea] = backward(&mem, &w, &ea, &g, d);
        gradients3([dmem, dw, dea], [memory, weighting, erase_add])
    }
}

impl CustomOp3 for FusedWrite {
    fn name(&self) -> &'static str {
        "fused-memory-write"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = dims(l1, l2, l3)?;
        let shape = Shape::from((d.batch, d.slots, d.width));
        let storage = match s1.dtype() {
            DType::F32 => f32::to_cpu_storage_owned(forward::<f32>(
                slice(s1, l1)?,
                slice(s2, l2)?,
                slice(s3, l3)?,
                d,
            )),
            DType::F64 => f64::to_cpu_storage_owned(forward::<f64>(
                slice(s1, l1)?,
                slice(s2, l2)?,
                slice(s3, l3)?,
                d,
            )),
            dtype => candle_core::bail!("fused write: unsupported dtype {dtype:?}"),
        };
        Ok((storage, shape))
    }

    fn bwd(
        &self,
        memory: &Tensor,
        weighting: &Tensor,
        erase_add: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        match memory.dtype() {
            DType::F32 => Self::bwd_typed::<f32>(memory, weighting, erase_add, grad),
            DType::F64 => Self::bwd_typed::<f64>(memory, weighting, erase_add, grad),
            dtype => candle_core::bail!("fused write: unsupported dtype {dtype:?}"),
        }
    }
}
