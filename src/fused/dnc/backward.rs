//! The backward pass of the fused DNC: backpropagation through time over the [`Tape`], step
//! by step in reverse with the per-row backward passes, then every weight gradient as one
//! matmul over all T x B rows.
//!
//! Step t runs backwards in two parts, each a function below:
//! ```text
//! access_backward      reads (read vectors, mode mix, read content on M_t, directional);
//!                      link; precedence; erase and add; write weighting; write content on
//!                      M_{t-1}; allocation; usage and retention; the interface's activations
//!                                  -> dM_{t-1}, dL_{t-1}, dp_{t-1}, du_{t-1}, dw^w_{t-1}, dw^r_{t-1}, dxi_t
//! controller_backward  xi_t = h_t W + b; the LSTM layers top down -> dh_{t-1}, dc_{t-1}, dr_{t-1}
//! ```
//! Gradients that step t hands to step t - 1 are [`Carried`]; the gradients of every step's
//! pre-activations and interface, which form the weight gradients at the end, are [`Kept`].
//! The state before the first step is zero, not learned: what step 0 carries back is dropped,
//! but for the controller's h_0 and c_0.

use crate::base::kinds::ReadMode;
use crate::fused::addressing::{self as addr, content_backward};
use crate::fused::kernel::{dot, matmul, Real};
use crate::fused::lstm::cell_backward;
use crate::fused::memory::{self as mem, WriteHead, WriteHeadGrad};

use super::allocation::{allocation_backward, usage_backward, UsageGrad, UsageSaved};
use super::interface::activation_backward;
use super::linkage::{link_backward, precedence_backward, LinkGrads, LinkInputs};
use super::sizes::{DncSizes, Packing};
use super::tape::{
    content, slot, Tape, ALLOCATION, PRECEDENCE, READ_BACKWARD, READ_CONTENT, READ_FORWARD, READ_WEIGHTING, RETENTION,
    USAGE, WRITE_CONTENT, WRITE_WEIGHTING,
};
use super::Fault;

/// `dst += ` the sum of the rows of `rows` (each `dst.len()` long).
fn add_rows<T: Real>(dst: &mut [T], rows: &[T]) {
    for row in rows.chunks_exact(dst.len()) {
        for (d, &v) in dst.iter_mut().zip(row) {
            *d += v;
        }
    }
}

/// What every part of the backward reads: the sizes, the packed parameters `p`, the tape,
/// `dfeat` `[T, B, C + R W]` (the gradient of the features) and the deliberate fault, if any.
struct Given<'a, T: Real> {
    sizes: &'a DncSizes,
    packing: &'a Packing,
    p: &'a [T],
    tape: &'a Tape<T>,
    dfeat: &'a [T],
    fault: Option<Fault>,
}

/// The gradients step t hands back to step t - 1 (those of step t's inputs from the past),
/// each for all batch rows.
struct Carried<T> {
    /// Per layer: of h^l_{t-1} `[B, C]`.
    hidden: Vec<Vec<T>>,
    /// Per layer: of c^l_{t-1} `[B, C]`.
    cells: Vec<Vec<T>>,
    /// Of r_{t-1} `[B, R, W]`, through layer 0's input.
    reads: Vec<T>,
    /// Of M_t `[B, W, N]` while step t runs, of M_{t-1} after.
    memory: Vec<T>,
    /// Of L_t `[B, N, N]`, turned into that of L_{t-1} in place.
    link: Vec<T>,
    /// Of p_t `[B, N]`, then of p_{t-1}.
    precedence: Vec<T>,
    /// Of u_t `[B, N]`, then of u_{t-1}.
    usage: Vec<T>,
    /// Of w^w_t `[B, N]` through step t + 1's usage, then of w^w_{t-1} through step t's.
    write: Vec<T>,
    /// Per read head: of w^{r,i}_t `[B, N]`, then of w^{r,i}_{t-1}.
    read_weightings: Vec<Vec<T>>,
}

