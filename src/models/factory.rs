//! The `[models.<name>]` table of an experiment and the factory that builds the model it
//! names: the one place that knows every architecture ([`Ntm`], [`LstmBaseline`]), so the
//! trainer, the evaluator and the figures only see [`SequenceModel`].

use candle_core::{DType, Device, Result, Var};
use candle_nn::VarMap;
use ntm_tasks::Task;
use serde::{Deserialize, Serialize};

use crate::models::lstm::{LstmBaseline, LstmBaselineConfig};
use crate::models::ntm::{Ntm, NtmConfig};
use crate::models::SequenceModel;
use crate::pieces::params::{sorted_parameters, ParamBuilder};

/// One entry of an experiment's `[models]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelConfig {
    /// A Neural Turing Machine (paper section 3).
    Ntm(NtmConfig),
    /// A stacked LSTM with a sigmoid output layer (the paper's baseline).
    Lstm(LstmBaselineConfig),
}

impl ModelConfig {
    /// Checks every field; the error names the field (relative to the model's table), the value
    /// and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self {
            ModelConfig::Ntm(c) => c.validate(),
            ModelConfig::Lstm(c) => c.validate(),
        }
    }

    /// A short name of the architecture, e.g. `ntm` or `lstm`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::Ntm(_) => "ntm",
            ModelConfig::Lstm(_) => "lstm",
        }
    }

    /// Builds the model, creating its parameters in `varmap` (initialised from `seed`) or
    /// reusing the ones already there (loaded from a checkpoint).
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
            ModelConfig::Lstm(c) => Box::new(LstmBaseline::new(c, &params, input_width, output_width)?),
        })
    }
}

/// A model of an experiment, built, with its parameters in name order.
pub struct BuiltModel {
    /// The model's name in the experiment (`ntm`, `lstm`, ...).
    pub name: String,
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

    /// The parameters' variables, in name order.
    pub fn vars(&self) -> Vec<Var> {
        self.parameters.iter().map(|(_, v)| v.clone()).collect()
    }
}
