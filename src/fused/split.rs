//! Splitting a fused kernel's work over threads without changing a bit of its results.
//!
//! Four kinds of work are split, each so that every value is computed by the same arithmetic
//! in the same order whatever the thread count:
//! - matrix products, by output columns: each thread computes a share of the columns with its
//!   own gemm call. gemm's summation order depends on the product's shape only through its
//!   special paths: a product of at most 256 outputs in some layouts takes a small kernel
//!   that blocks k by 1024, one with m and n both at most 64 blocks k by 512, one with a single
//!   row is a matrix-vector product; every other product blocks k by a length that depends on k
//!   and the caches alone. So a product is split only when it has at least [`MIN_ROWS`] rows,
//!   into shares of whole blocks of [`SHARE_COLUMNS`] columns, at least [`MIN_SHARE`] wide (the
//!   last share takes the rest): each share and the whole then take the general path (read in
//!   gemm-common 0.19's `gemm.rs` and `cache.rs`; checked below: the same bits on 1 thread and
//!   on 2 to 8 for 26 shapes, the kernels' among them, in every layout). Measured on 2 cores,
//!   this beats gemm's own threads for the recurrences' small-batch products (`[16, 256] x
//!   [256, 1024]` 1.6x against 1.4x; `[16, 1024] x [1024, 256]` 1.7x against none);
//! - per-row loops (a batch row's cell update), rows being independent: [`Threads::rows`]
//!   gives each thread a contiguous run of rows;
//! - a whole recurrence by groups of batch rows, each group on its own thread through every
//!   step (the NTM, `fused/ntm/groups.rs`): [`Threads::row_groups`] cuts the rows only where
//!   every product a step forms for a group's rows takes a path of gemm that gives each value
//!   the bits the product of all rows gives it (checked below on every layout);
//! - independent pieces of work with their own outputs (the NTM's weight gradients):
//!   [`Threads::tasks`] spreads them over the threads.
//!
//! A sum over batch rows (a bias gradient) stays on one thread, in row order.
//!
//! The thread count is [`crate::base::pool::kernel_threads`] at the call (the job's share of
//! the cores), and the threads are those of [`crate::base::pool::kernel_pool`].

use std::ops::Range;

use crate::base::pool;
use crate::fused::kernel::{matmul_columns, Real};

/// A share of a split product's columns is made of blocks of this many columns...
const SHARE_COLUMNS: usize = 64;
/// ...at least this many columns (the last share also takes the columns left over).
const MIN_SHARE: usize = 128;
/// Tasks costing less in all (multiply-adds) stay on the calling thread: waking a kernel
/// thread took longer than the ~25 µs of the copy NTM's weight gradients at batch 1 (2 threads
/// were ~10% slower per step there).
const MIN_TASKS_COST: usize = 1 << 23;
/// A product with fewer rows is not split (2 x 128 = 256 outputs may take gemm's small kernel).
const MIN_ROWS: usize = 3;

/// A raw pointer that may cross to the kernel threads (each share writes its own part).
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<T>(pub(crate) *mut T);
// SAFETY: the shares a pointer is sent to write disjoint parts, and the scope ends before the
// buffer's borrow does.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

/// A piece of independent work for [`Threads::tasks`] and its estimated cost (any unit).
pub(crate) type Task<'a> = (usize, Box<dyn FnOnce() + Send + 'a>);

/// The threads one kernel call splits its work over (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Threads(usize);

impl Threads {
    /// The share of the cores the calling job may use now.
    pub(crate) fn now() -> Self {
        Self(pool::kernel_threads())
    }

    /// `threads` threads (at least one), for tests.
    #[cfg(test)]
    pub(crate) fn with(threads: usize) -> Self {
        Self(threads.max(1))
    }

