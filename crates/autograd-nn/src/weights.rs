//! Weights files in the safetensors format (through the `safetensors`
//! crate), so that a model trained here opens in PyTorch, candle or burn, and
//! their files open here. Reading never panics: a truncated, corrupted or
//! mismatched file is a [`WeightsError`].

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use autograd_core::{Real, Tensor};
use indexmap::IndexMap;
use safetensors::tensor::{Dtype, SafeTensors, View};

/// Why weights could not be written or read.
///
/// ```
/// let e = autograd_nn::from_safetensors_bytes::<f32>(b"not a file").unwrap_err();
/// assert!(e.to_string().starts_with("not a valid safetensors file"));
/// ```
#[derive(Debug)]
pub enum WeightsError {
    /// Reading or writing the file failed.
    Io(std::io::Error),
    /// The bytes are not a well-formed safetensors file.
    Format(String),
    /// A tensor has an element type this crate does not read.
    Dtype {
        /// The tensor's name.
        name: String,
        /// Its type in the file.
        dtype: String,
    },
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsError::Io(e) => write!(f, "weights file: {e}"),
            WeightsError::Format(m) => write!(f, "not a valid safetensors file: {m}"),
            WeightsError::Dtype { name, dtype } => write!(
                f,
                "tensor {name} has element type {dtype}; only F32 and F64 can be read"
            ),
        }
    }
}

impl std::error::Error for WeightsError {}

/// A tensor's little-endian bytes, as `safetensors` serialises them.
struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn to_bytes<T: Real>(t: &Tensor<T>) -> Bytes {
    let (dtype, data) = if T::NAME == "f32" {
        (
            Dtype::F32,
            t.data()
                .iter()
                .flat_map(|x| (x.to_f64() as f32).to_le_bytes())
                .collect(),
        )
    } else {
        (
            Dtype::F64,
            t.data()
                .iter()
                .flat_map(|x| x.to_f64().to_le_bytes())
                .collect(),
        )
    };
    Bytes {
        dtype,
        shape: t.shape().to_vec(),
        data,
    }
}

/// Serialises named tensors (a state dict) to safetensors bytes, in the
/// tensors' own element type (F32 or F64).
///
/// ```
/// use autograd_core::Tensor;
/// let mut state = indexmap::IndexMap::new();
/// state.insert("w".to_string(), Tensor::from_vec(vec![1.0_f32, 2.0], &[2]));
/// let bytes = autograd_nn::to_safetensors_bytes(&state).unwrap();
/// let back = autograd_nn::from_safetensors_bytes::<f32>(&bytes).unwrap();
/// assert_eq!(back["w"].to_vec(), vec![1.0, 2.0]);
/// ```
pub fn to_safetensors_bytes<T: Real>(
    state: &IndexMap<String, Tensor<T>>,
) -> Result<Vec<u8>, WeightsError> {
    to_safetensors_bytes_with(state, None)
}

/// [`to_safetensors_bytes`] with a metadata map in the header.
pub(crate) fn to_safetensors_bytes_with<T: Real>(
    state: &IndexMap<String, Tensor<T>>,
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>, WeightsError> {
    let bytes: Vec<(String, Bytes)> = state
        .iter()
        .map(|(k, t)| (k.clone(), to_bytes(t)))
        .collect();
    safetensors::serialize(bytes.iter().map(|(k, b)| (k.as_str(), b)), metadata)
        .map_err(|e| WeightsError::Format(e.to_string()))
}

/// Writes named tensors to a safetensors file.
///
/// ```
/// use autograd_core::Tensor;
/// let mut state = indexmap::IndexMap::new();
/// state.insert("b".to_string(), Tensor::<f64>::ones(&[3]));
/// let path = std::env::temp_dir().join("autograd_doc_save.safetensors");
/// autograd_nn::save_safetensors(&state, &path).unwrap();
/// assert_eq!(autograd_nn::load_safetensors::<f64>(&path).unwrap()["b"].to_vec(), vec![1.0; 3]);
/// ```
pub fn save_safetensors<T: Real>(
    state: &IndexMap<String, Tensor<T>>,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    let bytes = to_safetensors_bytes(state)?;
    std::fs::write(path, bytes).map_err(WeightsError::Io)
}

/// Reads named tensors from safetensors bytes, converting F32 or F64
/// elements to `T`, in the file's order.
///
/// ```
/// let e = autograd_nn::from_safetensors_bytes::<f32>(&[8, 0, 0, 0, 0, 0, 0, 0, b'{']).unwrap_err();
/// assert!(matches!(e, autograd_nn::WeightsError::Format(_)));
/// ```
pub fn from_safetensors_bytes<T: Real>(
    bytes: &[u8],
) -> Result<IndexMap<String, Tensor<T>>, WeightsError> {
    Ok(from_safetensors_bytes_with(bytes)?.0)
}

/// The header's metadata map.
type Metadata = Option<std::collections::HashMap<String, String>>;

/// [`from_safetensors_bytes`], with the header's metadata map.
pub(crate) fn from_safetensors_bytes_with<T: Real>(
    bytes: &[u8],
) -> Result<(IndexMap<String, Tensor<T>>, Metadata), WeightsError> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    let metadata = header.metadata().clone();
    let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    let mut views = file.tensors();
    // The header is a JSON map; the data offsets give the file's own order.
    views.sort_by_key(|(_, v)| v.data().as_ptr() as usize);
    let mut out = IndexMap::new();
    for (name, view) in views {
        let raw = view.data();
        let values: Vec<T> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| T::from_f64(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64))
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|c| {
                    T::from_f64(f64::from_le_bytes([
                        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                    ]))
                })
                .collect(),
            other => {
                return Err(WeightsError::Dtype {
                    name,
                    dtype: format!("{other:?}"),
                });
            }
        };
        let shape = view.shape().to_vec();
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if numel != Some(values.len()) {
            return Err(WeightsError::Format(format!(
                "tensor {name}: shape {shape:?} does not match its {} values",
                values.len()
            )));
        }
        out.insert(name, Tensor::from_vec(values, &shape));
    }
    Ok((out, metadata))
}

/// Reads named tensors from a safetensors file (see
/// [`from_safetensors_bytes`]).
///
/// ```
/// let e = autograd_nn::load_safetensors::<f32>("no/such.safetensors").unwrap_err();
/// assert!(matches!(e, autograd_nn::WeightsError::Io(_)));
/// ```
pub fn load_safetensors<T: Real>(
    path: impl AsRef<Path>,
) -> Result<IndexMap<String, Tensor<T>>, WeightsError> {
    let bytes = std::fs::read(path).map_err(WeightsError::Io)?;
    from_safetensors_bytes(&bytes)
}
