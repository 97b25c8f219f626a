//! A minimal Kafka protocol client over a tokio `TcpStream`: size-prefixed
//! frames of request header + body, one request in flight, ApiVersions once
//! per connection to pick the versions both sides speak. The messages
//! themselves are encoded and decoded by the `kafka-protocol` crate.

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The client id the brokers see in their request logs.
pub const CLIENT_ID: &str = "kafka-trial-observer";

/// The largest response frame accepted (a metadata response of a test topic
/// is a few KiB; anything this large is a protocol error, not data).
const MAX_FRAME: usize = 64 << 20;

/// ApiVersions v3 (flexible, KIP-511) is what every KRaft-era broker speaks.
const API_VERSIONS_VERSION: i16 = 3;

/// Encode one request frame: size, header (of the version the API key
/// demands for `version`), body.
pub fn encode_request<R: Request>(req: &R, version: i16, correlation_id: i32) -> Result<Bytes> {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
    let mut body = BytesMut::new();
    header
        .encode(&mut body, R::header_version(version))
        .context("encode request header")?;
    req.encode(&mut body, version)
        .with_context(|| format!("encode {:?} v{version}", api_name(R::KEY)))?;
    let mut frame = BytesMut::with_capacity(4 + body.len());
    frame.put_i32(body.len() as i32);
    frame.extend_from_slice(&body);
    Ok(frame.freeze())
}

/// Decode one response frame body (without the size prefix): the header,
/// checked against `correlation_id`, then the response of `version`.
pub fn decode_response<R: Request>(
    mut frame: Bytes,
    version: i16,
    correlation_id: i32,
) -> Result<R::Response> {
    let h = ResponseHeader::decode(
        &mut frame,
        <R::Response as HeaderVersion>::header_version(version),
    )
    .context("decode response header")?;
    if h.correlation_id != correlation_id {
        bail!(
            "response correlation id {} for request {correlation_id}",
            h.correlation_id
        );
    }
    let resp = R::Response::decode(&mut frame, version)
        .with_context(|| format!("decode {} v{version} response", api_name(R::KEY)))?;
    Ok(resp)
}

fn api_name(key: i16) -> String {
    ApiKey::try_from(key)
        .map(|k| format!("{k:?}"))
        .unwrap_or_else(|_| format!("api {key}"))
}

/// The highest version in `ours` that the peer also supports, if any.
pub fn pick_version(
    peer: &BTreeMap<i16, (i16, i16)>,
    key: ApiKey,
    ours: RangeInclusive<i16>,
) -> Option<i16> {
    let (min, max) = *peer.get(&(key as i16))?;
    let lo = min.max(*ours.start());
    let hi = max.min(*ours.end());
    (lo <= hi).then_some(hi)
}

/// One connection to one node's listener.
pub struct Conn {
    stream: TcpStream,
    next_id: i32,
    /// api key → (min, max) version the peer supports.
    pub versions: BTreeMap<i16, (i16, i16)>,
    /// Finalized feature levels the peer reported (e.g.
    /// `eligible.leader.replicas.version`).
    pub features: BTreeMap<String, i16>,
}

impl Conn {
    /// Connect and exchange ApiVersions, all within `timeout`.
    pub async fn open(addr: SocketAddr, timeout: Duration) -> Result<Conn> {
        tokio::time::timeout(timeout, async {
            let stream = TcpStream::connect(addr)
                .await
                .with_context(|| format!("connect to {addr}"))?;
            stream.set_nodelay(true).ok();
            let mut c = Conn {
                stream,
                next_id: 1,
                versions: BTreeMap::new(),
                features: BTreeMap::new(),
            };
            let req = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str(CLIENT_ID))
                .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
            let resp = c.call_raw(&req, API_VERSIONS_VERSION).await?;
            if resp.error_code != 0 {
                bail!("ApiVersions error code {}", resp.error_code);
            }
            c.versions = resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect();
            c.features = resp
                .finalized_features
                .iter()
                .map(|f| (f.name.to_string(), f.max_version_level))
                .collect();
            Ok(c)
        })
        .await
        .map_err(|_| anyhow!("timed out after {}", secs(timeout)))?
    }

    /// The version of `key` to use: the highest in `ours` the peer supports.
    pub fn version(&self, key: ApiKey, ours: RangeInclusive<i16>) -> Option<i16> {
        pick_version(&self.versions, key, ours)
    }

    /// Send one request and wait for its response, within `timeout`. After
    /// an error the connection must be dropped (a late response would be
    /// read as the answer to the next request).
    pub async fn call<R: Request>(
        &mut self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        tokio::time::timeout(timeout, self.call_raw(req, version))
            .await
            .map_err(|_| anyhow!("timed out after {}", secs(timeout)))?
    }

    async fn call_raw<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let frame = encode_request(req, version, id)?;
        self.stream.write_all(&frame).await.context("send")?;
        let len = self.stream.read_i32().await.context("receive")?;
        if len < 0 || len as usize > MAX_FRAME {
            bail!("response frame of {len} bytes");
        }
        let mut buf = vec![0u8; len as usize];
        self.stream.read_exact(&mut buf).await.context("receive")?;
        decode_response::<R>(Bytes::from(buf), version, id)
    }
}

