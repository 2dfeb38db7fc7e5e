//! The `[models.<name>]` table of an experiment and the factory that builds the model it
//! names: the one place that knows every architecture ([`Ntm`], [`Dnc`], [`LstmBaseline`],
//! [`RnnBaseline`], [`DsguBaseline`], [`AttentionBaseline`]), so the trainer, the evaluator and the figures only see [`SequenceModel`].
//!
//! A model of your own is `kind = "custom"` in the table: the experiment names it (so its
//! `[train.models.<name>]` settings apply and a model folder's `config.toml` records what it
//! was), but only your program can build it. [`BuiltModel::custom`] takes it as built, with the
//! [`VarMap`] holding its parameters; [`ModelConfig::check_built_in`] is the one line every
//! place that would have to build it (`Trainer::new`, the commands, loading a model folder) gives.

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::VarMap;
use ntm_tasks::Task;
use serde::{Deserialize, Serialize};

use crate::models::attention::{AttentionBaseline, AttentionConfig};
use crate::models::dnc::{Dnc, DncConfig};
use crate::models::dsgu::DsguBaseline;
use crate::models::lstm::{LstmBaseline, LstmBaselineConfig};
use crate::models::ntm::{Ntm, NtmConfig};
use crate::models::rnn::{CellKind, RnnBaseline, RnnBaselineConfig};
use crate::models::SequenceModel;
use crate::pieces::params::{sorted_parameters, ParamBuilder};

/// Why the library does not build a `kind = "custom"` model, and what to do instead.
const CUSTOM_NOT_BUILT: &str = "kind = \"custom\" is a model of your own, which only your program can build: pass it \
     to Trainer::with_model (examples/custom_model.rs shows how); Trainer::new and the ntm commands build only \
     kind = \"ntm\", \"dnc\", \"lstm\", \"rnn\", \"gru\", \"dsgu\" and \"attention\"";

/// One entry of an experiment's `[models]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelConfig {
    /// A Neural Turing Machine (paper section 3).
    Ntm(NtmConfig),
    /// A Differentiable Neural Computer (Graves et al. 2016).
    Dnc(DncConfig),
    /// A stacked LSTM with a sigmoid output layer (the paper's baseline).
    Lstm(LstmBaselineConfig),
    /// A stacked tanh RNN (Elman) with a sigmoid output layer.
    Rnn(RnnBaselineConfig),
    /// A stacked GRU (Cho et al. 2014) with a sigmoid output layer.
    Gru(RnnBaselineConfig),
    /// A stacked Deep Simple Gated Unit (Gao & Glowacka 2016) with a sigmoid output layer.
    Dsgu(RnnBaselineConfig),
    /// An LSTM that attends over its own earlier hidden states (additive attention, after
    /// Bahdanau et al. 2015) and feeds the context to its output layer.
    Attention(AttentionConfig),
    /// A model of your own, built by your program and trained with `Trainer::with_model`
    /// (see `examples/custom_model.rs`); the library cannot build it.
    Custom(CustomModelConfig),
}

