//! The MessagePack serializer: one MessagePack value per message, no
//! delimiter (the framing of pyleus' Java serializer and pystorm's
//! `MsgpackSerializer`; `docs/msgpack-framing.md`).
//!
//! Decoding walks the bytes directly: a tuple's values are sliced out of the
//! message without being decoded, which is what makes this the fast path.

use crate::{BoltTuple, DecodeError, Emit, Handshake, Incoming, Outgoing, SpoutCommand};

/// Why a value could not be read from a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Short {
    /// The buffer ends inside the value: read more.
    Incomplete,
    /// The bytes are not MessagePack (or not what was expected).
    Invalid(String),
}

/// The length of the first complete MessagePack value in `buf`.
/// Iterative (no recursion), so hostile nesting cannot overflow the stack.
pub fn value_len(buf: &[u8]) -> Result<usize, Short> {
    let mut pos = 0usize;
    let mut pending: u64 = 1; // values still to skip
    while pending > 0 {
        pending -= 1;
        let marker = *buf.get(pos).ok_or(Short::Incomplete)?;
        pos += 1;
        let (skip, children): (usize, u64) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * (marker & 0x0f) as u64),
            0x90..=0x9f => (0, (marker & 0x0f) as u64),
            0xa0..=0xbf => ((marker & 0x1f) as usize, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 | 0xca => (4, 0),
            0xcf | 0xd3 | 0xcb => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xc4 | 0xd9 => (read_be(buf, pos, 1)? as usize + 1, 0),
            0xc5 | 0xda => (read_be(buf, pos, 2)? as usize + 2, 0),
            0xc6 | 0xdb => (read_be(buf, pos, 4)? as usize + 4, 0),
            0xc7 => (read_be(buf, pos, 1)? as usize + 2, 0),
            0xc8 => (read_be(buf, pos, 2)? as usize + 3, 0),
            0xc9 => (read_be(buf, pos, 4)? as usize + 5, 0),
            0xdc => {
                let n = read_be(buf, pos, 2)?;
                (2, n)
            }
            0xdd => {
                let n = read_be(buf, pos, 4)?;
                (4, n)
            }
            0xde => {
                let n = read_be(buf, pos, 2)?;
                (2, 2 * n)
            }
            0xdf => {
                let n = read_be(buf, pos, 4)?;
                (4, 2 * n)
            }
            0xc1 => return Err(Short::Invalid("byte 0xc1 is never used in MessagePack".into())),
        };
        // ok_or_else: this runs per element, and an eager error String was
        // most of the allocations per tuple (callgrind).
        pos = pos.checked_add(skip).ok_or_else(|| Short::Invalid("length overflow".into()))?;
        if pos > buf.len() {
            return Err(Short::Incomplete);
        }
        pending += children;
        // Every child takes at least one byte: a count larger than what can
        // still arrive is fine (Incomplete), but never loops past u64.
    }
    Ok(pos)
}

fn read_be(buf: &[u8], pos: usize, n: usize) -> Result<u64, Short> {
    let bytes = buf.get(pos..pos + n).ok_or(Short::Incomplete)?;
    Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
}

