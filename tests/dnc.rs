//! The DNC's memory access (Graves et al. 2016, Methods; `src/pieces/dnc/`) against values
//! computed by hand, table-driven: the interface's layout and activations, retention, usage,
//! the free list and allocation (ties, every slot used, every slot free), the write weighting,
//! precedence, the link matrix and the order of writes it records, forward and backward
//! weightings and the read modes; and the model's validation, one line naming the field.
//!
//! Each hand computation is written beside its case. Conventions checked here: L[i,j] is how
//! much slot i was written right after slot j, so the forward weighting L w moves a read head
//! to the slot written after the one it read; ties in the free list go to the lower index.

mod common;

use candle_core::{DType, Tensor};
use common::{assert_tensor, tensor};
use ntm::base::kinds::ReadMode;
use ntm::models::dnc::{DncConfig, DncMemoryConfig};
use ntm::pieces::dnc::allocation::{allocation, exclusive_cumprod, free_list, retention, usage};
use ntm::pieces::dnc::interface::{oneplus, split, InterfaceParts};
use ntm::pieces::dnc::linkage::{directional, link, precedence};
use ntm::pieces::dnc::weighting::{read_weighting, write_weighting};

/// Tolerance of the hand values (f64, computed with a handful of roundings).
const HAND_TOL: f64 = 1e-12;

const DTYPES: [DType; 2] = [DType::F64, DType::F32];

/// The tolerance in `dtype`.
fn tol(dtype: DType) -> f64 {
    if dtype == DType::F32 {
        1e-6
    } else {
        HAND_TOL
    }
}

// ---------------------------------------------------------------- the interface

#[test]
fn interface_layout_follows_the_width_table() {
    // W = 2, R = 2, K = 3: read keys 0..4, read strengths 4, 5, write key 6..8, write strength
    // 8, erase 9..11, write vector 11..13, free gates 13, 14, allocation gate 15, write gate
    // 16, read modes 17..20 and 20..23: R W + 3 W + 5 R + 3 = 4 + 6 + 10 + 3 = 23.
    let p = InterfaceParts::new(2, 2, 3);
    assert_eq!((p.read_key(0), p.read_key(1), p.read_keys()), (0..2, 2..4, 0..4));
    assert_eq!((p.read_strength(0), p.read_strength(1)), (4, 5));
    assert_eq!((p.write_key(), p.write_strength()), (6..8, 8));
    assert_eq!((p.erase(), p.write_vector()), (9..11, 11..13));
    assert_eq!((p.free_gate(0), p.free_gate(1), p.allocation_gate(), p.write_gate()), (13, 14, 15, 16));
    assert_eq!((p.read_modes(0), p.read_modes(1), p.all_read_modes()), (17..20, 20..23, 17..23));
    assert_eq!(p.width(), 23);
    // The paper's sizes: W = 20, R = 1: 20 + 60 + 5 + 3 = 88; deepmind's W = 16, R = 4:
    // 64 + 48 + 20 + 3 = 135; one mode per head drops 2 R.
    assert_eq!(InterfaceParts::new(20, 1, 3).width(), 88);
    assert_eq!(InterfaceParts::new(16, 4, 3).width(), 135);
    assert_eq!(InterfaceParts::new(16, 4, 1).width(), 127);
}

#[test]
fn interface_activations_match_hand_values() {
    // W = 1, R = 1, K = 3 (width 1 + 3 + 5 + 3 = 12): raw 0 everywhere but the read key 0.7,
    // the write strength 30 (clipped to 20), the erase -30 (clipped to -20), the write vector
    // -0.4 and the modes (ln 1, ln 2, ln 7).
    //   oneplus(0) = 1 + ln 2 = 1.6931471805599454; oneplus(20) = 21 + ln(1 + e^-20) =
    //   21.000000002061154; sigmoid(0) = 0.5; sigmoid(-20) = 2.0611536181902037e-9;
    //   softmax(0, ln 2, ln 7) = (1, 2, 7) / 10.
    let parts = InterfaceParts::new(1, 1, 3);
    let mut raw = vec![0.0; parts.width()];
    raw[parts.read_key(0).start] = 0.7;
    raw[parts.write_strength()] = 30.0;
    raw[parts.erase().start] = -30.0;
    raw[parts.write_vector().start] = -0.4;
    let modes = parts.read_modes(0).start;
    raw[modes + 1] = 2f64.ln();
    raw[modes + 2] = 7f64.ln();
    for dtype in DTYPES {
        let xi = split(&tensor(&raw, &[1, parts.width()], dtype), parts).unwrap();
        let t = tol(dtype);
        assert_tensor("read key", &xi.read_keys[0], &[0.7], t);
        assert_tensor("read strength", &xi.read_strengths[0], &[1.6931471805599454], t);
        assert_tensor("write key", &xi.write_key, &[0.0], t);
        assert_tensor("write strength", &xi.write_strength, &[21.000000002061154], 1e-5);
        assert_tensor("erase", &xi.erase, &[2.0611536181902037e-9], 1e-15);
        assert_tensor("write vector", &xi.write_vector, &[-0.4], t);
        assert_tensor("free gate", &xi.free_gates[0], &[0.5], t);
        assert_tensor("allocation gate", &xi.allocation_gate, &[0.5], t);
        assert_tensor("write gate", &xi.write_gate, &[0.5], t);
        assert_tensor("read modes", &xi.read_modes[0], &[0.1, 0.2, 0.7], t);
    }
    // oneplus(-50) = 1 + ln(1 + e^-50) = 1 + 2e-22.
    let y = oneplus(&tensor(&[-50.0, 0.0], &[2], DType::F64)).unwrap();
    assert_tensor("oneplus", &y, &[1.0, 1.6931471805599454], HAND_TOL);
}

