//! The associative recall task (Graves et al. 2014, sec. 4.3): read a list of items, each a
//! few random bit vectors, then one of them as a query; answer with the item that followed
//! the query in the list.
//!
//! Channel layout of one episode with `n = 3` items of `item_length = 2` vectors of
//! `bits = 3` (time across, channels down; `#` = 1, `.` = 0), the query the first item, so
//! the answer the second. Each item is preceded by a step with the item delimiter (so every
//! item is bounded by it on the left, and by the next delimiter on the right); after the
//! last item the query delimiter, the query item, the query delimiter again, then
//! `item_length` answer steps with no input. The input has `bits + 2` channels (item
//! delimiter at `bits`, query delimiter at `bits + 1`), the target `bits`; the episode lasts
//! `n (item_length + 1) + 2 item_length + 2` steps:
//!
//! ```text
//!                 | item 0  | item 1  | item 2  | query   |   | answer |
//! time step       | 0  1  2 | 3  4  5 | 6  7  8 | 9 10 11 |12 | 13 14  |
//! input   bit 0   | .  #  . | .  .  # | .  #  # | .  #  . | . | .  .   |
//!         bit 1   | .  #  # | .  #  . | .  .  # | .  #  # | . | .  .   |
//!         bit 2   | .  .  # | .  #  # | .  #  . | .  .  # | . | .  .   |
//!         item    | #  .  . | #  .  . | #  .  . | .  .  . | . | .  .   |
//!         query   | .  .  . | .  .  . | .  .  . | #  .  . | # | .  .   |
//! target  bit 0   | .  .  . | .  .  . | .  .  . | .  .  . | . | .  #   |
//!         bit 1   | .  .  . | .  .  . | .  .  . | .  .  . | . | #  .   |
//!         bit 2   | .  .  . | .  .  . | .  .  . | .  .  . | . | #  #   |
//! mask            | .  .  . | .  .  . | .  .  . | .  .  . | . | #  #   |
//! ```
//!
//! The task's length parameter ([`Task::length_range`], `eval.lengths`) is the number of
//! items `n`; the query is item `q`, uniform over `0..n - 1` (any but the last), and the
//! target is item `q + 1`. The items of an episode are distinct (a repeated item would make
//! the answer ambiguous): an item equal to an earlier one is drawn again, so `n` may not
//! exceed the `2^(bits * item_length)` distinct items there are.

use crate::batch::Batch;
use crate::task::{
    at_least_one, at_most, capped_range, channel_span, check_batch, check_no_repeats, mask_legend, random_bits,
    LengthWords, Task, MAX_BITS, MAX_LENGTH,
};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The fewest items an episode can have: the query is an item with another after it.
pub const MIN_ITEMS: usize = 2;

/// Settings of the associative recall task (paper sec. 4.3). Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssociativeRecallSpec {
    /// Bits per vector of an item. Default 6.
    pub bits: usize,
    /// Vectors per item. Default 3.
    pub item_length: usize,
    /// Fewest items in a training episode (inclusive, at least 2). Default 2.
    pub min_items: usize,
    /// Most items in a training episode (inclusive, at most the number of distinct items,
    /// `2^(bits * item_length)`). Default 6.
    pub max_items: usize,
}

impl Default for AssociativeRecallSpec {
    fn default() -> Self {
        AssociativeRecallSpec { bits: 6, item_length: 3, min_items: 2, max_items: 6 }
    }
}

impl AssociativeRecallSpec {
    /// Checks the sizes; see [`crate::TaskSpec::validate`].
    pub fn validate(&self) -> Result<(), String> {
        at_least_one("bits", self.bits)?;
        at_most("bits", self.bits, MAX_BITS)?;
        at_least_one("item_length", self.item_length)?;
        at_most("item_length", self.item_length, MAX_LENGTH)?;
        at_most("max_items", self.max_items, MAX_LENGTH)?;
        let steps = AssociativeRecall::episode_time_checked(self.max_items, self.item_length);
        if steps.is_none_or(|steps| steps > MAX_LENGTH) {
            return Err(format!(
                "task.max_items = {} with task.item_length = {}: episodes of more than {MAX_LENGTH} steps (no machine could hold them)",
                self.max_items, self.item_length
            ));
        }
        if self.min_items < MIN_ITEMS {
            return Err(format!(
                "task.min_items = {}: must be at least {MIN_ITEMS} (the query is an item that has another after it)",
                self.min_items
            ));
        }
        if self.min_items > self.max_items {
            return Err(format!(
                "task.min_items = {} is greater than task.max_items = {}",
                self.min_items, self.max_items
            ));
        }
        self.check_items(self.max_items).map_err(|e| format!("task.max_items = {}: {e}", self.max_items))
    }

