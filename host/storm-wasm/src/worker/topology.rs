//! The topology as the worker runs it: components with task ids and
//! executors, declared streams and who subscribes to them, and each
//! component's conf, checked the way Storm checks a topology at submission.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmpv::Value;

use super::flux::{GroupingDef, TopologyDef};
use crate::engine::World;
use crate::limits::{Grants, Limits};

/// Storm's default `topology.message.timeout.secs`.
const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// Storm's default `topology.executor.receive.buffer.size`.
const DEFAULT_RECEIVE_BUFFER: usize = 32768;
/// The fields of a dead letter (see [`crate::limits::Poison`]).
pub const DEAD_LETTER_FIELDS: [&str; 4] = ["source", "stream", "values", "error"];

/// Storm keys a component may set for itself; Storm drops every other
/// `topology.*` key of a component's conf (Executor.normalizedComponentConf).
const COMPONENT_KEYS: &[&str] = &[
    "topology.debug",
    "topology.max.spout.pending",
    "topology.max.task.parallelism",
    "topology.transactional.id",
    "topology.tick.tuple.freq.secs",
    "topology.sleep.spout.wait.strategy.time.ms",
    "topology.spout.wait.strategy",
];

/// How an emitted tuple finds its tasks in one subscribing component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// Round-robin over a random permutation, reshuffled every round (as
    /// Storm's ShuffleGrouping). `LOCAL_OR_SHUFFLE` and `NONE` too: every
    /// task is local here, and Storm's NONE is a shuffle.
    Shuffle,
    /// The task chosen by a hash of these field positions.
    Fields(Vec<usize>),
    /// Every task.
    All,
    /// The lowest task id.
    Global,
    /// Only `emit-direct`.
    Direct,
}

/// One subscription to a stream.
#[derive(Clone, Debug)]
pub struct Route {
    /// The subscribing component.
    pub target: usize,
    /// Its tasks, ascending.
    pub tasks: Arc<[i32]>,
    /// How tuples are spread over them.
    pub grouping: Grouping,
    /// The grouping as written (for the context Storm passes plugins).
    pub def: GroupingDef,
}

/// A declared output stream.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Its id.
    pub id: Arc<str>,
    /// Its fields.
    pub fields: Vec<String>,
    /// Declared direct (only `emit-direct`).
    pub direct: bool,
    /// Who subscribes.
    pub routes: Vec<Route>,
}

/// A spout or bolt.
#[derive(Debug)]
pub struct Component {
    /// Its id.
    pub id: Arc<str>,
    /// Spout or bolt.
    pub world: World,
    /// The plugin file.
    pub plugin: PathBuf,
    /// Task ids, ascending.
    pub tasks: Vec<i32>,
    /// The tasks of each executor (thread).
    pub executors: Vec<Vec<i32>>,
    /// Output streams.
    pub streams: Vec<Stream>,
    /// (source component, stream, grouping) it subscribes to.
    pub inputs: Vec<(usize, Arc<str>, GroupingDef)>,
    /// The conf its plugin gets: the topology's, then its own `withConf`.
    pub conf: Value,
    /// Tick tuple period.
    pub tick: Option<Duration>,
    /// `topology.max.spout.pending` (per task).
    pub max_spout_pending: Option<usize>,
    /// Metric names registered with `withMetric`.
    pub metrics: Vec<String>,
    /// Its sandbox: the command line's limits and grants, then its conf's
    /// `storm.wasm.*` keys (and its dead-letter policy).
    pub limits: Limits,
    /// See [`Component::limits`].
    pub grants: Grants,
    /// Its position in the file (spouts first), for display.
    pub order: usize,
}

/// The runnable topology.
#[derive(Debug)]
pub struct Topology {
    /// Its name.
    pub name: String,
    /// Components, sorted by id (task ids follow this order, as in Storm).
    pub components: Vec<Component>,
    /// Component index of each task id (index 0 unused).
    pub task_component: Vec<usize>,
    /// `topology.message.timeout.secs`.
    pub message_timeout: Duration,
    /// `topology.acker.executors`; 0 turns tracking off (spout tuples are
    /// acked as soon as they are emitted).
    pub ackers: usize,
    /// `topology.executor.receive.buffer.size`: tuples queued per executor
    /// before its producers wait.
    pub receive_buffer: usize,
    /// Warnings for the startup log.
    pub notes: Vec<String>,
}

