//! The librdkafka driver (through the `rdkafka` crate).
//!
//! Producers are `ThreadedProducer`s with a context that reads
//! `rd_kafka_message_status` inside the delivery callback (FutureProducer
//! loses it): `NOT_PERSISTED` is a `fail`, `POSSIBLY_PERSISTED` and
//! `PERSISTED` errors are `info` (the contract in [`crate::clients`]).

pub mod group;
pub mod txn;

use super::{
    ClientSettings, Consumer, Driver, GroupMember, GroupSettings, OnDelivery, PollResult, Producer,
    SendOutcome, StartAt, TxnClient, TxnSettings,
};
use rdkafka::config::ClientConfig as RdConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer as _, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trial_histories::values::{Partition, Record};

/// The librdkafka driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rdkafka;

impl Driver for Rdkafka {
    fn name(&self) -> &'static str {
        "rdkafka"
    }
    fn producer(&self, s: &ClientSettings) -> Result<Arc<dyn Producer>, String> {
        RdProducer::new(s)
            .map(|p| Arc::new(p) as Arc<dyn Producer>)
            .map_err(|e| e.to_string())
    }
    fn consumer(&self, s: &ClientSettings, group: &str) -> Result<Box<dyn Consumer>, String> {
        RdConsumer::new(s, group)
            .map(|c| Box::new(c) as Box<dyn Consumer>)
            .map_err(|e| e.to_string())
    }
    fn transactional(
        &self,
        s: &ClientSettings,
        t: &TxnSettings,
    ) -> Result<Box<dyn TxnClient>, String> {
        txn::RdTxn::new(s, t).map(|c| Box::new(c) as Box<dyn TxnClient>)
    }
    fn group_member(
        &self,
        s: &ClientSettings,
        g: &GroupSettings,
    ) -> Result<Box<dyn GroupMember>, String> {
        group::RdMember::new(s, g).map(|c| Box::new(c) as Box<dyn GroupMember>)
    }
    fn committed(
        &self,
        s: &ClientSettings,
        group: &str,
        partitions: &[Partition],
        within: Duration,
    ) -> Result<Vec<(Partition, i64)>, String> {
        group::committed(s, group, partitions, within)
    }
}

fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

pub(crate) fn common(s: &ClientSettings) -> RdConfig {
    let mut c = RdConfig::new();
    c.set("bootstrap.servers", &s.bootstrap)
        .set("socket.timeout.ms", ms(s.socket_timeout))
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "1000")
        .set("topic.metadata.refresh.interval.ms", "2000")
        .set("log_level", "3");
    // A cluster the user runs: its security settings (`--client-config`).
    crate::external::secrets::apply(&s.bootstrap, &mut c);
    c
}

/// librdkafka's producer properties for these settings.
pub fn producer_config(s: &ClientSettings) -> RdConfig {
    let mut c = common(s);
    c.set("acks", s.acks.as_str())
        .set("enable.idempotence", s.idempotence.to_string())
        .set("message.timeout.ms", ms(s.message_timeout))
        .set("request.timeout.ms", ms(s.request_timeout))
        .set("linger.ms", "0")
        .set("retry.backoff.ms", "100");
    for (k, v) in &s.producer_overrides {
        c.set(k, v);
    }
    c
}

/// librdkafka's consumer properties for these settings.
pub fn consumer_config(s: &ClientSettings, group: &str) -> RdConfig {
    let mut c = common(s);
    let session = s.session_timeout.max(Duration::from_millis(1000));
    c.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", ms(session))
        .set(
            "heartbeat.interval.ms",
            ms((session / 6).max(Duration::from_millis(100))),
        )
        .set("fetch.wait.max.ms", "50")
        .set("enable.partition.eof", "false");
    for (k, v) in &s.consumer_overrides {
        c.set(k, v);
    }
    c
}

/// Producer context: hands each delivery report, classified, to the
/// callback of its send.
pub struct DeliveryContext;

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<OnDelivery>;

    fn delivery(&self, r: &DeliveryResult<'_>, done: Self::DeliveryOpaque) {
        (*done)(classify(r));
    }
}

/// The history outcome of one delivery report (the table in
/// [`crate::clients`]).
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

