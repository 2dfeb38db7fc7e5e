//! The whole DNC over a whole sequence as one custom operation with a hand-derived backward
//! pass (backpropagation through time), computing what stepping [`crate::models::dnc::Dnc`]
//! with the reference engine computes.
//!
//! The composed step is some 150 graph nodes (controller, interface, allocation's scan and
//! sort, link matrix, reads); here a sequence is one node, `parameters [P], inputs [T, B, X]
//! -> features [T, B, C + R W]`, where the features of step t are `[h_t, r_t^1 .. r_t^R]`: the
//! controller's output and the read vectors, which the model's output layer turns into logits
//! with one matmul over all steps. Per step and batch row, the equations of
//! [`crate::pieces::dnc`] in their order (`forward.rs`); the forward keeps a tape (`tape.rs`)
//! of every intermediate, the link matrices `[T, B, N, N]` the largest part, in a
//! `SharedTape`, read by the caller for traces and by the op for its backward (`backward.rs`),
//! which runs the steps in reverse with the per-row backward passes of `allocation.rs`,
//! `linkage.rs`, `interface.rs`, `fused/addressing.rs` (content weighting) and
//! `fused/memory.rs` (erase, add and read), and forms every weight gradient with one matmul
//! over all T x B rows at the end. `sizes.rs` says where each parameter sits in the packed
//! vector ([`DncSizes::parameter_names`]).
//!
//! Cost per step and batch row: the link update and the forward and backward weightings are
//! O(N^2) (about (3 + 2R) N^2 multiply-adds forward, twice that backward), the rest O(N W R +
//! N log N) plus the controller. A model whose read modes are all `content` neither updates
//! nor keeps the link matrix.

mod allocation;
mod backward;
mod forward;
mod interface;
mod linkage;
mod sizes;
mod tape;

use std::cell::Cell;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use crate::base::cpu::{by_dtype, host, slice};
use crate::fused::kernel::Real;
use crate::fused::tape::{Keep, SharedTape};
use crate::pieces::trace::{link_steps, DncReadStep, DncStep, DncTrace, LinkSnapshot};

use backward::backward;
use forward::forward;
pub use sizes::DncSizes;
use sizes::Packing;
use tape::{slot, Tape, READ_SLOTS, STATE_SLOTS};

/// Floats the tape keeps per batch row and step besides the link matrix `[N, N]`, the memory
/// `[W, N]`, the controller's rows and the interface, in units of N: the state and write side,
/// each read head's vectors and the free list (what the memory estimates count).
pub fn tape_vectors(read_heads: usize) -> usize {
    STATE_SLOTS + READ_SLOTS * read_heads + 1
}

/// A deliberate mistake in the fused DNC's backward pass, made on one thread while
/// [`with_fault`] runs: the tests show that the checks against the composed reference catch
/// each. Not for use outside tests.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Drop the gradient of the usage through the previous write weighting.
    UsageThroughWrite,
    /// Drop the column sums of the link matrix's gradient of the write weighting.
    LinkColumnSums,
}

thread_local! {
    static FAULT: Cell<Option<Fault>> = const { Cell::new(None) };
}

/// Runs `f` with `fault` made in every fused DNC backward pass on this thread.
#[doc(hidden)]
pub fn with_fault<R>(fault: Fault, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            FAULT.with(|c| c.set(None));
        }
    }
    FAULT.with(|c| c.set(Some(fault)));
    let _reset = Reset;
    f()
}

/// The op: `sizes`, where each parameter sits (`packing`), and where the forward keeps its
/// tape, in the parameters' float type `T`.
struct DncSequence<T: Real> {
    sizes: DncSizes,
    packing: Packing,
    tape: SharedTape<Tape<T>>,
}

/// `(T, B)` of `inputs` after checking them and the parameters against `sizes`.
fn dims(sizes: &DncSizes, total: usize, params: &Shape, inputs: &Shape) -> Result<(usize, usize)> {
    let (time, batch, x) = inputs.dims3()?;
    if x != sizes.inputs || params.elem_count() != total || time == 0 || batch == 0 {
        candle_core::bail!(
            "fused dnc: parameters {params:?} and inputs {inputs:?} do not fit (need {total} parameters, [T >= 1, B >= 1, {}] inputs)",
            sizes.inputs
        );
    }
    Ok((time, batch))
}

