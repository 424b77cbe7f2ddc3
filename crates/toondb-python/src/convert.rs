//! Conversions between Python objects and engine values: keys/values, SQL parameters and
//! results, JSON metadata, float vectors (any buffer or sequence of numbers).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use pyo3::IntoPyObjectExt;
use serde_json::{Map, Number, Value as Json};
use toondb::Value;

use crate::errors::invalid;

/// Deepest JSON nesting converted either way.
const MAX_JSON_DEPTH: usize = 64;

/// A key or value: `bytes`, `bytearray`, `memoryview` or `str` (UTF-8 encoded).
pub(crate) fn bytes_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if let Ok(b) = obj.downcast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if obj.hasattr("tobytes")? && obj.get_type().name()?.to_cow()? == "memoryview" {
        let b = obj.call_method0("tobytes")?;
        return Ok(b.downcast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "expected bytes or str, got {}",
        obj.get_type().name()?
    )))
}

/// A SQL parameter.
pub(crate) fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.downcast::<PyBool>() {
        Ok(Value::Integer(i64::from(b.is_true())))
    } else if obj.is_instance_of::<PyInt>() {
        let v: i64 = obj
            .extract()
            .map_err(|_| PyValueError::new_err("integer parameter out of the 64-bit range"))?;
        Ok(Value::Integer(v))
    } else if obj.is_instance_of::<PyFloat>() {
        Ok(Value::Real(obj.extract()?))
    } else if let Ok(s) = obj.downcast::<PyString>() {
        Ok(Value::Text(s.to_cow()?.into_owned()))
    } else if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() {
        Ok(Value::Blob(bytes_arg(obj)?))
    } else {
        Err(PyTypeError::new_err(format!(
            "unsupported SQL parameter type {}",
            obj.get_type().name()?
        )))
    }
}

/// SQL parameters: `None` or a sequence (tuple or list).
pub(crate) fn params(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Value>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    if obj.is_none() {
        return Ok(Vec::new());
    }
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "params must be a sequence (tuple or list), not str/bytes",
        ));
    }
    if let Ok(t) = obj.downcast::<PyTuple>() {
        return t.iter().map(|v| to_value(&v)).collect();
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        return l.iter().map(|v| to_value(&v)).collect();
    }
    if obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(
            "named parameters are not supported; pass a tuple or list",
        ));
    }
    obj.try_iter()
        .map_err(|_| PyTypeError::new_err("params must be a sequence"))?
        .map(|v| to_value(&v?))
        .collect()
}

/// A SQL result value.
pub(crate) fn from_value(py: Python<'_>, v: &Value) -> PyResult<PyObject> {
    match v {
        Value::Null => Ok(py.None()),
        Value::Integer(i) => i.into_py_any(py),
        Value::Real(f) => f.into_py_any(py),
        Value::Text(s) => s.into_py_any(py),
        Value::Blob(b) => PyBytes::new(py, b).into_py_any(py),
    }
}

/// Python object (dict/list/str/number/bool/None) to JSON.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>) -> PyResult<Json> {
    to_json_at(obj, 0)
}

fn to_json_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Json> {
    if depth > MAX_JSON_DEPTH {
        return Err(invalid(format!("JSON nested deeper than {MAX_JSON_DEPTH}")));
    }
    if obj.is_none() {
        Ok(Json::Null)
    } else if let Ok(b) = obj.downcast::<PyBool>() {
        Ok(Json::Bool(b.is_true()))
    } else if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            Ok(Json::from(i))
        } else if let Ok(u) = obj.extract::<u64>() {
            Ok(Json::from(u))
        } else {
            Err(invalid("integer out of the 64-bit range"))
        }
    } else if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| invalid("NaN and infinity are not valid JSON numbers"))
    } else if let Ok(s) = obj.downcast::<PyString>() {
        Ok(Json::String(s.to_cow()?.into_owned()))
    } else if let Ok(d) = obj.downcast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let k = k
                .downcast::<PyString>()
                .map_err(|_| PyTypeError::new_err("JSON object keys must be str"))?
                .to_cow()?
                .into_owned();
            m.insert(k, to_json_at(&v, depth + 1)?);
        }
        Ok(Json::Object(m))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for v in obj.try_iter()? {
            out.push(to_json_at(&v?, depth + 1)?);
        }
        Ok(Json::Array(out))
    } else {
        Err(PyTypeError::new_err(format!(
            "cannot convert {} to JSON",
            obj.get_type().name()?
        )))
    }
}