/// Gradients of every step, for the weight gradients at the end.
struct Kept<T> {
    /// Per layer: of its pre-activations z `[T, B, 4C]`.
    preactivations: Vec<Vec<T>>,
    /// Of the raw interface `[T, B, I]`.
    interface: Vec<T>,
}

/// Working buffers, each holding one quantity of one row (but the memory's and the
/// controller's, of all rows).
struct Scratch<T> {
    /// Of M_{t-1} `[B, W, N]`, formed by [`access_backward`] (then swapped into
    /// [`Carried::memory`]).
    memory_before: Vec<T>,
    /// Of the activated interface `[I]`.
    interface: Vec<T>,
    /// Of one read head's r_t `[W]`.
    read: Vec<T>,
    /// Of one read head's w^{r,i}_t `[N]`: the whole gradient.
    weighting: Vec<T>,
    /// Of every read head's forward and backward weightings `[R, 2, N]`.
    directional: Vec<T>,
    /// For [`content_backward`]: the gradient of a content weighting in its first N values.
    content: Vec<T>,
    /// Of w^w_t `[N]`.
    write_weighting: Vec<T>,
    /// Of p_{t-1} `[N]`.
    precedence: Vec<T>,
    /// Of a_t `[N]`.
    allocation: Vec<T>,
    /// Of u_t `[N]`.
    usage: Vec<T>,
    /// The read weightings of the step before `[R, N]`, and their gradient (through the
    /// link's directional weightings, then through the usage).
    previous_reads: Vec<T>,
    previous_reads_grad: Vec<T>,
    /// For [`link_backward`] `[2N]`, [`allocation_backward`] `[N]`, [`usage_backward`] `[2N]` and
    /// [`mem::write_backward`] `[3N]`.
    columns: Vec<T>,
    products: Vec<T>,
    usage_work: Vec<T>,
    write: Vec<T>,
    /// Zeros `[max(N^2, N)]`: the state before the first step.
    zeros: Vec<T>,
    /// Of the output h^l_t of the layer being differentiated `[B, C]`, top layer first.
    layer_output: Vec<T>,
    /// Of the layer's input row `[input_l, h^l_{t-1}]` `[B, rows]`.
    layer_input: Vec<T>,
    /// Of one row's h^l_t `[C]`: from above and from step t + 1.
    hidden: Vec<T>,
}

