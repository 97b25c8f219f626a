//! The anomaly classes that the simulated Kafka can inject, one per run.

/// One anomaly class to inject into an otherwise correct simulated Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// An acknowledged record vanishes, leaving its offset empty.
    LostWrite,
    /// The last acknowledged record of a partition never reaches the log.
    Unseen,
    /// A producer retry appends a record twice.
    Duplicate,
    /// A consumer is served a different value at an existing offset.
    InconsistentOffsets,
    /// A producer's second send lands before its first.
    NonmonotonicSend,
    /// A consumer skips a record between polls.
    PollSkip,
    /// A consumer re-reads a record in its next poll.
    NonmonotonicPoll,
    /// A poll skips a record.
    IntPollSkip,
    /// A poll returns records out of order.
    IntNonmonotonicPoll,
    /// Another producer's record lands between a transaction's sends.
    IntSendSkip,
    /// A transaction's sends land in reverse order.
    IntNonmonotonicSend,
    /// A record nobody sent appears in the log.
    GarbageRead,
    /// A send reported as failed is in the log.
    FailedWriteRead,
    /// An aborted transaction's record is visible.
    AbortedRead,
    /// Two transactions' writes interleave in opposite orders.
    G0,
    /// A cycle through a write-read dependency.
    G1c,
}

impl Fault {
    pub const ALL: &'static [Fault] = &[
        Fault::LostWrite,
        Fault::Unseen,
        Fault::Duplicate,
        Fault::InconsistentOffsets,
        Fault::NonmonotonicSend,
        Fault::PollSkip,
        Fault::NonmonotonicPoll,
        Fault::IntPollSkip,
        Fault::IntNonmonotonicPoll,
        Fault::IntSendSkip,
        Fault::IntNonmonotonicSend,
        Fault::GarbageRead,
        Fault::FailedWriteRead,
        Fault::AbortedRead,
        Fault::G0,
        Fault::G1c,
    ];

    /// The anomaly class the fault must produce.
    pub fn class(self) -> &'static str {
        use crate::verdict::class::*;
        match self {
            Fault::LostWrite => LOST_WRITE,
            Fault::Unseen => UNSEEN,
            Fault::Duplicate => DUPLICATE,
            Fault::InconsistentOffsets => INCONSISTENT_OFFSETS,
            Fault::NonmonotonicSend => NONMONOTONIC_SEND,
            Fault::PollSkip => POLL_SKIP,
            Fault::NonmonotonicPoll => NONMONOTONIC_POLL,
            Fault::IntPollSkip => INT_POLL_SKIP,
            Fault::IntNonmonotonicPoll => INT_NONMONOTONIC_POLL,
            Fault::IntSendSkip => INT_SEND_SKIP,
            Fault::IntNonmonotonicSend => INT_NONMONOTONIC_SEND,
            Fault::GarbageRead => GARBAGE_READ,
            Fault::FailedWriteRead => FAILED_WRITE_READ,
            Fault::AbortedRead => ABORTED_READ,
            Fault::G0 => G0,
            Fault::G1c => G1C,
        }
    }
}
