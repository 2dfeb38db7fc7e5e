//! `ntm.figures`: the figures of the `ntm plot` commands, by function (each the library's
//! `ntm::figures` function of the same name). Each returns the file it wrote; by default
//! under the run folder's plots/, as `ntm plot` writes them.

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::errors::OrPy;

/// Where the NTMs at `path` (a run folder, a model folder or a checkpoint file) write and read
/// over one episode (the paper's figure 6), one PNG per NTM with its trace as JSON beside it,
/// as `ntm plot heads` draws them: the episode of `length` (default: the longest training
/// length), `repeats` (repeat copy) and `seed`; `slots`: the NTMs run with that many memory
/// slots; `output`: the file (the model's name added to it for several NTMs). A trace that
/// would exceed the command's default limit (`ntm plot heads --trace-limit`) is refused first.
#[pyfunction]
#[pyo3(signature = (path, length = None, *, repeats = None, slots = None, seed = 0, output = None))]
fn heads(
    py: Python<'_>,
    path: PathBuf,
    length: Option<usize>,
    repeats: Option<usize>,
    slots: Option<usize>,
    seed: u64,
    output: Option<PathBuf>,
) -> PyResult<Vec<PathBuf>> {
    py.detach(|| {
        ntm::figures::heads(&path, (length, repeats), slots, seed, (output.as_deref(), Some(ntm::figures::TRACE_LIMIT)))
    })
    .or_py()
}

/// The learning curves of every model in run folder `run` (`ntm plot curves`).
#[pyfunction]
#[pyo3(signature = (run, output = None))]
fn curves(py: Python<'_>, run: PathBuf, output: Option<PathBuf>) -> PyResult<PathBuf> {
    py.detach(|| ntm::figures::curves(&run, output.as_deref())).or_py()
}

/// Bit errors and loss against test length of every model in run folder `run`, from their
/// eval.json (`ntm plot generalisation`; repeat copy with repeat counts: the grid).
#[pyfunction]
#[pyo3(signature = (run, output = None))]
fn generalisation(py: Python<'_>, run: PathBuf, output: Option<PathBuf>) -> PyResult<PathBuf> {
    py.detach(|| ntm::figures::generalisation(&run, output.as_deref())).or_py()
}

/// Target above output of every model in `run` at each of `lengths` (default: the
/// experiment's eval.lengths) or, for repeat copy, each (length, repeats) of `cells`
/// (`ntm plot outputs`); `slots`: the NTMs run with that many memory slots, the models without
/// memory left out with a warning.
#[pyfunction]
#[pyo3(signature = (run, lengths = None, *, cells = None, slots = None, seed = 0, output = None))]
fn outputs(
    py: Python<'_>,
    run: PathBuf,
    lengths: Option<Vec<usize>>,
    cells: Option<Vec<(usize, usize)>>,
    slots: Option<usize>,
    seed: u64,
    output: Option<PathBuf>,
) -> PyResult<PathBuf> {
    let episodes = (lengths.as_deref(), cells.as_deref());
    let (file, left_out) =
        py.detach(|| ntm::figures::outputs(&run, episodes, slots, seed, output.as_deref())).or_py()?;
    for name in left_out {
        let note = format!("slots={}: model {name} has no memory slots; left out", slots.unwrap_or(0));
        PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &std::ffi::CString::new(note)?, 1)?;
    }
    Ok(file)
}

/// Time per sequence-step and peak memory of `ntm bench --json` outputs (`files`) against
/// the memory size (`ntm plot bench`).
#[pyfunction]
#[pyo3(name = "bench", signature = (files, output = None))]
fn bench_figure(py: Python<'_>, files: Vec<PathBuf>, output: Option<PathBuf>) -> PyResult<PathBuf> {
    py.detach(|| ntm::figures::bench(&files, output.as_deref())).or_py()
}

/// Adds the submodule `figures` to the extension module `m`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let figures = PyModule::new(m.py(), "figures")?;
    figures.add_function(wrap_pyfunction!(heads, &figures)?)?;
    figures.add_function(wrap_pyfunction!(curves, &figures)?)?;
    figures.add_function(wrap_pyfunction!(generalisation, &figures)?)?;
    figures.add_function(wrap_pyfunction!(outputs, &figures)?)?;
    figures.add_function(wrap_pyfunction!(bench_figure, &figures)?)?;
    m.add_submodule(&figures)
}
