//! The batch's rows in groups, one per thread: each thread carries its group's rows through
//! every step of the forward, and later of the backward through time, with no join between
//! steps (a step's work per row is some microseconds, too little to share out step by step).
//!
//! A row's values depend on that row alone, so a group computes, row for row, what the whole
//! batch computes, as long as the products each step forms for the group's rows (the
//! controller's and the heads', [`products`]) give every value the bits the whole batch's give
//! it: [`Threads::row_groups`] cuts the rows only where they do. The groups' tapes stay apart;
//! the backward joins what they traced in the batch's row order and forms every weight
//! gradient as one product over all T x B rows, as one thread does. So the results are the
//! same bits on any number of threads (`tests/threads.rs`).

use std::ops::Range;

use crate::base::pool;
use crate::fused::kernel::Real;
use crate::fused::split::{RowProduct, Threads};
use crate::fused::tape::{group_rows, Keep, RowsByGroup};

use super::backward::{input_gradient_product, parameter_gradients, through_time, Carried, Inputs, Kept, Traced};
use super::forward::forward;
use super::sizes::{NtmSizes, Packing};
use super::tape::Tape;

/// The tapes of a forward over `[T, B]` rows in groups: per group its rows and its tape.
pub(super) struct Grouped<T: Real> {
    time: usize,
    batch: usize,
    groups: Vec<(Range<usize>, Tape<T>)>,
}

impl<T: Real> Grouped<T> {
    /// The tape of the group that holds batch row 0 (its row 0), for traces.
    pub(super) fn first(&self) -> &Tape<T> {
        &self.groups[0].1
    }
}

/// The products a step forms for a group of rows: per layer z = [input_l, h^l_{t-1}] W_l
/// (`[B, rows] x [rows, cols]`) and its input's gradient dz W_l^T, per head raw = h W_k
/// (`[B, C] x [C, P]`) and dh += draw W_k^T, in the layouts `forward.rs` and `backward.rs`
/// give them.
fn products(sizes: &NtmSizes) -> Vec<RowProduct> {
    let (c, cols) = (sizes.hidden, sizes.layer_cols());
    let product = |n, k, lhs_k_stride, rhs_k_stride| RowProduct { n, k, lhs_k_stride, rhs_k_stride };
    let layers = (0..sizes.layers).flat_map(|l| {
        let rows = sizes.layer_rows(l);
        [product(cols, rows, 1, cols), input_gradient_product(sizes, l)]
    });
    let heads = (0..sizes.heads()).flat_map(|k| {
        let w = sizes.head_width(k);
        [product(w, c, 1, w), product(c, w, 1, 1)]
    });
    layers.chain(heads).collect()
}

/// `f(group)` for every group (its rows, or its rows and tape), the first on the calling thread
/// and each other on a kernel thread, the results in the groups' order.
fn each_group<G: Sync, R: Send>(groups: &[G], f: impl Fn(&G) -> R + Sync) -> Vec<R> {
    let mut results: Vec<Option<R>> = groups.iter().map(|_| None).collect();
    if let Some((first, others)) = results.split_first_mut() {
        pool::kernel_pool().in_place_scope(|scope| {
            for (slot, group) in others.iter_mut().zip(&groups[1..]) {
                let f = &f;
                scope.spawn(move |_| *slot = Some(f(group)));
            }
            *first = Some(f(&groups[0]));
        });
    }
    results.into_iter().map(|r| r.expect("every group ran")).collect()
}

/// The forward over inputs `x` `[T, B, X]` (as [`forward`]), its rows in groups over the
/// threads: the features `[T, B, C + R M]` (each group writes its rows) and the groups' tapes.
pub(super) fn forward_grouped<T: Real>(
    sizes: &NtmSizes,
    packing: &Packing,
    p: &[T],
    x: &[T],
    (time, batch): (usize, usize),
    keep: Keep,
) -> (Vec<T>, Grouped<T>) {
    let groups = Threads::now().row_groups(batch, &products(sizes));
    if groups.len() == 1 {
        let mut tape = forward(sizes, packing, p, x, (time, batch), keep);
        // The tape keeps its features for the traces (all steps kept) or is dropped.
        let features = match keep {
            Keep::All => tape.features.all().to_vec(),
            Keep::Last => tape.features.take_values(),
        };
        return (features, Grouped { time, batch, groups: vec![(0..batch, tape)] });
    }
    let mut features = vec![T::from_f64(0.0); time * batch * sizes.features()];
    let out = RowsByGroup::new(&mut features, (time, batch));
    let tapes = each_group(&groups, |group| {
        let tape = forward(sizes, packing, p, &group_rows(x, (time, batch), group), (time, group.len()), keep);
        // SAFETY: each group writes its own rows.
        unsafe { out.put(group, tape.features.all()) };
        tape
    });
    (features, Grouped { time, batch, groups: groups.into_iter().zip(tapes).collect() })
}

