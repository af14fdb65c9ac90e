//! Hot swap through the real binary: new versions published (write, then
//! rename) while tuples stream, with state carried over, broken versions
//! refused and a trapping version rolled back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use storm_multilang::storm_side::{ShellMsg, ToChild};
use storm_multilang::Serializer;
use storm_wasm_tests::shell::{conf, context, Shell};
use storm_wasm_tests::{json_of, msgpack, plugin, with_custom_section};

use crate::SERIALIZERS;

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("storm-wasm-swap-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// Publishes `bytes` as `name` the safe way: write beside, rename over.
    fn publish(&self, name: &str, bytes: &[u8]) -> Instant {
        let tmp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, self.0.join(name)).unwrap();
        Instant::now()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn compile(path: &Path) {
    let status = std::process::Command::new(storm_wasm_tests::host_binary())
        .args(["compile", path.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Streams tuples through a bolt, checking every outcome as Storm would.
struct Stream {
    shell: Shell,
    next: u64,
    in_flight: HashMap<String, String>,
    totals: HashMap<String, u64>,
    acked: u64,
    errors: Vec<String>,
    /// `metrics` commands: (name, params as JSON, emits seen before it).
    metrics: Vec<(String, serde_json::Value, usize)>,
    /// The version of every emit, in order.
    served: Vec<String>,
}

const WORDS: [&str; 5] = ["a", "b", "c", "d", "e"];

impl Stream {
    fn new(shell: Shell) -> Self {
        Stream {
            shell,
            next: 0,
            in_flight: HashMap::new(),
            totals: HashMap::new(),
            acked: 0,
            errors: Vec::new(),
            metrics: Vec::new(),
            served: Vec::new(),
        }
    }

    /// Sends `n` tuples, then reads until all are resolved; returns the
    /// versions that served them, in order.
    fn round(&mut self, n: usize) -> Vec<String> {
        for _ in 0..n {
            let word = WORDS[(self.next % WORDS.len() as u64) as usize];
            let id = format!("t{}", self.next);
            self.next += 1;
            let values = msgpack(&json!([word]));
            self.shell.queue(&ToChild::Tuple {
                id: &id,
                comp: Some("src"),
                stream: "default",
                task: 1,
                values: &values,
            });
            self.in_flight.insert(id, word.to_string());
        }
        self.shell.flush();
        let mut versions = Vec::new();
        while !self.in_flight.is_empty() {
            match self.shell.recv() {
                ShellMsg::Emit(e) => {
                    let v = json_of(&e.values);
                    let (word, count, version) =
                        (v[0].as_str().unwrap(), v[1].as_u64().unwrap(), v[2].as_str().unwrap());
                    assert_eq!(
                        self.in_flight.get(&e.anchors[0]).map(String::as_str),
                        Some(word),
                        "anchored to its input"
                    );
                    let total = self.totals.entry(word.to_string()).or_insert(0);
                    *total += 1;
                    assert_eq!(
                        count, *total,
                        "the count of {word} carries over every swap exactly (no loss, no duplicate)"
                    );
                    versions.push(version.to_string());
                    self.served.push(version.to_string());
                }
                ShellMsg::Ack(id) => {
                    assert!(self.in_flight.remove(&id).is_some(), "ack of {id}, not in flight (duplicate?)");
                    self.acked += 1;
                }
                ShellMsg::Fail(id) => panic!("tuple {id} failed; errors so far: {:?}", self.errors),
                ShellMsg::Error(e) => self.errors.push(e),
                ShellMsg::Metrics { name, params } => self.metrics.push((name, json_of(&params), self.served.len())),
                ShellMsg::Log { .. } | ShellMsg::Sync => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        versions
    }

    /// Streams until a tuple is served by `version`; the time that took.
    fn until_version(&mut self, version: &str, since: Instant) -> Duration {
        let deadline = since + Duration::from_secs(20);
        loop {
            let served = self.round(5);
            if let Some(i) = served.iter().position(|v| v == version) {
                assert!(served[i..].iter().all(|v| v == version), "no tuple goes back to the old version: {served:?}");
                return since.elapsed();
            }
            assert!(Instant::now() < deadline, "version {version} never served; errors: {:?}", self.errors);
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

#[test]
fn thirty_swaps_under_load_lose_nothing_and_carry_the_counts() {
    for s in SERIALIZERS {
        let dir = Dir::new(&format!("{s:?}"));
        let v1 = std::fs::read(plugin("swap_counter")).unwrap();
        let v2 = std::fs::read(plugin("swap_counter_v2")).unwrap();
        let trap = std::fs::read(plugin("swap_counter_trap")).unwrap();
        // Deploy-time compiles (storm-wasm compile), so a swap is not a compile.
        for p in ["swap_counter", "swap_counter_v2", "swap_counter_trap"] {
            compile(&plugin(p));
        }
        dir.publish("counter.wasm", &v1);
        let mut shell = Shell::storm_wasm("bolt", &dir.0.join("counter.wasm"), s, &[]);
        shell.handshake(conf(), context(3, "counter"));
        let mut stream = Stream::new(shell);
        assert!(stream.round(20).iter().all(|v| v == "1.0.0"));

        let mut latencies = Vec::new();
        for swap in 0..30 {
            let (bytes, version) = if swap % 2 == 0 { (&v2, "2.0.0") } else { (&v1, "1.0.0") };
            let published = dir.publish("counter.wasm", bytes);
            latencies.push(stream.until_version(version, published));
            stream.round(10);
            if swap == 9 {
                // A truncated file and a file that is not a component are
                // refused; traffic goes on with the running version.
                let errors = stream.errors.len();
                dir.publish("counter.wasm", &bytes[..bytes.len() / 2]);
                let published = Instant::now();
                while stream.errors.len() == errors && published.elapsed() < Duration::from_secs(10) {
                    assert!(stream.round(5).iter().all(|v| v == version));
                }
                assert!(
                    stream.errors[errors..].iter().any(|e| e.contains("refused") && e.contains("keeps running")),
                    "{:?}",
                    stream.errors
                );
                dir.publish("counter.wasm", b"not wasm at all");
                stream.round(20);
                dir.publish("counter.wasm", bytes);
                stream.round(10);
            }
            if swap == 19 {
                // A version that traps on every tuple is rolled back.
                let errors = stream.errors.len();
                dir.publish("counter.wasm", &trap);
                let published = Instant::now();
                while !stream.errors[errors..].iter().any(|e| e.contains("rolled back")) {
                    assert!(published.elapsed() < Duration::from_secs(20), "no rollback: {:?}", stream.errors);
                    assert!(stream.round(5).iter().all(|v| v == version), "the broken version served nothing");
                }
                // Deleting the file keeps the running version.
                std::fs::remove_file(dir.0.join("counter.wasm")).unwrap();
                assert!(stream.round(20).iter().all(|v| v == version));
            }
        }
        stream.shell.close_stdin();
        let rest = stream.shell.recv_to_end();
        assert!(!rest.iter().any(|m| matches!(m, ShellMsg::Ack(_) | ShellMsg::Fail(_))), "{rest:?}");
        assert!(stream.shell.wait().success());
        latencies.sort();
        let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        eprintln!(
            "{s:?}: {} tuples acked across 30 swaps; swap latency (rename -> first tuple served by the new version) p50 {:?} p99 {:?} max {:?}",
            stream.acked,
            p(0.5),
            p(0.99),
            latencies.last().unwrap()
        );
        assert_eq!(stream.acked, stream.next, "every tuple acked exactly once");
        assert!(stream.metrics.is_empty(), "metrics without --storm-metrics: {:?}", stream.metrics);
    }
}

/// Publishes v2 (a swap), a truncated file (refused), then a version that
/// traps on every tuple (a swap, then a rollback); returns the stream.
fn swap_refuse_and_roll_back(s: Serializer, tag: &str, extra: &[&str]) -> Stream {
    let dir = Dir::new(tag);
    let v1 = std::fs::read(plugin("swap_counter")).unwrap();
    let v2 = std::fs::read(plugin("swap_counter_v2")).unwrap();
    let trap = std::fs::read(plugin("swap_counter_trap")).unwrap();
    dir.publish("counter.wasm", &v1);
    let mut shell = Shell::storm_wasm("bolt", &dir.0.join("counter.wasm"), s, extra);
    shell.handshake(conf(), context(3, "counter"));
    let mut stream = Stream::new(shell);
    assert!(stream.round(10).iter().all(|v| v == "1.0.0"));

    let published = dir.publish("counter.wasm", &v2);
    stream.until_version("2.0.0", published);

    let errors = stream.errors.len();
    dir.publish("counter.wasm", &v2[..v2.len() / 2]);
    let published = Instant::now();
    while !stream.errors[errors..].iter().any(|e| e.contains("refused")) {
        assert!(published.elapsed() < Duration::from_secs(20), "not refused: {:?}", stream.errors);
        assert!(stream.round(5).iter().all(|v| v == "2.0.0"));
    }

    let errors = stream.errors.len();
    dir.publish("counter.wasm", &trap);
    let published = Instant::now();
    while !stream.errors[errors..].iter().any(|e| e.contains("rolled back")) {
        assert!(published.elapsed() < Duration::from_secs(20), "no rollback: {:?}", stream.errors);
        assert!(stream.round(5).iter().all(|v| v == "2.0.0"));
    }
    stream.round(5);
    stream.shell.close_stdin();
    let rest = stream.shell.recv_to_end();
    for m in rest {
        if let ShellMsg::Metrics { name, params } = m {
            stream.metrics.push((name, json_of(&params), stream.served.len()));
        }
    }
    assert!(stream.shell.wait().success());
    assert_eq!(stream.acked, stream.next, "every tuple acked exactly once");
    stream
}

#[test]
fn swap_counts_reach_storm_as_metrics_only_with_the_flag() {
    for s in SERIALIZERS {
        for p in ["swap_counter", "swap_counter_v2", "swap_counter_trap"] {
            compile(&plugin(p));
        }
        let stream = swap_refuse_and_roll_back(s, &format!("metrics-{s:?}"), &["--storm-metrics"]);
        let names: Vec<&str> = stream.metrics.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(
            names,
            ["storm-wasm.swaps", "storm-wasm.refused", "storm-wasm.swaps", "storm-wasm.rollbacks"],
            "{s:?}: one metric per event, in order"
        );
        assert!(stream.metrics.iter().all(|(_, params, _)| *params == json!(1)), "{:?}", stream.metrics);
        // The swap to v2 is counted on the task thread at the switch:
        // after the last tuple v1 served and before the first v2 served.
        let at = stream.metrics[0].2;
        assert!(at > 0 && stream.served[at - 1] == "1.0.0" && stream.served[at] == "2.0.0", "{s:?}: at {at}");

        // Without the flag a plain ShellBolt user, who registered nothing,
        // never gets one: Storm would kill the bolt on it.
        let plain = swap_refuse_and_roll_back(s, &format!("no-metrics-{s:?}"), &[]);
        assert!(plain.metrics.is_empty(), "{s:?}: {:?}", plain.metrics);
        assert!(plain.errors.iter().any(|e| e.contains("rolled back")));
    }
}

#[test]
fn a_spout_keeps_its_message_ids_across_a_swap() {
    spout_swap(false);
}

#[test]
fn a_spout_counts_its_swap_inside_the_command_cycle() {
    spout_swap(true);
}

#[test]
fn a_spout_verdict_that_traps_reaches_the_version_rolled_back_to() {
    // sentence_spout emits ids 0, 1, 2; a version that panics on every ack
    // takes over. The ack of 0 traps once (the new version restarts); the
    // ack of 1 traps again and rolls the task back to sentence_spout with
    // its state at the switch, where the ack of 1 must land: after the ack
    // of 2 and a replay of 0, all 3 are acked.
    let dir = Dir::new("spout-rollback");
    dir.publish("spout.wasm", &std::fs::read(plugin("sentence_spout")).unwrap());
    let mut shell =
        Shell::storm_wasm("spout", &dir.0.join("spout.wasm"), Serializer::MessagePack, &["--stderr-log", "info"]);
    let mut c = conf();
    c["sentence.spout.limit"] = json!(3);
    shell.handshake(c, context(1, "sentences"));
    let cycle = |shell: &mut Shell, command: &str, id: Option<&str>| -> Vec<ShellMsg> {
        shell.send(&ToChild::Spout { command, id });
        shell.recv_until(|m| *m == ShellMsg::Sync)
    };
    let logged = |msgs: &[ShellMsg], text: &str| {
        msgs.iter().any(|m| matches!(m, ShellMsg::Log { msg, .. } if msg.contains(text)))
    };
    cycle(&mut shell, "activate", None);
    for _ in 0..3 {
        cycle(&mut shell, "next", None);
    }
    let published = dir.publish("spout.wasm", &std::fs::read(plugin("spout_trap_on_ack")).unwrap());
    while !logged(&cycle(&mut shell, "activate", None), "swapped") {
        assert!(published.elapsed() < Duration::from_secs(20), "no swap; stderr:\n{}", shell.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = cycle(&mut shell, "ack", Some("0"));
    assert!(logged(&first, "broken on purpose (ack 0)"), "{first:?}");
    let second = cycle(&mut shell, "ack", Some("1"));
    assert!(
        second.iter().any(|m| matches!(m, ShellMsg::Error(e) if e.contains("rolled back") && e.contains("with the state it had at the switch"))),
        "{second:?}"
    );
    cycle(&mut shell, "ack", Some("2"));
    cycle(&mut shell, "fail", Some("0"));
    let replayed = cycle(&mut shell, "next", None);
    assert!(replayed.iter().any(|m| matches!(m, ShellMsg::Emit(e) if e.id.as_deref() == Some("0"))), "{replayed:?}");
    let last = cycle(&mut shell, "ack", Some("0"));
    assert!(logged(&last, "all 3 messages acked"), "the ack of 1 reached the restored version: {last:?}");
}

/// A spout swapped between two commands; with `storm_metrics`, the swap is
/// counted inside the cycle that switched (ShellSpout reads only until
/// `sync`), else no `metrics` command is ever sent.
fn spout_swap(storm_metrics: bool) {
    let dir = Dir::new(&format!("spout-{storm_metrics}"));
    let spout = std::fs::read(plugin("sentence_spout")).unwrap();
    dir.publish("spout.wasm", &spout);
    let mut args = vec!["--stderr-log", "info"];
    if storm_metrics {
        args.push("--storm-metrics");
    }
    let mut shell = Shell::storm_wasm("spout", &dir.0.join("spout.wasm"), Serializer::MessagePack, &args);
    let mut c = conf();
    c["sentence.spout.limit"] = json!(6);
    shell.handshake(c, context(1, "sentences"));
    let mut metrics = Vec::new();
    let mut cycle = |shell: &mut Shell, command: &str, id: Option<&str>| -> Vec<ShellMsg> {
        shell.send(&ToChild::Spout { command, id });
        let msgs = shell.recv_until(|m| *m == ShellMsg::Sync);
        metrics.extend(msgs.iter().filter(|m| matches!(m, ShellMsg::Metrics { .. })).cloned());
        msgs
    };
    let ids = |msgs: &[ShellMsg]| -> Vec<String> {
        msgs.iter().filter_map(|m| if let ShellMsg::Emit(e) = m { e.id.clone() } else { None }).collect()
    };
    cycle(&mut shell, "activate", None);
    let first: Vec<String> = (0..3).flat_map(|_| ids(&cycle(&mut shell, "next", None))).collect();
    assert_eq!(first, vec!["0", "1", "2"]);
    let new = with_custom_section(&spout, "v2");
    let published = dir.publish("spout.wasm", &new);
    // The swap happens at the next command once the new version is ready.
    let mut swapped = false;
    while !swapped {
        assert!(published.elapsed() < Duration::from_secs(20), "no swap; stderr:\n{}", shell.stderr());
        std::thread::sleep(Duration::from_millis(20));
        let got = cycle(&mut shell, "activate", None);
        swapped = got.iter().any(|m| matches!(m, ShellMsg::Log { msg, .. } if msg.contains("swapped")));
        let counted = got.contains(&ShellMsg::Metrics { name: "storm-wasm.swaps".into(), params: vec![0x01] });
        assert_eq!(counted, swapped && storm_metrics, "the swap counted in its own cycle: {got:?}");
    }
    // Acks of ids the old version emitted reach the new one, which goes on
    // numbering where the old one stopped.
    for id in ["0", "1", "2"] {
        cycle(&mut shell, "ack", Some(id));
    }
    let rest: Vec<String> = (0..3).flat_map(|_| ids(&cycle(&mut shell, "next", None))).collect();
    assert_eq!(rest, vec!["3", "4", "5"]);
    for id in ["3", "4"] {
        cycle(&mut shell, "ack", Some(id));
    }
    let last = cycle(&mut shell, "ack", Some("5"));
    assert!(last.iter().any(|m| matches!(m, ShellMsg::Log { msg, .. } if msg == "all 6 messages acked")), "{last:?}");
    let expected = if storm_metrics { 1 } else { 0 };
    assert_eq!(metrics.len(), expected, "{metrics:?}");
}