/// The backward pass: returns the gradient of the packed parameters `p`, given the tape and
/// `dfeat` `[T, B, C + R W]`, the gradient of the features; `fault`: a deliberate mistake
/// ([`Fault`], tests only).
pub(super) fn backward<T: Real>(
    sizes: &DncSizes,
    packing: &Packing,
    p: &[T],
    tape: &Tape<T>,
    dfeat: &[T],
    fault: Option<Fault>,
) -> Vec<T> {
    let (time, batch) = (tape.time, tape.batch);
    let (c, n, w, reads) = (sizes.hidden, sizes.slots, sizes.width, sizes.read_heads);
    let zero = T::from_f64(0.0);
    let links = if sizes.uses_links() { n * n } else { 0 };
    let interface = sizes.parts().width();
    let mut kept = Kept {
        preactivations: (0..sizes.layers).map(|_| vec![zero; time * batch * sizes.layer_cols()]).collect(),
        interface: vec![zero; time * batch * interface],
    };
    let mut carried = Carried {
        hidden: vec![vec![zero; batch * c]; sizes.layers],
        cells: vec![vec![zero; batch * c]; sizes.layers],
        reads: vec![zero; batch * reads * w],
        memory: vec![zero; batch * w * n],
        link: vec![zero; batch * links],
        precedence: vec![zero; batch * n],
        usage: vec![zero; batch * n],
        write: vec![zero; batch * n],
        read_weightings: vec![vec![zero; batch * n]; reads],
    };
    let widest_layer = (0..sizes.layers).map(|l| sizes.layer_rows(l)).max().unwrap_or(0);
    let mut scratch = Scratch {
        memory_before: vec![zero; batch * w * n],
        interface: vec![zero; interface],
        read: vec![zero; w],
        weighting: vec![zero; n],
        directional: vec![zero; 2 * reads * n],
        content: vec![zero; addr::backward_scratch(n, w)],
        write_weighting: vec![zero; n],
        precedence: vec![zero; n],
        allocation: vec![zero; n],
        usage: vec![zero; n],
        previous_reads: vec![zero; reads * n],
        previous_reads_grad: vec![zero; reads * n],
        columns: vec![zero; 2 * n],
        products: vec![zero; n],
        usage_work: vec![zero; 2 * n],
        write: vec![zero; 3 * n],
        zeros: vec![zero; links.max(n)],
        layer_output: vec![zero; batch * c],
        layer_input: vec![zero; batch * widest_layer],
        hidden: vec![zero; c],
    };
    let given = Given { sizes, packing, p, tape, dfeat, fault };
    for t in (0..time).rev() {
        for b in 0..batch {
            access_backward(&given, (t, b), &mut carried, &mut kept, &mut scratch);
        }
        std::mem::swap(&mut carried.memory, &mut scratch.memory_before);
        controller_backward(&given, t, &mut carried, &mut kept, &mut scratch);
    }
    let mut grad = vec![zero; packing.total];
    for (l, layer) in packing.layers.iter().enumerate() {
        add_rows(layer.h0.of_mut(&mut grad), &carried.hidden[l]);
        add_rows(layer.c0.of_mut(&mut grad), &carried.cells[l]);
    }
    weight_gradients(&given, &kept, &mut grad);
    grad
}

