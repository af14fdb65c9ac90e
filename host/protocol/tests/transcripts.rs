//! Exact byte transcripts of Storm 2.8's multi-lang protocol, played through
//! both serializers: each case holds the bytes Storm's JsonSerializer writes
//! (json-smart: `\/` escapes, bare NaN, HashMap key order) and the bytes of
//! the MessagePack serializer (hex produced by Python's msgpack, an
//! independent implementation), and one expected message.

use std::io::Read;

use storm_multilang::storm_side::{self, ShellEmit, ShellMsg, ToChild};
use storm_multilang::{
    BoltTuple, Emit, Incoming, LogLevel, MessageReader, Outgoing, ReadError, Serializer, SpoutCommand,
};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn tuple(id: &str, comp: Option<&str>, stream: &str, task: i32, values_hex: &str) -> Incoming {
    Incoming::Tuple(BoltTuple {
        id: id.into(),
        comp: comp.map(Into::into),
        stream: stream.into(),
        task,
        values: hex(values_hex),
    })
}

struct Case {
    name: &'static str,
    json: &'static str,
    msgpack: &'static str,
    expect: Incoming,
}

fn incoming_cases() -> Vec<Case> {
    vec![
        Case {
            name: "tuple with every JSON type",
            json: "{\"comp\":\"spout\",\"tuple\":[\"snow white\",3,4.5,true,null,[1,2],{\"k\":\"v\"}],\"task\":7,\"stream\":\"default\",\"id\":\"-6955786537413359385\"}\nend\n",
            msgpack: "85a26964b42d36393535373836353337343133333539333835a4636f6d70a573706f7574a673747265616da764656661756c74a47461736b07a57475706c6597aa736e6f7720776869746503cb4012000000000000c3c092010281a16ba176",
            expect: tuple("-6955786537413359385", Some("spout"), "default", 7, "97aa736e6f7720776869746503cb4012000000000000c3c092010281a16ba176"),
        },
        Case {
            name: "heartbeat: comp is null, task -1",
            json: "{\"comp\":null,\"tuple\":[],\"task\":-1,\"stream\":\"__heartbeat\",\"id\":\"123\"}\nend\n",
            msgpack: "85a26964a3313233a4636f6d70c0a673747265616dab5f5f686561727462656174a47461736bffa57475706c6590",
            expect: tuple("123", None, "__heartbeat", -1, "90"),
        },
        Case {
            name: "tick tuple",
            json: "{\"comp\":\"__system\",\"tuple\":[5],\"task\":-1,\"stream\":\"__tick\",\"id\":\"9\"}\nend\n",
            msgpack: "85a4636f6d70a85f5f73797374656da57475706c659105a47461736bffa673747265616da65f5f7469636ba26964a139",
            expect: tuple("9", Some("__system"), "__tick", -1, "9105"),
        },
        Case { name: "task ids", json: "[4,5]\nend\n", msgpack: "920405", expect: Incoming::TaskIds(vec![4, 5]) },
        Case { name: "empty task ids", json: "[]\nend\n", msgpack: "90", expect: Incoming::TaskIds(vec![]) },
        Case {
            name: "spout next",
            json: "{\"id\":\"\",\"command\":\"next\"}\nend\n",
            msgpack: "82a7636f6d6d616e64a46e657874a26964a0",
            expect: Incoming::Spout(SpoutCommand::Next),
        },
        Case {
            name: "spout ack",
            json: "{\"id\":\"msg-1\",\"command\":\"ack\"}\nend\n",
            msgpack: "82a7636f6d6d616e64a361636ba26964a56d73672d31",
            expect: Incoming::Spout(SpoutCommand::Ack("msg-1".into())),
        },
        Case {
            name: "spout fail with a numeric id",
            json: "{\"id\":17,\"command\":\"fail\"}\nend\n",
            msgpack: "82a7636f6d6d616e64a46661696ca2696411",
            expect: Incoming::Spout(SpoutCommand::Fail("17".into())),
        },
    ]
}

