//! `Task::sample` draws exactly what it drew before fixed repeat counts were added: trained
//! checkpoints and their results depend on these draws, so they are pinned here (lengths,
//! repeat counts and a fingerprint of every buffer, from the code as it was then). Dynamic
//! N-grams and priority sort are pinned as first written (a fingerprint, and a few exact values
//! of the first episode: its table or priorities and first bits), so that a change to their
//! order of draws shows here. Copy series is pinned as first written too: the committed
//! weights of experiments/results/reuse were trained on its draws.

use ntm_tasks::{
    Batch, CopySeries, CopySeriesSpec, CopySpec, CopyTask, DynamicNgrams, DynamicNgramsSpec, EpisodeInfo, PrioritySort,
    PrioritySortSpec, RepeatCopy, RepeatCopySpec, Task,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// FNV-1a over the batch's inputs, targets and mask (f32 bit patterns), its time and lengths,
/// and its reference predictions if it has them.
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
    for buffer in [&batch.inputs, &batch.targets, &batch.mask].into_iter().chain(&batch.reference) {
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

#[test]
fn dynamic_ngrams_draws_are_pinned() {
    let task = DynamicNgrams::new(DynamicNgramsSpec::default());
    let batch = task.sample(&mut ChaCha8Rng::seed_from_u64(15), 4, None);
    let Some(EpisodeInfo::DynamicNgrams { table }) = &batch.info[0] else { panic!("{:?}", batch.info[0]) };
    assert_eq!(table[..3], [0.013065643685780974, 0.7942714353648956, 0.41328914673402667]);
    let bits: String = (0..24).map(|t| if batch.input(t, 0)[0] == 1.0 { '1' } else { '0' }).collect();
    assert_eq!(bits, "100011011101010111111110");
    let expected = [(vec![200; 4], 16204445782618229935), (vec![200; 4], 4236245463088696911)];
    assert_eq!(draws(&task, 15, None), expected);
    let mixed = DynamicNgrams::new(DynamicNgramsSpec { context: 3, min_length: 2, max_length: 50 });
    let expected = [(vec![47, 5, 21, 18], 8344126055852974510), (vec![34, 22, 22, 47], 11548078999457637154)];
    assert_eq!(draws(&mixed, 16, None), expected);
}

#[test]
fn priority_sort_draws_are_pinned() {
    let task = PrioritySort::new(PrioritySortSpec::default());
    let batch = task.sample(&mut ChaCha8Rng::seed_from_u64(17), 4, None);
    let Some(EpisodeInfo::PrioritySort { priorities, order }) = &batch.info[0] else { panic!("{:?}", batch.info[0]) };
    assert_eq!(priorities[..3], [0.8846483, -0.74281764, -0.5698538]);
    assert_eq!(order, &[6, 0, 11, 17, 8, 7, 4, 9, 16, 15, 3, 12, 13, 14, 2, 10]);
    assert_eq!(batch.input(0, 0)[..8], [1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    let expected = [(vec![20; 4], 11907477057076688986), (vec![20; 4], 3005153047528956170)];
    assert_eq!(draws(&task, 17, None), expected);
    let mixed = PrioritySort::new(PrioritySortSpec { min_inputs: 1, max_inputs: 30, ..Default::default() });
    let expected = [(vec![8, 20, 26, 30], 11154635118587516070), (vec![2, 1, 23, 24], 16321088920228525915)];
    assert_eq!(draws(&mixed, 18, None), expected);
}

#[test]
fn copy_series_draws_are_pinned() {
    let task = CopySeries::new(CopySeriesSpec::default());
    let batch = task.sample(&mut ChaCha8Rng::seed_from_u64(19), 4, None);
    let Some(EpisodeInfo::CopySeries { lengths }) = &batch.info[0] else { panic!("{:?}", batch.info[0]) };
    assert_eq!(lengths, &[4]);
    assert_eq!(batch.input(0, 0)[..8], [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    let expected = [(vec![1, 3, 3, 4], 17812275224684739864), (vec![1, 1, 4, 2], 10172504271934083537)];
    assert_eq!(draws(&task, 19, None), expected);
    let expected = [(vec![9; 4], 11328789323899873824), (vec![9; 4], 12882360381542175308)];
    assert_eq!(draws(&task, 20, Some(9)), expected);
    // experiments/reuse.toml's task.
    let reuse = CopySeries::new(CopySeriesSpec { min_sequences: 2, max_sequences: 6, ..Default::default() });
    let expected = [(vec![3, 3, 4, 4], 17536450882775363746), (vec![4, 4, 4, 5], 11300297802936288772)];
    assert_eq!(draws(&reuse, 21, None), expected);
}
