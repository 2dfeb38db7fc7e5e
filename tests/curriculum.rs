//! A curriculum over lengths (`train.curriculum`): the cap grows linearly in the sequences
//! trained, rounded down, from `start` to the task's maximum; batches drawn at a cap stay
//! within it and reach it; the trainer asks for exactly that cap before every batch, and
//! without a curriculum (or with `start` at the maximum) draws the batches it always drew;
//! a trainer saved and resumed mid-curriculum draws what an uninterrupted one draws.

use std::path::Path;
use std::sync::{Arc, Mutex};

use ntm::config::Experiment;
use ntm::optim::curriculum::Curriculum;
use ntm::train::{Step, Trainer};
use ntm_tasks::{Batch, CopySpec, CopyTask, Task};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn the_cap_grows_linearly_rounded_down_and_stays_at_the_top() {
    let c = Curriculum { start: 5, sequences: 10_000 };
    // 5 + floor(15 n / 10000): 15 * 666 = 9990 -> 0, 15 * 667 = 10005 -> 1.
    let table = [(0, 5), (666, 5), (667, 6), (5_000, 12), (9_999, 19), (10_000, 20), (50_000, 20)];
    for (seen, cap) in table {
        assert_eq!(c.max_length_at(seen, 20), cap, "after {seen} sequences");
    }
    let caps: Vec<usize> = (0..=10_000).map(|n| c.max_length_at(n, 20)).collect();
    assert!(caps.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1), "grows one length at a time");
    // Starting at the top, or one sequence long: the whole range at once (after the first).
    assert_eq!(Curriculum { start: 20, sequences: 10_000 }.max_length_at(0, 20), 20);
    assert_eq!(Curriculum { start: 1, sequences: 1 }.max_length_at(1, 20), 20);
    // Products past u64 are still exact: 1 + floor((2^24 - 1)(2^63 - 1) / (2^64 - 1)), the
    // fraction just under 1/2, so 1 + (2^23 - 1).
    assert_eq!(Curriculum { start: 1, sequences: u64::MAX }.max_length_at(u64::MAX / 2, 1 << 24), 1 << 23);
}

#[test]
fn batches_at_a_cap_stay_within_it_and_reach_it() {
    let task = CopyTask::new(CopySpec::default()); // lengths 1-20
    let c = Curriculum { start: 5, sequences: 10_000 };
    for seen in [0, 2_500, 5_000, 9_999, 10_000] {
        let cap = c.max_length_at(seen, 20);
        let mut rng = ChaCha8Rng::seed_from_u64(seen);
        let longest = (0..50).flat_map(|_| task.sample_up_to(&mut rng, 16, cap).lengths).max().unwrap();
        assert_eq!(longest, cap, "after {seen} sequences: the longest of 800 draws");
    }
}

/// Every batch handed out, with the cap asked for (`None`: `sample`, no cap).
type Drawn = Arc<Mutex<Vec<(Option<usize>, Batch)>>>;

/// The copy task (lengths 1-10), recording every batch it hands out.
struct Recording {
    task: CopyTask,
    drawn: Drawn,
}

impl Recording {
    fn new() -> (Self, Drawn) {
        let drawn = Arc::new(Mutex::new(Vec::new()));
        let task = CopyTask::new(CopySpec { bits: 4, min_length: 1, max_length: 10 });
        (Recording { task, drawn: drawn.clone() }, drawn)
    }
}

impl Task for Recording {
    fn name(&self) -> &'static str {
        "recording"
    }
    fn input_width(&self) -> usize {
        self.task.input_width()
    }
    fn output_width(&self) -> usize {
        self.task.output_width()
    }
    fn length_range(&self) -> (usize, usize) {
        self.task.length_range()
    }
    fn sample_sized(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> Batch {
        let drawn = self.task.sample_sized(rng, batch, length, repeats);
        self.drawn.lock().unwrap().push((None, drawn.clone()));
        drawn
    }
    fn sample_up_to(&self, rng: &mut dyn RngCore, batch: usize, max_length: usize) -> Batch {
        let drawn = self.task.sample_up_to(rng, batch, max_length);
        self.drawn.lock().unwrap().push((Some(max_length), drawn.clone()));
        drawn
    }
}

