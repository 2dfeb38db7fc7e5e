//! Values between Python and Rust: numpy arrays of floats, JSON-like reports (as `eval.json`
//! holds them) and TOML tables (experiments as dicts).

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors::value_error;

/// A numpy array of float32 with `shape`, owning `data` (row-major).
pub fn array<'py>(py: Python<'py>, data: Vec<f32>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    let array = ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| value_error(e.to_string()))?;
    Ok(array.into_pyarray(py).into_any())
}

/// The values (row-major, as float32) and shape of `object`, a numpy array of float32 or
/// float64; otherwise a `ValueError` naming `what`.
pub fn floats(object: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<f32>, Vec<usize>)> {
    if let Ok(a) = object.cast::<PyArrayDyn<f32>>() {
        let a = a.readonly();
        let view = a.as_array();
        return Ok((view.iter().copied().collect(), view.shape().to_vec()));
    }
    if let Ok(a) = object.cast::<PyArrayDyn<f64>>() {
        let a = a.readonly();
        let view = a.as_array();
        return Ok((view.iter().map(|&v| v as f32).collect(), view.shape().to_vec()));
    }
    let found = match object.cast::<numpy::PyUntypedArray>() {
        Ok(a) => format!("a numpy array of {}", a.dtype()),
        Err(_) => format!("a {}", object.get_type().name()?),
    };
    Err(value_error(format!("{what}: expected a numpy array of float32 (or float64), got {found}")))
}

/// A JSON value (a report, as its file holds it) as Python: dicts, lists, ints, floats,
/// strings, booleans and None.
pub fn json_to_py<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, Some(i)) => i.into_pyobject(py)?.into_any(),
            _ => PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            PyList::new(py, items.iter().map(|v| json_to_py(py, v)).collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Anything serde serialises (a report) as Python, through its JSON form.
pub fn to_py<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| value_error(e.to_string()))?;
    json_to_py(py, &json)
}

/// A TOML value as Python (tables as dicts, datetimes as strings).
pub fn toml_to_py<'py>(py: Python<'py>, value: &toml::Value) -> PyResult<Bound<'py, PyAny>> {
    use toml::Value;
    Ok(match value {
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Integer(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Datetime(d) => PyString::new(py, &d.to_string()).into_any(),
        Value::Array(items) => {
            PyList::new(py, items.iter().map(|v| toml_to_py(py, v)).collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        Value::Table(table) => {
            let dict = PyDict::new(py);
            for (k, v) in table {
                dict.set_item(k, toml_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python value (dicts with string keys, lists, tuples, strings, ints, floats, booleans) as
/// TOML; `at` is its dotted key, for errors.
pub fn py_to_toml(object: &Bound<'_, PyAny>, at: &str) -> PyResult<toml::Value> {
    use toml::Value;
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(Value::Boolean(b.is_true()));
    }
    if object.is_instance_of::<PyInt>() {
        let i: i64 = object.extract().map_err(|_| value_error(format!("{at}: {object} does not fit in 64 bits")))?;
        return Ok(Value::Integer(i));
    }
    if let Ok(f) = object.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = object.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let mut table = toml::map::Map::new();
        for (k, v) in dict.iter() {
            let key: String = k.extract().map_err(|_| value_error(format!("{at}: key {k} is not a string")))?;
            let here = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
            table.insert(key, py_to_toml(&v, &here)?);
        }
        return Ok(Value::Table(table));
    }
    if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
        let items = object.try_iter()?.enumerate().map(|(i, v)| py_to_toml(&v?, &format!("{at}[{i}]")));
        return Ok(Value::Array(items.collect::<PyResult<_>>()?));
    }
    let what = object.get_type().name()?;
    Err(value_error(format!("{at}: a {what} is not a TOML value (use dicts, lists, strings, numbers and booleans)")))
}
