//! Checkpoints: the weights as safetensors plus a JSON sidecar with everything else training
//! needs to continue exactly (optimiser state, data generator state, counters).
//!
//! Files in a model's folder: `checkpoint.safetensors` (weights, named by path),
//! `optimizer.safetensors` (two tensors per weight: `<name>.0`, `<name>.1`) and
//! `checkpoint.json` ([`CheckpointMeta`]).
//!
//! The three always belong to the same training step, whenever the process dies. [`save`] is a
//! small journal:
//! 1. it writes the three files, each synced to disk, into a fresh `checkpoint.tmp/` folder;
//! 2. it renames `checkpoint.tmp/` to `checkpoint.new/`: the commit point;
//! 3. it moves the three files out of `checkpoint.new/` into the model folder, the sidecar last,
//!    and removes the empty `checkpoint.new/`.
//!
//! A crash before step 2 leaves the previous checkpoint as it was (and a `checkpoint.tmp/` that
//! the next save or resume deletes). A crash during step 3 leaves the new set split between
//! `checkpoint.new/` and the model folder: readers take each file from `checkpoint.new/` when it
//! is there ([`path`]), and [`recover`] (run by every save and resume) finishes the moves.

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
/// Folder a save writes the new files into; an incomplete set, deleted if a save was cut short.
pub const STAGING_DIR: &str = "checkpoint.tmp";
/// Folder of a complete, committed set whose files are being moved into the model folder.
pub const COMMITTED_DIR: &str = "checkpoint.new";

/// The files of a checkpoint, in the order they are moved into place (the sidecar last).
const FILES: [&str; 3] = [WEIGHTS_FILE, OPTIMIZER_FILE, META_FILE];

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
    /// Batches skipped in the report interval in progress, and in a row up to now
    /// (`train.skip_nonfinite`; absent in checkpoints older than the guard).
    #[serde(default)]
    pub skipped: (u64, u64),
    /// The optimal predictor's loss in bits over the report interval in progress (summed as
    /// `interval`'s loss is), for a task that has one (dynamic N-grams); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal_bits: Option<f64>,
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
    #[error("{path}: tensor {name} is not a parameter of this model (a checkpoint of another architecture?)")]
    Unexpected { path: PathBuf, name: String },
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> CheckpointError + '_ {
    move |e| CheckpointError::Write { path: path.to_owned(), message: e.to_string() }
}

/// Where checkpoint file `file` (e.g. [`WEIGHTS_FILE`]) of model folder `dir` is read from:
/// `checkpoint.new/` if a save was cut short after its commit, else the model folder.
pub fn path(dir: &Path, file: &str) -> PathBuf {
    let committed = dir.join(COMMITTED_DIR).join(file);
    match committed.is_file() {
        true => committed,
        false => dir.join(file),
    }
}

/// True if model folder `dir` holds a checkpoint (its sidecar, possibly not yet moved in place).
pub fn exists(dir: &Path) -> bool {
    path(dir, META_FILE).is_file()
}

/// True if model folder `dir` holds any file of a checkpoint, whole or not.
pub fn has_files(dir: &Path) -> bool {
    FILES.iter().any(|file| path(dir, file).exists())
}

/// Syncs the contents of a file (or, where the file system allows, the entries of a folder)
/// to disk.
fn sync(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_data()
}

/// Finishes or discards a save that was cut short in `dir`: deletes `checkpoint.tmp/` (never
/// committed) and moves the files left in `checkpoint.new/` (committed) into place.
pub fn recover(dir: &Path) -> Result<(), CheckpointError> {
    let staging = dir.join(STAGING_DIR);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(write_error(&staging))?;
    }
    let committed = dir.join(COMMITTED_DIR);
    if committed.is_dir() {
        for file in FILES {
            let from = committed.join(file);
            if from.is_file() {
                std::fs::rename(&from, dir.join(file)).map_err(write_error(&from))?;
            }
        }
        std::fs::remove_dir_all(&committed).map_err(write_error(&committed))?;
    }
    Ok(())
}

/// Saves the weights, optimiser state and sidecar into `dir` as one set (see the module doc).
pub fn save(
    dir: &Path,
    varmap: &VarMap,
    optimizer_state: &[[Tensor; 2]],
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    recover(dir)?;
    let staging = dir.join(STAGING_DIR);
    std::fs::create_dir(&staging).map_err(write_error(&staging))?;
    let fail = |path: &Path, message: String| CheckpointError::Write { path: path.to_owned(), message };

    let weights = staging.join(WEIGHTS_FILE);
    let parameters: Vec<(String, Tensor)> = {
        let data = varmap.data().lock().expect("parameter map poisoned");
        data.iter().map(|(name, var)| (name.clone(), var.as_tensor().clone())).collect()
    };
    write_tensors(&weights, parameters).map_err(|e| fail(&weights, e))?;
    let mut state: Vec<(String, Tensor)> = Vec::new();
    for (name, [a, b]) in meta.parameters.iter().zip(optimizer_state) {
        state.push((format!("{name}.0"), a.clone()));
        state.push((format!("{name}.1"), b.clone()));
    }
    let optimizer = staging.join(OPTIMIZER_FILE);
    write_tensors(&optimizer, state).map_err(|e| fail(&optimizer, e))?;
    let sidecar = staging.join(META_FILE);
    let json = serde_json::to_string_pretty(meta).map_err(|e| fail(&sidecar, e.to_string()))?;
    std::fs::write(&sidecar, json).map_err(write_error(&sidecar))?;
    for file in FILES {
        let path = staging.join(file);
        sync(&path).map_err(write_error(&path))?;
    }
    // Not every file system can sync a folder. The model folder is not synced: until the
    // system writes it out, a power cut only loses this newest checkpoint, never mixes two.
    let _ = sync(&staging);

    let committed = dir.join(COMMITTED_DIR);
    std::fs::rename(&staging, &committed).map_err(write_error(&committed))?;
    recover(dir)
}

