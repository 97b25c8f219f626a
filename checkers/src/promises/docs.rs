//! Kafka's own documented sentences the promise model rests on, verbatim,
//! each with the address of the section it comes from.
//!
//! Every quote was checked against Kafka's sources (the configuration
//! docstrings of `ProducerConfig`, `TopicConfig`, `QuorumConfig`, the
//! `KafkaConsumer` javadoc, `docs/design.html`, `docs/introduction.html`),
//! librdkafka's `rdkafka.h` / `CONFIGURATION.md`, and the KIP pages. A
//! sentence we could not find verbatim is marked "(paraphrase)". Keeping
//! them in one place lets the README table and the tests point at them.

/// One documented sentence and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doc {
    pub quote: &'static str,
    pub source: &'static str,
}

impl Doc {
    /// `Kafka documents "<quote>" (<source>)`, for a reason a person reads.
    pub fn cite(&self) -> String {
        format!("\"{}\" ({})", self.quote, self.source)
    }
}

pub const ACKS_ALL: Doc = Doc {
    quote: "acks=all This means the leader will wait for the full set of in-sync replicas to \
            acknowledge the record. This guarantees that the record will not be lost as long as at \
            least one in-sync replica remains alive. This is the strongest available guarantee.",
    source: "https://kafka.apache.org/documentation/#producerconfigs_acks",
};

pub const ACKS_ONE: Doc = Doc {
    quote: "acks=1 This will mean the leader will write the record to its local log but will \
            respond without awaiting full acknowledgement from all followers. In this case should \
            the leader fail immediately after acknowledging the record but before the followers \
            have replicated it then the record will be lost.",
    source: "https://kafka.apache.org/documentation/#producerconfigs_acks",
};

pub const ACKS_ZERO: Doc = Doc {
    quote: "acks=0 If set to zero then the producer will not wait for any acknowledgment from the \
            server at all. The record will be immediately added to the socket buffer and \
            considered sent. No guarantee can be made that the server has received the record in \
            this case",
    source: "https://kafka.apache.org/documentation/#producerconfigs_acks",
};

pub const COMMITTED_NOT_LOST: Doc = Doc {
    quote: "The guarantee that Kafka offers is that a committed message will not be lost, as long \
            as there is at least one in sync replica alive, at all times.",
    source: "https://kafka.apache.org/documentation/#replication",
};

pub const ALL_DIE: Doc = Doc {
    quote: "Note that Kafka's guarantee with respect to data loss is predicated on at least one \
            replica remaining in sync. If all the nodes replicating a partition die, this \
            guarantee no longer holds.",
    source: "https://kafka.apache.org/documentation/#design_uncleanleader",
};

pub const TOLERATE_N_MINUS_1: Doc = Doc {
    quote: "For a topic with replication factor N, we will tolerate up to N-1 server failures \
            without losing any records committed to the log.",
    source: "https://kafka.apache.org/26/documentation.html#intro_guarantees (Kafka 2.6; the \
             section left the introduction later, design §Replication says: \"With this ISR model \
             and f+1 replicas, a Kafka topic can tolerate f failures without losing committed \
             messages.\")",
};

pub const MIN_INSYNC: Doc = Doc {
    quote: "When a producer sets acks to \"all\" (or \"-1\"), this configuration specifies the \
            minimum number of replicas that must acknowledge a write for the write to be \
            considered successful. If this minimum cannot be met, then the producer will raise an \
            exception (either NotEnoughReplicas or NotEnoughReplicasAfterAppend).",
    source: "https://kafka.apache.org/documentation/#topicconfigs_min.insync.replicas",
};

pub const UNCLEAN: Doc = Doc {
    quote: "Indicates whether to enable replicas not in the ISR set to be elected as leader as a \
            last resort, even though doing so may result in data loss.",
    source: "https://kafka.apache.org/documentation/#topicconfigs_unclean.leader.election.enable",
};

