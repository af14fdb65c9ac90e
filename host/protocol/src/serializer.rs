use crate::{json, msgpack, DecodeError, Incoming, Outgoing};

/// The wire format Storm and the subprocess agreed on
/// (`topology.multilang.serializer` on the Storm side).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Serializer {
    /// `org.apache.storm.multilang.JsonSerializer`, Storm's default.
    Json,
    /// storm-wasm's `org.stormwasm.storm.MessagePackSerializer`.
    MessagePack,
}

/// Values that have no encoding in the chosen serializer.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the message: {0}")]
pub struct EncodeError(pub String);

/// Where the first message of a buffer ends.
pub(crate) enum Frame {
    /// `body` bytes of message, `len` bytes including its terminator.
    Complete { body: usize, len: usize },
    /// Not all there yet; bytes before `scanned` need no second look.
    Incomplete { scanned: usize },
}

impl Serializer {
    /// Tells the serializer from the first byte Storm sends (the handshake
    /// map): `{` for JSON, a MessagePack map marker for MessagePack.
    pub fn detect(first_byte: u8) -> Option<Serializer> {
        match first_byte {
            b'{' => Some(Serializer::Json),
            0x80..=0x8f | 0xde | 0xdf => Some(Serializer::MessagePack),
            _ => None,
        }
    }

    /// Decodes one complete message (without the JSON `end` line).
    pub fn decode(&self, body: &[u8]) -> Result<Incoming, DecodeError> {
        match self {
            Serializer::Json => json::decode(body),
            Serializer::MessagePack => msgpack::decode(body),
        }
    }

    /// Appends `msg`, framed, to `out`. On error `out` is unchanged.
    pub fn encode(&self, msg: &Outgoing<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Serializer::Json => json::encode(msg, out),
            Serializer::MessagePack => {
                msgpack::encode(msg, out);
                Ok(())
            }
        }
    }

    pub(crate) fn frame(&self, buf: &[u8], scan_from: usize) -> Result<Frame, DecodeError> {
        match self {
            Serializer::Json => Ok(json_frame(buf, scan_from)),
            Serializer::MessagePack => match msgpack::value_len(buf) {
                Ok(len) => Ok(Frame::Complete { body: len, len }),
                Err(msgpack::Short::Incomplete) => Ok(Frame::Incomplete { scanned: 0 }),
                Err(msgpack::Short::Invalid(why)) => Err(DecodeError::MsgPack(why)),
            },
        }
    }
}

/// A JSON message ends at the first line that is exactly `end` (Storm's
/// `readLine` also strips a `\r`).
fn json_frame(buf: &[u8], scan_from: usize) -> Frame {
    let finder = memchr::memmem::Finder::new(b"\nend");
    let mut from = scan_from;
    while let Some(i) = finder.find(&buf[from..]).map(|i| i + from) {
        match &buf[i + 4..] {
            [] | [b'\r'] => return Frame::Incomplete { scanned: i },
            [b'\n', ..] => return Frame::Complete { body: i, len: i + 5 },
            [b'\r', b'\n', ..] => return Frame::Complete { body: i, len: i + 6 },
            _ => from = i + 1,
        }
    }
    Frame::Incomplete { scanned: buf.len().saturating_sub(3) }
}
