//! The backward pass of the fused NTM: backpropagation through time over the [`Tape`], step
//! by step in reverse with the per-row backward passes ([`through_time`], for a whole batch or
//! a group of its rows), then every weight gradient as one product over all T x B rows
//! ([`parameter_gradients`], its output columns shared among the threads: the same bits).
//!
//! Step t (M_{t-1} -> M_t) runs backwards in three parts, each a function below:
//! ```text
//! read_backward        r_t^k = (w_t^k)^T M_t, w_t^k addressed over M_t      -> dM_t, dw_{t-1}^k, draw_t^k
//! write_backward       M_t = write(M_{t-1}), write heads addressed over M_{t-1} -> dM_{t-1}, ...
//! controller_backward  raw_t^k = h_t W_k + b_k; the layers top down           -> dh_{t-1}, dc_{t-1}, dr_{t-1}
//! ```
//! Gradients that step t hands to step t - 1 are [`Carried`]; the gradients of every step's
//! pre-activations and projections, which form the weight gradients at the end, are [`Kept`].

use crate::fused::addressing as addr;
use crate::fused::kernel::{dot, matmul, matmul_columns, Real};
use crate::fused::lstm::cell_backward;
use crate::fused::memory::{self as mem, WriteHead, WriteHeadGrad};
use crate::fused::split::{RowProduct, SendPtr, Task, Threads};

use super::sizes::{NtmSizes, Packing, Span};
use super::tape::{weighting, write_head, Tape};

/// `dst += ` the sum of the rows of `rows` (each `dst.len()` long).
fn add_rows<T: Real>(dst: &mut [T], rows: &[T]) {
    for row in rows.chunks_exact(dst.len()) {
        for (d, &v) in dst.iter_mut().zip(row) {
            *d += v;
        }
    }
}

/// What every part of the backward reads: the sizes, the packed parameters `p`, the tape,
/// and `dfeat` `[T, B, C + R M]`, the gradient of the features.
struct Given<'a, T: Real> {
    sizes: &'a NtmSizes,
    packing: &'a Packing,
    p: &'a [T],
    tape: &'a Tape<T>,
    dfeat: &'a [T],
    /// Per head: the width P of its projection.
    widths: Vec<usize>,
    /// Per layer: W_l^T `[cols, rows]`, its rows padded with zeros to
    /// [`NtmSizes::padded_layer_rows`] ([`transposed_weight`]); empty where the product keeps W_l.
    transposed: Vec<Vec<T>>,
}

/// The product dz W_l^T (`[B, cols] x [cols, rows]`, the gradient of layer l's input row) as
/// the weight W_l `[rows, cols]` gives it, by rows: its bits, which the padded transposed
/// weight keeps whenever gemm forms it with its vertical kernels ([`RowProduct::vertical`]).
pub(super) fn input_gradient_product(sizes: &NtmSizes, l: usize) -> RowProduct {
    RowProduct { n: sizes.layer_rows(l), k: sizes.layer_cols(), lhs_k_stride: 1, rhs_k_stride: 1 }
}

/// Layer l's weight W_l `[rows, cols]` transposed, `[cols, padded rows]`, the padding zeros:
/// the layout in which gemm reads it as it lies in dz W_l^T (the gradient of the layer's input
/// row). Given W_l itself, or a row count that is not a multiple of its vector width (8 floats
/// with AVX2, which the gemm crate uses here), gemm copies the whole
/// weight into its own layout at every call, once per step and row group (206 KB a step at the
/// copy NTM's sizes). Where W_l gives the product to gemm's vertical kernels, each output gets
/// the same products summed in the same order from either (one block of k, or the same blocks:
/// the padded row count keeps the path's class, see `fused/split.rs`); elsewhere (one row, or
/// the horizontal kernel of tiny products) the product keeps W_l.
fn transposed_weight<T: Real>(weight: &[T], (rows, cols): (usize, usize), padded: usize) -> Vec<T> {
    let mut out = vec![T::from_f64(0.0); cols * padded];
    for (r, row) in weight.chunks_exact(cols).take(rows).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            out[j * padded + r] = v;
        }
    }
    out
}

