//! `kind = "attention"`: a recurrent network that at every step attends over its own earlier
//! hidden states, in the spirit of Bahdanau, Cho & Bengio (2015, arXiv:1409.0473): additive,
//! content-based scores, softmaxed over the past, and the context fed into the output.
//!
//! The recurrent part is the LSTM baseline's stack ([`LstmStack`], so either engine), whose
//! top layer gives h_1..h_T. Then, for every step t (shapes per batch row):
//! ```text
//! q_t = h_t W_q,  k_s = h_s W_k                        W_q, W_k [H, A]
//! e_{t,s} = v . tanh(q_t + k_s)       for s < t        v [A]
//! a_{t,.} = softmax_{s<t}(e_{t,.}),   c_t = sum_{s<t} a_{t,s} h_s      (c_1 = 0: no past)
//! y_t = [h_t, c_t] W_o + b_o                           W_o [2H, Y]
//! ```
//! The context does not feed back into the recurrence (Bahdanau's decoder also feeds it to its
//! next state; here it reaches only the output), so the LSTM stack runs over the whole sequence
//! first and then the attention of all T steps at once. On the reference engine that is
//! [`contexts`], a handful of batched tensor operations, `[B, T, T, A]` at its widest; on the
//! fused engine one custom operation, [`crate::fused::attention::causal_attention`], that
//! never builds that tensor. Both compute the same function (`tests/fused.rs`).
//!
//! Why an LSTM: it is the paper's baseline, so this model differs from it by the attention
//! alone.

use candle_core::{DType, Result, Tensor, D};
use serde::{Deserialize, Serialize};

use crate::base::kinds::Engine;
use crate::fused::attention::causal_attention;
use crate::models::lstm::LstmStack;
use crate::models::SequenceModel;
use crate::pieces::addressing::softmax;
use crate::pieces::params::{Dense, Init, ParamBuilder};

/// The score of a step s >= t, which step t may not attend to: added to its score so that its
/// softmax weight is exactly 0 (e^-1e9 underflows in f32 and f64; a real score is at most
/// |v|_1 in size, far below). The first step, which has no past, comes out of the softmax as
/// a spread over masked steps and is then multiplied by the mask's 0s.
const MASKED_SCORE: f64 = -1e9;

/// The `[models.<name>]` table of the attention baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttentionConfig {
    /// Units per LSTM layer, H.
    pub size: usize,
    /// Stacked LSTM layers; the top one is attended over.
    pub layers: usize,
    /// Width A of the attention's query and key projections (Bahdanau et al.: the same as
    /// the recurrent width).
    pub attention: usize,
    /// The implementation of the LSTM stack and of the attention: `fused` (default) or
    /// `reference` (composed candle operations). Same parameters, same function.
    #[serde(default)]
    pub engine: Engine,
}

impl Default for AttentionConfig {
    fn default() -> Self {
        Self { size: 256, layers: 1, attention: 256, engine: Engine::default() }
    }
}

impl AttentionConfig {
    /// Checks every field; the error names the field, the value and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        use crate::base::limits::{check_size, MAX_LAYERS, MAX_UNITS};
        check_size("size", self.size, MAX_UNITS)?;
        check_size("layers", self.layers, MAX_LAYERS)?;
        check_size("attention", self.attention, MAX_UNITS)
    }
}

/// The attention baseline (see the module docs).
///
/// Parameters: `lstm.*` as the LSTM baseline's stack; `attention.query` and `attention.key`
/// `[H, A]`, `attention.score` `[A]`; `output.weight` `[2H, Y]`, `output.bias` `[Y]`. On copy
/// (9 inputs, 8 outputs) at the defaults, 1 x 256 with A = 256: LSTM 272,384 + h0, c0 512;
/// query and key 2 x 65,536; score 256; output 512 * 8 + 8 = 4,104; total 408,328.
#[derive(Debug, Clone)]
pub struct AttentionBaseline {
    stack: LstmStack,
    query: Tensor, // [H, A]
    key: Tensor,   // [H, A]
    score: Tensor, // [A]
    output: Dense,
    engine: Engine,
}

