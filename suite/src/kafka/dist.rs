//! Apache Kafka from Maven Central: `org.apache.kafka:kafka_2.13:<version>`
//! with its runtime dependencies and a log4j2 SLF4J binding, resolved with
//! `mvn` into `<cache>/kafka-<version>/libs` and mounted read-only into
//! the nodes. A `.complete` marker makes a second run start at once.

use super::version::KafkaVersion;
use crate::cache::{cache_dir, which};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Versions tried, newest first, when none is given. The first whose whole
/// runtime set resolves is the default (recorded in the cache, so the
/// probe runs once per machine).
pub const CANDIDATES: &[&str] = &[
    "4.4.0", "4.3.1", "4.3.0", "4.2.0", "4.1.1", "4.1.0", "4.0.1", "4.0.0",
];

const LOG4J: &str = "2.24.3";

/// A resolved Kafka: its version and the folder of its jars.
#[derive(Debug, Clone)]
pub struct KafkaDist {
    pub version: String,
    pub libs: PathBuf,
}

/// Check a version string before anything starts: a release the suite
/// runs in some mode (see [`super::version`]).
pub fn validate_version(v: &str) -> Result<()> {
    v.parse::<KafkaVersion>().map(|_| ())
}

fn dist_dir(version: &str) -> PathBuf {
    cache_dir().join(format!("kafka-{version}"))
}

/// The Kafka of `version` (or the default), resolving it if needed.
pub async fn ensure(version: Option<&str>) -> Result<KafkaDist> {
    match version {
        Some(v) => {
            validate_version(v)?;
            resolve(v).await
        }
        None => {
            let marker = cache_dir().join("default-kafka-version");
            if let Ok(v) = std::fs::read_to_string(&marker) {
                let v = v.trim().to_string();
                if dist_dir(&v).join("libs/.complete").exists() {
                    return Ok(KafkaDist {
                        libs: dist_dir(&v).join("libs"),
                        version: v,
                    });
                }
            }
            let mut errors = vec![];
            for v in CANDIDATES {
                match resolve(v).await {
                    Ok(d) => {
                        std::fs::create_dir_all(cache_dir()).ok();
                        std::fs::write(&marker, v).ok();
                        return Ok(d);
                    }
                    Err(e) => {
                        tracing::info!(version = v, error = %e, "Kafka version does not resolve");
                        errors.push(format!("{v}: {e:#}"));
                    }
                }
            }
            bail!(
                "no Kafka 4.x version resolved from Maven Central:\n{}",
                errors.join("\n")
            )
        }
    }
}

/// Resolve one version into the cache (or find it there).
pub async fn resolve(version: &str) -> Result<KafkaDist> {
    validate_version(version)?;
    let dir = dist_dir(version);
    let libs = dir.join("libs");
    if libs.join(".complete").exists() {
        return Ok(KafkaDist {
            version: version.into(),
            libs,
        });
    }
    let _lock = crate::cache::cache_lock("kafka").await?;
    if libs.join(".complete").exists() {
        // Someone else resolved it while we waited.
        return Ok(KafkaDist {
            version: version.into(),
            libs,
        });
    }
    if which("mvn").is_none() {
        bail!("resolving Kafka from Maven Central needs Maven: `apt-get install maven` (bash .ci/setup installs it)");
    }
    let t = Instant::now();
    eprintln!(
        "resolving Kafka {version} from Maven Central into {}",
        libs.display()
    );
    std::fs::create_dir_all(&dir)?;
    if libs.exists() {
        std::fs::remove_dir_all(&libs)?;
    }
    // First the broker and its runtime dependencies, to learn which SLF4J
    // API it uses; then the matching log4j2 binding (without one the broker
    // logs nothing).
    mvn_copy(&dir, &libs, &[("org.apache.kafka", "kafka_2.13", version)]).await?;
    let slf4j2 = std::fs::read_dir(&libs)?
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("slf4j-api-2."));
    let binding = if slf4j2 {
        "log4j-slf4j2-impl"
    } else {
        "log4j-slf4j-impl"
    };
    mvn_copy(&dir, &libs, &[("org.apache.logging.log4j", binding, LOG4J)]).await?;
    let main_jar = libs.join(format!("kafka_2.13-{version}.jar"));
    if !main_jar.exists() {
        bail!(
            "Maven resolved Kafka {version} but {} is missing",
            main_jar.display()
        );
    }
    std::fs::write(libs.join(".complete"), version)?;
    eprintln!(
        "Kafka {version} resolved in {:.1}s ({} jars)",
        t.elapsed().as_secs_f64(),
        std::fs::read_dir(&libs)?.count() - 1
    );
    Ok(KafkaDist {
        version: version.into(),
        libs,
    })
}

async fn mvn_copy(dir: &Path, libs: &Path, deps: &[(&str, &str, &str)]) -> Result<()> {
    let deps_xml: String = deps
        .iter()
        .map(|(g, a, v)| {
            format!(
                "<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
            )
        })
        .collect();
    let pom = format!(
        r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kafka-trial</groupId><artifactId>kafka-libs</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>{deps_xml}</dependencies>
</project>
"#
    );
    std::fs::write(dir.join("pom.xml"), pom)?;
    let out = tokio::time::timeout(
        Duration::from_secs(900),
        tokio::process::Command::new("mvn")
            .current_dir(dir)
            .args([
                "-q",
                "-B",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
            ])
            .arg(format!("-DoutputDirectory={}", libs.display()))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("mvn did not finish within 15 minutes")?
    .context("run mvn")?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout);
        let errs: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("ERROR"))
            .take(5)
            .collect();
        bail!("mvn could not resolve {deps:?}: {}", errs.join(" | "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_before_anything_starts() {
        assert!(validate_version("4.1.0").is_ok());
        assert!(validate_version("3.9.0").is_ok());
        assert!(validate_version("2.7.1").is_err());
        assert!(validate_version("banana").is_err());
        assert!(validate_version("4.1").is_err());
    }
}
