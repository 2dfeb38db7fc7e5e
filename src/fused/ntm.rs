//! The whole NTM over a whole sequence as one custom operation with a hand-derived backward
//! pass (backpropagation through time), computing what stepping [`crate::ntm::Ntm`] with the
//! reference engine computes.
//!
//! The composed step is some 200 graph nodes (controller, heads, addressing, write, read);
//! here a sequence is one node, `parameters [P], inputs [T, B, X] -> features [T, B, C + R M]`,
//! where the features of step t are `[h_t, r_t^1 .. r_t^R]`: the controller's output and the
//! read vectors, which the model's output layer turns into logits with one matmul over all
//! steps. Per step and batch row (paper section 3, figure 1):
//! ```text
//! controller  layer l: z = [input_l, h^l_{t-1}] W_l + b_l   (input_0 = [x_t, r_{t-1}], input_l = h^{l-1}_t)
//!             LSTM: i, f, g, o = gates(z); c = f c_{t-1} + i g; h = o tanh(c)   ([`cell_forward`])
//!             feed-forward: h = tanh(z) (no recurrent input)
//! heads       raw_k = h_t W_k + b_k, activated ([`addr::activate`])
//! write       each write head addresses M_{t-1} from its w_{t-1}; M_t = erase all, add all
//! read        each read head addresses M_t from its w_{t-1}; r_t = w^T M_t
//! ```
//! The forward keeps a [`Tape`] of every intermediate (the memories, `[T + 1, B, M, N]` by
//! columns as [`crate::fused::memory`] wants them, are the largest part), shared with the caller for traces and with the op for its
//! backward, which runs the steps in reverse with the per-row backward passes of
//! [`crate::fused::addressing`], [`crate::fused::memory`] and [`cell_backward`], and forms
//! every weight gradient with one matmul over all T x B rows at the end.
//!
//! The parameters come packed into one flat vector in the order of
//! [`NtmSizes::parameter_shapes`].

use std::any::Any;
use std::sync::{Arc, Mutex};

use candle_core::{
    backend::BackendStorage, CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor,
};

use crate::controller::ControllerKind;
use crate::fused::addressing::{self as addr, SLOTS, SLOT_CONTENT, SLOT_WEIGHTING};
use crate::fused::kernel::{dot, host, matmul, slice, softmax, Real};
use crate::fused::lstm::{cell_backward, cell_forward};
use crate::fused::memory::{self as mem, WriteHead, WriteHeadGrad};
use crate::heads::{Head, HeadKind};
use crate::trace::{HeadStep, HeadTrace};

/// The sizes of an NTM, all the kernel needs to know besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct NtmSizes {
    /// External inputs X per step.
    pub inputs: usize,
    /// LSTM or feed-forward controller.
    pub controller: ControllerKind,
    /// Units per controller layer C.
    pub hidden: usize,
    /// Controller layers L.
    pub layers: usize,
    /// Read heads R.
    pub read_heads: usize,
    /// Write heads W.
    pub write_heads: usize,
    /// Memory slots N.
    pub slots: usize,
    /// Memory width M.
    pub width: usize,
    /// Allowed shifts (S of them).
    pub shifts: Vec<i64>,
}

impl NtmSizes {
    fn lstm(&self) -> bool {
        self.controller == ControllerKind::Lstm
    }

    /// Inputs of controller layer `l` besides its own recurrent state.
    fn layer_inputs(&self, l: usize) -> usize {
        if l == 0 {
            self.inputs + self.read_heads * self.width
        } else {
            self.hidden
        }
    }

    /// Rows of layer `l`'s weight: its inputs, then (LSTM) its previous output.
    fn layer_rows(&self, l: usize) -> usize {
        self.layer_inputs(l) + if self.lstm() { self.hidden } else { 0 }
    }

    /// Columns of every layer's weight: 4C gates (LSTM) or C units.
    fn layer_cols(&self) -> usize {
        if self.lstm() {
            4 * self.hidden
        } else {
            self.hidden
        }
    }

    fn heads(&self) -> usize {
        self.read_heads + self.write_heads
    }

    /// Head k's kind: read heads first, then write heads.
    fn head_kind(&self, k: usize) -> HeadKind {
        if k < self.read_heads {
            HeadKind::Read
        } else {
            HeadKind::Write
        }
    }