fn read_all(bytes: &[u8], serializer: Serializer) -> Vec<Result<Incoming, String>> {
    let mut reader = MessageReader::new(bytes, serializer);
    let mut out = Vec::new();
    loop {
        match reader.next_message() {
            Err(ReadError::Closed) => return out,
            Ok(m) => out.push(Ok(m)),
            Err(e) => {
                out.push(Err(e.to_string()));
                if !matches!(e, ReadError::Decode(_)) {
                    return out;
                }
            }
        }
    }
}

#[test]
fn every_incoming_case_decodes_the_same_under_both_serializers() {
    for case in incoming_cases() {
        for (serializer, bytes) in
            [(Serializer::Json, case.json.as_bytes().to_vec()), (Serializer::MessagePack, hex(case.msgpack))]
        {
            let got = read_all(&bytes, serializer);
            assert_eq!(got, vec![Ok(case.expect.clone())], "{} ({serializer:?})", case.name);
        }
    }
}

/// A reader that hands out one byte per read: every frame boundary and
/// every split inside a frame is exercised.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.split_first() {
            Some((b, rest)) if !buf.is_empty() => {
                buf[0] = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn a_stream_of_all_cases_decodes_whole_even_one_byte_at_a_time() {
    for serializer in [Serializer::Json, Serializer::MessagePack] {
        let cases = incoming_cases();
        let stream: Vec<u8> = cases
            .iter()
            .flat_map(|c| if serializer == Serializer::Json { c.json.as_bytes().to_vec() } else { hex(c.msgpack) })
            .collect();
        let mut reader = MessageReader::new(Trickle(&stream), serializer);
        for case in &cases {
            assert_eq!(reader.next_message().unwrap(), case.expect, "{} ({serializer:?})", case.name);
        }
        assert!(matches!(reader.next_message(), Err(ReadError::Closed)));
    }
}

#[test]
fn json_smart_quirks_are_accepted() {
    // `\/` escapes, raw UTF-8, U+2028 escaped, CRLF line endings, and a
    // message spread over several lines.
    let wire = "{\"comp\":\"sp\\/out\",\"tuple\":[\"a\\/b \u{fc} \u{1f389} \\u2028\"],\"task\":7,\n\"stream\":\"default\",\"id\":\"1\"}\r\nend\r\n";
    let got = read_all(wire.as_bytes(), Serializer::Json);
    let values = rmp_serde::to_vec(&("a/b \u{fc} \u{1f389} \u{2028}",)).unwrap();
    assert_eq!(
        got,
        vec![Ok(Incoming::Tuple(BoltTuple {
            id: "1".into(),
            comp: Some("sp/out".into()),
            stream: "default".into(),
            task: 7,
            values
        }))]
    );
}

#[test]
fn handshake_with_nan_in_conf_and_either_key_type() {
    let json = "{\"conf\":{\"topology.name\":\"wc\",\"x\":NaN},\"pidDir\":\"\\/tmp\\/w1\\/pids\",\"context\":{\"task->component\":{\"1\":\"spout\",\"3\":\"split\"},\"taskid\":3,\"componentid\":\"split\"}}\nend\n";
    let msgpack = hex("83a6706964446972ac2f746d702f77312f70696473a7636f6e7465787483af7461736b2d3e636f6d706f6e656e748201a573706f757403a573706c6974a67461736b696403ab636f6d706f6e656e746964a573706c6974a4636f6e6682ad746f706f6c6f67792e6e616d65a27763a178cb7ff8000000000000");
    for (serializer, bytes) in [(Serializer::Json, json.as_bytes().to_vec()), (Serializer::MessagePack, msgpack)] {
        let Ok(Incoming::Handshake(h)) = MessageReader::new(&bytes[..], serializer).next_message() else {
            panic!("{serializer:?}")
        };
        assert_eq!(
            (h.pid_dir.as_str(), h.task_id, h.component_id.as_str()),
            ("/tmp/w1/pids", 3, "split"),
            "{serializer:?}"
        );
        let conf = rmpv::decode::read_value(&mut &h.conf[..]).unwrap();
        let get =
            |k: &str| conf.as_map().unwrap().iter().find(|(key, _)| key.as_str() == Some(k)).map(|(_, v)| v.clone());
        assert_eq!(get("topology.name"), Some("wc".into()), "{serializer:?}");
        assert!(get("x").and_then(|v| v.as_f64()).is_some_and(f64::is_nan), "NaN survives ({serializer:?})");
    }
}

#[test]
fn the_serializer_is_detected_from_the_first_byte() {
    for (bytes, expected) in [
        (b"{\"pidDir\":\"/p\",\"conf\":{},\"context\":{}}\nend\n".to_vec(), Serializer::Json),
        (hex("83a6706964446972a22f70a4636f6e6680a7636f6e7465787480"), Serializer::MessagePack),
    ] {
        let mut reader = MessageReader::detecting(&bytes[..]);
        assert!(matches!(reader.next_message(), Ok(Incoming::Handshake(_))));
        assert_eq!(reader.serializer(), Some(expected));
    }
    let err = MessageReader::detecting(&b"hello"[..]).next_message().unwrap_err().to_string();
    assert!(err.contains("first byte 0x68"), "{err}");
}

struct OutCase {
    msg: Outgoing<'static>,
    json: &'static str,
    msgpack: &'static str,
}

const ANCHOR: &[String] = &[];

fn outgoing_cases(anchors: &'static [String], seven: &'static [String]) -> Vec<OutCase> {
    vec![
        OutCase { msg: Outgoing::Pid(4242), json: "{\"pid\":4242}", msgpack: "81a3706964cd1092" },
        OutCase {
            msg: Outgoing::Emit(Emit { stream: "default", anchors, values: b"\x91\xa1a", ..Emit::default() }),
            json: "{\"command\":\"emit\",\"stream\":\"default\",\"anchors\":[\"-8836\"],\"need_task_ids\":false,\"tuple\":[\"a\"]}",
            msgpack: "85a7636f6d6d616e64a4656d6974a673747265616da764656661756c74a7616e63686f727391a52d38383336ad6e6565645f7461736b5f696473c2a57475706c6591a161",
        },
        OutCase {
            msg: Outgoing::Emit(Emit { stream: "default", message_id: Some("k1"), values: b"\x92\xa1x\x01", ..Emit::default() }),
            json: "{\"command\":\"emit\",\"stream\":\"default\",\"id\":\"k1\",\"need_task_ids\":false,\"tuple\":[\"x\",1]}",
            msgpack: "85a7636f6d6d616e64a4656d6974a673747265616da764656661756c74a26964a26b31ad6e6565645f7461736b5f696473c2a57475706c6592a17801",
        },
        OutCase {
            msg: Outgoing::Emit(Emit { stream: "direct", anchors: seven, direct_task: Some(5), values: b"\x91\xa1d", ..Emit::default() }),
            json: "{\"command\":\"emit\",\"stream\":\"direct\",\"anchors\":[\"7\"],\"task\":5,\"need_task_ids\":false,\"tuple\":[\"d\"]}",
            msgpack: "86a7636f6d6d616e64a4656d6974a673747265616da6646972656374a7616e63686f727391a137a47461736b05ad6e6565645f7461736b5f696473c2a57475706c6591a164",
        },
        OutCase {
            msg: Outgoing::Emit(Emit { stream: "s", anchors: ANCHOR, need_task_ids: true, values: b"\x90", ..Emit::default() }),
            json: "{\"command\":\"emit\",\"stream\":\"s\",\"need_task_ids\":true,\"tuple\":[]}",
            msgpack: "84a7636f6d6d616e64a4656d6974a673747265616da173ad6e6565645f7461736b5f696473c3a57475706c6590",
        },
        OutCase { msg: Outgoing::Ack("-8836"), json: "{\"command\":\"ack\",\"id\":\"-8836\"}", msgpack: "82a7636f6d6d616e64a361636ba26964a52d38383336" },
        OutCase { msg: Outgoing::Fail("-8836"), json: "{\"command\":\"fail\",\"id\":\"-8836\"}", msgpack: "82a7636f6d6d616e64a46661696ca26964a52d38383336" },
        OutCase {
            msg: Outgoing::Log { level: LogLevel::Warn, msg: "hello" },
            json: "{\"command\":\"log\",\"msg\":\"hello\",\"level\":3}",
            msgpack: "83a7636f6d6d616e64a36c6f67a36d7367a568656c6c6fa56c6576656c03",
        },
        OutCase { msg: Outgoing::Error("boom"), json: "{\"command\":\"error\",\"msg\":\"boom\"}", msgpack: "82a7636f6d6d616e64a56572726f72a36d7367a4626f6f6d" },
        OutCase {
            msg: Outgoing::Metrics { name: "my-metric", params: b"\x01" },
            json: "{\"command\":\"metrics\",\"name\":\"my-metric\",\"params\":1}",
            msgpack: "83a7636f6d6d616e64a76d657472696373a46e616d65a96d792d6d6574726963a6706172616d7301",
        },
        OutCase { msg: Outgoing::Sync, json: "{\"command\":\"sync\"}", msgpack: "81a7636f6d6d616e64a473796e63" },
    ]
}

fn leak(v: Vec<String>) -> &'static [String] {
    Box::leak(v.into_boxed_slice())
}

