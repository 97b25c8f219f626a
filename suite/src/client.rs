//! Real Kafka clients (librdkafka through `rdkafka`) and the mapping of
//! their outcomes onto the history's `ok` / `fail` / `info`.
//!
//! # Outcome classification
//!
//! What a checker may conclude depends on telling "definitely did not
//! happen" (`fail`) from "we cannot know" (`info`). When unsure, it is `info`.
//!
//! | client event | history type | why |
//! | --- | --- | --- |
//! | delivery report without error, offset ≥ 0 | `ok` (+ partition, offset) | the broker acknowledged it at that offset |
//! | delivery report without error, no offset (e.g. `DUPLICATE_SEQUENCE_NUMBER` handled as success) | `info` | written, but where is unknown |
//! | delivery error, `rd_kafka_message_status` = `NOT_PERSISTED` | `fail` | librdkafka knows the broker never got it |
//! | delivery error, status `POSSIBLY_PERSISTED` or `PERSISTED` (timeouts, lost connections after sending) | `info` | it may be in the log |
//! | `send` refused locally (queue full, message too large, unknown partition) | `fail` | it never left the client |
//! | no delivery report within `message.timeout.ms` + margin | `info` | unknown |
//! | a poll that returned an error | `fail` | reads have no effect |
//!
//! Producers are `ThreadedProducer`s with a context that reads
//! `rd_kafka_message_status` inside the delivery callback (FutureProducer
//! loses it).

use rdkafka::config::ClientConfig as RdConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer as _, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trial_histories::values::{Partition, Record};

/// `acks` of the producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Acks {
    #[serde(rename = "all")]
    All,
    #[serde(rename = "1")]
    One,
    #[serde(rename = "0")]
    Zero,
}

impl Acks {
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::One => "1",
            Acks::Zero => "0",
        }
    }
}

impl std::str::FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" | "-1" => Ok(Acks::All),
            "1" => Ok(Acks::One),
            "0" => Ok(Acks::Zero),
            _ => Err(format!("acks must be all, 1 or 0, not {s:?}")),
        }
    }
}

/// What a client needs to know to connect and behave as the test asks.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub bootstrap: String,
    pub topic: String,
    pub acks: Acks,
    pub idempotence: bool,
    /// `message.timeout.ms`: how long librdkafka keeps trying a send.
    pub message_timeout: Duration,
    /// `request.timeout.ms`.
    pub request_timeout: Duration,
    /// Extra librdkafka properties for producers (librdkafka's own names).
    pub producer_overrides: BTreeMap<String, String>,
    /// Extra librdkafka properties for consumers.
    pub consumer_overrides: BTreeMap<String, String>,
}

impl ClientSettings {
    fn common(&self) -> RdConfig {
        let mut c = RdConfig::new();
        c.set("bootstrap.servers", &self.bootstrap)
            .set("socket.timeout.ms", "5000")
            .set("reconnect.backoff.ms", "50")
            .set("reconnect.backoff.max.ms", "1000")
            .set("topic.metadata.refresh.interval.ms", "2000")
            .set("log_level", "3");
        c
    }

    pub fn producer_config(&self) -> RdConfig {
        let mut c = self.common();
        c.set("acks", self.acks.as_str())
            .set("enable.idempotence", self.idempotence.to_string())
            .set(
                "message.timeout.ms",
                self.message_timeout.as_millis().to_string(),
            )
            .set(
                "request.timeout.ms",
                self.request_timeout.as_millis().to_string(),
            )
            .set("linger.ms", "0")
            .set("retry.backoff.ms", "100");
        for (k, v) in &self.producer_overrides {
            c.set(k, v);
        }
        c
    }

    pub fn consumer_config(&self, group: &str) -> RdConfig {
        let mut c = self.common();
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            .set("fetch.wait.max.ms", "50")
            .set("enable.partition.eof", "false");
        for (k, v) in &self.consumer_overrides {
            c.set(k, v);
        }
        c
    }
}

/// The outcome of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Ok { partition: Partition, offset: i64 },
    Fail(String),
    Info(String),
}

/// Producer context: turns each delivery report into a [`SendOutcome`]
/// using librdkafka's persistence status.
pub struct DeliveryContext;

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<mpsc::SyncSender<SendOutcome>>;

    fn delivery(&self, r: &DeliveryResult<'_>, tx: Self::DeliveryOpaque) {
        let _ = tx.send(classify(r));
    }
}

/// The history outcome of one delivery report (see the table above).
pub fn classify(r: &DeliveryResult<'_>) -> SendOutcome {
    match r {
        Ok(m) if m.offset() >= 0 => SendOutcome::Ok {
            partition: m.partition(),
            offset: m.offset(),
        },
        Ok(_) => SendOutcome::Info("persisted, but the offset is unknown".into()),
        Err((e, m)) => {
            // SAFETY: `m` is the live message of this delivery report;
            // rd_kafka_message_status only reads its status field.
            let status = unsafe { rdkafka::bindings::rd_kafka_message_status(m.ptr()) };
            match status {
                rdkafka::bindings::rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_NOT_PERSISTED => {
                    SendOutcome::Fail(format!("{e} (not persisted)"))
                }
                rdkafka::bindings::rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED => {
                    SendOutcome::Info(format!("{e} (possibly persisted)"))
                }
                _ => SendOutcome::Info(format!("{e} (persisted, yet reported as an error)")),
            }
        }
    }
}

