//! Python plugins (componentize-py, sdk/python) under the real host. Owned by
//! the Python SDK work (issue 7). The plugins are built by
//! `scripts/build-python-plugins.sh` from `plugins/python/<name>/`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::json;
use storm_multilang::storm_side::{ShellEmit, ShellMsg, ToChild};
use storm_multilang::Serializer;
use storm_wasm_tests::shell::{conf, context, Shell};
use storm_wasm_tests::{host_binary, json_of, msgpack, plugin};

use crate::SERIALIZERS;

/// A Python plugin, compiled into the cache first: an 18 MB component takes
/// seconds to compile (longer while other tests compile too), more than the
/// harness waits for the handshake reply. Once per plugin per test run.
fn python_plugin(name: &str) -> PathBuf {
    static COMPILED: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut compiled = COMPILED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    compiled
        .entry(name.to_string())
        .or_insert_with(|| {
            let path = plugin(name);
            let out = Command::new(host_binary()).arg("compile").arg(&path).output().expect("storm-wasm compile runs");
            assert!(
                out.status.success(),
                "storm-wasm compile {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            path
        })
        .clone()
}

fn bolt(name: &str, serializer: Serializer) -> Shell {
    let mut shell = Shell::storm_wasm("bolt", &python_plugin(name), serializer, &[]);
    shell.handshake(conf(), context(3, "bolt"));
    shell
}

/// Messages until the tuple `id` is acked or failed.
fn until_resolved(shell: &mut Shell, id: &str) -> Vec<ShellMsg> {
    shell.recv_until(|m| matches!(m, ShellMsg::Ack(x) | ShellMsg::Fail(x) if x == id))
}

/// Without log lines.
fn quiet(msgs: Vec<ShellMsg>) -> Vec<ShellMsg> {
    msgs.into_iter().filter(|m| !matches!(m, ShellMsg::Log { .. })).collect()
}

/// The text of the plugin's log lines (the host's own dropped).
fn plugin_logs(msgs: &[ShellMsg]) -> Vec<(i64, &str)> {
    msgs.iter()
        .filter_map(|m| match m {
            ShellMsg::Log { level, msg } if !msg.starts_with("storm-wasm:") => Some((level.unwrap_or(2), msg.as_str())),
            _ => None,
        })
        .collect()
}

fn emit(values: serde_json::Value, anchors: &[&str]) -> ShellMsg {
    ShellMsg::Emit(ShellEmit {
        stream: Some("default".into()),
        anchors: anchors.iter().map(|a| a.to_string()).collect(),
        need_task_ids: Some(false),
        values: msgpack(&values),
        ..ShellEmit::default()
    })
}

fn tick(shell: &mut Shell, id: &str) {
    let values = msgpack(&json!([5]));
    shell.send(&ToChild::Tuple { id, comp: Some("__system"), stream: "__tick", task: -1, values: &values });
}

#[test]
fn word_count_emits_anchored_counts_then_acks() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_word_count", s);
        let mut got = Vec::new();
        for (i, w) in ["cow", "moon", "cow", "cow"].iter().enumerate() {
            shell.send_tuple(&i.to_string(), &json!([w]));
            got.push(quiet(until_resolved(&mut shell, &i.to_string())));
        }
        assert_eq!(got[0], vec![emit(json!(["cow", 1]), &["0"]), ShellMsg::Ack("0".into())], "{s:?}");
        assert_eq!(got[3], vec![emit(json!(["cow", 3]), &["3"]), ShellMsg::Ack("3".into())], "{s:?}");
        // "dog" counts ten, as in streamparse's original.
        shell.send_tuple("dog", &json!(["dog"]));
        assert_eq!(quiet(until_resolved(&mut shell, "dog"))[0], emit(json!(["dog", 10]), &["dog"]), "{s:?}");
        assert!(shell.wait().success(), "{s:?}: {}", shell.stderr());
    }
}

#[test]
fn word_count_logs_its_total_every_thousand_words_through_python_logging() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_word_count", s);
        for i in 0..1000 {
            let values = msgpack(&json!([format!("w{}", i % 7)]));
            shell.queue(&ToChild::Tuple {
                id: &i.to_string(),
                comp: Some("source"),
                stream: "default",
                task: 1,
                values: &values,
            });
        }
        shell.flush();
        let got = until_resolved(&mut shell, "999");
        let logs = plugin_logs(&got);
        assert!(
            logs.iter().any(|(level, m)| *level == 2 && m.starts_with("counted [1,000] words [pid=")),
            "{s:?}: {logs:?}"
        );
        assert_eq!(got.iter().filter(|m| matches!(m, ShellMsg::Ack(_))).count(), 1000, "{s:?}");
    }
}