/// The gradient of the packed parameters `p` from the grouped tape and `dfeat` `[T, B, C + R
/// M]`: each group's rows backwards through time on its own thread, each writing its rows of
/// what the weight gradients multiply, then the parameters' gradients from all of them.
pub(super) fn backward_grouped<T: Real>(
    sizes: &NtmSizes,
    packing: &Packing,
    p: &[T],
    grouped: &Grouped<T>,
    dfeat: &[T],
) -> Vec<T> {
    let (time, batch) = (grouped.time, grouped.batch);
    let first = grouped.first();
    if let [(_, tape)] = &grouped.groups[..] {
        let traced = through_time(sizes, packing, p, tape, dfeat);
        return parameter_gradients(sizes, packing, &first.initial_weightings, (time, batch), &tape.inputs(), &traced);
    }
    let zeros = |width: usize| vec![T::from_f64(0.0); time * batch * width];
    let widths: Vec<usize> = (0..sizes.heads()).map(|k| sizes.head_width(k)).collect();
    let mut kept = Kept {
        preactivations: (0..sizes.layers).map(|_| zeros(sizes.layer_cols())).collect(),
        projections: widths.iter().map(|&w| zeros(w)).collect(),
    };
    let mut layers: Vec<Vec<T>> = (0..sizes.layers).map(|l| zeros(sizes.layer_rows(l))).collect();
    let mut top = zeros(sizes.hidden);
    let (preactivations, projections) =
        (rows_of(&mut kept.preactivations, time, batch), rows_of(&mut kept.projections, time, batch));
    let (layer_rows, top_rows) = (rows_of(&mut layers, time, batch), RowsByGroup::new(&mut top, (time, batch)));
    let carried = each_group(&grouped.groups, |(group, tape)| {
        let traced = through_time(sizes, packing, p, tape, &group_rows(dfeat, (time, batch), group));
        // SAFETY: each group writes its own rows.
        unsafe {
            for (out, rows) in preactivations.iter().zip(&traced.kept.preactivations) {
                out.put(group, rows);
            }
            for (out, rows) in projections.iter().zip(&traced.kept.projections) {
                out.put(group, rows);
            }
            for (out, xh) in layer_rows.iter().zip(&tape.xh) {
                out.put(group, xh.all());
            }
            top_rows.put(group, tape.hidden[sizes.layers - 1].all());
        }
        traced.carried
    });
    drop((preactivations, projections, layer_rows, top_rows));
    let traced = Traced { carried: Carried::join(carried), kept };
    let inputs = Inputs { layers: layers.iter().map(Vec::as_slice).collect(), top: &top };
    parameter_gradients(sizes, packing, &first.initial_weightings, (time, batch), &inputs, &traced)
}

/// Each of `buffers` `[T, B, ·]` as [`RowsByGroup`].
fn rows_of<T: Copy>(buffers: &mut [Vec<T>], time: usize, batch: usize) -> Vec<RowsByGroup<'_, T>> {
    buffers.iter_mut().map(|b| RowsByGroup::new(b, (time, batch))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::kinds::ControllerKind;

    /// The copy NTM's products (9 inputs, LSTM controller 100, 128 x 20, one read and one
    /// write head) let the rows be cut: 16 rows in two groups on 2 threads and three on 3; 8
    /// rows in two on 3 threads (groups of 2 would give the heads' backward products 200
    /// outputs, gemm's horizontal kernel); a row alone never.
    #[test]
    fn the_copy_ntm_is_cut_in_row_groups() {
        let sizes = NtmSizes {
            inputs: 9,
            controller: ControllerKind::Lstm,
            hidden: 100,
            layers: 1,
            read_heads: 1,
            write_heads: 1,
            slots: 128,
            width: 20,
            shifts: vec![-1, 0, 1],
        };
        let products = products(&sizes);
        assert_eq!(products.len(), 6);
        let groups = |threads: usize, rows: usize| Threads::with(threads).row_groups(rows, &products);
        assert_eq!(groups(2, 16), [0..8, 8..16]);
        assert_eq!(groups(3, 16), [0..6, 6..11, 11..16]);
        assert_eq!(groups(3, 8), [0..4, 4..8]);
        assert_eq!(groups(2, 1).len(), 1);
    }
}