impl Topology {
    /// The component with this id.
    pub fn component(&self, id: &str) -> Option<usize> {
        self.components.iter().position(|c| &*c.id == id)
    }

    /// Number of task ids + 1 (ids start at 1).
    pub fn task_slots(&self) -> usize {
        self.task_component.len()
    }
}

fn conf_u64(conf: &[(String, Value)], key: &str) -> Result<Option<u64>, String> {
    match conf.iter().rev().find(|(k, _)| k == key) {
        None | Some((_, Value::Nil)) => Ok(None),
        Some((_, v)) => v.as_u64().map(Some).ok_or_else(|| format!("config {key} must be a whole number, not {v}")),
    }
}

/// Resolves and checks a topology file's definition; each component's
/// sandbox is `limits` and `grants` with its conf applied.
pub fn build(def: TopologyDef, limits: &Limits, grants: &Grants) -> Result<Topology, String> {
    let mut notes = def.notes;
    let mut defs: Vec<(usize, super::flux::ComponentDef)> = def.components.into_iter().enumerate().collect();
    for (i, (_, c)) in defs.iter().enumerate() {
        if c.id.starts_with("__") {
            return Err(format!("line {}: component ids starting with __ are reserved for Storm", c.line));
        }
        if defs[..i].iter().any(|(_, o)| o.id == c.id) {
            return Err(format!("line {}: a second component with the id {}", c.line, c.id));
        }
    }
    // Storm numbers tasks in the order of the sorted component ids.
    defs.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    let max_parallelism = conf_u64(&def.config, "topology.max.task.parallelism")?.map(|n| n.max(1) as usize);
    let timeout = conf_u64(&def.config, "topology.message.timeout.secs")?.unwrap_or(DEFAULT_TIMEOUT_SECS).max(1);
    let ackers = conf_u64(&def.config, "topology.acker.executors")?.map_or(1, |n| n as usize);
    let receive_buffer =
        conf_u64(&def.config, "topology.executor.receive.buffer.size")?.map_or(DEFAULT_RECEIVE_BUFFER, |n| n as usize);
    for (key, _) in &def.config {
        if key == "topology.workers" {
            notes.push("topology.workers: the native worker runs the whole topology in one process".into());
        }
    }

    let mut base: Vec<(String, Value)> = vec![
        ("topology.name".into(), Value::from(def.name.as_str())),
        ("storm.id".into(), Value::from(format!("{}-local-1", def.name))),
        ("topology.message.timeout.secs".into(), Value::from(timeout)),
    ];
    for (k, v) in def.config {
        base.retain(|(b, _)| *b != k);
        base.push((k, v));
    }

    let mut next_task = 1;
    let mut task_component = vec![usize::MAX];
    let mut components = Vec::with_capacity(defs.len());
    for (index, (order, c)) in defs.iter().enumerate() {
        let mut conf = base.clone();
        for (key, value, line) in &c.conf {
            let storm_key =
                key.starts_with("topology.") || (key.starts_with("storm.") && !key.starts_with("storm.wasm."));
            if storm_key && !COMPONENT_KEYS.contains(&key.as_str()) {
                notes.push(format!(
                    "line {line}: Storm ignores {key} in a component's conf (withConf); set it under config:"
                ));
                continue;
            }
            conf.retain(|(k, _)| k != key);
            conf.push((key.clone(), value.clone()));
        }
        let cap = conf_u64(&conf, "topology.max.task.parallelism")?.map(|n| n.max(1) as usize).or(max_parallelism);
        let tasks_n = cap.map_or(c.tasks, |m| c.tasks.min(m));
        let executors_n = cap.map_or(c.parallelism, |m| c.parallelism.min(m)).min(tasks_n);
        let tasks: Vec<i32> = (next_task..next_task + tasks_n as i32).collect();
        next_task += tasks_n as i32;
        task_component.extend(std::iter::repeat_n(index, tasks_n));
        // Contiguous runs of task ids, the first executors one longer (Storm's partitioning).
        let mut executors = Vec::with_capacity(executors_n);
        let (per, extra) = (tasks_n / executors_n, tasks_n % executors_n);
        let mut start = 0;
        for e in 0..executors_n {
            let len = per + usize::from(e < extra);
            executors.push(tasks[start..start + len].to_vec());
            start += len;
        }
        let tick = conf_u64(&conf, "topology.tick.tuple.freq.secs")?.filter(|s| *s > 0).map(Duration::from_secs);
        let max_spout_pending = conf_u64(&conf, "topology.max.spout.pending")?.map(|n| n.max(1) as usize);
        if tick.is_some() && c.world == World::Spout {
            notes.push(format!("{}: spouts get no tick tuples (the WIT spout world has no input)", c.id));
        }
        let conf = Value::Map(conf.into_iter().map(|(k, v)| (Value::from(k), v)).collect());
        let (mut limits, mut grants) = (limits.clone(), grants.clone());
        for warning in limits.apply_conf(&conf, &mut grants) {
            notes.push(format!("{}: {warning}", c.id));
        }
        let mut streams: Vec<Stream> = c
            .streams
            .iter()
            .map(|(id, direct, fields)| Stream {
                id: id.as_str().into(),
                fields: fields.clone(),
                direct: *direct,
                routes: Vec::new(),
            })
            .collect();
        declare_dead_letters(c, &mut limits, &mut streams, &mut notes)?;
        components.push(Component {
            id: c.id.as_str().into(),
            world: c.world,
            plugin: c.plugin.clone(),
            tasks,
            executors,
            streams,
            inputs: Vec::new(),
            conf,
            tick,
            max_spout_pending,
            metrics: c.metrics.clone(),
            limits,
            grants,
            order: *order,
        });
    }

    let find = |id: &str| components.iter().position(|c: &Component| &*c.id == id);
    let mut routes: Vec<(usize, usize, Route)> = Vec::new();
    for s in &def.streams {
        let line = s.line;
        let from = find(&s.from).ok_or_else(|| format!("line {line}: no spout or bolt has the id {}", s.from))?;
        let to = find(&s.to).ok_or_else(|| format!("line {line}: no spout or bolt has the id {}", s.to))?;
        let (source, target) = (&components[from], &components[to]);
        if target.world == World::Spout {
            return Err(format!("line {line}: {} is a spout; spouts cannot subscribe to streams", s.to));
        }
        let Some(stream_index) = source.streams.iter().position(|d| *d.id == *s.stream) else {
            let declared: Vec<&str> = source.streams.iter().map(|d| &*d.id).collect();
            let dead_letters = if source.world == World::Bolt {
                format!(", or for its dead letters set storm.wasm.poison.after (and storm.wasm.poison.stream: \"{}\") on {}", s.stream, s.from)
            } else {
                String::new()
            };
            return Err(format!(
                "line {line}: {} does not declare the stream {} (it declares: {}); declare it with constructorArgs fields or withStream{dead_letters}",
                s.from,
                s.stream,
                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
            ));
        };
        let stream = &source.streams[stream_index];
        let grouping = match &s.grouping {
            GroupingDef::Direct if !stream.direct => {
                return Err(format!(
                    "line {line}: a DIRECT grouping needs a direct stream; declare {} of {} with withStream(id, true, fields)",
                    s.stream, s.from
                ))
            }
            GroupingDef::Direct => Grouping::Direct,
            _ if stream.direct => {
                return Err(format!("line {line}: the stream {} of {} is direct: subscribe with a DIRECT grouping", s.stream, s.from))
            }
            GroupingDef::Shuffle | GroupingDef::LocalOrShuffle | GroupingDef::None => Grouping::Shuffle,
            GroupingDef::All => Grouping::All,
            GroupingDef::Global => Grouping::Global,
            GroupingDef::Fields(names) => {
                let mut positions = Vec::with_capacity(names.len());
                for name in names {
                    match stream.fields.iter().position(|f| f == name) {
                        Some(p) => positions.push(p),
                        None => {
                            return Err(format!(
                                "line {line}: the stream {} of {} has no field {name} (its fields: {})",
                                s.stream,
                                s.from,
                                stream.fields.join(", ")
                            ))
                        }
                    }
                }
                Grouping::Fields(positions)
            }
        };
        if routes.iter().any(|(f, si, r)| *f == from && *si == stream_index && r.target == to) {
            return Err(format!(
                "line {line}: {} already subscribes to the stream {} of {} (Storm would keep only the last grouping)",
                s.to, s.stream, s.from
            ));
        }
        let route = Route { target: to, tasks: components[to].tasks.clone().into(), grouping, def: s.grouping.clone() };
        routes.push((from, stream_index, route));
    }
    for (from, stream_index, route) in routes {
        let stream_id = components[from].streams[stream_index].id.clone();
        components[route.target].inputs.push((from, stream_id, route.def.clone()));
        components[from].streams[stream_index].routes.push(route);
    }
    for c in &components {
        if c.world == World::Bolt && c.inputs.is_empty() {
            notes.push(format!("bolt {} subscribes to nothing: it will get only tick tuples", c.id));
        }
    }
    if has_cycle(&components) {
        notes.push(
            "the topology has a cycle: when every queue on it is full it can stall (as in Storm); size topology.executor.receive.buffer.size for it"
                .into(),
        );
    }
    Ok(Topology {
        name: def.name,
        components,
        task_component,
        message_timeout: Duration::from_secs(timeout),
        ackers,
        receive_buffer: receive_buffer.max(1),
        notes,
    })
}