    /// Width of head k's projection.
    fn head_width(&self, k: usize) -> usize {
        Head::output_width(self.head_kind(k), self.width, self.shifts.len())
    }

    /// Width of one step's features `[h, r^1 .. r^R]`.
    pub fn features(&self) -> usize {
        self.hidden + self.read_heads * self.width
    }

    /// The shapes of the packed parameters, in order: per controller layer its weight
    /// `[rows, cols]` and bias `[cols]` (and, LSTM, its initial h and c `[C]`); per head (read
    /// heads first) its projection's weight `[C, P]` and bias `[P]`; each read head's initial
    /// read `[M]`; each read, then write head's initial weighting logits `[N]`; the initial
    /// memory `[N, M]`.
    pub fn parameter_shapes(&self) -> Vec<Vec<usize>> {
        let (c, n, m) = (self.hidden, self.slots, self.width);
        let mut shapes = Vec::new();
        for l in 0..self.layers {
            shapes.push(vec![self.layer_rows(l), self.layer_cols()]);
            shapes.push(vec![self.layer_cols()]);
            if self.lstm() {
                shapes.extend([vec![c], vec![c]]);
            }
        }
        for k in 0..self.heads() {
            shapes.extend([vec![c, self.head_width(k)], vec![self.head_width(k)]]);
        }
        shapes.extend((0..self.read_heads).map(|_| vec![m]));
        shapes.extend((0..self.heads()).map(|_| vec![n]));
        shapes.push(vec![n, m]);
        shapes
    }
}

/// Where each parameter starts in the packed vector.
struct Pack {
    starts: Vec<usize>,
    per_layer: usize,
    heads_at: usize,
    total: usize,
}

impl Pack {
    fn new(sizes: &NtmSizes) -> Self {
        let mut starts = Vec::new();
        let mut total = 0;
        for shape in sizes.parameter_shapes() {
            starts.push(total);
            total += shape.iter().product::<usize>();
        }
        let per_layer = if sizes.lstm() { 4 } else { 2 };
        Self { starts, per_layer, heads_at: sizes.layers * per_layer, total }
    }

    fn range(&self, index: usize) -> std::ops::Range<usize> {
        self.starts[index]..self.starts.get(index + 1).copied().unwrap_or(self.total)
    }

    /// Layer l's weight, bias, h0, c0 (`part` 0..4).
    fn layer(&self, l: usize, part: usize) -> std::ops::Range<usize> {
        self.range(l * self.per_layer + part)
    }

    /// Head k's weight (`part` 0) or bias (1).
    fn head(&self, k: usize, part: usize) -> std::ops::Range<usize> {
        self.range(self.heads_at + 2 * k + part)
    }

    fn initial_read(&self, sizes: &NtmSizes, i: usize) -> std::ops::Range<usize> {
        self.range(self.heads_at + 2 * sizes.heads() + i)
    }

    fn initial_logits(&self, sizes: &NtmSizes, k: usize) -> std::ops::Range<usize> {
        self.range(self.heads_at + 2 * sizes.heads() + sizes.read_heads + k)
    }

    fn initial_memory(&self, sizes: &NtmSizes) -> std::ops::Range<usize> {
        self.range(self.heads_at + 3 * sizes.heads() + sizes.read_heads)
    }
}

/// Everything the forward computed, `[T, B, ·]` per quantity unless noted.
struct Tape<T> {
    time: usize,
    batch: usize,
    /// Per layer: its input rows `[input, h_{t-1}]`.
    xh: Vec<Vec<T>>,
    /// Per layer: LSTM activated gates `[4C]` (empty for feed-forward layers).
    gates: Vec<Vec<T>>,
    /// Per layer: LSTM cell states `[C]` (empty for feed-forward layers).
    cells: Vec<Vec<T>>,
    /// Per layer: outputs h `[C]`.
    hidden: Vec<Vec<T>>,
    /// Per head: the projection before clipping and activations `[P]`.
    raw: Vec<Vec<T>>,
    /// Per head: the activated parameters `[P]`.
    act: Vec<Vec<T>>,
    /// Per head: [`addr::address_forward`]'s saved slots `[SLOTS, N]`.
    addressing: Vec<Vec<T>>,
    /// Per head: the initial weighting `[N]` (no batch or time).
    initial_weightings: Vec<Vec<T>>,
    /// Memories M_0 .. M_T, stored by columns: `[T + 1, B, M, N]`.
    memory: Vec<T>,
    /// The op's output `[T, B, C + R M]`.
    features: Vec<T>,
}

