//! The whole NTM over a whole sequence as one custom operation with a hand-derived backward
//! pass (backpropagation through time), computing what stepping [`crate::models::ntm::Ntm`] with the
//! reference engine computes.
//!
//! The composed step is some 200 graph nodes (controller, heads, addressing, write, read);
//! here a sequence is one node, `parameters [P], inputs [T, B, X] -> features [T, B, C + R M]`,
//! where the features of step t are `[h_t, r_t^1 .. r_t^R]`: the controller's output and the
//! read vectors, which the model's output layer turns into logits with one matmul over all
//! steps. Per step and batch row (paper section 3, figure 1):
//! ```text
//! controller  layer l: z = [input_l, h^l_{t-1}] W_l + b_l   (input_0 = [x_t, r_{t-1}], input_l = h^{l-1}_t)
//!             LSTM: i, f, g, o = gates(z); c = f c_{t-1} + i g; h = o tanh(c)
//!             feed-forward: h = tanh(z) (no recurrent input)
//! heads       raw_k = h_t W_k + b_k, clipped and activated as in [`crate::pieces::heads::Head::params`]
//! write       each write head addresses M_{t-1} from its w_{t-1}; M_t = erase all, add all
//! read        each read head addresses M_t from its w_{t-1}; r_t = w^T M_t
//! ```
//! The forward (`forward.rs`) keeps a tape (`tape.rs`) of every intermediate (the memories,
//! `[T + 1, B, M, N]` stored by columns, are the largest part) in a `SharedTape`, read by the
//! caller for traces and by the op for its backward (`backward.rs`), which runs the steps in
//! reverse with the per-row backward passes of `fused/addressing.rs`, `fused/memory.rs` and the
//! LSTM cell, and forms every weight gradient with one matmul over all T x B rows at the end.
//! With more than one thread (`crate::base::pool::kernel_threads`) both run in groups of
//! batch rows, one per thread through every step (`groups.rs`), with the same bits as on one.
//! `sizes.rs` says where each parameter sits in the packed vector (`NtmSizes::packing`).
//!
//! The parameters come packed into one flat vector in the order of
//! [`NtmSizes::parameter_shapes`].

mod backward;
mod forward;
mod groups;
mod sizes;
mod tape;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use crate::base::cpu::{by_dtype, host, slice};
use crate::base::kinds::HeadKind;
use crate::fused::addressing::{SLOT_CONTENT, SLOT_WEIGHTING};
use crate::fused::kernel::Real;
use crate::fused::tape::{Keep, SharedTape};
use crate::pieces::trace::{HeadStep, HeadTrace};

use groups::{backward_grouped, forward_grouped, Grouped};
pub use sizes::{NtmSizes, INITIAL_MEMORY};

/// Floats a head's addressing keeps per slot, row and step on the tape (what the memory
/// estimates count): the weighting, content weighting, cosines, row norms, gated, shifted and
/// log shifted weightings.
pub const ADDRESSING_SLOTS: usize = crate::fused::addressing::SLOTS;
use sizes::Packing;
use tape::Tape;

/// The op: `sizes`, where each parameter sits (`packing`), and where the forward keeps its
/// tape, in the parameters' float type `T`.
struct NtmSequence<T: Real> {
    sizes: NtmSizes,
    packing: Packing,
    tape: SharedTape<Grouped<T>>,
}

impl<T: Real> NtmSequence<T> {
    /// `(T, B)` after checking the shapes.
    fn dims(&self, params: &Layout, inputs: &Layout) -> Result<(usize, usize)> {
        let (time, batch, x) = inputs.shape().dims3()?;
        let total = self.packing.total;
        if x != self.sizes.inputs || params.shape().elem_count() != total || time == 0 || batch == 0 {
            candle_core::bail!(
                "fused ntm: parameters {:?} and inputs {:?} do not fit (need {total} parameters, [T >= 1, B >= 1, {}] inputs)",
                params.shape(),
                inputs.shape(),
                self.sizes.inputs
            );
        }
        Ok((time, batch))
    }
}

impl<T: Real> CustomOp2 for NtmSequence<T> {
    fn name(&self) -> &'static str {
        "fused-ntm-sequence"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (time, batch) = self.dims(l1, l2)?;
        let shape = Shape::from((time, batch, self.sizes.features()));
        let (p, x) = (slice(s1, l1)?, slice(s2, l2)?);
        let (features, tape) = forward_grouped(&self.sizes, &self.packing, p, x, (time, batch), Keep::All);
        self.tape.keep(tape)?;
        Ok((T::to_cpu_storage_owned(features), shape))
    }

    fn bwd(
        &self,
        params: &Tensor,
        _inputs: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (p, dfeat) = (host::<T>(params)?, host::<T>(grad)?);
        let d = self.tape.read(|tape| backward_grouped(&self.sizes, &self.packing, &p, tape, &dfeat))?;
        // The inputs are data: no gradient.
        Ok((Some(Tensor::from_vec(d, params.shape(), params.device())?), None))
    }
}