#[test]
fn json_fields_emits_action_is_bot_and_user_or_none() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_json_fields", s);
        let events = [
            (r#"{"action": "edit", "is_bot": false, "user": "Ada", "title": "Storm"}"#, json!(["edit", false, "Ada"])),
            (r#"{"action": "create", "is_bot": true}"#, json!(["create", true, null])),
            (r#"{"user": "grüße 🎉"}"#, json!(["", false, "grüße 🎉"])),
        ];
        for (i, (event, want)) in events.iter().enumerate() {
            let id = format!("e{i}");
            shell.send_tuple(&id, &json!([event]));
            assert_eq!(
                quiet(until_resolved(&mut shell, &id)),
                vec![emit(want.clone(), &[&id]), ShellMsg::Ack(id.clone())],
                "{s:?}"
            );
        }
        shell.send_tuple("bad", &json!(["{not json"]));
        let got = until_resolved(&mut shell, "bad");
        assert_eq!(got.last(), Some(&ShellMsg::Fail("bad".into())), "{s:?}");
        assert!(
            plugin_logs(&got)
                .iter()
                .any(|(_, m)| m.starts_with("tuple bad failed: json.decoder.JSONDecodeError: Expecting property name")),
            "{s:?}: {got:?}"
        );
    }
}

#[test]
fn an_exception_fails_the_tuple_with_the_python_traceback() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_test_bolt", s);
        shell.send_tuple("boom", &json!(["raise"]));
        let got = until_resolved(&mut shell, "boom");
        assert_eq!(quiet(got.clone()), vec![ShellMsg::Fail("boom".into())], "{s:?}: nothing emitted");
        let logs = plugin_logs(&got);
        let (level, text) =
            logs.iter().find(|(_, m)| m.starts_with("tuple boom failed: ")).expect("the reason is logged");
        assert_eq!(*level, 3, "{s:?}");
        for part in [
            "ValueError: asked to raise: raise\nTraceback (most recent call last):",
            "File \"py_test_bolt.py\", line",
            "in process",
            "in _lookup",
            "raise ValueError(\"asked to raise: \" + name)",
        ] {
            assert!(text.contains(part), "{s:?}: {part:?} not in {text}");
        }
        // The bolt goes on with the next tuple.
        shell.send_tuple("next", &json!(["hello"]));
        assert_eq!(
            quiet(until_resolved(&mut shell, "next")),
            vec![emit(json!(["hello"]), &["next"]), ShellMsg::Ack("next".into())]
        );
        assert!(shell.wait().success(), "{s:?}: {}", shell.stderr());
    }
}

#[test]
fn raise_exception_reports_an_error_and_the_tuple_still_succeeds() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_test_bolt", s);
        shell.send_tuple("r", &json!(["error:disk full"]));
        let got = until_resolved(&mut shell, "r");
        let error = got.iter().find_map(|m| if let ShellMsg::Error(e) = m { Some(e) } else { None }).expect("an error");
        assert!(error.contains("Python RuntimeError raised while processing tuple"), "{error}");
        assert!(error.contains("RuntimeError: disk full\nTraceback (most recent call last):"), "{error}");
        assert_eq!(got.last(), Some(&ShellMsg::Ack("r".into())), "{s:?}");
    }
}

#[test]
fn tick_tuples_reach_process_tick_and_are_acked() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_test_bolt", s);
        for (i, id) in ["tick-1", "tick-2"].into_iter().enumerate() {
            tick(&mut shell, id);
            let got = quiet(until_resolved(&mut shell, id));
            assert_eq!(got, vec![emit(json!(["tick", i + 1]), &[]), ShellMsg::Ack(id.into())], "{s:?}");
        }
        // The passthrough bolt's process_tick is pystorm's default: nothing.
        let mut shell = bolt("py_passthrough", s);
        tick(&mut shell, "t");
        assert_eq!(quiet(until_resolved(&mut shell, "t")), vec![ShellMsg::Ack("t".into())], "{s:?}");
    }
}

#[test]
fn heartbeats_are_answered_and_every_tuple_is_acked_once() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_passthrough", s);
        for i in 0..20 {
            shell.queue(&ToChild::heartbeat(&format!("hb{i}")));
            let values = msgpack(&json!([i, "x"]));
            shell.queue(&ToChild::Tuple {
                id: &format!("t{i}"),
                comp: Some("source"),
                stream: "default",
                task: 1,
                values: &values,
            });
        }
        shell.flush();
        shell.close_stdin();
        let all = shell.recv_to_end();
        assert_eq!(all.iter().filter(|m| **m == ShellMsg::Sync).count(), 20, "{s:?}: every heartbeat answered");
        assert_eq!(all.iter().filter(|m| matches!(m, ShellMsg::Ack(_))).count(), 20, "{s:?}: every tuple acked once");
        assert_eq!(all.iter().filter(|m| matches!(m, ShellMsg::Emit(_))).count(), 20, "{s:?}");
        assert!(shell.wait().success());
    }
}