/// The `[models.<name>]` table of a model of your own (`kind = "custom"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomModelConfig {
    /// What the model is, in words (e.g. `"one-layer GRU, 32 units"`): shown when it trains
    /// and kept in its folder's `config.toml`. Left out of the written experiment when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl ModelConfig {
    /// Checks every field; the error names the field (relative to the model's table), the value
    /// and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self {
            ModelConfig::Ntm(c) => c.validate(),
            ModelConfig::Dnc(c) => c.validate(),
            ModelConfig::Lstm(c) => c.validate(),
            ModelConfig::Rnn(c) | ModelConfig::Gru(c) | ModelConfig::Dsgu(c) => c.validate(),
            ModelConfig::Attention(c) => c.validate(),
            ModelConfig::Custom(_) => Ok(()),
        }
    }

    /// A short name of the architecture, e.g. `ntm`, `dnc`, `lstm`, `rnn`, `gru`, `dsgu` or `attention` (`custom` for a
    /// model of your own).
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::Ntm(_) => "ntm",
            ModelConfig::Dnc(_) => "dnc",
            ModelConfig::Lstm(_) => "lstm",
            ModelConfig::Rnn(_) => "rnn",
            ModelConfig::Gru(_) => "gru",
            ModelConfig::Dsgu(_) => "dsgu",
            ModelConfig::Attention(_) => "attention",
            ModelConfig::Custom(_) => "custom",
        }
    }

    /// The architecture in words: its [`kind`](Self::kind), with a custom model's description.
    pub fn describe(&self) -> String {
        match self {
            ModelConfig::Custom(c) if !c.description.is_empty() => format!("custom ({})", c.description),
            other => other.kind().to_owned(),
        }
    }

    /// Whether the model has memory slots (an NTM or a DNC): what `--slots` and the heads
    /// figure need.
    pub fn has_memory(&self) -> bool {
        matches!(self, ModelConfig::Ntm(_) | ModelConfig::Dnc(_))
    }

    /// Ok for a model the library builds (`ntm`, `dnc`, `lstm`, `rnn`, `gru`, `dsgu`, `attention`); for model `name` of
    /// `kind = "custom"` the one line saying that only your program can build it.
    pub fn check_built_in(&self, name: &str) -> std::result::Result<(), String> {
        match self {
            ModelConfig::Custom(_) => Err(format!("model {name}: {CUSTOM_NOT_BUILT}")),
            _ => Ok(()),
        }
    }

    /// Builds the model, creating its parameters in `varmap` (initialised from `seed`) or
    /// reusing the ones already there (loaded from a checkpoint). An error for a custom model
    /// (see [`check_built_in`](Self::check_built_in)).
    pub fn build(
        &self,
        varmap: &VarMap,
        seed: u64,
        input_width: usize,
        output_width: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Box<dyn SequenceModel>> {
        let params = ParamBuilder::new(varmap, seed, dtype, device);
        Ok(match self {
            ModelConfig::Ntm(c) => Box::new(Ntm::new(c, &params, input_width, output_width)?),
            ModelConfig::Dnc(c) => Box::new(Dnc::new(c, &params, input_width, output_width)?),
            ModelConfig::Lstm(c) => Box::new(LstmBaseline::new(c, &params, input_width, output_width)?),
            ModelConfig::Rnn(c) => Box::new(RnnBaseline::new(CellKind::Rnn, c, &params, input_width, output_width)?),
            ModelConfig::Gru(c) => Box::new(RnnBaseline::new(CellKind::Gru, c, &params, input_width, output_width)?),
            ModelConfig::Dsgu(c) => Box::new(DsguBaseline::new(c, &params, input_width, output_width)?),
            ModelConfig::Attention(c) => Box::new(AttentionBaseline::new(c, &params, input_width, output_width)?),
            ModelConfig::Custom(_) => candle_core::bail!("{CUSTOM_NOT_BUILT}"),
        })
    }
}

/// A model of an experiment, built, with its parameters in name order.
pub struct BuiltModel {
    /// The model's name in the experiment (`ntm`, `lstm`, ...).
    pub name: String,
    /// Its `[models.<name>]` entry (`ModelConfig::Custom` for a model of your own).
    pub config: ModelConfig,
    pub varmap: VarMap,
    pub model: Box<dyn SequenceModel>,
    /// Parameter names and variables, sorted by name (the optimiser's and checkpoints' order).
    pub parameters: Vec<(String, Var)>,
}

impl BuiltModel {
    /// Builds model `name` (`config`) for `task` (its input and output widths) with fresh f32
    /// parameters from `seed`.
    pub fn new(name: &str, config: &ModelConfig, seed: u64, task: &dyn Task) -> Result<Self> {
        let varmap = VarMap::new();
        let model = config.build(&varmap, seed, task.input_width(), task.output_width(), DType::F32, &Device::Cpu)?;
        let parameters = sorted_parameters(&varmap);
        Ok(Self { name: name.to_owned(), config: config.clone(), varmap, model, parameters })
    }