/// A producer that sends one record at a time and waits for its outcome.
pub struct Producer {
    inner: ThreadedProducer<DeliveryContext>,
    topic: String,
    wait: Duration,
}

impl Producer {
    pub fn new(s: &ClientSettings) -> Result<Producer, KafkaError> {
        let inner = s.producer_config().create_with_context(DeliveryContext)?;
        Ok(Producer {
            inner,
            topic: s.topic.clone(),
            wait: s.message_timeout + Duration::from_secs(5),
        })
    }

    /// Send `value` under `key` and wait for the delivery report.
    pub fn send(&self, key: u64, value: u64) -> SendOutcome {
        let (tx, rx) = mpsc::sync_channel(1);
        let k = key.to_string();
        let v = value.to_string();
        let rec = BaseRecord::with_opaque_to(&self.topic, Box::new(tx))
            .key(&k)
            .payload(&v);
        if let Err((e, _)) = self.inner.send(rec) {
            return SendOutcome::Fail(format!("refused by the client before sending: {e}"));
        }
        match rx.recv_timeout(self.wait) {
            Ok(o) => o,
            Err(_) => SendOutcome::Info(format!("no delivery report within {:?}", self.wait)),
        }
    }

    /// Flush outstanding sends (bounded).
    pub fn flush(&self, within: Duration) {
        let _ = self.inner.flush(within);
    }
}

/// A change of assignment seen by a consumer inside a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebalanced {
    Assigned(Vec<Partition>),
    Revoked(Vec<Partition>),
}

/// Consumer context: remembers rebalances so the worker can record them.
#[derive(Default)]
pub struct RebalanceContext {
    events: Mutex<Vec<Rebalanced>>,
}

impl ClientContext for RebalanceContext {}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<Partition> {
    let mut v: Vec<Partition> = tpl.elements().iter().map(|e| e.partition()).collect();
    v.sort_unstable();
    v
}

impl ConsumerContext for RebalanceContext {
    fn post_rebalance(&self, _c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        let ev = match r {
            Rebalance::Assign(tpl) => Rebalanced::Assigned(partitions_of(tpl)),
            Rebalance::Revoke(tpl) => Rebalanced::Revoked(partitions_of(tpl)),
            Rebalance::Error(_) => return,
        };
        if let Ok(mut g) = self.events.lock() {
            g.push(ev);
        }
    }
}

/// What one poll returned: records, and rebalances in between.
#[derive(Debug, Default)]
pub struct PollResult {
    pub records: Vec<Record>,
    /// Set when a rebalance happened during the poll: the records that came
    /// after it are in `after`, to be recorded as a separate poll.
    pub rebalance: Option<Rebalanced>,
    pub after: Vec<Record>,
    pub error: Option<String>,
}

/// A consumer of the test topic, by manual assignment or by subscription.
pub struct Consumer {
    inner: BaseConsumer<RebalanceContext>,
    topic: String,
}

/// Parse a record's key and value as the workload wrote them. Anything
/// else becomes `u64::MAX`, a value no send ever had (a garbage read).
fn parse_num(b: Option<&[u8]>) -> u64 {
    b.and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

impl Consumer {
    pub fn new(s: &ClientSettings, group: &str) -> Result<Consumer, KafkaError> {
        let inner = s
            .consumer_config(group)
            .create_with_context(RebalanceContext::default())?;
        Ok(Consumer {
            inner,
            topic: s.topic.clone(),
        })
    }

    /// Assign partitions, each read from `from`.
    pub fn assign(&self, partitions: &[Partition], from: Offset) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition_offset(&self.topic, p, from)?;
        }
        self.inner.assign(&tpl)
    }

    pub fn subscribe(&self) -> Result<(), KafkaError> {
        self.inner.subscribe(&[&self.topic])
    }

    /// Poll for up to `max` records or `within`, whichever comes first.
    pub fn poll(&self, max: usize, within: Duration) -> PollResult {
        let deadline = Instant::now() + within;
        let mut res = PollResult::default();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || res.records.len() + res.after.len() >= max {
                break;
            }
            let msg = self.inner.poll(left.min(Duration::from_millis(100)));
            if res.rebalance.is_none() {
                if let Ok(mut g) = self.inner.context().events.lock() {
                    if let Some(ev) = g.pop() {
                        g.clear();
                        res.rebalance = Some(ev);
                    }
                }
            }
            match msg {
                None => {
                    if !res.records.is_empty() || !res.after.is_empty() {
                        // Something was read and nothing more is waiting.
                        break;
                    }
                }
                Some(Ok(m)) => {
                    let r = Record {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: parse_num(m.key()),
                        value: parse_num(m.payload()),
                    };
                    if res.rebalance.is_some() {
                        res.after.push(r);
                    } else {
                        res.records.push(r);
                    }
                }
                Some(Err(e)) => {
                    res.error = Some(e.to_string());
                    break;
                }
            }
        }
        res
    }

    /// Low and high watermarks of a partition.
    pub fn watermarks(&self, p: Partition, within: Duration) -> Result<(i64, i64), KafkaError> {
        self.inner.fetch_watermarks(&self.topic, p, within)
    }
}
