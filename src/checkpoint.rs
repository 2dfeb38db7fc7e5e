//! Checkpoints: the weights as safetensors plus a JSON sidecar with everything else training
//! needs to continue exactly (optimiser state, data generator state, counters).
//!
//! Files in a model's folder: `checkpoint.safetensors` (weights, named by path),
//! `optimizer.safetensors` (two tensors per weight: `<name>.0`, `<name>.1`) and
//! `checkpoint.json` ([`CheckpointMeta`]). Each is written to a temporary file and renamed into
//! place, the sidecar last, so a crash leaves the previous checkpoint whole.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Weights file name inside a model folder.
pub const WEIGHTS_FILE: &str = "checkpoint.safetensors";
/// Optimiser state file name inside a model folder.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Sidecar file name inside a model folder.
pub const META_FILE: &str = "checkpoint.json";

/// Training counters and the running report interval, saved beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Training sequences seen.
    pub sequences: u64,
    /// Optimiser updates applied.
    pub optimizer_steps: u64,
    /// Wall-clock seconds of training so far.
    pub seconds: f64,
    /// The training data generator, exactly where it stopped.
    pub rng: ChaCha8Rng,
    /// Sums over the report interval in progress: loss in bits, bit errors, sequences.
    pub interval: (f64, f64, u64),
    /// Parameter names in optimiser order.
    pub parameters: Vec<String>,
}

/// A checkpoint that cannot be read or does not fit the model.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: cannot read checkpoint: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: cannot write checkpoint: {message}")]
    Write { path: PathBuf, message: String },
    #[error("{path}: tensor {name} has shape {found:?}, the model expects {expected:?}")]
    Shape { path: PathBuf, name: String, found: Vec<usize>, expected: Vec<usize> },
    #[error("{path}: tensor {name} is missing")]
    Missing { path: PathBuf, name: String },
}

/// Writes `bytes_writer`'s output to `path` through a temporary file and a rename.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), CheckpointError> {
    let fail = |message: String| CheckpointError::Write { path: path.to_owned(), message };
    let tmp = path.with_extension("tmp");
    write(&tmp).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| fail(e.to_string()))
}

/// Saves the weights, optimiser state and sidecar into `dir`.
pub fn save(
    dir: &Path,
    varmap: &VarMap,
    optimizer_state: &[[Tensor; 2]],
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    write_atomically(&dir.join(WEIGHTS_FILE), |tmp| varmap.save(tmp).map_err(|e| e.to_string()))?;
    let mut state: HashMap<String, Tensor> = HashMap::new();
    for (name, [a, b]) in meta.parameters.iter().zip(optimizer_state) {
        state.insert(format!("{name}.0"), a.clone());
        state.insert(format!("{name}.1"), b.clone());
    }
    write_atomically(&dir.join(OPTIMIZER_FILE), |tmp| {
        candle_core::safetensors::save(&state, tmp).map_err(|e| e.to_string())
    })?;
    let json = serde_json::to_string_pretty(meta).map_err(|e| CheckpointError::Write {
        path: dir.join(META_FILE),
        message: e.to_string(),
    })?;
    write_atomically(&dir.join(META_FILE), |tmp| std::fs::write(tmp, json).map_err(|e| e.to_string()))
}

/// Reads a safetensors file into name -> tensor.
pub fn read_tensors(path: &Path) -> Result<HashMap<String, Tensor>, CheckpointError> {
    if !path.exists() {
        return Err(CheckpointError::Read { path: path.to_owned(), message: "no such file".into() });
    }
    candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| CheckpointError::Read {
        path: path.to_owned(),
        message: format!("not a valid safetensors file ({})", first_line(&e.to_string())),
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Loads the weights at `path` into the model's existing parameters, checking every name and
/// shape.
pub fn load_weights(path: &Path, varmap: &VarMap) -> Result<(), CheckpointError> {
    let tensors = read_tensors(path)?;
    let data = varmap.data().lock().expect("parameter map poisoned");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let tensor = tensors
            .get(name)
            .ok_or_else(|| CheckpointError::Missing { path: path.to_owned(), name: name.clone() })?;
        if tensor.dims() != var.dims() {
            return Err(CheckpointError::Shape {
                path: path.to_owned(),
                name: name.clone(),
                found: tensor.dims().to_vec(),
                expected: var.dims().to_vec(),
            });
        }
        let tensor = tensor.to_dtype(var.dtype()).map_err(|e| CheckpointError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        var.set(&tensor).map_err(|e| CheckpointError::Read { path: path.to_owned(), message: e.to_string() })?;
    }
    Ok(())
}

/// Reads the sidecar of the checkpoint in `dir`.
pub fn load_meta(dir: &Path) -> Result<CheckpointMeta, CheckpointError> {
    let path = dir.join(META_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CheckpointError::Read { path: path.clone(), message: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| CheckpointError::Read { path, message: e.to_string() })
}

/// Reads the optimiser state of the checkpoint in `dir`, in the sidecar's parameter order.
pub fn load_optimizer_state(
    dir: &Path,
    meta: &CheckpointMeta,
) -> Result<Vec<[Tensor; 2]>, CheckpointError> {
    let path = dir.join(OPTIMIZER_FILE);
    let mut tensors = read_tensors(&path)?;
    let mut take = |name: String| {
        tensors.remove(&name).ok_or_else(|| CheckpointError::Missing { path: path.clone(), name })
    };
    meta.parameters
        .iter()
        .map(|name| Ok([take(format!("{name}.0"))?, take(format!("{name}.1"))?]))
        .collect()
}
