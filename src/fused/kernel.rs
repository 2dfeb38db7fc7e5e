//! What the fused kernels share: the float math they run in ([`Real`]), small vector
//! routines, and [`simd_routine`]. Access to their CPU buffers is [`crate::base::cpu`]'s.
//!
//! The kernels' per-row routines are defined through [`simd_routine`], which compiles each a
//! second time with AVX2 and FMA and picks at run time. Both builds give bit-identical
//! results: Rust never fuses a multiply and an add on its own, and every sum's order is fixed
//! by the code (e.g. [`dot`]'s eight lanes), not by the vector width.

use crate::base::cpu::Float;
use gemm::Parallelism;

/// The float types the kernels run in (f32 for training, f64 for gradient checks): the
/// buffers' [`Float`] with the kernels' transcendental functions.
pub(crate) trait Real: Float {
    /// e^x; in f32 computed by [`exp_f32`] (branch-free, so loops over it vectorise).
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    /// tanh; in f32 computed as sign(x) (1 - 2 / (e^2|x| + 1)), within ~1.2e-7 of tanh
    /// everywhere (absolute; relative precision is lost for |x| below ~1e-4, and |x| < ~3e-8
    /// gives 0), about three times faster than the C library's tanhf, which was 16% of a
    /// training step.
    fn tanh(self) -> Self;
}

macro_rules! real {
    ($t:ty, $exp:expr, $tanh:expr) => {
        impl Real for $t {
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
        }
    };
}
real!(f32, exp_f32, |x: f32| {
    let e = exp_f32(2.0 * x.abs()); // ~1.7e38 past |x| ~ 44: then exactly 1
    (1.0 - 2.0 / (e + 1.0)).copysign(x)
});
real!(f64, f64::exp, f64::tanh);

/// e^x in f32 without branches or library calls, so the compiler can vectorise loops over
/// it: e^x = 2^k e^r with k = round(x / ln 2) and |r| <= ln(2) / 2, e^r by its Taylor
/// polynomial of degree 7 (truncation error < 5e-9 relative). x is first clamped to
/// [-87.3, 88.3], so results stay normal and finite (e^-87.3 ~ 1.3e-38 stands in for anything
/// smaller, e^88.3 ~ 2e38 for anything larger); NaN stays NaN. Within 2 ulp of `f32::exp`
/// over that range (see the test below).
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding and subtracting it rounds to an integer
    const LN2_HI: f32 = 0.693_145_75; // ln 2 split in two so k * LN2_HI is exact
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.3, 88.3);
    let rounded = x * std::f32::consts::LOG2_E + ROUND; // 1.5 * 2^23 + k: its ulp is 1
    let k = rounded - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 5040.0;
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = p * r + c;
    }
    // 2^k from the bits of `rounded`, which are ROUND's plus the integer k (|k| <= 127 after
    // the clamp): integer arithmetic that vectorises, where `k as i32` (a saturating
    // conversion) made the compiler convert one lane at a time.
    let k_bits = rounded.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

/// Whether [`simd_routine`]s may use AVX2 (on by default; tests switch it off to compare).
static AVX2_ALLOWED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Lets [`simd_routine`]s use AVX2 and FMA when the CPU has them (`true`, the default) or
/// keeps them on the baseline build (`false`).
#[cfg(test)]
pub(crate) fn allow_avx2(allowed: bool) {
    AVX2_ALLOWED.store(allowed, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the CPU runs AVX2 and FMA (checked once, then cached by std) and they are allowed.
#[inline(always)]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return AVX2_ALLOWED.load(std::sync::atomic::Ordering::Relaxed)
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma");
    #[allow(unreachable_code)]
    false
}

/// Defines a kernel routine `fn name<T: Real>(args) -> ret { body }` compiled twice, for the
/// baseline instruction set and with AVX2 and FMA, and run in the best the CPU has (see the
/// module docs: both give bit-identical results).
macro_rules! simd_routine {
    ($(#[$meta:meta])* $vis:vis fn $name:ident<T: Real>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name<T: Real>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body<T: Real>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2,fma"))]
            unsafe fn avx2<T: Real>($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }
            if $crate::fused::kernel::has_avx2() {
                // SAFETY: the CPU has AVX2 and FMA.
                unsafe { avx2($($arg),*) }
            } else {
                body($($arg),*)
            }
        }
    };
}
pub(crate) use simd_routine;

/// The logistic function 1 / (1 + e^-x).
#[inline(always)]
pub(crate) fn sigmoid<T: Real>(x: T) -> T {
    let one = T::from_f64(1.0);
    one / (one + (-x).exp())
}

/// Softmax of `z` in place (maximum subtracted).
#[inline(always)]
pub(crate) fn softmax<T: Real>(z: &mut [T]) {
    let max = z.iter().copied().fold(z[0], |m, x| if x > m { x } else { m });
    for v in z.iter_mut() {
        *v = (*v - max).exp();
    }
    let scale = T::from_f64(1.0) / sum(z);
    for v in z.iter_mut() {
        *v *= scale;
    }
}

/// The sum of `a`, with eight independent partial sums (as [`dot`]).
#[inline(always)]
pub(crate) fn sum<T: Real>(a: &[T]) -> T {
    let zero = T::from_f64(0.0);
    let mut partial = [zero; 8];
    let chunks = a.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(zero, |s, &x| s + x);
    for x in chunks {
        for k in 0..8 {
            partial[k] += x[k];
        }
    }
    partial.iter().fold(tail, |s, &p| s + p)
}

/// The dot product of `a` and `b` (equal lengths), with eight independent partial sums so
/// the compiler can vectorise it.
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let zero = T::from_f64(0.0);
    let mut partial = [zero; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca.remainder().iter().zip(cb.remainder()).fold(zero, |s, (&x, &y)| s + x * y);
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            partial[k] += x[k] * y[k];
        }
    }
    partial.iter().fold(tail, |s, &p| s + p)
}

