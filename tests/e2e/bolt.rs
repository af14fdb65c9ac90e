use serde_json::json;
use storm_multilang::storm_side::{ShellEmit, ShellMsg, ToChild};
use storm_wasm_tests::shell::{conf, context, Shell};
use storm_wasm_tests::{json_of, msgpack, plugin};

use crate::SERIALIZERS;

fn bolt(name: &str, serializer: storm_multilang::Serializer) -> Shell {
    let mut shell = Shell::storm_wasm("bolt", &plugin(name), serializer, &[]);
    shell.handshake(conf(), context(3, "bolt"));
    shell
}

/// Messages until the tuple `id` is acked or failed; logs dropped.
fn until_resolved(shell: &mut Shell, id: &str) -> Vec<ShellMsg> {
    shell
        .recv_until(|m| matches!(m, ShellMsg::Ack(x) | ShellMsg::Fail(x) if x == id))
        .into_iter()
        .filter(|m| !matches!(m, ShellMsg::Log { .. }))
        .collect()
}

fn emit(values: serde_json::Value, anchor: &str) -> ShellMsg {
    ShellMsg::Emit(ShellEmit {
        stream: Some("default".into()),
        anchors: vec![anchor.into()],
        need_task_ids: Some(false),
        values: msgpack(&values),
        ..ShellEmit::default()
    })
}

#[test]
fn split_sentence_emits_anchored_words_then_acks() {
    for s in SERIALIZERS {
        let mut shell = bolt("split_sentence", s);
        shell.send_tuple("-6955786537413359385", &json!(["the cow jumped"]));
        let got = until_resolved(&mut shell, "-6955786537413359385");
        let id = "-6955786537413359385";
        assert_eq!(
            got,
            vec![
                emit(json!(["the"]), id),
                emit(json!(["cow"]), id),
                emit(json!(["jumped"]), id),
                ShellMsg::Ack(id.into())
            ],
            "{s:?}"
        );
        assert!(shell.wait().success(), "{s:?}: {}", shell.stderr());
    }
}

#[test]
fn word_count_keeps_counting_across_tuples() {
    for s in SERIALIZERS {
        let mut shell = bolt("word_count", s);
        let mut last = Vec::new();
        for (i, w) in ["a", "b", "a", "a"].iter().enumerate() {
            shell.send_tuple(&i.to_string(), &json!([w]));
            last = until_resolved(&mut shell, &i.to_string());
        }
        assert_eq!(last, vec![emit(json!(["a", 3]), "3"), ShellMsg::Ack("3".into())], "{s:?}");
    }
}

#[test]
fn heartbeats_are_answered_with_sync_and_never_acked() {
    for s in SERIALIZERS {
        let mut shell = bolt("split_sentence", s);
        for i in 0..20 {
            shell.queue(&ToChild::heartbeat(&format!("hb{i}")));
            let values = msgpack(&json!(["x y"]));
            shell.queue(&ToChild::Tuple {
                id: &format!("t{i}"),
                comp: Some("spout"),
                stream: "default",
                task: 5,
                values: &values,
            });
        }
        shell.flush();
        shell.close_stdin();
        let all = shell.recv_to_end();
        let syncs = all.iter().filter(|m| **m == ShellMsg::Sync).count();
        let acks: Vec<&ShellMsg> = all.iter().filter(|m| matches!(m, ShellMsg::Ack(_))).collect();
        assert_eq!(syncs, 20, "{s:?}: every heartbeat answered");
        assert_eq!(acks.len(), 20, "{s:?}: every tuple acked once");
        assert!(
            !all.iter().any(|m| matches!(m, ShellMsg::Ack(id) | ShellMsg::Fail(id) if id.starts_with("hb"))),
            "{s:?}"
        );
        assert!(shell.wait().success());
    }
}