/// Writes the weights of `varmap` alone (named by path, as in [`WEIGHTS_FILE`]) to the
/// safetensors file `path`, through a temporary file beside it renamed into place, so that a
/// file at `path` is always whole: a snapshot ([`crate::records::run_dir::snapshot_file`]).
pub fn save_weights(path: &Path, varmap: &VarMap) -> Result<(), CheckpointError> {
    let parameters: Vec<(String, Tensor)> = {
        let data = varmap.data().lock().expect("parameter map poisoned");
        data.iter().map(|(name, var)| (name.clone(), var.as_tensor().clone())).collect()
    };
    let partial = path.with_extension("safetensors.tmp");
    write_tensors(&partial, parameters).map_err(|message| CheckpointError::Write { path: partial.clone(), message })?;
    std::fs::rename(&partial, path).map_err(write_error(path))
}

/// Writes `tensors` as a safetensors file at `path`: the same bytes as candle's own writer
/// (the format orders tensors by type and name), written as any other file, so that the umask
/// decides its mode as it does for every file of a run (safetensors' file writer makes a
/// temporary file of mode 0600, which a colleague could not read).
fn write_tensors(path: &Path, tensors: Vec<(String, Tensor)>) -> Result<(), String> {
    let bytes = safetensors::serialize(tensors, None).map_err(|e| e.to_string())?;
    std::fs::write(path, bytes).map_err(|e| e.to_string())
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
/// shape: the file must hold exactly the model's parameters.
pub fn load_weights(path: &Path, varmap: &VarMap) -> Result<(), CheckpointError> {
    set_weights(path, read_tensors(path)?, varmap)
}

/// Sets every variable of `varmap` from `tensors` (read from `path`, named in errors): each
/// must be there, of the variable's shape, and nothing else may be.
pub fn set_weights(path: &Path, tensors: HashMap<String, Tensor>, varmap: &VarMap) -> Result<(), CheckpointError> {
    let data = varmap.data().lock().expect("parameter map poisoned");
    let mut extra: Vec<&String> = tensors.keys().filter(|name| !data.contains_key(*name)).collect();
    extra.sort();
    if let Some(name) = extra.first() {
        return Err(CheckpointError::Unexpected { path: path.to_owned(), name: (*name).clone() });
    }
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let tensor =
            tensors.get(name).ok_or_else(|| CheckpointError::Missing { path: path.to_owned(), name: name.clone() })?;
        check_shape(path, name, tensor, var.dims())?;
        let tensor = tensor
            .to_dtype(var.dtype())
            .map_err(|e| CheckpointError::Read { path: path.to_owned(), message: e.to_string() })?;
        var.set(&tensor).map_err(|e| CheckpointError::Read { path: path.to_owned(), message: e.to_string() })?;
    }
    Ok(())
}

fn check_shape(path: &Path, name: &str, tensor: &Tensor, expected: &[usize]) -> Result<(), CheckpointError> {
    if tensor.dims() == expected {
        return Ok(());
    }
    Err(CheckpointError::Shape {
        path: path.to_owned(),
        name: name.to_owned(),
        found: tensor.dims().to_vec(),
        expected: expected.to_vec(),
    })
}

/// Reads the sidecar of the checkpoint in `dir`.
pub fn load_meta(dir: &Path) -> Result<CheckpointMeta, CheckpointError> {
    let path = path(dir, META_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CheckpointError::Read { path: path.clone(), message: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| CheckpointError::Read { path, message: e.to_string() })
}

/// Reads the optimiser state of the checkpoint in `dir`: two tensors per parameter, in the
/// order of `parameters` (name, shape), which must be the sidecar's.
pub fn load_optimizer_state(
    dir: &Path,
    meta: &CheckpointMeta,
    parameters: &[(String, Vec<usize>)],
) -> Result<Vec<[Tensor; 2]>, CheckpointError> {
    let names: Vec<&String> = parameters.iter().map(|(name, _)| name).collect();
    if meta.parameters.iter().collect::<Vec<_>>() != names {
        let sidecar = path(dir, META_FILE);
        let name = meta
            .parameters
            .iter()
            .find(|n| !names.contains(n))
            .or_else(|| names.iter().copied().find(|n| !meta.parameters.contains(n)))
            .cloned()
            .unwrap_or_default();
        return Err(CheckpointError::Read {
            path: sidecar,
            message: format!(
                "its parameters ({} of them) are not the model's ({}); first difference: {name}",
                meta.parameters.len(),
                names.len()
            ),
        });
    }
    let path = path(dir, OPTIMIZER_FILE);
    let mut tensors = read_tensors(&path)?;
    let mut take = |name: String, shape: &[usize]| {
        let tensor =
            tensors.remove(&name).ok_or_else(|| CheckpointError::Missing { path: path.clone(), name: name.clone() })?;
        check_shape(&path, &name, &tensor, shape)?;
        Ok(tensor)
    };
    parameters
        .iter()
        .map(|(name, shape)| Ok([take(format!("{name}.0"), shape)?, take(format!("{name}.1"), shape)?]))
        .collect()
}
