//! `ntm-tasks`: the algorithmic tasks of Graves, Wayne & Danihelka (2014), *Neural Turing
//! Machines* (arXiv:1410.5401), as batch generators.
//!
//! - [`CopyTask`] (sec. 4.1), [`RepeatCopy`] (sec. 4.2), [`AssociativeRecall`] (sec. 4.3),
//!   [`DynamicNgrams`] (sec. 4.4) and [`PrioritySort`] (sec. 4.5) implement [`Task`], and so
//!   does [`CopySeries`] (not the paper's: copy episodes in a row, which a memory holds only
//!   if it reuses what it has answered);
//! - [`TaskSpec`] is the `[task]` table of an experiment file (serde), with
//!   [`TaskSpec::validate`] and [`TaskSpec::build`];
//! - [`Batch`] is what [`Task::sample`] returns: time-major flat buffers of inputs, targets
//!   and a loss mask, and for a task with a known optimum (dynamic N-grams) that predictor's
//!   probabilities, and per element an [`EpisodeInfo`] of what a task drew beside its buffers
//!   (N-gram tables, priorities); [`Batch::episode`] takes out one element;
//! - [`render_episode`] draws an episode as text.
//!
//! ```
//! use ntm_tasks::{render_episode, Task, TaskSpec};
//! let task = TaskSpec::default().build(); // the paper's copy task
//! let batch = task.sample(&mut rand::rng(), 4, None);
//! assert_eq!(batch.input_width, 9);
//! println!("{}", render_episode(&batch.episode(0)));
//! ```

pub mod associative_recall;
pub mod batch;
pub mod copy;
pub mod copy_series;
pub mod dynamic_ngrams;
pub mod info;
pub mod ngram_table;
pub mod priority_sort;
pub mod render;
pub mod repeat_copy;
pub mod spec;
pub mod task;

pub use associative_recall::{AssociativeRecall, AssociativeRecallSpec};
pub use batch::{cross_entropy_bits, Batch, Episode};
pub use copy::{CopySpec, CopyTask};
pub use copy_series::{CopySeries, CopySeriesSpec};
pub use dynamic_ngrams::{DynamicNgrams, DynamicNgramsSpec, OptimalCost};
pub use info::EpisodeInfo;
pub use priority_sort::{PrioritySort, PrioritySortSpec};
pub use render::{cell_char, render_episode, render_episode_in};
pub use repeat_copy::{RepeatCopy, RepeatCopySpec};
pub use spec::TaskSpec;
pub use task::{LengthWords, Task, MAX_BITS, MAX_LENGTH, MAX_REPEATS};
