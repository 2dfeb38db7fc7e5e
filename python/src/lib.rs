//! The extension module `ntm._ntm` of the Python package `ntm`: the library's face for
//! Python, one file per concern, nothing computed here that the library computes.
//!
//! | file | Python |
//! | --- | --- |
//! | `experiment.rs` | `Experiment`: a TOML file, a string or a dict, with `--set` overrides |
//! | `task.rs` | `Task` and `Batch`: the built-in tasks' batches as numpy arrays; a task written in Python |
//! | `trainer.rs` | `Trainer` and `Step`: `step`, `fit` into a model folder (the GIL released, Ctrl-C saves), `save` |
//! | `model.rs` | `Model`, `load_model`, `load_run`, `evaluate`: logits, traces, evaluation |
//! | `figures.rs` | the figures of a run folder, by function (`ntm.figures`) |
//! | `threads.rs` | `set_threads`: the threads a model's kernels may use |
//! | `errors.rs` | `ntm::Error` as Python exceptions of the fitting class; `DivergedError` |
//! | `convert.rs` | numpy arrays, dicts and TOML values |
//!
//! Every call that computes releases the GIL (`Python::detach`).

mod convert;
mod errors;
mod experiment;
mod figures;
mod model;
mod task;
mod threads;
mod trainer;

use pyo3::prelude::*;

/// As in the `ntm` binary: training allocates and frees many small buffers (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Neural Turing Machines in Rust, from Python: experiments, tasks, training into the run
/// folders the `ntm` command writes, trained models, traces, evaluation and figures.
#[pymodule]
fn _ntm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // As the binary does at its start: candle single-threaded unless RAYON_NUM_THREADS is set.
    ntm::base::pool::prefer_one_thread();
    // And, as it does, mimalloc keeps freed memory (see ntm's src/base/allocator.rs).
    ntm::base::allocator::keep_freed_memory();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DivergedError", m.py().get_type::<errors::DivergedError>())?;
    m.add_class::<experiment::Experiment>()?;
    m.add_class::<task::Task>()?;
    m.add_class::<task::Batch>()?;
    m.add_class::<trainer::Trainer>()?;
    m.add_class::<trainer::Step>()?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(model::load_model, m)?)?;
    m.add_function(wrap_pyfunction!(model::load_run, m)?)?;
    m.add_function(wrap_pyfunction!(model::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(threads::set_threads, m)?)?;
    figures::register(m)?;
    Ok(())
}
