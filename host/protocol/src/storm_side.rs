//! Storm's half of the protocol: what a ShellBolt or ShellSpout writes to its
//! subprocess and reads back. storm-wasm itself never needs it; the test
//! harness, the load driver and the demo play Storm with it.

use std::borrow::Cow;
use std::io::Write;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::msgpack::Cursor;
use crate::{DecodeError, EncodeError, Serializer};

/// A message Storm sends to the subprocess.
#[derive(Clone, Debug)]
pub enum ToChild<'a> {
    /// The setup message. `conf` and `context` are MessagePack maps.
    Handshake {
        /// Where the child writes its pid file.
        pid_dir: &'a str,
        /// Topology conf.
        conf: &'a [u8],
        /// Topology context.
        context: &'a [u8],
    },
    /// A tuple for a bolt (heartbeats and ticks included).
    Tuple {
        /// Tuple id.
        id: &'a str,
        /// Source component (`None` is JSON `null`, as in heartbeats).
        comp: Option<&'a str>,
        /// Source stream.
        stream: &'a str,
        /// Source task.
        task: i32,
        /// Values, one MessagePack array.
        values: &'a [u8],
    },
    /// The reply to an emit that asked for task ids.
    TaskIds(&'a [i32]),
    /// A spout command: `next`, `ack`, `fail`, `activate`, `deactivate`.
    Spout {
        /// The command.
        command: &'a str,
        /// The message id for `ack`/`fail`.
        id: Option<&'a str>,
    },
}

impl<'a> ToChild<'a> {
    /// Storm's heartbeat tuple.
    pub fn heartbeat(id: &'a str) -> Self {
        ToChild::Tuple { id, comp: None, stream: "__heartbeat", task: -1, values: &[0x90] }
    }
}

/// Appends `msg`, framed, to `out`.
pub fn encode(serializer: Serializer, msg: &ToChild<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match serializer {
        Serializer::Json => {
            let start = out.len();
            let r = encode_json(msg, out);
            if r.is_err() {
                out.truncate(start);
            } else {
                out.extend_from_slice(b"\nend\n");
            }
            r
        }
        Serializer::MessagePack => {
            encode_msgpack(msg, out);
            Ok(())
        }
    }
}

fn encode_json(msg: &ToChild<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let json = |bytes: &[u8], out: &mut Vec<u8>| -> Result<(), EncodeError> {
        let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
        let mut ser = serde_json::Serializer::new(&mut *out);
        serde_transcode::transcode(&mut de, &mut ser).map_err(|e| EncodeError(e.to_string()))
    };
    let string = |s: &str, out: &mut Vec<u8>| serde_json::to_writer(&mut *out, s).expect("a string serializes");
    match msg {
        ToChild::Handshake { pid_dir, conf, context } => {
            out.extend_from_slice(b"{\"pidDir\":");
            string(pid_dir, out);
            out.extend_from_slice(b",\"context\":");
            json(context, out)?;
            out.extend_from_slice(b",\"conf\":");
            json(conf, out)?;
            out.push(b'}');
        }
        ToChild::Tuple { id, comp, stream, task, values } => {
            // Storm's key order is a HashMap's; this is the order observed.
            out.extend_from_slice(b"{\"comp\":");
            match comp {
                Some(c) => string(c, out),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"tuple\":");
            json(values, out)?;
            write!(out, ",\"task\":{task},\"stream\":").expect("Vec write");
            string(stream, out);
            out.extend_from_slice(b",\"id\":");
            string(id, out);
            out.push(b'}');
        }
        ToChild::TaskIds(ids) => serde_json::to_writer(&mut *out, ids).expect("ints serialize"),
        ToChild::Spout { command, id } => {
            out.extend_from_slice(b"{\"id\":");
            string(id.unwrap_or(""), out);
            out.extend_from_slice(b",\"command\":");
            string(command, out);
            out.push(b'}');
        }
    }
    Ok(())
}

