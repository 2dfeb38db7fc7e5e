//! Numerical faults: a loss, gradient or parameter that is no longer a finite number stops
//! training, and `failure.json` in the model's folder records what happened
//! ([`crate::records::run_dir::write_failure`]).
//!
//! The trainer checks the loss and the global gradient norm of every batch before it updates
//! the parameters, and the parameters and optimiser state before it writes a checkpoint, so a
//! checkpoint never holds a NaN: the one on disk is the last good one.

use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

/// What was found not to be finite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// The loss of a batch.
    Loss,
    /// The global norm of a batch's gradients (after elementwise clipping, before norm clipping).
    Gradient,
    /// A parameter or optimiser state, found before writing a checkpoint.
    Parameters,
}

/// The contents of `failure.json`. JSON has no NaN or infinity: such numbers are written as
/// the strings `"NaN"`, `"inf"` and `"-inf"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The model's name in the experiment.
    pub model: String,
    /// What was not finite.
    pub fault: Fault,
    /// Training sequences seen when it was found: the failing batch comes right after them
    /// (`loss`, `gradient`), or the checkpoint that was not written is at them (`parameters`).
    pub sequences: u64,
    /// The failing batch's loss in bits per sequence (`loss`, `gradient`).
    #[serde(with = "float")]
    pub loss_bits: Option<f64>,
    /// The failing batch's global gradient norm (`loss`, `gradient`).
    #[serde(with = "float")]
    pub gradient_norm: Option<f64>,
    /// The learning rate in force.
    pub lr: f64,
    /// The first tensor, by name, with a value that is not finite: a parameter's gradient
    /// (`loss`, `gradient`; none if the norm overflowed from finite values), or a parameter
    /// or optimiser state (`parameters`, the latter as `<name> (optimizer state i)`).
    pub tensor: Option<String>,
    /// Sequences of the checkpoint kept in the folder (none if none was written yet).
    pub checkpoint: Option<u64>,
    /// The error message training stopped with.
    pub message: String,
}

/// True if every entry of `t` is finite: `t - t` is 0 for finite entries and NaN for NaN and
/// infinities, so the sum is 0 exactly when all are finite.
#[allow(clippy::eq_op)] // t - t is the point: 0 for finite entries, NaN otherwise
pub fn is_finite(t: &Tensor) -> candle_core::Result<bool> {
    let sum = (t - t)?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    Ok(sum == 0.0)
}

/// The name of the first of `tensors` that holds a value that is not finite.
pub fn first_non_finite<'a>(
    tensors: impl IntoIterator<Item = (String, &'a Tensor)>,
) -> candle_core::Result<Option<String>> {
    for (name, t) in tensors {
        if !is_finite(t)? {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// A number for messages: "NaN", "inf" and "-inf" as in `failure.json`, very large or small
/// ones in scientific notation.
pub fn show(x: f64) -> String {
    match x {
        x if x.is_nan() => "NaN".into(),
        x if x.is_infinite() => (if x > 0.0 { "inf" } else { "-inf" }).into(),
        x if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) => format!("{x:.4e}"),
        x => format!("{x}"),
    }
}

/// Serde for `Option<f64>` that keeps NaN and infinities (as strings).
mod float {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        x.map(|x| match x.is_finite() {
            true => Repr::Number(x),
            false => Repr::Text(super::show(x)),
        })
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<Repr>::deserialize(d)?
            .map(|r| match r {
                Repr::Number(x) => Ok(x),
                Repr::Text(t) => match t.as_str() {
                    "NaN" => Ok(f64::NAN),
                    "inf" => Ok(f64::INFINITY),
                    "-inf" => Ok(f64::NEG_INFINITY),
                    _ => Err(serde::de::Error::custom(format!("{t:?} is not a number"))),
                },
            })
            .transpose()
    }
}