#[test]
fn every_outgoing_message_has_exact_bytes_under_both_serializers() {
    for case in outgoing_cases(leak(vec!["-8836".into()]), leak(vec!["7".into()])) {
        let mut json = Vec::new();
        Serializer::Json.encode(&case.msg, &mut json).unwrap();
        assert_eq!(String::from_utf8(json).unwrap(), format!("{}\nend\n", case.json), "{:?}", case.msg);
        let mut msgpack = Vec::new();
        Serializer::MessagePack.encode(&case.msg, &mut msgpack).unwrap();
        assert_eq!(msgpack, hex(case.msgpack), "{:?}", case.msg);
    }
}

#[test]
fn a_normal_emit_never_carries_task() {
    // Storm 2.6-2.8's JsonSerializer casts `task` to Long and dies on an int.
    let mut out = Vec::new();
    Serializer::Json
        .encode(&Outgoing::Emit(Emit { stream: "default", values: b"\x90", ..Emit::default() }), &mut out)
        .unwrap();
    assert!(!String::from_utf8(out).unwrap().contains("\"task\""));
}

#[test]
fn what_storm_reads_back_equals_what_was_written() {
    for serializer in [Serializer::Json, Serializer::MessagePack] {
        let mut out = Vec::new();
        let anchors = vec!["1".to_string(), "2".to_string()];
        let big = hex("94a178cf8000000000000005d3ffffff0000000000c40200ff");
        serializer
            .encode(&Outgoing::Emit(Emit { stream: "s", anchors: &anchors, values: &big, ..Emit::default() }), &mut out)
            .unwrap();
        let body_len = if serializer == Serializer::Json { out.len() - 5 } else { out.len() };
        let ShellMsg::Emit(e) = storm_side::decode(serializer, &out[..body_len]).unwrap() else { panic!() };
        assert_eq!(e.anchors, anchors);
        assert_eq!(e.task, None);
        assert_eq!(e.need_task_ids, Some(false));
        let values = rmpv::decode::read_value(&mut &e.values[..]).unwrap();
        let expected = rmpv::decode::read_value(&mut &big[..]).unwrap();
        if serializer == Serializer::MessagePack {
            assert_eq!(values, expected, "MessagePack keeps u64 and binary exactly");
        } else {
            // JSON has no binary type: the bytes become a list of numbers.
            assert_eq!(values.as_array().unwrap()[1], expected.as_array().unwrap()[1], "u64 survives JSON");
        }
    }
}

