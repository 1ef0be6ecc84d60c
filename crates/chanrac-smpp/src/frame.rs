//! Framing on a byte stream: read exactly one PDU, bounded; write frames in batches.
//!
//! [`FrameReader::read`] reads the 16-byte header, checks `command_length` against the limit
//! *before* making room for the body, then takes exactly the body. A frame whose length is
//! wrong is reported with its header, so the session can answer `generic_nack` with the right
//! sequence number before it closes the connection (a stream whose lengths cannot be trusted
//! cannot be resynchronised).
//!
//! [`spawn_writer`] owns the write half: frames sent to its channel are written in batches
//! (everything queued at the moment goes out in one `write_all`), which is what keeps the
//! syscall count per PDU low under load.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::pdu::{HEADER_LEN, Header};

/// The default largest PDU accepted: 64 KiB.
pub const DEFAULT_MAX_PDU: usize = 64 * 1024;

/// Why no frame could be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The connection failed, or closed inside a frame.
    #[error("connection error")]
    Io(#[from] std::io::Error),
    /// `command_length` is below 16 or above the limit: nothing after it can be trusted.
    #[error("command_length {} is outside 16..={max}", header.command_length)]
    BadLength {
        /// The header, for the `generic_nack`'s sequence number.
        header: Header,
        /// The limit.
        max: usize,
    },
}

/// Reads frames from a byte stream. [`FrameReader::read`] is cancel-safe: a session can
/// wait on it and on timers in one `select!` without losing a half-read frame (the bytes stay
/// in the reader's buffer).
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
    max_len: usize,
}

/// How much the buffer grows by when it runs out of room: large enough to take many PDUs in
/// one read under load.
const READ_CHUNK: usize = 64 * 1024;

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader that accepts frames up to `max_len` bytes (at least 16).
    pub fn new(inner: R, max_len: usize) -> Self {
        FrameReader {
            inner,
            buf: BytesMut::new(),
            max_len: max_len.max(HEADER_LEN),
        }
    }

    /// The frame limit.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Reads one whole frame; `Ok(None)` when the peer closed the connection between frames.
    /// The frame shares the reader's buffer: copy it (`Bytes::copy_from_slice`) to keep it
    /// long without pinning that buffer.
    pub async fn read(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            if self.buf.len() >= HEADER_LEN {
                let header = Header::parse(&self.buf).expect("16 bytes");
                let len = header.command_length as usize;
                if !(HEADER_LEN..=self.max_len).contains(&len) {
                    return Err(FrameError::BadLength {
                        header,
                        max: self.max_len,
                    });
                }
                if self.buf.len() >= len {
                    return Ok(Some(self.buf.split_to(len).freeze()));
                }
                // The length is checked: room for the rest of this frame may be made now.
                self.buf.reserve(len - self.buf.len());
            }
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(READ_CHUNK);
            }
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()))
                };
            }
        }
    }
}

/// Spawns the task that writes every frame sent to the returned channel, batching what is
/// queued. The task ends when every sender is dropped or a write fails; it then shuts the
/// write half down.
pub fn spawn_writer<W: AsyncWrite + Unpin + Send + 'static>(mut w: W, queue: usize) -> mpsc::Sender<Bytes> {
    let (tx, mut rx) = mpsc::channel::<Bytes>(queue.max(1));
    tokio::spawn(async move {
        let mut batch = BytesMut::with_capacity(64 * 1024);
        while let Some(first) = rx.recv().await {
            batch.clear();
            batch.extend_from_slice(&first);
            while batch.len() < 256 * 1024 {
                match rx.try_recv() {
                    Ok(f) => batch.extend_from_slice(&f),
                    Err(_) => break,
                }
            }
            if w.write_all(&batch).await.is_err() {
                break;
            }
        }
        let _ = w.shutdown().await;
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdu::{Body, Pdu};

    #[tokio::test]
    async fn reads_frames_and_refuses_bad_lengths() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&Pdu::new(1, Body::EnquireLink).encode());
        bytes.extend_from_slice(&Pdu::new(2, Body::Unbind).encode());
        // A header claiming 1 GiB: refused before any allocation, with its sequence number.
        bytes.extend_from_slice(&[0x40, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 3]);
        let mut r = FrameReader::new(&bytes[..], DEFAULT_MAX_PDU);
        let f = r.read().await.unwrap().unwrap();
        assert_eq!(Pdu::decode(f, DEFAULT_MAX_PDU).unwrap().sequence, 1);
        let f = r.read().await.unwrap().unwrap();
        assert_eq!(Pdu::decode(f, DEFAULT_MAX_PDU).unwrap().body, Body::Unbind);
        match r.read().await {
            Err(FrameError::BadLength { header, .. }) => assert_eq!(header.sequence_number, 3),
            other => panic!("expected a bad length, got {other:?}"),
        }
        // A clean close between frames, and a close inside one.
        assert!(FrameReader::new(&[][..], 64).read().await.unwrap().is_none());
        let cut = &Pdu::new(1, Body::EnquireLink).encode()[..10];
        assert!(matches!(FrameReader::new(cut, 64).read().await, Err(FrameError::Io(_))));
    }
}
