//! `kafka-trial probe --bootstrap …`: a short, read-only look at a cluster
//! the user runs before a trial — its brokers, controller, what the
//! promise model would read back, and whether the credentials can create
//! and delete a topic (a uniquely named `kt-trial-probe-…`, deleted
//! straight away). Nothing else is written to the cluster.

use super::readback;
use super::site::Connected;
use super::{secrets, ExternalSpec, TOPIC_PREFIX};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `kafka-trial probe`.
#[derive(Args, Debug, Clone)]
pub struct ProbeArgs {
    /// The cluster's bootstrap servers.
    #[arg(long, value_name = "HOST:PORT[,…]", required = true)]
    pub bootstrap: String,
    /// A property of every client (repeatable), e.g.
    /// --client-config security.protocol=SASL_PLAINTEXT.
    #[arg(long, value_name = "KEY=VALUE", value_parser = crate::spec::parse_pair)]
    pub client_config: Vec<(String, String)>,
    /// Client properties from a file (KEY=VALUE lines).
    #[arg(long, value_name = "FILE")]
    pub client_config_file: Option<PathBuf>,
    /// Do not create and delete a probe topic (then whether the
    /// credentials may is not known).
    #[arg(long)]
    pub no_topic: bool,
}

/// What a probe found.
#[derive(Debug, Clone)]
pub struct Probe {
    pub brokers: Vec<(i32, String)>,
    pub config: readback::ReadBack,
    /// `Some(Ok)`: a topic was created and deleted; `None`: not tried.
    pub topic: Option<Result<String, String>>,
    pub secs: f64,
}

impl Probe {
    /// What `probe` prints.
    pub fn text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("brokers ({}):\n", self.brokers.len()));
        for (id, a) in &self.brokers {
            s.push_str(&format!("  {id:>4}  {a}\n"));
        }
        s.push_str("configuration (as the promise model would read it):\n");
        for l in self.config.lines() {
            s.push_str(&format!("  {l}\n"));
        }
        if self.config.unknown.is_empty() {
            s.push_str("promise model: every setting it needs reads back\n");
        } else {
            s.push_str(&format!(
                "promise model: not read back: {} — a trial's promise verdict would be unknown\n",
                self.config.unknown.join(", ")
            ));
        }
        match &self.topic {
            Some(Ok(t)) => s.push_str(&format!(
                "topics: these credentials created and deleted {t}\n"
            )),
            Some(Err(e)) => s.push_str(&format!(
                "topics: these credentials cannot create and delete a topic: {e}\n"
            )),
            None => s.push_str("topics: not tried (--no-topic)\n"),
        }
        s.push_str(&format!("probe took {:.1}s\n", self.secs));
        s
    }
}

/// Probe the cluster (bounded: each call has its own timeout).
pub async fn probe(a: &ProbeArgs) -> Result<Probe> {
    let t = Instant::now();
    super::parse_bootstrap(&a.bootstrap)?;
    let x = ExternalSpec {
        bootstrap: a.bootstrap.clone(),
        client_config: a.client_config.clone(),
        client_config_file: a.client_config_file.clone(),
        ..Default::default()
    };
    let conn = Connected::connect(&x).await;
    let conn = match conn {
        Ok(c) => c,
        Err(e) => {
            secrets::forget(&a.bootstrap);
            return Err(e);
        }
    };
    let config = readback::read(&conn.bootstrap, &conn.brokers, None, conn.plaintext).await;
    let topic = if a.no_topic {
        None
    } else {
        let name = format!("{TOPIC_PREFIX}probe-{}", std::process::id());
        let rf = conn.brokers.len().min(3);
        let r = async {
            tokio::time::timeout(Duration::from_secs(60), conn.create_topic(&name, 1, rf))
                .await
                .map_err(|_| anyhow::anyhow!("creating {name} timed out"))??;
            conn.delete_topic(&name).await?;
            Ok::<_, anyhow::Error>(name.clone())
        }
        .await
        .map_err(|e| format!("{e:#}"));
        Some(r)
    };
    secrets::forget(&a.bootstrap);
    Ok(Probe {
        brokers: conn.brokers,
        config,
        topic,
        secs: t.elapsed().as_secs_f64(),
    })
}

/// The `probe` command: print, exit 0 (3 when the cluster cannot be
/// reached).
pub async fn probe_cmd(a: ProbeArgs) -> Result<std::process::ExitCode> {
    use crate::cli::exit;
    match probe(&a).await {
        Ok(p) => {
            print!("{}", p.text());
            Ok(exit::code(exit::VALID))
        }
        Err(e) => {
            eprintln!("kafka-trial probe: {}", secrets::scrub(&format!("{e:#}")));
            Ok(exit::code(exit::HARNESS))
        }
    }
}
