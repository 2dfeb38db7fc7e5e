//! `set_threads`: the threads a model's fused kernels may use in this process.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The most threads `set_threads` takes (as `--threads` of the `ntm` command).
const MAX_THREADS: usize = 256;

/// Sets the threads each training's fused kernels use from now on (1 to 256), as `--threads`
/// does for the `ntm` command: exactly that many for a trainer alone. By default a trainer
/// uses every core; set 1 to run several trainers side by side in threads without
/// oversubscribing the cores. The results are the same bits at any number.
#[pyfunction]
pub fn set_threads(threads: usize) -> PyResult<()> {
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(PyValueError::new_err(format!(
            "set_threads({threads}): must be 1 to {MAX_THREADS} (threads one model's kernels may use)"
        )));
    }
    ntm::base::pool::limit_threads(threads);
    Ok(())
}