#[test]
fn values_survive_a_round_trip_through_python() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_passthrough", s);
        let values =
            json!(["grüße \u{1f389} \u{2028}", {"k": [1, -2, 2.5, null, true]}, [[["deep"]]], i64::MIN, u64::MAX, ""]);
        shell.send_tuple("u", &values);
        assert_eq!(
            quiet(until_resolved(&mut shell, "u")),
            vec![emit(values.clone(), &["u"]), ShellMsg::Ack("u".into())],
            "{s:?}"
        );
        let big: String = (0..(1 << 20)).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        shell.send_tuple("big", &json!([big]));
        assert_eq!(
            quiet(until_resolved(&mut shell, "big")),
            vec![emit(json!([big]), &["big"]), ShellMsg::Ack("big".into())],
            "{s:?}"
        );
    }
}

#[test]
fn explicit_fail_keep_and_later_ack_follow_the_rust_sdk_rules() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_test_bolt", s);
        shell.send_tuple("f", &json!(["fail"]));
        assert_eq!(quiet(until_resolved(&mut shell, "f")), vec![ShellMsg::Fail("f".into())], "{s:?}");
        shell.send_tuple("k1", &json!(["keep"]));
        shell.send_tuple("k2", &json!(["keep"]));
        shell.send_tuple("go", &json!(["ackall"]));
        assert_eq!(
            quiet(until_resolved(&mut shell, "go")),
            vec![
                ShellMsg::Ack("k1".into()),
                ShellMsg::Ack("k2".into()),
                emit(json!(["ackall"]), &["go"]),
                ShellMsg::Ack("go".into())
            ],
            "{s:?}"
        );
    }
}

#[test]
fn need_task_ids_waits_for_storm_and_heartbeats_are_answered_meanwhile() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_test_bolt", s);
        shell.send_tuple("1", &json!(["taskids"]));
        let first = shell.recv_until(|m| matches!(m, ShellMsg::Emit(_)));
        let Some(ShellMsg::Emit(e)) = first.last() else { unreachable!() };
        assert_eq!(e.need_task_ids, Some(true), "{s:?}");
        shell.send(&ToChild::heartbeat("hb"));
        assert_eq!(quiet(shell.recv_until(|m| !matches!(m, ShellMsg::Log { .. }))), vec![ShellMsg::Sync], "{s:?}");
        shell.send(&ToChild::TaskIds(&[4, 5]));
        assert_eq!(
            quiet(until_resolved(&mut shell, "1")),
            vec![emit(json!(["taskids:4,5"]), &["1"]), ShellMsg::Ack("1".into())],
            "{s:?}"
        );
    }
}

#[test]
fn values_are_named_by_the_declared_fields_and_python_logging_reaches_storm() {
    for s in SERIALIZERS {
        let mut shell = bolt("py_test_bolt", s);
        // context() declares source/default as ["value"].
        shell.send_tuple("f", &json!(["fields"]));
        assert_eq!(quiet(until_resolved(&mut shell, "f"))[0], emit(json!([["value"]]), &["f"]), "{s:?}");
        shell.send_tuple("l", &json!(["log:grüße from Python"]));
        let got = until_resolved(&mut shell, "l");
        assert!(plugin_logs(&got).contains(&(2, "grüße from Python")), "{s:?}: {got:?}");
    }
}

#[test]
fn an_emit_in_initialize_reaches_storm_before_any_tuple() {
    for s in SERIALIZERS {
        let mut conf = conf();
        conf["test.bolt.emit.on.initialize"] = json!("hello");
        let mut shell = Shell::storm_wasm("bolt", &python_plugin("py_test_bolt"), s, &[]);
        shell.handshake(conf, context(3, "bolt"));
        shell.send_tuple("t", &json!(["after"]));
        let got = quiet(until_resolved(&mut shell, "t"));
        assert_eq!(got[0], emit(json!(["hello"]), &[]), "{s:?}: {got:?}");
        assert_eq!(got[1], emit(json!(["after"]), &["t"]), "{s:?}: {got:?}");
    }
}

#[test]
fn importing_at_run_time_fails_the_tuple_with_a_hint() {
    let mut shell = bolt("py_test_bolt", Serializer::MessagePack);
    shell.send_tuple("i", &json!(["import"]));
    let got = until_resolved(&mut shell, "i");
    assert_eq!(got.last(), Some(&ShellMsg::Fail("i".into())));
    assert!(
        plugin_logs(&got).iter().any(|(_, m)| m.contains("ModuleNotFoundError: No module named 'wave'")
            && m.contains("import every module it uses at the top level")),
        "{got:?}"
    );
}

