//! Data: a small CSV loader for numeric tables, seeded shuffling into
//! batches, and train/test splits.

use std::fmt;
use std::path::Path;

use autograd_core::{Real, Tensor};
use rand::Rng;
use rand::seq::SliceRandom;

/// A numeric table read from CSV: column names and one row per record.
///
/// ```
/// let t = autograd_nn::Table::parse("a,b\n1,2\n3,4.5\n").unwrap();
/// assert_eq!(t.columns, ["a", "b"]);
/// assert_eq!(t.rows, vec![vec![1.0, 2.0], vec![3.0, 4.5]]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The header's names.
    pub columns: Vec<String>,
    /// The values, row by row.
    pub rows: Vec<Vec<f64>>,
}

/// Why a CSV file could not be read: the file, or the line and what is
/// wrong with it.
///
/// ```
/// let e = autograd_nn::Table::parse("a,b\n1,x\n").unwrap_err();
/// assert_eq!(e.to_string(), "line 2, column 2 (b): \"x\" is not a number");
/// ```
#[derive(Debug)]
pub enum CsvError {
    /// Reading the file failed.
    Io(std::io::Error),
    /// The file has no header line.
    Empty,
    /// A line does not have one number per column.
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Io(e) => write!(f, "cannot read the CSV file: {e}"),
            CsvError::Empty => write!(f, "the CSV file is empty (no header line)"),
            CsvError::Line { line, message } => write!(f, "line {line}, {message}"),
        }
    }
}

impl std::error::Error for CsvError {}

impl Table {
    /// Reads a CSV file with a header line and numeric fields.
    ///
    /// ```
    /// let e = autograd_nn::Table::read("no/such/file.csv").unwrap_err();
    /// assert!(e.to_string().starts_with("cannot read the CSV file"));
    /// ```
    pub fn read(path: impl AsRef<Path>) -> Result<Table, CsvError> {
        let text = std::fs::read_to_string(path).map_err(CsvError::Io)?;
        Self::parse(&text)
    }

    /// Parses CSV text: a header line, then one number per column on every
    /// non-empty line.
    ///
    /// ```
    /// let e = autograd_nn::Table::parse("a,b\n1\n").unwrap_err();
    /// assert_eq!(e.to_string(), "line 2, 1 fields where the header has 2");
    /// ```
    pub fn parse(text: &str) -> Result<Table, CsvError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or(CsvError::Empty)?;
        let columns: Vec<String> = header.split(',').map(|c| c.trim().to_string()).collect();
        let mut rows = Vec::new();
        for (i, line) in lines {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != columns.len() {
                return Err(CsvError::Line {
                    line: i + 1,
                    message: format!(
                        "{} fields where the header has {}",
                        fields.len(),
                        columns.len()
                    ),
                });
            }
            let row = fields
                .iter()
                .enumerate()
                .map(|(k, f)| {
                    f.parse::<f64>().map_err(|_| CsvError::Line {
                        line: i + 1,
                        message: format!(
                            "column {} ({}): {f:?} is not a number",
                            k + 1,
                            columns[k]
                        ),
                    })
                })
                .collect::<Result<Vec<f64>, _>>()?;
            rows.push(row);
        }
        Ok(Table { columns, rows })
    }

    /// The chosen columns of rows `range`, as a `[rows, columns]` tensor.
    /// Panics on a column index out of range.
    ///
    /// ```
    /// let t = autograd_nn::Table::parse("a,b,c\n1,2,3\n4,5,6\n").unwrap();
    /// assert_eq!(t.tensor::<f32>(0..2, &[2, 0]).to_vec(), vec![3.0, 1.0, 6.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn tensor<T: Real>(&self, rows: std::ops::Range<usize>, columns: &[usize]) -> Tensor<T> {
        if let Some(&bad) = columns.iter().find(|&&c| c >= self.columns.len()) {
            panic!(
                "Table::tensor: column {bad} is out of range for {} columns",
                self.columns.len()
            );
        }
        let data = self.rows[rows.clone()]
            .iter()
            .flat_map(|r| columns.iter().map(move |&c| T::from_f64(r[c])))
            .collect();
        Tensor::from_vec(data, &[rows.len(), columns.len()])
    }

    /// One column of rows `range` as class indices. Panics (naming the row)
    /// on a value that is not a non-negative whole number.
    ///
    /// ```
    /// let t = autograd_nn::Table::parse("label,x\n2,0.5\n0,1.5\n").unwrap();
    /// assert_eq!(t.labels(0..2, 0).to_vec(), vec![2, 0]);
    /// ```
    #[track_caller]
    pub fn labels(&self, rows: std::ops::Range<usize>, column: usize) -> Tensor<usize> {
        let data = self.rows[rows.clone()]
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let v = r[column];
                if v < 0.0 || v.fract() != 0.0 {
                    panic!(
                        "Table::labels: row {} has {v}, not a class index",
                        rows.start + i
                    );
                }
                v as usize
            })
            .collect();
        Tensor::from_vec(data, &[rows.len()])
    }
}

/// The indices `0..n` in batches of `batch_size` (the last may be smaller),
/// shuffled by `rng` if given: one epoch of mini-batches.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let b = autograd_nn::batches(10, 4, Some(&mut rng));
/// assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
/// let mut all: Vec<usize> = b.concat();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
/// ```
#[track_caller]
pub fn batches<R: Rng + ?Sized>(
    n: usize,
    batch_size: usize,
    rng: Option<&mut R>,
) -> Vec<Vec<usize>> {
    if batch_size == 0 {
        panic!("batches: batch_size must be positive");
    }
    let mut order: Vec<usize> = (0..n).collect();
    if let Some(rng) = rng {
        order.shuffle(rng);
    }
    order.chunks(batch_size).map(<[usize]>::to_vec).collect()
}

/// A random split of `0..n` into (train, test) index lists with
/// `round(n * test_fraction)` test indices.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let (train, test) = autograd_nn::train_test_split(10, 0.3, &mut rng);
/// assert_eq!((train.len(), test.len()), (7, 3));
/// ```
#[track_caller]
pub fn train_test_split<R: Rng + ?Sized>(
    n: usize,
    test_fraction: f64,
    rng: &mut R,
) -> (Vec<usize>, Vec<usize>) {
    if !(0.0..=1.0).contains(&test_fraction) {
        panic!("train_test_split: test_fraction must be in [0, 1], got {test_fraction}");
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let n_test = (n as f64 * test_fraction).round() as usize;
    let test = order.split_off(n - n_test);
    (order, test)
}