    /// Model `name` of your own (`config` is `kind = "custom"`), built by your program with its
    /// parameters in `varmap` (created through candle-nn's `VarBuilder::from_varmap`, named by
    /// path: the names checkpoints use), for `task`. Checks, each failure one line, what
    /// training relies on: the varmap holds parameters, all f32 on the CPU, and
    /// [`SequenceModel::parameter_count`] counts them all; one step of zeros of the task's input
    /// width gives f32 logits of its output width, and a gradient reaches every parameter
    /// through them (so the model is built on this varmap).
    pub fn custom(
        name: &str,
        config: &ModelConfig,
        model: Box<dyn SequenceModel>,
        varmap: VarMap,
        task: &dyn Task,
    ) -> std::result::Result<Self, String> {
        if !matches!(config, ModelConfig::Custom(_)) {
            return Err(format!(
                "model {name}: [models.{name}] has kind = {:?}, a model the library builds: train it with \
                 Trainer::new (Trainer::with_model takes a model of kind = \"custom\")",
                config.kind()
            ));
        }
        let parameters = sorted_parameters(&varmap);
        if parameters.is_empty() {
            return Err(format!(
                "model {name}: its VarMap holds no parameters, so there is nothing to train; create them through \
                 candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)"
            ));
        }
        if let Some((n, v)) = parameters.iter().find(|(_, v)| v.dtype() != DType::F32 || !v.device().is_cpu()) {
            return Err(format!(
                "model {name}: parameter {n} is {:?} on {:?}; the trainer needs f32 on the CPU",
                v.dtype(),
                v.device().location()
            ));
        }
        let scalars: usize = parameters.iter().map(|(_, v)| v.elem_count()).sum();
        if model.parameter_count() != scalars {
            return Err(format!(
                "model {name}: parameter_count() is {} but its VarMap holds {scalars} scalars in {} tensors; the \
                 trainer optimises exactly the VarMap's tensors, so create every parameter through it and count them all",
                model.parameter_count(),
                parameters.len()
            ));
        }
        let (x, y) = (task.input_width(), task.output_width());
        let widths = format!("the {} task's inputs are {x} wide and its targets {y}", task.name());
        // A candle error's first line (the rest, if any, is a backtrace).
        let first_line = |e: candle_core::Error| e.to_string().lines().next().unwrap_or_default().to_owned();
        let logits =
            Tensor::zeros((1, 1, x), DType::F32, &Device::Cpu).and_then(|probe| model.forward(&probe)).map_err(
                |e| format!("model {name}: a forward pass on inputs [1, 1, {x}] failed ({widths}): {}", first_line(e)),
            )?;
        if logits.dims() != [1, 1, y] || logits.dtype() != DType::F32 {
            return Err(format!(
                "model {name}: a forward pass on inputs [1, 1, {x}] gave {:?} logits {:?}, not f32 [1, 1, {y}] ({widths})",
                logits.dtype(),
                logits.dims()
            ));
        }
        let grads = logits
            .sum_all()
            .and_then(|sum| sum.backward())
            .map_err(|e| format!("model {name}: the backward pass of one step failed: {}", first_line(e)))?;
        if let Some((n, _)) = parameters.iter().find(|(_, v)| grads.get(v.as_tensor()).is_none()) {
            return Err(format!(
                "model {name}: parameter {n} of its VarMap takes no part in a forward pass (no gradient reaches it), \
                 so training would never change it; build the model on the VarMap given to the trainer"
            ));
        }
        Ok(Self { name: name.to_owned(), config: config.clone(), varmap, model, parameters })
    }

    /// The parameters' variables, in name order.
    pub fn vars(&self) -> Vec<Var> {
        self.parameters.iter().map(|(_, v)| v.clone()).collect()
    }
}