impl<T: Real> Tape<T> {
    /// Head k's previous weighting for row b at step t: its weighting at t - 1, or the initial one.
    fn previous(&self, k: usize, t: usize, b: usize, n: usize) -> &[T] {
        if t == 0 {
            &self.initial_weightings[k]
        } else {
            &self.addressing[k][((t - 1) * self.batch + b) * SLOTS * n..][..n]
        }
    }

    /// Head k's saved addressing slots for row b at step t.
    fn addressed(&self, k: usize, t: usize, b: usize, n: usize) -> &[T] {
        &self.addressing[k][(t * self.batch + b) * SLOTS * n..][..SLOTS * n]
    }
}

/// A head's previous weighting (as [`Tape::previous`]) and its saved slots for row b at step
/// t, to be written, from its `addressing` tape and `initial` weighting.
fn previous_and_now<'a, T: Real>(
    addressing: &'a mut [T],
    initial: &'a [T],
    (t, b, batch): (usize, usize, usize),
    n: usize,
) -> (&'a [T], &'a mut [T]) {
    let row = (t * batch + b) * SLOTS * n;
    let (done, now) = addressing.split_at_mut(row);
    let previous = if t == 0 { initial } else { &done[row - batch * SLOTS * n..][..n] };
    (previous, &mut now[..SLOTS * n])
}

