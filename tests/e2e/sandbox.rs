//! Hostile plugins (plugins/hostile, built from source) against the real
//! host: each misdeed is contained as specified, the right tuples fail, the
//! error names the cause, and stdout carries nothing but valid frames (the
//! harness fails on anything else).

use std::time::{Duration, Instant};

use serde_json::json;
use storm_multilang::storm_side::{ShellEmit, ShellMsg, ToChild};
use storm_multilang::Serializer;
use storm_wasm_tests::shell::{conf, context, Shell};
use storm_wasm_tests::{json_of, msgpack, plugin};

use crate::SERIALIZERS;

fn hostile(serializer: Serializer, args: &[&str]) -> Shell {
    hostile_with_conf(serializer, args, conf())
}

fn hostile_with_conf(serializer: Serializer, args: &[&str], conf: serde_json::Value) -> Shell {
    let mut shell = Shell::storm_wasm("bolt", &plugin("hostile"), serializer, args);
    shell.handshake(conf, context(3, "hostile"));
    shell
}

/// Messages up to the ack or fail of `id`, host log lines dropped.
fn until_resolved(shell: &mut Shell, id: &str) -> Vec<ShellMsg> {
    shell
        .recv_until(|m| matches!(m, ShellMsg::Ack(x) | ShellMsg::Fail(x) if x == id))
        .into_iter()
        .filter(|m| !matches!(m, ShellMsg::Log { .. }))
        .collect()
}

fn errors(msgs: &[ShellMsg]) -> Vec<&str> {
    msgs.iter().filter_map(|m| if let ShellMsg::Error(e) = m { Some(e.as_str()) } else { None }).collect()
}

fn emitted(msgs: &[ShellMsg]) -> Vec<serde_json::Value> {
    msgs.iter().filter_map(|m| if let ShellMsg::Emit(e) = m { Some(json_of(&e.values)) } else { None }).collect()
}

/// Sends `cmd` as tuple "bad", expects it to fail with an error containing
/// `cause`, then checks that a fresh instance serves tuple "ok".
fn contained(shell: &mut Shell, cmd: &str, cause: &str) {
    shell.send_tuple("bad", &json!([cmd]));
    let got = until_resolved(shell, "bad");
    assert_eq!(got.last(), Some(&ShellMsg::Fail("bad".into())), "{cmd}: {got:?}");
    let errs = errors(&got);
    assert!(errs.iter().any(|e| e.contains("hostile.wasm") && e.contains(cause)), "{cmd}: {errs:?}");
    assert!(emitted(&got).is_empty(), "{cmd}: nothing of the failed call reaches Storm: {got:?}");
    shell.send_tuple("ok", &json!(["fine"]));
    assert_eq!(emitted(&until_resolved(shell, "ok")), vec![json!(["fine"])], "{cmd}: the host goes on");
}

#[test]
fn an_infinite_loop_is_interrupted_and_heartbeats_are_answered_meanwhile() {
    for s in SERIALIZERS {
        let mut shell = hostile(s, &["--deadline-ms", "1500", "--deadline-per-tuple-ms", "0"]);
        shell.send_tuple("bad", &json!(["loop"]));
        std::thread::sleep(Duration::from_millis(200));
        let sent = Instant::now();
        shell.send(&ToChild::heartbeat("hb"));
        let got = shell.recv_until(|m| *m == ShellMsg::Sync || matches!(m, ShellMsg::Fail(_)));
        assert_eq!(got.last(), Some(&ShellMsg::Sync), "{s:?}: the heartbeat is answered before the loop ends");
        assert!(sent.elapsed() < Duration::from_secs(1), "{s:?}: answered within a second: {:?}", sent.elapsed());
        let got = until_resolved(&mut shell, "bad");
        assert!(errors(&got).iter().any(|e| e.contains("exceeded its CPU deadline of 1500 ms")), "{got:?}");
        shell.send_tuple("ok", &json!(["fine"]));
        assert_eq!(emitted(&until_resolved(&mut shell, "ok")), vec![json!(["fine"])]);
    }
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    for s in SERIALIZERS {
        let mut shell = hostile(s, &["--max-memory-mib", "32"]);
        contained(&mut shell, "memory", "ran out of memory");
        contained(&mut shell, "memory", "its limit is 32 MiB");
    }
}

#[test]
fn deep_recursion_overflows_the_stack_and_names_the_function() {
    let mut shell = hostile(Serializer::MessagePack, &[]);
    contained(&mut shell, "recursion", "overflowed its stack");
    contained(&mut shell, "recursion", "hostile::recurse");
}

#[test]
fn a_giant_emit_and_an_emit_flood_exceed_the_per_call_limits() {
    for s in SERIALIZERS {
        let mut shell = hostile(s, &[]);
        contained(&mut shell, "giant-emit", "handed the host more than 67108864 bytes in one call");
        contained(&mut shell, "emit-flood", "emitted more than 100000 tuples in one call");
    }
}

