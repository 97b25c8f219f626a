//! Streaming history reader: one op at a time, a reused line buffer, and
//! errors that name the file and the line.

use crate::op::Op;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: line {line}: malformed operation: {source}")]
    Malformed {
        path: PathBuf,
        line: u64,
        #[source]
        source: serde_json::Error,
    },
}

impl ReadError {
    /// The 1-based line number of a malformed line.
    pub fn line(&self) -> Option<u64> {
        match self {
            ReadError::Malformed { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// A problem that did not stop the reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadWarning {
    /// The last line had no newline and did not parse: the writer was cut
    /// off mid-line (a crashed or killed controller). It was skipped.
    TruncatedLastLine { line: u64, bytes: usize },
}

impl std::fmt::Display for ReadWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadWarning::TruncatedLastLine { line, bytes } => write!(
                f,
                "line {line}: the last line is incomplete ({bytes} bytes, no newline): \
                 the writer was cut off; skipped"
            ),
        }
    }
}

/// Reads a history op by op. Iterate it; each item is an op or an error
/// naming its line. Blank lines are skipped.
pub struct HistoryReader<R = BufReader<File>> {
    src: R,
    path: PathBuf,
    line_no: u64,
    buf: Vec<u8>,
    warnings: Vec<ReadWarning>,
    done: bool,
    /// Parse with serde alone (the reference the fast scanner is tested
    /// against): [`HistoryReader::serde_only`].
    serde_only: bool,
}

impl HistoryReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let f = File::open(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self::new(BufReader::with_capacity(1 << 20, f), path))
    }
}

impl<R: BufRead> HistoryReader<R> {
    /// Read from any buffered source; `path` is used in messages only.
    pub fn new(src: R, path: &Path) -> Self {
        HistoryReader {
            src,
            path: path.to_path_buf(),
            line_no: 0,
            buf: Vec::with_capacity(512),
            warnings: Vec::new(),
            done: false,
            serde_only: false,
        }
    }

    /// Parse every line with serde's derived parser only, not the hand
    /// scanner of [`crate::scan`]: the reference of differential tests.
    pub fn serde_only(mut self) -> Self {
        self.serde_only = true;
        self
    }

    /// Warnings so far (e.g. a truncated last line).
    pub fn warnings(&self) -> &[ReadWarning] {
        &self.warnings
    }

    /// The number of lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    fn next_op(&mut self) -> Option<Result<Op, ReadError>> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            let n = match self.src.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                Err(source) => {
                    self.done = true;
                    return Some(Err(ReadError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            };
            if n == 0 {
                self.done = true;
                return None;
            }
            self.line_no += 1;
            let complete = self.buf.ends_with(b"\n");
            let text = self.buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            // UTF-8 once for the whole line, then the hand scanner of the
            // written shape, else serde (crate::scan).
            let parsed = if self.serde_only {
                match std::str::from_utf8(text) {
                    Ok(t) => serde_json::from_str::<Op>(t),
                    Err(_) => serde_json::from_slice::<Op>(text),
                }
            } else {
                crate::scan::parse_op_bytes(text)
            };
            return match parsed {
                Ok(op) => Some(Ok(op)),
                Err(_) if !complete => {
                    self.done = true;
                    let w = ReadWarning::TruncatedLastLine {
                        line: self.line_no,
                        bytes: n,
                    };
                    tracing::warn!("{}: {}", self.path.display(), w);
                    self.warnings.push(w);
                    None
                }
                Err(source) => Some(Err(ReadError::Malformed {
                    path: self.path.clone(),
                    line: self.line_no,
                    source,
                })),
            };
        }
    }
}

impl<R: BufRead> Iterator for HistoryReader<R> {
    type Item = Result<Op, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_op()
    }
}

/// A whole history in memory, with the warnings met while reading it.
#[derive(Debug, Default, Clone)]
pub struct History {
    pub ops: Vec<Op>,
    pub warnings: Vec<ReadWarning>,
}

/// Read a whole history file; stops at the first malformed line.
pub fn read_history(path: &Path) -> Result<History, ReadError> {
    let mut r = HistoryReader::open(path)?;
    let mut ops = Vec::new();
    for op in &mut r {
        ops.push(op?);
    }
    Ok(History {
        ops,
        warnings: r.warnings,
    })
}

/// Read a history from bytes (tests, stdin).
pub fn read_history_from<R: Read>(src: R, name: &str) -> Result<History, ReadError> {
    let mut r = HistoryReader::new(BufReader::new(src), Path::new(name));
    let mut ops = Vec::new();
    for op in &mut r {
        ops.push(op?);
    }
    Ok(History {
        ops,
        warnings: r.warnings,
    })
}
