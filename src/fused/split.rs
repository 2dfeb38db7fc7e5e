//! Splitting a fused kernel's work over threads without changing a bit of its results.
//!
//! Two kinds of work are split, both so that every value is computed by the same arithmetic
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
//!   gives each thread a contiguous run of rows.
//!
//! A sum over batch rows (a bias gradient) stays on one thread, in row order.
//!
//! The thread count is [`crate::base::pool::kernel_threads`] at the call (the job's share of
//! the cores), and the threads are those of [`crate::base::pool::kernel_pool`].

use crate::base::pool;
use crate::fused::kernel::{matmul_columns, Real};

/// A share of a split product's columns is made of blocks of this many columns...
const SHARE_COLUMNS: usize = 64;
/// ...at least this many columns (the last share also takes the columns left over).
const MIN_SHARE: usize = 128;
/// A product with fewer rows is not split (2 x 128 = 256 outputs may take gemm's small kernel).
const MIN_ROWS: usize = 3;

/// A raw pointer that may cross to the kernel threads (each share writes its own columns).
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: the shares a pointer is sent to write disjoint columns, and the scope ends before
// the buffer's borrow does.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

/// The threads one kernel call splits its work over (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Threads(usize);

impl Threads {
    /// The share of the cores the calling job may use now.
    pub(crate) fn now() -> Self {
        Self(pool::kernel_threads())
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
        // Whole blocks per share, at least MIN_SHARE columns each (see the module docs).
        let blocks = n / SHARE_COLUMNS;
        let parts = if m < MIN_ROWS { 1 } else { self.0.min(blocks / (MIN_SHARE / SHARE_COLUMNS)).max(1) };
        let share = blocks / parts * SHARE_COLUMNS;
        let dst = SendPtr(dst.as_mut_ptr());
        // SAFETY (both calls): dst holds m * n values, borrowed mutably by this call; the
        // shares' columns are disjoint.
        if parts <= 1 {
            return unsafe { matmul_columns(dst.0, accumulate, lhs, lhs_strides, rhs, rhs_strides, mnk, 0..n) };
        }
        pool::kernel_pool().scope(|scope| {
            for part in 0..parts {
                let start = part * share;
                let end = if part + 1 == parts { n } else { start + share };
                scope.spawn(move |_| {
                    let columns = start..end;
                    let dst = dst;
                    unsafe { matmul_columns(dst.0, accumulate, lhs, lhs_strides, rhs, rhs_strides, mnk, columns) }
                });
            }
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
