//! `Task::sample` draws exactly what it drew before fixed repeat counts were added: trained
//! checkpoints and their results depend on these draws, so they are pinned here (lengths,
//! repeat counts and a fingerprint of every buffer, from the code as it was then).

use ntm_tasks::{Batch, CopySpec, CopyTask, RepeatCopy, RepeatCopySpec, Task};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// FNV-1a over the batch's inputs, targets and mask (f32 bit patterns), its time and lengths.
fn fingerprint(batch: &Batch) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |word: u64| {
        for byte in word.to_le_bytes() {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(batch.time as u64);
    batch.lengths.iter().for_each(|&l| eat(l as u64));
    for buffer in [&batch.inputs, &batch.targets, &batch.mask] {
        buffer.iter().for_each(|x| eat(x.to_bits() as u64));
    }
    hash
}

/// Lengths and fingerprint of two successive batches from one generator (so the number of
/// draws each batch consumes is pinned too).
fn draws(task: &dyn Task, seed: u64, length: Option<usize>) -> Vec<(Vec<usize>, u64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..2)
        .map(|_| {
            let batch = task.sample(&mut rng, 4, length);
            (batch.lengths.clone(), fingerprint(&batch))
        })
        .collect()
}

#[test]
fn copy_draws_are_pinned() {
    let copy = CopyTask::new(CopySpec::default());
    let expected = [(vec![7, 13, 18, 16], 18382311340248440712), (vec![20, 11, 10, 7], 1036086396360064894)];
    assert_eq!(draws(&copy, 11, None), expected);
    let expected = [(vec![7; 4], 3312676654792254442), (vec![7; 4], 17729688917994119786)];
    assert_eq!(draws(&copy, 12, Some(7)), expected);
}

#[test]
fn repeat_copy_draws_are_pinned() {
    let repeat = RepeatCopy::new(RepeatCopySpec::default());
    let expected = [(vec![3, 9, 9, 5], 3064829411544789930), (vec![3, 4, 8, 5], 14983436890938808936)];
    assert_eq!(draws(&repeat, 13, None), expected);
    let expected = [(vec![7; 4], 4694992529110631704), (vec![7; 4], 8396007897699114162)];
    assert_eq!(draws(&repeat, 14, Some(7)), expected);
}
