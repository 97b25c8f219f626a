//! # kafka-trial
//!
//! The controller of kafka-trial. The picture and the recipes for adding a
//! workload, a fault, a client or a platform are in `ARCHITECTURE.md` at
//! the root of the repository.
//!
//! - [`spec`]: what a trial is, as one typed value (the library entry
//!   point: `TrialSpec::named(…)…run(store)`), a file and the flags;
//! - [`trial`]: a trial from spec to verdict;
//! - [`cluster`]: a running Kafka cluster on a platform;
//! - [`external`]: trials against a cluster the user runs (`--bootstrap`,
//!   hooks, configuration read back, `probe`);
//! - [`kafka`]: distributions, configuration, timing profiles, nodes, admin;
//! - [`platform`]: where nodes come from (`Platform`, `Host`; Docker);
//! - [`clients`]: client drivers behind one outcome contract (rdkafka);
//! - [`workloads`]: what the clients do (queue);
//! - [`observer`]: the cluster-state sampler;
//! - [`owner`]: who runs a trial (its run folder's `controller.json`, its
//!   containers' labels): live runs, interrupted ones, what dead ones left;
//! - [`report`]: plots, report.html and `serve`;
//! - [`cli`]: the `kafka-trial` command line;
//! - [`cache`]: the controller's cache folder and its locks;
//! - [`testing`]: helpers for `cargo test` suites;
//! - [`tools`]: programs of the suite shipped into the nodes (kt-lazyfs);
//! - [`upkeep`]: the store's upkeep (run sizes, `runs --prune`, free space).

pub mod cache;
pub mod cli;
pub mod clients;
pub mod cluster;
pub mod external;
pub mod kafka;
pub mod observer;
pub mod owner;
pub mod platform;
pub mod report;
pub mod spec;
pub mod testing;
pub mod tools;
pub mod trial;
pub mod upkeep;
pub mod workloads;

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