#[test]
fn what_the_child_reads_equals_what_storm_wrote() {
    for serializer in [Serializer::Json, Serializer::MessagePack] {
        let values = rmp_serde::to_vec(&("grüße", 1u8, vec![1.5f64])).unwrap();
        let msgs = [
            ToChild::Tuple { id: "-1", comp: Some("spout"), stream: "default", task: 3, values: &values },
            ToChild::heartbeat("77"),
            ToChild::TaskIds(&[1, 2, 3]),
            ToChild::Spout { command: "fail", id: Some("m-9") },
        ];
        let mut wire = Vec::new();
        for m in &msgs {
            storm_side::encode(serializer, m, &mut wire).unwrap();
        }
        let got = read_all(&wire, serializer);
        assert_eq!(
            got,
            vec![
                Ok(Incoming::Tuple(BoltTuple {
                    id: "-1".into(),
                    comp: Some("spout".into()),
                    stream: "default".into(),
                    task: 3,
                    values: values.clone()
                })),
                Ok(Incoming::Tuple(BoltTuple {
                    id: "77".into(),
                    comp: None,
                    stream: "__heartbeat".into(),
                    task: -1,
                    values: vec![0x90]
                })),
                Ok(Incoming::TaskIds(vec![1, 2, 3])),
                Ok(Incoming::Spout(SpoutCommand::Fail("m-9".into()))),
            ],
            "{serializer:?}"
        );
    }
}

