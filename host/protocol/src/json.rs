//! Storm's default `JsonSerializer`: a JSON text, then a line `end`.
//!
//! Storm writes with json-smart, which is stricter than it reads but still
//! emits a bare `NaN` for a NaN double and escapes `/` as `\/`. serde_json
//! parses every well-formed message (the fast path); anything it rejects is
//! parsed again with a JSON5 parser, which takes NaN, Infinity, single quotes
//! and unquoted keys, and then goes through the MessagePack decoder.

use std::borrow::Cow;
use std::io::Write;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::serializer::EncodeError;
use crate::{msgpack, BoltTuple, DecodeError, Emit, Handshake, Incoming, Outgoing};

#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    comp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stream: Option<Cow<'a, str>>,
    #[serde(default)]
    task: Option<i64>,
    #[serde(borrow, default)]
    tuple: Option<&'a RawValue>,
    #[serde(borrow, default)]
    command: Option<Cow<'a, str>>,
    #[serde(rename = "pidDir", default)]
    pid_dir: Option<String>,
    #[serde(borrow, default)]
    conf: Option<&'a RawValue>,
    #[serde(borrow, default)]
    context: Option<&'a RawValue>,
}

/// Decodes one message body (without its `end` line).
pub(crate) fn decode(body: &[u8]) -> Result<Incoming, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| json_error("not UTF-8", body))?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(DecodeError::Unexpected("an empty message".into()));
    }
    match strict(trimmed) {
        Ok(msg) => Ok(msg),
        Err(Strict::Unexpected(e)) => Err(e),
        Err(Strict::Syntax(reason)) => permissive(trimmed).map_err(|e| match e {
            // Report serde_json's reason: it names line and column.
            DecodeError::Json { .. } => json_error(&reason, body),
            other => other,
        }),
    }
}

enum Strict {
    Syntax(String),
    Unexpected(DecodeError),
}

fn strict(text: &str) -> Result<Incoming, Strict> {
    if text.starts_with('[') {
        return serde_json::from_str::<Vec<i64>>(text)
            .map(|ids| Incoming::TaskIds(ids.into_iter().map(|i| i as i32).collect()))
            .map_err(|e| Strict::Syntax(e.to_string()));
    }
    let f: Fields<'_> = serde_json::from_str(text).map_err(|e| Strict::Syntax(e.to_string()))?;
    let unexpected = |e: DecodeError| Strict::Unexpected(e);
    if let Some(pid_dir) = f.pid_dir {
        let conf = to_msgpack(f.conf).map_err(Strict::Syntax)?;
        let context = to_msgpack(f.context).map_err(Strict::Syntax)?;
        let (task_id, component_id) = msgpack::context_ids(&context).map_err(unexpected)?;
        return Ok(Incoming::Handshake(Handshake { pid_dir, conf, context, task_id, component_id }));
    }
    if let Some(command) = f.command {
        let id = f.id.map(id_text).transpose().map_err(Strict::Syntax)?;
        return msgpack::spout_command(&command, id).map(Incoming::Spout).map_err(unexpected);
    }
    match (f.id, f.stream, f.task, f.tuple) {
        (Some(id), Some(stream), Some(task), Some(tuple)) => {
            if !tuple.get().starts_with('[') {
                return Err(unexpected(DecodeError::Unexpected("`tuple` is not an array".into())));
            }
            Ok(Incoming::Tuple(BoltTuple {
                id: id_text(id).map_err(Strict::Syntax)?,
                comp: f.comp.map(Cow::into_owned),
                stream: stream.into_owned(),
                task: task as i32,
                values: to_msgpack(Some(tuple)).map_err(Strict::Syntax)?,
            }))
        }
        _ => Err(unexpected(DecodeError::Unexpected(
            "an object that is neither a handshake (pidDir), a tuple (id, stream, task, tuple) nor a spout command (command)".into(),
        ))),
    }
}