/// JSON to a Python object.
pub(crate) fn from_json(py: Python<'_>, v: &Json) -> PyResult<PyObject> {
    match v {
        Json::Null => Ok(py.None()),
        Json::Bool(b) => b.into_py_any(py),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_py_any(py)
            } else if let Some(u) = n.as_u64() {
                u.into_py_any(py)
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_py_any(py)
            }
        }
        Json::String(s) => s.into_py_any(py),
        Json::Array(a) => {
            let items = a
                .iter()
                .map(|x| from_json(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_py_any(py)
        }
        Json::Object(m) => from_map(py, m),
    }
}

/// A JSON object to a `dict`.
pub(crate) fn from_map(py: Python<'_>, m: &Map<String, Json>) -> PyResult<PyObject> {
    let d = PyDict::new(py);
    for (k, v) in m {
        d.set_item(k, from_json(py, v)?)?;
    }
    d.into_py_any(py)
}

/// Metadata argument: `None` or a dict.
pub(crate) fn metadata(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Json> {
    match obj {
        None => Ok(Json::Null),
        Some(o) if o.is_none() => Ok(Json::Null),
        Some(o) if o.is_instance_of::<PyDict>() => to_json(o),
        Some(o) => Err(PyTypeError::new_err(format!(
            "metadata must be a dict, got {}",
            o.get_type().name()?
        ))),
    }
}

/// A float vector from any object exporting the buffer protocol with a float or integer
/// format (numpy arrays, `array.array`, memoryviews) or from any sequence of numbers.
pub(crate) fn vector(obj: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
    {
        return Err(PyTypeError::new_err(
            "a vector must be a sequence or buffer of numbers, not str/bytes",
        ));
    }
    let py = obj.py();
    if !(obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
        // Buffer protocol through `memoryview` (works under the abi3 limited API).
        if let Ok(mv) = py.import("builtins")?.getattr("memoryview")?.call1((obj,)) {
            if let Some(v) = from_memoryview(&mv)? {
                return Ok(v);
            }
        }
    }
    let mut out = Vec::new();
    let it = obj
        .try_iter()
        .map_err(|_| PyTypeError::new_err("a vector must be a sequence or buffer of numbers"))?;
    for x in it {
        let x = x?;
        if x.is_instance_of::<PyString>() || x.is_none() {
            return Err(PyTypeError::new_err("vector elements must be numbers"));
        }
        let f: f64 = x
            .extract()
            .map_err(|_| PyTypeError::new_err("vector elements must be numbers"))?;
        out.push(f as f32);
    }
    Ok(out)
}

/// Decodes a 1-D float memoryview; `None` for other formats (the caller then iterates).
fn from_memoryview(mv: &Bound<'_, PyAny>) -> PyResult<Option<Vec<f32>>> {
    let ndim: usize = mv.getattr("ndim")?.extract()?;
    if ndim != 1 {
        return Err(invalid(format!(
            "a vector must be 1-dimensional, got {ndim} dimensions"
        )));
    }
    let fmt: String = mv.getattr("format")?.extract()?;
    let (big, code) = match fmt.as_bytes() {
        [b'>' | b'!', c] => (true, *c),
        [b'<' | b'=' | b'@', c] | [c] => (cfg!(target_endian = "big") && !fmt.starts_with('<'), *c),
        _ => return Ok(None),
    };
    let width = match code {
        b'f' => 4,
        b'd' => 8,
        _ => return Ok(None),
    };
    let raw = mv.call_method0("tobytes")?;
    let raw = raw.downcast::<PyBytes>()?.as_bytes();
    let mut out = Vec::with_capacity(raw.len() / width);
    for c in raw.chunks_exact(width) {
        out.push(match (width, big) {
            (4, false) => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            (4, true) => f32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            (_, false) => {
                f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
            }
            (_, true) => {
                f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
            }
        });
    }
    Ok(Some(out))
}