/// The gradients step t hands back to step t - 1 (those of step t's inputs from the past).
pub(super) struct Carried<T> {
    /// Per layer: of h^l_{t-1} `[B, C]`, through the layer's recurrent input.
    pub(super) hidden: Vec<Vec<T>>,
    /// Per layer: of c^l_{t-1} `[B, C]` (LSTM).
    pub(super) cells: Vec<Vec<T>>,
    /// Of r_{t-1} `[B, R, M]`, through layer 0's input.
    pub(super) reads: Vec<T>,
    /// Per head: of w_{t-1} `[B, N]`, its previous weighting.
    pub(super) weightings: Vec<Vec<T>>,
    /// Of M_t `[B, M, N]` while step t runs, of M_{t-1} after.
    pub(super) memory: Vec<T>,
}

/// Gradients of every step, for the weight gradients at the end.
pub(super) struct Kept<T> {
    /// Per layer: of its pre-activations z `[T, B, cols]`.
    pub(super) preactivations: Vec<Vec<T>>,
    /// Per head: of its projection raw `[T, B, P]`.
    pub(super) projections: Vec<Vec<T>>,
}

impl<T: Real> Carried<T> {
    /// What groups of a batch's rows carried, in row order, as one for the whole batch (each
    /// quantity's rows one group after the other).
    pub(super) fn join(groups: Vec<Carried<T>>) -> Carried<T> {
        let layers = groups.first().map_or(0, |g| g.hidden.len());
        let heads = groups.first().map_or(0, |g| g.weightings.len());
        let each = |count: usize, part: &dyn Fn(&Carried<T>, usize) -> &[T]| -> Vec<Vec<T>> {
            (0..count).map(|i| groups.iter().flat_map(|g| part(g, i).iter().copied()).collect()).collect()
        };
        let all = |part: &dyn Fn(&Carried<T>) -> &[T]| groups.iter().flat_map(|g| part(g).iter().copied()).collect();
        Carried {
            hidden: each(layers, &|g, l| &g.hidden[l]),
            cells: each(layers, &|g, l| &g.cells[l]),
            reads: all(&|g| &g.reads),
            weightings: each(heads, &|g, k| &g.weightings[k]),
            memory: all(&|g| &g.memory),
        }
    }
}

/// Working buffers, each holding one quantity.
struct Scratch<T> {
    /// Of M_{t-1} `[B, M, N]`, formed by [`write_backward`] (then swapped into
    /// [`Carried::memory`]).
    memory_before: Vec<T>,
    /// Of one read head's r_t for one row `[M]`: from the features and from step t + 1.
    read: Vec<T>,
    /// Of one head's w_t for one row `[N]`: the whole gradient, from the read or write and
    /// from step t + 1.
    weighting: Vec<T>,
    /// Of one head's activated parameters for one row `[P]`.
    head_params: Vec<T>,
    /// For [`addr::address_backward`].
    addressing: Vec<T>,
    /// Of the write heads' weighting, erase and add for one row, `[W, N + 2M]`.
    write_heads: Vec<T>,
    /// For [`mem::write_backward`].
    write: Vec<T>,
    /// Of the output h^l_t of the layer being differentiated `[B, C]`, top layer first.
    layer_output: Vec<T>,
    /// Of the layer's input row [input_l, h^l_{t-1}] `[B, rows]`.
    layer_input: Vec<T>,
    /// Of one LSTM row's h^l_t `[C]`: from above and from step t + 1.
    hidden: Vec<T>,
}

/// What backpropagation through time leaves for the parameters' gradients: the gradients
/// step 0 carries back to the initial state, and those of every step's pre-activations and
/// projections.
pub(super) struct Traced<T> {
    pub(super) carried: Carried<T>,
    pub(super) kept: Kept<T>,
}

/// The rows of the forward that the weight gradients multiply, each `[T, B, ·]` in step
/// order: per layer its input rows `[input_l, h^l_{t-1}]`, and the top layer's outputs h.
pub(super) struct Inputs<'a, T> {
    pub(super) layers: Vec<&'a [T]>,
    pub(super) top: &'a [T],
}