fn encode_msgpack(msg: &ToChild<'_>, out: &mut Vec<u8>) {
    use rmp::encode::{write_array_len, write_map_len, write_nil, write_sint, write_str};
    const OK: &str = "writing to a Vec cannot fail";
    match msg {
        ToChild::Handshake { pid_dir, conf, context } => {
            write_map_len(out, 3).expect(OK);
            write_str(out, "pidDir").expect(OK);
            write_str(out, pid_dir).expect(OK);
            write_str(out, "context").expect(OK);
            out.extend_from_slice(context);
            write_str(out, "conf").expect(OK);
            out.extend_from_slice(conf);
        }
        ToChild::Tuple { id, comp, stream, task, values } => {
            write_map_len(out, 5).expect(OK);
            write_str(out, "id").expect(OK);
            write_str(out, id).expect(OK);
            write_str(out, "comp").expect(OK);
            match comp {
                Some(c) => write_str(out, c).expect(OK),
                None => write_nil(out).expect(OK),
            }
            write_str(out, "stream").expect(OK);
            write_str(out, stream).expect(OK);
            write_str(out, "task").expect(OK);
            write_sint(out, *task as i64).expect(OK);
            write_str(out, "tuple").expect(OK);
            out.extend_from_slice(values);
        }
        ToChild::TaskIds(ids) => {
            write_array_len(out, ids.len() as u32).expect(OK);
            for id in *ids {
                write_sint(out, *id as i64).expect(OK);
            }
        }
        ToChild::Spout { command, id } => {
            write_map_len(out, 2).expect(OK);
            write_str(out, "command").expect(OK);
            write_str(out, command).expect(OK);
            write_str(out, "id").expect(OK);
            write_str(out, id.unwrap_or("")).expect(OK);
        }
    }
}

/// A message from the subprocess, as Storm reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum ShellMsg {
    /// The handshake reply.
    Pid(i64),
    /// An emit.
    Emit(ShellEmit),
    /// Ack of a tuple id.
    Ack(String),
    /// Fail of a tuple id.
    Fail(String),
    /// A log line (`level` as sent; absent is `None`).
    Log {
        /// Level 0-4.
        level: Option<i64>,
        /// Text.
        msg: String,
    },
    /// `error`.
    Error(String),
    /// `metrics`; `params` is one MessagePack value.
    Metrics {
        /// Metric name.
        name: String,
        /// Params.
        params: Vec<u8>,
    },
    /// `sync`.
    Sync,
    /// Any other command (ShellBolt ignores it, ShellSpout dies).
    Other(String),
}

/// An `emit` command with every field as it was on the wire.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ShellEmit {
    /// `stream`, if present.
    pub stream: Option<String>,
    /// `anchors` (a single string counts as one).
    pub anchors: Vec<String>,
    /// A spout's message id, as text.
    pub id: Option<String>,
    /// `task`, present only on direct emits.
    pub task: Option<i64>,
    /// `need_task_ids`, if present (Storm's default is true).
    pub need_task_ids: Option<bool>,
    /// `tuple`, as one MessagePack array.
    pub values: Vec<u8>,
}

impl ShellEmit {
    /// The stream, with Storm's default.
    pub fn stream(&self) -> &str {
        self.stream.as_deref().unwrap_or("default")
    }

    /// Whether Storm replies with task ids.
    pub fn wants_task_ids(&self) -> bool {
        self.need_task_ids.unwrap_or(true)
    }
}

#[derive(Deserialize)]
struct JsonShellMsg<'a> {
    #[serde(borrow, default)]
    command: Option<Cow<'a, str>>,
    #[serde(default)]
    pid: Option<i64>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    anchors: Option<&'a RawValue>,
    #[serde(default)]
    task: Option<i64>,
    #[serde(default)]
    need_task_ids: Option<bool>,
    #[serde(borrow, default)]
    tuple: Option<&'a RawValue>,
    #[serde(borrow, default)]
    msg: Option<Cow<'a, str>>,
    #[serde(default)]
    level: Option<i64>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// Decodes one message from the subprocess.
pub fn decode(serializer: Serializer, body: &[u8]) -> Result<ShellMsg, DecodeError> {
    match serializer {
        Serializer::Json => decode_json(body),
        Serializer::MessagePack => decode_msgpack(body),
    }
}

fn bad(why: impl Into<String>) -> DecodeError {
    DecodeError::Unexpected(why.into())
}

