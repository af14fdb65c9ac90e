use storm_multilang::storm_side;
use storm_multilang::{MessageReader, ReadError, Serializer};

/// Any bytes from Storm: every message decodes or is refused with an error,
/// never a panic, a hang or unbounded memory; the same for what a child
/// could send Storm.
pub fn decode_all(serializer: Serializer, data: &[u8]) {
    let mut reader = MessageReader::new(data, serializer).max_message_bytes(1 << 20);
    for _ in 0..10_000 {
        match reader.next_message() {
            Ok(_) | Err(ReadError::Decode(_)) => {}
            Err(_) => break,
        }
    }
    let _ = storm_side::decode(serializer, data);
    let _ = storm_multilang::msgpack::value_len(data);
}
