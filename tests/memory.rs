//! Memory read (eq. 2) and write (eqs. 3-4) against hand values and against plain loops.

mod common;

use candle_core::{DType, Device};
use common::{assert_close, assert_tensor, distributions, rng, tensor, uniform, values};
use ntm::pieces::memory::{constant_memory, read, write, CONSTANT_INIT};

const DTYPES: [DType; 2] = [DType::F64, DType::F32];

/// r[b][k] = sum_i w[b][i] M[b][i][k], with loops.
fn read_loop(w: &[f64], memory: &[f64], b: usize, n: usize, m: usize) -> Vec<f64> {
    let mut r = vec![0.0; b * m];
    for batch in 0..b {
        for i in 0..n {
            for k in 0..m {
                r[batch * m + k] += w[batch * n + i] * memory[(batch * n + i) * m + k];
            }
        }
    }
    r
}

/// M'[b][i][k] = M[b][i][k] (1 - w[b][i] e[b][k]) + w[b][i] a[b][k], with loops.
fn write_loop(memory: &[f64], w: &[f64], e: &[f64], a: &[f64], b: usize, n: usize, m: usize) -> Vec<f64> {
    let mut out = memory.to_vec();
    for batch in 0..b {
        for i in 0..n {
            let wi = w[batch * n + i];
            for k in 0..m {
                let cell = &mut out[(batch * n + i) * m + k];
                *cell = *cell * (1.0 - wi * e[batch * m + k]) + wi * a[batch * m + k];
            }
        }
    }
    out
}

// Two batch rows of a 3 x 2 memory used by the hand examples.
//   row 0: M = [[1, 2], [3, 4], [5, 6]]
//   row 1: M = [[-1, 0], [2, 2], [0, -3]]
const MEMORY: [f64; 12] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -1.0, 0.0, 2.0, 2.0, 0.0, -3.0];

#[test]
fn read_matches_hand_values() {
    struct Case {
        name: &'static str,
        w: [f64; 6],
        expected: [f64; 4],
    }
    let cases = [
        // row 0: 0.5 (1, 2) + 0.25 (3, 4) + 0.25 (5, 6) = (0.5 + 0.75 + 1.25, 1 + 1 + 1.5) = (2.5, 3.5)
        // row 1: 1.0 (2, 2) = (2, 2)
        Case { name: "mixed and one-hot", w: [0.5, 0.25, 0.25, 0.0, 1.0, 0.0], expected: [2.5, 3.5, 2.0, 2.0] },
        // row 0: one-hot on slot 2 -> (5, 6)
        // row 1: 0.5 (-1, 0) + 0.5 (0, -3) = (-0.5, -1.5)
        Case { name: "one-hot and halves", w: [0.0, 0.0, 1.0, 0.5, 0.0, 0.5], expected: [5.0, 6.0, -0.5, -1.5] },
        // a zero weighting reads zeros
        Case { name: "zero weighting", w: [0.0; 6], expected: [0.0; 4] },
    ];
    for dtype in DTYPES {
        let memory = tensor(&MEMORY, &[2, 3, 2], dtype);
        for c in &cases {
            let w = tensor(&c.w, &[2, 3], dtype);
            let r = read(&w, &memory).unwrap();
            assert_eq!(r.dims(), &[2, 2], "{}", c.name);
            assert_tensor(&format!("{} ({dtype:?})", c.name), &r, &c.expected, 1e-6);
        }
    }
}

#[test]
fn read_matches_a_plain_loop() {
    let mut r = rng(1);
    for (b, n, m) in [(1, 1, 1), (2, 3, 2), (3, 7, 5), (2, 128, 20)] {
        let w = distributions(&mut r, b, n);
        let memory = uniform(&mut r, b * n * m, -3.0, 3.0);
        let expected = read_loop(&w, &memory, b, n, m);
        let out = read(&tensor(&w, &[b, n], DType::F64), &tensor(&memory, &[b, n, m], DType::F64)).unwrap();
        assert_tensor(&format!("read b {b} n {n} m {m}"), &out, &expected, 1e-12);
    }
}