impl<T: Real> CustomOp2 for DncSequence<T> {
    fn name(&self) -> &'static str {
        "fused-dnc-sequence"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (time, batch) = dims(&self.sizes, self.packing.total, l1.shape(), l2.shape())?;
        let shape = Shape::from((time, batch, self.sizes.features()));
        let tape = forward(&self.sizes, &self.packing, slice(s1, l1)?, slice(s2, l2)?, (time, batch), Keep::All);
        let features = tape.features.all().to_vec();
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
        let fault = FAULT.with(Cell::get);
        let d = self.tape.read(|tape| backward(&self.sizes, &self.packing, &p, tape, &dfeat, fault))?;
        // The inputs are data: no gradient.
        Ok((Some(Tensor::from_vec(d, params.shape(), params.device())?), None))
    }
}

/// One forward pass of the fused DNC: its features, and its tape for traces.
pub struct DncRun {
    /// `[T, B, C + R W]`: per step the controller's output and the read vectors.
    pub features: Tensor,
    sizes: DncSizes,
    tape: RunTape,
}

/// The tape of a run in f32 or f64.
enum RunTape {
    F32(SharedTape<Tape<f32>>),
    F64(SharedTape<Tape<f64>>),
}

impl From<SharedTape<Tape<f32>>> for RunTape {
    fn from(tape: SharedTape<Tape<f32>>) -> Self {
        RunTape::F32(tape)
    }
}

impl From<SharedTape<Tape<f64>>> for RunTape {
    fn from(tape: SharedTape<Tape<f64>>) -> Self {
        RunTape::F64(tape)
    }
}

/// `parameters` checked against `sizes` and packed into one flat vector.
fn pack(sizes: &DncSizes, parameters: &[Tensor]) -> Result<Tensor> {
    if sizes.layers == 0 || sizes.read_heads == 0 || sizes.slots < 2 || sizes.read_modes.is_empty() {
        candle_core::bail!(
            "fused dnc: needs at least one controller layer, one read head, two slots and one read mode ({sizes:?})"
        );
    }
    let shapes = sizes.parameter_shapes();
    if parameters.len() != shapes.len() {
        candle_core::bail!("fused dnc: {} parameters given, {} expected", parameters.len(), shapes.len());
    }
    for (i, (t, shape)) in parameters.iter().zip(&shapes).enumerate() {
        if t.dims() != shape.as_slice() {
            candle_core::bail!("fused dnc: parameter {i} has shape {:?}, expected {shape:?}", t.dims());
        }
    }
    let flat = parameters.iter().map(|t| t.flatten_all()).collect::<Result<Vec<_>>>()?;
    Tensor::cat(&flat, 0)
}

/// Runs the DNC of `sizes` over `inputs` `[T, B, X]`, with `parameters` in the order and
/// shapes of [`DncSizes::parameter_shapes`]; differentiable with respect to every parameter.
/// Keeps the whole tape (see [`forward_only`] for a forward that does not).
pub fn run(sizes: &DncSizes, parameters: &[Tensor], inputs: &Tensor) -> Result<DncRun> {
    let packed = pack(sizes, parameters)?;
    let inputs = inputs.contiguous()?;
    let (features, tape) = by_dtype!(packed.dtype(), "fused dnc", T => {
        let tape = SharedTape::<Tape<T>>::default();
        let op = DncSequence { sizes: sizes.clone(), packing: sizes.packing(), tape: tape.clone() };
        (packed.apply_op2(&inputs, op)?, RunTape::from(tape))
    });
    Ok(DncRun { features, sizes: sizes.clone(), tape })
}

