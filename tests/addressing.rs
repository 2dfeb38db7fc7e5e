//! The addressing steps (paper eqs. 5-9) against values computed by hand, table-driven, and a
//! property test of the whole pipeline: every weighting it produces is a distribution.
//!
//! Conventions checked here:
//! - cosine similarity carries epsilons (`NORM_EPSILON` under the root, `COSINE_EPSILON` in the
//!   denominator), so exact hand values hold to ~1e-6 and a zero vector gives 0, not NaN;
//! - shift +1 moves attention from slot i to slot i + 1 (w~(i) = sum_j w(j) s(i - j mod N)),
//!   wrapping around: slot N-1 shifted by +1 lands in slot 0, slot 0 shifted by -1 in N-1.

mod common;

use std::f64::consts::FRAC_1_SQRT_2;

use candle_core::{DType, Tensor};
use common::{assert_tensor, distributions, rng, tensor, uniform, values};
use ntm::pieces::addressing::{
    address, content_weighting, cosine_similarity, interpolate, sharpen, shift, AddressingParams, COSINE_EPSILON,
    NORM_EPSILON, SHARPEN_EPSILON,
};
use rand::Rng;

/// Tolerance of the hand values: the epsilons move cosines by at most ~1e-6 relative.
const HAND_TOL: f64 = 1e-5;

const DTYPES: [DType; 2] = [DType::F64, DType::F32];

// ---------------------------------------------------------------- cosine similarity (eq. 6)

struct CosineCase {
    name: &'static str,
    /// `[2, M]`
    key: &'static [f64],
    /// `[2, N, M]`
    memory: &'static [f64],
    n: usize,
    m: usize,
    /// `[2, N]`
    expected: &'static [f64],
}

const COSINE_CASES: &[CosineCase] = &[
    CosineCase {
        // row 0: k = (1, 0) against (2, 0) parallel -> 1, (0, 3) orthogonal -> 0, (-1, 0)
        //        anti-parallel -> -1.
        // row 1: k = (3, 4), |k| = 5, against (4, -3): 12 - 12 = 0 -> 0; (6, 8) = 2k -> 1;
        //        (-0.3, -0.4) = -k/10 -> -1.
        name: "parallel, orthogonal, anti-parallel",
        key: &[1.0, 0.0, 3.0, 4.0],
        memory: &[2.0, 0.0, 0.0, 3.0, -1.0, 0.0, 4.0, -3.0, 6.0, 8.0, -0.3, -0.4],
        n: 3,
        m: 2,
        expected: &[1.0, 0.0, -1.0, 0.0, 1.0, -1.0],
    },
    CosineCase {
        // row 0: zero key -> 0 against every row (0 / (sqrt(1e-8) |M(i)| + 1e-6) = 0).
        // row 1: k = (1, 1) against a zero row -> 0, (1, 1) -> 1, (-2, -2) -> -1.
        name: "zero key, zero memory row",
        key: &[0.0, 0.0, 1.0, 1.0],
        memory: &[1.0, 2.0, 0.0, 0.0, 3.0, -1.0, 0.0, 0.0, 1.0, 1.0, -2.0, -2.0],
        n: 3,
        m: 2,
        expected: &[0.0, 0.0, 0.0, 0.0, 1.0, -1.0],
    },
    CosineCase {
        // row 0: k = (1, 2, 2), |k| = 3. (2, 1, -2): 2 + 2 - 4 = 0 -> 0; (2, 4, 4) = 2k -> 1;
        //        (1, 0, 0): 1 / (3 * 1) = 1/3; (0, 0, -1): -2 / 3.
        // row 1: k = (1, -1, 0), |k| = sqrt 2. (1, 0, 0): 1 / sqrt 2 = 0.70710678;
        //        (0, 0, 5) -> 0; (-1, 1, 0) -> -1; (0, -2, 0): 2 / (2 sqrt 2) = 0.70710678.
        name: "M = 3, N = 4",
        key: &[1.0, 2.0, 2.0, 1.0, -1.0, 0.0],
        memory: &[
            2.0, 1.0, -2.0, 2.0, 4.0, 4.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, //
            1.0, 0.0, 0.0, 0.0, 0.0, 5.0, -1.0, 1.0, 0.0, 0.0, -2.0, 0.0,
        ],
        n: 4,
        m: 3,
        expected: &[0.0, 1.0, 1.0 / 3.0, -2.0 / 3.0, FRAC_1_SQRT_2, 0.0, -1.0, FRAC_1_SQRT_2],
    },
];