/// A librdkafka producer of the test topic.
pub struct RdProducer {
    inner: ThreadedProducer<DeliveryContext>,
    topic: String,
}

impl RdProducer {
    pub fn new(s: &ClientSettings) -> Result<RdProducer, rdkafka::error::KafkaError> {
        let inner = producer_config(s).create_with_context(DeliveryContext)?;
        Ok(RdProducer {
            inner,
            topic: s.topic.clone(),
        })
    }
}

impl Producer for RdProducer {
    fn send_async(&self, key: u64, value: u64, done: OnDelivery) -> Result<(), SendOutcome> {
        let k = key.to_string();
        let v = value.to_string();
        let rec = BaseRecord::with_opaque_to(&self.topic, Box::new(done))
            .key(&k)
            .payload(&v);
        self.inner.send(rec).map_err(|(e, _)| {
            SendOutcome::Fail(format!("refused by the client before sending: {e}"))
        })
    }

    fn flush(&self, within: Duration) {
        let _ = self.inner.flush(within);
    }
}

/// Consumer context of the assigning consumers (no group callbacks: the
/// group workload's members have their own).
#[derive(Default)]
pub struct RebalanceContext;

impl ClientContext for RebalanceContext {}

/// The partitions of a list, sorted, each once.
pub(crate) fn partitions_of(tpl: &TopicPartitionList) -> Vec<Partition> {
    let mut v: Vec<Partition> = tpl.elements().iter().map(|e| e.partition()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A consumed message as the history's record.
pub(crate) fn record_of<M: Message>(m: &M) -> Record {
    Record {
        partition: m.partition(),
        offset: m.offset(),
        key: parse_num(m.key()),
        value: parse_num(m.payload()),
    }
}

impl ConsumerContext for RebalanceContext {}

/// A librdkafka consumer of the test topic.
pub struct RdConsumer {
    inner: BaseConsumer<RebalanceContext>,
    topic: String,
}

/// Parse a record's key and value as the workload wrote them. Anything
/// else becomes `u64::MAX`, a value no send ever had (a garbage read).
pub(crate) fn parse_num(b: Option<&[u8]>) -> u64 {
    b.and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

impl RdConsumer {
    pub fn new(s: &ClientSettings, group: &str) -> Result<RdConsumer, rdkafka::error::KafkaError> {
        let inner = consumer_config(s, group).create_with_context(RebalanceContext)?;
        Ok(RdConsumer {
            inner,
            topic: s.topic.clone(),
        })
    }
}

impl Consumer for RdConsumer {
    fn assign(&self, partitions: &[Partition], from: StartAt) -> Result<(), String> {
        let from = match from {
            StartAt::Beginning => Offset::Beginning,
            StartAt::Offset(o) => Offset::Offset(o),
        };
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition_offset(&self.topic, p, from)
                .map_err(|e| e.to_string())?;
        }
        self.inner.assign(&tpl).map_err(|e| e.to_string())
    }

    fn assign_at(&self, at: &[(Partition, i64)]) -> Result<(), String> {
        let mut tpl = TopicPartitionList::new();
        for &(p, o) in at {
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(o))
                .map_err(|e| e.to_string())?;
        }
        self.inner.assign(&tpl).map_err(|e| e.to_string())
    }

    fn poll(&self, max: usize, within: Duration) -> PollResult {
        let deadline = Instant::now() + within;
        let mut res = PollResult::default();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || res.records.len() >= max {
                break;
            }
            match self.inner.poll(left.min(Duration::from_millis(100))) {
                None => {
                    if !res.records.is_empty() {
                        // Something was read and nothing more is waiting.
                        break;
                    }
                }
                Some(Ok(m)) => res.records.push(record_of(&m)),
                Some(Err(e)) => {
                    res.error = Some(e.to_string());
                    break;
                }
            }
        }
        res
    }

    fn watermarks(&self, p: Partition, within: Duration) -> Result<(i64, i64), String> {
        self.inner
            .fetch_watermarks(&self.topic, p, within)
            .map_err(|e| e.to_string())
    }

    fn position(&self, p: Partition) -> Option<i64> {
        let tpl = self.inner.position().ok()?;
        match tpl.find_partition(&self.topic, p)?.offset() {
            Offset::Offset(o) if o >= 0 => Some(o),
            _ => None,
        }
    }
}