pub const FLUSH: Doc = Doc {
    quote: "This setting allows specifying an interval at which we will force an fsync of data \
            written to the log. For example if this was set to 1 we would fsync after every \
            message; if it were 5 we would fsync after every five messages. In general we \
            recommend you not set this and use replication for durability",
    source: "https://kafka.apache.org/documentation/#topicconfigs_flush.messages",
};

pub const NO_STABLE_STORAGE: Doc = Doc {
    quote: "we do not want to require the use of fsync on every write for our consistency \
            guarantees as this can reduce performance by two to three orders of magnitude. Our \
            protocol for allowing a replica to rejoin the ISR ensures that before rejoining, it \
            must fully re-sync again even if it lost unflushed data in its crash.",
    source: "https://kafka.apache.org/documentation/#design_replicatedlog",
};

pub const KIP_966: Doc = Doc {
    quote: "When the last replica in the ISR experiences an unclean shutdown and loses committed \
            data, it will be reelected leader after starting up again, causing rejoining \
            followers to truncate their logs and thereby removing the last copies of the \
            committed records which the leader lost initially. This proposal solves this \"last \
            replica standing\" data loss issue in KRaft clusters, providing MinISR-1 tolerance to \
            data loss unclean shutdown events.",
    source:
        "https://cwiki.apache.org/confluence/display/KAFKA/KIP-966%3A+Eligible+Leader+Replicas \
             (ELR: \"not enabled by default for 4.0\", \"enabled by default on new clusters \
             starting 4.1\", https://kafka.apache.org/41/operations/eligible-leader-replicas)",
};

pub const ONLY_COMMITTED_READ: Doc = Doc {
    quote: "Only committed messages are ever given out to the consumer. This means that the \
            consumer need not worry about potentially seeing a message that could be lost if the \
            leader fails.",
    source: "https://kafka.apache.org/documentation/#replication",
};

pub const ORDER: Doc = Doc {
    quote: "Messages sent by a producer to a particular topic partition will be appended in the \
            order they are sent. That is, if a record M1 is sent by the same producer as a record \
            M2, and M1 is sent first, then M1 will have a lower offset than M2 and appear earlier \
            in the log. A consumer instance sees records in the order they are stored in the log.",
    source: "https://kafka.apache.org/26/documentation.html#intro_guarantees (today: \"Kafka \
             guarantees that any consumer of a given topic-partition will always read that \
             partition's events in exactly the same order as they were written.\", \
             https://kafka.apache.org/documentation/#intro_concepts_and_terms)",
};

pub const MAX_IN_FLIGHT: Doc = Doc {
    quote: "Note that if this configuration is set to be greater than 1 and enable.idempotence is \
            set to false, there is a risk of message reordering after a failed send due to \
            retries (i.e., if retries are enabled); if retries are disabled or if \
            enable.idempotence is set to true, ordering will be preserved.",
    source: "https://kafka.apache.org/documentation/#producerconfigs_max.in.flight.requests.per.connection \
             (librdkafka's default max.in.flight is 1000000)",
};

pub const IDEMPOTENCE: Doc = Doc {
    quote: "When set to 'true', the producer will ensure that exactly one copy of each message is \
            written in the stream. If 'false', producer retries due to broker failures, etc., may \
            write duplicates of the retried message in the stream.",
    source: "https://kafka.apache.org/documentation/#producerconfigs_enable.idempotence \
             (librdkafka: \"When set to true, the producer will ensure that messages are \
             successfully produced exactly once and in the original produce order.\", \
             https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md)",
};

pub const NOT_PERSISTED: Doc = Doc {
    quote: "Message was never transmitted to the broker, or failed with an error indicating it \
            was not written to the log.",
    source: "librdkafka rd_kafka_msg_status_t RD_KAFKA_MSG_STATUS_NOT_PERSISTED, \
             https://github.com/confluentinc/librdkafka/blob/master/src/rdkafka.h (the rdkafka \
             driver records a send `fail` only for this status)",
};