#[test]
fn cosine_similarity_matches_hand_values() {
    for dtype in DTYPES {
        for case in COSINE_CASES {
            let key = tensor(case.key, &[2, case.m], dtype);
            let memory = tensor(case.memory, &[2, case.n, case.m], dtype);
            let k = cosine_similarity(&key, &memory).unwrap();
            assert_eq!(k.dims(), &[2, case.n], "{}", case.name);
            assert_eq!(k.dtype(), dtype, "{}", case.name);
            assert_tensor(&format!("{} ({dtype:?})", case.name), &k, case.expected, HAND_TOL);
        }
    }
}

#[test]
fn cosine_similarity_epsilons_are_the_documented_ones() {
    // The exact formula with the documented epsilons:
    //   K = k.M / (sqrt(|k|^2 + NORM_EPSILON) sqrt(|M|^2 + NORM_EPSILON) + COSINE_EPSILON).
    // k = (1e-3, 0), M = (2e-3, 0): 2e-6 / (sqrt(1e-6 + 1e-8) sqrt(4e-6 + 1e-8) + 1e-6)
    //   = 2e-6 / (1.00498756e-3 * 2.00249844e-3 + 1e-6) = 2e-6 / 3.01246883e-6 = 0.66390...
    // (without the epsilons it would be exactly 1: small vectors are where they show).
    let key = tensor(&[1e-3, 0.0], &[1, 2], DType::F64);
    let memory = tensor(&[2e-3, 0.0], &[1, 1, 2], DType::F64);
    let denominator = (1e-6f64 + NORM_EPSILON).sqrt() * (4e-6f64 + NORM_EPSILON).sqrt() + COSINE_EPSILON;
    let expected = 2e-6 / denominator;
    assert!((expected - 0.6639).abs() < 1e-3, "hand value {expected}");
    let k = cosine_similarity(&key, &memory).unwrap();
    assert_tensor("small vectors", &k, &[expected], 1e-12);
}

// ---------------------------------------------------------------- content weighting (eq. 5)

#[test]
fn content_weighting_matches_hand_values() {
    // Memory and keys of the first cosine case: similarities row 0 = (1, 0, -1),
    // row 1 = (0, 1, -1).
    let case = &COSINE_CASES[0];
    struct Case {
        name: &'static str,
        beta: [f64; 2],
        expected: [f64; 6],
        tol: f64,
    }
    let e = std::f64::consts::E;
    let cases = [
        // beta = 0: softmax of zeros = uniform 1/3 whatever the similarities.
        Case { name: "beta 0 -> uniform", beta: [0.0, 0.0], expected: [1.0 / 3.0; 6], tol: 1e-7 },
        // row 0: beta = ln 2: exp(ln2 * (1, 0, -1)) = (2, 1, 1/2), sum 3.5 -> (4/7, 2/7, 1/7).
        // row 1: beta = ln 3: exp(ln3 * (0, 1, -1)) = (1, 3, 1/3), sum 13/3 -> (3/13, 9/13, 1/13).
        Case {
            name: "beta ln 2, ln 3",
            beta: [2f64.ln(), 3f64.ln()],
            expected: [4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0, 3.0 / 13.0, 9.0 / 13.0, 1.0 / 13.0],
            tol: HAND_TOL,
        },
        // beta = 1: row 0 (e, 1, 1/e) / (e + 1 + 1/e), row 1 (1, e, 1/e) / (same sum).
        Case {
            name: "beta 1",
            beta: [1.0, 1.0],
            expected: {
                let s = e + 1.0 + 1.0 / e;
                [e / s, 1.0 / s, 1.0 / e / s, 1.0 / s, e / s, 1.0 / e / s]
            },
            tol: HAND_TOL,
        },
        // beta = 50: exp(-50) = 2e-22, so one-hot on the most similar row: slot 0 in row 0,
        // slot 1 in row 1.
        Case {
            name: "beta 50 -> one-hot on the most similar row",
            beta: [50.0, 50.0],
            expected: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            tol: 1e-6,
        },
    ];
    for dtype in DTYPES {
        let key = tensor(case.key, &[2, 2], dtype);
        let memory = tensor(case.memory, &[2, 3, 2], dtype);
        for c in &cases {
            let beta = tensor(&c.beta, &[2, 1], dtype);
            let w = content_weighting(&key, &beta, &memory).unwrap();
            assert_eq!(w.dims(), &[2, 3]);
            assert_tensor(&format!("{} ({dtype:?})", c.name), &w, &c.expected, c.tol);
        }
    }
}

