//! The run folder: every file a run writes, by name, and the functions that read them back.
//!
//! ```text
//! <run>/                          `ntm run` (default runs/<name>/)
//!   experiment.toml               EXPERIMENT_FILE: the resolved experiment (file + --set)
//!   <model>/                      one folder per model of the experiment
//!     config.toml                 CONFIG_FILE: the resolved experiment, this model only
//!     metrics.jsonl               METRICS_FILE: one MetricsRecord per report interval
//!     checkpoint.safetensors      the checkpoint, three files saved as one set
//!     optimizer.safetensors         (names and journal: crate::records::checkpoint)
//!     checkpoint.json
//!     eval.json                   EVAL_FILE: the EvalReport
//!     failure.json                FAILURE_FILE: the Failure, if training diverged
//!     changes.jsonl               CHANGES_FILE: settings changed by a resume, a SettingsChange
//!                                   per resume that changed any (`--allow-changes`)
//!     snapshots/                  SNAPSHOTS_DIR, with train.snapshot_every = N: the weights
//!       000000.safetensors          every N sequences (snapshot_file), from the untrained ones
//!       000500.safetensors ...      to the last
//!     .lock                       the lock of the process writing here (crate::records::lock)
//!   plots/                        PLOTS_DIR: the figures
//!     heads-<model>-<length>.png    heads_figure (+ .json: the traced episode; with a
//!                                   fixed repeat count heads-<model>-<length>x<repeats>.png,
//!                                   with --slots N heads-<model>-<length>-<N>slots.png)
//!     links-<model>-<length>.png    links_figure: a DNC's link matrix, named likewise
//!     gradient-flow-<length>.png    gradient_flow_figure (+ .json: the gradient norms)
//!     evolution-<model>-<length>.gif  evolution_film: the heads (or outputs) at each snapshot
//!     curves.png, generalisation.png, outputs.png
//! ```
//!
//! A model folder is recognised by its `config.toml`; everything here takes either a run folder
//! or a model folder as `dir`, as each function says.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::diff::{differences, Difference};
use crate::config::Experiment;
use crate::error::{io, Error, Result};
use crate::models::factory::{BuiltModel, ModelConfig};
use crate::records::checkpoint;
use crate::records::failure::Failure;
use crate::records::lock;
use crate::records::report::{EvalReport, MetricsRecord};

/// The resolved experiment, in a run folder.
pub const EXPERIMENT_FILE: &str = "experiment.toml";
/// The resolved experiment restricted to the model, in a model folder.
pub const CONFIG_FILE: &str = "config.toml";
/// The training metrics, one JSON line per report interval, in a model folder.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The evaluation results, in a model folder.
pub const EVAL_FILE: &str = "eval.json";
/// The record of a numerical fault that stopped training, in a model folder.
pub const FAILURE_FILE: &str = "failure.json";
/// The settings a resume changed, one [`SettingsChange`] per line, in a model folder.
pub const CHANGES_FILE: &str = "changes.jsonl";
/// The snapshots of the weights during training (`train.snapshot_every`), in a model folder.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// The figures' folder, in a run folder.
pub const PLOTS_DIR: &str = "plots";
/// The learning curves of every model, in the plots folder.
pub const CURVES_FIGURE: &str = "curves.png";
/// Bit errors and loss against test length, in the plots folder.
pub const GENERALISATION_FIGURE: &str = "generalisation.png";
/// Target and output at each test length, in the plots folder.
pub const OUTPUTS_FIGURE: &str = "outputs.png";

/// The contexts figure of model `name` on an episode of `length` bits (dynamic N-grams), in the
/// plots folder (its table beside it, as `.json`): `contexts-ntm-200.png`.
pub fn contexts_figure(name: &str, length: usize) -> String {
    format!("contexts-{name}-{length}.png")
}

/// The heads figure of model `name` at `length` (and `repeats`, when fixed; `slots`, when
/// given with `--slots`), in the plots folder (its trace beside it, as `.json`): `heads-ntm-10.png`,
/// `heads-ntm-10x20.png`, `heads-ntm-250-512slots.png`.
pub fn heads_figure(name: &str, length: usize, repeats: Option<usize>, slots: Option<usize>) -> String {
    let episode = match repeats {
        Some(r) => format!("{length}x{r}"),
        None => length.to_string(),
    };
    match slots {
        Some(n) => format!("heads-{name}-{episode}-{n}slots.png"),
        None => format!("heads-{name}-{episode}.png"),
    }
}

