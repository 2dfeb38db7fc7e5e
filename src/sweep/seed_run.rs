//! The one place a sweep reads (and evaluates) the run folders its jobs wrote: a seed's model
//! folder is an ordinary `ntm train` model folder, read through the trainer's, evaluator's and
//! checkpoint's own readers.

use std::path::{Path, PathBuf};

use super::summary::{SeedData, Status};
use crate::config::Experiment;
use crate::measure::eval::evaluate_loaded;
use crate::records::checkpoint;
use crate::records::lock::{self, FolderLock};
use crate::records::report::EvalReport;
use crate::records::run_dir::{
    self, load_model, read_metrics, write_eval, CONFIG_FILE, EVAL_FILE, FAILURE_FILE, METRICS_FILE,
};
use crate::train::Trainer;

/// A run folder that cannot be read or used, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SeedRunError {
    pub path: PathBuf,
    pub message: String,
}

impl From<SeedRunError> for crate::Error {
    fn from(e: SeedRunError) -> Self {
        crate::Error::Invalid(e.to_string())
    }
}

fn fail(path: &Path, message: impl ToString) -> SeedRunError {
    SeedRunError { path: path.to_owned(), message: message.to_string() }
}

/// What a job's model folder holds before the sweep starts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderState {
    /// Absent or empty.
    Empty,
    /// Files, but no checkpoint (killed before its first one).
    NoCheckpoint,
    /// A checkpoint at `sequences`; `evaluated` if eval.json is there, `failed` if failure.json.
    Checkpoint { sequences: u64, evaluated: bool, failed: bool },
}

/// The state of model folder `dir`.
pub fn folder_state(dir: &Path) -> Result<FolderState, SeedRunError> {
    // A lock file alone (left by a process killed before it wrote anything) is nothing.
    if lock::is_empty(dir).map_err(|e| fail(dir, e))? {
        return Ok(FolderState::Empty);
    }
    if !checkpoint::exists(dir) {
        return Ok(FolderState::NoCheckpoint);
    }
    let meta = checkpoint::load_meta(dir).map_err(|e| fail(dir, e))?;
    Ok(FolderState::Checkpoint {
        sequences: meta.sequences,
        evaluated: dir.join(EVAL_FILE).is_file(),
        failed: dir.join(FAILURE_FILE).is_file(),
    })
}

/// Checks that model `model` of `experiment` can resume from the checkpoint in `dir`,
/// reading everything and writing nothing.
pub fn check_resume(experiment: &Experiment, model: &str, dir: &Path) -> Result<u64, SeedRunError> {
    let cannot = |e: crate::Error| fail(dir, format!("cannot resume: {e}"));
    let mut trainer = Trainer::new(experiment, model).map_err(cannot)?;
    trainer.resume(dir).map_err(cannot)?;
    Ok(trainer.sequences())
}

/// One seed's run of one model, as read from its folder.
#[derive(Debug, Clone)]
pub struct SeedRun {
    pub model: String,
    pub dir: PathBuf,
    /// Its `config.toml`: the experiment with this seed, this model only.
    pub experiment: Experiment,
    pub data: SeedData,
}

/// The experiment recorded in model folder `dir` (its `config.toml`, read by
/// [`crate::records::run_dir::read_config`]).
fn read_config(dir: &Path) -> Result<Experiment, SeedRunError> {
    let path = dir.join(CONFIG_FILE);
    run_dir::read_config(dir)
        .map(|(experiment, _)| experiment)
        .map_err(|e| fail(&path, e.to_string().trim_start_matches(&format!("{}: ", path.display()))))
}

/// Reads the run of seed `seed` in model folder `dir`: its experiment, metrics, eval.json and
/// how far it got (finished at `train.sequences`, diverged with a failure.json, or neither).
pub fn read_seed_run(seed: u64, dir: &Path) -> Result<SeedRun, SeedRunError> {
    let experiment = read_config(dir)?;
    let model = experiment.models.keys().next().cloned().ok_or_else(|| fail(dir, "no model in config.toml"))?;
    let metrics = match dir.join(METRICS_FILE).is_file() {
        true => read_metrics(dir).map_err(|e| fail(dir, e))?,
        false => Vec::new(),
    };
    let eval_path = dir.join(EVAL_FILE);
    let eval = match eval_path.is_file() {
        true => {
            let text = std::fs::read_to_string(&eval_path).map_err(|e| fail(&eval_path, e))?;
            let report: EvalReport =
                serde_json::from_str(&text).map_err(|e| fail(&eval_path, format!("not an eval report: {e}")))?;
            Some(report.results)
        }
        false => None,
    };
    let target = experiment.train.for_model(&model).sequences;
    let trained = checkpoint::exists(dir).then(|| checkpoint::load_meta(dir).map(|m| m.sequences)).transpose();
    let trained = trained.map_err(|e| fail(dir, e))?.unwrap_or(0);
    let status = if dir.join(FAILURE_FILE).is_file() {
        Status::Diverged
    } else if trained >= target {
        Status::Finished
    } else {
        Status::Unfinished
    };
    Ok(SeedRun { model, dir: dir.to_owned(), experiment, data: SeedData { seed, status, metrics, eval } })
}

/// Evaluates the trained model in folder `dir` on its experiment's `[eval]` lengths and
/// writes its `eval.json`, as `ntm eval DIR --save` does.
pub fn evaluate(dir: &Path) -> Result<EvalReport, SeedRunError> {
    // Not while another process writes the folder (a job still training it).
    let _lock = FolderLock::acquire(dir, "ntm (evaluating for a sweep's summary)")
        .map_err(|e| fail(dir, e.to_string().trim_start_matches(&format!("{}: ", dir.display()))))?;
    let loaded = load_model(dir).map_err(|e| fail(dir, e))?;
    let eval = &loaded.experiment.eval;
    let report = evaluate_loaded(&loaded, eval).map_err(|e| fail(dir, e))?;
    write_eval(dir, &report).map_err(|e| fail(dir, e))?;
    Ok(report)
}