    /// `dst = (accumulate ? dst : 0) + lhs rhs`, as [`crate::fused::kernel::matmul`], its
    /// columns split among the threads (the same bits as on one thread).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn matmul<T: Real>(
        self,
        dst: &mut [T],
        accumulate: bool,
        lhs: &[T],
        lhs_strides: (usize, usize),
        rhs: &[T],
        rhs_strides: (usize, usize),
        mnk: (usize, usize, usize),
    ) {
        let (m, n, _) = mnk;
        assert!(dst.len() >= m * n);
        let shares = self.column_shares(m, n);
        let dst = SendPtr(dst.as_mut_ptr());
        // SAFETY (both calls): dst holds m * n values, borrowed mutably by this call; the
        // shares' columns are disjoint.
        if shares.len() <= 1 {
            return unsafe { matmul_columns(dst.0, accumulate, lhs, lhs_strides, rhs, rhs_strides, mnk, 0..n) };
        }
        pool::kernel_pool().scope(|scope| {
            for columns in shares {
                scope.spawn(move |_| {
                    let dst = dst;
                    unsafe { matmul_columns(dst.0, accumulate, lhs, lhs_strides, rhs, rhs_strides, mnk, columns) }
                });
            }
        });
    }

    /// The output columns of an `m x n` product, cut into one share per thread (whole blocks
    /// of [`SHARE_COLUMNS`], at least [`MIN_SHARE`] wide, the last taking the rest: see the
    /// module docs), or one share of all the columns where that would change bits.
    pub(crate) fn column_shares(self, m: usize, n: usize) -> Vec<Range<usize>> {
        let blocks = n / SHARE_COLUMNS;
        let parts = if m < MIN_ROWS { 1 } else { self.0.min(blocks / (MIN_SHARE / SHARE_COLUMNS)).max(1) };
        let share = blocks / parts * SHARE_COLUMNS;
        (0..parts).map(|part| part * share..if part + 1 == parts { n } else { (part + 1) * share }).collect()
    }

    /// Runs independent `tasks` (each with its estimated cost in multiply-adds; together at
    /// least [`MIN_TASKS_COST`], else on the calling thread), spread over the threads in
    /// bins of about equal cost (the costliest first, each into the cheapest bin so far), each
    /// bin's tasks in turn on one thread (the first on the calling thread). Each task computes what it computes whatever its
    /// bin, so results do not depend on the threads.
    pub(crate) fn tasks(self, mut tasks: Vec<Task<'_>>) {
        let total: usize = tasks.iter().map(|(cost, _)| cost).sum();
        let bins = if total < MIN_TASKS_COST { 1 } else { self.0.min(tasks.len()).max(1) };
        if bins == 1 {
            return tasks.into_iter().for_each(|(_, task)| task());
        }
        tasks.sort_by_key(|(cost, _)| std::cmp::Reverse(*cost));
        let mut loads = vec![0usize; bins];
        let mut binned: Vec<Vec<Box<dyn FnOnce() + Send + '_>>> = (0..bins).map(|_| Vec::new()).collect();
        for (cost, task) in tasks {
            let cheapest = (0..bins).min_by_key(|&b| loads[b]).unwrap_or(0);
            loads[cheapest] += cost;
            binned[cheapest].push(task);
        }
        // The first bin on the calling thread, the others on kernel threads.
        let mut bins = binned.into_iter();
        let first = bins.next().unwrap_or_default();
        pool::kernel_pool().in_place_scope(|scope| {
            for bin in bins {
                scope.spawn(move |_| bin.into_iter().for_each(|task| task()));
            }
            first.into_iter().for_each(|task| task());
        });
    }

    /// `f(r, a_r, b_r)` for every row `r < rows`, where `a_r` and `b_r` are row `r` of `a` and
    /// `b` (each `rows` equal rows), the rows split into one contiguous run per thread.
    pub(crate) fn rows<A: Send, B: Send>(
        self,
        rows: usize,
        a: &mut [A],
        b: &mut [B],
        f: impl Fn(usize, &mut [A], &mut [B]) + Sync,
    ) {
        if rows == 0 {
            return;
        }
        let (wa, wb) = (a.len() / rows, b.len() / rows);
        debug_assert!(a.len() == rows * wa && b.len() == rows * wb);
        // Rows first..first + count, whose data a and b hold.
        let run = |first: usize, count: usize, a: &mut [A], b: &mut [B]| {
            for (j, (ar, br)) in chunks(a, wa, count).zip(chunks(b, wb, count)).enumerate() {
                f(first + j, ar, br);
            }
        };
        let parts = self.0.min(rows);
        if parts <= 1 {
            return run(0, rows, a, b);
        }
        let per = rows.div_ceil(parts);
        pool::kernel_pool().scope(|scope| {
            let (mut a, mut b) = (a, b);
            let mut first = 0;
            while first < rows {
                let n = per.min(rows - first);
                let (a_part, a_rest) = std::mem::take(&mut a).split_at_mut(n * wa);
                let (b_part, b_rest) = std::mem::take(&mut b).split_at_mut(n * wb);
                (a, b) = (a_rest, b_rest);
                let run = &run;
                scope.spawn(move |_| run(first, n, a_part, b_part));
                first += n;
            }
        });
    }
}