/// The forward pass over all steps: `p` packed parameters, `x` `[T, B, X]`.
fn forward<T: Real>(sizes: &NtmSizes, p: &[T], x: &[T], time: usize, batch: usize) -> Tape<T> {
    let pack = Pack::new(sizes);
    let (c, n, m, s) = (sizes.hidden, sizes.slots, sizes.width, sizes.shifts.len());
    let (reads, heads, layers) = (sizes.read_heads, sizes.heads(), sizes.layers);
    let (cols, feat, nm) = (sizes.layer_cols(), sizes.features(), n * m);
    let zero = T::from_f64(0.0);
    let rows: Vec<usize> = (0..layers).map(|l| sizes.layer_rows(l)).collect();
    let widths: Vec<usize> = (0..heads).map(|k| sizes.head_width(k)).collect();
    let lstm = sizes.lstm();
    let per_step = |width: usize| vec![zero; time * batch * width];
    let mut tape = Tape {
        time,
        batch,
        xh: rows.iter().map(|&r| per_step(r)).collect(),
        gates: (0..layers).map(|_| if lstm { per_step(cols) } else { Vec::new() }).collect(),
        cells: (0..layers).map(|_| if lstm { per_step(c) } else { Vec::new() }).collect(),
        hidden: (0..layers).map(|_| per_step(c)).collect(),
        raw: widths.iter().map(|&w| per_step(w)).collect(),
        act: widths.iter().map(|&w| per_step(w)).collect(),
        addressing: (0..heads).map(|_| per_step(SLOTS * n)).collect(),
        initial_weightings: (0..heads)
            .map(|k| {
                let mut w = p[pack.initial_logits(sizes, k)].to_vec();
                softmax(&mut w);
                w
            })
            .collect(),
        memory: vec![zero; (time + 1) * batch * nm],
        features: per_step(feat),
    };
    let initial = &p[pack.initial_memory(sizes)]; // [N, M]
    for b in 0..batch {
        let by_columns = &mut tape.memory[b * nm..(b + 1) * nm]; // [M, N]
        for (i, row) in initial.chunks_exact(m).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                by_columns[c * n + i] = v;
            }
        }
    }
    let mut pre = vec![zero; batch * cols];
    for t in 0..time {
        let tb = t * batch;
        // Controller, layer by layer.
        for l in 0..layers {
            let r = rows[l];
            let inputs = sizes.layer_inputs(l);
            for b in 0..batch {
                let row = &mut tape.xh[l][(tb + b) * r..][..r];
                if l == 0 {
                    row[..sizes.inputs].copy_from_slice(&x[(tb + b) * sizes.inputs..][..sizes.inputs]);
                    for i in 0..reads {
                        let read = &mut row[sizes.inputs + i * m..][..m];
                        if t == 0 {
                            read.copy_from_slice(&p[pack.initial_read(sizes, i)]);
                        } else {
                            read.copy_from_slice(&tape.features[((tb - batch) + b) * feat + c + i * m..][..m]);
                        }
                    }
                } else {
                    row[..c].copy_from_slice(&tape.hidden[l - 1][(tb + b) * c..][..c]);
                }
                if lstm {
                    let h_prev = if t == 0 { &p[pack.layer(l, 2)] } else { &tape.hidden[l][(tb - batch + b) * c..][..c] };
                    row[inputs..].copy_from_slice(h_prev);
                }
            }
            let bias = &p[pack.layer(l, 1)];
            for b in 0..batch {
                pre[b * cols..(b + 1) * cols].copy_from_slice(bias);
            }
            let xh_t = &tape.xh[l][tb * r..(tb + batch) * r];
            matmul(&mut pre, true, xh_t, (r, 1), &p[pack.layer(l, 0)], (cols, 1), (batch, cols, r));
            for b in 0..batch {
                let hv = &mut tape.hidden[l][(tb + b) * c..][..c];
                if lstm {
                    let gates = &mut tape.gates[l][(tb + b) * cols..][..cols];
                    gates.copy_from_slice(&pre[b * cols..(b + 1) * cols]);
                    let (done, now) = tape.cells[l].split_at_mut(tb * c);
                    let c_prev = if t == 0 { &p[pack.layer(l, 3)] } else { &done[(tb - batch + b) * c..][..c] };
                    cell_forward(gates, c_prev, &mut now[b * c..(b + 1) * c], hv);
                } else {
                    for (h, &z) in hv.iter_mut().zip(&pre[b * cols..(b + 1) * cols]) {
                        *h = z.tanh();
                    }
                }
            }
        }
        let top = &tape.hidden[layers - 1][tb * c..(tb + batch) * c];
        // Head projections and activations.
        for k in 0..heads {
            let w = widths[k];
            let raw = &mut tape.raw[k][tb * w..(tb + batch) * w];
            for b in 0..batch {
                raw[b * w..(b + 1) * w].copy_from_slice(&p[pack.head(k, 1)]);
            }
            matmul(raw, true, top, (c, 1), &p[pack.head(k, 0)], (w, 1), (batch, w, c));
            for b in 0..batch {
                let (raw, act) = (&tape.raw[k][(tb + b) * w..][..w], &mut tape.act[k][(tb + b) * w..][..w]);
                addr::activate(raw, act, m, s);
            }
        }
        // Addressing, write, read; row by row.
        let (past, future) = tape.memory.split_at_mut((t + 1) * batch * nm);
        let before = &past[t * batch * nm..];
        for b in 0..batch {
            let (m_prev, m_next) = (&before[b * nm..(b + 1) * nm], &mut future[b * nm..(b + 1) * nm]);
            for k in reads..heads {
                let (prev, saved) =
                    previous_and_now(&mut tape.addressing[k], &tape.initial_weightings[k], (t, b, batch), n);
                let act = &tape.act[k][(tb + b) * widths[k]..][..widths[k]];
                addr::address_forward(act, m_prev, prev, &sizes.shifts, saved);
            }
            let writes: Vec<WriteHead<T>> = (reads..heads)
                .map(|k| write_head(&tape.act[k], &tape.addressing[k], sizes, tb + b))
                .collect();
            mem::write(m_prev, &writes, m_next);
            let features = &mut tape.features[(tb + b) * feat..][..feat];
            features[..c].copy_from_slice(&tape.hidden[layers - 1][(tb + b) * c..][..c]);
            for k in 0..reads {
                let (prev, saved) =
                    previous_and_now(&mut tape.addressing[k], &tape.initial_weightings[k], (t, b, batch), n);
                let act = &tape.act[k][(tb + b) * widths[k]..][..widths[k]];
                addr::address_forward(act, m_next, prev, &sizes.shifts, saved);
                mem::read(&saved[..n], m_next, &mut features[c + k * m..][..m]);
            }
        }
    }
    tape
}

/// A write head's weighting, erase and add for tape row `row` (= t B + b), from its
/// activated parameters `act` and `addressing` tapes.
fn write_head<'a, T: Real>(act: &'a [T], addressing: &'a [T], sizes: &NtmSizes, row: usize) -> WriteHead<'a, T> {
    let (n, m) = (sizes.slots, sizes.width);
    let width = Head::output_width(HeadKind::Write, m, sizes.shifts.len());
    let act = &act[row * width..][..width];
    let at = width - 2 * m;
    WriteHead {
        weighting: &addressing[row * SLOTS * n..][..n],
        erase: &act[at..at + m],
        add: &act[at + m..],
    }
}