impl<T: Real> Tape<T> {
    /// This tape's rows as [`Inputs`].
    pub(super) fn inputs(&self) -> Inputs<'_, T> {
        Inputs { layers: self.xh.iter().map(|xh| xh.all()).collect(), top: self.hidden[self.hidden.len() - 1].all() }
    }
}

/// The backward pass: returns the gradient of the packed parameters `p`, given the tape and
/// `dfeat` `[T, B, C + R M]`, the gradient of the features.
#[cfg(test)]
pub(super) fn backward<T: Real>(sizes: &NtmSizes, packing: &Packing, p: &[T], tape: &Tape<T>, dfeat: &[T]) -> Vec<T> {
    let traced = through_time(sizes, packing, p, tape, dfeat);
    let shape = (tape.time, tape.batch);
    parameter_gradients(sizes, packing, &tape.initial_weightings, shape, &tape.inputs(), &traced)
}

/// Backpropagation through time over the tape of `batch` rows (any group of a batch's rows:
/// each row's gradients depend on that row alone), from `dfeat` `[T, B, C + R M]`.
pub(super) fn through_time<T: Real>(
    sizes: &NtmSizes,
    packing: &Packing,
    p: &[T],
    tape: &Tape<T>,
    dfeat: &[T],
) -> Traced<T> {
    let (time, batch) = (tape.time, tape.batch);
    let (c, n, m) = (sizes.hidden, sizes.slots, sizes.width);
    let zero = T::from_f64(0.0);
    let widths: Vec<usize> = (0..sizes.heads()).map(|k| sizes.head_width(k)).collect();
    let per_step = |width: usize| vec![zero; time * batch * width];
    let mut kept = Kept {
        preactivations: (0..sizes.layers).map(|_| per_step(sizes.layer_cols())).collect(),
        projections: widths.iter().map(|&w| per_step(w)).collect(),
    };
    let mut carried = Carried {
        hidden: vec![vec![zero; batch * c]; sizes.layers],
        cells: vec![vec![zero; batch * c]; sizes.layers],
        reads: vec![zero; batch * sizes.read_heads * m],
        weightings: vec![vec![zero; batch * n]; sizes.heads()],
        memory: vec![zero; batch * n * m],
    };
    let widest_layer = (0..sizes.layers).map(|l| sizes.padded_layer_rows(l)).max();
    let mut scratch = Scratch {
        memory_before: vec![zero; batch * n * m],
        read: vec![zero; m],
        weighting: vec![zero; n],
        head_params: vec![zero; widths.iter().copied().max().unwrap_or(0)],
        addressing: vec![zero; addr::backward_scratch(n, m)],
        write_heads: vec![zero; sizes.write_heads * (n + 2 * m)],
        write: vec![zero; (2 * sizes.write_heads + 1) * n],
        layer_output: vec![zero; batch * c],
        layer_input: vec![zero; batch * widest_layer.unwrap_or(0)],
        hidden: vec![zero; c],
    };
    // Only where the product takes the vertical kernels (not at batch 1, say).
    let transposed = (packing.layers.iter().enumerate())
        .map(|(l, layer)| match input_gradient_product(sizes, l).vertical(batch) {
            true => transposed_weight(
                layer.weight.of(p),
                (sizes.layer_rows(l), sizes.layer_cols()),
                sizes.padded_layer_rows(l),
            ),
            false => Vec::new(),
        })
        .collect();
    let given = Given { sizes, packing, p, tape, dfeat, widths, transposed };
    for t in (0..time).rev() {
        for b in 0..batch {
            read_backward(&given, (t, b), &mut carried, &mut kept, &mut scratch);
            write_backward(&given, (t, b), &mut carried, &mut kept, &mut scratch);
        }
        std::mem::swap(&mut carried.memory, &mut scratch.memory_before);
        controller_backward(&given, t, &mut carried, &mut kept, &mut scratch);
    }
    Traced { carried, kept }
}