/// A bolt with a dead-letter policy emits on its dead-letter stream: the
/// stream is declared here when the file does not (on a cluster, WasmBolt
/// must declare it with withStream), and a declaration with other fields
/// is an error. Spouts fail no tuples, so the policy does not apply.
fn declare_dead_letters(
    c: &super::flux::ComponentDef,
    limits: &mut Limits,
    streams: &mut Vec<Stream>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let Some(policy) = &limits.poison else { return Ok(()) };
    if c.world == World::Spout {
        notes.push(format!("{}: storm.wasm.poison.* applies to bolts (a spout fails no tuples); ignored", c.id));
        limits.poison = None;
        return Ok(());
    }
    match streams.iter().find(|s| *s.id == *policy.stream) {
        Some(s) if s.direct || s.fields.len() != DEAD_LETTER_FIELDS.len() => Err(format!(
            "line {}: {} declares its dead-letter stream {} with {}fields [{}]; dead letters are [{}]: declare it with withStream(\"{}\", [{}]) or leave the declaration out",
            c.line,
            c.id,
            policy.stream,
            if s.direct { "direct " } else { "" },
            s.fields.join(", "),
            DEAD_LETTER_FIELDS.join(", "),
            policy.stream,
            DEAD_LETTER_FIELDS.map(|f| format!("\"{f}\"")).join(", ")
        )),
        Some(_) => Ok(()),
        None => {
            notes.push(format!(
                "line {}: {}'s dead-letter stream {} is declared implicitly; on a cluster declare it with withStream(\"{}\", [{}])",
                c.line,
                c.id,
                policy.stream,
                policy.stream,
                DEAD_LETTER_FIELDS.map(|f| format!("\"{f}\"")).join(", ")
            ));
            streams.push(Stream {
                id: policy.stream.as_str().into(),
                fields: DEAD_LETTER_FIELDS.map(String::from).to_vec(),
                direct: false,
                routes: Vec::new(),
            });
            Ok(())
        }
    }
}

