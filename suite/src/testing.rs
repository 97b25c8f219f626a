//! Helpers for `cargo test` suites written against this library.

/// Serialise tests that start clusters: two clusters at once on a small
/// machine make both slow and the faults' timing meaningless. Hold the
/// guard for the whole test.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SLOT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SLOT.lock().await
}

/// Panic unless nothing of cluster `id` is left on the local Docker
/// engine: no container, no network (a test's teardown check; other
/// clusters may run beside it).
pub async fn assert_no_leftovers(id: &str) {
    let d = crate::platform::docker::engine::connect()
        .await
        .expect("the Docker engine answers");
    let found = crate::platform::docker::find_clusters(&d)
        .await
        .expect("list clusters");
    assert!(
        found.iter().all(|c| c.id != id),
        "containers of cluster {id} remain after teardown"
    );
    let nets = d
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .expect("list networks");
    assert!(
        nets.iter()
            .all(|n| n.name.as_deref() != Some(&format!("kt-{id}"))),
        "network of cluster {id} remains after teardown"
    );
}
