//! What every fused sequence op of the baselines shares with candle: three inputs, one
//! output, and a tape that the forward keeps for the backward.
//!
//! A kernel ([`Taped`]) gives its sizes, its forward over the inputs' data (the tape and the
//! output) and its backward (the three inputs' gradients from the tape and the output's
//! gradient); [`apply`] makes it a candle custom op, once for every kernel: the shapes
//! checked, the forward run and its tape kept in the op ([`SharedTape`], see `tape.rs` for why
//! the tape stays beside the graph), the backward given the inputs' and the output gradient's
//! data where they are (no copies), and its gradients handed back to candle shaped like the
//! inputs.
//!
//! The LSTM, RNN and GRU layers, the DSGU layer and the attention baseline's causal attention
//! are such kernels; the NTM and the DNC keep their own ops (their tapes have named views and
//! their callers read them).

use std::marker::PhantomData;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use crate::base::cpu::{by_dtype, read, slice};
use crate::fused::kernel::Real;
use crate::fused::tape::SharedTape;

/// A fused kernel over three inputs with a tape (see the module docs).
pub(crate) trait Taped: Send + Sync + 'static {
    /// The op's name in candle's errors.
    const NAME: &'static str;
    /// The sizes of one call, read off the inputs' shapes.
    type Dims: Copy;

    /// The sizes, or an error naming the shapes that do not fit.
    fn dims(a: &Layout, b: &Layout, c: &Layout) -> Result<Self::Dims>;

    /// The output's shape.
    fn output_shape(d: Self::Dims) -> Shape;

    /// The forward over the inputs' data: `(tape, output)`.
    fn forward<T: Real>(a: &[T], b: &[T], c: &[T], d: Self::Dims) -> (Vec<T>, Vec<T>);

    /// The gradients of `a`, `b` and `c` from the forward's `tape` and `grad`, the gradient of
    /// the output.
    fn backward<T: Real>(tape: &[T], grad: &[T], a: &[T], b: &[T], c: &[T], d: Self::Dims) -> [Vec<T>; 3];
}

/// Kernel `K` applied to `a`, `b`, `c` (CPU tensors, f32 or f64, of one type): its output,
/// differentiable in all three.
pub(crate) fn apply<K: Taped>(a: &Tensor, b: &Tensor, c: &Tensor) -> Result<Tensor> {
    by_dtype!(a.dtype(), K::NAME, T => {
        let op = TapedOp::<K, T> { tape: SharedTape::default(), kernel: PhantomData };
        a.apply_op3(b, c, op)
    })
}

/// The first `width` values of every `row`-wide row of `tape`: `[rows, width]` (a recurrence's
/// hidden states, kept first in each of its tape's rows).
pub(crate) fn leading_columns<T: Copy>(tape: &[T], row: usize, width: usize) -> Vec<T> {
    tape.chunks_exact(row).flat_map(|r| &r[..width]).copied().collect()
}

/// Kernel `K` as a candle op in the float type `T`, holding the tape of its last forward.
struct TapedOp<K, T> {
    tape: SharedTape<Vec<T>>,
    kernel: PhantomData<K>,
}

impl<K: Taped, T: Real> CustomOp3 for TapedOp<K, T> {
    fn name(&self) -> &'static str {
        K::NAME
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
        let d = K::dims(l1, l2, l3)?;
        let (tape, output) = K::forward::<T>(slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?, d);
        self.tape.keep(tape)?;
        Ok((T::to_cpu_storage_owned(output), K::output_shape(d)))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = K::dims(a.layout(), b.layout(), c.layout())?;
        // One `?` per read below: the output's gradient, the three inputs, the tape.
        let grads = read::<T, _>(grad_res, |grad| {
            read::<T, _>(a, |x| {
                read::<T, _>(b, |y| read::<T, _>(c, |z| self.tape.read(|tape| K::backward(tape, grad, x, y, z, d))))
            })
        })?????;
        gradients3(grads, [a, b, c])
    }
}

/// The gradients of a three-input op as candle wants them back: each `Vec` shaped like the
/// input it belongs to, on that input's device.
fn gradients3<T: Real>(
    grads: [Vec<T>; 3],
    inputs: [&Tensor; 3],
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let [g1, g2, g3] = grads;
    let grad = |g: Vec<T>, like: &Tensor| Tensor::from_vec(g, like.shape(), like.device()).map(Some);
    Ok((grad(g1, inputs[0])?, grad(g2, inputs[1])?, grad(g3, inputs[2])?))
}