/// The memory access at step t, batch row b, backwards (the module docs' order; the
/// formulas are those of `allocation.rs`, `linkage.rs`, `fused/addressing.rs` and
/// `fused/memory.rs`). From the carried gradients of step t's state and of its read vectors
/// (the features' and step t + 1's controller input's), replaces them by those of step t - 1's
/// state, sets dM_{t-1} ([`Scratch::memory_before`]) and the interface's gradient
/// ([`Kept::interface`]).
fn access_backward<T: Real>(
    given: &Given<T>,
    (t, b): (usize, usize),
    carried: &mut Carried<T>,
    kept: &mut Kept<T>,
    scratch: &mut Scratch<T>,
) {
    let (sizes, tape) = (given.sizes, given.tape);
    let (c, n, w, parts) = (sizes.hidden, sizes.slots, sizes.width, sizes.parts());
    let (reads, width, links) = (sizes.read_heads, parts.width(), sizes.uses_links());
    let (row, feat) = (t * tape.batch + b, sizes.features());
    let before = (t > 0).then(|| row - tape.batch);
    let Scratch { interface: dact, zeros, previous_reads, .. } = scratch;
    let (act, state) = (tape.act.row(row), tape.state.row(row));
    let previous_state = before.map(|r| tape.state.row(r));
    let prev = |k: usize| previous_state.map_or(&zeros[..n], |s| slot(s, k, n));
    let (m_before, m_now) = (tape.memory.row(row), tape.memory.row(row + tape.batch));
    let previous_link = before.map_or(&zeros[..if links { n * n } else { 0 }], |r| tape.link.row(r));
    for (reads_i, previous) in tape.reads.iter().zip(previous_reads.chunks_exact_mut(n)) {
        match before {
            None => previous.fill(T::from_f64(0.0)),
            Some(r) => previous.copy_from_slice(slot(reads_i.row(r), READ_WEIGHTING, n)),
        }
    }
    dact.fill(T::from_f64(0.0));
    let (wn, nn) = (w * n, if links { n * n } else { 0 });
    let dmem = &mut carried.memory[b * wn..(b + 1) * wn];
    let dlink = &mut carried.link[b * nn..(b + 1) * nn];

    // The reads: r = M_t^T w^r, w^r = sum_k pi_k w_k, the content weighting on M_t, f and b.
    for i in 0..reads {
        let read_row = tape.reads[i].row(row);
        for (j, d) in scratch.read.iter_mut().enumerate() {
            *d = given.dfeat[row * feat + c + i * w + j] + carried.reads[(b * reads + i) * w + j];
        }
        scratch.weighting.copy_from_slice(&carried.read_weightings[i][b * n..(b + 1) * n]);
        mem::read_backward(slot(read_row, READ_WEIGHTING, n), m_now, &scratch.read, &mut scratch.weighting, dmem);
        let (dcontent, rest) = scratch.content.split_at_mut(n);
        let (bb, partial) = rest.split_at_mut(n);
        let (dforward, dbackward) = scratch.directional[2 * i * n..2 * (i + 1) * n].split_at_mut(n);
        dforward.fill(T::from_f64(0.0));
        dbackward.fill(T::from_f64(0.0));
        dcontent.fill(T::from_f64(0.0));
        let modes = parts.read_modes(i);
        for (k, mode) in sizes.read_modes.iter().enumerate() {
            let (source, grad) = match mode {
                ReadMode::Backward => (slot(read_row, READ_BACKWARD, n), &mut *dbackward),
                ReadMode::Content => (slot(read_row, READ_CONTENT, n), &mut *dcontent),
                ReadMode::Forward => (slot(read_row, READ_FORWARD, n), &mut *dforward),
            };
            dact[modes.start + k] = dot(&scratch.weighting, source);
            let pi = act[modes.start + k];
            for (g, &d) in grad.iter_mut().zip(scratch.weighting.iter()) {
                *g = pi * d;
            }
        }
        let (key, strength) = (&act[parts.read_key(i)], act[parts.read_strength(i)]);
        let saved = content(read_row, READ_CONTENT, n);
        dact[parts.read_strength(i)] =
            content_backward(key, strength, m_now, saved, (dcontent, bb, partial), dmem, &mut dact[parts.read_key(i)]);
    }

    // The link (with p_{t-1}) and the reads' forward and backward weightings, then the
    // precedence. The read weightings' gradients start here, with these.
    let write_weighting = slot(state, WRITE_WEIGHTING, n);
    let dww = &mut scratch.write_weighting;
    let dp = &mut scratch.precedence;
    dww.fill(T::from_f64(0.0));
    dp.fill(T::from_f64(0.0));
    if links {
        let column_sums = given.fault != Some(Fault::LinkColumnSums);
        let inputs = LinkInputs {
            previous: previous_link,
            write: write_weighting,
            precedence: prev(PRECEDENCE),
            reads: previous_reads,
        };
        let dreads = &mut scratch.previous_reads_grad;
        let grads = LinkGrads { link: dlink, reads: dreads, write: dww, precedence: dp };
        link_backward(&inputs, &scratch.directional, grads, column_sums, &mut scratch.columns);
    } else {
        scratch.previous_reads_grad.fill(T::from_f64(0.0));
    }
    for (carried, d) in carried.read_weightings.iter_mut().zip(scratch.previous_reads_grad.chunks_exact(n)) {
        carried[b * n..(b + 1) * n].copy_from_slice(d);
    }
    let dp_now = &mut carried.precedence[b * n..(b + 1) * n];
    precedence_backward(dp_now, prev(PRECEDENCE), write_weighting, dp, dww);
    dp_now.copy_from_slice(dp);

    // Erase then add: M_t = M_{t-1} (1 - w^w e^T) + w^w v^T.
    {
        let (front, back) = dact.split_at_mut(parts.write_vector().start);
        let mut grads =
            [WriteHeadGrad { weighting: &mut dww[..], erase: &mut front[parts.erase()], add: &mut back[..w] }];
        let head =
            WriteHead { weighting: write_weighting, erase: &act[parts.erase()], add: &act[parts.write_vector()] };
        let dmem_before = &mut scratch.memory_before[b * wn..(b + 1) * wn];
        mem::write_backward(m_before, &[head], dmem, dmem_before, &mut grads, &mut scratch.write);
    }

    // The write weighting w^w = g^w (c + g^a (a - c)), its gradient now whole.
    for (d, &later) in dww.iter_mut().zip(&carried.write[b * n..(b + 1) * n]) {
        *d += later;
    }
    let (ga, gw) = (act[parts.allocation_gate()], act[parts.write_gate()]);
    let (allocation, write_content) = (slot(state, ALLOCATION, n), slot(state, WRITE_CONTENT, n));
    let (dcontent, rest) = scratch.content.split_at_mut(n);
    let (bb, partial) = rest.split_at_mut(n);
    let (mut dgw, mut dga) = (T::from_f64(0.0), T::from_f64(0.0));
    let one = T::from_f64(1.0);
    for j in 0..n {
        let difference = allocation[j] - write_content[j];
        dgw += dww[j] * (write_content[j] + difference * ga);
        let dmixed = gw * dww[j];
        dga += dmixed * difference;
        scratch.allocation[j] = ga * dmixed;
        dcontent[j] = (one - ga) * dmixed;
    }
    dact[parts.write_gate()] = dgw;
    dact[parts.allocation_gate()] = dga;

    // The write content weighting, on M_{t-1}.
    let (key, strength) = (&act[parts.write_key()], act[parts.write_strength()]);
    let saved = content(state, WRITE_CONTENT, n);
    let dmem_before = &mut scratch.memory_before[b * wn..(b + 1) * wn];
    dact[parts.write_strength()] = content_backward(
        key,
        strength,
        m_before,
        saved,
        (dcontent, bb, partial),
        dmem_before,
        &mut dact[parts.write_key()],
    );

    // The allocation (free list fixed), then usage and retention.
    scratch.usage.copy_from_slice(&carried.usage[b * n..(b + 1) * n]);
    let order = &tape.order[row * n..(row + 1) * n];
    allocation_backward(slot(state, USAGE, n), order, &scratch.allocation, &mut scratch.usage, &mut scratch.products);
    let saved = UsageSaved {
        free: &act[parts.free_gates()],
        previous_reads: &previous_reads[..],
        previous_usage: prev(USAGE),
        previous_write: prev(WRITE_WEIGHTING),
        retention: slot(state, RETENTION, n),
    };
    let dprevious_write = &mut carried.write[b * n..(b + 1) * n];
    dprevious_write.fill(T::from_f64(0.0));
    let mut grad = UsageGrad {
        previous_usage: &mut carried.usage[b * n..(b + 1) * n],
        previous_write: dprevious_write,
        free: &mut dact[parts.free_gates()],
        previous_reads: &mut scratch.previous_reads_grad,
    };
    let through_write = given.fault != Some(Fault::UsageThroughWrite);
    usage_backward(&scratch.usage, &saved, &mut grad, through_write, &mut scratch.usage_work);
    for (carried, d) in carried.read_weightings.iter_mut().zip(scratch.previous_reads_grad.chunks_exact(n)) {
        for (c, &d) in carried[b * n..(b + 1) * n].iter_mut().zip(d) {
            *c += d;
        }
    }

    // The interface's activations.
    let draw = &mut kept.interface[row * width..(row + 1) * width];
    activation_backward(tape.raw.row(row), act, dact, draw, parts);
}