#[test]
fn a_log_flood_is_rate_limited_and_the_tuple_still_succeeds() {
    let mut shell = hostile(Serializer::Json, &["--log-lines-per-sec", "50"]);
    shell.send_tuple("flood", &json!(["log-flood"]));
    let got = shell.recv_until(|m| matches!(m, ShellMsg::Ack(x) if x == "flood"));
    let lines = got.iter().filter(|m| matches!(m, ShellMsg::Log { msg, .. } if msg.starts_with("flood line"))).count();
    assert!((1..=60).contains(&lines), "{lines} of 100000 lines passed");
    std::thread::sleep(Duration::from_millis(100));
    shell.send_tuple("more", &json!(["log-flood"]));
    let got = shell.recv_until(|m| matches!(m, ShellMsg::Ack(x) if x == "more"));
    assert!(
        got.iter().any(|m| matches!(m, ShellMsg::Log { level: Some(3), msg } if msg.contains("log lines of plugin hostile.wasm dropped"))),
        "the drop is reported"
    );
}

#[test]
fn no_files_no_network_no_environment_by_default() {
    for s in SERIALIZERS {
        let mut shell = hostile(s, &[]);
        for (id, cmd, expect) in [
            ("f", "read:/etc/passwd", "denied:"),
            ("n", "connect:127.0.0.1:9", "denied:"),
            ("e", "env:HOME", "env:0:none"),
        ] {
            shell.send_tuple(id, &json!([cmd]));
            let got = until_resolved(&mut shell, id);
            let out = emitted(&got);
            assert!(out[0][0].as_str().unwrap().starts_with(expect), "{s:?} {cmd}: {out:?}");
            assert_eq!(got.last(), Some(&ShellMsg::Ack(id.into())));
        }
    }
}