/// The gradient of the packed parameters from what backpropagation through the batch's `(T,
/// B)` steps and rows left (`traced`), the rows of the forward the weights multiplied
/// (`inputs`) and the initial weightings w_0 per head: the weight gradients' products in
/// column shares and the rest as tasks over the threads, each writing its own part of the
/// gradient (the same bits on any number of threads).
pub(super) fn parameter_gradients<T: Real>(
    sizes: &NtmSizes,
    packing: &Packing,
    initial_weightings: &[Vec<T>],
    (time, batch): (usize, usize),
    inputs: &Inputs<T>,
    traced: &Traced<T>,
) -> Vec<T> {
    let mut grad = vec![T::from_f64(0.0); packing.total];
    let (threads, all) = (Threads::now(), time * batch);
    let (c, cols) = (sizes.hidden, sizes.layer_cols());
    let g = SendPtr(grad.as_mut_ptr());
    // SAFETY (every task): each writes parts of `grad` no other task touches: the packing's
    // spans are disjoint, and the shares of a weight's columns too; `grad` outlives the tasks.
    let mut tasks: Vec<Task> = Vec::new();
    for (l, layer) in packing.layers.iter().enumerate() {
        let (r, xh, dz) = (sizes.layer_rows(l), inputs.layers[l], &traced.kept.preactivations[l][..]);
        // dW_l = xh_l^T dz_l, `[rows, TB] x [TB, cols]`.
        for columns in threads.column_shares(r, cols) {
            let (weight, cost) = (SendPtr(layer.weight.start_of(g)), r * columns.len() * all);
            let product = move || {
                let weight = weight;
                unsafe { matmul_columns(weight.0, false, xh, (1, r), dz, (cols, 1), (r, cols, all), columns) }
            };
            tasks.push((cost, Box::new(product)));
        }
        tasks.push((cols * all, Box::new(move || add_rows(unsafe { layer.bias.of_raw(g) }, dz))));
    }
    for (k, projection) in packing.heads.iter().enumerate() {
        let (w, draw, top) = (sizes.head_width(k), &traced.kept.projections[k][..], inputs.top);
        // dW_k = h^T draw_k, `[C, TB] x [TB, P]`.
        let head = move || {
            matmul(unsafe { projection.weight.of_raw(g) }, false, top, (1, c), draw, (w, 1), (c, w, all));
            add_rows(unsafe { projection.bias.of_raw(g) }, draw);
        };
        tasks.push((c * w * all, Box::new(head)));
    }
    let carried = &traced.carried;
    let initial = move || unsafe { initial_state_gradients(sizes, packing, initial_weightings, batch, carried, g) };
    tasks.push((0, Box::new(initial)));
    threads.tasks(tasks);
    grad
}

/// The read heads at step t, batch row b: r^k = w^T M_t (eq. 2) with w addressed over M_t
/// from w_{t-1}. From dr^k (the features' and step t + 1's controller input's) and dw_t^k
/// (from step t + 1), adds to dM_t `[M, N]` ([`Carried::memory`]), replaces dw_t^k by
/// dw_{t-1}^k and sets the projection's gradient draw_t^k `[P]`.
fn read_backward<T: Real>(
    given: &Given<T>,
    (t, b): (usize, usize),
    carried: &mut Carried<T>,
    kept: &mut Kept<T>,
    scratch: &mut Scratch<T>,
) {
    let (sizes, tape) = (given.sizes, given.tape);
    let (c, n, m, reads) = (sizes.hidden, sizes.slots, sizes.width, sizes.read_heads);
    let (row, nm, feat) = (t * tape.batch + b, n * m, sizes.features());
    let m_now = tape.memory.row(row + tape.batch);
    for k in 0..reads {
        let w = given.widths[k];
        for j in 0..m {
            scratch.read[j] = given.dfeat[row * feat + c + k * m + j] + carried.reads[(b * reads + k) * m + j];
        }
        let dweighting = &mut carried.weightings[k][b * n..(b + 1) * n];
        scratch.weighting.copy_from_slice(dweighting);
        let saved = tape.addressed(k, t, b);
        let dmem = &mut carried.memory[b * nm..(b + 1) * nm];
        mem::read_backward(weighting(saved), m_now, &scratch.read, &mut scratch.weighting, dmem);
        let draw = &mut kept.projections[k][row * w..][..w];
        head_backward(
            given,
            (k, t, b),
            m_now,
            &scratch.weighting,
            &mut scratch.head_params[..w],
            (dmem, dweighting, draw),
            &mut scratch.addressing,
        );
    }
}