/// One forward pass of the fused NTM: its features, and its tape for traces.
pub struct NtmRun {
    /// `[T, B, C + R M]`: per step the controller's output and the read vectors.
    pub features: Tensor,
    sizes: NtmSizes,
    tape: RunTape,
}

/// The tape of a run in f32 or f64.
enum RunTape {
    F32(SharedTape<Grouped<f32>>),
    F64(SharedTape<Grouped<f64>>),
}

impl From<SharedTape<Grouped<f32>>> for RunTape {
    fn from(tape: SharedTape<Grouped<f32>>) -> Self {
        RunTape::F32(tape)
    }
}

impl From<SharedTape<Grouped<f64>>> for RunTape {
    fn from(tape: SharedTape<Grouped<f64>>) -> Self {
        RunTape::F64(tape)
    }
}

/// `parameters` checked against `sizes` and packed into one flat vector.
fn pack(sizes: &NtmSizes, parameters: &[Tensor]) -> Result<Tensor> {
    if sizes.layers == 0 || sizes.write_heads == 0 || sizes.shifts.is_empty() || sizes.slots == 0 {
        candle_core::bail!(
            "fused ntm: needs at least one controller layer, one write head, one shift and one slot ({sizes:?})"
        );
    }
    let shapes = sizes.parameter_shapes();
    if parameters.len() != shapes.len() {
        candle_core::bail!("fused ntm: {} parameters given, {} expected", parameters.len(), shapes.len());
    }
    for (i, (t, shape)) in parameters.iter().zip(&shapes).enumerate() {
        if t.dims() != shape.as_slice() {
            candle_core::bail!("fused ntm: parameter {i} has shape {:?}, expected {shape:?}", t.dims());
        }
    }
    let flat = parameters.iter().map(|t| t.flatten_all()).collect::<Result<Vec<_>>>()?;
    Tensor::cat(&flat, 0)
}

/// Runs the NTM of `sizes` over `inputs` `[T, B, X]`, with `parameters` in the order and
/// shapes of [`NtmSizes::parameter_shapes`]; differentiable with respect to every parameter.
/// Keeps the whole tape (see [`forward_only`] for a forward that does not).
pub fn run(sizes: &NtmSizes, parameters: &[Tensor], inputs: &Tensor) -> Result<NtmRun> {
    let packed = pack(sizes, parameters)?;
    let inputs = inputs.contiguous()?;
    let (features, tape) = by_dtype!(packed.dtype(), "fused ntm", T => {
        let tape = SharedTape::<Grouped<T>>::default();
        let op = NtmSequence {
            sizes: sizes.clone(),
            packing: sizes.packing(),
            tape: tape.clone(),
        };
        (packed.apply_op2(&inputs, op)?, RunTape::from(tape))
    });
    Ok(NtmRun { features, sizes: sizes.clone(), tape })
}

/// The features `[T, B, C + R M]` of [`run`], bit for bit, computed without a tape: the
/// forward keeps only the current and previous step's state (memories `[2, B, M, N]`, each
/// head's addressing `[2, B, SLOTS, N]`, the controller's rows), so its memory is O(B N M)
/// plus the features, whatever the length. Not differentiable (the result is a plain tensor
/// with no graph): for evaluation.
pub fn forward_only(sizes: &NtmSizes, parameters: &[Tensor], inputs: &Tensor) -> Result<Tensor> {
    let packed = pack(sizes, parameters)?.detach();
    let inputs = inputs.contiguous()?;
    let (time, batch, x) = inputs.dims3()?;
    if x != sizes.inputs || time == 0 || batch == 0 {
        candle_core::bail!(
            "fused ntm: inputs {:?} do not fit (need [T >= 1, B >= 1, {}])",
            inputs.shape(),
            sizes.inputs
        );
    }
    let shape = (time, batch, sizes.features());
    by_dtype!(packed.dtype(), "fused ntm", T => {
        let (p, x) = (host::<T>(&packed)?, host::<T>(&inputs)?);
        let (features, _) = forward_grouped(sizes, &sizes.packing(), &p, &x, (time, batch), Keep::Last);
        Tensor::from_vec(features, shape, packed.device())
    })
}

impl NtmRun {
    /// What every head did in batch row 0 (read heads first, then write heads), as the
    /// reference engine's traces record it.
    pub fn head_traces(&self) -> Result<Vec<HeadTrace>> {
        match &self.tape {
            RunTape::F32(tape) => tape.read(|t| traces(t.first(), &self.sizes)),
            RunTape::F64(tape) => tape.read(|t| traces(t.first(), &self.sizes)),
        }
    }