#[test]
fn granted_directories_and_variables_are_visible_and_read_only() {
    let dir = std::env::temp_dir().join(format!("storm-wasm-grant-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data.txt"), b"12345").unwrap();
    let grant = format!("{}:/data", dir.display());
    // Inherited by the child; no other test reads it.
    std::env::set_var("STORM_WASM_GRANT_TEST", "granted");
    let mut c = conf();
    c["storm.wasm.grant.env"] = json!(["STORM_WASM_GRANT_TEST"]);
    let mut shell = Shell::spawn(
        &storm_wasm_tests::host_binary(),
        &["bolt", plugin("hostile").to_str().unwrap(), "--grant-dir", &grant, "--stderr-log", "info"],
        Serializer::Json,
    );
    shell.handshake(c, context(3, "hostile"));
    for (id, cmd, expect) in [("r", "read:/data/data.txt", "read:5"), ("x", "read:/etc/passwd", "denied:")] {
        shell.send_tuple(id, &json!([cmd]));
        let out = emitted(&until_resolved(&mut shell, id));
        assert!(out[0][0].as_str().unwrap().starts_with(expect), "{cmd}: {out:?}");
    }
    // Only the granted variable, of all the host's environment.
    shell.send_tuple("e", &json!(["env:STORM_WASM_GRANT_TEST"]));
    assert_eq!(emitted(&until_resolved(&mut shell, "e")), vec![json!(["env:1:granted"])]);
    assert!(shell.wait().success());
    let stderr = shell.stderr();
    assert!(
        stderr.contains("grants: read-only dir")
            && stderr.contains("at /data")
            && stderr.contains("env STORM_WASM_GRANT_TEST"),
        "the grants are in the startup log: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn printing_becomes_log_lines_and_never_reaches_the_protocol() {
    for s in SERIALIZERS {
        let mut shell = hostile(s, &[]);
        shell.send_tuple("p", &json!(["stdout"]));
        let got = shell.recv_until(|m| matches!(m, ShellMsg::Ack(x) if x == "p"));
        assert!(got.contains(&ShellMsg::Log { level: Some(2), msg: "[stdout] hello from stdout".into() }), "{got:?}");
        assert!(got.contains(&ShellMsg::Log { level: Some(3), msg: "[stderr] hello from stderr".into() }), "{got:?}");
    }
}

#[test]
fn a_panic_fails_the_tuple_with_the_panic_message() {
    for s in SERIALIZERS {
        let mut shell = hostile(s, &[]);
        contained(&mut shell, "panic", "hostile: asked to panic on panic");
    }
}

#[test]
fn only_the_poison_tuple_of_a_batch_fails() {
    for s in SERIALIZERS {
        let mut shell = hostile(s, &[]);
        for (id, cmd) in [("a", "one"), ("p", "poison"), ("b", "two")] {
            let values = msgpack(&json!([cmd]));
            shell.queue(&ToChild::Tuple { id, comp: Some("src"), stream: "default", task: 1, values: &values });
        }
        shell.flush();
        shell.close_stdin();
        let all = shell.recv_to_end();
        let resolved: Vec<&ShellMsg> =
            all.iter().filter(|m| matches!(m, ShellMsg::Ack(_) | ShellMsg::Fail(_))).collect();
        assert_eq!(resolved.len(), 3, "{s:?}: each tuple resolved once: {resolved:?}");
        assert!(resolved.contains(&&ShellMsg::Ack("a".into())) && resolved.contains(&&ShellMsg::Ack("b".into())));
        assert!(resolved.contains(&&ShellMsg::Fail("p".into())), "{resolved:?}");
        assert_eq!(emitted(&all), vec![json!(["one"]), json!(["two"])], "{s:?}: no duplicate emits");
        assert!(shell.wait().success());
    }
}

#[test]
fn a_repeatedly_failing_tuple_goes_to_the_dead_letter_stream() {
    let mut shell = hostile(Serializer::MessagePack, &["--poison-after", "2", "--poison-stream", "dlq"]);
    shell.send_tuple("p1", &json!(["poison", 7]));
    assert_eq!(until_resolved(&mut shell, "p1").last(), Some(&ShellMsg::Fail("p1".into())));
    shell.send_tuple("p2", &json!(["poison", 7]));
    let got = until_resolved(&mut shell, "p2");
    let dead =
        got.iter().find_map(|m| if let ShellMsg::Emit(e) = m { Some(e.clone()) } else { None }).expect("a dead letter");
    assert_eq!((dead.stream(), dead.anchors.clone()), ("dlq", vec!["p2".to_string()]));
    let values = json_of(&dead.values);
    assert_eq!((&values[0], &values[1], &values[2]), (&json!("source"), &json!("default"), &json!(["poison", 7])));
    assert!(values[3].as_str().unwrap().contains("asked to panic on poison"), "{values}");
    assert_eq!(got.last(), Some(&ShellMsg::Ack("p2".into())), "acked, so Storm stops replaying it");
}

#[test]
fn a_plugin_that_traps_in_prepare_exits_after_bounded_attempts() {
    for s in SERIALIZERS {
        let mut c = conf();
        c["hostile.trap.in.prepare"] = json!(true);
        let started = Instant::now();
        let mut shell = Shell::storm_wasm("bolt", &plugin("hostile"), s, &["--max-consecutive-traps", "3"]);
        shell.handshake(c, context(3, "hostile"));
        let all = shell.recv_to_end();
        assert_eq!(shell.wait().code(), Some(3), "{s:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "bounded: {:?}", started.elapsed());
        let stderr = shell.stderr();
        assert!(stderr.contains("failed 4 times in a row") && stderr.contains("asked to trap in prepare"), "{stderr}");
        assert!(errors(&all).iter().any(|e| e.contains("giving up")), "{all:?}");
    }
}

#[test]
fn a_plugin_that_traps_on_every_call_fails_everything_and_exits() {
    for s in SERIALIZERS {
        let mut c = conf();
        c["hostile.trap.always"] = json!(true);
        c["storm.wasm.max.consecutive.traps"] = json!(4);
        let mut shell = hostile_with_conf(s, &[], c);
        for i in 0..10 {
            shell.send_tuple(&format!("t{i}"), &json!(["x"]));
        }
        let all = shell.recv_to_end();
        assert_eq!(shell.wait().code(), Some(3), "{s:?}");
        assert!(
            !all.iter().any(|m| matches!(m, ShellMsg::Ack(_) | ShellMsg::Emit(_))),
            "{s:?}: nothing acked or emitted"
        );
        assert!(
            shell.stderr().contains("failed 5 times in a row (storm.wasm.max.consecutive.traps = 4)"),
            "{}",
            shell.stderr()
        );
    }
}

#[test]
fn conf_limits_override_the_command_line() {
    let mut c = conf();
    c["storm.wasm.deadline.ms"] = json!(200);
    c["storm.wasm.deadline.per.tuple.ms"] = json!(0);
    let mut shell = hostile_with_conf(Serializer::Json, &["--deadline-ms", "60000"], c);
    let started = Instant::now();
    contained(&mut shell, "loop", "exceeded its CPU deadline of 200 ms");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn anchors_and_acks_of_tuples_not_in_flight_are_refused_before_storm_sees_them() {
    // Storm kills the worker on either; the plugin gets an error instead.
    for s in SERIALIZERS {
        let mut shell = hostile(s, &[]);
        shell.send_tuple("s", &json!(["stale"]));
        let got = until_resolved(&mut shell, "s");
        assert_eq!(
            got,
            vec![
                ShellMsg::Emit(ShellEmit {
                    stream: Some("default".into()),
                    anchors: vec!["s".into()],
                    need_task_ids: Some(false),
                    values: msgpack(&json!(["refused:true:true"])),
                    ..ShellEmit::default()
                }),
                ShellMsg::Ack("s".into()),
            ],
            "{s:?}"
        );
    }
}