pub const ISOLATION: Doc = Doc {
    quote: "If set to read_committed, consumer.poll() will only return transactional messages \
            which have been committed. If set to read_uncommitted, consumer.poll() will return \
            all messages, even transactional messages which have been aborted.",
    source: "https://kafka.apache.org/documentation/#consumerconfigs_isolation.level",
};

pub const TXN_ATOMIC: Doc = Doc {
    quote: "the producer supports the ability to send messages to multiple topic partitions using \
            transaction-like semantics: i.e. either all messages are successfully written or none \
            of them are.",
    source: "https://kafka.apache.org/documentation/#semantics",
};

pub const TXN_TIMEOUT: Doc = Doc {
    quote: "The maximum amount of time in milliseconds that a transaction will remain open before \
            the coordinator proactively aborts it.",
    source: "https://kafka.apache.org/documentation/#producerconfigs_transaction.timeout.ms \
             (broken by KAFKA-16352: https://issues.apache.org/jira/browse/KAFKA-16352)",
};

pub const GROUP_ONE_OWNER: Doc = Doc {
    quote: "Kafka will deliver each message in the subscribed topics to one process in each \
            consumer group. This is achieved by balancing the partitions between all members in \
            the consumer group so that each partition is assigned to exactly one consumer in the \
            group.",
    source: "https://kafka.apache.org/40/javadoc/org/apache/kafka/clients/consumer/KafkaConsumer.html \
             (design: \"each of which is consumed by exactly one consumer within each subscribing \
             consumer group at any given time\", https://kafka.apache.org/documentation/#design_consumerposition)",
};

pub const AT_LEAST_ONCE: Doc = Doc {
    quote: "we will manually commit the offsets only after the corresponding records have been \
            inserted into the database. [...] Used in this way Kafka provides what is often \
            called \"at-least-once\" delivery guarantees, as each record will likely be delivered \
            one time but in failure cases could be duplicated.",
    source:
        "https://kafka.apache.org/40/javadoc/org/apache/kafka/clients/consumer/KafkaConsumer.html \
             (Manual Offset Control)",
};

pub const COMMITTED_POSITION: Doc = Doc {
    quote: "The committed position is the last offset that has been stored securely. Should the \
            process fail and restart, this is the offset that the consumer will recover to.",
    source:
        "https://kafka.apache.org/40/javadoc/org/apache/kafka/clients/consumer/KafkaConsumer.html \
             (Offsets and Consumer Position)",
};

pub const COMMIT_ASYNC_ORDER: Doc = Doc {
    quote: "Offsets committed through multiple calls to this API are guaranteed to be sent in the \
            same order as the invocations. Corresponding commit callbacks are also invoked in the \
            same order.",
    source: "https://kafka.apache.org/40/javadoc/org/apache/kafka/clients/consumer/KafkaConsumer.html#commitAsync() \
             (Java client; librdkafka documents no such order for rd_kafka_commit(async) \
             (paraphrase))",
};

pub const QUORUM_FETCH_TIMEOUT: Doc = Doc {
    quote: "Maximum time without a successful fetch from the current leader before becoming a \
            candidate and triggering an election for voters; Maximum time a leader can go without \
            receiving valid fetch or fetchSnapshot request from a majority of the quorum before \
            resigning.",
    source:
        "https://kafka.apache.org/documentation/#brokerconfigs_controller.quorum.fetch.timeout.ms \
             (KIP-595; broken by KAFKA-15489: https://issues.apache.org/jira/browse/KAFKA-15489)",
};

pub const RAFT_ELECTION_SAFETY: Doc = Doc {
    quote: "Election Safety: at most one leader can be elected in a given term.",
    source: "Raft (Ongaro & Ousterhout, Figure 3), https://raft.github.io/raft.pdf, which KRaft \
             implements: https://cwiki.apache.org/confluence/display/KAFKA/KIP-595%3A+A+Raft+Protocol+for+the+Metadata+Quorum",
};
