//! Linearizability (filled in below).
use crate::results::Validity;
use crate::CheckError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use trial_histories::Op;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Counterexample {
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinearResult {
    pub valid: Validity,
    pub model: String,
    pub counterexample: Option<Counterexample>,
    pub unknown_reason: Option<String>,
}

pub fn check_edn_file(_p: &Path, _m: &str, _t: Duration) -> Result<LinearResult, CheckError> {
    todo!()
}
pub fn check_history_log(_p: &Path, _m: &str, _t: Duration) -> Result<LinearResult, CheckError> {
    todo!()
}
pub fn check_ops_log(_p: &[Op], _m: &str, _t: Duration) -> Result<LinearResult, CheckError> {
    todo!()
}
