//! Bad input: a clear error on stderr, a non-zero exit, and no tuple acked
//! that was not processed.

use std::path::Path;

use serde_json::json;
use storm_multilang::storm_side::{ShellMsg, ToChild};
use storm_multilang::Serializer;
use storm_wasm_tests::shell::{conf, context, Shell};
use storm_wasm_tests::{msgpack, plugin};

use crate::SERIALIZERS;

fn bolt(serializer: Serializer) -> Shell {
    let mut shell = Shell::storm_wasm("bolt", &plugin("split_sentence"), serializer, &[]);
    shell.handshake(conf(), context(3, "split"));
    shell
}

fn acked(msgs: &[ShellMsg]) -> Vec<String> {
    msgs.iter().filter_map(|m| if let ShellMsg::Ack(id) = m { Some(id.clone()) } else { None }).collect()
}

fn exit_code(shell: &mut Shell) -> Option<i32> {
    shell.wait().code()
}

#[test]
fn a_truncated_frame_exits_non_zero_and_acks_only_what_was_processed() {
    for s in SERIALIZERS {
        let mut shell = bolt(s);
        shell.send_tuple("ok", &json!(["a b"]));
        let mut frame = Vec::new();
        let values = msgpack(&json!(["never processed"]));
        storm_multilang::storm_side::encode(
            s,
            &ToChild::Tuple { id: "cut", comp: Some("x"), stream: "default", task: 1, values: &values },
            &mut frame,
        )
        .unwrap();
        shell.send_raw(&frame[..frame.len() / 2]);
        shell.close_stdin();
        let all = shell.recv_to_end();
        assert_eq!(acked(&all), vec!["ok".to_string()], "{s:?}");
        assert!(
            all.iter().any(|m| matches!(m, ShellMsg::Error(e) if e.contains("middle of a message"))),
            "{s:?}: {all:?}"
        );
        assert_eq!(exit_code(&mut shell), Some(2), "{s:?}");
        assert!(shell.stderr().contains("closed the connection in the middle of a message"), "{}", shell.stderr());
    }
}

#[test]
fn invalid_json_stops_the_bolt_with_the_parser_error() {
    let mut shell = bolt(Serializer::Json);
    shell.send_tuple("ok", &json!(["a"]));
    shell.send_raw(b"{\"comp\":\"spout\",\"tuple\":[oops],\"task\":1,\"stream\":\"default\",\"id\":\"bad\"}\nend\n");
    shell.send_tuple("after", &json!(["b"]));
    let all = shell.recv_to_end();
    assert_eq!(acked(&all), vec!["ok".to_string()], "nothing after the bad message is acked");
    assert_eq!(exit_code(&mut shell), Some(2));
    let stderr = shell.stderr();
    assert!(stderr.contains("invalid JSON from Storm") && stderr.contains("oops"), "{stderr}");
}

#[test]
fn invalid_msgpack_stops_the_bolt() {
    let mut shell = bolt(Serializer::MessagePack);
    shell.send_raw(&[0xc1, 0x00, 0x01]);
    let all = shell.recv_to_end();
    assert!(acked(&all).is_empty());
    assert_eq!(exit_code(&mut shell), Some(2));
    assert!(shell.stderr().contains("invalid MessagePack from Storm"), "{}", shell.stderr());
}

#[test]
fn a_message_of_the_wrong_kind_says_which_component_kind_to_run() {
    for s in SERIALIZERS {
        let mut shell = bolt(s);
        shell.send(&ToChild::Spout { command: "next", id: None });
        shell.recv_to_end();
        assert_eq!(exit_code(&mut shell), Some(2), "{s:?}");
        assert!(
            shell.stderr().contains("is this component a spout? then run `storm-wasm spout`"),
            "{}",
            shell.stderr()
        );

        let mut shell = Shell::storm_wasm("spout", &plugin("sentence_spout"), s, &[]);
        shell.handshake(conf(), context(1, "s"));
        shell.send_tuple("t", &json!(["x"]));
        shell.recv_to_end();
        assert_eq!(exit_code(&mut shell), Some(2), "{s:?}");
        assert!(shell.stderr().contains("is this component a bolt?"), "{}", shell.stderr());
    }
}

#[test]
fn a_second_handshake_is_refused() {
    let mut shell = bolt(Serializer::Json);
    shell.send(&ToChild::Handshake { pid_dir: "/tmp", conf: &[0x80], context: &[0x80] });
    shell.recv_to_end();
    assert_eq!(exit_code(&mut shell), Some(2));
    assert!(shell.stderr().contains("a second handshake"), "{}", shell.stderr());
}

#[test]
fn the_wrong_serializer_is_named_in_the_error() {
    let mut shell = Shell::storm_wasm("bolt", &plugin("split_sentence"), Serializer::Json, &[]);
    // MessagePack bytes to a host told to expect JSON, as with a topology
    // whose topology.multilang.serializer does not match.
    shell.send_raw(&msgpack(&json!({"pidDir": "/tmp", "conf": {}, "context": {}})));
    shell.close_stdin();
    assert_eq!(exit_code(&mut shell), Some(2));
    assert!(shell.stderr().contains("is --serializer Json what the topology uses?"), "{}", shell.stderr());
}

#[test]
fn auto_detects_either_serializer() {
    for s in SERIALIZERS {
        let mut shell = Shell::spawn(
            &storm_wasm_tests::host_binary(),
            &["bolt", plugin("split_sentence").to_str().unwrap(), "--serializer", "auto"],
            s,
        );
        shell.handshake(conf(), context(3, "split"));
        shell.send_tuple("1", &json!(["a"]));
        let got = shell.recv_until(|m| matches!(m, ShellMsg::Ack(_)));
        assert_eq!(got.last(), Some(&ShellMsg::Ack("1".into())), "{s:?}");
    }
}

fn start_error(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(storm_wasm_tests::host_binary())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", String::from_utf8_lossy(&out.stdout));
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn plugins_that_cannot_load_exit_3_with_what_to_do() {
    let (code, err) = start_error(&["bolt", "/nonexistent/x.wasm"]);
    assert_eq!(code, Some(3));
    assert!(err.contains("cannot read the plugin /nonexistent/x.wasm") && err.contains("absolute path"), "{err}");

    let (code, err) = start_error(&["bolt", plugin("sentence_spout").to_str().unwrap()]);
    assert_eq!(code, Some(3));
    assert!(err.contains("does not fit the storm:plugin Bolt world (is it a spout?)"), "{err}");

    let dir = std::env::temp_dir().join(format!("storm-wasm-core-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let core = dir.join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let (code, err) = start_error(&["bolt", core.to_str().unwrap()]);
    assert_eq!(code, Some(3));
    assert!(err.contains("core WebAssembly module, not a component") && err.contains("wasm32-wasip2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!Path::new("/nonexistent").exists());
}