/// The features `[T, B, C + R W]` of [`run`], bit for bit, computed without a tape: the
/// forward keeps only the current and previous step's state (memories `[2, B, W, N]`, link
/// matrices `[2, B, N, N]`, the state and reads, the controller's rows), so its memory is
/// O(B (N^2 + N W)) plus the features, whatever the length. Not differentiable (the result is
/// a plain tensor with no graph): for evaluation.
pub fn forward_only(sizes: &DncSizes, parameters: &[Tensor], inputs: &Tensor) -> Result<Tensor> {
    let packed = pack(sizes, parameters)?.detach();
    let inputs = inputs.contiguous()?;
    let (time, batch) = dims(sizes, packed.elem_count(), packed.shape(), inputs.shape())?;
    let shape = (time, batch, sizes.features());
    by_dtype!(packed.dtype(), "fused dnc", T => {
        let (p, x) = (host::<T>(&packed)?, host::<T>(&inputs)?);
        let mut tape = forward(sizes, &sizes.packing(), &p, &x, (time, batch), Keep::Last);
        Tensor::from_vec(tape.features.take_values(), shape, packed.device())
    })
}

impl DncRun {
    /// What the memory access did in batch row 0, every step, and the link matrix at the
    /// steps [`link_steps`] chooses, as the reference engine's traces record it.
    pub fn trace(&self) -> Result<DncTrace> {
        match &self.tape {
            RunTape::F32(tape) => tape.read(|t| trace(t, &self.sizes)),
            RunTape::F64(tape) => tape.read(|t| trace(t, &self.sizes)),
        }
    }
}

fn trace<T: Real>(tape: &Tape<T>, sizes: &DncSizes) -> DncTrace {
    let (n, w, c, parts) = (sizes.slots, sizes.width, sizes.hidden, sizes.parts());
    let floats = |v: &[T]| v.iter().map(|x| x.to_f64() as f32).collect::<Vec<f32>>();
    let links = sizes.uses_links();
    let steps = (0..tape.time)
        .map(|t| {
            let row = t * tape.batch; // batch row 0
            let (act, state, features) = (tape.act.row(row), tape.state.row(row), tape.features.row(row));
            let s = |k: usize| floats(slot(state, k, n));
            let reads = (0..sizes.read_heads)
                .map(|i| {
                    let r = tape.reads[i].row(row);
                    let directional = |k: usize| if links { floats(slot(r, k, n)) } else { vec![0.0; n] };
                    DncReadStep {
                        key: floats(&act[parts.read_key(i)]),
                        strength: act[parts.read_strength(i)].to_f64() as f32,
                        modes: floats(&act[parts.read_modes(i)]),
                        content: floats(slot(r, tape::READ_CONTENT, n)),
                        forward: directional(tape::READ_FORWARD),
                        backward: directional(tape::READ_BACKWARD),
                        weighting: floats(slot(r, tape::READ_WEIGHTING, n)),
                        read: floats(&features[c + i * w..c + (i + 1) * w]),
                    }
                })
                .collect();
            DncStep {
                usage: s(tape::USAGE),
                retention: s(tape::RETENTION),
                allocation: s(tape::ALLOCATION),
                write_content: s(tape::WRITE_CONTENT),
                write_weighting: s(tape::WRITE_WEIGHTING),
                precedence: s(tape::PRECEDENCE),
                write_key: floats(&act[parts.write_key()]),
                write_strength: act[parts.write_strength()].to_f64() as f32,
                erase: floats(&act[parts.erase()]),
                write_vector: floats(&act[parts.write_vector()]),
                free_gates: floats(&act[parts.free_gates()]),
                allocation_gate: act[parts.allocation_gate()].to_f64() as f32,
                write_gate: act[parts.write_gate()].to_f64() as f32,
                reads,
            }
        })
        .collect();
    let links = match links {
        false => Vec::new(),
        true => link_steps(tape.time, n)
            .into_iter()
            .map(|t| LinkSnapshot {
                step: t,
                matrix: tape.link.row(t * tape.batch).chunks_exact(n).map(floats).collect(),
            })
            .collect(),
    };
    DncTrace { read_modes: sizes.read_modes.clone(), steps, links }
}