#[test]
fn storm_side_reads_single_string_anchors_and_pid() {
    let msg = storm_side::decode(Serializer::Json, b"{\"command\":\"emit\",\"anchors\":\"5\",\"tuple\":[1]}").unwrap();
    assert_eq!(
        msg,
        ShellMsg::Emit(ShellEmit { anchors: vec!["5".into()], values: vec![0x91, 0x01], ..ShellEmit::default() })
    );
    assert_eq!(storm_side::decode(Serializer::Json, b"{\"pid\":4242}").unwrap(), ShellMsg::Pid(4242));
    assert_eq!(storm_side::decode(Serializer::MessagePack, &hex("81a3706964cd1092")).unwrap(), ShellMsg::Pid(4242));
}

// ---- bad input: a clear error, and nothing invented ----

#[test]
fn a_truncated_frame_is_reported_as_such() {
    let json = b"{\"comp\":\"spout\",\"tuple\":[\"a\"],\"task\":7,\"stream\":\"default\",\"id\":\"1\"}\nen";
    let mp = &hex(incoming_cases()[0].msgpack)[..20];
    for (s, bytes) in [(Serializer::Json, &json[..]), (Serializer::MessagePack, mp)] {
        let err = MessageReader::new(bytes, s).next_message().unwrap_err();
        assert!(matches!(err, ReadError::Truncated(n) if n == bytes.len()), "{s:?}: {err}");
        assert!(err.to_string().contains("in the middle of a message"));
    }
}

#[test]
fn invalid_json_names_the_problem_and_the_next_message_still_reads() {
    let wire = b"{\"comp\": oops\nend\n[1]\nend\n";
    let got = read_all(wire, Serializer::Json);
    assert_eq!(got.len(), 2);
    let err = got[0].as_ref().unwrap_err();
    assert!(err.contains("invalid JSON from Storm") && err.contains("oops"), "{err}");
    assert_eq!(got[1], Ok(Incoming::TaskIds(vec![1])));
}

#[test]
fn messages_of_the_wrong_shape_are_refused() {
    for (serializer, bytes, needle) in [
        (Serializer::Json, b"\"hello\"\nend\n".to_vec(), "expected a JSON object or array, got `\"hello\"`"),
        (Serializer::Json, b"{\"command\":\"jump\"}\nend\n".to_vec(), "unknown spout command `jump`"),
        (
            Serializer::Json,
            b"{\"id\":\"1\",\"stream\":\"s\",\"task\":1,\"tuple\":5}\nend\n".to_vec(),
            "`tuple` is not an array",
        ),
        (Serializer::Json, b"\nend\n".to_vec(), "an empty message"),
        (Serializer::MessagePack, hex("a568656c6c6f"), "expected a map or an array"),
        (Serializer::MessagePack, hex("c1"), "0xc1"),
    ] {
        let got = read_all(&bytes, serializer);
        let err = got[0].as_ref().unwrap_err();
        assert!(err.contains(needle), "{serializer:?}: {err}");
    }
}

#[test]
fn a_message_without_end_is_bounded() {
    let garbage = vec![b'x'; 10_000];
    let err = MessageReader::new(&garbage[..], Serializer::Json).max_message_bytes(1000).next_message().unwrap_err();
    assert!(matches!(err, ReadError::TooLarge(_)), "{err}");
    assert!(err.to_string().contains("end"), "the error hints at the framing: {err}");
}

#[test]
fn hostile_msgpack_nesting_does_not_overflow_the_stack() {
    let deep: Vec<u8> = std::iter::repeat_n(0x91u8, 1_000_000).chain([0xc0]).collect();
    assert_eq!(storm_multilang::msgpack::value_len(&deep), Ok(deep.len()));
    let huge_count = hex("dfffffffff");
    assert_eq!(storm_multilang::msgpack::value_len(&huge_count), Err(storm_multilang::msgpack::Short::Incomplete));
}
