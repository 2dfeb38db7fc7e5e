//! From task batches (plain `Vec`s) to tensors.

use candle_core::{Device, Result, Tensor};
use ntm_tasks::Batch;

/// A batch as tensors: inputs `[T, B, X]`, targets `[T, B, Y]`, mask `[T, B]`, all f32.
pub struct TensorBatch {
    pub inputs: Tensor,
    pub targets: Tensor,
    pub mask: Tensor,
}

impl TensorBatch {
    /// Copies `batch` onto `device`.
    pub fn new(batch: &Batch, device: &Device) -> Result<Self> {
        let (t, b) = (batch.time, batch.batch);
        Ok(Self {
            inputs: Tensor::from_slice(&batch.inputs, (t, b, batch.input_width), device)?,
            targets: Tensor::from_slice(&batch.targets, (t, b, batch.output_width), device)?,
            mask: Tensor::from_slice(&batch.mask, (t, b), device)?,
        })
    }
}