/// `dst += ` the sum of the rows of `rows` (each `dst.len()` long).
fn add_rows<T: Real>(dst: &mut [T], rows: &[T]) {
    for row in rows.chunks_exact(dst.len()) {
        for (d, &v) in dst.iter_mut().zip(row) {
            *d += v;
        }
    }
}

/// The backward pass: from the tape and `dfeat` `[T, B, C + R M]`, the gradient of the
/// features, the gradient of the packed parameters `p`.
fn backward<T: Real>(sizes: &NtmSizes, p: &[T], tape: &Tape<T>, dfeat: &[T]) -> Vec<T> {
    let pack = Pack::new(sizes);
    let (time, batch) = (tape.time, tape.batch);
    let (c, n, m, s) = (sizes.hidden, sizes.slots, sizes.width, sizes.shifts.len());
    let (reads, heads, layers) = (sizes.read_heads, sizes.heads(), sizes.layers);
    let (cols, feat, nm) = (sizes.layer_cols(), sizes.features(), n * m);
    let (zero, one) = (T::from_f64(0.0), T::from_f64(1.0));
    let rows: Vec<usize> = (0..layers).map(|l| sizes.layer_rows(l)).collect();
    let widths: Vec<usize> = (0..heads).map(|k| sizes.head_width(k)).collect();
    let lstm = sizes.lstm();
    let mut grad = vec![zero; pack.total];
    // Kept for every step, for the weight gradients at the end.
    let mut dgates: Vec<Vec<T>> = (0..layers).map(|_| vec![zero; time * batch * cols]).collect();
    let mut draw: Vec<Vec<T>> = widths.iter().map(|&w| vec![zero; time * batch * w]).collect();
    // Carried from step t + 1 back to step t: the gradients of h^l_t and c^l_t, of r_t (as
    // step t + 1's controller input), of every head's w_t (as its previous weighting) and of M_t.
    let mut dh = vec![vec![zero; batch * c]; layers];
    let mut dc = vec![vec![zero; batch * c]; layers];
    let mut dreads = vec![zero; batch * reads * m];
    let mut dweighting = vec![vec![zero; batch * n]; heads];
    let mut dmem = vec![zero; batch * nm];
    // Scratch.
    let mut dmem_prev = vec![zero; batch * nm];
    let (mut dr, mut dw, mut dprev, mut scratch) = (vec![zero; m], vec![zero; n], vec![zero; n], vec![zero; addr::backward_scratch(n, m)]);
    let mut dact = vec![zero; widths.iter().copied().max().unwrap_or(0)];
    let write_width = n + 2 * m;
    let mut write_grads = vec![zero; sizes.write_heads * write_width];
    let mut write_scratch = vec![zero; (2 * sizes.write_heads + 1) * n];
    let mut dtop = vec![zero; batch * c];
    let mut dxh = vec![zero; batch * rows.iter().copied().max().unwrap_or(0)];
    let mut dh_row = vec![zero; c];

    for t in (0..time).rev() {
        let tb = t * batch;
        for b in 0..batch {
            let row = tb + b;
            let m_prev = &tape.memory[row * nm..][..nm];
            let m_next = &tape.memory[(row + batch) * nm..][..nm];
            // Read heads: r = w^T M_t, w addressed over M_t.
            for k in 0..reads {
                let w = widths[k];
                for j in 0..m {
                    dr[j] = dfeat[row * feat + c + k * m + j] + dreads[(b * reads + k) * m + j];
                }
                dw.copy_from_slice(&dweighting[k][b * n..(b + 1) * n]);
                let saved = tape.addressed(k, t, b, n);
                let dmem_b = &mut dmem[b * nm..(b + 1) * nm];
                mem::read_backward(&saved[..n], m_next, &dr, &mut dw, dmem_b);
                let act = &tape.act[k][row * w..][..w];
                let prev = tape.previous(k, t, b, n);
                addr::address_backward(act, m_next, prev, &sizes.shifts, saved, &dw, &mut dact[..w], dmem_b, &mut dprev, &mut scratch);
                dweighting[k][b * n..(b + 1) * n].copy_from_slice(&dprev);
                addr::activation_backward(&tape.raw[k][row * w..][..w], act, &dact[..w], &mut draw[k][row * w..][..w], m, s);
            }
            // The write M_{t-1} -> M_t, then the write heads, addressed over M_{t-1}.
            let writes: Vec<WriteHead<T>> =
                (reads..heads).map(|k| write_head(&tape.act[k], &tape.addressing[k], sizes, row)).collect();
            let dmem_prev_b = &mut dmem_prev[b * nm..(b + 1) * nm];
            write_grads.fill(zero);
            let mut grads: Vec<WriteHeadGrad<T>> = write_grads
                .chunks_exact_mut(write_width)
                .map(|g| {
                    let (weighting, rest) = g.split_at_mut(n);
                    let (erase, add) = rest.split_at_mut(m);
                    WriteHeadGrad { weighting, erase, add }
                })
                .collect();
            let dmem_b = &dmem[b * nm..(b + 1) * nm];
            mem::write_backward(m_prev, &writes, dmem_b, dmem_prev_b, &mut grads, &mut write_scratch);
            drop(grads);
            for (j, k) in (reads..heads).enumerate() {
                let w = widths[k];
                let g = &write_grads[j * write_width..][..write_width];
                for i in 0..n {
                    dw[i] = g[i] + dweighting[k][b * n + i];
                }
                dact[w - 2 * m..w].copy_from_slice(&g[n..]); // erase, add
                let act = &tape.act[k][row * w..][..w];
                let (prev, saved) = (tape.previous(k, t, b, n), tape.addressed(k, t, b, n));
                addr::address_backward(act, m_prev, prev, &sizes.shifts, saved, &dw, &mut dact[..w], dmem_prev_b, &mut dprev, &mut scratch);
                dweighting[k][b * n..(b + 1) * n].copy_from_slice(&dprev);
                addr::activation_backward(&tape.raw[k][row * w..][..w], act, &dact[..w], &mut draw[k][row * w..][..w], m, s);
            }
        }
        std::mem::swap(&mut dmem, &mut dmem_prev);
        // The heads' projections and the features -> the controller's output.
        for b in 0..batch {
            dtop[b * c..(b + 1) * c].copy_from_slice(&dfeat[(tb + b) * feat..][..c]);
        }
        for k in 0..heads {
            let w = widths[k];
            matmul(&mut dtop, true, &draw[k][tb * w..(tb + batch) * w], (w, 1), &p[pack.head(k, 0)], (1, w), (batch, c, w));
        }
        // The controller, top layer down; dtop holds the gradient of the layer's output.
        for l in (0..layers).rev() {
            let (r, inputs) = (rows[l], sizes.layer_inputs(l));
            let dg_t = &mut dgates[l][tb * cols..(tb + batch) * cols];
            for b in 0..batch {
                let (din, dg) = (&dtop[b * c..(b + 1) * c], &mut dg_t[b * cols..(b + 1) * cols]);
                let row = tb + b;
                if lstm {
                    for j in 0..c {
                        dh_row[j] = din[j] + dh[l][b * c + j];
                    }
                    let c_prev = if t == 0 { &p[pack.layer(l, 3)] } else { &tape.cells[l][(row - batch) * c..][..c] };
                    let (gates, cell) = (&tape.gates[l][row * cols..][..cols], &tape.cells[l][row * c..][..c]);
                    cell_backward(gates, c_prev, cell, &dh_row, &mut dc[l][b * c..(b + 1) * c], dg);
                } else {
                    let h = &tape.hidden[l][row * c..][..c];
                    for j in 0..c {
                        dg[j] = din[j] * (one - h[j] * h[j]);
                    }
                }
            }
            let dx = &mut dxh[..batch * r];
            matmul(dx, false, dg_t, (cols, 1), &p[pack.layer(l, 0)], (1, cols), (batch, r, cols));
            for b in 0..batch {
                let d = &dx[b * r..(b + 1) * r];
                if lstm {
                    dh[l][b * c..(b + 1) * c].copy_from_slice(&d[inputs..]);
                }
                if l > 0 {
                    dtop[b * c..(b + 1) * c].copy_from_slice(&d[..c]);
                } else {
                    dreads[b * reads * m..(b + 1) * reads * m].copy_from_slice(&d[sizes.inputs..inputs]);
                }
            }
        }
    }
    // The initial state, summed over the batch rows it was broadcast to.
    if lstm {
        for l in 0..layers {
            add_rows(&mut grad[pack.layer(l, 2)], &dh[l]);
            add_rows(&mut grad[pack.layer(l, 3)], &dc[l]);
        }
    }
    for b in 0..batch {
        for i in 0..reads {
            add_rows(&mut grad[pack.initial_read(sizes, i)], &dreads[(b * reads + i) * m..][..m]);
        }
    }
    for k in 0..heads {
        // w_0 = softmax(logits): dlogits = w_0 (g - <w_0, g>)
        let mut g = vec![zero; n];
        add_rows(&mut g, &dweighting[k]);
        let w0 = &tape.initial_weightings[k];
        let inner = dot(w0, &g);
        for ((d, &w), &gi) in grad[pack.initial_logits(sizes, k)].iter_mut().zip(w0).zip(&g) {
            *d = w * (gi - inner);
        }
    }
    let mut by_columns = vec![zero; nm]; // [M, N]
    add_rows(&mut by_columns, &dmem);
    let initial = &mut grad[pack.initial_memory(sizes)]; // [N, M]
    for (i, row) in initial.chunks_exact_mut(m).enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = by_columns[c * n + i];
        }
    }
    // Every weight: one matmul over all T B rows, [rows, TB] x [TB, cols].
    let all = time * batch;
    for l in 0..layers {
        let r = rows[l];
        matmul(&mut grad[pack.layer(l, 0)], false, &tape.xh[l], (1, r), &dgates[l], (cols, 1), (r, cols, all));
        add_rows(&mut grad[pack.layer(l, 1)], &dgates[l]);
    }
    let top = &tape.hidden[layers - 1];
    for k in 0..heads {
        let w = widths[k];
        matmul(&mut grad[pack.head(k, 0)], false, top, (1, c), &draw[k], (w, 1), (c, w, all));
        add_rows(&mut grad[pack.head(k, 1)], &draw[k]);
    }
    grad
}

