use std::io::{ErrorKind, Read};

use crate::serializer::Frame;
use crate::{DecodeError, Incoming, ReadError, Serializer};

/// The largest message accepted by default: far above any sane tuple, and
/// a bound on what a stream of garbage without an `end` line can cost.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 << 20;

const READ_CHUNK: usize = 64 << 10;

/// Reads whole messages from Storm (the subprocess's stdin).
pub struct MessageReader<R> {
    frames: FrameReader<R>,
}

impl<R: Read> MessageReader<R> {
    /// A reader of `serializer` messages.
    pub fn new(inner: R, serializer: Serializer) -> Self {
        MessageReader { frames: FrameReader::new(inner, Some(serializer)) }
    }

    /// A reader that tells the serializer from the first byte of the stream.
    pub fn detecting(inner: R) -> Self {
        MessageReader { frames: FrameReader::new(inner, None) }
    }

    /// Sets the largest message accepted.
    pub fn max_message_bytes(mut self, max: usize) -> Self {
        self.frames.max_message = max;
        self
    }

    /// The serializer in use, once known.
    pub fn serializer(&self) -> Option<Serializer> {
        self.frames.serializer
    }

    /// Whether a complete message is already buffered, so that
    /// `next_message` will not block on the pipe.
    pub fn has_buffered_message(&self) -> bool {
        self.frames.has_buffered_frame()
    }

    /// The next message. A message that cannot be decoded is consumed and
    /// reported, so a caller may go on with the next one.
    pub fn next_message(&mut self) -> Result<Incoming, ReadError> {
        let (serializer, body) = self.frames.next_frame()?;
        serializer.decode(body).map_err(ReadError::from)
    }
}

/// Splits a byte stream into message bodies (without the JSON `end` line),
/// in either direction of the protocol.
pub struct FrameReader<R> {
    inner: R,
    serializer: Option<Serializer>,
    buf: Vec<u8>,
    start: usize,
    scanned: usize,
    max_message: usize,
}

impl<R: Read> FrameReader<R> {
    /// Frames of `serializer`, or detected from the first byte when `None`.
    pub fn new(inner: R, serializer: Option<Serializer>) -> Self {
        FrameReader {
            inner,
            serializer,
            buf: Vec::with_capacity(READ_CHUNK),
            start: 0,
            scanned: 0,
            max_message: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// The serializer in use, once known.
    pub fn serializer(&self) -> Option<Serializer> {
        self.serializer
    }

    /// Whether a complete frame is already buffered, so that `next_frame`
    /// will not block on the pipe.
    pub fn has_buffered_frame(&self) -> bool {
        let Some(s) = self.serializer else { return false };
        matches!(s.frame(&self.buf[self.start..], self.scanned), Ok(Frame::Complete { .. }) | Err(_))
    }

    /// The next frame's body and its serializer.
    pub fn next_frame(&mut self) -> Result<(Serializer, &[u8]), ReadError> {
        loop {
            if let Some(serializer) = self.serializer_or_detect()? {
                match serializer.frame(&self.buf[self.start..], self.scanned) {
                    Ok(Frame::Complete { body, len }) => {
                        let at = self.start;
                        self.start += len;
                        self.scanned = 0;
                        return Ok((serializer, &self.buf[at..at + body]));
                    }
                    Ok(Frame::Incomplete { scanned }) => self.scanned = scanned,
                    Err(e) => {
                        // Nothing after a broken MessagePack value can be
                        // framed again: drop the rest of the buffer.
                        self.start = self.buf.len();
                        self.scanned = 0;
                        return Err(e.into());
                    }
                }
            }
            if self.buf.len() - self.start > self.max_message {
                let size = self.buf.len() - self.start;
                self.start = self.buf.len();
                return Err(ReadError::TooLarge(size.min(self.max_message)));
            }
            self.fill()?;
        }
    }

    fn serializer_or_detect(&mut self) -> Result<Option<Serializer>, ReadError> {
        if self.serializer.is_some() {
            return Ok(self.serializer);
        }
        let pending = &self.buf[self.start..];
        let Some(first) = pending.iter().position(|b| !b.is_ascii_whitespace()) else { return Ok(None) };
        let byte = pending[first];
        match Serializer::detect(byte) {
            Some(s) => {
                self.start += first;
                self.serializer = Some(s);
                Ok(Some(s))
            }
            None => Err(DecodeError::Unexpected(format!(
                "cannot tell the serializer from the first byte 0x{byte:02x}: expected `{{` (JSON) or a MessagePack map"
            ))
            .into()),
        }
    }

    fn fill(&mut self) -> Result<(), ReadError> {
        if self.start > 0 && (self.start == self.buf.len() || self.start >= self.buf.capacity() / 2) {
            self.buf.drain(..self.start);
            self.scanned = 0;
            self.start = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + READ_CHUNK, 0);
        let n = loop {
            match self.inner.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e.into());
                }
            }
        };
        self.buf.truncate(len + n);
        if n == 0 {
            let rest = &self.buf[self.start..];
            return Err(if rest.iter().all(u8::is_ascii_whitespace) {
                ReadError::Closed
            } else {
                ReadError::Truncated(rest.len())
            });
        }
        Ok(())
    }
}
