//! Helpers for `cargo test` suites written against this library.

/// Serialise tests that start clusters: two clusters at once on a small
/// machine make both slow and the faults' timing meaningless. Hold the
/// guard for the whole test.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SLOT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SLOT.lock().await
}