    /// Number of distinct items, `2^(bits * item_length)`, or `None` if that exceeds `usize`.
    pub fn distinct_items(&self) -> Option<usize> {
        let width = self.bits.checked_mul(self.item_length)?;
        (width < usize::BITS as usize).then(|| 1usize << width)
    }

    /// `Err` (what is allowed) unless an episode of `items` items can be drawn: at least
    /// [`MIN_ITEMS`], at most [`distinct_items`](Self::distinct_items).
    pub fn check_items(&self, items: usize) -> Result<(), String> {
        if items < MIN_ITEMS {
            return Err(format!(
                "associative recall needs at least {MIN_ITEMS} items (the query is an item that has another after it)"
            ));
        }
        match self.distinct_items() {
            Some(distinct) if items > distinct => Err(format!(
                "cannot be met: items of {} x {} bits have only {distinct} distinct values, and the items of an episode must differ",
                self.item_length, self.bits
            )),
            _ => Ok(()),
        }
    }
}

/// Generator of associative recall episodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociativeRecall {
    spec: AssociativeRecallSpec,
}

impl AssociativeRecall {
    /// A generator for `spec`.
    ///
    /// # Panics
    /// If `spec.validate()` fails.
    pub fn new(spec: AssociativeRecallSpec) -> Self {
        if let Err(e) = spec.validate() {
            panic!("invalid associative-recall task: {e}");
        }
        AssociativeRecall { spec }
    }

    /// The settings this generator was built from.
    pub fn spec(&self) -> &AssociativeRecallSpec {
        &self.spec
    }

    /// Number of steps of an episode of `items` items of `item_length` vectors:
    /// `items (item_length + 1)` for the list, `item_length + 2` for the query and its two
    /// delimiters, `item_length` to answer.
    ///
    /// # Panics
    /// If that overflows `usize` ([`validate`](AssociativeRecallSpec::validate) bounds it).
    pub fn episode_time(items: usize, item_length: usize) -> usize {
        Self::episode_time_checked(items, item_length).expect("associative recall episode length overflows usize")
    }

    /// [`episode_time`](Self::episode_time), `None` if it overflows `usize`.
    fn episode_time_checked(items: usize, item_length: usize) -> Option<usize> {
        items.checked_mul(item_length.checked_add(1)?)?.checked_add(item_length.checked_mul(2)?.checked_add(2)?)
    }

    /// `items` distinct items, each `[item_length][bits]`: an item equal to one drawn before is
    /// drawn again (the bits seen are kept in a set, so this takes time linear in `items`).
    fn draw_items(&self, rng: &mut dyn RngCore, items: usize) -> Vec<Vec<Vec<f32>>> {
        let mut list: Vec<Vec<Vec<f32>>> = Vec::with_capacity(items);
        let mut seen: HashSet<Vec<bool>> = HashSet::with_capacity(items);
        while list.len() < items {
            let item = random_bits(rng, self.spec.item_length, self.spec.bits);
            if seen.insert(item.iter().flatten().map(|&bit| bit > 0.5).collect()) {
                list.push(item);
            }
        }
        list
    }
}

impl Task for AssociativeRecall {
    fn episode_steps(&self, items: usize, _repeats: Option<usize>) -> usize {
        Self::episode_time(items, self.spec.item_length)
    }