// ---------------------------------------------------------------- interpolation (eq. 7)

#[test]
fn interpolate_matches_hand_values() {
    // content  row 0 (0.7, 0.2, 0.1), row 1 (0, 0, 1)
    // previous row 0 (0.1, 0.1, 0.8), row 1 (0.5, 0.5, 0)
    let content = [0.7, 0.2, 0.1, 0.0, 0.0, 1.0];
    let previous = [0.1, 0.1, 0.8, 0.5, 0.5, 0.0];
    let cases: [(&str, [f64; 2], [f64; 6]); 4] = [
        ("g = 0 keeps the previous weighting", [0.0, 0.0], previous),
        ("g = 1 takes the content weighting", [1.0, 1.0], content),
        // 0.5 c + 0.5 p: row 0 (0.4, 0.15, 0.45), row 1 (0.25, 0.25, 0.5)
        ("g = 0.5 averages", [0.5, 0.5], [0.4, 0.15, 0.45, 0.25, 0.25, 0.5]),
        // per-row gates: row 0 g = 0.25: 0.25 c + 0.75 p = (0.25, 0.125, 0.625);
        //                row 1 g = 1: c = (0, 0, 1)
        ("a gate per batch row", [0.25, 1.0], [0.25, 0.125, 0.625, 0.0, 0.0, 1.0]),
    ];
    for dtype in DTYPES {
        let c = tensor(&content, &[2, 3], dtype);
        let p = tensor(&previous, &[2, 3], dtype);
        for (name, gate, expected) in &cases {
            let g = tensor(gate, &[2, 1], dtype);
            let w = interpolate(&c, &p, &g).unwrap();
            assert_tensor(&format!("{name} ({dtype:?})"), &w, expected, 1e-6);
        }
    }
}

// ---------------------------------------------------------------- convolutional shift (eq. 8)

struct ShiftCase {
    name: &'static str,
    shifts: &'static [i64],
    /// `[2, N]` with N = 5
    weighting: [f64; 10],
    /// `[2, S]`
    shift: &'static [f64],
    expected: [f64; 10],
}

/// Row 0 all mass in slot 0, row 1 all mass in slot N-1 = 4: the wrap-around at both ends.
const ENDS: [f64; 10] = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];

