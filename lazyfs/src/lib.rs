//! kt-lazyfs: a FUSE filesystem that remembers what was made durable
//! (fsync of a file, fsync of a directory) and can drop everything else —
//! the power loss behind kafka-trial's `lose-unfsynced` and `power-loss`
//! faults. See README.md for the exact semantics.

pub mod cli;
pub mod fuse;
pub mod probe;
pub mod store;

pub use store::{DropReport, Store};