#[test]
fn write_matches_hand_values() {
    struct Case {
        name: &'static str,
        w: [f64; 6],
        erase: [f64; 4],
        add: [f64; 4],
        expected: [f64; 12],
    }
    let cases = [
        // row 0: w = (1, 0.5, 0), e = (0.5, 1), a = (10, 20)
        //   slot 0: (1 (1 - 0.5), 2 (1 - 1)) + (10, 20)            = (10.5, 20)
        //   slot 1: (3 (1 - 0.25), 4 (1 - 0.5)) + 0.5 (10, 20)      = (2.25 + 5, 2 + 10) = (7.25, 12)
        //   slot 2: w = 0, unchanged                                 = (5, 6)
        // row 1: w = (0, 0.2, 0.8), e = (1, 0), a = (-1, 1)
        //   slot 0: unchanged                                        = (-1, 0)
        //   slot 1: (2 (1 - 0.2), 2 (1 - 0)) + 0.2 (-1, 1)          = (1.4, 2.2)
        //   slot 2: (0 (1 - 0.8), -3 (1 - 0)) + 0.8 (-1, 1)         = (-0.8, -2.2)
        Case {
            name: "erase then add",
            w: [1.0, 0.5, 0.0, 0.0, 0.2, 0.8],
            erase: [0.5, 1.0, 1.0, 0.0],
            add: [10.0, 20.0, -1.0, 1.0],
            expected: [10.5, 20.0, 7.25, 12.0, 5.0, 6.0, -1.0, 0.0, 1.4, 2.2, -0.8, -2.2],
        },
        // e = 1 with a one-hot w replaces the addressed row by a exactly:
        // row 0 slot 1 <- (7, 8); row 1 slot 2 <- (-5, 0.5); other rows unchanged.
        Case {
            name: "full erase, one-hot: replaces a row",
            w: [0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            erase: [1.0, 1.0, 1.0, 1.0],
            add: [7.0, 8.0, -5.0, 0.5],
            expected: [1.0, 2.0, 7.0, 8.0, 5.0, 6.0, -1.0, 0.0, 2.0, 2.0, -5.0, 0.5],
        },
        // e = 0 and a = 0 leave the memory unchanged whatever w is.
        Case {
            name: "no erase, no add: unchanged",
            w: [0.2, 0.3, 0.5, 1.0, 0.0, 0.0],
            erase: [0.0; 4],
            add: [0.0; 4],
            expected: MEMORY,
        },
        // e = 0 with a one-hot w only adds: row 0 slot 0 (1, 2) + (1, 1) = (2, 3);
        // row 1 slot 1 (2, 2) + (-2, 0) = (0, 2).
        Case {
            name: "no erase: adds",
            w: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            erase: [0.0; 4],
            add: [1.0, 1.0, -2.0, 0.0],
            expected: [2.0, 3.0, 3.0, 4.0, 5.0, 6.0, -1.0, 0.0, 0.0, 2.0, 0.0, -3.0],
        },
    ];
    for dtype in DTYPES {
        let memory = tensor(&MEMORY, &[2, 3, 2], dtype);
        for c in &cases {
            // the loop agrees with the hand values (a check on the table itself)
            let looped = write_loop(&MEMORY, &c.w, &c.erase, &c.add, 2, 3, 2);
            assert_close(&format!("{}: plain loop", c.name), &looped, &c.expected, 1e-12);
            let out = write(
                &memory,
                &tensor(&c.w, &[2, 3], dtype),
                &tensor(&c.erase, &[2, 2], dtype),
                &tensor(&c.add, &[2, 2], dtype),
            )
            .unwrap();
            assert_eq!(out.dims(), &[2, 3, 2], "{}", c.name);
            assert_eq!(out.dtype(), dtype, "{}", c.name);
            assert_tensor(&format!("{} ({dtype:?})", c.name), &out, &c.expected, 1e-6);
        }
    }
}

#[test]
fn write_with_full_erase_replaces_exactly() {
    // Exact, not approximate: M (1 - 1 * 1) + 1 * a = 0 + a bit for bit.
    let memory = tensor(&MEMORY, &[2, 3, 2], DType::F32);
    let w = tensor(&[0.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[2, 3], DType::F32);
    let e = tensor(&[1.0; 4], &[2, 2], DType::F32);
    let a = tensor(&[0.1, -0.3, 0.7, 1e-7], &[2, 2], DType::F32);
    let out = values(&write(&memory, &w, &e, &a).unwrap());
    let a32: Vec<f64> = [0.1f32, -0.3, 0.7, 1e-7].iter().map(|&x| x as f64).collect();
    assert_eq!(&out[4..6], &a32[0..2], "row 0 slot 2");
    assert_eq!(&out[6..8], &a32[2..4], "row 1 slot 0");
}

#[test]
fn write_matches_a_plain_loop() {
    let mut r = rng(2);
    for (b, n, m) in [(1, 1, 1), (2, 3, 2), (3, 7, 5), (2, 128, 20)] {
        let memory = uniform(&mut r, b * n * m, -3.0, 3.0);
        let w = distributions(&mut r, b, n);
        let e = uniform(&mut r, b * m, 0.0, 1.0);
        let a = uniform(&mut r, b * m, -1.0, 1.0);
        let expected = write_loop(&memory, &w, &e, &a, b, n, m);
        let out = write(
            &tensor(&memory, &[b, n, m], DType::F64),
            &tensor(&w, &[b, n], DType::F64),
            &tensor(&e, &[b, m], DType::F64),
            &tensor(&a, &[b, m], DType::F64),
        )
        .unwrap();
        assert_tensor(&format!("write b {b} n {n} m {m}"), &out, &expected, 1e-12);
    }
}

#[test]
fn batch_rows_are_independent() {
    // Changing every input of batch row 1 must not change row 0's read or write.
    let (n, m) = (4, 3);
    let mut r = rng(3);
    let memory = uniform(&mut r, 2 * n * m, -1.0, 1.0);
    let w = distributions(&mut r, 2, n);
    let e = uniform(&mut r, 2 * m, 0.0, 1.0);
    let a = uniform(&mut r, 2 * m, -1.0, 1.0);
    let run = |memory: &[f64], w: &[f64], e: &[f64], a: &[f64]| {
        let mem = tensor(memory, &[2, n, m], DType::F64);
        let wt = tensor(w, &[2, n], DType::F64);
        let read_out = values(&read(&wt, &mem).unwrap());
        let write_out =
            values(&write(&mem, &wt, &tensor(e, &[2, m], DType::F64), &tensor(a, &[2, m], DType::F64)).unwrap());
        (read_out, write_out)
    };
    let (read0, write0) = run(&memory, &w, &e, &a);
    let bump = |v: &[f64], from: usize| -> Vec<f64> {
        v.iter().enumerate().map(|(i, x)| if i >= from { x * -2.0 + 0.5 } else { *x }).collect()
    };
    let (read1, write1) = run(&bump(&memory, n * m), &bump(&w, n), &bump(&e, m), &bump(&a, m));
    assert_eq!(&read0[..m], &read1[..m], "read: row 0 changed with row 1's inputs");
    assert_eq!(&write0[..n * m], &write1[..n * m], "write: row 0 changed with row 1's inputs");
    assert_ne!(&read0[m..], &read1[m..], "read: row 1 did not change with its inputs");
    assert_ne!(&write0[n * m..], &write1[n * m..], "write: row 1 did not change with its inputs");
}

#[test]
fn constant_memory_is_the_documented_constant() {
    for dtype in DTYPES {
        let mem = constant_memory(2, 5, 3, dtype, &Device::Cpu).unwrap();
        assert_eq!(mem.dims(), &[2, 5, 3]);
        assert_eq!(mem.dtype(), dtype);
        // 1e-6 in the memory's precision
        let expected = if dtype == DType::F32 { CONSTANT_INIT as f32 as f64 } else { CONSTANT_INIT };
        assert!(values(&mem).iter().all(|&x| x == expected), "{dtype:?}: {:?}", values(&mem));
    }
    assert_eq!(CONSTANT_INIT, 1e-6, "Collier & Beel's constant");
}

/// Several write heads act as the paper's section 3.2 says: each addresses M_{t-1}, then
/// M_t = M_{t-1} prod_i (1 - w_i e_i) + sum_i w_i a_i, whatever the heads' order. Checked on a
/// whole NTM step through its trace: the read vector after the step must equal w_r^T M_t with
/// M_t rebuilt by that formula from the traced initial memory and the write heads' w, e, a.
#[test]
fn several_write_heads_erase_then_add_on_the_previous_memory() {
    use candle_core::Tensor;
    use candle_nn::VarMap;
    use ntm::base::kinds::{Engine, HeadKind, MemoryInit};
    use ntm::models::factory::ModelConfig;
    use ntm::models::ntm::{MemoryConfig, NtmConfig};

    for engine in [Engine::Reference, Engine::Fused] {
        let config = NtmConfig {
            controller_size: 8,
            write_heads: 3,
            memory: MemoryConfig { slots: 6, width: 4, init: MemoryInit::Random },
            engine,
            ..NtmConfig::default()
        };
        let varmap = VarMap::new();
        let model = ModelConfig::Ntm(config).build(&varmap, 11, 3, 2, DType::F64, &Device::Cpu).unwrap();
        let x = Tensor::from_vec(vec![1.0f64, 0.0, 1.0], (1, 1, 3), &Device::Cpu).unwrap();
        let (_, record) = model.forward_traced_with_memory(&x).unwrap();
        let record = record.unwrap();
        let mut memory: Vec<Vec<f64>> =
            record.initial_memory.iter().map(|row| row.iter().map(|&v| v as f64).collect()).collect();
        let writes: Vec<_> = record.heads.iter().filter(|h| h.kind == HeadKind::Write).map(|h| &h.steps[0]).collect();
        assert_eq!(writes.len(), 3);
        for step in &writes {
            let e = step.erase.as_ref().unwrap();
            for (i, row) in memory.iter_mut().enumerate() {
                for (j, cell) in row.iter_mut().enumerate() {
                    *cell *= 1.0 - step.weighting[i] as f64 * e[j] as f64;
                }
            }
        }
        for step in &writes {
            let a = step.add.as_ref().unwrap();
            for (i, row) in memory.iter_mut().enumerate() {
                for (j, cell) in row.iter_mut().enumerate() {
                    *cell += step.weighting[i] as f64 * a[j] as f64;
                }
            }
        }
        let read = record.heads.iter().find(|h| h.kind == HeadKind::Read).unwrap();
        let w = &read.steps[0].weighting;
        let expected: Vec<f64> = (0..4).map(|j| (0..6).map(|i| w[i] as f64 * memory[i][j]).sum()).collect();
        let got: Vec<f64> = read.steps[0].read.as_ref().unwrap().iter().map(|&v| v as f64).collect();
        assert_close(&format!("{engine:?}: read after three writes"), &got, &expected, 1e-5);
        // The recorded memory after the step, [T = 1, N, M], is that M_t.
        let recorded: Vec<f64> = record.memory.expect("memory recorded").iter().map(|&v| v as f64).collect();
        assert_close(&format!("{engine:?}: recorded memory"), &recorded, &memory.concat(), 1e-5);
        assert_eq!(model.forward_traced(&x).unwrap().1.unwrap().memory, None, "{engine:?}: memory only when asked");
    }
}