/// The write at step t, batch row b, M_t = write(M_{t-1}) (eqs. 3-4), then the write heads,
/// addressed over M_{t-1} from w_{t-1}. From dM_t ([`Carried::memory`], complete once the
/// read heads are done) and each write head's dw_t (from step t + 1): sets dM_{t-1} `[M, N]`
/// ([`Scratch::memory_before`]), replaces dw_t^k by dw_{t-1}^k and sets draw_t^k `[P]`.
fn write_backward<T: Real>(
    given: &Given<T>,
    (t, b): (usize, usize),
    carried: &mut Carried<T>,
    kept: &mut Kept<T>,
    scratch: &mut Scratch<T>,
) {
    let (sizes, tape) = (given.sizes, given.tape);
    let (n, m, nm) = (sizes.slots, sizes.width, sizes.slots * sizes.width);
    let (reads, heads, parts) = (sizes.read_heads, sizes.heads(), sizes.parts());
    let row = t * tape.batch + b;
    let m_before = tape.memory.row(row);
    let writes: Vec<WriteHead<T>> =
        (reads..heads).map(|k| write_head(&tape.act[k], &tape.addressing[k], parts, row)).collect();
    let head_width = n + 2 * m;
    scratch.write_heads.fill(T::from_f64(0.0));
    let mut grads: Vec<WriteHeadGrad<T>> = scratch
        .write_heads
        .chunks_exact_mut(head_width)
        .map(|g| {
            let (weighting, rest) = g.split_at_mut(n);
            let (erase, add) = rest.split_at_mut(m);
            WriteHeadGrad { weighting, erase, add }
        })
        .collect();
    mem::write_backward(
        m_before,
        &writes,
        &carried.memory[b * nm..(b + 1) * nm],
        &mut scratch.memory_before[b * nm..(b + 1) * nm],
        &mut grads,
        &mut scratch.write,
    );
    drop(grads);
    for (j, k) in (reads..heads).enumerate() {
        let w = given.widths[k];
        let g = &scratch.write_heads[j * head_width..][..head_width];
        let dweighting = &mut carried.weightings[k][b * n..(b + 1) * n];
        for i in 0..n {
            scratch.weighting[i] = g[i] + dweighting[i];
        }
        scratch.head_params[parts.erase()].copy_from_slice(&g[n..n + m]);
        scratch.head_params[parts.add()].copy_from_slice(&g[n + m..]);
        let dmem = &mut scratch.memory_before[b * nm..(b + 1) * nm];
        let draw = &mut kept.projections[k][row * w..][..w];
        head_backward(
            given,
            (k, t, b),
            m_before,
            &scratch.weighting,
            &mut scratch.head_params[..w],
            (dmem, dweighting, draw),
            &mut scratch.addressing,
        );
    }
}