fn decode_json(body: &[u8]) -> Result<ShellMsg, DecodeError> {
    let m: JsonShellMsg<'_> = serde_json::from_slice(body).map_err(|e| DecodeError::Json {
        reason: e.to_string(),
        excerpt: String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned(),
    })?;
    let to_msgpack = |raw: &RawValue| -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        let mut de = serde_json::Deserializer::from_str(raw.get());
        serde_transcode::transcode(&mut de, &mut rmp_serde::Serializer::new(&mut out))
            .map_err(|e| bad(e.to_string()))?;
        Ok(out)
    };
    let text = |raw: &RawValue| -> String {
        serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_string())
    };
    let Some(command) = m.command else {
        return m.pid.map(ShellMsg::Pid).ok_or_else(|| bad("a message with neither `command` nor `pid`"));
    };
    Ok(match &*command {
        "emit" => {
            let anchors = match m.anchors {
                None => Vec::new(),
                Some(raw) if raw.get().starts_with('[') => {
                    serde_json::from_str::<Vec<String>>(raw.get()).map_err(|e| bad(format!("anchors: {e}")))?
                }
                Some(raw) => vec![text(raw)],
            };
            ShellMsg::Emit(ShellEmit {
                stream: m.stream.map(Cow::into_owned),
                anchors,
                id: m.id.map(text),
                task: m.task,
                need_task_ids: m.need_task_ids,
                values: to_msgpack(m.tuple.ok_or_else(|| bad("emit without `tuple`"))?)?,
            })
        }
        "ack" => ShellMsg::Ack(m.id.map(text).ok_or_else(|| bad("ack without id"))?),
        "fail" => ShellMsg::Fail(m.id.map(text).ok_or_else(|| bad("fail without id"))?),
        "log" => ShellMsg::Log { level: m.level, msg: m.msg.map(Cow::into_owned).unwrap_or_default() },
        "error" => ShellMsg::Error(m.msg.map(Cow::into_owned).unwrap_or_default()),
        "metrics" => ShellMsg::Metrics {
            name: m.name.map(Cow::into_owned).unwrap_or_default(),
            params: match m.params {
                Some(raw) => to_msgpack(raw)?,
                None => vec![0xc0],
            },
        },
        "sync" => ShellMsg::Sync,
        other => ShellMsg::Other(other.to_string()),
    })
}

fn decode_msgpack(body: &[u8]) -> Result<ShellMsg, DecodeError> {
    let mut c = Cursor::new(body);
    let n = c.map_len()?.ok_or_else(|| bad("a message that is not a map"))?;
    let mut command = None;
    let mut pid = None;
    let mut emit = ShellEmit::default();
    let (mut msg, mut level, mut name, mut params, mut tuple) = (None, None, None, None, None);
    for _ in 0..n {
        let key = c.str()?.ok_or_else(|| bad("a non-string key"))?;
        match key {
            "command" => command = c.str()?.map(str::to_string),
            "pid" => pid = c.int()?,
            "id" => emit.id = Some(c.text()?),
            "stream" => emit.stream = c.str()?.map(str::to_string),
            "anchors" => match c.array_len()? {
                Some(k) => {
                    for _ in 0..k {
                        emit.anchors.push(c.text()?);
                    }
                }
                None => emit.anchors.push(c.text()?),
            },
            "task" => emit.task = c.int()?,
            "need_task_ids" => emit.need_task_ids = c.bool()?,
            "tuple" => tuple = Some(c.raw_value()?.to_vec()),
            "msg" => msg = c.str()?.map(str::to_string),
            "level" => level = c.int()?,
            "name" => name = c.str()?.map(str::to_string),
            "params" => params = Some(c.raw_value()?.to_vec()),
            _ => {
                c.raw_value()?;
            }
        }
    }
    let Some(command) = command else {
        return pid.map(ShellMsg::Pid).ok_or_else(|| bad("a message with neither `command` nor `pid`"));
    };
    Ok(match command.as_str() {
        "emit" => {
            emit.values = tuple.ok_or_else(|| bad("emit without `tuple`"))?;
            ShellMsg::Emit(emit)
        }
        "ack" => ShellMsg::Ack(emit.id.ok_or_else(|| bad("ack without id"))?),
        "fail" => ShellMsg::Fail(emit.id.ok_or_else(|| bad("fail without id"))?),
        "log" => ShellMsg::Log { level, msg: msg.unwrap_or_default() },
        "error" => ShellMsg::Error(msg.unwrap_or_default()),
        "metrics" => ShellMsg::Metrics { name: name.unwrap_or_default(), params: params.unwrap_or(vec![0xc0]) },
        "sync" => ShellMsg::Sync,
        other => ShellMsg::Other(other.to_string()),
    })
}