fn has_cycle(components: &[Component]) -> bool {
    // 0 unvisited, 1 on the path, 2 done.
    fn visit(c: usize, components: &[Component], state: &mut [u8]) -> bool {
        if state[c] == 1 {
            return true;
        }
        if state[c] == 2 {
            return false;
        }
        state[c] = 1;
        let cyclic = components[c].streams.iter().flat_map(|s| &s.routes).any(|r| visit(r.target, components, state));
        state[c] = 2;
        cyclic
    }
    let mut state = vec![0u8; components.len()];
    (0..components.len()).any(|c| visit(c, components, &mut state))
}

/// The context Storm passes a task (TopologyContext.toJSONString's keys),
/// as the MessagePack map plugins read.
pub fn context(topology: &Topology, component: usize, task: i32) -> Vec<u8> {
    let c = &topology.components[component];
    let s = |x: &str| Value::from(x);
    let grouping = |g: &GroupingDef| {
        // Storm's global grouping is a fields grouping on no fields.
        let (kind, fields) = match g {
            GroupingDef::Shuffle => ("SHUFFLE", None),
            GroupingDef::LocalOrShuffle => ("LOCAL_OR_SHUFFLE", None),
            GroupingDef::None => ("NONE", None),
            GroupingDef::All => ("ALL", None),
            GroupingDef::Direct => ("DIRECT", None),
            GroupingDef::Global => ("FIELDS", Some(Vec::new())),
            GroupingDef::Fields(f) => ("FIELDS", Some(f.clone())),
        };
        let mut m = vec![(s("type"), s(kind))];
        if let Some(fields) = fields {
            m.push((s("fields"), Value::Array(fields.iter().map(|f| s(f)).collect())));
        }
        Value::Map(m)
    };
    let strings = |v: &[String]| Value::Array(v.iter().map(|f| s(f)).collect());
    let task_to_component = Value::Map(
        topology
            .task_component
            .iter()
            .enumerate()
            .skip(1)
            .map(|(t, &ci)| (Value::from(t as i64), s(&topology.components[ci].id)))
            .collect(),
    );
    let mut targets = Vec::new();
    for stream in &c.streams {
        let per_target =
            stream.routes.iter().map(|r| (s(&topology.components[r.target].id), grouping(&r.def))).collect::<Vec<_>>();
        targets.push((s(&stream.id), Value::Map(per_target)));
    }
    let mut sources: BTreeMap<&str, Vec<(Value, Value)>> = BTreeMap::new();
    let mut source_fields: BTreeMap<&str, Vec<(Value, Value)>> = BTreeMap::new();
    for (from, stream, g) in &c.inputs {
        let source = &topology.components[*from];
        sources.entry(&source.id).or_default().push((s(stream), grouping(g)));
        let fields = source.streams.iter().find(|d| d.id == *stream).map(|d| d.fields.clone()).unwrap_or_default();
        source_fields.entry(&source.id).or_default().push((s(stream), strings(&fields)));
    }
    let nested = |m: BTreeMap<&str, Vec<(Value, Value)>>| {
        Value::Map(m.into_iter().map(|(k, v)| (s(k), Value::Map(v))).collect())
    };
    let map = Value::Map(vec![
        (s("task->component"), task_to_component),
        (s("taskid"), Value::from(task)),
        (s("componentid"), s(&c.id)),
        (s("streams"), Value::Array(c.streams.iter().map(|d| s(&d.id)).collect())),
        (s("stream->outputfields"), Value::Map(c.streams.iter().map(|d| (s(&d.id), strings(&d.fields))).collect())),
        (s("stream->target->grouping"), Value::Map(targets)),
        (s("source->stream->grouping"), nested(sources)),
        (s("source->stream->fields"), nested(source_fields)),
    ]);
    encode(&map)
}

