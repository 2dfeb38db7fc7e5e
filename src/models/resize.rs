//! Test-time memory size: a trained NTM or DNC run with N' memory slots instead of the N it
//! was trained with (`ntm eval --slots`, `ntm plot heads --slots`, `ntm plot outputs --slots`).
//!
//! A DNC has no parameter with a slot axis (its state starts at zero, its allocation and link
//! matrix are defined for any N >= 2): it runs at N' slots as it is.
//!
//! Nearly nothing an NTM learns depends on N: the controller, the head projections (keys of
//! width M, shift weights over the allowed shifts, scalars), the output layer and the initial
//! read vectors `[M]` have the same shapes at any N, and addressing, writing and reading are
//! defined for any number of rows. What does depend on N, and how it extends:
//!
//! | part | shape | at N' slots |
//! | --- | --- | --- |
//! | each head's initial weighting logits `initial.*_weighting` | `[N]` | the first min(N, N') trained logits kept; slots past N get the mean of the N trained logits (the softmax then gives each new slot the weight of an average trained slot) |
//! | `memory.init = "constant"` | none | every slot 1e-6, as in training |
//! | `memory.init = "random"` | none (a fixed generator's draws, row by row, uniform in +-1/sqrt(N + M)) | the same generator at the trained scale: the trained rows, then new rows drawn after them (or the first N' rows) |
//! | `memory.init = "learned"` | `[N, M]` parameter | refused: a learned memory has no rows for slots it never had, and losing rows loses what it learned |
//!
//! The shifts must stay within +-(N' - 1), as in any experiment file. A copy or repeat-copy
//! sequence of L vectors needs L slots to be held at once (an associative recall episode one
//! per step before the answer, [`slots_needed`]), so `--slots` below what the longest length
//! asked for needs is refused too ([`check_room`]).

use std::collections::HashMap;

use candle_core::Tensor;
use ntm_tasks::TaskSpec;

use crate::base::kinds::MemoryInit;
use crate::models::factory::ModelConfig;

/// Model `name` (`model`) with `slots` memory slots (see the module's table); one clear line
/// where that makes no sense (a model without memory, a learned memory, a shift that no longer
/// fits, 0 slots, a DNC with fewer than 2).
pub fn resize_model(model: &ModelConfig, name: &str, slots: usize) -> Result<ModelConfig, String> {
    let invalid = |why: String| Err(format!("--slots {slots}: {why}"));
    if slots == 0 {
        return invalid("must be at least 1".into());
    }
    if let ModelConfig::Dnc(config) = model {
        let mut config = config.clone();
        config.memory.slots = slots;
        return match config.validate() {
            Ok(()) => Ok(ModelConfig::Dnc(config)),
            Err(why) => invalid(format!("model {name}: {why}")),
        };
    }
    let ModelConfig::Ntm(config) = model else {
        return invalid(format!(
            "model {name} is an {}, which has no memory slots; give an NTM or a DNC",
            model.kind()
        ));
    };
    let trained = config.memory.slots;
    if slots == trained {
        return Ok(model.clone());
    }
    if config.memory.init == MemoryInit::Learned {
        return invalid(format!(
            "model {name} has a learned initial memory of {trained} slots, which has no values for other sizes; \
             only a constant or random initial memory extends"
        ));
    }
    let mut config = config.clone();
    config.memory.slots = slots;
    config.trained_slots = Some(trained);
    if let Err(why) = config.validate() {
        return invalid(format!("model {name}: {why}"));
    }
    Ok(ModelConfig::Ntm(config))
}

/// Head initial weighting logits `[N]` -> `[slots]`: the first min(N, slots) kept, the rest
/// the mean of all N.
pub fn resize_logits(logits: &Tensor, slots: usize) -> candle_core::Result<Tensor> {
    let trained = logits.dim(0)?;
    if slots <= trained {
        return logits.narrow(0, 0, slots);
    }
    let mean = logits.mean_keepdim(0)?; // [1]
    let pad = mean.broadcast_as(slots - trained)?;
    Tensor::cat(&[logits, &pad], 0)
}

/// Whether checkpoint tensor `name` is a head's initial weighting logits.
fn is_weighting_logits(name: &str) -> bool {
    name.starts_with("initial.") && name.ends_with("_weighting")
}

/// A checkpoint's tensors made to fit a model with `slots` slots (see the module's table);
/// every other tensor unchanged.
pub fn resize_tensors(tensors: HashMap<String, Tensor>, slots: usize) -> candle_core::Result<HashMap<String, Tensor>> {
    tensors
        .into_iter()
        .map(|(name, t)| {
            let t = match is_weighting_logits(&name) {
                true => resize_logits(&t, slots)?,
                false => t,
            };
            Ok((name, t))
        })
        .collect()
}

/// Slots a sequence of `length` of `task` needs to be held in memory at once, and what each
/// slot holds: one per vector (copy; repeat copy stores the sequence once and reads it
/// repeatedly); for associative recall (whose length is its number of items) one per step
/// before the answer, `items (item_length + 1) + item_length + 2`, since the trained NTM's
/// write head moves one slot every step (measured: 6 items need 29 slots, 20 items 80); for
/// priority sort one per input vector; for dynamic N-grams one per context of the table
/// (2^context), as the paper's analysis of the NTM's counts has it; for copy series (whose
/// length is its number of sequences) one per vector of its longest sequence, `max_length`,
/// whatever the number of sequences: each sequence is answered before the next is given, so a
/// model that reuses the slots of an answered sequence needs no more.
pub fn slots_needed(task: &TaskSpec, length: usize) -> (usize, &'static str) {
    match task {
        TaskSpec::Copy(_) | TaskSpec::RepeatCopy(_) => (length, "one per vector"),
        TaskSpec::PrioritySort(_) => (length, "one per input vector"),
        TaskSpec::CopySeries(s) => (s.max_length, "one per vector of the longest sequence, reused after its answer"),
        TaskSpec::DynamicNgrams(s) => (1 << s.context, "one per context of the N-gram table"),
        TaskSpec::AssociativeRecall(s) => (
            ntm_tasks::AssociativeRecall::episode_time(length, s.item_length).saturating_sub(s.item_length),
            "one per step before the answer",
        ),
    }
}

/// An error if `slots` (given with `--slots`) cannot hold a sequence of `length` of `task`.
pub fn check_room(task: &TaskSpec, slots: usize, length: usize) -> Result<(), String> {
    let (needed, per) = slots_needed(task, length);
    if slots < needed {
        return Err(format!(
            "--slots {slots}: {} at {} needs at least {needed} slots ({per}); \
             give --slots {needed} or more",
            task.name(),
            task.build().length_words().episode(length)
        ));
    }
    Ok(())
}