/// The controller at step t, all batch rows. First its output: dh_t^L = dfeat_h + dxi_t W^T
/// (`[B, C]`). Then each LSTM layer from the top: the cell's backward with dh^l_t from above
/// and from step t + 1, dc^l_t from step t + 1. The pre-activations' gradient dz `[B, 4C]` is
/// kept, and dz W_l^T, the gradient of the layer's input row `[input_l, h^l_{t-1}]`, splits
/// into dh^{l-1}_t (the next layer down's output) or, for layer 0, dr_{t-1}, and dh^l_{t-1}.
fn controller_backward<T: Real>(
    given: &Given<T>,
    t: usize,
    carried: &mut Carried<T>,
    kept: &mut Kept<T>,
    scratch: &mut Scratch<T>,
) {
    let (sizes, tape, p) = (given.sizes, given.tape, given.p);
    let (batch, c, rw) = (tape.batch, sizes.hidden, sizes.read_heads * sizes.width);
    let (cols, feat, tb, width) = (sizes.layer_cols(), sizes.features(), t * tape.batch, sizes.parts().width());
    let doutput = &mut scratch.layer_output;
    for b in 0..batch {
        doutput[b * c..(b + 1) * c].copy_from_slice(&given.dfeat[(tb + b) * feat..][..c]);
    }
    let dxi = &kept.interface[tb * width..(tb + batch) * width];
    matmul(doutput, true, dxi, (width, 1), given.packing.interface.weight.of(p), (1, width), (batch, c, width));
    for (l, layer) in given.packing.layers.iter().enumerate().rev() {
        let (r, inputs) = (sizes.layer_rows(l), sizes.layer_inputs(l));
        let dz_t = &mut kept.preactivations[l][tb * cols..(tb + batch) * cols];
        for b in 0..batch {
            let (dh_above, dz) = (&doutput[b * c..(b + 1) * c], &mut dz_t[b * cols..(b + 1) * cols]);
            let row = tb + b;
            let from_later = &carried.hidden[l][b * c..(b + 1) * c];
            for ((h, &above), &later) in scratch.hidden.iter_mut().zip(dh_above).zip(from_later) {
                *h = above + later;
            }
            let c_prev = if t == 0 { layer.c0.of(p) } else { tape.cells[l].row(row - batch) };
            let (gates, cell) = (tape.gates[l].row(row), tape.cells[l].row(row));
            let dc = &mut carried.cells[l][b * c..(b + 1) * c];
            cell_backward(gates, c_prev, cell, &scratch.hidden, dc, dz);
        }
        let dinput = &mut scratch.layer_input[..batch * r];
        matmul(dinput, false, dz_t, (cols, 1), layer.weight.of(p), (1, cols), (batch, r, cols));
        for b in 0..batch {
            let d = &dinput[b * r..(b + 1) * r];
            carried.hidden[l][b * c..(b + 1) * c].copy_from_slice(&d[inputs..]);
            if l > 0 {
                doutput[b * c..(b + 1) * c].copy_from_slice(&d[..c]);
            } else {
                carried.reads[b * rw..(b + 1) * rw].copy_from_slice(&d[sizes.inputs..inputs]);
            }
        }
    }
}

/// Every weight and bias gradient, each one matmul over all T B rows: dW_l = xh_l^T dz_l
/// (`[rows, TB] x [TB, 4C]`), dW = h^T dxi (`[C, TB] x [TB, I]`); biases the column sums.
fn weight_gradients<T: Real>(given: &Given<T>, kept: &Kept<T>, grad: &mut [T]) {
    let (sizes, tape) = (given.sizes, given.tape);
    let (c, cols, all) = (sizes.hidden, sizes.layer_cols(), tape.time * tape.batch);
    for (l, layer) in given.packing.layers.iter().enumerate() {
        let r = sizes.layer_rows(l);
        let dz = &kept.preactivations[l];
        matmul(layer.weight.of_mut(grad), false, tape.xh[l].all(), (1, r), dz, (cols, 1), (r, cols, all));
        add_rows(layer.bias.of_mut(grad), dz);
    }
    let top = tape.hidden[sizes.layers - 1].all();
    let (projection, width) = (given.packing.interface, sizes.parts().width());
    matmul(projection.weight.of_mut(grad), false, top, (1, c), &kept.interface, (width, 1), (c, width, all));
    add_rows(projection.bias.of_mut(grad), &kept.interface);
}
