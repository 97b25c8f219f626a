//! A consumer-group member on librdkafka: subscribes, polls, commits, and
//! reports every rebalance and commit outcome with the member's generation
//! and when it happened ([`GroupEvent`]).
//!
//! Rebalances are librdkafka's own (the default rebalance handling of the
//! `rdkafka` crate: `assign` / `incremental_assign` by protocol); the
//! context only watches: after each assignment or revocation it reads the
//! whole assignment, the generation and member id, and for newly assigned
//! partitions the group's committed offsets (what the member starts from).
//! A poll stops at the first rebalance, so the records it returns all came
//! before the event; a record fetched after it waits for the next poll.

use super::{common, partitions_of, record_of};
use crate::clients::{
    ClientSettings, CommitOutcome, GroupEvent, GroupMember, GroupPoll, GroupProtocol, GroupSettings,
};
use rdkafka::config::ClientConfig as RdConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::ffi::CStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trial_histories::values::{Partition, Record};

/// How long an assignment's committed-offset fetch may hold the rebalance
/// callback.
const COMMITTED_FETCH: Duration = Duration::from_secs(2);

fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

/// librdkafka's properties of a group member.
pub fn member_config(s: &ClientSettings, g: &GroupSettings) -> RdConfig {
    let mut c = common(s);
    c.set("group.id", &g.group)
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "50")
        .set("enable.partition.eof", "false")
        .set("max.poll.interval.ms", ms(g.max_poll_interval));
    match g.commit {
        trial_histories::values::CommitMode::Auto => {
            // Offsets are stored for the records a poll hands to the
            // application (`RdMember::poll`), not for what librdkafka's
            // own polling returns while the consumer closes.
            c.set("enable.auto.commit", "true")
                .set("auto.commit.interval.ms", "1000")
                .set("enable.auto.offset.store", "false");
        }
        _ => {
            c.set("enable.auto.commit", "false");
        }
    }
    match g.protocol {
        GroupProtocol::Classic => {
            let session = s.session_timeout.max(Duration::from_millis(1000));
            c.set("group.protocol", "classic")
                .set("session.timeout.ms", ms(session))
                .set(
                    "heartbeat.interval.ms",
                    ms((session / 6).max(Duration::from_millis(100))),
                )
                .set(
                    "partition.assignment.strategy",
                    g.assignor.as_deref().unwrap_or("range,roundrobin"),
                );
        }
        GroupProtocol::Consumer => {
            // Session and heartbeat are the broker's (group.consumer.*).
            c.set("group.protocol", "consumer");
            if let Some(a) = &g.assignor {
                c.set("group.remote.assignor", a);
            }
        }
    }
    for (k, v) in &s.consumer_overrides {
        c.set(k, v);
    }
    c
}

/// The member's generation (member epoch under KIP-848) and member id, as
/// librdkafka holds them now.
fn identity<C: ConsumerContext>(c: &BaseConsumer<C>) -> (Option<i32>, Option<String>) {
    // SAFETY: the consumer is alive for the call; the metadata object is
    // ours to destroy, and the member id string lives until then.
    unsafe {
        let md = rdkafka::bindings::rd_kafka_consumer_group_metadata(c.client().native_ptr());
        if md.is_null() {
            return (None, None);
        }
        let g = rdkafka::bindings::rd_kafka_consumer_group_metadata_generation_id(md);
        let m = rdkafka::bindings::rd_kafka_consumer_group_metadata_member_id(md);
        let member = if m.is_null() {
            None
        } else {
            Some(CStr::from_ptr(m).to_string_lossy().into_owned()).filter(|s| !s.is_empty())
        };
        rdkafka::bindings::rd_kafka_consumer_group_metadata_destroy(md);
        ((g >= 0).then_some(g), member)
    }
}

fn offsets_of(tpl: &TopicPartitionList) -> Vec<(Partition, i64)> {
    let mut v: Vec<(Partition, i64)> = tpl
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some((e.partition(), o)),
            _ => None,
        })
        .collect();
    v.sort_unstable();
    v
}