/// The link figure of DNC `name` at `length` (and `repeats`, `slots` as for [`heads_figure`]),
/// in the plots folder: `links-dnc-20.png`.
pub fn links_figure(name: &str, length: usize, repeats: Option<usize>, slots: Option<usize>) -> String {
    heads_figure(name, length, repeats, slots).replacen("heads-", "links-", 1)
}

/// The gradient-flow figure of an episode of `length`, in the plots folder (its numbers beside
/// it, as `.json`): `gradient-flow-20.png`.
pub fn gradient_flow_figure(length: usize) -> String {
    format!("gradient-flow-{length}.png")
}

/// The film of model `name` on an episode of `length` (`ntm plot evolution`), in the plots
/// folder: `evolution-ntm-20.gif`.
pub fn evolution_film(name: &str, length: usize) -> String {
    format!("evolution-{name}-{length}.gif")
}

/// The snapshot of the weights after `sequences` training sequences, in the model folder's
/// [`SNAPSHOTS_DIR`]: `000500.safetensors` (six digits at least, so that they sort by name).
pub fn snapshot_file(sequences: u64) -> String {
    format!("{sequences:06}.safetensors")
}

/// The snapshots in model folder `dir`, `(sequences, file)` in order of sequences; none
/// without a `snapshots/` folder. Files not named as [`snapshot_file`] names them are ignored.
pub fn snapshots(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let folder = dir.join(SNAPSHOTS_DIR);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&folder)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(io(&folder))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let count = name.strip_suffix(".safetensors").filter(|d| d.len() >= 6).and_then(|d| d.parse::<u64>().ok());
        if let Some(sequences) = count.filter(|&n| snapshot_file(n) == name) {
            found.push((sequences, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Removes the snapshots of model folder `dir` taken after `sequences` (by a run that a resume
/// from an earlier checkpoint trains again), and any left half-written.
pub fn drop_snapshots_after(dir: &Path, sequences: u64) -> Result<()> {
    for (n, file) in snapshots(dir)? {
        if n > sequences {
            std::fs::remove_file(&file).map_err(io(&file))?;
        }
    }
    let folder = dir.join(SNAPSHOTS_DIR);
    if let Ok(entries) = std::fs::read_dir(&folder) {
        for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            if path.extension().is_some_and(|x| x == "tmp") {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
    }
    Ok(())
}

/// The priority sort figure of model `name` on an episode of `length` inputs, in the plots
/// folder (its trace beside it, as `.json`): `priorities-ntm-20.png`.
pub fn priorities_figure(name: &str, length: usize) -> String {
    format!("priorities-{name}-{length}.png")
}

/// Where model `name`'s figure goes when the user named the file `output` but several models
/// are drawn: `name` is added to the file's stem (`figs/heads.png` -> `figs/heads-ntm-ff.png`).
pub fn with_model_name(output: &Path, name: &str) -> PathBuf {
    let stem = output.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let file = match output.extension() {
        Some(ext) => format!("{stem}-{name}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{name}"),
    };
    output.with_file_name(file)
}

/// The run folder of `experiment` when none is named: `runs/<name>/` (relative to the
/// working directory), as `ntm run` and `ntm train` default to.
pub fn default_run_dir(experiment: &Experiment) -> PathBuf {
    Path::new("runs").join(&experiment.name)
}

/// Decides whether model folder `dir` starts fresh or resumes, refusing to mix two runs, as
/// `ntm train` and `ntm run` do with `--resume` and `--overwrite`: with `resume`, from the
/// checkpoint in `dir` (true), or from scratch in an emptied folder when there is none yet (a
/// run stopped before its first checkpoint; false); otherwise a folder that holds anything (but
/// its lock file, [`lock::LOCK_FILE`]) is refused unless `overwrite`, which empties it first
/// (false: start fresh). Call it holding the folder's [`lock::FolderLock`]. The refusals are
/// [`Error::Io`] of kind `AlreadyExists` (a run is there) and `InvalidData` (checkpoint files
/// without their `checkpoint.json`: a damaged checkpoint).
pub fn prepare_model_dir(dir: &Path, resume: bool, overwrite: bool) -> Result<bool> {
    let refuse = |kind, message: String| Error::Io { path: dir.to_owned(), cause: std::io::Error::new(kind, message) };
    if resume {
        if checkpoint::exists(dir) {
            return Ok(true);
        }
        if checkpoint::has_files(dir) {
            let message = format!(
                "nothing to resume: no {} beside the other checkpoint files (a damaged checkpoint); pass --overwrite to start again",
                checkpoint::META_FILE
            );
            return Err(refuse(std::io::ErrorKind::InvalidData, message));
        }
        if dir.exists() {
            lock::clear(dir)?;
        }
        return Ok(false);
    }
    if !lock::is_empty(dir).map_err(io(dir))? {
        if !overwrite {
            let message = "already holds a run; pass --resume to continue it or --overwrite to replace it".to_owned();
            return Err(refuse(std::io::ErrorKind::AlreadyExists, message));
        }
        lock::clear(dir)?;
    }
    Ok(false)
}

/// Writes `experiment` as `experiment.toml` into run folder `out`.
pub fn write_experiment(out: &Path, experiment: &Experiment) -> Result<()> {
    let path = out.join(EXPERIMENT_FILE);
    std::fs::write(&path, experiment.to_toml()).map_err(io(&path))
}

/// Writes `experiment`, restricted to model `name`, as `config.toml` into model folder `dir`.
pub fn write_config(dir: &Path, experiment: &Experiment, name: &str) -> Result<()> {
    let path = dir.join(CONFIG_FILE);
    std::fs::write(&path, experiment.single_model(name).to_toml()).map_err(io(&path))
}

/// The fields in which `experiment`, restricted to model `name`, differs from what model folder
/// `dir` recorded in its `config.toml` (none if it has none yet): what resuming `dir` with
/// `experiment` would change.
pub fn settings_changes(dir: &Path, experiment: &Experiment, name: &str) -> Result<Vec<Difference>> {
    if !dir.join(CONFIG_FILE).is_file() {
        return Ok(Vec::new());
    }
    let (recorded, _) = read_config(dir)?;
    Ok(differences(&recorded, &experiment.single_model(name)))
}

/// Settings that a resume changed, at the checkpoint it resumed from: a line of `changes.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsChange {
    /// Sequences trained before the new settings took over.
    pub sequences: u64,
    /// Each field that changed, with its old and new value.
    pub changes: Vec<Difference>,
}

impl SettingsChange {
    /// `at 3000 sequences: train.lr = 0.0001 -> 0.01`.
    pub fn describe(&self) -> String {
        let fields: Vec<String> = self.changes.iter().map(Difference::to_string).collect();
        format!("at {} sequences: {}", self.sequences, fields.join(", "))
    }
}

/// Appends `change` to model folder `dir`'s `changes.jsonl`.
pub fn append_change(dir: &Path, change: &SettingsChange) -> Result<()> {
    let path = dir.join(CHANGES_FILE);
    let line = serde_json::to_string(change).expect("a settings change serialises");
    let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
    writeln!(file, "{line}").map_err(io(&path))
}

/// The settings changes recorded in model folder `dir` (none without `changes.jsonl`).
pub fn read_changes(dir: &Path) -> Result<Vec<SettingsChange>> {
    let path = dir.join(CHANGES_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&path)(e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| Error::Invalid(format!("{}: line {}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// Drops the settings changes recorded past `sequences` (by a resume from a checkpoint that a
/// later resume went back before).
fn truncate_changes(dir: &Path, sequences: u64) -> Result<()> {
    let kept: Vec<SettingsChange> = read_changes(dir)?.into_iter().filter(|c| c.sequences <= sequences).collect();
    let path = dir.join(CHANGES_FILE);
    if kept.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
            _ => Ok(()),
        };
    }
    let text: String =
        kept.iter().map(|c| serde_json::to_string(c).expect("a settings change serialises") + "\n").collect();
    std::fs::write(&path, text).map_err(io(&path))
}

/// Writes `config.toml` of a training of model `name` of `experiment` in folder `dir` starting
/// at `resumed_at` sequences (`None`: from scratch, when the folder's history is cleared): a
/// resume whose settings differ from the recorded ones appends them to `changes.jsonl`.
pub fn write_config_at(dir: &Path, experiment: &Experiment, name: &str, resumed_at: Option<u64>) -> Result<()> {
    match resumed_at {
        Some(sequences) => {
            truncate_changes(dir, sequences)?;
            let changes = settings_changes(dir, experiment, name)?;
            if !changes.is_empty() {
                append_change(dir, &SettingsChange { sequences, changes })?;
            }
        }
        None => {
            let path = dir.join(CHANGES_FILE);
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(io(&path)(e));
                }
            }
        }
    }
    write_config(dir, experiment, name)
}

/// The experiment (this model only) and the model's name recorded in model folder `dir`:
/// what figures drawn from saved records need, without loading the weights.
pub fn read_config(dir: &Path) -> Result<(Experiment, String)> {
    let path = dir.join(CONFIG_FILE);
    let experiment = Experiment::load(&path, &[])?;
    let name = experiment
        .models
        .keys()
        .next()
        .ok_or_else(|| Error::Invalid(format!("{}: no model in this configuration", path.display())))?
        .clone();
    Ok((experiment, name))
}

/// Whether the model in folder `dir` has memory slots (an NTM or a DNC; the LSTM baseline has
/// none), and its name, from its `config.toml` alone: `--slots` on a run folder leaves the
/// models without memory out.
pub fn has_memory(dir: &Path) -> Result<(bool, String)> {
    let (experiment, name) = read_config(dir)?;
    let memory = experiment.models.get(&name).is_some_and(ModelConfig::has_memory);
    Ok((memory, name))
}

/// The model folders that `path` names: a run folder (every model folder in it, by name), a
/// model folder, or a checkpoint file inside a model folder.
pub fn model_dirs(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        let parent = path.parent().unwrap_or(Path::new("."));
        if parent.join(CONFIG_FILE).is_file() {
            return Ok(vec![parent.to_owned()]);
        }
        return Err(Error::Invalid(format!(
            "{}: a checkpoint must sit in a model folder beside its {CONFIG_FILE}",
            path.display()
        )));
    }
    if path.join(CONFIG_FILE).is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let dirs: Vec<PathBuf> = model_folders(path).map_err(io(path))?.into_iter().map(|(_, dir)| dir).collect();
    if dirs.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no trained model here (expected a run folder, a model folder with {CONFIG_FILE}, or a checkpoint file)",
            path.display()
        )));
    }
    Ok(dirs)
}

