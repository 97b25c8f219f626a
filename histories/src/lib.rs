//! # trial-histories
//!
//! The history of a kafka-trial test: every client and nemesis operation,
//! one JSON object per line (JSONL). This crate owns the operation model
//! ([`Op`]), the typed values the workloads record ([`values`]), a writer
//! that survives a killed controller ([`HistoryWriter`]), a streaming
//! reader that names bad lines ([`HistoryReader`]), pairing of invocations
//! with completions ([`Pairer`]), the store layout ([`Store`]) and pretty
//! printing.
//!
//! It never touches the network, Docker or Kafka.

pub mod cursor;
pub mod faults;
pub mod index;
pub mod op;
pub mod pair;
pub mod pretty;
pub mod reader;
pub mod scan;
pub mod serde_duration;
pub mod store;
pub mod values;
pub mod writer;

pub use faults::{FaultInterval, FaultIntervals, FaultTracker};
pub use op::{Op, OpType, Process, F};
pub use pair::{pair_all, Outstanding, Pair, PairError, Pairer, Step};
pub use reader::{read_history, read_history_from, History, HistoryReader, ReadError, ReadWarning};
pub use store::{MatrixDir, RunDir, RunSummary, Store};
pub use writer::HistoryWriter;
