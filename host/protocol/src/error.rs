use std::io;

/// A message from Storm that could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not valid JSON, even for Storm's permissive json-smart.
    #[error("invalid JSON from Storm: {reason} (message starts with: {excerpt})")]
    Json {
        /// What the parser said.
        reason: String,
        /// The first bytes of the message, for the log.
        excerpt: String,
    },
    /// Not valid MessagePack.
    #[error("invalid MessagePack from Storm: {0}")]
    MsgPack(String),
    /// Well-formed, but not a message of the protocol.
    #[error("not a multi-lang message: {0}")]
    Unexpected(String),
}

/// Why no message could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Storm closed the pipe between messages: the normal way a task ends.
    #[error("Storm closed the connection (end of stdin)")]
    Closed,
    /// The pipe closed in the middle of a message.
    #[error("Storm closed the connection in the middle of a message ({0} bytes of it were read)")]
    Truncated(usize),
    /// A message grew past the size limit without ending.
    #[error(
        "a message from Storm is larger than {0} bytes (is the serializer right? JSON messages end with a line `end`)"
    )]
    TooLarge(usize),
    /// The bytes were not a message.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Reading stdin failed.
    #[error("cannot read from Storm: {0}")]
    Io(#[from] io::Error),
}