/// A product a kernel forms at every step for its batch rows, `[m, k] x [k, n]` with m the
/// rows: what [`Threads::row_groups`] checks before giving each thread a group of the rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowProduct {
    /// Output columns.
    pub n: usize,
    /// The summed length.
    pub k: usize,
    /// The left operand's stride along k and the right operand's along k (both 1: the layout
    /// in which gemm takes its horizontal kernel for products of at most 256 outputs).
    pub lhs_k_stride: usize,
    pub rhs_k_stride: usize,
}

/// The path gemm takes for a product of `m` rows, as far as it decides the summation order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    /// Vertical multiply-add kernels, k blocked by min(k, 512).
    Small,
    /// Vertical multiply-add kernels, k blocked by a length of k and the caches.
    General,
    /// Anything else: matrix-vector products (one row or column), k <= 2, the horizontal
    /// kernel of tiny products.
    Special,
}

impl RowProduct {
    fn path(self, m: usize) -> Path {
        let horizontal = self.lhs_k_stride == 1 && self.rhs_k_stride == 1 && m * self.n <= 256;
        if m <= 1 || self.n <= 1 || self.k <= 2 || horizontal {
            Path::Special
        } else if m <= 64 && self.n <= 64 {
            Path::Small
        } else {
            Path::General
        }
    }

    /// Whether gemm forms the product of `m` rows with its vertical multiply-add kernels (not
    /// a matrix-vector product, nor the horizontal kernel of tiny products).
    pub(crate) fn vertical(self, m: usize) -> bool {
        self.path(m) != Path::Special
    }

    /// Whether `m` of the rows give every value the bits that all `rows` give it: both take
    /// a vertical path with one block of k (k <= 512), or the same vertical path.
    fn same_bits(self, m: usize, rows: usize) -> bool {
        let (part, whole) = (self.path(m), self.path(rows));
        part != Path::Special && whole != Path::Special && (self.k <= 512 || part == whole)
    }
}

impl Threads {
    /// `rows` batch rows cut into contiguous groups, one per thread, as many as the threads
    /// allow while every product of `products` formed for a group's rows gives each value the
    /// bits the product of all the rows gives it (the paths of gemm in the module docs; sizes
    /// differ by at most one row). One group (all the rows) when no cut keeps the bits.
    pub(crate) fn row_groups(self, rows: usize, products: &[RowProduct]) -> Vec<Range<usize>> {
        let keeps_bits = |parts: usize| {
            let sizes = [rows / parts, rows.div_ceil(parts)];
            sizes.iter().all(|&m| products.iter().all(|p| p.same_bits(m, rows)))
        };
        let parts = (2..=self.0.min(rows)).rev().find(|&parts| keeps_bits(parts)).unwrap_or(1);
        let (size, longer) = (rows / parts, rows % parts);
        let mut start = 0;
        (0..parts)
            .map(|g| {
                let end = start + size + usize::from(g < longer);
                let group = start..end;
                start = end;
                group
            })
            .collect()
    }
}