    /// The memories after every step in batch row 0, `[T, N, M]` flat (the tape keeps them
    /// by columns, `[T + 1, B, M, N]`, M_0 first).
    pub fn memories(&self) -> Result<Vec<f32>> {
        match &self.tape {
            RunTape::F32(tape) => tape.read(|t| memories(t.first(), &self.sizes)),
            RunTape::F64(tape) => tape.read(|t| memories(t.first(), &self.sizes)),
        }
    }
}

fn memories<T: Real>(tape: &Tape<T>, sizes: &NtmSizes) -> Vec<f32> {
    let (n, m) = (sizes.slots, sizes.width);
    let mut out = Vec::with_capacity(tape.time * n * m);
    for t in 1..=tape.time {
        let columns = tape.memory.row(t * tape.batch); // M_t of row 0, [M, N]
        out.extend((0..n).flat_map(|i| (0..m).map(move |j| columns[j * n + i].to_f64() as f32)));
    }
    out
}

fn traces<T: Real>(tape: &Tape<T>, sizes: &NtmSizes) -> Vec<HeadTrace> {
    let (n, parts) = (sizes.slots, sizes.parts());
    let floats = |v: &[T]| v.iter().map(|x| x.to_f64() as f32).collect::<Vec<f32>>();
    (0..sizes.heads())
        .map(|k| {
            let kind = sizes.head_kind(k);
            let steps = (0..tape.time)
                .map(|t| {
                    let row = t * tape.batch; // batch row 0
                    let act = tape.act[k].row(row);
                    let saved = tape.addressed(k, t, 0);
                    let features = tape.features.row(row);
                    HeadStep {
                        weighting: floats(&saved[SLOT_WEIGHTING * n..][..n]),
                        content_weighting: floats(&saved[SLOT_CONTENT * n..][..n]),
                        key: floats(&act[parts.key()]),
                        beta: act[parts.beta()].to_f64() as f32,
                        gate: act[parts.gate()].to_f64() as f32,
                        shift: floats(&act[parts.shift()]),
                        gamma: act[parts.gamma()].to_f64() as f32,
                        erase: (kind == HeadKind::Write).then(|| floats(&act[parts.erase()])),
                        add: (kind == HeadKind::Write).then(|| floats(&act[parts.add()])),
                        read: (kind == HeadKind::Read).then(|| floats(&features[sizes.features_read(k)])),
                    }
                })
                .collect();
            let index = if kind == HeadKind::Read { k } else { k - sizes.read_heads };
            HeadTrace { kind, index, steps }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::kinds::ControllerKind;
    use crate::fused::kernel::{allow_avx2, has_avx2};
    use backward::backward;
    use forward::forward;
    use rand::{Rng, SeedableRng};

    /// The kernel's routines compiled with AVX2 and FMA give the same bits as the baseline
    /// build, forward and backward (a guard against anything reordering a sum or fusing a
    /// multiply-add on one path only).
    #[test]
    fn avx2_and_baseline_builds_agree_bit_for_bit() {
        if !has_avx2() {
            // Written to the stream itself, not through `eprintln!`, which the test harness
            // captures: a skipped comparison shows in every `cargo test` run.
            use std::io::Write;
            let reason = "SKIPPED avx2_and_baseline_builds_agree_bit_for_bit: this CPU has no AVX2 and FMA, so only the baseline build runs";
            let _ = writeln!(std::io::stderr(), "{reason}");
            return;
        }
        let sizes = NtmSizes {
            inputs: 5,
            controller: ControllerKind::Lstm,
            hidden: 11,
            layers: 1,
            read_heads: 2,
            write_heads: 2,
            slots: 37,
            width: 6,
            shifts: vec![-1, 0, 1],
        };
        let (time, batch) = (9, 3);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut random = |count: usize| (0..count).map(|_| rng.random_range(-0.8f32..0.8)).collect::<Vec<f32>>();
        let packing = sizes.packing();
        let p = random(packing.total);
        let x = random(time * batch * sizes.inputs);
        let dfeat = random(time * batch * sizes.features());
        let run = || {
            let mut tape = forward(&sizes, &packing, &p, &x, (time, batch), Keep::All);
            let grad = backward(&sizes, &packing, &p, &tape, &dfeat);
            (tape.features.take_values(), tape.memory.take_values(), grad)
        };
        let with_avx2 = run();
        allow_avx2(false);
        let baseline = run();
        allow_avx2(true);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&with_avx2.0), bits(&baseline.0), "features");
        assert_eq!(bits(&with_avx2.1), bits(&baseline.1), "memories");
        assert_eq!(bits(&with_avx2.2), bits(&baseline.2), "gradients");
    }
}