impl AttentionBaseline {
    /// The baseline for `inputs` input and `outputs` output channels.
    pub fn new(config: &AttentionConfig, params: &ParamBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        let (h, a) = (config.size, config.attention);
        let stack = LstmStack::new(&params.pp("lstm"), inputs, h, config.layers)?;
        let p = params.pp("attention");
        let query = p.get(&[h, a], "query", Init::Uniform(1.0 / (h as f64).sqrt()))?;
        let key = p.get(&[h, a], "key", Init::Uniform(1.0 / (h as f64).sqrt()))?;
        let score = p.get(&[a], "score", Init::Uniform(1.0 / (a as f64).sqrt()))?;
        let output = Dense::new(params, "output", 2 * h, outputs)?;
        Ok(Self { stack, query, key, score, output, engine: config.engine })
    }

    /// The top LSTM layer's hidden state at every step: `x` `[T, B, in]` -> `[T, B, H]`.
    fn hidden_states(&self, x: &Tensor) -> Result<Tensor> {
        if self.engine == Engine::Fused {
            return self.stack.forward_fused(x);
        }
        let state = self.stack.initial_state(x.dim(1)?)?;
        crate::models::unroll(x, state, |x, state| self.stack.step(x, &state))
    }
}

/// The attention weights of every step over the earlier ones, from the queries and keys `q`,
/// `k` `[B, T, A]` and the score vector `v` `[A]`: `[B, T (t), T (s)]`, row t zero from s = t
/// on (so row 0 is all zero). Composed candle operations: the reference.
pub fn weights(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
    let (batch, time, a) = q.dims3()?;
    let q = q.reshape((batch, time, 1, a))?; // [B, T, 1, A]
    let k = k.reshape((batch, 1, time, a))?; // [B, 1, T, A]
    let features = q.broadcast_add(&k)?.tanh()?; // [B, T, T, A]
    let scores = features.reshape((batch * time * time, a))?.matmul(&v.unsqueeze(1)?)?; // [B T T, 1]
    let scores = scores.reshape((batch, time, time))?; // [B, T, T]
    let mask = past_mask(time, q.dtype(), q.device())?; // [T, T]
    let penalty = mask.affine(-MASKED_SCORE, MASKED_SCORE)?; // 0 where allowed, MASKED_SCORE elsewhere
    let masked = scores.broadcast_add(&penalty)?;
    softmax(&masked)?.broadcast_mul(&mask)
}

/// The contexts c_t = sum_{s<t} a_{t,s} h_s `[B, T, H]` of the states `h` `[B, T, H]` under
/// [`weights`] (composed: the reference engine's, and the reference of the fused op).
pub fn contexts(q: &Tensor, k: &Tensor, v: &Tensor, h: &Tensor) -> Result<Tensor> {
    weights(q, k, v)?.matmul(h)
}

/// `[T, T]`: 1 where s < t (step t may attend to step s), else 0.
fn past_mask(time: usize, dtype: DType, device: &candle_core::Device) -> Result<Tensor> {
    let values: Vec<f64> = (0..time * time).map(|i| if i % time < i / time { 1.0 } else { 0.0 }).collect();
    Tensor::from_vec(values, (time, time), device)?.to_dtype(dtype)
}

impl SequenceModel for AttentionBaseline {
    fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        let (time, batch, _) = inputs.dims3()?;
        let hs = self.hidden_states(inputs)?.transpose(0, 1)?.contiguous()?; // [B, T, H]
        let hidden = hs.dim(2)?;
        let a = self.score.dim(0)?;
        let flat = hs.reshape((batch * time, hidden))?;
        let q = flat.matmul(&self.query)?.reshape((batch, time, a))?; // [B, T, A]
        let k = flat.matmul(&self.key)?.reshape((batch, time, a))?; // [B, T, A]
        let context = match self.engine {
            Engine::Fused => causal_attention(&q, &k, &self.score, &hs)?,
            Engine::Reference => contexts(&q, &k, &self.score, &hs)?,
        }; // [B, T, H]
        let features = Tensor::cat(&[&hs, &context], D::Minus1)?; // [B, T, 2H]
        let hidden2 = features.dim(2)?;
        let logits = self.output.forward(&features.reshape((batch * time, hidden2))?)?; // [B T, Y]
        logits.reshape((batch, time, ()))?.transpose(0, 1)?.contiguous() // [T, B, Y]
    }

    fn parameter_count(&self) -> usize {
        let attention = self.query.elem_count() + self.key.elem_count() + self.score.elem_count();
        self.stack.parameter_count() + attention + self.output.parameter_count()
    }
}