/// `2s`, `500ms`: how a timeout reads in an error.
pub fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Read the size prefix of a frame (for tests of the framing).
pub fn split_frame(mut frame: Bytes) -> Result<Bytes> {
    if frame.len() < 4 {
        bail!("short frame");
    }
    let len = frame.get_i32() as usize;
    if frame.len() != len {
        bail!("frame says {len} bytes, has {}", frame.len());
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::{
        ApiVersionsResponse, BrokerId, MetadataRequest, MetadataResponse, TopicName,
    };

    #[test]
    fn a_request_frame_is_size_header_body() {
        let req = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default()
                .with_name(Some(TopicName(StrBytes::from_static_str("t"))))]));
        let frame = encode_request(&req, 12, 7).unwrap();
        let mut body = split_frame(frame).unwrap();
        // Metadata v12 uses request header v2: key, version, correlation id, client id, tags.
        let h = RequestHeader::decode(&mut body, 2).unwrap();
        assert_eq!(h.request_api_key, ApiKey::Metadata as i16);
        assert_eq!(h.request_api_version, 12);
        assert_eq!(h.correlation_id, 7);
        assert_eq!(h.client_id.as_deref(), Some(CLIENT_ID));
        let back = MetadataRequest::decode(&mut body, 12).unwrap();
        assert_eq!(back, req);
        assert!(body.is_empty());
    }

    #[test]
    fn a_response_round_trips_and_its_correlation_id_is_checked() {
        let part = MetadataResponsePartition::default()
            .with_partition_index(0)
            .with_leader_id(BrokerId(2))
            .with_leader_epoch(5)
            .with_replica_nodes(vec![BrokerId(1), BrokerId(2), BrokerId(3)])
            .with_isr_nodes(vec![BrokerId(2), BrokerId(3)]);
        let resp = MetadataResponse::default().with_topics(vec![MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
            .with_partitions(vec![part])]);
        let mut buf = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(9)
            .encode(&mut buf, 1)
            .unwrap();
        resp.encode(&mut buf, 12).unwrap();
        let frame = buf.freeze();
        let back = decode_response::<MetadataRequest>(frame.clone(), 12, 9).unwrap();
        assert_eq!(back.topics[0].partitions[0].leader_epoch, 5);
        assert_eq!(back, resp);
        let e = decode_response::<MetadataRequest>(frame, 12, 10).unwrap_err();
        assert!(e.to_string().contains("correlation"), "{e}");
    }

    #[test]
    fn api_versions_response_uses_header_v0() {
        // The broker answers ApiVersions with a v0 header even for v3 bodies,
        // so that a client can read it before it knows what the broker speaks.
        let resp = ApiVersionsResponse::default().with_api_keys(vec![ApiVersion::default()
            .with_api_key(3)
            .with_min_version(0)
            .with_max_version(13)]);
        let mut buf = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(1)
            .encode(&mut buf, 0)
            .unwrap();
        resp.encode(&mut buf, 3).unwrap();
        let back = decode_response::<ApiVersionsRequest>(buf.freeze(), 3, 1).unwrap();
        assert_eq!(back.api_keys[0].max_version, 13);
    }

    #[test]
    fn the_version_is_the_highest_both_speak() {
        let peer: BTreeMap<i16, (i16, i16)> = [(3, (0, 13)), (60, (0, 1)), (75, (0, 0))].into();
        assert_eq!(pick_version(&peer, ApiKey::Metadata, 9..=12), Some(12));
        assert_eq!(pick_version(&peer, ApiKey::DescribeCluster, 2..=2), None);
        assert_eq!(
            pick_version(&peer, ApiKey::DescribeTopicPartitions, 0..=0),
            Some(0)
        );
        assert_eq!(pick_version(&peer, ApiKey::DescribeQuorum, 0..=2), None);
    }
}