    fn name(&self) -> &'static str {
        "associative-recall"
    }

    fn channel_legend(&self) -> Vec<(String, String)> {
        let bits = self.spec.bits;
        vec![
            (format!("in  {}", channel_span(0, bits - 1)), "the bits of the items' vectors".into()),
            (format!("in  {bits}"), "the item delimiter, before each item".into()),
            (format!("in  {}", bits + 1), "the query delimiter, around the query item".into()),
            (format!("out {}", channel_span(0, bits - 1)), "the item that followed the query".into()),
            mask_legend(),
        ]
    }

    /// `bits + 2`: the bits, the item delimiter (channel `bits`) and the query delimiter
    /// (channel `bits + 1`).
    fn input_width(&self) -> usize {
        self.spec.bits + 2
    }

    /// `bits`.
    fn output_width(&self) -> usize {
        self.spec.bits
    }

    /// The training range of the number of items.
    fn length_range(&self) -> (usize, usize) {
        (self.spec.min_items, self.spec.max_items)
    }

    fn check_length(&self, length: usize) -> Result<(), String> {
        self.spec.check_items(length)
    }

    fn length_words(&self) -> LengthWords {
        LengthWords { axis: "number of items", range: "training items", unit: Some("items") }
    }

    /// Per element, in this order: the number of items (unless `length` fixes it), the
    /// items, the query's index.
    ///
    /// # Panics
    /// Also if `length` fails [`check_length`](Task::check_length), or `repeats` is `Some`.
    fn sample_sized(
        &self,
        rng: &mut dyn RngCore,
        batch: usize,
        length: Option<usize>,
        repeats: Option<usize>,
    ) -> Batch {
        check_no_repeats(self.name(), repeats);
        if let Some(Err(e)) = length.map(|n| self.check_length(n)) {
            panic!("{} items: {e}", length.unwrap_or(0));
        }
        self.generate(rng, batch, self.length_range(), length)
    }

    /// Caps the number of items.
    fn sample_up_to(&self, rng: &mut dyn RngCore, batch: usize, max_length: usize) -> Batch {
        self.generate(rng, batch, capped_range(self.length_range(), max_length), None)
    }
}

impl AssociativeRecall {
    /// `batch` episodes, each of `length` items or, if `None`, a number drawn uniformly from
    /// `range` (inclusive, within the training range); per element the number of items, the
    /// items, the query's index.
    fn generate(&self, rng: &mut dyn RngCore, batch: usize, range: (usize, usize), length: Option<usize>) -> Batch {
        check_batch(batch);
        let (bits, len) = (self.spec.bits, self.spec.item_length);
        // Draw everything first: the batch's time depends on the longest element.
        let elements: Vec<(Vec<Vec<Vec<f32>>>, usize)> = (0..batch)
            .map(|_| {
                let (lo, hi) = range;
                let n = length.unwrap_or_else(|| rng.random_range(lo..=hi));
                let items = self.draw_items(rng, n); // [n][item_length][bits]
                let query = rng.random_range(0..n - 1);
                (items, query)
            })
            .collect();
        let max_items = elements.iter().map(|(items, _)| items.len()).max().unwrap_or(0);
        let time = Self::episode_time(max_items, len);

        let mut out = Batch::zeros(time, batch, self.input_width(), self.output_width());
        for (b, (items, query)) in elements.iter().enumerate() {
            let n = items.len();
            out.lengths[b] = n;
            for (i, item) in items.iter().enumerate() {
                let start = i * (len + 1);
                out.input_mut(start, b)[bits] = 1.0; // item delimiter
                for (t, vector) in item.iter().enumerate() {
                    out.input_mut(start + 1 + t, b)[..bits].copy_from_slice(vector);
                }
            }
            let query_start = n * (len + 1);
            out.input_mut(query_start, b)[bits + 1] = 1.0; // query delimiter
            for (t, vector) in items[*query].iter().enumerate() {
                out.input_mut(query_start + 1 + t, b)[..bits].copy_from_slice(vector);
            }
            out.input_mut(query_start + 1 + len, b)[bits + 1] = 1.0; // query delimiter again
            let answer = query_start + len + 2;
            for (t, vector) in items[query + 1].iter().enumerate() {
                out.target_mut(answer + t, b).copy_from_slice(vector);
                out.set_mask(answer + t, b, 1.0);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episode_time_formula() {
        assert_eq!(AssociativeRecall::episode_time(3, 2), 15); // the module doc's diagram
        assert_eq!(AssociativeRecall::episode_time(6, 3), 32);
        assert_eq!(AssociativeRecall::episode_time(20, 3), 88);
    }

    #[test]
    fn distinct_items_count() {
        let spec = |bits, item_length| AssociativeRecallSpec { bits, item_length, ..Default::default() };
        assert_eq!(spec(6, 3).distinct_items(), Some(1 << 18));
        assert_eq!(spec(1, 2).distinct_items(), Some(4));
        assert_eq!(spec(8, 8).distinct_items(), None); // 2^64 does not fit
    }
}