#[test]
fn heartbeats_are_answered_while_the_plugin_is_busy() {
    // The heartbeat goes in behind a tuple that asks for task ids and so
    // blocks the plugin on Storm: only a reader that runs apart from the
    // plugin can answer it.
    for s in SERIALIZERS {
        let mut shell = bolt("test_bolt", s);
        shell.send_tuple("1", &json!(["taskids"]));
        let first = shell.recv_until(|m| matches!(m, ShellMsg::Emit(_)));
        let ShellMsg::Emit(e) = first.last().unwrap() else { unreachable!() };
        assert_eq!(e.need_task_ids, Some(true), "{s:?}");
        shell.send(&ToChild::heartbeat("hb-busy"));
        assert_eq!(shell.recv_until(|m| !matches!(m, ShellMsg::Log { .. })).last(), Some(&ShellMsg::Sync), "{s:?}");
        // Task ids arrive after a later heartbeat, as ShellBolt allows.
        shell.send(&ToChild::heartbeat("hb-2"));
        shell.send(&ToChild::TaskIds(&[4, 5]));
        let rest = until_resolved(&mut shell, "1");
        assert_eq!(rest, vec![ShellMsg::Sync, emit(json!(["taskids:4,5"]), "1"), ShellMsg::Ack("1".into())], "{s:?}");
    }
}

#[test]
fn tick_tuples_are_acked() {
    for s in SERIALIZERS {
        let mut shell = bolt("split_sentence", s);
        let values = msgpack(&json!([5]));
        shell.send(&ToChild::Tuple {
            id: "tick-1",
            comp: Some("__system"),
            stream: "__tick",
            task: -1,
            values: &values,
        });
        assert_eq!(until_resolved(&mut shell, "tick-1"), vec![ShellMsg::Ack("tick-1".into())], "{s:?}");
    }
}

#[test]
fn a_one_mib_tuple_passes_through_intact() {
    for s in SERIALIZERS {
        let mut shell = bolt("passthrough", s);
        let big: String = (0..(1 << 20)).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        shell.send_tuple("big", &json!([big, 1]));
        let got = until_resolved(&mut shell, "big");
        assert_eq!(got, vec![emit(json!([big, 1]), "big"), ShellMsg::Ack("big".into())], "{s:?}");
    }
}

#[test]
fn unicode_and_nested_values_survive_both_ways() {
    for s in SERIALIZERS {
        let mut shell = bolt("passthrough", s);
        let values = json!(["grüße \u{1f389} \u{2028} a/b", {"k": [1, -2, 2.5, null, true]}, [[["deep"]]]]);
        shell.send_tuple("u", &values);
        assert_eq!(
            until_resolved(&mut shell, "u"),
            vec![emit(values.clone(), "u"), ShellMsg::Ack("u".into())],
            "{s:?}"
        );

        let mut shell = bolt("test_bolt", s);
        shell.send_tuple("n", &json!(["unicode"]));
        let got = until_resolved(&mut shell, "n");
        let ShellMsg::Emit(e) = &got[0] else { panic!("{got:?}") };
        assert_eq!(json_of(&e.values), json!([[["grüße", "日本語", "🎉"], [1, -2, 3], {"k": 2.5}]]), "{s:?}");
    }
}

#[test]
fn failures_and_errors_fail_the_tuple_and_say_why() {
    for s in SERIALIZERS {
        let mut shell = bolt("test_bolt", s);
        shell.send_tuple("f", &json!(["fail please"]));
        assert_eq!(until_resolved(&mut shell, "f"), vec![ShellMsg::Fail("f".into())], "{s:?}");
        shell.send_tuple("e", &json!(["error"]));
        let got = shell.recv_until(|m| matches!(m, ShellMsg::Fail(x) if x == "e"));
        assert!(
            got.iter().any(|m| matches!(m, ShellMsg::Log { level: Some(3), msg } if msg.contains("tuple e failed: asked to fail with an error"))),
            "{s:?}: {got:?}"
        );
        // A tuple whose values do not decode fails with the cause.
        let mut shell = bolt("split_sentence", s);
        shell.send_tuple("bad", &json!([42]));
        let got = shell.recv_until(|m| matches!(m, ShellMsg::Fail(x) if x == "bad"));
        assert!(
            got.iter().any(|m| matches!(m, ShellMsg::Log { msg, .. } if msg.contains("cannot decode the values"))),
            "{got:?}"
        );
    }
}