/// The model folders in run folder `dir` (those holding a `config.toml`), with their names,
/// sorted by name; none is no error.
pub fn model_folders(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut folders: Vec<(String, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(CONFIG_FILE).is_file())
        .filter_map(|e| Some((e.file_name().to_str()?.to_owned(), e.path())))
        .collect();
    folders.sort();
    Ok(folders)
}

/// The plots folder of the run that holds `path` (a run folder, a model folder or a
/// checkpoint file).
pub fn plots_dir(path: &Path) -> PathBuf {
    let mut dir = if path.is_file() { path.parent().unwrap_or(Path::new(".")) } else { path };
    if dir.join(CONFIG_FILE).is_file() {
        dir = dir.parent().unwrap_or(Path::new("."));
    }
    dir.join(PLOTS_DIR)
}

/// Reads model folder `dir`'s `metrics.jsonl`.
pub fn read_metrics(dir: &Path) -> Result<Vec<MetricsRecord>> {
    let path = dir.join(METRICS_FILE);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| Error::Invalid(format!("{}: line {}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// The metrics file of a model folder, open for appending one record per report interval.
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens `metrics.jsonl` in model folder `dir`: continued after the lines up to `sequences`
    /// (`Some`: a resumed run; the lines written after its checkpoint, before a crash, are
    /// dropped) or started empty (`None`).
    pub fn open(dir: &Path, resume_at: Option<u64>) -> Result<Self> {
        let path = dir.join(METRICS_FILE);
        match resume_at {
            Some(sequences) => truncate_metrics(&path, sequences)?,
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
        Ok(Self { path, file })
    }

    /// Appends `record` as one line.
    pub fn append(&mut self, record: &MetricsRecord) -> Result<()> {
        let line = serde_json::to_string(record).expect("metrics serialise");
        writeln!(self.file, "{line}").map_err(io(&self.path))
    }
}

/// Drops the metrics lines past `sequences` (written after the checkpoint a run resumes from).
fn truncate_metrics(path: &Path, sequences: u64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: String = text
        .lines()
        .filter(|line| serde_json::from_str::<MetricsRecord>(line).is_ok_and(|r| r.sequences <= sequences))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(path, kept).map_err(io(path))
}

/// Writes `report` as `eval.json` into model folder `dir`.
pub fn write_eval(dir: &Path, report: &EvalReport) -> Result<()> {
    let path = dir.join(EVAL_FILE);
    let json = serde_json::to_string_pretty(report).expect("reports serialise");
    std::fs::write(&path, json + "\n").map_err(io(&path))
}

/// Reads model folder `dir`'s `eval.json`.
pub fn read_eval(dir: &Path) -> Result<EvalReport> {
    let path = dir.join(EVAL_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::Invalid(format!("{}: cannot read (write it with `ntm eval --save` or `ntm run`): {e}", path.display()))
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Invalid(format!("{}: not an eval report: {e}", path.display())))
}

/// Writes `failure` as `failure.json` into model folder `dir`; returns its path.
pub fn write_failure(dir: &Path, failure: &Failure) -> std::io::Result<PathBuf> {
    let path = dir.join(FAILURE_FILE);
    let json = serde_json::to_string_pretty(failure).expect("a failure record serialises");
    std::fs::write(&path, json + "\n")?;
    Ok(path)
}

/// Removes a `failure.json` left in model folder `dir` by an earlier attempt.
pub fn clear_failure(dir: &Path) -> Result<()> {
    let path = dir.join(FAILURE_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
        _ => Ok(()),
    }
}

/// A trained model read back from its folder: its experiment (this model only), the model
/// with the checkpoint's weights, and how many sequences it was trained on.
pub struct LoadedModel {
    pub experiment: Experiment,
    pub built: BuiltModel,
    pub trained_sequences: u64,
    pub dir: PathBuf,
    /// The weights file it was loaded from.
    pub weights: PathBuf,
}

/// Loads the model in folder `dir` (which holds `config.toml` and a checkpoint). A model of
/// `kind = "custom"` cannot be rebuilt here: one line says so (your program builds it and
/// loads the folder with `Trainer::with_model` and `Trainer::resume`).
pub fn load_model(dir: &Path) -> Result<LoadedModel> {
    load_model_sized(dir, None)
}

/// Loads the model in folder `dir`; an NTM with `slots` memory slots if given (see
/// [`crate::models::resize`]; the experiment it carries then says `slots`).
pub fn load_model_sized(dir: &Path, slots: Option<usize>) -> Result<LoadedModel> {
    load_model_weights(dir, &checkpoint::path(dir, checkpoint::WEIGHTS_FILE), slots)
}

/// Loads the model of folder `dir` (its `config.toml`) with the weights in file `weights`,
/// with `slots` memory slots if given (see [`crate::models::resize`]).
pub fn load_model_weights(dir: &Path, weights: &Path, slots: Option<usize>) -> Result<LoadedModel> {
    let (mut experiment, name) = read_config(dir)?;
    if let ModelConfig::Custom(_) = &experiment.models[&name] {
        return Err(Error::Invalid(format!(
            "{}: model {name} is kind = \"custom\", a model of your own, which ntm cannot rebuild from its folder; \
             build it in your program, then Trainer::with_model and resume from this folder (examples/custom_model.rs)",
            dir.display()
        )));
    }
    if let Some(slots) = slots {
        let resized =
            crate::models::resize::resize_model(&experiment.models[&name], &name, slots).map_err(Error::Invalid)?;
        experiment.models.insert(name.clone(), resized);
    }
    let built = BuiltModel::new(&name, &experiment.models[&name], experiment.seed, experiment.task.build().as_ref())
        .map_err(crate::error::tensor(&name))?;
    let tensors = checkpoint::read_tensors(weights)?;
    let tensors = match slots {
        Some(slots) => crate::models::resize::resize_tensors(tensors, slots).map_err(crate::error::tensor(&name))?,
        None => tensors,
    };
    checkpoint::set_weights(weights, tensors, &built.varmap)?;
    let trained_sequences = checkpoint::load_meta(dir).map(|m| m.sequences).unwrap_or(0);
    Ok(LoadedModel { experiment, built, trained_sequences, dir: dir.to_owned(), weights: weights.to_owned() })
}

/// Loads the model(s) that `path` names (see [`model_dirs`]); a checkpoint file is loaded
/// itself, not the folder's usual one. With `slots`, every model is an NTM run with that many
/// memory slots ([`crate::models::resize`]).
pub fn load_path(path: &Path, slots: Option<usize>) -> Result<Vec<Result<LoadedModel>>> {
    let dirs = model_dirs(path)?;
    Ok(dirs
        .iter()
        .map(|dir| match path.is_file() {
            true => load_model_weights(dir, path, slots),
            false => load_model_sized(dir, slots),
        })
        .collect())
}
