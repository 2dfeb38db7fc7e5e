//! The `[task]` table of an experiment file: which task to train on and its ranges.
//!
//! ```toml
//! [task]
//! kind = "copy"      # or "repeat-copy"
//! bits = 8
//! min_length = 1
//! max_length = 20
//! ```
//!
//! Every field has a default (the paper's setting), so a partial table works; unknown keys
//! and unknown kinds are rejected.

use crate::copy::CopyTask;
use crate::repeat_copy::RepeatCopy;
use crate::task::Task;
use serde::{Deserialize, Serialize};

/// Which task to generate, tagged by `kind` (`"copy"` or `"repeat-copy"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TaskSpec {
    /// The copy task (paper sec. 4.1).
    Copy(CopySpec),
    /// The repeat copy task (paper sec. 4.2).
    RepeatCopy(RepeatCopySpec),
}

/// Settings of the copy task (paper sec. 4.1). Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CopySpec {
    /// Bits per vector of the sequence to copy. Default 8.
    pub bits: usize,
    /// Shortest training sequence, in vectors (inclusive, at least 1). Default 1.
    pub min_length: usize,
    /// Longest training sequence, in vectors (inclusive). Default 20.
    pub max_length: usize,
}

/// Settings of the repeat copy task (paper sec. 4.2). Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepeatCopySpec {
    /// Bits per vector of the sequence to copy. Default 8.
    pub bits: usize,
    /// Shortest training sequence, in vectors (inclusive, at least 1). Default 1.
    pub min_length: usize,
    /// Longest training sequence, in vectors (inclusive). Default 10.
    pub max_length: usize,
    /// Fewest training repeats (inclusive, at least 1). Default 1.
    pub min_repeats: usize,
    /// Most training repeats (inclusive). Also fixes, with `min_repeats`, the mean and
    /// standard deviation used to normalise the repeat-count input. Default 10.
    pub max_repeats: usize,
}

impl Default for CopySpec {
    fn default() -> Self {
        CopySpec {
            bits: 8,
            min_length: 1,
            max_length: 20,
        }
    }
}

impl Default for RepeatCopySpec {
    fn default() -> Self {
        RepeatCopySpec {
            bits: 8,
            min_length: 1,
            max_length: 10,
            min_repeats: 1,
            max_repeats: 10,
        }
    }
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
        }
    }

    /// The task's name as written in `kind`: `"copy"` or `"repeat-copy"`.
    pub fn name(&self) -> &'static str {
        match self {
            TaskSpec::Copy(_) => "copy",
            TaskSpec::RepeatCopy(_) => "repeat-copy",
        }
    }
}

impl CopySpec {
    /// Checks the ranges; see [`TaskSpec::validate`].
    pub fn validate(&self) -> Result<(), String> {
        at_least_one("bits", self.bits)?;
        range("min_length", self.min_length, "max_length", self.max_length)
    }
}

impl RepeatCopySpec {
    /// Checks the ranges; see [`TaskSpec::validate`].
    pub fn validate(&self) -> Result<(), String> {
        at_least_one("bits", self.bits)?;
        range("min_length", self.min_length, "max_length", self.max_length)?;
        range(
            "min_repeats",
            self.min_repeats,
            "max_repeats",
            self.max_repeats,
        )
    }
}

/// `Err` unless `value >= 1`.
fn at_least_one(field: &str, value: usize) -> Result<(), String> {
    if value == 0 {
        return Err(format!("task.{field} = 0: must be at least 1"));
    }
    Ok(())
}

/// `Err` unless `1 <= min <= max`.
fn range(min_field: &str, min: usize, max_field: &str, max: usize) -> Result<(), String> {
    at_least_one(min_field, min)?;
    if min > max {
        return Err(format!(
            "task.{min_field} = {min} is greater than task.{max_field} = {max}"
        ));
    }
    Ok(())
}