/// `dst = (accumulate ? dst : 0) + lhs rhs` for `lhs [m, k]` with strides `(row, column)`
/// `lhs_strides`, `rhs [k, n]` likewise and `dst [m, n]` contiguous, through the `gemm` crate
/// on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<T: Real>(
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
    // SAFETY: dst holds m * n values and is borrowed mutably here.
    unsafe { matmul_columns(dst.as_mut_ptr(), accumulate, lhs, lhs_strides, rhs, rhs_strides, mnk, 0..n) }
}

/// [`matmul`] restricted to the output columns `columns` of `dst` (row stride `n`): those
/// columns get the bits the whole product gives them when every share of the columns takes
/// the same path through gemm (see [`crate::fused::split`]). `columns.end <= n`.
///
/// # Safety
/// `dst` points to `m * n` values that no other thread reads or writes in `columns` during the
/// call.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn matmul_columns<T: Real>(
    dst: *mut T,
    accumulate: bool,
    lhs: &[T],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[T],
    (rhs_rs, rhs_cs): (usize, usize),
    (m, n, k): (usize, usize, usize),
    columns: std::ops::Range<usize>,
) {
    assert!(columns.start <= columns.end && columns.end <= n);
    let width = columns.end - columns.start;
    if width == 0 {
        return;
    }
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(k == 0 || rhs.len() > (k - 1) * rhs_rs + (columns.end - 1) * rhs_cs);
    // SAFETY: the asserts above keep every index of lhs and rhs gemm touches inside the slices;
    // the caller vouches for dst.
    unsafe {
        gemm::gemm(
            m,
            width,
            k,
            dst.wrapping_add(columns.start),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            // wrapping: with k == 0 (an empty rhs) the offset may pass its end; gemm reads
            // nothing there then.
            rhs.as_ptr().wrapping_add(columns.start * rhs_cs),
            rhs_cs as isize,
            rhs_rs as isize,
            T::from_f64(1.0),
            T::from_f64(1.0),
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ulps between two positive normal floats.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_f32_is_within_two_ulp_of_the_library_exp() {
        let mut worst = 0;
        let steps = 1_000_000;
        for i in 0..=steps {
            let x = -87.0 + 175.0 * i as f32 / steps as f32;
            worst = worst.max(ulps(exp_f32(x), x.exp()));
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-1e30) > 0.0 && exp_f32(-1e30) < 1.3e-38);
        assert!(exp_f32(1e30).is_finite() && exp_f32(1e30) > 1e38);
    }

    #[test]
    fn fast_tanh_is_within_2e_7_of_the_library_tanh() {
        let mut worst = 0.0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 / 10_000.0;
            worst = worst.max((Real::tanh(x) - x.tanh()).abs());
        }
        assert!(worst < 2e-7, "worst error {worst:e}");
        assert_eq!(Real::tanh(100.0f32), 1.0);
        assert_eq!(Real::tanh(-100.0f32), -1.0);
        assert!(Real::tanh(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let mut z = vec![1000.0f32, 0.0, -1000.0, 999.0];
        softmax(&mut z);
        assert!((sum(&z) - 1.0).abs() < 1e-6);
        assert!(z.iter().all(|v| v.is_finite() && *v >= 0.0));
        assert!((z[0] / z[3] - std::f32::consts::E).abs() < 1e-5);
    }
}