/// The first `rows` rows of width `width` of `data` (empty rows when `width` is 0).
fn chunks<A>(data: &mut [A], width: usize, rows: usize) -> impl Iterator<Item = &mut [A]> {
    let mut rest = data;
    (0..rows).map(move |_| {
        let (row, tail) = std::mem::take(&mut rest).split_at_mut(width);
        rest = tail;
        row
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::kernel::matmul;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// The shapes `(m, n, k)` of the LSTM kernel's products for the copy baseline (3 x 256,
    /// batch 1, 8 and 16, 41 steps), larger ones and some odd ones, each with either operand
    /// transposed: the same bits on 1 and on 2 to 8 threads.
    #[test]
    fn a_split_matmul_gives_the_bits_of_one_thread() {
        let shapes = [
            (16, 1024, 256),
            (8, 1024, 256),
            (1, 1024, 256),
            (16, 256, 1024),
            (1, 256, 1024),
            (256, 1024, 656),
            (656, 1024, 256),
            (656, 1024, 10),
            (10, 1024, 656),
            (656, 10, 1024),
            (41, 10, 1024),
            (3, 37, 5),
            (33, 65, 700),
            (16, 16, 16),
            (16, 2048, 512),
            (16, 512, 2048),
            (100, 300, 70),
            (7, 4096, 9),
            (16, 192, 600),
            (9, 1024, 656),
            (16, 400, 1600),
            (16, 385, 1540),
            (2, 256, 1024),
            (3, 256, 1024),
            (3, 130, 40),
            (64, 1000, 64),
        ];
        for (m, n, k) in shapes {
            for (lt, rt) in [(false, false), (true, false), (false, true), (true, true)] {
                let (lhs, rhs) = (values(m * k, (m * n + k) as u64), values(k * n, (m + n * k) as u64));
                let ls = if lt { (1, m) } else { (k, 1) };
                let rs = if rt { (1, k) } else { (n, 1) };
                let start = values(m * n, 7);
                let product = |threads: usize, accumulate: bool| {
                    let mut dst = start.clone();
                    Threads(threads).matmul(&mut dst, accumulate, &lhs, ls, &rhs, rs, (m, n, k));
                    dst.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                };
                for accumulate in [false, true] {
                    let one = product(1, accumulate);
                    for threads in 2..=8 {
                        assert!(
                            one == product(threads, accumulate),
                            "{m}x{n}x{k} (transposed: {lt}, {rt}, accumulate {accumulate}) differs on {threads} threads"
                        );
                    }
                }
            }
        }
    }

    /// Products formed per group of batch rows (the NTM's per-step products among them, at
    /// its sizes and smaller ones where gemm's special paths come in): the groups
    /// [`Threads::row_groups`] gives have the bits of all the rows; the NTM's products at
    /// batch 16 are cut in two for two threads.
    #[test]
    fn row_groups_keep_the_bits_of_all_rows() {
        let mut cut = 0;
        for rows in [1, 2, 3, 4, 5, 8, 9, 16, 17, 32, 70, 130] {
            for (n, k) in [
                (400, 129),
                (26, 100),
                (66, 100),
                (100, 26),
                (100, 66),
                (129, 400),
                (136, 400),
                (10, 7),
                (300, 700),
                (70, 520),
                (40, 3),
            ] {
                for (lt, rt) in [(false, false), (true, false), (false, true), (true, true)] {
                    let (lhs, rhs) = (values(rows * k, (rows + n * k) as u64), values(k * n, (n + k) as u64));
                    let ls = if lt { (1, rows) } else { (k, 1) };
                    let rs = if rt { (1, k) } else { (n, 1) };
                    let product = RowProduct { n, k, lhs_k_stride: ls.1, rhs_k_stride: rs.0 };
                    let start = values(rows * n, 3);
                    let mut whole = start.clone();
                    matmul(&mut whole, true, &lhs, ls, &rhs, rs, (rows, n, k));
                    for threads in 2..=8 {
                        let groups = Threads(threads).row_groups(rows, &[product]);
                        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), rows);
                        let mut parts = start.clone();
                        for g in &groups {
                            // The group's rows of lhs, laid out as the whole's are.
                            let m = g.len();
                            let part: Vec<f32> = if lt {
                                (0..k).flat_map(|j| g.clone().map(|i| lhs[j * rows + i]).collect::<Vec<_>>()).collect()
                            } else {
                                lhs[g.start * k..g.end * k].to_vec()
                            };
                            let ls = if lt { (1, m) } else { (k, 1) };
                            matmul(&mut parts[g.start * n..g.end * n], true, &part, ls, &rhs, rs, (m, n, k));
                        }
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert!(
                            bits(&parts) == bits(&whole),
                            "{rows}x{n}x{k} (transposed {lt}, {rt}) in groups {groups:?}"
                        );
                        cut += usize::from(groups.len() > 1);
                    }
                }
            }
        }
        assert!(cut > 100, "only {cut} products were cut");
        // The copy NTM's: controller forward and backward, each head's projection and its
        // backward (with 2 rows the last gives 200 outputs: the horizontal kernel).
        let ntm = [
            (400, 129, 1, 400),
            (129, 400, 1, 1),
            (26, 100, 1, 26),
            (66, 100, 1, 66),
            (100, 26, 1, 1),
            (100, 66, 1, 1),
        ];
        let ntm = ntm.map(|(n, k, lhs_k_stride, rhs_k_stride)| RowProduct { n, k, lhs_k_stride, rhs_k_stride });
        assert_eq!(Threads(2).row_groups(16, &ntm), [0..8, 8..16]);
        assert_eq!(Threads(3).row_groups(16, &ntm), [0..6, 6..11, 11..16]);
        assert_eq!(Threads(3).row_groups(8, &ntm), [0..4, 4..8]);
        // Not cut: one group of all the rows.
        assert_eq!(Threads(2).row_groups(3, &ntm).len(), 1);
        assert_eq!(Threads(1).row_groups(16, &ntm).len(), 1);
    }

    #[test]
    fn tasks_run_each_task_once_on_any_number_of_threads() {
        for threads in 1..=5 {
            for count in [0, 1, 2, 7] {
                let runs: Vec<std::sync::atomic::AtomicUsize> = (0..count).map(|_| Default::default()).collect();
                let tasks: Vec<Task> = runs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let task = move || {
                            r.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        };
                        ((i % 3 + 1) << 22, Box::new(task) as Box<dyn FnOnce() + Send>)
                    })
                    .collect();
                Threads(threads).tasks(tasks);
                assert!(runs.iter().all(|r| r.load(std::sync::atomic::Ordering::Relaxed) == 1), "{threads} threads");
            }
        }
    }

    #[test]
    fn rows_visits_every_row_once_with_its_own_slices() {
        for (rows, threads) in [(1, 3), (5, 1), (5, 2), (5, 3), (16, 2), (7, 7), (3, 5)] {
            // Rows without data (width 0) are still visited, once each.
            let mut empty: Vec<u8> = Vec::new();
            let count = std::sync::atomic::AtomicUsize::new(0);
            Threads(threads).rows(rows, &mut empty, &mut Vec::<u8>::new(), |_, _, _| {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
            assert_eq!(count.into_inner(), rows);
            let mut a: Vec<usize> = vec![0; rows * 3];
            let mut b: Vec<usize> = vec![0; rows];
            Threads(threads).rows(rows, &mut a, &mut b, |r, ar, br| {
                ar.iter_mut().for_each(|v| *v += r + 1);
                br[0] += 10 * (r + 1);
            });
            assert_eq!(a, (0..rows * 3).map(|i| i / 3 + 1).collect::<Vec<_>>(), "{rows} rows, {threads} threads");
            assert_eq!(b, (0..rows).map(|r| 10 * (r + 1)).collect::<Vec<_>>());
            let mut unit = vec![(); rows];
            let mut seen = vec![0u8; rows];
            let seen_ref = std::sync::Mutex::new(&mut seen);
            Threads(threads).rows(rows, &mut a, &mut unit, |r, _, _| seen_ref.lock().unwrap()[r] += 1);
            assert!(seen.iter().all(|&s| s == 1));
        }
    }
}
