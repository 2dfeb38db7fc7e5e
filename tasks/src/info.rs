//! What an episode of some tasks carries beside its buffers: the hidden draws that made it
//! (dynamic N-grams' table of probabilities, priority sort's priorities and the order of its
//! answers, copy series' lengths of its sequences), for logs, figures and `ntm episode --json`.
//! One [`EpisodeInfo`] per element, in [`Batch::info`](crate::Batch::info) and
//! [`Episode::info`](crate::Episode::info); `None` for a task without.

use serde::{Deserialize, Serialize};

/// A task's per-episode draws that the inputs and targets do not show, tagged by `kind` as
/// the task is in [`TaskSpec`](crate::TaskSpec): `{"kind": "dynamic-ngrams", "table": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum EpisodeInfo {
    /// Dynamic N-grams (paper sec. 4.4): the episode's table, `[2^context]`, entry `c` the
    /// probability that the next bit is 1 after the context `c` (the previous `context` bits
    /// as a binary number, oldest most significant; see [`crate::ngram_table`]).
    DynamicNgrams {
        /// `[2^context]` probabilities, each drawn from Beta(1/2, 1/2).
        table: Vec<f64>,
    },
    /// Priority sort (paper sec. 4.5): the priority of every input and which inputs the
    /// answers are.
    PrioritySort {
        /// `[n]`: the priority of each input vector, in input order (also on the input's
        /// priority channel).
        priorities: Vec<f32>,
        /// `[answers]`: answer `i` is input `order[i]`; highest priority first, equal ones by
        /// index ([`crate::priority_sort::priority_order`]).
        order: Vec<usize>,
    },
    /// Copy series: the length of each sequence, in the order given (its vectors, its
    /// delimiter and its answer take `2 L + 1` steps).
    CopySeries {
        /// `[n]`: the number of vectors of each sequence.
        lengths: Vec<usize>,
    },
}