const SHIFT_CASES: &[ShiftCase] = &[
    // w~(i) = sum_j w(j) s(i - j mod N): with s one-hot on +1, w~(i) = w(i - 1).
    ShiftCase {
        name: "+1: slot 0 -> 1, slot 4 -> 0 (wraps)",
        shifts: &[-1, 0, 1],
        weighting: ENDS,
        shift: &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0],
        expected: [0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    },
    ShiftCase {
        name: "-1: slot 0 -> 4 (wraps), slot 4 -> 3",
        shifts: &[-1, 0, 1],
        weighting: ENDS,
        shift: &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        expected: [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    },
    ShiftCase {
        name: "0: identity",
        shifts: &[-1, 0, 1],
        weighting: [0.1, 0.2, 0.3, 0.4, 0.0, 0.5, 0.0, 0.0, 0.25, 0.25],
        shift: &[0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
        expected: [0.1, 0.2, 0.3, 0.4, 0.0, 0.5, 0.0, 0.0, 0.25, 0.25],
    },
    // row 0: w = (0.6, 0.4, 0, 0, 0), s(-1, 0, +1) = (0.2, 0.5, 0.3).
    //   slot 0's 0.6 -> slot 4: 0.12, slot 0: 0.30, slot 1: 0.18
    //   slot 1's 0.4 -> slot 0: 0.08, slot 1: 0.20, slot 2: 0.12
    //   w~ = (0.38, 0.38, 0.12, 0, 0.12)
    // row 1: w = (0, 0, 0.1, 0.2, 0.7), s = (0.1, 0.1, 0.8).
    //   slot 2's 0.1 -> 1: 0.01, 2: 0.01, 3: 0.08
    //   slot 3's 0.2 -> 2: 0.02, 3: 0.02, 4: 0.16
    //   slot 4's 0.7 -> 3: 0.07, 4: 0.07, 0: 0.56
    //   w~ = (0.56, 0.01, 0.03, 0.17, 0.23)
    ShiftCase {
        name: "mixed shift distributions",
        shifts: &[-1, 0, 1],
        weighting: [0.6, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2, 0.7],
        shift: &[0.2, 0.5, 0.3, 0.1, 0.1, 0.8],
        expected: [0.38, 0.38, 0.12, 0.0, 0.12, 0.56, 0.01, 0.03, 0.17, 0.23],
    },
    // shifts (-2, -1, 0, 1, 2): row 0 s one-hot on +2: slot 0 -> 2;
    // row 1 s one-hot on -2: slot 4 -> 2.
    ShiftCase {
        name: "+-2 shifts",
        shifts: &[-2, -1, 0, 1, 2],
        weighting: ENDS,
        shift: &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        expected: [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    },
    // shifts (-2, .., 2), row 0 s = (0.1, 0, 0.2, 0, 0.7) from slot 0: -2 -> 3, 0 -> 0, +2 -> 2;
    // row 1 s = (0, 0.5, 0, 0.5, 0) from slot 4: -1 -> 3, +1 -> 0 (wraps).
    ShiftCase {
        name: "+-2 shifts, mixed",
        shifts: &[-2, -1, 0, 1, 2],
        weighting: ENDS,
        shift: &[0.1, 0.0, 0.2, 0.0, 0.7, 0.0, 0.5, 0.0, 0.5, 0.0],
        expected: [0.2, 0.0, 0.7, 0.1, 0.0, 0.5, 0.0, 0.0, 0.5, 0.0],
    },
    // shifts (0, 1), s = (0.25, 0.75): row 0 slot 0 keeps 0.25, slot 1 gets 0.75;
    // row 1 slot 4 keeps 0.25, slot 0 gets 0.75 (wraps).
    ShiftCase {
        name: "shifts [0, 1]",
        shifts: &[0, 1],
        weighting: ENDS,
        shift: &[0.25, 0.75, 0.25, 0.75],
        expected: [0.25, 0.75, 0.0, 0.0, 0.0, 0.75, 0.0, 0.0, 0.0, 0.25],
    },
    // the order of the shift set is the order of the distribution's entries:
    // shifts (1, -1), row 0 s = (1, 0): slot 0 -> 1; row 1 s = (0, 1): slot 4 -> 3.
    ShiftCase {
        name: "shift set order [1, -1]",
        shifts: &[1, -1],
        weighting: ENDS,
        shift: &[1.0, 0.0, 0.0, 1.0],
        expected: [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    },
];

#[test]
fn shift_matches_hand_values() {
    for dtype in DTYPES {
        for case in SHIFT_CASES {
            let s = case.shifts.len();
            let w = tensor(&case.weighting, &[2, 5], dtype);
            let dist = tensor(case.shift, &[2, s], dtype);
            let out = shift(&w, &dist, case.shifts).unwrap();
            assert_eq!(out.dims(), &[2, 5], "{}", case.name);
            assert_tensor(&format!("{} ({dtype:?})", case.name), &out, &case.expected, 1e-6);
        }
    }
}

#[test]
fn shift_with_an_empty_shift_set_is_an_error() {
    let w = tensor(&ENDS, &[2, 5], DType::F64);
    let dist = Tensor::zeros((2, 0), DType::F64, &common::CPU).unwrap();
    let result = shift(&w, &dist, &[]);
    assert!(result.is_err(), "an empty shift set must be an error, got {result:?}");
}

// ---------------------------------------------------------------- sharpening (eq. 9)

#[test]
fn sharpen_matches_hand_values() {
    struct Case {
        name: &'static str,
        weighting: [f64; 6],
        gamma: [f64; 2],
        expected: [f64; 6],
        tol: f64,
    }
    let cases = [
        // gamma = 1: w / sum w = w (a distribution), up to SHARPEN_EPSILON = 1e-12.
        Case {
            name: "gamma 1 is the identity",
            weighting: [0.5, 0.3, 0.2, 0.6, 0.0, 0.4],
            gamma: [1.0, 1.0],
            expected: [0.5, 0.3, 0.2, 0.6, 0.0, 0.4],
            tol: 1e-9,
        },
        // row 0 gamma 2: (0.25, 0.09, 0.04) / 0.38 = (0.65789474, 0.23684211, 0.10526316)
        // row 1 gamma 2 with an exact zero: (0.36, 0, 0.16) / 0.52 = (0.69230769, 0, 0.30769231)
        Case {
            name: "gamma 2",
            weighting: [0.5, 0.3, 0.2, 0.6, 0.0, 0.4],
            gamma: [2.0, 2.0],
            expected: [0.65789474, 0.23684211, 0.10526316, 0.69230769, 0.0, 0.30769231],
            tol: 1e-7,
        },
        // per-row gammas: row 0 gamma 2 as above;
        // row 1 gamma 3: (0.216, 0, 0.064) / 0.28 = (0.77142857, 0, 0.22857143)
        Case {
            name: "gamma per batch row",
            weighting: [0.5, 0.3, 0.2, 0.6, 0.0, 0.4],
            gamma: [2.0, 3.0],
            expected: [0.65789474, 0.23684211, 0.10526316, 0.77142857, 0.0, 0.22857143],
            tol: 1e-7,
        },
        // an unnormalised input is normalised: row 0 gamma 1: (2, 1, 1) / 4;
        // row 1 gamma 2, (0, 0, 3) -> one-hot (the zeros stay ~1e-24 / 9).
        Case {
            name: "unnormalised input, exact zeros",
            weighting: [2.0, 1.0, 1.0, 0.0, 0.0, 3.0],
            gamma: [1.0, 2.0],
            expected: [0.5, 0.25, 0.25, 0.0, 0.0, 1.0],
            tol: 1e-9,
        },
    ];
    for dtype in DTYPES {
        // f32 has ~7 significant digits.
        let scale = if dtype == DType::F32 { 100.0 } else { 1.0 };
        for c in &cases {
            let w = tensor(&c.weighting, &[2, 3], dtype);
            let g = tensor(&c.gamma, &[2, 1], dtype);
            let out = sharpen(&w, &g).unwrap();
            assert_tensor(&format!("{} ({dtype:?})", c.name), &out, &c.expected, c.tol * scale);
        }
    }
}

#[test]
fn sharpen_epsilon_keeps_exact_zeros_at_a_tiny_weight() {
    // A zero entry becomes (0 + eps)^gamma / sum: with gamma = 1 and w = (0, 1):
    // eps / (1 + 2 eps) = 1e-12 (not exactly 0, not NaN).
    let w = tensor(&[0.0, 1.0], &[1, 2], DType::F64);
    let g = tensor(&[1.0], &[1, 1], DType::F64);
    let out = values(&sharpen(&w, &g).unwrap());
    let expected = SHARPEN_EPSILON / (1.0 + 2.0 * SHARPEN_EPSILON);
    assert!((out[0] - expected).abs() < 1e-20, "zero entry -> {}, expected {expected}", out[0]);
}

// ---------------------------------------------------------------- the whole pipeline

#[test]
fn address_composes_the_four_steps_by_hand() {
    // N = 3, M = 2, one batch row with the memory and key of cosine case 0 row 0:
    //   similarities (1, 0, -1); beta = ln 2 -> w^c = (4/7, 2/7, 1/7)
    //   previous (0, 0, 1), g = 0.5 -> w^g = (2/7, 1/7, 1/14 + 1/2 = 8/14) = (4, 2, 8) / 14
    //   s(-1, 0, +1) = (0, 0, 1): w~(i) = w^g(i - 1) = (8, 4, 2) / 14
    //   gamma = 2: (64, 16, 4) / 84 = (0.76190476, 0.19047619, 0.04761905)
    let params = AddressingParams {
        key: tensor(&[1.0, 0.0], &[1, 2], DType::F64),
        beta: tensor(&[2f64.ln()], &[1, 1], DType::F64),
        gate: tensor(&[0.5], &[1, 1], DType::F64),
        shift: tensor(&[0.0, 0.0, 1.0], &[1, 3], DType::F64),
        gamma: tensor(&[2.0], &[1, 1], DType::F64),
    };
    let memory = tensor(&[2.0, 0.0, 0.0, 3.0, -1.0, 0.0], &[1, 3, 2], DType::F64);
    let previous = tensor(&[0.0, 0.0, 1.0], &[1, 3], DType::F64);
    let out = address(&params, &memory, &previous, &[-1, 0, 1]).unwrap();
    assert_tensor("content", &out.content, &[4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0], HAND_TOL);
    assert_tensor("weighting", &out.weighting, &[64.0 / 84.0, 16.0 / 84.0, 4.0 / 84.0], HAND_TOL);
}

/// Random addressing parameters for `b` rows, `n` slots, `m` wide, shifts -1..=1 or -2..=2.
struct RandomCase {
    params: AddressingParams,
    memory: Tensor,
    previous: Tensor,
    shifts: Vec<i64>,
    description: String,
}

fn random_case(r: &mut rand_chacha::ChaCha8Rng, dtype: DType) -> RandomCase {
    let b = r.random_range(1..=3usize);
    let n = [3usize, 4, 5, 8, 20, 128][r.random_range(0..6)];
    let m = r.random_range(2..=4usize);
    let shifts: Vec<i64> = if r.random_bool(0.5) { vec![-1, 0, 1] } else { vec![-2, -1, 0, 1, 2] };
    let s = shifts.len();
    let key_scale = [0.0, 1e-4, 1.0, 10.0][r.random_range(0..4)];
    let key: Vec<f64> = uniform(r, b * m, -1.0, 1.0).iter().map(|x| x * key_scale).collect();
    // memories: random, random with zero rows, or all zero
    let mut memory = uniform(r, b * n * m, -2.0, 2.0);
    match r.random_range(0..3) {
        0 => {}
        1 => {
            for row in 0..b * n {
                if r.random_bool(0.3) {
                    memory[row * m..(row + 1) * m].fill(0.0);
                }
            }
        }
        _ => memory.fill(0.0),
    }
    let beta: Vec<f64> =
        (0..b).map(|_| [0.0, r.random_range(0.0..5.0), r.random_range(0.0..100.0)][r.random_range(0..3)]).collect();
    let gate: Vec<f64> = uniform(r, b, 1e-3, 1.0 - 1e-3);
    // shift distributions: random, or one-hot
    let mut shift = distributions(r, b, s);
    if r.random_bool(0.3) {
        shift.fill(0.0);
        for row in 0..b {
            shift[row * s + r.random_range(0..s)] = 1.0;
        }
    }
    let gamma: Vec<f64> = uniform(r, b, 1.0, 21.0); // 1 + softplus(x), x clipped at 20
                                                    // previous weighting: random, or one-hot
    let mut previous = distributions(r, b, n);
    if r.random_bool(0.3) {
        previous.fill(0.0);
        for row in 0..b {
            previous[row * n + r.random_range(0..n)] = 1.0;
        }
    }
    let description =
        format!("b {b} n {n} m {m} shifts {shifts:?} key scale {key_scale} beta {beta:?} gamma {gamma:?}");
    RandomCase {
        params: AddressingParams {
            key: tensor(&key, &[b, m], dtype),
            beta: tensor(&beta, &[b, 1], dtype),
            gate: tensor(&gate, &[b, 1], dtype),
            shift: tensor(&shift, &[b, s], dtype),
            gamma: tensor(&gamma, &[b, 1], dtype),
        },
        memory: tensor(&memory, &[b, n, m], dtype),
        previous: tensor(&previous, &[b, n], dtype),
        shifts,
        description,
    }
}

/// Every row of `w` (`[B, N]`) is non-negative and sums to 1 within `tol`.
fn assert_distribution(what: &str, w: &Tensor, tol: f64) {
    let (b, n) = w.dims2().unwrap();
    let v = values(w);
    for row in 0..b {
        let r = &v[row * n..(row + 1) * n];
        assert!(
            r.iter().all(|x| x.is_finite() && *x >= 0.0),
            "{what}: row {row} has a negative or non-finite entry: {r:?}"
        );
        let sum: f64 = r.iter().sum();
        assert!((sum - 1.0).abs() <= tol, "{what}: row {row} sums to {sum}: {r:?}");
    }
}

#[test]
fn address_always_gives_distributions() {
    for (dtype, tol) in [(DType::F32, 1e-5), (DType::F64, 1e-12)] {
        let mut r = rng(2014);
        for i in 0..300 {
            let case = random_case(&mut r, dtype);
            let out = address(&case.params, &case.memory, &case.previous, &case.shifts).unwrap();
            assert_eq!(out.weighting.dtype(), dtype);
            let what = format!("case {i} ({dtype:?}): {}", case.description);
            assert_distribution(&format!("content, {what}"), &out.content, tol);
            assert_distribution(&format!("weighting, {what}"), &out.weighting, tol);
        }
    }
}

#[test]
fn address_f32_agrees_with_f64() {
    // Same random inputs in both precisions; f32 carries ~1e-7 relative error per operation.
    // Large gammas amplify relative differences (d ln w = gamma d ln w~), and beta up to 100
    // amplifies the cosines' rounding, so the tolerance is 1e-3 rather than 1e-6.
    let mut r64 = rng(7);
    let mut r32 = rng(7);
    for i in 0..100 {
        let a = random_case(&mut r64, DType::F64);
        let b = random_case(&mut r32, DType::F32);
        let wa = address(&a.params, &a.memory, &a.previous, &a.shifts).unwrap().weighting;
        let wb = address(&b.params, &b.memory, &b.previous, &b.shifts).unwrap().weighting;
        let (va, vb) = (values(&wa), values(&wb));
        assert!(va.iter().chain(&vb).all(|x| x.is_finite()), "case {i}: not finite: {}", a.description);
        let max_diff = va.iter().zip(&vb).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(max_diff < 1e-3, "case {i}: f32 and f64 differ by {max_diff}: {}", a.description);
    }
}
