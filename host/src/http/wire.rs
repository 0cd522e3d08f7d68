//! Connections: the accept loop, HTTP/1.1 through hyper with a time limit on reading a
//! request's head (slowloris), graceful shutdown, and the answers hyper gives on its own.
//!
//! hyper refuses some requests before any handler sees them: a URI over 64 KiB (`414`), a
//! head larger than its buffer (`431`), a request line or header it cannot parse (`400`). It
//! answers those with a bare status line and no body. Clients of a SCIM server parse error
//! bodies, so `Wire` — a thin layer over the socket — recognises such an answer as it is
//! written (an error status and no `Content-Type`, which every answer of ours carries) and
//! writes it with a JSON body of the request's API instead (`envelope::raw_error`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::envelope::{Api, raw_error};
use super::{AppState, app};

/// How much of a request's start is kept to tell which API it was for.
const HEAD_KEPT: usize = 256;

/// The largest request head hyper buffers (about its default): a longer head is `431`, a URI
/// over 64 KiB in a shorter one `414`.
const MAX_HEAD: usize = 400 << 10;

/// How long in-flight requests may take to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// After a rewritten answer, how long and how much of the rest of the refused request is read
/// and dropped before the socket closes: closing with unread input makes the kernel send a
/// reset, which can destroy the answer before the client reads it (a "lingering close").
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 4 << 20;

/// Serves `state`'s application on `listener` until `shutdown` resolves, then lets the
/// requests under way finish (up to `DRAIN`).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let header_timeout = state.settings.header_read_timeout;
    let router = app(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).max_buf_size(MAX_HEAD);
        let conn = builder.serve_connection(TokioIo::new(Wire::new(stream)), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still under way after {} s were cut off", DRAIN.as_secs());
    }
    Ok(())
}

/// A socket that rewrites hyper's own bodiless error answers (see the module documentation).
struct Wire {
    io: TcpStream,
    /// The start of the request being read.
    head: Vec<u8>,
    /// A rewritten answer being written: its bytes, how many went out, and the length of what
    /// hyper asked to write (reported once all of it went out).
    pending: Option<(Vec<u8>, usize, usize)>,
    /// Set once an answer was rewritten: the connection closes lingering (see `LINGER`).
    rewrote: bool,
    /// The lingering close under way: until when, and how much was dropped.
    linger: Option<(Pin<Box<tokio::time::Sleep>>, usize)>,
}

impl Wire {
    fn new(io: TcpStream) -> Wire {
        Wire { io, head: Vec::with_capacity(HEAD_KEPT), pending: None, rewrote: false, linger: None }
    }

    /// The API of the request whose start was kept.
    fn api(&self) -> Api {
        let line = String::from_utf8_lossy(&self.head);
        let path = line.split_whitespace().nth(1).unwrap_or("/");
        Api::of(path)
    }

    /// If `buf` starts an answer hyper made itself, the answer to write instead.
    fn rewrite(&self, buf: &[u8]) -> Option<Vec<u8>> {
        // `HTTP/1.1 4xx` or `5xx`: most answers are told apart by one byte.
        if !matches!(buf.get(9), Some(b'4' | b'5')) {
            return None;
        }
        let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        // hyper's own answer is a bare head, written alone; an answer of ours has a body, and a
        // chunk of a body (JSON, which never holds a raw CR LF) is never a head that ends it.
        if head_end + 4 != buf.len() {
            return None;
        }
        let head = std::str::from_utf8(&buf[..head_end]).ok()?;
        let status: u16 = head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
        let lower = head.to_ascii_lowercase();
        if status < 400 || lower.contains("\r\ncontent-type:") || !lower.contains("\r\ncontent-length: 0") {
            return None;
        }
        let status = StatusCode::from_u16(status).ok()?;
        let detail = match status {
            StatusCode::URI_TOO_LONG => "the request URI is longer than 65534 bytes".to_string(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                format!("the request's URI and headers are larger than {MAX_HEAD} bytes")
            }
            StatusCode::BAD_REQUEST => "the request line or a header could not be parsed".to_string(),
            other => other.canonical_reason().unwrap_or("error").to_string(),
        };
        let (body, content_type) = raw_error(self.api(), status, &detail);
        let reason = status.canonical_reason().unwrap_or("");
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
             x-content-type-options: nosniff\r\nconnection: close\r\n\r\n",
            status.as_u16(),
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body.as_bytes());
        Some(out)
    }

    /// Writes what is pending; `Ready(Ok(n))` with hyper's length once all of it went out.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, sent, reported)) = &mut self.pending {
            if *sent == bytes.len() {
                let n = *reported;
                self.pending = None;
                return Poll::Ready(Ok(n));
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *sent += n;
        }
        Poll::Ready(Ok(0))
    }

    /// Called as an answer starts: checks it, and gets ready for the next request.
    fn answer_starts(&mut self, buf: &[u8]) {
        if buf.starts_with(b"HTTP/1.") {
            if let Some(replacement) = self.rewrite(buf) {
                self.pending = Some((replacement, 0, buf.len()));
                self.rewrote = true;
            }
            self.head.clear();
        }
    }
}

impl AsyncRead for Wire {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.io).poll_read(cx, buf))?;
        let room = HEAD_KEPT.saturating_sub(self.head.len());
        if room > 0 {
            let new = &buf.filled()[before..];
            self.head.extend_from_slice(&new[..new.len().min(room)]);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Wire {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.pending.is_none() {
            self.answer_starts(buf);
        }
        if self.pending.is_some() {
            return self.poll_pending(cx);
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none()
            && let Some(first) = bufs.iter().find(|b| !b.is_empty())
        {
            self.answer_starts(first);
        }
        if self.pending.is_some() {
            return self.poll_pending(cx);
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pending.is_some() {
            ready!(self.poll_pending(cx))?;
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pending.is_some() {
            ready!(self.poll_pending(cx))?;
        }
        if !self.rewrote {
            return Pin::new(&mut self.io).poll_shutdown(cx);
        }
        // A lingering close: the answer and a FIN go out, then what the client still sends is
        // read and dropped for a while, so that closing does not reset the connection.
        if self.linger.is_none() {
            ready!(Pin::new(&mut self.io).poll_shutdown(cx))?;
            self.linger = Some((Box::pin(tokio::time::sleep(LINGER)), 0));
        }
        let this = &mut *self;
        let Some((deadline, dropped)) = &mut this.linger else { return Poll::Ready(Ok(())) };
        let mut scratch = [0u8; 16 * 1024];
        loop {
            if deadline.as_mut().poll(cx).is_ready() || *dropped > LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => *dropped += buf.filled().len(),
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
