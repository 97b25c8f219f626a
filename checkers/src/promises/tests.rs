//! Table-driven tests of the promise model.