/// The forward's tape (a `Tape<f32>` or `Tape<f64>`), shared by the op (for its backward)
/// and the caller (for traces).
type SharedTape = Arc<Mutex<Option<Box<dyn Any + Send>>>>;

struct NtmSequence {
    sizes: NtmSizes,
    tape: SharedTape,
}

fn lock(tape: &SharedTape) -> Result<std::sync::MutexGuard<'_, Option<Box<dyn Any + Send>>>> {
    tape.lock().map_err(|_| candle_core::Error::Msg("fused ntm: the tape's lock is poisoned".into()))
}

impl NtmSequence {
    /// `(T, B)` after checking the shapes.
    fn dims(&self, params: &Layout, inputs: &Layout) -> Result<(usize, usize)> {
        let (time, batch, x) = inputs.shape().dims3()?;
        let total = Pack::new(&self.sizes).total;
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

    fn fwd_typed<T: Real>(&self, p: &[T], x: &[T], (time, batch): (usize, usize)) -> Result<CpuStorage> {
        let tape = forward(&self.sizes, p, x, time, batch);
        let features = tape.features.clone();
        *lock(&self.tape)? = Some(Box::new(tape));
        Ok(T::to_cpu_storage_owned(features))
    }

    fn bwd_typed<T: Real>(&self, params: &Tensor, grad: &Tensor) -> Result<Tensor> {
        let guard = lock(&self.tape)?;
        let Some(tape) = guard.as_ref().and_then(|t| t.downcast_ref::<Tape<T>>()) else {
            candle_core::bail!("fused ntm: the backward found no tape of its forward");
        };
        let d = backward(&self.sizes, &host::<T>(params)?, tape, &host::<T>(grad)?);
        Tensor::from_vec(d, params.shape(), params.device())
    }
}

impl CustomOp2 for NtmSequence {
    fn name(&self) -> &'static str {
        "fused-ntm-sequence"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (time, batch) = self.dims(l1, l2)?;
        let shape = Shape::from((time, batch, self.sizes.features()));
        let storage = match s1.dtype() {
            DType::F32 => self.fwd_typed::<f32>(slice(s1, l1)?, slice(s2, l2)?, (time, batch))?,
            DType::F64 => self.fwd_typed::<f64>(slice(s1, l1)?, slice(s2, l2)?, (time, batch))?,
            dtype => candle_core::bail!("fused ntm: unsupported dtype {dtype:?}"),
        };
        Ok((storage, shape))
    }

