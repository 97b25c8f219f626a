//! librdkafka's transactional producer with its `read_committed` (or
//! `read_uncommitted`) consumer: the [`TxnClient`] of the rdkafka driver.
//!
//! Errors are classified by librdkafka itself (`rd_kafka_error_is_fatal`,
//! `_txn_requires_abort`, `_is_retriable`, in that order: a fatal error is
//! also abortable, and fatal wins), so the workload's outcome mapping rests
//! on the client's own knowledge, never on message texts.

use super::{consumer_config, producer_config, DeliveryContext, RdConsumer};
use crate::clients::{
    resuming, ClientSettings, Consumer, Isolation, OnDelivery, SendOutcome, TxnClient, TxnError,
    TxnErrorKind, TxnSettings,
};
use rdkafka::consumer::Consumer as _;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, Producer as _, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;
use trial_histories::values::Partition;

/// A transactional producer and its process's consumer.
pub struct RdTxn {
    producer: ThreadedProducer<DeliveryContext>,
    consumer: RdConsumer,
    topic: String,
}

/// The class of a librdkafka error (see the module doc).
pub fn txn_error(e: KafkaError) -> TxnError {
    let kind = match &e {
        KafkaError::Transaction(r) if r.is_fatal() => TxnErrorKind::Fatal,
        KafkaError::Transaction(r) if r.txn_requires_abort() => TxnErrorKind::Abortable,
        KafkaError::Transaction(r) if r.is_retriable() => TxnErrorKind::Retriable,
        _ => TxnErrorKind::Other,
    };
    TxnError {
        kind,
        message: e.to_string(),
    }
}

impl RdTxn {
    /// Create both clients and `init_transactions` (which fences every
    /// earlier producer of this `transactional.id` and completes its open
    /// transaction), each call within the request timeout × 3, resumed
    /// after retriable errors until [`TxnSettings::init_within`].
    pub fn new(s: &ClientSettings, t: &TxnSettings) -> Result<RdTxn, String> {
        let mut pc = producer_config(s);
        // Transactions need idempotence, hence acks=all; librdkafka refuses
        // anything else.
        pc.set("transactional.id", &t.transactional_id)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set(
                "transaction.timeout.ms",
                t.transaction_timeout.as_millis().to_string(),
            );
        let producer: ThreadedProducer<DeliveryContext> =
            pc.create_with_context(DeliveryContext)
                .map_err(|e| format!("create the transactional producer: {e}"))?;
        // A retriable error (a timeout while no coordinator answers) asks
        // for the same call again: made until `init_within` has passed.
        let until = std::time::Instant::now() + t.init_within;
        resuming(
            || std::time::Instant::now() < until,
            || {
                producer
                    .init_transactions(s.request_timeout * 3)
                    .map_err(txn_error)
            },
        )
        .map_err(|e| format!("init_transactions: {e}"))?;
        let mut cc = consumer_config(s, &t.group);
        cc.set(
            "isolation.level",
            match t.isolation {
                Isolation::ReadCommitted => "read_committed",
                Isolation::ReadUncommitted => "read_uncommitted",
            },
        );
        let inner = cc
            .create_with_context(super::RebalanceContext)
            .map_err(|e| format!("create the consumer: {e}"))?;
        Ok(RdTxn {
            producer,
            consumer: RdConsumer {
                inner,
                topic: s.topic.clone(),
            },
            topic: s.topic.clone(),
        })
    }
}

impl TxnClient for RdTxn {
    fn begin(&self) -> Result<(), TxnError> {
        self.producer.begin_transaction().map_err(txn_error)
    }

    fn send_async(
        &self,
        partition: Partition,
        key: u64,
        value: u64,
        done: OnDelivery,
    ) -> Result<(), SendOutcome> {
        let k = key.to_string();
        let v = value.to_string();
        let rec = BaseRecord::with_opaque_to(&self.topic, Box::new(done))
            .partition(partition)
            .key(&k)
            .payload(&v);
        self.producer.send(rec).map_err(|(e, _)| {
            SendOutcome::Fail(format!("refused by the client before sending: {e}"))
        })
    }

    fn send_offsets(&self, offsets: &[(Partition, i64)], within: Duration) -> Result<(), TxnError> {
        let mut tpl = TopicPartitionList::new();
        for &(p, o) in offsets {
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(o))
                .map_err(|e| TxnError {
                    kind: TxnErrorKind::Other,
                    message: e.to_string(),
                })?;
        }
        let cgm = self.consumer.inner.group_metadata().ok_or(TxnError {
            kind: TxnErrorKind::Other,
            message: "the consumer has no group metadata".into(),
        })?;
        self.producer
            .send_offsets_to_transaction(&tpl, &cgm, within)
            .map_err(txn_error)
    }

    fn commit(&self, within: Duration) -> Result<(), TxnError> {
        self.producer.commit_transaction(within).map_err(txn_error)
    }

    fn abort(&self, within: Duration) -> Result<(), TxnError> {
        self.producer.abort_transaction(within).map_err(txn_error)
    }

    fn consumer(&self) -> &dyn Consumer {
        &self.consumer
    }

    fn committed(
        &self,
        partitions: &[Partition],
        within: Duration,
    ) -> Result<Vec<(Partition, Option<i64>)>, String> {
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition(&self.topic, p);
        }
        let got = self
            .consumer
            .inner
            .committed_offsets(tpl, within)
            .map_err(|e| e.to_string())?;
        Ok(partitions
            .iter()
            .map(|&p| {
                let o = got
                    .find_partition(&self.topic, p)
                    .and_then(|e| match e.offset() {
                        Offset::Offset(o) if o >= 0 => Some(o),
                        _ => None,
                    });
                (p, o)
            })
            .collect())
    }
}

impl Drop for RdTxn {
    fn drop(&mut self) {
        // Delivery callbacks still queued must run before the producer goes.
        let _ = self.producer.flush(Duration::from_millis(200));
    }
}
