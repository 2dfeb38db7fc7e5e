//! The backward pass of the fused NTM: backpropagation through time over the [`Tape`], step
//! by step in reverse with the per-row backward passes, then every weight gradient as one
//! matmul over all T x B rows.

use crate::fused::addressing as addr;
use crate::fused::kernel::{dot, matmul, Real};
use crate::fused::lstm::cell_backward;
use crate::fused::memory::{self as mem, WriteHead, WriteHeadGrad};

use super::sizes::{NtmSizes, Packing};
use super::tape::{write_head, Tape};

/// `dst += ` the sum of the rows of `rows` (each `dst.len()` long).
fn add_rows<T: Real>(dst: &mut [T], rows: &[T]) {
    for row in rows.chunks_exact(dst.len()) {
        for (d, &v) in dst.iter_mut().zip(row) {
            *d += v;
        }
    }
}

/// The backward pass: returns the gradient of the packed parameters `p`, given the tape and
/// `dfeat` `[T, B, C + R M]`, the gradient of the features. Per step, in reverse: the read
/// heads (r = w^T M_t, then their addressing over M_t), the write (M_{t-1} -> M_t) and the
/// write heads' addressing over M_{t-1}; then the heads' projections (dh_t += draw_k W_k^T)
/// and the controller from its top layer down (dxh = dz W_l^T, split into the layer's input,
/// its own h_{t-1}, and for layer 0 the reads r_{t-1}).
pub(super) fn backward<T: Real>(
    sizes: &NtmSizes,
    packing: &Packing,
    p: &[T],
    tape: &Tape<T>,
    dfeat: &[T],
) -> Vec<T> {
    let (time, batch) = (tape.time, tape.batch);
    let (c, n, m) = (sizes.hidden, sizes.slots, sizes.width);
    let (reads, heads, layers) = (sizes.read_heads, sizes.heads(), sizes.layers);
    let (cols, feat, nm) = (sizes.layer_cols(), sizes.features(), n * m);
    let (zero, one) = (T::from_f64(0.0), T::from_f64(1.0));
    let rows: Vec<usize> = (0..layers).map(|l| sizes.layer_rows(l)).collect();
    let widths: Vec<usize> = (0..heads).map(|k| sizes.head_width(k)).collect();
    let lstm = sizes.lstm();
    let mut grad = vec![zero; packing.total];
    // Kept for every step, for the weight gradients at the end.
    let mut dgates: Vec<Vec<T>> = (0..layers)
        .map(|_| vec![zero; time * batch * cols])
        .collect();
    let mut draw: Vec<Vec<T>> = widths
        .iter()
        .map(|&w| vec![zero; time * batch * w])
        .collect();
    // Carried from step t + 1 back to step t: the gradients of h^l_t and c^l_t, of r_t (as
    // step t + 1's controller input), of every head's w_t (as its previous weighting) and of M_t.
    let mut dh = vec![vec![zero; batch * c]; layers];
    let mut dc = vec![vec![zero; batch * c]; layers];
    let mut dreads = vec![zero; batch * reads * m];
    let mut dweighting = vec![vec![zero; batch * n]; heads];
    let mut dmem = vec![zero; batch * nm];
    // Scratch.
    let mut dmem_prev = vec![zero; batch * nm];
    let (mut dr, mut dw, mut scratch) = (
        vec![zero; m],
        vec![zero; n],
        vec![zero; addr::backward_scratch(n, m)],
    );
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
                let (dweighting_b, draw_b) = (
                    &mut dweighting[k][b * n..(b + 1) * n],
                    &mut draw[k][row * w..][..w],
                );
                let rows = (dmem_b, dweighting_b, draw_b);
                head_backward(
                    tape,
                    sizes,
                    (k, t, b),
                    m_next,
                    &dw,
                    &mut dact[..w],
                    rows,
                    &mut scratch,
                );
            }
            // The write M_{t-1} -> M_t, then the write heads, addressed over M_{t-1}.
            let writes: Vec<WriteHead<T>> = (reads..heads)
                .map(|k| write_head(&tape.act[k], &tape.addressing[k], sizes, row))
                .collect();
            let dmem_prev_b = &mut dmem_prev[b * nm..(b + 1) * nm];
            write_grads.fill(zero);
            let mut grads: Vec<WriteHeadGrad<T>> = write_grads
                .chunks_exact_mut(write_width)
                .map(|g| {
                    let (weighting, rest) = g.split_at_mut(n);
                    let (erase, add) = rest.split_at_mut(m);
                    WriteHeadGrad {
                        weighting,
                        erase,
                        add,
                    }
                })
                .collect();
            let dmem_b = &dmem[b * nm..(b + 1) * nm];
            mem::write_backward(
                m_prev,
                &writes,
                dmem_b,
                dmem_prev_b,
                &mut grads,
                &mut write_scratch,
            );
            drop(grads);
            for (j, k) in (reads..heads).enumerate() {
                let w = widths[k];
                let g = &write_grads[j * write_width..][..write_width];
                for i in 0..n {
                    dw[i] = g[i] + dweighting[k][b * n + i];
                }
                let parts = sizes.parts();
                dact[parts.erase()].copy_from_slice(&g[n..n + m]);
                dact[parts.add()].copy_from_slice(&g[n + m..]);
                let (dweighting_b, draw_b) = (
                    &mut dweighting[k][b * n..(b + 1) * n],
                    &mut draw[k][row * w..][..w],
                );
                let dmem_prev_b = &mut dmem_prev[b * nm..(b + 1) * nm];
                let rows = (dmem_prev_b, dweighting_b, draw_b);
                head_backward(
                    tape,
                    sizes,
                    (k, t, b),
                    m_prev,
                    &dw,
                    &mut dact[..w],
                    rows,
                    &mut scratch,
                );
            }
        }
        std::mem::swap(&mut dmem, &mut dmem_prev);
        // The heads' projections and the features -> the controller's output.
        for b in 0..batch {
            dtop[b * c..(b + 1) * c].copy_from_slice(&dfeat[(tb + b) * feat..][..c]);
        }
        for (k, projection) in packing.heads.iter().enumerate() {
            let w = widths[k];
            matmul(
                &mut dtop,
                true,
                &draw[k][tb * w..(tb + batch) * w],
                (w, 1),
                projection.weight.of(p),
                (1, w),
                (batch, c, w),
            );
        }
        // The controller, top layer down; dtop holds the gradient of the layer's output.
        for (l, layer) in packing.layers.iter().enumerate().rev() {
            let (r, inputs) = (rows[l], sizes.layer_inputs(l));
            let dg_t = &mut dgates[l][tb * cols..(tb + batch) * cols];
            for b in 0..batch {
                let (din, dg) = (
                    &dtop[b * c..(b + 1) * c],
                    &mut dg_t[b * cols..(b + 1) * cols],
                );
                let row = tb + b;
                if let Some(initial) = layer.initial {
                    for j in 0..c {
                        dh_row[j] = din[j] + dh[l][b * c + j];
                    }
                    let c_prev = if t == 0 {
                        initial.cell.of(p)
                    } else {
                        &tape.cells[l][(row - batch) * c..][..c]
                    };
                    let (gates, cell) = (
                        &tape.gates[l][row * cols..][..cols],
                        &tape.cells[l][row * c..][..c],
                    );
                    cell_backward(
                        gates,
                        c_prev,
                        cell,
                        &dh_row,
                        &mut dc[l][b * c..(b + 1) * c],
                        dg,
                    );
                } else {
                    let h = &tape.hidden[l][row * c..][..c];
                    for j in 0..c {
                        dg[j] = din[j] * (one - h[j] * h[j]);
                    }
                }
            }
            let dx = &mut dxh[..batch * r];
            matmul(
                dx,
                false,
                dg_t,
                (cols, 1),
                layer.weight.of(p),
                (1, cols),
                (batch, r, cols),
            );
            for b in 0..batch {
                let d = &dx[b * r..(b + 1) * r];
                if lstm {
                    dh[l][b * c..(b + 1) * c].copy_from_slice(&d[inputs..]);
                }
                if l > 0 {
                    dtop[b * c..(b + 1) * c].copy_from_slice(&d[..c]);
                } else {
                    dreads[b * reads * m..(b + 1) * reads * m]
                        .copy_from_slice(&d[sizes.inputs..inputs]);
                }
            }
        }
    }
    // The initial state, summed over the batch rows it was broadcast to.
    for (l, layer) in packing.layers.iter().enumerate() {
        if let Some(initial) = layer.initial {
            add_rows(initial.hidden.of_mut(&mut grad), &dh[l]);
            add_rows(initial.cell.of_mut(&mut grad), &dc[l]);
        }
    }
    for b in 0..batch {
        for i in 0..reads {
            add_rows(
                packing.initial_reads[i].of_mut(&mut grad),
                &dreads[(b * reads + i) * m..][..m],
            );
        }
    }
    for k in 0..heads {
        // w_0 = softmax(logits): dlogits = w_0 (g - <w_0, g>)
        let mut g = vec![zero; n];
        add_rows(&mut g, &dweighting[k]);
        let w0 = &tape.initial_weightings[k];
        let inner = dot(w0, &g);
        for ((d, &w), &gi) in packing.initial_logits[k]
            .of_mut(&mut grad)
            .iter_mut()
            .zip(w0)
            .zip(&g)
        {
            *d = w * (gi - inner);
        }
    }
    let mut by_columns = vec![zero; nm]; // [M, N]
    add_rows(&mut by_columns, &dmem);
    let initial = packing.initial_memory.of_mut(&mut grad); // [N, M]
    for (i, row) in initial.chunks_exact_mut(m).enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = by_columns[c * n + i];
        }
    }
    // Every weight: one matmul over all T B rows, [rows, TB] x [TB, cols].
    let all = time * batch;
    for (l, layer) in packing.layers.iter().enumerate() {
        let r = rows[l];
        matmul(
            layer.weight.of_mut(&mut grad),
            false,
            &tape.xh[l],
            (1, r),
            &dgates[l],
            (cols, 1),
            (r, cols, all),
        );
        add_rows(layer.bias.of_mut(&mut grad), &dgates[l]);
    }
    let top = &tape.hidden[layers - 1];
    for (k, projection) in packing.heads.iter().enumerate() {
        let w = widths[k];
        matmul(
            projection.weight.of_mut(&mut grad),
            false,
            top,
            (1, c),
            &draw[k],
            (w, 1),
            (c, w, all),
        );
        add_rows(projection.bias.of_mut(&mut grad), &draw[k]);
    }
    grad
}

