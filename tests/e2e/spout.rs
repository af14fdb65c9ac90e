use serde_json::json;
use storm_multilang::storm_side::{ShellMsg, ToChild};
use storm_wasm_tests::driver::run_spout_cycles;
use storm_wasm_tests::shell::{conf, context, Shell};
use storm_wasm_tests::{json_of, plugin};

use crate::SERIALIZERS;

fn spout(serializer: storm_multilang::Serializer, conf: serde_json::Value) -> Shell {
    let mut shell = Shell::storm_wasm("spout", &plugin("sentence_spout"), serializer, &[]);
    shell.handshake(conf, context(1, "sentences"));
    shell
}

fn cycle(shell: &mut Shell, command: &str, id: Option<&str>) -> Vec<ShellMsg> {
    shell.send(&ToChild::Spout { command, id });
    // The host's own log lines (start-up, cache) are not the spout's doing.
    let host_log = |m: &ShellMsg| matches!(m, ShellMsg::Log { msg, .. } if msg.starts_with("storm-wasm:"));
    shell.recv_until(|m| *m == ShellMsg::Sync).into_iter().filter(|m| !host_log(m)).collect()
}

#[test]
fn every_command_ends_in_sync_and_failed_ids_are_replayed() {
    for s in SERIALIZERS {
        let mut shell = spout(s, conf());
        assert_eq!(cycle(&mut shell, "activate", None), vec![ShellMsg::Sync]);
        let got = cycle(&mut shell, "next", None);
        let ShellMsg::Emit(e) = &got[0] else { panic!("{got:?}") };
        assert_eq!((e.id.as_deref(), e.need_task_ids, e.task), (Some("0"), Some(false), None), "{s:?}");
        assert_eq!(json_of(&e.values), json!(["the cow jumped over the moon"]));
        assert_eq!(got.len(), 2, "one emit then sync: {got:?}");
        // Storm round-trips the id; the spout replays it on fail.
        assert_eq!(cycle(&mut shell, "fail", Some("0")), vec![ShellMsg::Sync], "{s:?}");
        let got = cycle(&mut shell, "next", None);
        let ShellMsg::Emit(e) = &got[0] else { panic!("{got:?}") };
        assert_eq!(e.id.as_deref(), Some("0"), "{s:?}: the failed id comes back");
        assert_eq!(cycle(&mut shell, "deactivate", None), vec![ShellMsg::Sync]);
        assert!(shell.wait().success());
    }
}

#[test]
fn a_limited_spout_goes_quiet_and_reports_when_all_are_acked() {
    for s in SERIALIZERS {
        let mut c = conf();
        c["sentence.spout.limit"] = json!(3);
        let mut shell = spout(s, c);
        cycle(&mut shell, "activate", None);
        for _ in 0..3 {
            assert_eq!(cycle(&mut shell, "next", None).len(), 2);
        }
        assert_eq!(cycle(&mut shell, "next", None), vec![ShellMsg::Sync], "{s:?}: nothing left");
        cycle(&mut shell, "ack", Some("0"));
        cycle(&mut shell, "ack", Some("1"));
        let last = cycle(&mut shell, "ack", Some("2"));
        assert!(
            last.contains(&ShellMsg::Log { level: Some(2), msg: "all 3 messages acked".into() }),
            "{s:?}: {last:?}"
        );
    }
}

#[test]
fn gives_up_on_an_id_after_max_replays() {
    let mut c = conf();
    c["sentence.spout.limit"] = json!(1);
    c["sentence.spout.max.replays"] = json!(1);
    let mut shell = spout(storm_multilang::Serializer::Json, c);
    assert_eq!(cycle(&mut shell, "next", None).len(), 2);
    cycle(&mut shell, "fail", Some("0"));
    assert_eq!(cycle(&mut shell, "next", None).len(), 2, "one replay");
    let gave_up = cycle(&mut shell, "fail", Some("0"));
    assert!(
        gave_up.iter().any(|m| matches!(m, ShellMsg::Log { level: Some(3), msg } if msg.contains("giving up"))),
        "{gave_up:?}"
    );
    assert_eq!(cycle(&mut shell, "next", None), vec![ShellMsg::Sync]);
}

#[test]
fn hundred_thousand_next_ack_cycles_run_clean() {
    for s in SERIALIZERS {
        let mut shell = spout(s, conf());
        let report = run_spout_cycles(&mut shell, 100_000);
        assert_eq!(report.problems, Vec::<String>::new(), "{s:?}");
        assert_eq!((report.nexts, report.acks, report.emitted), (100_000, 100_000, 100_000), "{s:?}");
        eprintln!("{s:?}: 100000 next+ack cycles in {:?}", report.elapsed);
        assert!(shell.wait().success());
    }
}
