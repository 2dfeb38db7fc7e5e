//! `Task::episode_steps` (what the memory estimates count before anything is drawn) against
//! the episodes the tasks draw: every built-in task's formula, and the default that draws one
//! episode, give the time of an episode of that length (and repeat count).

use ntm_tasks::{
    AssociativeRecallSpec, Batch, CopySeriesSpec, CopySpec, DynamicNgramsSpec, PrioritySortSpec, RepeatCopySpec, Task,
    TaskSpec,
};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn specs() -> Vec<TaskSpec> {
    vec![
        TaskSpec::Copy(CopySpec::default()),
        TaskSpec::RepeatCopy(RepeatCopySpec::default()),
        TaskSpec::AssociativeRecall(AssociativeRecallSpec::default()),
        TaskSpec::DynamicNgrams(DynamicNgramsSpec::default()),
        TaskSpec::PrioritySort(PrioritySortSpec::default()),
        // Its formula is the longest episode (every sequence max_length long); with one
        // length allowed, every episode is that long.
        TaskSpec::CopySeries(CopySeriesSpec { min_length: 6, max_length: 6, ..Default::default() }),
    ]
}

#[test]
fn every_task_counts_the_steps_of_the_episodes_it_draws() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for spec in specs() {
        let task = spec.build();
        for length in [2, 5, 10, 37] {
            let counts: Vec<Option<usize>> = match task.repeat_range() {
                Some(_) => vec![None, Some(1), Some(7), Some(20)],
                None => vec![None],
            };
            for repeats in counts {
                let drawn = match repeats {
                    None if task.repeat_range().is_some() => {
                        // `None` counts the longest training repeat count.
                        task.sample_sized(&mut rng, 1, Some(length), task.repeat_range().map(|(_, max)| max)).time
                    }
                    _ => task.sample_sized(&mut rng, 1, Some(length), repeats).time,
                };
                assert_eq!(task.episode_steps(length, repeats), drawn, "{} at {length} x {repeats:?}", spec.name());
            }
        }
    }
}

/// A task without a formula: the default draws one episode and counts it.
struct Doubling;

impl Task for Doubling {
    fn name(&self) -> &'static str {
        "doubling"
    }
    fn input_width(&self) -> usize {
        1
    }
    fn output_width(&self) -> usize {
        1
    }
    fn length_range(&self) -> (usize, usize) {
        (1, 4)
    }
    fn sample_sized(&self, rng: &mut dyn RngCore, batch: usize, length: Option<usize>, _: Option<usize>) -> Batch {
        let length = length.unwrap_or(1 + (rng.next_u32() % 4) as usize);
        Batch::zeros(3 * length, batch, 1, 1)
    }
}

#[test]
fn the_default_counts_a_drawn_episode() {
    assert_eq!(Doubling.episode_steps(5, None), 15);
    assert_eq!(Doubling.episode_steps(1, Some(3)), 3);
}