/// The controller at step t, all batch rows. First its output: dh_t^L = dfeat_h +
/// sum_k draw_t^k W_k^T (`[B, C]`). Then each layer from the top: (LSTM) the cell's backward
/// with dh^l_t from above and from step t + 1, dc^l_t from step t + 1; (feed-forward) dz =
/// dh (1 - h^2). The pre-activations' gradient dz `[B, cols]` is kept, and dz W_l^T, the
/// gradient of the layer's input row `[input_l, h^l_{t-1}]`, splits into dh^{l-1}_t (the
/// next layer down's output) or, for layer 0, dr_{t-1}, and dh^l_{t-1} (LSTM).
fn controller_backward<T: Real>(
    given: &Given<T>,
    t: usize,
    carried: &mut Carried<T>,
    kept: &mut Kept<T>,
    scratch: &mut Scratch<T>,
) {
    let (sizes, tape, p) = (given.sizes, given.tape, given.p);
    let (batch, c, m, reads) = (tape.batch, sizes.hidden, sizes.width, sizes.read_heads);
    let (cols, feat, tb) = (sizes.layer_cols(), sizes.features(), t * tape.batch);
    let one = T::from_f64(1.0);
    let doutput = &mut scratch.layer_output;
    for b in 0..batch {
        doutput[b * c..(b + 1) * c].copy_from_slice(&given.dfeat[(tb + b) * feat..][..c]);
    }
    for (k, projection) in given.packing.heads.iter().enumerate() {
        let w = given.widths[k];
        matmul(
            doutput,
            true,
            &kept.projections[k][tb * w..(tb + batch) * w],
            (w, 1),
            projection.weight.of(p),
            (1, w),
            (batch, c, w),
        );
    }
    for (l, layer) in given.packing.layers.iter().enumerate().rev() {
        let (r, inputs) = (sizes.layer_rows(l), sizes.layer_inputs(l));
        let dz_t = &mut kept.preactivations[l][tb * cols..(tb + batch) * cols];
        for b in 0..batch {
            let (dh_above, dz) = (&doutput[b * c..(b + 1) * c], &mut dz_t[b * cols..(b + 1) * cols]);
            let row = tb + b;
            if let Some(initial) = layer.initial {
                let from_later = &carried.hidden[l][b * c..(b + 1) * c];
                for ((h, &above), &later) in scratch.hidden.iter_mut().zip(dh_above).zip(from_later) {
                    *h = above + later;
                }
                let c_prev = if t == 0 { initial.cell.of(p) } else { tape.cells[l].row(row - batch) };
                let (gates, cell) = (tape.gates[l].row(row), tape.cells[l].row(row));
                let dc = &mut carried.cells[l][b * c..(b + 1) * c];
                cell_backward(gates, c_prev, cell, &scratch.hidden, dc, dz);
            } else {
                let h = tape.hidden[l].row(row);
                for j in 0..c {
                    dz[j] = dh_above[j] * (one - h[j] * h[j]);
                }
            }
        }
        let transposed = input_gradient_product(sizes, l).vertical(batch);
        let padded = if transposed { sizes.padded_layer_rows(l) } else { r };
        let dinput = &mut scratch.layer_input[..batch * padded];
        if transposed {
            matmul(dinput, false, dz_t, (cols, 1), &given.transposed[l], (padded, 1), (batch, padded, cols));
        } else {
            matmul(dinput, false, dz_t, (cols, 1), layer.weight.of(p), (1, cols), (batch, r, cols));
        }
        for b in 0..batch {
            let d = &dinput[b * padded..][..r];
            if layer.initial.is_some() {
                carried.hidden[l][b * c..(b + 1) * c].copy_from_slice(&d[inputs..]);
            }
            if l > 0 {
                doutput[b * c..(b + 1) * c].copy_from_slice(&d[..c]);
            } else {
                carried.reads[b * reads * m..(b + 1) * reads * m].copy_from_slice(&d[sizes.inputs..inputs]);
            }
        }
    }
}