#[test]
fn kept_tuples_are_acked_later_by_id() {
    for s in SERIALIZERS {
        let mut shell = bolt("test_bolt", s);
        shell.send_tuple("k1", &json!(["keep"]));
        shell.send_tuple("k2", &json!(["keep"]));
        shell.send_tuple("go", &json!(["ackall"]));
        let got = until_resolved(&mut shell, "go");
        assert_eq!(
            got,
            vec![
                ShellMsg::Ack("k1".into()),
                ShellMsg::Ack("k2".into()),
                emit(json!(["ackall"]), "go"),
                ShellMsg::Ack("go".into())
            ],
            "{s:?}"
        );
    }
}

#[test]
fn logs_metrics_and_direct_emits_reach_storm() {
    for s in SERIALIZERS {
        let mut shell = bolt("test_bolt", s);
        shell.send_tuple("l", &json!(["log:hello storm"]));
        let got = shell.recv_until(|m| matches!(m, ShellMsg::Ack(x) if x == "l"));
        assert!(got.contains(&ShellMsg::Log { level: Some(2), msg: "hello storm".into() }), "{s:?}: {got:?}");

        shell.send_tuple("m", &json!(["metric:my-metric:3"]));
        let got = until_resolved(&mut shell, "m");
        assert_eq!(got[0], ShellMsg::Metrics { name: "my-metric".into(), params: vec![3] }, "{s:?}");

        shell.send_tuple("d", &json!(["direct:5"]));
        let got = until_resolved(&mut shell, "d");
        let ShellMsg::Emit(e) = &got[0] else { panic!("{got:?}") };
        assert_eq!((e.stream(), e.task, json_of(&e.values)), ("direct", Some(5), json!(["direct:5"])), "{s:?}");
    }
}

#[test]
fn a_trap_fails_the_batch_reports_an_error_and_the_bolt_goes_on() {
    for s in SERIALIZERS {
        let mut shell = bolt("test_bolt", s);
        shell.send_tuple("kept", &json!(["keep"]));
        shell.send_tuple("p", &json!(["panic"]));
        // The trapping tuple fails, and so does the one the dead instance
        // meant to ack later.
        let mut failed = Vec::new();
        let got = shell.recv_until(|m| {
            if let ShellMsg::Fail(id) = m {
                failed.push(id.clone());
            }
            failed.len() == 2
        });
        failed.sort();
        assert_eq!(failed, vec!["kept".to_string(), "p".to_string()], "{s:?}: {got:?}");
        let errors: Vec<&ShellMsg> = got.iter().filter(|m| matches!(m, ShellMsg::Error(_))).collect();
        let ShellMsg::Error(msg) = errors.last().expect("an error report") else { unreachable!() };
        assert!(
            msg.contains("test_bolt.wasm") && msg.contains("asked to panic") && msg.contains("restarting"),
            "{s:?}: {msg}"
        );
        // A fresh instance serves the next tuple.
        shell.send_tuple("after", &json!(["hi"]));
        assert_eq!(
            until_resolved(&mut shell, "after"),
            vec![emit(json!(["hi"]), "after"), ShellMsg::Ack("after".into())]
        );
        assert!(shell.wait().success());
    }
}

#[test]
fn nothing_but_frames_on_stdout_and_a_clean_exit_on_eof() {
    for s in SERIALIZERS {
        let mut shell = bolt("test_bolt", s);
        for (i, cmd) in ["log:x", "plain", "fail", "unicode", "metric:m:1"].iter().enumerate() {
            shell.send_tuple(&i.to_string(), &json!([cmd]));
        }
        shell.close_stdin();
        let all = shell.recv_to_end(); // panics on anything that is not a frame
        assert_eq!(all.iter().filter(|m| matches!(m, ShellMsg::Ack(_) | ShellMsg::Fail(_))).count(), 5, "{s:?}");
        assert!(shell.wait().success());
    }
}