/// A forward reader over one complete message.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    fn peek(&self) -> Result<u8, DecodeError> {
        self.buf.get(self.pos).copied().ok_or_else(|| invalid("message ends early"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let out = self.buf.get(self.pos..self.pos + n).ok_or_else(|| invalid("message ends early"))?;
        self.pos += n;
        Ok(out)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }

    /// The raw bytes of the next value, skipped.
    pub(crate) fn raw_value(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = value_len(&self.buf[self.pos..]).map_err(|e| match e {
            Short::Incomplete => invalid("message ends early"),
            Short::Invalid(why) => invalid(&why),
        })?;
        self.take(len)
    }

    pub(crate) fn map_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let m = self.peek()?;
        Ok(Some(match m {
            0x80..=0x8f => {
                self.pos += 1;
                (m & 0x0f) as usize
            }
            0xde => {
                self.pos += 1;
                self.uint(2)? as usize
            }
            0xdf => {
                self.pos += 1;
                self.uint(4)? as usize
            }
            _ => return Ok(None),
        }))
    }

    pub(crate) fn array_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let m = self.peek()?;
        Ok(Some(match m {
            0x90..=0x9f => {
                self.pos += 1;
                (m & 0x0f) as usize
            }
            0xdc => {
                self.pos += 1;
                self.uint(2)? as usize
            }
            0xdd => {
                self.pos += 1;
                self.uint(4)? as usize
            }
            _ => return Ok(None),
        }))
    }

    /// A str (or bin holding UTF-8, which old msgpack-java writes for strings).
    pub(crate) fn str(&mut self) -> Result<Option<&'a str>, DecodeError> {
        let m = self.peek()?;
        let len = match m {
            0xa0..=0xbf => {
                self.pos += 1;
                (m & 0x1f) as usize
            }
            0xd9 | 0xc4 => {
                self.pos += 1;
                self.uint(1)? as usize
            }
            0xda | 0xc5 => {
                self.pos += 1;
                self.uint(2)? as usize
            }
            0xdb | 0xc6 => {
                self.pos += 1;
                self.uint(4)? as usize
            }
            _ => return Ok(None),
        };
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map(Some).map_err(|_| invalid("a string is not UTF-8"))
    }

    pub(crate) fn int(&mut self) -> Result<Option<i64>, DecodeError> {
        let m = self.peek()?;
        let v = match m {
            0x00..=0x7f => {
                self.pos += 1;
                m as i64
            }
            0xe0..=0xff => {
                self.pos += 1;
                m as i8 as i64
            }
            0xcc => {
                self.pos += 1;
                self.uint(1)? as i64
            }
            0xcd => {
                self.pos += 1;
                self.uint(2)? as i64
            }
            0xce => {
                self.pos += 1;
                self.uint(4)? as i64
            }
            0xcf => {
                self.pos += 1;
                let v = self.uint(8)?;
                i64::try_from(v).map_err(|_| invalid("integer out of range"))?
            }
            0xd0 => {
                self.pos += 1;
                self.uint(1)? as u8 as i8 as i64
            }
            0xd1 => {
                self.pos += 1;
                self.uint(2)? as u16 as i16 as i64
            }
            0xd2 => {
                self.pos += 1;
                self.uint(4)? as u32 as i32 as i64
            }
            0xd3 => {
                self.pos += 1;
                self.uint(8)? as i64
            }
            _ => return Ok(None),
        };
        Ok(Some(v))
    }

    pub(crate) fn bool(&mut self) -> Result<Option<bool>, DecodeError> {
        match self.peek()? {
            0xc2 => {
                self.pos += 1;
                Ok(Some(false))
            }
            0xc3 => {
                self.pos += 1;
                Ok(Some(true))
            }
            _ => Ok(None),
        }
    }

    /// Any value as text: a string as is, anything else printed.
    pub(crate) fn text(&mut self) -> Result<String, DecodeError> {
        id_text(self)
    }

    fn nil(&mut self) -> Result<bool, DecodeError> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn done(&self) -> bool {
        self.pos == self.buf.len()
    }
}

fn invalid(why: &str) -> DecodeError {
    DecodeError::MsgPack(why.to_string())
}

fn unexpected(why: impl Into<String>) -> DecodeError {
    DecodeError::Unexpected(why.into())
}