/// A small LSTM trained in batches of 4 on 40 sequences, with `sets` applied.
fn experiment(sets: &[&str]) -> Experiment {
    let text = "name = \"ramp\"\nseed = 7\n[models.lstm]\nkind = \"lstm\"\nsize = 8\nlayers = 1\n\
                [train]\nsequences = 40\nbatch = 4\n";
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Experiment::from_toml(text, Path::new("ramp.toml"), &sets).unwrap()
}

/// Trains `trainer` `steps` batches.
fn train(trainer: &mut Trainer, steps: usize) {
    for _ in 0..steps {
        assert!(matches!(trainer.step().unwrap(), Step::Trained { .. }));
    }
}

/// What a trainer of `experiment` on [`Recording`] draws in `steps` batches.
fn drawn(experiment: &Experiment, steps: usize) -> Vec<(Option<usize>, Batch)> {
    let (task, drawn) = Recording::new();
    train(&mut Trainer::with_task(experiment, "lstm", Box::new(task)).unwrap(), steps);
    let drawn = drawn.lock().unwrap().clone();
    drawn
}

#[test]
fn the_trainer_asks_for_the_cap_of_the_sequences_trained() {
    // start 2, over 24 sequences, to 10: 2 + floor(8 n / 24) at n = 0, 4, ..., 36.
    let e = experiment(&["train.curriculum.start=2", "train.curriculum.sequences=24"]);
    let drawn = drawn(&e, 10);
    let caps: Vec<Option<usize>> = drawn.iter().map(|(cap, _)| *cap).collect();
    let expected = [2, 3, 4, 6, 7, 8, 10, 10, 10, 10].map(Some);
    assert_eq!(caps, expected);
    for (cap, batch) in &drawn {
        assert!(batch.lengths.iter().all(|l| l <= &cap.unwrap()), "lengths {:?} over the cap {cap:?}", batch.lengths);
    }
}

#[test]
fn without_a_curriculum_the_batches_are_those_sample_draws() {
    let (task, _) = Recording::new();
    let mut rng = ChaCha8Rng::seed_from_u64(7); // the experiment's seed seeds the data
    let before: Vec<(Option<usize>, Batch)> = (0..5).map(|_| (None, task.task.sample(&mut rng, 4, None))).collect();
    assert_eq!(drawn(&experiment(&[]), 5), before);
    // A curriculum that starts at the top draws the same batches, through `sample_up_to`.
    let top = drawn(&experiment(&["train.curriculum={start=10,sequences=100}"]), 5);
    assert!(top.iter().all(|(cap, _)| *cap == Some(10)));
    let batches = |d: Vec<(Option<usize>, Batch)>| d.into_iter().map(|(_, b)| b).collect::<Vec<_>>();
    assert_eq!(batches(top), batches(before));
}

#[test]
fn a_resumed_trainer_draws_what_an_uninterrupted_one_draws() {
    let e = experiment(&["train.curriculum={start=1,sequences=32}"]);
    let whole = drawn(&e, 10);
    let dir = tempfile::tempdir().unwrap();
    let (task, first) = Recording::new();
    let mut trainer = Trainer::with_task(&e, "lstm", Box::new(task)).unwrap();
    train(&mut trainer, 4);
    trainer.save(dir.path()).unwrap();
    let (task, second) = Recording::new();
    let mut resumed = Trainer::with_task(&e, "lstm", Box::new(task)).unwrap();
    resumed.resume(dir.path()).unwrap();
    assert_eq!(resumed.max_length(), Some(1 + 9 * 16 / 32));
    train(&mut resumed, 6);
    let halves = [first.lock().unwrap().clone(), second.lock().unwrap().clone()].concat();
    assert_eq!(halves, whole);
}

#[test]
fn a_curriculum_outside_the_task_it_trains_on_is_refused() {
    // Valid for the experiment's `[task]` (copy, 1-20), not for the 1-10 task trained on.
    let e = experiment(&["train.curriculum={start=15,sequences=10}"]);
    let (task, _) = Recording::new();
    let message = Trainer::with_task(&e, "lstm", Box::new(task)).map(|_| ()).unwrap_err().to_string();
    for words in ["model lstm", "train.curriculum.start = 15", "between 1 and 10"] {
        assert!(message.contains(words), "{words:?} not in {message:?}");
    }
    // A model's own curriculum is named by its own key.
    let e = experiment(&["train.models.lstm.curriculum={start=15,sequences=10}"]);
    let (task, _) = Recording::new();
    let message = Trainer::with_task(&e, "lstm", Box::new(task)).map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("train.models.lstm.curriculum.start = 15"), "{message:?}");
}