    fn bwd(&self, params: &Tensor, _inputs: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let d = match params.dtype() {
            DType::F32 => self.bwd_typed::<f32>(params, grad)?,
            DType::F64 => self.bwd_typed::<f64>(params, grad)?,
            dtype => candle_core::bail!("fused ntm: unsupported dtype {dtype:?}"),
        };
        // The inputs are data: no gradient.
        Ok((Some(d), None))
    }
}

/// One forward pass of the fused NTM: its features, and its tape for traces.
pub struct NtmRun {
    /// `[T, B, C + R M]`: per step the controller's output and the read vectors.
    pub features: Tensor,
    sizes: NtmSizes,
    tape: SharedTape,
}

/// Runs the NTM of `sizes` over `inputs` `[T, B, X]`, with `parameters` in the order and
/// shapes of [`NtmSizes::parameter_shapes`]; differentiable with respect to every parameter.
pub fn run(sizes: &NtmSizes, parameters: &[Tensor], inputs: &Tensor) -> Result<NtmRun> {
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
    let packed = Tensor::cat(&flat, 0)?;
    let tape: SharedTape = Arc::new(Mutex::new(None));
    let op = NtmSequence { sizes: sizes.clone(), tape: tape.clone() };
    let features = packed.apply_op2(&inputs.contiguous()?, op)?;
    Ok(NtmRun { features, sizes: sizes.clone(), tape })
}