/// json-smart's permissive grammar, through JSON5 and then MessagePack.
fn permissive(text: &str) -> Result<Incoming, DecodeError> {
    let value: rmpv::Value = json5::from_str(text).map_err(|e| json_error(&e.to_string(), text.as_bytes()))?;
    if !matches!(value, rmpv::Value::Map(_) | rmpv::Value::Array(_)) {
        return Err(DecodeError::Unexpected(format!("expected a JSON object or array, got `{value}`")));
    }
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &value).expect("writing to a Vec cannot fail");
    msgpack::decode(&bytes)
}

/// A tuple id or spout message id as text: Storm's bolt ids are strings; a
/// spout's message id comes back as whatever JSON value the spout gave.
fn id_text(raw: &RawValue) -> Result<String, String> {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(|e| e.to_string())
    } else if text == "null" {
        Ok(String::new())
    } else {
        Ok(text.to_string())
    }
}

fn to_msgpack(raw: Option<&RawValue>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let Some(raw) = raw else {
        out.push(0x80); // an empty map
        return Ok(out);
    };
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let mut ser = rmp_serde::Serializer::new(&mut out);
    serde_transcode::transcode(&mut de, &mut ser).map_err(|e| e.to_string())?;
    Ok(out)
}

fn json_error(reason: &str, body: &[u8]) -> DecodeError {
    let excerpt: String = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
    DecodeError::Json { reason: reason.to_string(), excerpt }
}

/// Appends `msg` as JSON plus the `end` line. Fails, leaving `out` as it
/// was, when MessagePack values have no JSON form (invalid UTF-8, a non-string
/// map key that is not a number).
pub(crate) fn encode(msg: &Outgoing<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_body(msg, out);
    if result.is_err() {
        out.truncate(start);
    } else {
        out.extend_from_slice(b"\nend\n");
    }
    result
}

fn encode_body(msg: &Outgoing<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match msg {
        Outgoing::Pid(pid) => write!(out, "{{\"pid\":{pid}}}").expect("writing to a Vec cannot fail"),
        Outgoing::Emit(e) => encode_emit(e, out)?,
        Outgoing::Ack(id) => command_with(out, "ack", "id", id),
        Outgoing::Fail(id) => command_with(out, "fail", "id", id),
        Outgoing::Log { level, msg } => {
            out.extend_from_slice(b"{\"command\":\"log\",\"msg\":");
            string(out, msg);
            write!(out, ",\"level\":{}}}", *level as u8).expect("writing to a Vec cannot fail");
        }
        Outgoing::Error(msg) => command_with(out, "error", "msg", msg),
        Outgoing::Metrics { name, params } => {
            out.extend_from_slice(b"{\"command\":\"metrics\",\"name\":");
            string(out, name);
            out.extend_from_slice(b",\"params\":");
            transcode_to_json(params, out)?;
            out.push(b'}');
        }
        Outgoing::Sync => out.extend_from_slice(b"{\"command\":\"sync\"}"),
    }
    Ok(())
}

fn encode_emit(e: &Emit<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.extend_from_slice(b"{\"command\":\"emit\",\"stream\":");
    string(out, e.stream);
    if !e.anchors.is_empty() {
        out.extend_from_slice(b",\"anchors\":[");
        for (i, a) in e.anchors.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, a);
        }
        out.push(b']');
    }
    if let Some(id) = e.message_id {
        out.extend_from_slice(b",\"id\":");
        string(out, id);
    }
    if let Some(task) = e.direct_task {
        write!(out, ",\"task\":{task}").expect("writing to a Vec cannot fail");
    }
    out.extend_from_slice(if e.need_task_ids {
        b",\"need_task_ids\":true,\"tuple\":"
    } else {
        b",\"need_task_ids\":false,\"tuple\":"
    });
    transcode_to_json(e.values, out)?;
    out.push(b'}');
    Ok(())
}

fn command_with(out: &mut Vec<u8>, command: &str, key: &str, value: &str) {
    write!(out, "{{\"command\":\"{command}\",\"{key}\":").expect("writing to a Vec cannot fail");
    string(out, value);
    out.push(b'}');
}

fn string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("a string always serializes");
}

fn transcode_to_json(msgpack: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(msgpack);
    let mut ser = serde_json::Serializer::new(&mut *out);
    serde_transcode::transcode(&mut de, &mut ser).map_err(|e| EncodeError(e.to_string()))
}