/// The history outcome of a commit's error (the table in
/// [`crate::clients`]): the coordinator's definite refusals are `fail`,
/// anything that may have reached it is `info`.
pub fn classify_commit(e: &KafkaError) -> CommitOutcome {
    use RDKafkaErrorCode as C;
    match e.rdkafka_error_code() {
        Some(
            C::IllegalGeneration
            | C::UnknownMemberId
            | C::RebalanceInProgress
            | C::FencedMemberEpoch
            | C::StaleMemberEpoch
            | C::FencedInstanceId
            | C::AssignmentLost
            | C::State
            | C::InvalidArgument
            | C::UnknownTopicOrPartition
            | C::GroupAuthorizationFailed,
        ) => CommitOutcome::Fail(e.to_string()),
        _ => CommitOutcome::Info(e.to_string()),
    }
}

/// Watches rebalances and commit callbacks.
pub struct MemberContext {
    events: Mutex<Vec<GroupEvent>>,
    /// Report commit callbacks (async and auto commits; a sync commit's
    /// outcome is its return value).
    report_commits: bool,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn post_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        let at = Instant::now();
        let whole = c
            .assignment()
            .map(|t| partitions_of(&t))
            .unwrap_or_default();
        let (generation, member) = identity(c);
        let ev = match r {
            Rebalance::Assign(tpl) => {
                let added = partitions_of(tpl);
                let committed = if added.is_empty() {
                    vec![]
                } else {
                    c.committed_offsets((*tpl).clone(), COMMITTED_FETCH)
                        .map(|t| offsets_of(&t))
                        .unwrap_or_default()
                };
                GroupEvent::Assigned {
                    added,
                    whole,
                    generation,
                    member,
                    committed,
                    at,
                }
            }
            Rebalance::Revoke(tpl) => GroupEvent::Revoked {
                revoked: partitions_of(tpl),
                whole,
                lost: c.assignment_lost(),
                generation,
                member,
                at,
            },
            Rebalance::Error(_) => return,
        };
        if let Ok(mut g) = self.events.lock() {
            g.push(ev);
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if !self.report_commits {
            return;
        }
        let outcome = match &result {
            Ok(()) => CommitOutcome::Ok,
            // Nothing was stored to commit: no commit happened.
            Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset) => return,
            Err(e) => classify_commit(e),
        };
        let ev = GroupEvent::Committed {
            offsets: offsets_of(offsets),
            outcome,
            generation: None,
            at: Instant::now(),
        };
        if let Ok(mut g) = self.events.lock() {
            g.push(ev);
        }
    }
}

/// The queue an asynchronous commit's result comes back on. librdkafka
/// posts the result of `rd_kafka_commit(…, async)` on a queue this
/// consumer's poll never serves, so the member commits through
/// `rd_kafka_commit_queue` onto a queue of its own and serves it after
/// every poll (the result arrives as an `OFFSET_COMMIT` event).
struct CommitQueue(*mut rdkafka::bindings::rd_kafka_queue_t);

// SAFETY: a librdkafka queue handle may be used from any thread.
unsafe impl Send for CommitQueue {}
unsafe impl Sync for CommitQueue {}

impl Drop for CommitQueue {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_queue_new, destroyed once, before
        // the client (the field order of `RdMember`).
        unsafe { rdkafka::bindings::rd_kafka_queue_destroy(self.0) }
    }
}

/// A librdkafka group member of the test topic.
pub struct RdMember {
    /// Declared before `inner`: destroyed before the client.
    commits: CommitQueue,
    /// Asynchronous commits whose result has not come back.
    outstanding: std::sync::atomic::AtomicUsize,
    inner: BaseConsumer<MemberContext>,
    context: Arc<MemberContext>,
    topic: String,
    /// Records fetched after a rebalance inside the last poll.
    pending: Mutex<Vec<Record>>,
    /// Auto-commit: store each returned record's offset for the next commit.
    store: bool,
}