impl NtmRun {
    /// What every head did in batch row 0 (read heads first, then write heads), as the
    /// reference engine's traces record it.
    pub fn head_traces(&self) -> Result<Vec<HeadTrace>> {
        let guard = lock(&self.tape)?;
        let tape = guard.as_ref();
        if let Some(t) = tape.and_then(|t| t.downcast_ref::<Tape<f32>>()) {
            return Ok(traces(t, &self.sizes));
        }
        match tape.and_then(|t| t.downcast_ref::<Tape<f64>>()) {
            Some(t) => Ok(traces(t, &self.sizes)),
            None => candle_core::bail!("fused ntm: no tape to trace"),
        }
    }
}

fn traces<T: Real>(tape: &Tape<T>, sizes: &NtmSizes) -> Vec<HeadTrace> {
    let (c, n, m, s) = (sizes.hidden, sizes.slots, sizes.width, sizes.shifts.len());
    let floats = |v: &[T]| v.iter().map(|x| x.to_f64() as f32).collect::<Vec<f32>>();
    (0..sizes.heads())
        .map(|k| {
            let (kind, w) = (sizes.head_kind(k), sizes.head_width(k));
            let steps = (0..tape.time)
                .map(|t| {
                    let row = t * tape.batch; // batch row 0
                    let act = &tape.act[k][row * w..][..w];
                    let saved = tape.addressed(k, t, 0, n);
                    let at = m + s + 3;
                    let features = &tape.features[row * sizes.features()..];
                    HeadStep {
                        weighting: floats(&saved[SLOT_WEIGHTING * n..][..n]),
                        content_weighting: floats(&saved[SLOT_CONTENT * n..][..n]),
                        key: floats(&act[..m]),
                        beta: act[m].to_f64() as f32,
                        gate: act[m + 1].to_f64() as f32,
                        shift: floats(&act[m + 2..m + 2 + s]),
                        gamma: act[m + 2 + s].to_f64() as f32,
                        erase: (kind == HeadKind::Write).then(|| floats(&act[at..at + m])),
                        add: (kind == HeadKind::Write).then(|| floats(&act[at + m..at + 2 * m])),
                        read: (kind == HeadKind::Read).then(|| floats(&features[c + k * m..][..m])),
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
    use crate::fused::kernel::{allow_avx2, has_avx2};
    use rand::{Rng, SeedableRng};

    /// The kernel's routines compiled with AVX2 and FMA give the same bits as the baseline
    /// build, forward and backward (a guard against anything reordering a sum or fusing a
    /// multiply-add on one path only).
    #[test]
    fn avx2_and_baseline_builds_agree_bit_for_bit() {
        if !has_avx2() {
            eprintln!("no AVX2 on this CPU: nothing to compare");
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
        let p = random(Pack::new(&sizes).total);
        let x = random(time * batch * sizes.inputs);
        let dfeat = random(time * batch * sizes.features());
        let run = || {
            let tape = forward(&sizes, &p, &x, time, batch);
            let grad = backward(&sizes, &p, &tape, &dfeat);
            (tape.features, tape.memory, grad)
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