/// A value's MessagePack bytes.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, value).expect("writing to a Vec");
    out
}

#[cfg(test)]
mod tests {
    use super::super::flux;
    use super::*;

    fn build_str(source: &str) -> Result<Topology, String> {
        let dir = std::env::temp_dir().join(format!("topology-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p.wasm"), b"x").unwrap();
        let cli = <crate::cli::Cli as clap::Parser>::parse_from(["storm-wasm", "run", "t.yaml"]);
        let crate::cli::Command::Run(args) = cli.command else { unreachable!() };
        let limits = Limits::from_args(&args.sandbox);
        build(flux::parse(source, &|_| None, &dir, "t")?, &limits, &Grants::default())
    }

    const WC: &str = r#"
spouts:
  - id: "sentences"
    className: "org.stormwasm.storm.WasmSpout"
    constructorArgs: ["p.wasm", ["sentence"]]
bolts:
  - id: "split"
    className: "org.stormwasm.storm.WasmBolt"
    constructorArgs: ["p.wasm", ["word"]]
    parallelism: 2
    numTasks: 3
  - id: "count"
    className: "org.stormwasm.storm.WasmBolt"
    constructorArgs: ["p.wasm", ["word", "count"]]
    parallelism: 2
    configMethods:
      - name: withConf
        args: ["topology.tick.tuple.freq.secs", 5]
      - name: withConf
        args: ["topology.workers", 5]
streams:
  - from: "sentences"
    to: "split"
    grouping: {type: SHUFFLE}
  - from: "split"
    to: "count"
    grouping: {type: FIELDS, args: ["word"]}
"#;