impl RdMember {
    pub fn new(s: &ClientSettings, g: &GroupSettings) -> Result<RdMember, String> {
        let report_commits = g.commit != trial_histories::values::CommitMode::Sync;
        let inner: BaseConsumer<MemberContext> = member_config(s, g)
            .create_with_context(MemberContext {
                events: Mutex::new(vec![]),
                report_commits,
            })
            .map_err(|e| e.to_string())?;
        let context = inner.context().clone();
        // SAFETY: the client is alive; the queue is destroyed before it.
        let q = unsafe { rdkafka::bindings::rd_kafka_queue_new(inner.client().native_ptr()) };
        if q.is_null() {
            return Err("librdkafka could not create a commit queue".into());
        }
        Ok(RdMember {
            commits: CommitQueue(q),
            outstanding: std::sync::atomic::AtomicUsize::new(0),
            inner,
            context,
            topic: s.topic.clone(),
            pending: Mutex::new(vec![]),
            store: g.commit == trial_histories::values::CommitMode::Auto,
        })
    }

    /// What the context collected since the last call. A commit
    /// callback's event has no generation: the callback does not say which
    /// generation the commit was sent in, and the member's generation when
    /// the callback is served may already be a later one.
    fn take_events(&self) -> Vec<GroupEvent> {
        self.context
            .events
            .lock()
            .map(|mut g| std::mem::take(&mut *g))
            .unwrap_or_default()
    }

    /// Serve the commit queue for at most `timeout_ms`: each asynchronous
    /// commit's result becomes a [`GroupEvent::Committed`].
    fn serve_commits(&self, timeout_ms: i32) {
        use rdkafka::bindings as rd;
        use std::sync::atomic::Ordering;
        let mut wait = timeout_ms;
        loop {
            // SAFETY: the queue is alive; every event polled is destroyed
            // below, and its partition list is only read before that.
            unsafe {
                let ev = rd::rd_kafka_queue_poll(self.commits.0, wait);
                if ev.is_null() {
                    return;
                }
                wait = 0;
                if rd::rd_kafka_event_type(ev) == rd::RD_KAFKA_EVENT_OFFSET_COMMIT {
                    let err = rd::rd_kafka_event_error(ev);
                    let list = rd::rd_kafka_event_topic_partition_list(ev);
                    let mut offsets = vec![];
                    if !list.is_null() {
                        let l = &*list;
                        for i in 0..l.cnt.max(0) as usize {
                            let e = &*l.elems.add(i);
                            if e.offset >= 0 {
                                offsets.push((e.partition, e.offset));
                            }
                        }
                    }
                    offsets.sort_unstable();
                    let outcome = if err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                        CommitOutcome::Ok
                    } else {
                        classify_commit(&KafkaError::ConsumerCommit(err.into()))
                    };
                    let _ =
                        self.outstanding
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                Some(n.saturating_sub(1))
                            });
                    if let Ok(mut g) = self.context.events.lock() {
                        g.push(GroupEvent::Committed {
                            offsets,
                            outcome,
                            generation: None,
                            at: Instant::now(),
                        });
                    }
                }
                rd::rd_kafka_event_destroy(ev);
            }
        }
    }

    fn has_rebalance(&self) -> bool {
        self.context
            .events
            .lock()
            .is_ok_and(|g| g.iter().any(|e| !matches!(e, GroupEvent::Committed { .. })))
    }

    fn tpl(&self, offsets: &[(Partition, i64)]) -> Result<TopicPartitionList, String> {
        let mut tpl = TopicPartitionList::new();
        for &(p, o) in offsets {
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(o))
                .map_err(|e| e.to_string())?;
        }
        Ok(tpl)
    }
}

impl GroupMember for RdMember {
    fn subscribe(&self) -> Result<(), String> {
        self.inner
            .subscribe(&[&self.topic])
            .map_err(|e| e.to_string())
    }