/// Head k's addressing and activations backward for batch row b at step t, over the memory
/// `mem` it addressed: from `dw`, the whole gradient of its weighting, and `dact` holding the
/// gradient of its erase and add (write heads), adds to `dmem` and sets the gradient of its
/// previous weighting (`dprev`) and of its projection (`draw`), given as `rows`.
#[allow(clippy::too_many_arguments)]
fn head_backward<T: Real>(
    tape: &Tape<T>,
    sizes: &NtmSizes,
    (k, t, b): (usize, usize, usize),
    mem: &[T],
    dw: &[T],
    dact: &mut [T],
    (dmem, dprev, draw): (&mut [T], &mut [T], &mut [T]),
    scratch: &mut [T],
) {
    let n = sizes.slots;
    let w = dact.len();
    let row = t * tape.batch + b;
    let (act, raw) = (&tape.act[k][row * w..][..w], &tape.raw[k][row * w..][..w]);
    let (prev, saved) = (tape.previous(k, t, b, n), tape.addressed(k, t, b, n));
    addr::address_backward(
        act,
        mem,
        prev,
        &sizes.shifts,
        saved,
        dw,
        dact,
        dmem,
        dprev,
        scratch,
    );
    addr::activation_backward(raw, act, dact, draw, sizes.parts());
}
