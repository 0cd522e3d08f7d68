//! Bodies written while they are sent: a group with more members than `STREAM_AT` is
//! rendered as the engine's frame (`render-frame`) around its members, read and rendered
//! `CHUNK` at a time from one snapshot, so neither the host nor an engine instance ever holds
//! them all (docs/architecture.md §5). Memory stays at a few chunks whatever the group's size;
//! a client that goes away stops the work at the next chunk.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use super::response;
use crate::error::SCIM_CONTENT_TYPE;
use crate::runtime::RealmEngine;
use crate::runtime::bindings::{Context, Frame, Projection, ResourceKind};
use crate::store::{self, Snapshot};

/// Direct members past which a group's members are streamed.
pub const STREAM_AT: i64 = 1000;

/// Members read and rendered per engine call.
const CHUNK: i64 = 1000;

/// Chunks rendered ahead of the client.
const AHEAD: usize = 2;

type Chunk = std::io::Result<Bytes>;

/// The receiving end of the chunks, as the stream a body is made of.
struct Chunks(tokio::sync::mpsc::Receiver<Chunk>);

impl futures_core::Stream for Chunks {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Chunk>> {
        self.0.poll_recv(cx)
    }
}

/// A group whose members are streamed: what its body is made from.
pub struct Group {
    /// The snapshot the group's row was read from; its members are read from it too.
    pub snapshot: Snapshot,
    pub engine: Arc<RealmEngine>,
    pub ctx: Context,
    pub pk: i64,
    pub frame: Frame,
    pub projection: Projection,
}

/// A `200` whose body is `frame.head`, the group's members, `frame.tail`.
pub fn group(group: Group, version: i64, location: &str) -> Response {
    let Group { snapshot, engine, ctx, pk: group_pk, frame, projection } = group;
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(AHEAD);
    tokio::task::spawn_blocking(move || {
        let failed = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, group_pk, "streaming a group's members failed; the response is cut short");
            std::io::Error::other(e.to_string())
        };
        let send = |bytes: String| tx.blocking_send(Ok(Bytes::from(bytes))).is_ok();
        if !send(frame.head) {
            return;
        }
        let streamed = engine.with(|s| {
            let (mut after, mut first) = (None, true);
            loop {
                let (members, last) = store::members_after(snapshot.conn(), group_pk, after, CHUNK)?;
                if !members.is_empty() {
                    let mut text = s.render_relations(&ctx, ResourceKind::Group, &members, &projection)?;
                    if !first && !text.is_empty() {
                        text.insert(0, ',');
                    }
                    first &= text.is_empty();
                    if !send(text) {
                        return Ok(false);
                    }
                }
                match last {
                    Some(key) => after = Some(key),
                    None => return Ok(true),
                }
            }
        });
        drop(snapshot);
        match streamed {
            Ok(true) => {
                let _ = send(frame.tail);
            }
            Ok(false) => {}
            Err(e) => {
                let _ = tx.blocking_send(Err(failed(&e)));
            }
        }
    });
    let mut resp = Response::new(Body::from_stream(Chunks(rx)));
    *resp.status_mut() = StatusCode::OK;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(&response::etag(version)) {
        headers.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, v);
    }
    resp
}