/// Decodes one complete message.
pub(crate) fn decode(msg: &[u8]) -> Result<Incoming, DecodeError> {
    let mut c = Cursor::new(msg);
    if let Some(n) = c.array_len()? {
        let mut ids = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let id = c.int()?.ok_or_else(|| unexpected("a task-id list holds a non-integer"))?;
            ids.push(id as i32);
        }
        return Ok(Incoming::TaskIds(ids));
    }
    let Some(n) = c.map_len()? else {
        return Err(unexpected(format!("expected a map or an array, found marker 0x{:02x}", c.peek()?)));
    };
    let mut f = Fields::default();
    for _ in 0..n {
        let Some(key) = c.str()? else {
            c.raw_value()?; // a non-string key is nothing of ours
            c.raw_value()?;
            continue;
        };
        match key {
            "id" => f.id = Some(id_text(&mut c)?),
            "comp" => f.comp = if c.nil()? { None } else { Some(string(&mut c, "comp")?) },
            "stream" => f.stream = Some(string(&mut c, "stream")?),
            "task" => f.task = Some(c.int()?.ok_or_else(|| unexpected("`task` is not an integer"))? as i32),
            "tuple" => {
                let raw = c.raw_value()?;
                if !matches!(raw[0], 0x90..=0x9f | 0xdc | 0xdd) {
                    return Err(unexpected("`tuple` is not an array"));
                }
                f.tuple = Some(raw);
            }
            "command" => f.command = Some(string(&mut c, "command")?),
            "pidDir" => f.pid_dir = Some(string(&mut c, "pidDir")?),
            "conf" => f.conf = Some(c.raw_value()?),
            "context" => f.context = Some(c.raw_value()?),
            _ => {
                c.raw_value()?;
            }
        }
    }
    if !c.done() {
        return Err(invalid("trailing bytes after the message"));
    }
    f.into_message()
}

fn string(c: &mut Cursor<'_>, key: &str) -> Result<String, DecodeError> {
    c.str()?.map(str::to_string).ok_or_else(|| unexpected(format!("`{key}` is not a string")))
}

/// Storm round-trips a spout's message id as whatever value it was; a bolt's
/// tuple id is a string. Either way storm-wasm works with its text.
fn id_text(c: &mut Cursor<'_>) -> Result<String, DecodeError> {
    if let Some(s) = c.str()? {
        return Ok(s.to_string());
    }
    if let Some(i) = c.int()? {
        return Ok(i.to_string());
    }
    if c.nil()? {
        return Ok(String::new());
    }
    let raw = c.raw_value()?;
    let value = rmpv::decode::read_value(&mut &raw[..]).map_err(|e| invalid(&e.to_string()))?;
    Ok(value.to_string())
}

#[derive(Default)]
struct Fields<'a> {
    id: Option<String>,
    comp: Option<String>,
    stream: Option<String>,
    task: Option<i32>,
    tuple: Option<&'a [u8]>,
    command: Option<String>,
    pid_dir: Option<String>,
    conf: Option<&'a [u8]>,
    context: Option<&'a [u8]>,
}

impl Fields<'_> {
    fn into_message(self) -> Result<Incoming, DecodeError> {
        if let Some(pid_dir) = self.pid_dir {
            let context = self.context.unwrap_or(&[0x80]).to_vec();
            let (task_id, component_id) = context_ids(&context)?;
            return Ok(Incoming::Handshake(Handshake {
                pid_dir,
                conf: self.conf.unwrap_or(&[0x80]).to_vec(),
                context,
                task_id,
                component_id,
            }));
        }
        if let Some(command) = self.command {
            return spout_command(&command, self.id).map(Incoming::Spout);
        }
        match (self.id, self.stream, self.task, self.tuple) {
            (Some(id), Some(stream), Some(task), Some(values)) => {
                Ok(Incoming::Tuple(BoltTuple { id, comp: self.comp, stream, task, values: values.to_vec() }))
            }
            _ => Err(unexpected(
                "a map that is neither a handshake (pidDir), a tuple (id, stream, task, tuple) nor a spout command (command)",
            )),
        }
    }
}

