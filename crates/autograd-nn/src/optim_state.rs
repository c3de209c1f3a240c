//! An optimizer's state as data: what `Optimizer::state_dict` returns and
//! `load_state_dict` takes, and its safetensors form on disk.

use autograd_core::{Real, Tensor};
use indexmap::IndexMap;

use crate::module::LoadError;
use crate::weights::WeightsError;

/// The buffer kinds an optimizer state may hold.
const BUFFERS: [&str; 4] = ["momentum_buffer", "exp_avg", "exp_avg_sq", "square_avg"];

/// An optimizer's state (see [`Optimizer::state_dict`](crate::Optimizer::state_dict)): its kind, its
/// numbers (hyperparameters and the step count) and its per-parameter
/// buffers, named as PyTorch names them (`exp_avg.<param>`,
/// `exp_avg_sq.<param>`, `momentum_buffer.<param>`, `square_avg.<param>`).
///
/// ```
/// use autograd_nn::{Adam, Optimizer};
/// let opt = Adam::<f32>::new(1e-3);
/// let state = opt.state_dict();
/// assert_eq!(state.kind, "adam");
/// assert_eq!(state.scalars["lr"], 1e-3);
/// let back = autograd_nn::OptimizerState::from_bytes(&state.to_bytes().unwrap()).unwrap();
/// assert_eq!(back, state);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T: Real = f32> {
    /// `sgd`, `adam`, `adamw` or `rmsprop`.
    pub kind: String,
    /// Hyperparameters and counters by name.
    pub scalars: IndexMap<String, f64>,
    /// Per-parameter buffers by name.
    pub tensors: IndexMap<String, Tensor<T>>,
}

impl<T: Real> OptimizerState<T> {
    /// The state as a safetensors file's bytes: the buffers as tensors, the
    /// kind and numbers in its metadata (numbers printed so they read back
    /// exactly).
    ///
    /// ```
    /// let state = autograd_nn::Optimizer::<f64>::state_dict(&autograd_nn::Sgd::new(0.1));
    /// assert!(state.to_bytes().unwrap().len() > 8);
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, WeightsError> {
        let mut meta = std::collections::HashMap::new();
        meta.insert("kind".to_string(), self.kind.clone());
        for (k, v) in &self.scalars {
            meta.insert(format!("scalar.{k}"), format!("{v:?}"));
        }
        // The order of the numbers, which a JSON map would not keep.
        let order: Vec<&str> = self.scalars.keys().map(String::as_str).collect();
        meta.insert("scalars".to_string(), order.join(","));
        crate::weights::to_safetensors_bytes_with(&self.tensors, Some(meta))
    }

    /// Reads [`OptimizerState::to_bytes`]'s output; a malformed file or a
    /// missing or unreadable number is an error naming it.
    ///
    /// ```
    /// assert!(autograd_nn::OptimizerState::<f32>::from_bytes(b"not a file").is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        let (tensors, meta) = crate::weights::from_safetensors_bytes_with(bytes)?;
        let missing = |what: &str| {
            WeightsError::Format(format!("optimizer state: no {what} in the metadata"))
        };
        let meta = meta.ok_or_else(|| {
            WeightsError::Format(
                "optimizer state: the file has no metadata (a weights file, not an optimizer's?)"
                    .to_string(),
            )
        })?;
        let kind = meta.get("kind").ok_or_else(|| missing("kind"))?.clone();
        let mut scalars = IndexMap::new();
        let order = meta.get("scalars").ok_or_else(|| missing("scalars"))?;
        for k in order.split(',').filter(|k| !k.is_empty()) {
            let text = meta
                .get(&format!("scalar.{k}"))
                .ok_or_else(|| missing(&format!("scalar.{k}")))?;
            let v: f64 = text.parse().map_err(|_| {
                WeightsError::Format(format!(
                    "optimizer state: scalar.{k} = {text:?} is not a number"
                ))
            })?;
            scalars.insert(k.to_string(), v);
        }
        Ok(OptimizerState {
            kind,
            scalars,
            tensors,
        })
    }

    /// Writes [`OptimizerState::to_bytes`] to `path`.
    ///
    /// ```no_run
    /// let state = autograd_nn::Optimizer::<f32>::state_dict(&autograd_nn::Adam::new(1e-3));
    /// state.save("target/optimizer.safetensors").unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), WeightsError> {
        std::fs::write(path, self.to_bytes()?).map_err(WeightsError::Io)
    }

    /// Reads a file written by [`OptimizerState::save`].
    ///
    /// ```no_run
    /// let state = autograd_nn::OptimizerState::<f32>::load("target/optimizer.safetensors").unwrap();
    /// ```
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self, WeightsError> {
        Self::from_bytes(&std::fs::read(path).map_err(WeightsError::Io)?)
    }

    pub(crate) fn new(kind: &str, scalars: &[(&str, f64)]) -> Self {
        OptimizerState {
            kind: kind.to_string(),
            scalars: scalars.iter().map(|&(k, v)| (k.to_string(), v)).collect(),
            tensors: IndexMap::new(),
        }
    }

    /// Adds each buffer of `map` as `<prefix>.<param>`.
    pub(crate) fn with_buffers(mut self, prefix: &str, map: &IndexMap<String, Vec<T>>) -> Self {
        for (name, v) in map {
            self.tensors.insert(
                format!("{prefix}.{name}"),
                Tensor::from_vec(v.clone(), &[v.len()]),
            );
        }
        self
    }

    /// Checks the kind and that every number in `names` is present;
    /// returns them in that order.
    pub(crate) fn expect(&self, kinds: &[&str], names: &[&str]) -> Result<Vec<f64>, LoadError> {
        let mut problems = Vec::new();
        if !kinds.contains(&self.kind.as_str()) {
            problems.push(format!(
                "the state is {}'s, this optimizer is {}",
                self.kind,
                kinds.join("/")
            ));
        }
        let values = names
            .iter()
            .map(|n| {
                self.scalars.get(*n).copied().unwrap_or_else(|| {
                    problems.push(format!("missing {n}"));
                    f64::NAN
                })
            })
            .collect();
        for name in self.tensors.keys() {
            if !name
                .split_once('.')
                .is_some_and(|(p, _)| BUFFERS.contains(&p))
            {
                problems.push(format!("unexpected buffer {name}"));
            }
        }
        if problems.is_empty() {
            Ok(values)
        } else {
            Err(LoadError { problems })
        }
    }

    /// The buffers named `<prefix>.<param>`, by parameter.
    pub(crate) fn buffers(&self, prefix: &str) -> IndexMap<String, Vec<T>> {
        self.tensors
            .iter()
            .filter_map(|(k, t)| {
                let name = k.strip_prefix(prefix)?.strip_prefix('.')?;
                Some((name.to_string(), t.to_vec()))
            })
            .collect()
    }
}