fn spout_cycle(shell: &mut Shell, command: &str, id: Option<&str>) -> Vec<ShellMsg> {
    shell.send(&ToChild::Spout { command, id });
    let got = shell.recv_until(|m| *m == ShellMsg::Sync);
    got.into_iter().filter(|m| !matches!(m, ShellMsg::Log { msg, .. } if msg.starts_with("storm-wasm:"))).collect()
}

#[test]
fn sentence_spout_emits_tracked_sentences_and_replays_failures() {
    for s in SERIALIZERS {
        let mut shell = Shell::storm_wasm("spout", &python_plugin("py_sentence_spout"), s, &[]);
        shell.handshake(conf(), context(1, "sentences"));
        assert_eq!(spout_cycle(&mut shell, "activate", None), vec![ShellMsg::Sync], "{s:?}");
        let got = spout_cycle(&mut shell, "next", None);
        let ShellMsg::Emit(e) = &got[0] else { panic!("{s:?}: {got:?}") };
        assert_eq!((e.id.as_deref(), e.need_task_ids, e.task), (Some("0"), Some(false), None), "{s:?}");
        assert_eq!(json_of(&e.values), json!(["the cow jumped over the moon"]), "{s:?}");
        assert_eq!(got.len(), 2, "{s:?}: one emit then sync: {got:?}");
        let got = spout_cycle(&mut shell, "fail", Some("0"));
        assert!(plugin_logs(&got).contains(&(3, "sentence 0 failed; replaying it")), "{s:?}: {got:?}");
        let got = spout_cycle(&mut shell, "next", None);
        let ShellMsg::Emit(e) = &got[0] else { panic!("{s:?}: {got:?}") };
        assert_eq!(e.id.as_deref(), Some("0"), "{s:?}: the failed id comes back");
        spout_cycle(&mut shell, "ack", Some("0"));
        let got = spout_cycle(&mut shell, "next", None);
        let ShellMsg::Emit(e) = &got[0] else { panic!("{s:?}: {got:?}") };
        assert_eq!(e.id.as_deref(), Some("1"), "{s:?}");
        assert_eq!(spout_cycle(&mut shell, "deactivate", None), vec![ShellMsg::Sync], "{s:?}");
        assert!(shell.wait().success(), "{s:?}: {}", shell.stderr());
    }
}

/// Sends `word` and returns the (count, version) the bolt emitted for it.
fn count_once(shell: &mut Shell, id: &str, word: &str) -> (u64, String) {
    shell.send_tuple(id, &json!([word]));
    let got = quiet(until_resolved(shell, id));
    assert_eq!(got.last(), Some(&ShellMsg::Ack(id.into())), "{got:?}; stderr: {}", shell.stderr());
    let Some(ShellMsg::Emit(e)) = got.first() else { panic!("no emit: {got:?}") };
    let v = json_of(&e.values);
    assert_eq!(v[0], json!(word));
    (v[1].as_u64().unwrap(), v[2].as_str().unwrap().to_string())
}

#[test]
fn hot_swaps_between_rust_and_python_carry_the_counts_both_ways() {
    // Rust swap_counter 1.0.0 -> Python py_swap_counter -> Rust
    // swap_counter_v2 2.0.0, on one running task: the Python version takes
    // over the Rust version's counts and hands them on.
    for s in SERIALIZERS {
        let dir = std::env::temp_dir().join(format!("storm-wasm-py-swap-{s:?}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let live = dir.join("counter.wasm");
        let publish = |name: &str, path: &PathBuf| {
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::copy(path, &tmp).unwrap();
            std::fs::rename(&tmp, &live).unwrap();
        };
        let python = python_plugin("py_swap_counter");
        let (v1, v2) = (plugin("swap_counter"), plugin("swap_counter_v2"));
        publish("v1", &v1);
        let mut shell = Shell::storm_wasm("bolt", &live, s, &[]);
        shell.handshake(conf(), context(3, "counter"));

        let mut total = 0;
        let mut next = 0;
        let mut serve_until = |shell: &mut Shell, version: &str| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let (count, served) = count_once(shell, &format!("t{next}"), "cow");
                next += 1;
                total += 1;
                assert_eq!(count, total, "{s:?}: the count carries over (served by {served})");
                if served == version {
                    return;
                }
                assert!(std::time::Instant::now() < deadline, "{s:?}: version {version} never served");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        };
        serve_until(&mut shell, "1.0.0");
        serve_until(&mut shell, "1.0.0");
        publish("python", &python);
        serve_until(&mut shell, "py-1.0.0");
        publish("v2", &v2);
        serve_until(&mut shell, "2.0.0");
        assert!(total >= 4, "{s:?}");
        drop(shell);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
