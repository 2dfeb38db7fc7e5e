//! The `[task]` table of an experiment file: which task to train on and its ranges.
//!
//! ```toml
//! [task]
//! kind = "copy"      # or "repeat-copy", "associative-recall", "dynamic-ngrams", "priority-sort",
//!                    # "copy-series"
//! bits = 8
//! min_length = 1
//! max_length = 20
//! ```
//!
//! Every field has a default (the paper's setting), so a partial table works; unknown keys
//! and unknown kinds are rejected.

use crate::associative_recall::{AssociativeRecall, AssociativeRecallSpec};
use crate::copy::{CopySpec, CopyTask};
use crate::copy_series::{CopySeries, CopySeriesSpec};
use crate::dynamic_ngrams::{DynamicNgrams, DynamicNgramsSpec};
use crate::priority_sort::{PrioritySort, PrioritySortSpec};
use crate::repeat_copy::{RepeatCopy, RepeatCopySpec};
use crate::task::Task;
use serde::{Deserialize, Serialize};

/// Which task to generate, tagged by `kind` (`"copy"`, `"repeat-copy"`,
/// `"associative-recall"`, `"dynamic-ngrams"`, `"priority-sort"` or `"copy-series"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TaskSpec {
    /// The copy task (paper sec. 4.1).
    Copy(CopySpec),
    /// The repeat copy task (paper sec. 4.2).
    RepeatCopy(RepeatCopySpec),
    /// The associative recall task (paper sec. 4.3); its length is the number of items.
    AssociativeRecall(AssociativeRecallSpec),
    /// The dynamic N-grams task (paper sec. 4.4), named as the paper's section is: "dynamic"
    /// because every episode draws a new table (a fixed table would be a different task).
    DynamicNgrams(DynamicNgramsSpec),
    /// The priority sort task (paper sec. 4.5); its length is the number of input vectors.
    PrioritySort(PrioritySortSpec),
    /// Copy episodes in a row, each answered before the next (not the paper's; what a
    /// DNC's memory allocation is for); its length is the number of sequences.
    CopySeries(CopySeriesSpec),
}

impl Default for TaskSpec {
    /// The paper's copy task.
    fn default() -> Self {
        TaskSpec::Copy(CopySpec::default())
    }
}

impl TaskSpec {
    /// Checks the ranges. The error names the field, its value and what is allowed, e.g.
    /// `"task.min_length = 5 is greater than task.max_length = 3"`.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            TaskSpec::Copy(s) => s.validate(),
            TaskSpec::RepeatCopy(s) => s.validate(),
            TaskSpec::AssociativeRecall(s) => s.validate(),
            TaskSpec::DynamicNgrams(s) => s.validate(),
            TaskSpec::PrioritySort(s) => s.validate(),
            TaskSpec::CopySeries(s) => s.validate(),
        }
    }

    /// The generator this spec describes.
    ///
    /// # Panics
    /// If [`validate`](TaskSpec::validate) fails; call it first to get the error as a value.
    pub fn build(&self) -> Box<dyn Task> {
        match self {
            TaskSpec::Copy(s) => Box::new(CopyTask::new(s.clone())),
            TaskSpec::RepeatCopy(s) => Box::new(RepeatCopy::new(s.clone())),
            TaskSpec::AssociativeRecall(s) => Box::new(AssociativeRecall::new(s.clone())),
            TaskSpec::DynamicNgrams(s) => Box::new(DynamicNgrams::new(s.clone())),
            TaskSpec::PrioritySort(s) => Box::new(PrioritySort::new(s.clone())),
            TaskSpec::CopySeries(s) => Box::new(CopySeries::new(s.clone())),
        }
    }

    /// The names of the two fields that give the training range of the task's length
    /// ([`Task::length_range`]): `("min_length", "max_length")` (dynamic N-grams: the
    /// sequence length in bits), `("min_items", "max_items")` for associative recall,
    /// `("min_inputs", "max_inputs")` for priority sort, `("min_sequences", "max_sequences")`
    /// for copy series.
    pub fn length_fields(&self) -> (&'static str, &'static str) {
        match self {
            TaskSpec::Copy(_) | TaskSpec::RepeatCopy(_) | TaskSpec::DynamicNgrams(_) => ("min_length", "max_length"),
            TaskSpec::AssociativeRecall(_) => ("min_items", "max_items"),
            TaskSpec::PrioritySort(_) => ("min_inputs", "max_inputs"),
            TaskSpec::CopySeries(_) => ("min_sequences", "max_sequences"),
        }
    }

    /// The task's name as written in `kind`: `"copy"`, `"repeat-copy"`,
    /// `"associative-recall"`, `"dynamic-ngrams"`, `"priority-sort"` or `"copy-series"`.
    pub fn name(&self) -> &'static str {
        match self {
            TaskSpec::Copy(_) => "copy",
            TaskSpec::RepeatCopy(_) => "repeat-copy",
            TaskSpec::AssociativeRecall(_) => "associative-recall",
            TaskSpec::DynamicNgrams(_) => "dynamic-ngrams",
            TaskSpec::PrioritySort(_) => "priority-sort",
            TaskSpec::CopySeries(_) => "copy-series",
        }
    }
}