    #[test]
    fn tasks_executors_routes_and_conf() {
        let t = build_str(WC).unwrap();
        let ids: Vec<&str> = t.components.iter().map(|c| &*c.id).collect();
        assert_eq!(ids, ["count", "sentences", "split"]);
        assert_eq!(t.components[0].tasks, [1, 2]);
        assert_eq!(t.components[1].tasks, [3]);
        assert_eq!(t.components[2].executors, vec![vec![4, 5], vec![6]]);
        assert_eq!(t.task_component, [usize::MAX, 0, 0, 1, 2, 2, 2]);
        assert_eq!(t.components[2].streams[0].routes[0].grouping, Grouping::Fields(vec![0]));
        assert_eq!(t.components[0].tick, Some(Duration::from_secs(5)));
        assert!(t.notes.iter().any(|n| n.contains("Storm ignores topology.workers")), "{:?}", t.notes);
        let ctx: Value = rmpv::decode::read_value(&mut &context(&t, 0, 1)[..]).unwrap();
        let text = format!("{ctx}");
        assert!(text.contains("\"source->stream->fields\": {\"split\": {\"default\": [\"word\"]}}"), "{text}");
    }

    #[test]
    fn a_dead_letter_policy_declares_its_stream() {
        let poisoned = WC.replacen(
            "      - name: withConf\n        args: [\"topology.workers\", 5]",
            "      - name: withConf\n        args: [\"storm.wasm.poison.after\", 2]",
            1,
        );
        let subscribed = format!(
            "{}  - from: \"count\"\n    to: \"split\"\n    grouping: {{type: SHUFFLE, streamId: \"dead_letter\"}}\n",
            poisoned
        );
        let t = build_str(&subscribed).unwrap();
        let dead = t.components[0].streams.iter().find(|s| &*s.id == "dead_letter").expect("declared");
        assert_eq!(dead.fields, DEAD_LETTER_FIELDS);
        assert_eq!(dead.routes[0].target, 2);
        assert_eq!(t.components[0].limits.poison.as_ref().map(|p| p.after), Some(2));
        assert!(t.notes.iter().any(|n| n.contains("declared implicitly")), "{:?}", t.notes);

        // Without the policy there is no such stream, and the error says how to get one.
        let err = build_str(&subscribed.replace("storm.wasm.poison.after", "x.y")).unwrap_err();
        assert!(
            err.contains("does not declare the stream dead_letter") && err.contains("storm.wasm.poison.after"),
            "{err}"
        );

        // A declaration with other fields is refused.
        let wrong = subscribed.replacen(
            "      - name: withConf\n        args: [\"storm.wasm.poison.after\", 2]",
            "      - name: withConf\n        args: [\"storm.wasm.poison.after\", 2]\n      - name: withStream\n        args: [\"dead_letter\", [\"error\"]]",
            1,
        );
        let err = build_str(&wrong).unwrap_err();
        assert!(
            err.starts_with("line 12: count declares its dead-letter stream dead_letter with fields [error]"),
            "{err}"
        );
    }

    #[test]
    fn submission_checks_name_the_line() {
        let cases = [
            ("args: [\"word\"]", "args: [\"wrd\"]", "line 25: the stream default of split has no field wrd"),
            ("to: \"split\"", "to: \"sentences\"", "line 22: sentences is a spout"),
            ("{type: SHUFFLE}", "{type: SHUFFLE, streamId: \"x\"}", "line 22: sentences does not declare the stream x"),
            ("{type: SHUFFLE}", "{type: DIRECT}", "line 22: a DIRECT grouping needs a direct stream"),
            ("from: \"split\"", "from: \"nope\"", "line 25: no spout or bolt has the id nope"),
        ];
        for (from, to, expected) in cases {
            let err = build_str(&WC.replacen(from, to, 1)).unwrap_err();
            assert!(err.starts_with(expected), "{to}: {err}");
        }
    }
}