/// The gradients of the initial state, from what step 0 carried back, each summed over the
/// batch rows it was broadcast to: h_0 and c_0 per LSTM layer, r_0 per read head, the logits
/// of w_0 per head (w_0 = softmax(logits): dlogits = w_0 (g - <w_0, g>)) and M_0 (`[N, M]`
/// by rows, from the carried `[M, N]` by columns).
///
/// # Safety
/// `grad` points to the whole gradient, whose initial state's parts no one else touches
/// during the call.
unsafe fn initial_state_gradients<T: Real>(
    sizes: &NtmSizes,
    packing: &Packing,
    initial_weightings: &[Vec<T>],
    batch: usize,
    carried: &Carried<T>,
    grad: SendPtr<T>,
) {
    // SAFETY: as the caller vouches, for every part written below.
    let part = |span: Span| unsafe { span.of_raw(grad) };
    let (n, m, reads) = (sizes.slots, sizes.width, sizes.read_heads);
    let zero = T::from_f64(0.0);
    for (l, layer) in packing.layers.iter().enumerate() {
        if let Some(initial) = layer.initial {
            add_rows(part(initial.hidden), &carried.hidden[l]);
            add_rows(part(initial.cell), &carried.cells[l]);
        }
    }
    for b in 0..batch {
        for i in 0..reads {
            add_rows(part(packing.initial_reads[i]), &carried.reads[(b * reads + i) * m..][..m]);
        }
    }
    for ((w0, carried), &logits) in initial_weightings.iter().zip(&carried.weightings).zip(&packing.initial_logits) {
        let mut g = vec![zero; n];
        add_rows(&mut g, carried);
        let inner = dot(w0, &g);
        for ((d, &w), &gi) in part(logits).iter_mut().zip(w0).zip(&g) {
            *d = w * (gi - inner);
        }
    }
    let mut by_columns = vec![zero; n * m]; // [M, N]
    add_rows(&mut by_columns, &carried.memory);
    let initial = part(packing.initial_memory); // [N, M]
    for (i, row) in initial.chunks_exact_mut(m).enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = by_columns[c * n + i];
        }
    }
}

/// Head k's addressing and activations backward for batch row b at step t, over the memory
/// `mem` it addressed: from `dw`, the whole gradient of its weighting, and `dact` holding the
/// gradient of its erase and add (write heads), adds to `dmem` and sets the gradient of its
/// previous weighting (`dprev`) and of its projection (`draw`), given as `rows`.
fn head_backward<T: Real>(
    given: &Given<T>,
    (k, t, b): (usize, usize, usize),
    mem: &[T],
    dw: &[T],
    dact: &mut [T],
    (dmem, dprev, draw): (&mut [T], &mut [T], &mut [T]),
    scratch: &mut [T],
) {
    let tape = given.tape;
    let row = t * tape.batch + b;
    let (act, raw) = (tape.act[k].row(row), tape.raw[k].row(row));
    let (prev, saved) = (tape.previous(k, t, b), tape.addressed(k, t, b));
    addr::address_backward(act, mem, prev, &given.sizes.shifts, saved, dw, dact, dmem, dprev, scratch);
    addr::activation_backward(raw, act, dact, draw, given.sizes.parts());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::kernel::matmul;

    /// dz W^T from the padded transposed weight gives the bits of the product from W itself
    /// wherever that one takes gemm's vertical kernels, for the copy NTM's layer (129 x 400)
    /// and others, at every batch of 1 to 20 rows; the test counts that it compared some.
    #[test]
    fn the_padded_transposed_weight_gives_the_bits_of_the_weight() {
        let mut compared = 0;
        for (rows, cols) in [(129, 400), (100, 400), (60, 160), (37, 44), (11, 20), (8, 600), (5, 12)] {
            let values = |count: usize, seed: usize| {
                (0..count).map(|i| (((i * 7919 + seed * 104_729) % 2001) as f32 - 1000.0) / 997.0).collect::<Vec<f32>>()
            };
            let weight = values(rows * cols, 1);
            let padded = rows.div_ceil(8) * 8;
            let transposed = transposed_weight(&weight, (rows, cols), padded);
            let product = RowProduct { n: rows, k: cols, lhs_k_stride: 1, rhs_k_stride: 1 };
            for batch in 1..=20 {
                if !product.vertical(batch) {
                    continue;
                }
                let dz = values(batch * cols, batch);
                let mut plain = vec![0.0f32; batch * rows];
                matmul(&mut plain, false, &dz, (cols, 1), &weight, (1, cols), (batch, rows, cols));
                let mut from_transposed = vec![0.0f32; batch * padded];
                matmul(&mut from_transposed, false, &dz, (cols, 1), &transposed, (padded, 1), (batch, padded, cols));
                for b in 0..batch {
                    let (a, t) = (&plain[b * rows..][..rows], &from_transposed[b * padded..][..rows]);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(a), bits(t), "{rows} x {cols}, batch {batch}, row {b}");
                }
                compared += 1;
            }
        }
        assert!(compared > 50, "only {compared} products compared");
    }
}
