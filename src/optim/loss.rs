//! The training objective and the paper's two reported measures (section 4): cross-entropy
//! in bits per sequence, and wrong bits per sequence after thresholding at 0.5.

use candle_core::{DType, Result, Tensor};

/// Elementwise binary cross-entropy of `targets` under `sigmoid(logits)`, in nats, computed
/// stably for any logit as `max(x, 0) - x y + ln(1 + e^-|x|)` (candle-nn's
/// `binary_cross_entropy_with_logit` takes the log of a sigmoid and overflows for large |x|).
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let softplus_tail = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    (logits.relu()? - (logits * targets)?)? + softplus_tail
}

/// Mean masked cross-entropy in nats per sequence: the quantity training minimises.
///
/// `logits`, `targets`: `[T, B, Y]`; `mask`: `[T, B]` (1 where the target counts) -> scalar.
pub fn sequence_loss(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let batch = logits.dim(1)? as f64;
    let per_step = bce_with_logits(logits, targets)?.sum(2)?; // [T, B]
    (per_step * mask)?.sum_all()? / batch
}

/// Converts nats to bits.
pub fn nats_to_bits(nats: f64) -> f64 {
    nats / std::f64::consts::LN_2
}

/// Mean number of wrong bits per sequence: outputs thresholded at 0.5 (logit 0) against
/// targets, where the mask is 1. Shapes as in [`sequence_loss`].
pub fn bit_errors(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<f64> {
    let batch = logits.dim(1)? as f64;
    let predicted = logits.gt(0.0)?.to_dtype(DType::F32)?;
    let truth = targets.gt(0.5)?.to_dtype(DType::F32)?;
    let wrong = predicted.ne(&truth)?.to_dtype(DType::F32)?.sum(2)?; // [T, B]
    let mask = mask.to_dtype(DType::F32)?;
    Ok((wrong * mask)?.sum_all()?.to_scalar::<f32>()? as f64 / batch)
}