// ---------------------------------------------------------------- retention and usage

#[test]
fn retention_matches_hand_values() {
    // Free gates f = (0.5, 1), previous read weightings w1 = (1, 0, 0.5, 0), w2 = (0, 1, 0.5, 0):
    // psi = (1 - 0.5 w1)(1 - w2) = (0.5 * 1, 1 * 0, 0.75 * 0.5, 1 * 1) = (0.5, 0, 0.375, 1).
    for dtype in DTYPES {
        let f = [tensor(&[0.5], &[1, 1], dtype), tensor(&[1.0], &[1, 1], dtype)];
        let w = [tensor(&[1.0, 0.0, 0.5, 0.0], &[1, 4], dtype), tensor(&[0.0, 1.0, 0.5, 0.0], &[1, 4], dtype)];
        assert_tensor("retention", &retention(&f, &w).unwrap(), &[0.5, 0.0, 0.375, 1.0], tol(dtype));
    }
}

#[test]
fn usage_matches_hand_values() {
    // u = (u' + w - u' w) psi, rows of a batch of 2:
    // row 0: u' = (0.5, 0, 1, 0.2), w = (0.5, 0.4, 0, 0), psi = (1, 0.5, 0.5, 0):
    //   (0.75 * 1, 0.4 * 0.5, 1 * 0.5, 0.2 * 0) = (0.75, 0.2, 0.5, 0);
    // row 1: nothing written, nothing freed: u = u' = (0.1, 0.2, 0.3, 0.4).
    for dtype in DTYPES {
        let previous = tensor(&[0.5, 0.0, 1.0, 0.2, 0.1, 0.2, 0.3, 0.4], &[2, 4], dtype);
        let written = tensor(&[0.5, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[2, 4], dtype);
        let kept = tensor(&[1.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0, 1.0], &[2, 4], dtype);
        let u = usage(&previous, &written, &kept).unwrap();
        assert_tensor("usage", &u, &[0.75, 0.2, 0.5, 0.0, 0.1, 0.2, 0.3, 0.4], tol(dtype));
    }
}

// ---------------------------------------------------------------- allocation

struct AllocationCase {
    name: &'static str,
    usage: &'static [f64],
    /// Slot indices by ascending usage, ties to the lower index.
    order: &'static [u32],
    allocation: &'static [f64],
}

const ALLOCATION_CASES: &[AllocationCase] = &[
    AllocationCase {
        // Every usage 0 (the first step): all ties, so slot 0 first: a = (1, 0, 0, 0).
        name: "every slot free",
        usage: &[0.0, 0.0, 0.0, 0.0],
        order: &[0, 1, 2, 3],
        allocation: &[1.0, 0.0, 0.0, 0.0],
    },
    AllocationCase {
        // Every usage 1: (1 - 1) times anything is 0.
        name: "every slot used",
        usage: &[1.0, 1.0, 1.0],
        order: &[0, 1, 2],
        allocation: &[0.0, 0.0, 0.0],
    },
    AllocationCase {
        // u = (0.5, 0.1, 0.9, 0.2): free list 1 (0.1), 3 (0.2), 0 (0.5), 2 (0.9);
        // a[1] = 0.9, a[3] = 0.8 * 0.1 = 0.08, a[0] = 0.5 * 0.1 * 0.2 = 0.01,
        // a[2] = 0.1 * 0.1 * 0.2 * 0.5 = 0.001; sum 0.991 = 1 - 0.5 * 0.1 * 0.9 * 0.2.
        name: "distinct usages",
        usage: &[0.5, 0.1, 0.9, 0.2],
        order: &[1, 3, 0, 2],
        allocation: &[0.01, 0.9, 0.001, 0.08],
    },
    AllocationCase {
        // u = (0.5, 0.2, 0.5, 0.2): ties to the lower index, free list 1, 3, 0, 2;
        // a[1] = 0.8, a[3] = 0.8 * 0.2 = 0.16, a[0] = 0.5 * 0.04 = 0.02, a[2] = 0.5 * 0.02 = 0.01.
        name: "ties",
        usage: &[0.5, 0.2, 0.5, 0.2],
        order: &[1, 3, 0, 2],
        allocation: &[0.02, 0.8, 0.01, 0.16],
    },
    AllocationCase {
        // One free slot among used ones gets everything: u = (1, 1, 0, 1): a = (0, 0, 1, 0).
        name: "one free slot",
        usage: &[1.0, 1.0, 0.0, 1.0],
        order: &[2, 0, 1, 3],
        allocation: &[0.0, 0.0, 1.0, 0.0],
    },
];

#[test]
fn allocation_matches_hand_values() {
    for dtype in DTYPES {
        for case in ALLOCATION_CASES {
            let n = case.usage.len();
            let u = tensor(case.usage, &[1, n], dtype);
            assert_eq!(free_list(&u).unwrap(), vec![case.order.to_vec()], "{}: free list", case.name);
            let a = allocation(&u).unwrap();
            assert_eq!(a.dims(), &[1, n]);
            assert_tensor(&format!("{} ({dtype:?})", case.name), &a, case.allocation, tol(dtype));
        }
    }
}

#[test]
fn allocation_rows_of_a_batch_are_independent() {
    // The cases above as one batch (each padded with used slots, which get weight 0 and come
    // last in the free list) give each case's values.
    let n = 5;
    let mut usage = Vec::new();
    let mut expected = Vec::new();
    for case in ALLOCATION_CASES {
        usage.extend(case.usage);
        expected.extend(case.allocation);
        for _ in case.usage.len()..n {
            usage.push(1.0);
            expected.push(0.0);
        }
    }
    let u = tensor(&usage, &[ALLOCATION_CASES.len(), n], DType::F64);
    assert_tensor("batch", &allocation(&u).unwrap(), &expected, HAND_TOL);
}

#[test]
fn exclusive_cumulative_product_matches_hand_values() {
    // P_j = prod_{i<j} x_i: (2, 3, 4, 5, 6) -> (1, 2, 6, 24, 120); 9 values take 4 rounds
    // of the scan; one value gives 1.
    let x = tensor(&[2.0, 3.0, 4.0, 5.0, 6.0], &[1, 5], DType::F64);
    assert_tensor("five", &exclusive_cumprod(&x).unwrap(), &[1.0, 2.0, 6.0, 24.0, 120.0], HAND_TOL);
    let x = tensor(&[1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0], &[1, 9], DType::F64);
    let p = [1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 8.0, 16.0];
    assert_tensor("nine", &exclusive_cumprod(&x).unwrap(), &p, HAND_TOL);
    assert_tensor("one", &exclusive_cumprod(&tensor(&[7.0], &[1, 1], DType::F64)).unwrap(), &[1.0], HAND_TOL);
}

// ---------------------------------------------------------------- write and read weightings

#[test]
fn write_weighting_matches_hand_values() {
    // a = (1, 0, 0), c = (0.2, 0.3, 0.5), g^a = 0.25, g^w = 0.8:
    // 0.8 (0.25 a + 0.75 c) = 0.8 (0.4, 0.225, 0.375) = (0.32, 0.18, 0.3).
    for dtype in DTYPES {
        let a = tensor(&[1.0, 0.0, 0.0], &[1, 3], dtype);
        let c = tensor(&[0.2, 0.3, 0.5], &[1, 3], dtype);
        let (ga, gw) = (tensor(&[0.25], &[1, 1], dtype), tensor(&[0.8], &[1, 1], dtype));
        assert_tensor("write weighting", &write_weighting(&a, &c, &ga, &gw).unwrap(), &[0.32, 0.18, 0.3], tol(dtype));
    }
}

#[test]
fn read_modes_mix_their_weightings_in_the_order_given() {
    // Backward b = e0, content c = e1, forward f = e2; modes pi = (0.2, 0.5, 0.3).
    // The paper's order (backward, content, forward): w = 0.2 b + 0.5 c + 0.3 f = (0.2, 0.5, 0.3);
    // in the order (forward, content, backward) the same pi gives (0.3, 0.5, 0.2).
    let e = |i: usize| {
        let mut v = [0.0; 3];
        v[i] = 1.0;
        tensor(&v, &[1, 3], DType::F64)
    };
    let pi = tensor(&[0.2, 0.5, 0.3], &[1, 3], DType::F64);
    let by = |modes: &[ReadMode]| -> Vec<Tensor> {
        modes
            .iter()
            .map(|m| match m {
                ReadMode::Backward => e(0),
                ReadMode::Content => e(1),
                ReadMode::Forward => e(2),
            })
            .collect()
    };
    let paper = read_weighting(&pi, &by(&ReadMode::ALL)).unwrap();
    assert_tensor("paper's order", &paper, &[0.2, 0.5, 0.3], HAND_TOL);
    let reversed = read_weighting(&pi, &by(&[ReadMode::Forward, ReadMode::Content, ReadMode::Backward])).unwrap();
    assert_tensor("reversed", &reversed, &[0.3, 0.5, 0.2], HAND_TOL);
    assert_eq!(ReadMode::ALL, [ReadMode::Backward, ReadMode::Content, ReadMode::Forward]);
    assert_eq!(DncConfig::default().read_modes, ReadMode::ALL.to_vec());
}

// ---------------------------------------------------------------- precedence and links

#[test]
fn precedence_matches_hand_values() {
    // p' = (0.2, 0.3, 0.5), w = (0, 0.6, 0.1): sum w = 0.7, p = 0.3 p' + w
    //   = (0.06, 0.09 + 0.6, 0.15 + 0.1) = (0.06, 0.69, 0.25).
    for dtype in DTYPES {
        let p = precedence(&tensor(&[0.2, 0.3, 0.5], &[1, 3], dtype), &tensor(&[0.0, 0.6, 0.1], &[1, 3], dtype));
        assert_tensor("precedence", &p.unwrap(), &[0.06, 0.69, 0.25], tol(dtype));
    }
}

/// L' of the link cases, by rows.
const PREVIOUS_LINK: [f64; 9] = [0.0, 0.5, 0.1, 0.2, 0.0, 0.3, 0.4, 0.6, 0.0];
/// L of the link cases: L[i,j] = (1 - w_i - w_j) L'[i,j] + w_i p'_j, w = (0, 0.6, 0.1),
/// p' = (0.2, 0.3, 0.5):
///   row 0 (w_0 = 0):   (1 - 0.6) 0.5 = 0.2;  (1 - 0.1) 0.1 = 0.09
///   row 1 (w_1 = 0.6): 0.4 * 0.2 + 0.6 * 0.2 = 0.2;  0.3 * 0.3 + 0.6 * 0.5 = 0.39
///   row 2 (w_2 = 0.1): 0.9 * 0.4 + 0.1 * 0.2 = 0.38;  0.3 * 0.6 + 0.1 * 0.3 = 0.21
const LINK: [f64; 9] = [0.0, 0.2, 0.09, 0.2, 0.0, 0.39, 0.38, 0.21, 0.0];

#[test]
fn link_matches_hand_values() {
    for dtype in DTYPES {
        let l = link(
            &tensor(&PREVIOUS_LINK, &[1, 3, 3], dtype),
            &tensor(&[0.0, 0.6, 0.1], &[1, 3], dtype),
            &tensor(&[0.2, 0.3, 0.5], &[1, 3], dtype),
        )
        .unwrap();
        assert_eq!(l.dims(), &[1, 3, 3]);
        assert_tensor("link", &l, &LINK, tol(dtype));
    }
}

#[test]
fn the_diagonal_of_the_link_matrix_stays_zero() {
    // A write on slot 1 with precedence on slot 1 would give L[1,1] = w_1 p_1 = 0.25: zeroed.
    let l = link(
        &Tensor::zeros((1, 2, 2), DType::F64, &common::CPU).unwrap(),
        &tensor(&[0.0, 0.5], &[1, 2], DType::F64),
        &tensor(&[0.0, 0.5], &[1, 2], DType::F64),
    )
    .unwrap();
    assert_tensor("diagonal", &l, &[0.0, 0.0, 0.0, 0.0], HAND_TOL);
}

#[test]
fn directional_weightings_match_hand_values() {
    // L as above, w = (0.5, 0.5, 0):
    // f = L w = (0.5 * 0.2, 0.5 * 0.2, 0.5 * 0.38 + 0.5 * 0.21) = (0.1, 0.1, 0.295);
    // b = L^T w = (0.5 * 0.2, 0.5 * 0.2, 0.5 * 0.09 + 0.5 * 0.39) = (0.1, 0.1, 0.24).
    for dtype in DTYPES {
        let (f, b) = directional(&tensor(&LINK, &[1, 3, 3], dtype), &tensor(&[0.5, 0.5, 0.0], &[1, 3], dtype)).unwrap();
        assert_tensor("forward", &f, &[0.1, 0.1, 0.295], tol(dtype));
        assert_tensor("backward", &b, &[0.1, 0.1, 0.24], tol(dtype));
    }
}

#[test]
fn links_record_the_order_of_writes() {
    // From the zero state, sharp writes to slots 0, then 2, then 1 (4 slots):
    //   t1: w = e0: L = w p_0^T = 0 (p_0 = 0); p = e0.
    //   t2: w = e2: L[2,0] = w_2 p_0 = 1; p = e2.
    //   t3: w = e1: L[1,2] = 1; L[2,0] = (1 - w_2 - w_0) 1 = 1 kept; p = e1.
    // So forward from slot 0 reads slot 2, forward from 2 reads 1, forward from 1 (the last)
    // nothing; backward from 1 reads 2, from 2 reads 0.
    let n = 4;
    let e = |i: usize| {
        let mut v = vec![0.0; n];
        v[i] = 1.0;
        tensor(&v, &[1, n], DType::F64)
    };
    let mut l = Tensor::zeros((1, n, n), DType::F64, &common::CPU).unwrap();
    let mut p = Tensor::zeros((1, n), DType::F64, &common::CPU).unwrap();
    for slot in [0, 2, 1] {
        l = link(&l, &e(slot), &p).unwrap();
        p = precedence(&p, &e(slot)).unwrap();
    }
    let mut expected = vec![0.0; n * n];
    expected[2 * n] = 1.0; // L[2,0]
    expected[n + 2] = 1.0; // L[1,2]
    assert_tensor("link after 0, 2, 1", &l, &expected, HAND_TOL);
    assert_tensor("precedence", &p, &[0.0, 1.0, 0.0, 0.0], HAND_TOL);
    let follow = |from: usize| directional(&l, &e(from)).unwrap();
    assert_tensor("forward from 0", &follow(0).0, &[0.0, 0.0, 1.0, 0.0], HAND_TOL);
    assert_tensor("forward from 2", &follow(2).0, &[0.0, 1.0, 0.0, 0.0], HAND_TOL);
    assert_tensor("forward from 1", &follow(1).0, &[0.0; 4], HAND_TOL);
    assert_tensor("backward from 1", &follow(1).1, &[0.0, 0.0, 1.0, 0.0], HAND_TOL);
    assert_tensor("backward from 2", &follow(2).1, &[1.0, 0.0, 0.0, 0.0], HAND_TOL);
}

// ---------------------------------------------------------------- validation

#[test]
fn bad_settings_get_one_line_naming_the_field() {
    let bad = |edit: &dyn Fn(&mut DncConfig)| {
        let mut config = DncConfig::default();
        edit(&mut config);
        config.validate().unwrap_err()
    };
    let e = bad(&|c| c.read_heads = 0);
    assert!(e.starts_with("read_heads = 0:") && e.contains("at least one read head"), "{e}");
    let e = bad(&|c| c.memory = DncMemoryConfig { slots: 1, width: 4 });
    assert!(e.starts_with("memory.slots = 1:") && e.contains("at least 2 slots"), "{e}");
    let e = bad(&|c| c.memory.slots = 0);
    assert!(e.starts_with("memory.slots = 0:"), "{e}");
    let e = bad(&|c| c.memory.width = 0);
    assert!(e.starts_with("memory.width = 0:"), "{e}");
    let e = bad(&|c| c.memory.slots = 1 << 20);
    assert!(e.starts_with("memory.slots = 1048576:") && e.contains("at most 16384"), "{e}");
    let e = bad(&|c| c.read_modes.clear());
    assert!(e.starts_with("read_modes = []:"), "{e}");
    let e = bad(&|c| c.read_modes = vec![ReadMode::Content, ReadMode::Content]);
    assert!(e.starts_with("read_modes = [\"content\", \"content\"]:") && e.contains("once"), "{e}");
    let e = bad(&|c| c.controller_size = 0);
    assert!(e.starts_with("controller_size = 0:"), "{e}");
    assert!(DncConfig::default().validate().is_ok());
    for e in [bad(&|c| c.read_heads = 0), bad(&|c| c.memory.slots = 1)] {
        assert!(!e.contains('\n'), "one line: {e}");
    }
}