pub(crate) fn spout_command(command: &str, id: Option<String>) -> Result<SpoutCommand, DecodeError> {
    Ok(match command {
        "next" => SpoutCommand::Next,
        "activate" => SpoutCommand::Activate,
        "deactivate" => SpoutCommand::Deactivate,
        "ack" => SpoutCommand::Ack(id.ok_or_else(|| unexpected("`ack` without an id"))?),
        "fail" => SpoutCommand::Fail(id.ok_or_else(|| unexpected("`fail` without an id"))?),
        other => return Err(unexpected(format!("unknown spout command `{other}`"))),
    })
}

/// `taskid` and `componentid` from a MessagePack context map.
pub(crate) fn context_ids(context: &[u8]) -> Result<(i32, String), DecodeError> {
    let value = rmpv::decode::read_value(&mut &context[..]).map_err(|e| invalid(&format!("context: {e}")))?;
    let get = |key: &str| match &value {
        rmpv::Value::Map(m) => m.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v.clone()),
        _ => None,
    };
    let task_id = get("taskid").and_then(|v| v.as_i64()).unwrap_or(-1) as i32;
    let component_id = get("componentid").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    Ok((task_id, component_id))
}

/// Appends `msg` encoded as MessagePack to `out`.
pub(crate) fn encode(msg: &Outgoing<'_>, out: &mut Vec<u8>) {
    match msg {
        Outgoing::Pid(pid) => {
            map(out, 1);
            str(out, "pid");
            int(out, *pid as i64);
        }
        Outgoing::Emit(e) => encode_emit(e, out),
        Outgoing::Ack(id) => command_with(out, "ack", "id", id),
        Outgoing::Fail(id) => command_with(out, "fail", "id", id),
        Outgoing::Log { level, msg } => {
            map(out, 3);
            str(out, "command");
            str(out, "log");
            str(out, "msg");
            str(out, msg);
            str(out, "level");
            int(out, *level as i64);
        }
        Outgoing::Error(msg) => command_with(out, "error", "msg", msg),
        Outgoing::Metrics { name, params } => {
            map(out, 3);
            str(out, "command");
            str(out, "metrics");
            str(out, "name");
            str(out, name);
            str(out, "params");
            out.extend_from_slice(params);
        }
        Outgoing::Sync => {
            map(out, 1);
            str(out, "command");
            str(out, "sync");
        }
    }
}

fn encode_emit(e: &Emit<'_>, out: &mut Vec<u8>) {
    let fields = 4
        + usize::from(!e.anchors.is_empty())
        + usize::from(e.message_id.is_some())
        + usize::from(e.direct_task.is_some());
    map(out, fields as u32);
    str(out, "command");
    str(out, "emit");
    str(out, "stream");
    str(out, e.stream);
    if !e.anchors.is_empty() {
        str(out, "anchors");
        array(out, e.anchors.len() as u32);
        for a in e.anchors {
            str(out, a);
        }
    }
    if let Some(id) = e.message_id {
        str(out, "id");
        str(out, id);
    }
    if let Some(task) = e.direct_task {
        str(out, "task");
        int(out, task as i64);
    }
    str(out, "need_task_ids");
    out.push(if e.need_task_ids { 0xc3 } else { 0xc2 });
    str(out, "tuple");
    out.extend_from_slice(e.values);
}

fn command_with(out: &mut Vec<u8>, command: &str, key: &str, value: &str) {
    map(out, 2);
    str(out, "command");
    str(out, command);
    str(out, key);
    str(out, value);
}

fn map(out: &mut Vec<u8>, n: u32) {
    rmp::encode::write_map_len(out, n).expect("writing to a Vec cannot fail");
}

fn array(out: &mut Vec<u8>, n: u32) {
    rmp::encode::write_array_len(out, n).expect("writing to a Vec cannot fail");
}

fn str(out: &mut Vec<u8>, s: &str) {
    rmp::encode::write_str(out, s).expect("writing to a Vec cannot fail");
}

fn int(out: &mut Vec<u8>, i: i64) {
    rmp::encode::write_sint(out, i).expect("writing to a Vec cannot fail");
}
