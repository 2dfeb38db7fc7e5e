//! Named, seeded parameter creation.
//!
//! candle's CPU device cannot be seeded, so parameters are drawn here from a seeded ChaCha
//! generator instead: the same seed gives the same initial weights on every machine. Names are
//! paths (`controller.layer0.weight`, `heads.read0.weight`) as with candle-nn's `VarBuilder::pp`,
//! so checkpoints have readable tensor names.

use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a new parameter is filled.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// Every entry the same value.
    Constant(f64),
    /// Uniform in `[-bound, bound]`.
    Uniform(f64),
    /// These values, row-major (their count must match the shape).
    Values(Vec<f64>),
}

/// Creates parameters under a path prefix into a shared [`VarMap`].
#[derive(Clone)]
pub struct ParamBuilder {
    varmap: VarMap,
    rng: Arc<Mutex<ChaCha8Rng>>,
    prefix: String,
    dtype: DType,
    device: Device,
}

impl ParamBuilder {
    /// A builder over `varmap` drawing initial values from `seed`.
    pub fn new(varmap: &VarMap, seed: u64, dtype: DType, device: &Device) -> Self {
        Self {
            varmap: varmap.clone(),
            rng: Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))),
            prefix: String::new(),
            dtype,
            device: device.clone(),
        }
    }

    /// A builder whose parameter names start with `prefix.` (like `VarBuilder::pp`).
    pub fn pp(&self, name: impl AsRef<str>) -> Self {
        let mut next = self.clone();
        next.prefix = self.path(name.as_ref());
        next
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.prefix, name)
        }
    }

    /// The floating point type of the parameters.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The device the parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The parameter `name` (under this builder's prefix) if it has been created.
    pub fn existing(&self, name: &str) -> Option<Tensor> {
        let data = self.varmap.data().lock().expect("parameter map poisoned");
        data.get(&self.path(name)).map(|var| var.as_tensor().clone())
    }

    /// The parameter `name` of `shape`, created with `init` unless it already exists (e.g.
    /// loaded from a checkpoint), in which case its shape must match.
    pub fn get(&self, shape: &[usize], name: &str, init: Init) -> Result<Tensor> {
        let path = self.path(name);
        let mut data = self.varmap.data().lock().expect("parameter map poisoned");
        if let Some(var) = data.get(&path) {
            if var.dims() != shape {
                candle_core::bail!("parameter {path} has shape {:?}, the model needs {:?}", var.dims(), shape);
            }
            return Ok(var.as_tensor().clone());
        }
        let count: usize = shape.iter().product();
        let values: Vec<f64> = match init {
            Init::Constant(value) => vec![value; count],
            Init::Uniform(bound) => {
                let mut rng = self.rng.lock().expect("parameter rng poisoned");
                (0..count).map(|_| rng.random_range(-bound..=bound)).collect()
            }
            Init::Values(values) => {
                if values.len() != count {
                    candle_core::bail!("parameter {path}: {} initial values for shape {shape:?}", values.len());
                }
                values
            }
        };
        let tensor = Tensor::from_vec(values, shape, &self.device)?.to_dtype(self.dtype)?;
        let var = Var::from_tensor(&tensor)?;
        let tensor = var.as_tensor().clone();
        data.insert(path, var);
        Ok(tensor)
    }
}

/// Every parameter in `varmap` with its name, sorted by name: a stable order for optimisers
/// and checkpoints (the map itself has none).
pub fn sorted_parameters(varmap: &VarMap) -> Vec<(String, Var)> {
    let mut parameters: Vec<(String, Var)> =
        varmap.data().lock().expect("parameter map poisoned").iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    parameters.sort_by(|a, b| a.0.cmp(&b.0));
    parameters
}

/// A dense layer y = x W + b with `W: [in, out]`, `b: [out]` (the transpose of candle-nn's
/// `Linear`, so the forward pass is one matmul with no transposed copy).
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    /// A new layer `name` with uniform(+-1/sqrt(in)) weights and zero bias.
    pub fn new(params: &ParamBuilder, name: &str, inputs: usize, outputs: usize) -> Result<Self> {
        Self::with_scale(params, name, inputs, outputs, 1.0)
    }

    /// As [`new`](Self::new), the weights uniform in +-`scale`/sqrt(in).
    pub fn with_scale(params: &ParamBuilder, name: &str, inputs: usize, outputs: usize, scale: f64) -> Result<Self> {
        let params = params.pp(name);
        let bound = scale / (inputs as f64).sqrt();
        Ok(Self {
            weight: params.get(&[inputs, outputs], "weight", Init::Uniform(bound))?,
            bias: params.get(&[outputs], "bias", Init::Constant(0.0))?,
        })
    }

    /// `x`: `[B, in]` -> `[B, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight)?.broadcast_add(&self.bias)
    }

    /// Number of scalars in the weight and bias.
    pub fn parameter_count(&self) -> usize {
        self.weight.elem_count() + self.bias.elem_count()
    }

    /// The weight `[in, out]` and the bias `[out]`.
    pub fn tensors(&self) -> [Tensor; 2] {
        [self.weight.clone(), self.bias.clone()]
    }
}
