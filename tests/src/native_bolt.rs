//! A pass-through bolt written directly against the protocol, with no wasm:
//! the trivial child that shows the driver's own ceiling, and the floor of
//! what any multi-lang subprocess can cost.

use std::io::{self, BufWriter, Write};

use storm_multilang::{Emit, Incoming, MessageReader, Outgoing, ReadError, Serializer};

/// Runs until stdin closes: heartbeats get `sync`, tuples are emitted back
/// anchored and acked.
pub fn run(serializer: Serializer) -> io::Result<()> {
    let mut reader = MessageReader::new(io::stdin().lock(), serializer);
    let mut out = BufWriter::with_capacity(64 << 10, io::stdout().lock());
    let mut buf = Vec::with_capacity(64 << 10);
    loop {
        match reader.next_message() {
            Ok(Incoming::Handshake(h)) => {
                let _ = std::fs::File::create(std::path::Path::new(&h.pid_dir).join(std::process::id().to_string()));
                serializer.encode(&Outgoing::Pid(std::process::id()), &mut buf).map_err(io::Error::other)?;
            }
            Ok(Incoming::Tuple(t)) if t.is_heartbeat() => {
                serializer.encode(&Outgoing::Sync, &mut buf).map_err(io::Error::other)?
            }
            Ok(Incoming::Tuple(t)) => {
                let anchors = [t.id];
                let emit = Emit { stream: "default", anchors: &anchors, values: &t.values, ..Emit::default() };
                serializer.encode(&Outgoing::Emit(emit), &mut buf).map_err(io::Error::other)?;
                serializer.encode(&Outgoing::Ack(&anchors[0]), &mut buf).map_err(io::Error::other)?;
            }
            Ok(_) => {}
            Err(ReadError::Closed) => return out.flush(),
            Err(e) => return Err(io::Error::other(e)),
        }
        if !reader.has_buffered_message() || buf.len() > 32 << 10 {
            out.write_all(&buf)?;
            out.flush()?;
            buf.clear();
        }
    }
}