    fn poll(&self, max: usize, within: Duration) -> GroupPoll {
        let deadline = Instant::now() + within;
        let mut res = GroupPoll {
            records: self
                .pending
                .lock()
                .map(|mut g| std::mem::take(&mut *g))
                .unwrap_or_default(),
            ..Default::default()
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || res.records.len() >= max {
                break;
            }
            let msg = self.inner.poll(left.min(Duration::from_millis(100)));
            self.serve_commits(0);
            let rebalanced = self.has_rebalance();
            match msg {
                None => {
                    if rebalanced || !res.records.is_empty() {
                        break;
                    }
                }
                Some(Ok(m)) => {
                    let r = record_of(&m);
                    if rebalanced {
                        // Fetched after the rebalance: the next poll's.
                        if let Ok(mut g) = self.pending.lock() {
                            g.push(r);
                        }
                        break;
                    }
                    res.records.push(r);
                }
                Some(Err(e)) => {
                    res.error = Some(e.to_string());
                    break;
                }
            }
            if rebalanced {
                break;
            }
        }
        res.events = self.take_events();
        if self.store {
            // Handed to the application now: auto-commit may commit them.
            for r in &res.records {
                let _ = self.inner.store_offset(&self.topic, r.partition, r.offset);
            }
        }
        res
    }

    fn commit_sync(&self, offsets: &[(Partition, i64)]) -> CommitOutcome {
        let tpl = match self.tpl(offsets) {
            Ok(t) => t,
            Err(e) => return CommitOutcome::Fail(e),
        };
        match self.inner.commit(&tpl, CommitMode::Sync) {
            Ok(()) => CommitOutcome::Ok,
            Err(e) => classify_commit(&e),
        }
    }

    fn commit_async(&self, offsets: &[(Partition, i64)]) -> Result<(), String> {
        let tpl = self.tpl(offsets)?;
        // SAFETY: client, list and queue are alive for the call; librdkafka
        // copies the list.
        let err = unsafe {
            rdkafka::bindings::rd_kafka_commit_queue(
                self.inner.client().native_ptr(),
                tpl.ptr(),
                self.commits.0,
                None,
                std::ptr::null_mut(),
            )
        };
        if err != rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(KafkaError::ConsumerCommit(err.into()).to_string());
        }
        self.outstanding
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    fn generation(&self) -> Option<i32> {
        identity(&self.inner).0
    }

    fn close(self: Box<Self>) -> Vec<GroupEvent> {
        // Wait (bounded) for the results of asynchronous commits in flight.
        let until = Instant::now() + Duration::from_secs(3);
        while self.outstanding.load(std::sync::atomic::Ordering::SeqCst) > 0
            && Instant::now() < until
        {
            self.serve_commits(100);
        }
        let context = self.context.clone();
        let RdMember {
            inner,
            pending,
            commits,
            ..
        } = *self;
        drop(pending);
        drop(commits);
        // Dropping closes the consumer: the final revocation and (with
        // auto-commit) the final commit are reported through the context.
        drop(inner);
        let evs = context
            .events
            .lock()
            .map(|mut g| std::mem::take(&mut *g))
            .unwrap_or_default();
        evs
    }
}

/// The group's committed offsets of `partitions`, read by a client that
/// does not join the group (after heal).
pub fn committed(
    s: &ClientSettings,
    group: &str,
    partitions: &[Partition],
    within: Duration,
) -> Result<Vec<(Partition, i64)>, String> {
    let mut c = common(s);
    c.set("group.id", group).set("enable.auto.commit", "false");
    let consumer: BaseConsumer = c.create().map_err(|e| e.to_string())?;
    let mut tpl = TopicPartitionList::new();
    for &p in partitions {
        tpl.add_partition(&s.topic, p);
    }
    consumer
        .committed_offsets(tpl, within)
        .map(|t| offsets_of(&t))
        .map_err(|e| e.to_string())
}
