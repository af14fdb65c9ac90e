//! The native worker (`storm-wasm run topology.yaml`): whole topologies of the
//! example and test plugins in one process, checked through the summary
//! (`--summary-json`) and the tuples the worker taps (`--tap`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use storm_wasm_tests::{host_binary, plugin, repo_root, with_custom_section};

/// The sentences of plugins/sentence-spout: message `i` carries `SENTENCES[i % 5]`.
const SENTENCES: [&str; 5] = [
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
    "i am at two with nature",
];

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    summary: Value,
}

impl Run {
    /// The `--tap` lines.
    fn taps(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).expect("a tap line"))
            .collect()
    }

    fn component(&self, id: &str) -> &Value {
        let components = self.summary["components"].as_array().expect("components");
        components.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no {id} in {}", self.summary))
    }

    fn messages(&self, key: &str) -> u64 {
        self.summary["messages"][key].as_u64().unwrap_or_else(|| panic!("messages.{key} in {}", self.summary))
    }

    fn explain(&self) -> String {
        format!(
            "status {:?}\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
            self.status,
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A fresh directory for one test's topology file and summary.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("storm-wasm-worker-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The directory of the plugins (the topologies name them through `${ENV-STORM_WASM_PLUGINS}`).
fn plugins_dir() -> PathBuf {
    plugin("sentence_spout").parent().expect("a directory").to_path_buf()
}

fn command(topology: &std::path::Path, args: &[&str], summary: &std::path::Path) -> Command {
    let mut cmd = Command::new(host_binary());
    cmd.arg("run")
        .arg(topology)
        .arg("--summary-json")
        .arg(summary)
        .args(args)
        .env("STORM_WASM_PLUGINS", plugins_dir())
        // examples/word-count.yaml names target/plugins/… relative to the repository root.
        .current_dir(repo_root())
        .stdin(Stdio::null());
    cmd
}

/// Runs a topology to its end (every run has a --duration as a backstop).
fn run(name: &str, yaml: &str, args: &[&str]) -> Run {
    let dir = scratch(name);
    let topology = dir.join("topology.yaml");
    std::fs::write(&topology, yaml).expect("write the topology");
    let summary_path = dir.join("summary.json");
    let out = command(&topology, args, &summary_path).output().expect("run storm-wasm");
    let summary =
        std::fs::read(&summary_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        summary,
    }
}

/// A spout of sentences, a bolt `name` on them, and more `bolts` and `streams` (YAML).
fn topology(config: &str, spout_conf: &str, bolts: &str, streams: &str) -> String {
    format!(
        r#"name: "e2e"
config:
  topology.message.timeout.secs: 30
{config}
spouts:
  - id: "sentences"
    className: "org.stormwasm.storm.WasmSpout"
    constructorArgs: ["${{ENV-STORM_WASM_PLUGINS}}/sentence_spout.wasm", ["sentence"]]
    configMethods:
{spout_conf}
bolts:
{bolts}
streams:
{streams}
"#
    )
}

fn with_conf(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("      - name: withConf\n        args: [\"{k}\", {v}]\n")).collect()
}

fn bolt(id: &str, plugin: &str, fields: &[&str], parallelism: usize, conf: &[(&str, &str)]) -> String {
    let fields: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    let methods = if conf.is_empty() { String::new() } else { format!("    configMethods:\n{}", with_conf(conf)) };
    format!(
        "  - id: \"{id}\"\n    className: \"org.stormwasm.storm.WasmBolt\"\n    constructorArgs: [\"${{ENV-STORM_WASM_PLUGINS}}/{plugin}.wasm\", [{}]]\n    parallelism: {parallelism}\n{methods}",
        fields.join(", ")
    )
}

fn stream(from: &str, to: &str, grouping: &str) -> String {
    format!("  - from: \"{from}\"\n    to: \"{to}\"\n    grouping: {grouping}\n")
}

/// Every one of `messages` spout messages acked in the end, none pending;
/// every failure was replayed (an emit more per failure).
fn assert_all_acked(run: &Run, messages: u64) {
    assert!(run.status.success(), "{}", run.explain());
    let failed = run.messages("failed");
    assert_eq!(run.messages("acked"), messages, "{}", run.explain());
    assert_eq!(run.messages("emitted"), messages + failed, "{}", run.explain());
    assert_eq!(run.messages("pending"), 0, "{}", run.explain());
    if failed == 0 {
        assert!(run.stdout.contains(&format!("all {messages} spout messages acked")), "{}", run.explain());
    }
}

#[test]
fn the_example_word_count_runs_with_live_rates_and_acks_every_message() {
    let dir = scratch("example");
    let summary_path = dir.join("summary.json");
    let example = repo_root().join("examples/word-count.yaml");
    let out = command(&example, &["--duration", "4s", "--report-every", "1s"], &summary_path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("emitted/s") && stderr.contains("queue"), "live rates on stderr: {stderr}");
    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    let acked = summary["messages"]["acked"].as_u64().unwrap();
    assert!(acked > 100, "{summary}");
    assert_eq!(summary["messages"]["emitted"].as_u64(), Some(acked), "{summary}");
    assert_eq!(summary["messages"]["pending"].as_u64(), Some(0), "{summary}");
    assert_eq!(summary["drained"], true, "{summary}");
    assert!(stdout.contains(&format!("all {acked} spout messages acked")), "{stdout}");
    // Every word of every acked sentence was counted exactly once.
    let words: u64 = (0..acked).map(|i| SENTENCES[(i % 5) as usize].split(' ').count() as u64).sum();
    let count = summary["components"].as_array().unwrap().iter().find(|c| c["id"] == "count").unwrap();
    assert_eq!(count["executed"].as_u64(), Some(words), "{summary}");
}

#[test]
fn a_fields_grouping_sends_each_word_to_one_count_task() {
    let messages = 1000;
    let yaml = topology(
        "",
        &with_conf(&[("sentence.spout.limit", &messages.to_string())]),
        &format!(
            "{}{}",
            bolt("split", "split_sentence", &["word"], 2, &[]),
            bolt("count", "word_count", &["word", "count"], 3, &[])
        ),
        &format!(
            "{}{}",
            stream("sentences", "split", "{type: SHUFFLE}"),
            stream("split", "count", "{type: FIELDS, args: [\"word\"]}")
        ),
    );
    let run = run("fields", &yaml, &["--until-idle", "1s", "--duration", "120s", "--tap", "count", "--tap", "split"]);
    assert_all_acked(&run, messages);
    let mut expected: HashMap<&str, u64> = HashMap::new();
    for i in 0..messages {
        for word in SENTENCES[(i % 5) as usize].split(' ') {
            *expected.entry(word).or_default() += 1;
        }
    }
    let mut task_of: HashMap<String, i64> = HashMap::new();
    let mut counts: HashMap<String, Vec<u64>> = HashMap::new();
    let mut split_tasks = BTreeSet::new();
    for tap in run.taps() {
        if tap["component"] == "split" {
            split_tasks.insert(tap["task"].as_i64().unwrap());
            continue;
        }
        let word = tap["values"][0].as_str().unwrap().to_string();
        let task = tap["task"].as_i64().unwrap();
        assert_eq!(*task_of.entry(word.clone()).or_insert(task), task, "{word} reached two count tasks");
        counts.entry(word).or_default().push(tap["values"][1].as_u64().unwrap());
    }
    assert_eq!(split_tasks.len(), 2, "the shuffle reaches both split tasks");
    assert_eq!(
        task_of.values().collect::<BTreeSet<_>>().len(),
        3,
        "{} words spread over the 3 count tasks",
        task_of.len()
    );
    for (word, n) in expected {
        // One task counted the word, one by one, to its total.
        assert_eq!(counts[word], (1..=n).collect::<Vec<_>>(), "{word}");
    }
}

#[test]
fn a_bolt_that_traps_fails_its_tuples_and_the_spout_replays_them() {
    // Split may emit 7 words per call: the 8-word sentence (message i % 5 == 1)
    // traps every time, fails, is replayed once, and is given up.
    let messages = 25;
    let yaml = topology(
        "",
        &with_conf(&[("sentence.spout.limit", "25"), ("sentence.spout.max.replays", "1")]),
        &format!(
            "{}{}",
            bolt(
                "split",
                "split_sentence",
                &["word"],
                1,
                &[
                    ("storm.wasm.max.emits.per.call", "7"),
                    ("storm.wasm.max.batch", "1"),
                    ("storm.wasm.max.consecutive.traps", "50")
                ]
            ),
            bolt("count", "word_count", &["word", "count"], 1, &[])
        ),
        &format!(
            "{}{}",
            stream("sentences", "split", "{type: SHUFFLE}"),
            stream("split", "count", "{type: FIELDS, args: [\"word\"]}")
        ),
    );
    let run = run("traps", &yaml, &["--until-idle", "1s", "--duration", "120s", "--tap", "sentences"]);
    assert!(run.status.success(), "{}", run.explain());
    let bad = (0..messages).filter(|i| i % 5 == 1).count() as u64;
    assert_eq!(run.messages("acked"), messages - bad, "{}", run.explain());
    assert_eq!(run.messages("failed"), 2 * bad, "{}", run.explain());
    assert_eq!(run.messages("timed_out"), 0, "{}", run.explain());
    assert_eq!(run.component("split")["traps"].as_u64(), Some(2 * bad), "{}", run.explain());
    assert!(run.stderr.contains("emitted more than 7 tuples in one call"), "{}", run.explain());
    for tap in run.taps() {
        if let Some(id) = tap["fail"].as_str() {
            assert_eq!(id.parse::<u64>().unwrap() % 5, 1, "only the long sentence fails: {tap}");
        }
    }
}

/// Per message id: (emits, acks, fails, timeouts) from a spout's tap.
fn ledger(run: &Run) -> BTreeMap<String, (u32, u32, u32, u32)> {
    let mut ledger: BTreeMap<String, (u32, u32, u32, u32)> = BTreeMap::new();
    for tap in run.taps().into_iter().filter(|t| t["component"] == "sentences") {
        if let Some(id) = tap["message_id"].as_str() {
            ledger.entry(id.into()).or_default().0 += 1;
        } else if let Some(id) = tap["ack"].as_str() {
            ledger.entry(id.into()).or_default().1 += 1;
        } else if let Some(id) = tap["fail"].as_str() {
            let e = ledger.entry(id.into()).or_default();
            e.2 += 1;
            e.3 += u32::from(tap["timed_out"] == true);
        }
    }
    ledger
}

#[test]
fn every_message_is_acked_once_or_failed_after_the_timeout_and_replayed() {
    // The bolt never acks every 7th tuple it gets: those trees time out
    // after 2 s, the spout replays them, and the replay goes through.
    let messages = 200;
    let yaml = topology(
        "  topology.message.timeout.secs: 2\n",
        &with_conf(&[("sentence.spout.limit", "200"), ("sentence.spout.max.replays", "100")]),
        &bolt("sink", "test_bolt", &["value"], 2, &[("test.bolt.drop.every", "7")]),
        &stream("sentences", "sink", "{type: SHUFFLE}"),
    )
    .replace("  topology.message.timeout.secs: 30\n", "");
    let started = Instant::now();
    let run = run("timeouts", &yaml, &["--until-idle", "3s", "--duration", "120s", "--tap", "sentences"]);
    assert_all_acked(&run, messages);
    let ledger = ledger(&run);
    assert_eq!(ledger.len() as u64, messages, "{}", run.explain());
    let mut replayed = 0;
    for (id, (emits, acks, fails, timeouts)) in &ledger {
        assert_eq!(*acks, 1, "message {id} acked exactly once");
        assert_eq!(fails, timeouts, "message {id} failed only by timing out");
        assert_eq!(*emits, fails + 1, "message {id} was replayed after each failure");
        replayed += u64::from(*fails > 0);
    }
    assert!(replayed >= messages / 7 - 2, "about one in 7 messages timed out: {replayed}");
    assert!(started.elapsed() >= Duration::from_secs(2), "the timeout is 2 s");
}

#[test]
fn a_bolt_that_fails_some_tuples_gets_them_replayed_until_acked() {
    let messages = 300;
    let yaml = topology(
        "",
        &with_conf(&[("sentence.spout.limit", "300"), ("sentence.spout.max.replays", "100")]),
        &format!(
            "{}{}",
            bolt("split", "split_sentence", &["word"], 2, &[]),
            bolt("flaky", "test_bolt", &["value"], 2, &[("test.bolt.fail.every", "10")])
        ),
        &format!("{}{}", stream("sentences", "split", "{type: SHUFFLE}"), stream("split", "flaky", "{type: SHUFFLE}")),
    );
    let run = run("fails", &yaml, &["--until-idle", "1s", "--duration", "120s", "--tap", "sentences"]);
    let failed = run.messages("failed");
    assert!(failed > 0 && run.messages("timed_out") == 0, "{}", run.explain());
    assert_eq!(run.component("flaky")["failed"].as_u64().map(|f| f > 0), Some(true), "{}", run.explain());
    assert_all_acked(&run, messages);
    for (id, (emits, acks, fails, timeouts)) in ledger(&run) {
        assert_eq!((acks, timeouts, emits), (1, 0, fails + 1), "message {id}");
    }
}

#[test]
fn a_slow_bolt_makes_the_spout_wait_without_losing_tuples() {
    // No max.spout.pending: only the 16-tuple queue of the slow bolt holds the spout back.
    let messages = 300;
    let yaml = topology(
        "  topology.executor.receive.buffer.size: 16\n",
        &with_conf(&[("sentence.spout.limit", "300")]),
        &bolt("slow", "test_bolt", &["value"], 1, &[("test.bolt.sleep.ms", "5")]),
        &stream("sentences", "slow", "{type: SHUFFLE}"),
    );
    let run = run("backpressure", &yaml, &["--until-idle", "1s", "--duration", "120s", "--report-every", "300ms"]);
    assert_all_acked(&run, messages);
    let slow = run.component("slow");
    assert_eq!(slow["executed"].as_u64(), Some(messages), "{}", run.explain());
    // A batch is never split, so the queue may go one spout round (64 tuples) over.
    let peak = slow["queue_peak"].as_u64().unwrap();
    assert!(peak <= 16 + 64, "queue peak {peak}: {}", run.explain());
    assert!(slow["producers_blocked_ms"].as_u64().unwrap() > 100, "the spout never waited: {}", run.explain());
}

#[test]
fn ctrl_c_stops_the_spouts_drains_and_exits_zero() {
    let dir = scratch("sigint");
    let summary_path = dir.join("summary.json");
    let example = repo_root().join("examples/word-count.yaml");
    let mut child = command(&example, &["--report-every", "500ms"], &summary_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it run, then interrupt it as a terminal would.
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    std::thread::sleep(Duration::from_secs(4));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within 60 s of SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::io::read_to_string(child.stdout.take().unwrap()).unwrap();
    let stderr = reader.join().unwrap();
    assert!(status.success(), "{status:?}\n{stdout}\n{stderr}");
    assert!(stderr.contains("stopping (Ctrl-C): draining"), "{stderr}");
    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["stopped_by"], "Ctrl-C");
    assert_eq!(summary["drained"], true, "{summary}");
    let acked = summary["messages"]["acked"].as_u64().unwrap();
    assert!(acked > 0 && summary["messages"]["pending"] == 0 && summary["messages"]["failed"] == 0, "{summary}");
    assert!(stdout.contains(&format!("all {acked} spout messages acked")), "{stdout}");
}

#[test]
fn tick_tuples_reach_bolts() {
    let yaml = topology(
        "",
        &with_conf(&[("sentence.spout.limit", "0")]),
        &bolt("ticked", "test_bolt", &["value"], 1, &[("topology.tick.tuple.freq.secs", "1")]),
        &stream("sentences", "ticked", "{type: SHUFFLE}"),
    );
    let run = run("ticks", &yaml, &["--duration", "3500ms"]);
    assert!(run.status.success(), "{}", run.explain());
    // The SDK hands ticks to Bolt::tick (a no-op here): only the count shows them.
    let ticks = run.component("ticked")["executed"].as_u64().unwrap();
    assert!((2..=4).contains(&ticks), "{ticks} ticks in 3.5 s: {}", run.explain());
}

#[test]
fn emits_in_prepare_reach_the_next_bolt() {
    // Each of the two tasks emits one tuple in initialize (pystorm allows
    // it; under Storm it reaches ShellBolt at once); no sentence is sent.
    let yaml = topology(
        "",
        &with_conf(&[("sentence.spout.limit", "0")]),
        &format!(
            "{}{}",
            bolt("hello", "py_test_bolt", &["value"], 2, &[("test.bolt.emit.on.initialize", "hello")]),
            bolt("sink", "test_bolt", &["value"], 1, &[])
        ),
        &format!("{}{}", stream("sentences", "hello", "{type: SHUFFLE}"), stream("hello", "sink", "{type: SHUFFLE}")),
    );
    let run = run("emit-in-prepare", &yaml, &["--duration", "3s", "--tap", "hello"]);
    assert!(run.status.success(), "{}", run.explain());
    assert_eq!(run.component("hello")["emitted"], 2, "{}", run.explain());
    assert_eq!(run.component("sink")["executed"], 2, "{}", run.explain());
    let taps = run.taps();
    assert_eq!(taps.len(), 2, "{}", run.explain());
    assert!(taps.iter().all(|t| t["values"] == serde_json::json!(["hello"])), "{taps:?}");
}

#[test]
fn unsupported_flux_features_are_errors_naming_the_line() {
    let good = topology(
        "",
        "",
        &bolt("count", "word_count", &["word", "count"], 1, &[]),
        &stream("sentences", "count", "{type: SHUFFLE}"),
    );
    // The line of "grouping:" in the stream: the last line of the file.
    let grouping_line = good.lines().position(|l| l.contains("grouping: {type: SHUFFLE}")).unwrap() + 1;
    let cases = [
        (
            good.replace("{type: SHUFFLE}", "{type: CUSTOM, customClass: {className: \"x.Y\"}}"),
            format!("topology.yaml:{grouping_line}: custom groupings (customClass) need Java"),
        ),
        (
            good.replacen("spouts:", "components: []\nspouts:", 1),
            "topology.yaml:5: `components` is a Flux feature".into(),
        ),
        (
            good.replace("org.stormwasm.storm.WasmBolt", "org.apache.storm.starter.bolt.WordCountBolt"),
            "className org.apache.storm.starter.bolt.WordCountBolt is not supported here".into(),
        ),
        (good.replace("{type: SHUFFLE}", "{type: FIELDS, args: [\"nope\"]}"), "has no field nope".into()),
    ];
    for (i, (yaml, expected)) in cases.iter().enumerate() {
        let run = run(&format!("unsupported-{i}"), yaml, &["--duration", "5s"]);
        assert_eq!(run.status.code(), Some(1), "{}", run.explain());
        assert!(run.stderr.contains(expected.as_str()), "expected `{expected}` in: {}", run.explain());
        assert!(run.stderr.contains("topology.yaml:"), "the error names the file and line: {}", run.explain());
    }
}

/// A topology running in the background while the test publishes new
/// versions of its plugins into its directory.
struct Live {
    child: std::process::Child,
    dir: PathBuf,
    summary: PathBuf,
    /// Stderr, line by line, as it comes.
    lines: std::sync::mpsc::Receiver<String>,
    stderr: Vec<String>,
    stdout: std::thread::JoinHandle<String>,
}

impl Live {
    /// Starts `yaml`, in which `{dir}` is the run's directory.
    fn start(name: &str, yaml: &str, files: &[(&str, &str)], args: &[&str]) -> Live {
        let dir = scratch(name);
        for (file, plugin_name) in files {
            std::fs::copy(plugin(plugin_name), dir.join(file)).expect("copy a plugin");
        }
        let topology = dir.join("topology.yaml");
        std::fs::write(&topology, yaml.replace("{dir}", dir.to_str().unwrap())).expect("write the topology");
        let summary = dir.join("summary.json");
        // The --duration is a backstop: the test stops the run with SIGINT.
        let mut child = command(&topology, args, &summary)
            .args(["--duration", "180s"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start storm-wasm");
        let (tx, lines) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
        Live { child, dir, summary, lines, stderr: Vec::new(), stdout }
    }

    /// Publishes `bytes` as `file` the safe way: written beside, renamed over.
    fn publish(&self, file: &str, bytes: &[u8]) {
        let tmp = self.dir.join(format!(".{file}.tmp"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, self.dir.join(file)).unwrap();
    }

    /// Waits until `n` stderr lines so far contain all of `parts`.
    fn wait_for(&mut self, n: usize, parts: &[&str]) {
        self.wait_until(0, n, &format!("{parts:?}"), |l| parts.iter().all(|p| l.contains(p)));
    }

    /// Waits until `n` stderr lines from line `from` on match `pred`.
    fn wait_until(&mut self, from: usize, n: usize, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.stderr.iter().skip(from).filter(|l| pred(l)).count() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stderr.push(line),
                Err(_) => panic!("no {n} lines with {what} within 60 s:\n{}", tail(&self.stderr.join("\n"))),
            }
        }
    }

    /// Stops the run as Ctrl-C would and collects what it printed.
    fn stop(mut self) -> Run {
        let killed = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        self.stderr.extend(self.lines.iter());
        let summary =
            std::fs::read(&self.summary).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
        Run { status, stdout: self.stdout.join().unwrap(), stderr: self.stderr.join("\n"), summary }
    }
}

/// Sentences at a bounded rate (a 1 ms sleep per sentence in `pace`), split
/// into words and counted by `counter.wasm` (swap-counter: word -> word,
/// count, version) in `{dir}`, its counts carried across swaps.
fn swap_topology(spout: &str, count_parallelism: usize, split: bool) -> String {
    let counted = if split { "split" } else { "pace" };
    let mut bolts = bolt("pace", "test_bolt", &["sentence"], 1, &[("test.bolt.sleep.ms", "1")]);
    let mut streams = stream("sentences", "pace", "{type: SHUFFLE}");
    if split {
        bolts += &bolt("split", "split_sentence", &["word"], 1, &[]);
        streams += &stream("pace", "split", "{type: SHUFFLE}");
    }
    bolts += &bolt("count", "counter", &["word", "count", "version"], count_parallelism, &[])
        .replace("${ENV-STORM_WASM_PLUGINS}/counter.wasm", "{dir}/counter.wasm");
    let first = if split { "word" } else { "sentence" };
    streams += &stream(counted, "count", &format!("{{type: FIELDS, args: [\"{first}\"]}}"));
    topology(
        "  topology.max.spout.pending: 20\n",
        &with_conf(&[("sentence.spout.max.replays", "100")]),
        &bolts,
        &streams,
    )
    .replace("${ENV-STORM_WASM_PLUGINS}/sentence_spout.wasm", spout)
}

/// The counts `count` emitted, per word (or sentence), in order, and the
/// version that emitted the last one; asserts each runs 1, 2, 3… with no
/// reset and no repeat: state carried, nothing counted twice.
fn counted(run: &Run) -> (HashMap<String, u64>, String) {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut last_version = String::new();
    for tap in run.taps().into_iter().filter(|t| t["component"] == "count") {
        let word = tap["values"][0].as_str().unwrap().to_string();
        let count = tap["values"][1].as_u64().unwrap();
        let before = counts.insert(word.clone(), count).unwrap_or(0);
        assert_eq!(count, before + 1, "{word} counted {count} after {before}: {tap}\n{}", run.explain());
        last_version = tap["values"][2].as_str().unwrap().to_string();
    }
    (counts, last_version)
}

/// Each word's (or sentence's) true total over the acked spout messages;
/// also asserts that each message was emitted once and acked once.
fn true_totals(run: &Run, split: bool) -> HashMap<String, u64> {
    let mut totals: HashMap<String, u64> = HashMap::new();
    for (id, (emits, acks, fails, _)) in ledger(run) {
        assert_eq!((emits, acks, fails), (1, 1, 0), "message {id}: {}", run.explain());
        let sentence = SENTENCES[(id.parse::<u64>().unwrap() % 5) as usize];
        if split {
            for word in sentence.split(' ') {
                *totals.entry(word.to_string()).or_default() += 1;
            }
        } else {
            *totals.entry(sentence.to_string()).or_default() += 1;
        }
    }
    totals
}

/// Lines of the `component:task` log of a finished swap.
fn swapped(component: &str) -> [String; 2] {
    [format!("{component}:"), "swapped: version".to_string()]
}

#[test]
fn a_stateful_bolt_swapped_ten_times_under_load_loses_and_doubles_nothing() {
    let v1 = std::fs::read(plugin("swap_counter")).unwrap();
    let v2 = std::fs::read(plugin("swap_counter_v2")).unwrap();
    let spout = std::fs::read(plugin("sentence_spout")).unwrap();
    let yaml = swap_topology("{dir}/spout.wasm", 2, true);
    let files = [("counter.wasm", "swap_counter"), ("spout.wasm", "sentence_spout")];
    let mut live =
        Live::start("swap10", &yaml, &files, &["--tap", "count", "--tap", "sentences", "--report-every", "1s"]);
    let count_switches = swapped("count");
    let count_switches: Vec<&str> = count_switches.iter().map(String::as_str).collect();
    for k in 1..=10 {
        std::thread::sleep(Duration::from_millis(250));
        live.publish("counter.wasm", if k % 2 == 1 { &v2 } else { &v1 });
        // Both count tasks switched (the spout keeps emitting meanwhile).
        live.wait_for(2 * k, &count_switches);
        if k % 5 == 0 {
            // The spout too: its pending messages are acked through the new version.
            live.publish("spout.wasm", &with_custom_section(&spout, &k.to_string()));
            live.wait_for(k / 5, &["sentences:", "swapped: version", "state carried over"]);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let run = live.stop();
    assert!(run.status.success() && run.summary["drained"] == true, "{}", run.explain());
    let acked = run.messages("acked");
    assert!(acked > 500, "traffic went on during the swaps: {}", run.explain());
    assert_all_acked(&run, acked);
    assert_eq!(run.messages("failed"), 0, "{}", run.explain());
    let count = run.component("count");
    assert_eq!(
        (&count["versions_loaded"], &count["swaps"], &count["rollbacks"], &count["swap_failures"]),
        (&Value::from(10), &Value::from(20), &Value::from(0), &Value::from(0)),
        "{}",
        run.explain()
    );
    assert_eq!(run.component("sentences")["swaps"], 2, "{}", run.explain());
    assert!(
        run.stdout
            .contains("hot swap count: 10 new versions loaded, 0 refused; 20 task switches, 0 failed, 0 rollbacks"),
        "{}",
        run.explain()
    );
    assert_eq!(run.stderr.matches("state carried over").count(), 22, "{}", run.explain());
    let (counts, last_version) = counted(&run);
    assert_eq!(counts, true_totals(&run, true), "final counts = true totals: {}", run.explain());
    assert_eq!(last_version, "1.0.0", "the tenth version (v1) served last");
}

#[test]
fn broken_and_truncated_versions_are_refused_while_traffic_goes_on() {
    let v2 = std::fs::read(plugin("swap_counter_v2")).unwrap();
    let yaml = swap_topology("${ENV-STORM_WASM_PLUGINS}/sentence_spout.wasm", 1, false);
    let mut live = Live::start(
        "refused",
        &yaml,
        &[("counter.wasm", "swap_counter")],
        &["--tap", "count", "--tap", "sentences", "--report-every", "300ms"],
    );
    std::thread::sleep(Duration::from_millis(300));
    live.publish("counter.wasm", b"this is not wasm");
    live.wait_for(1, &["count: new version", "refused", "not a WebAssembly component"]);
    live.publish("counter.wasm", &v2[..v2.len() / 2]);
    live.wait_for(2, &["count: new version", "refused"]);
    // The running version goes on counting: a live line with count's
    // exec/s above 0, after the refusals.
    let refused_at = live.stderr.len();
    live.wait_until(refused_at, 1, "count executing", |l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        fields.first() == Some(&"count") && fields.get(2).is_some_and(|exec| *exec != "0")
    });
    // The next good file is taken.
    live.publish("counter.wasm", &v2);
    live.wait_for(1, &swapped("count").each_ref().map(String::as_str));
    std::thread::sleep(Duration::from_millis(300));
    let run = live.stop();
    assert_all_acked(&run, run.messages("acked"));
    let count = run.component("count");
    assert_eq!(
        (&count["versions_refused"], &count["versions_loaded"], &count["swaps"]),
        (&Value::from(2), &Value::from(1), &Value::from(1)),
        "{}",
        run.explain()
    );
    let (counts, last_version) = counted(&run);
    assert_eq!(counts, true_totals(&run, false), "{}", run.explain());
    assert_eq!(last_version, "2.0.0");
}

#[test]
fn a_version_that_traps_right_after_the_swap_is_rolled_back() {
    let trap = std::fs::read(plugin("swap_counter_trap")).unwrap();
    let yaml = swap_topology("${ENV-STORM_WASM_PLUGINS}/sentence_spout.wasm", 1, false);
    let mut live =
        Live::start("rollback", &yaml, &[("counter.wasm", "swap_counter")], &["--tap", "count", "--tap", "sentences"]);
    std::thread::sleep(Duration::from_millis(500));
    live.publish("counter.wasm", &trap);
    live.wait_for(1, &["count:1", "trapped 2 times right after the swap; rolled back"]);
    std::thread::sleep(Duration::from_millis(500));
    let run = live.stop();
    assert!(run.status.success(), "{}", run.explain());
    let count = run.component("count");
    assert_eq!((&count["swaps"], &count["rollbacks"]), (&Value::from(1), &Value::from(1)), "{}", run.explain());
    assert!(run.stderr.contains("broken on purpose"), "the panic is reported: {}", run.explain());
    // A single-tuple call that trapped before the rollback fails its tuple;
    // the spout replays it and the old version counts it once.
    let acked = run.messages("acked");
    assert_eq!(run.messages("pending"), 0, "{}", run.explain());
    assert!(run.messages("failed") <= 1, "{}", run.explain());
    let mut totals: HashMap<String, u64> = HashMap::new();
    for (id, (emits, acks, fails, _)) in ledger(&run) {
        assert_eq!((acks, emits), (1, fails + 1), "message {id}: {}", run.explain());
        *totals.entry(SENTENCES[(id.parse::<u64>().unwrap() % 5) as usize].to_string()).or_default() += 1;
    }
    assert_eq!(totals.values().sum::<u64>(), acked);
    let (counts, last_version) = counted(&run);
    assert_eq!(counts, totals, "the state at the swap came back with the rollback: {}", run.explain());
    assert_eq!(last_version, "1.0.0", "{}", run.explain());
}

#[test]
fn a_tuple_that_keeps_failing_goes_to_the_dead_letter_bolt() {
    // Split may emit 7 words per call: the 8-word sentence (message i % 5
    // == 1) traps every time. Its second failure is dead-lettered: acked,
    // and sent to the bolt subscribed to split's dead-letter stream.
    let messages = 50;
    let yaml = topology(
        "",
        &with_conf(&[("sentence.spout.limit", "50"), ("sentence.spout.max.replays", "10")]),
        &format!(
            "{}{}{}",
            bolt(
                "split",
                "split_sentence",
                &["word"],
                1,
                &[
                    ("storm.wasm.max.emits.per.call", "7"),
                    ("storm.wasm.max.batch", "1"),
                    ("storm.wasm.max.consecutive.traps", "50"),
                    ("storm.wasm.poison.after", "2"),
                ]
            ),
            bolt("count", "word_count", &["word", "count"], 1, &[]),
            bolt("dead", "test_bolt", &["value"], 1, &[]),
        ),
        &format!(
            "{}{}{}",
            stream("sentences", "split", "{type: SHUFFLE}"),
            stream("split", "count", "{type: FIELDS, args: [\"word\"]}"),
            stream("split", "dead", "{type: SHUFFLE, streamId: \"dead_letter\"}")
        ),
    );
    let run = run("dead-letters", &yaml, &["--until-idle", "1s", "--duration", "120s", "--tap", "split:dead_letter"]);
    let bad = (0..messages).filter(|i| i % 5 == 1).count() as u64;
    assert_all_acked(&run, messages);
    // Fail, dead letter, fail, dead letter…: each bad message once of each.
    assert_eq!(run.messages("failed"), bad, "{}", run.explain());
    let split = run.component("split");
    assert_eq!(
        (&split["dead_lettered"], &split["dead_letter_stream"]),
        (&Value::from(bad), &Value::from("dead_letter")),
        "{}",
        run.explain()
    );
    assert_eq!(run.component("dead")["executed"], bad, "{}", run.explain());
    assert_eq!(run.component("count")["executed"], 240, "the 40 good sentences' words: {}", run.explain());
    assert!(
        run.stdout.contains(&format!("dead letters split: {bad} tuples acked and sent to stream dead_letter")),
        "{}",
        run.explain()
    );
    assert!(run.stderr.contains("dead-letter stream dead_letter is declared implicitly"), "{}", run.explain());
    let letters: Vec<Value> = run.taps().into_iter().filter(|t| t["stream"] == "dead_letter").collect();
    assert_eq!(letters.len() as u64, bad, "{}", run.explain());
    for letter in letters {
        let values = &letter["values"];
        assert_eq!(
            (&values[0], &values[1], &values[2]),
            (&Value::from("sentences"), &Value::from("default"), &serde_json::json!([SENTENCES[1]])),
            "{letter}"
        );
        // The error is the first line of the cause, as in the subprocess
        // mode: the limit the host enforced, by its conf key.
        let error = values[3].as_str().unwrap();
        assert!(error.contains("emitted more than 7 tuples in one call (storm.wasm.max.emits.per.call)"), "{letter}");
    }
}
