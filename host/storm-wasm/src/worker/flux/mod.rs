//! The topology file: Flux's YAML format, restricted to what the native
//! worker can run (WebAssembly components configured the way the Java
//! `WasmSpout`/`WasmBolt` are). Anything else Flux understands is refused
//! with the line it is on: a topology must never run differently here than
//! on a cluster without saying so.

pub mod yaml;

use std::path::{Path, PathBuf};

use rmpv::Value;

use crate::engine::World;
use yaml::{Kind, Node, Scalar};

/// The Java class a spout must name.
pub const SPOUT_CLASS: &str = "org.stormwasm.storm.WasmSpout";
/// The Java class a bolt must name.
pub const BOLT_CLASS: &str = "org.stormwasm.storm.WasmBolt";

/// A topology file, read and checked for form (names are resolved later,
/// in [`crate::worker::topology`]).
#[derive(Debug)]
pub struct TopologyDef {
    /// `name`, or the file's stem.
    pub name: String,
    /// `config`, in file order.
    pub config: Vec<(String, Value)>,
    /// Spouts, then bolts, in file order.
    pub components: Vec<ComponentDef>,
    /// `streams`.
    pub streams: Vec<StreamDef>,
    /// Things accepted but without effect here, for the startup log.
    pub notes: Vec<String>,
}

/// A spout or bolt.
#[derive(Debug)]
pub struct ComponentDef {
    /// Its id.
    pub id: String,
    /// Where it is defined.
    pub line: usize,
    /// Spout or bolt.
    pub world: World,
    /// The plugin, resolved to an existing file.
    pub plugin: PathBuf,
    /// Declared output streams: (id, direct, fields), in declaration order.
    pub streams: Vec<(String, bool, Vec<String>)>,
    /// `withConf` entries.
    pub conf: Vec<(String, Value, usize)>,
    /// `withMetric` names.
    pub metrics: Vec<String>,
    /// Executors (threads).
    pub parallelism: usize,
    /// Tasks (plugin instances); at least `parallelism`.
    pub tasks: usize,
}

/// One subscription.
#[derive(Debug)]
pub struct StreamDef {
    /// Where it is defined.
    pub line: usize,
    /// Emitting component.
    pub from: String,
    /// Subscribing component.
    pub to: String,
    /// The stream of `from` (`default` unless `grouping.streamId`).
    pub stream: String,
    /// How tuples are spread over the tasks of `to`.
    pub grouping: GroupingDef,
}

/// Flux's grouping types, less `CUSTOM`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupingDef {
    /// Random, evenly.
    Shuffle,
    /// Shuffle among the tasks of this worker (here: all of them).
    LocalOrShuffle,
    /// Same values of these fields, same task.
    Fields(Vec<String>),
    /// Every task.
    All,
    /// The task with the lowest id.
    Global,
    /// Don't care (Storm shuffles).
    None,
    /// The emitter picks the task (`emit-direct`).
    Direct,
}

/// An error about a line of the file.
fn at(node: &Node, message: impl std::fmt::Display) -> String {
    format!("line {}: {message}", node.line)
}

fn entries<'a>(node: &'a Node, what: &str) -> Result<&'a [(Node, Node)], String> {
    match &node.kind {
        Kind::Map(e) => Ok(e),
        _ => Err(at(node, format!("{what} must be a mapping, not {}", node.describe()))),
    }
}

fn items<'a>(node: &'a Node, what: &str) -> Result<&'a [Node], String> {
    match &node.kind {
        Kind::Seq(i) => Ok(i),
        // `key:` with nothing after it: SnakeYAML's null, an empty list to Flux.
        _ if node.scalar() == Some(Scalar::Null) => Ok(&[]),
        _ => Err(at(node, format!("{what} must be a list, not {}", node.describe()))),
    }
}

fn string(node: &Node, what: &str) -> Result<String, String> {
    match node.scalar() {
        Some(Scalar::Null) | None => Err(at(node, format!("{what} must be a string, not {}", node.describe()))),
        Some(_) => Ok(node.text().expect("a scalar").to_string()),
    }
}

fn strings(node: &Node, what: &str) -> Result<Vec<String>, String> {
    items(node, what)?.iter().map(|n| string(n, what)).collect()
}

fn positive(node: &Node, what: &str) -> Result<usize, String> {
    match node.scalar() {
        Some(Scalar::Int(n)) if n >= 1 => Ok(n as usize),
        _ => Err(at(node, format!("{what} must be a whole number of at least 1, not {}", node.describe()))),
    }
}

/// A YAML value as the MessagePack value plugins get in their conf.
pub fn to_value(node: &Node) -> Value {
    match &node.kind {
        Kind::Scalar { .. } => match node.scalar().expect("a scalar") {
            Scalar::Null => Value::Nil,
            Scalar::Bool(b) => Value::Boolean(b),
            Scalar::Int(i) => Value::from(i),
            Scalar::Float(f) => Value::F64(f),
            Scalar::Str(s) => Value::from(s),
        },
        Kind::Seq(items) => Value::Array(items.iter().map(to_value).collect()),
        Kind::Map(entries) => {
            Value::Map(entries.iter().map(|(k, v)| (Value::from(k.text().unwrap_or_default()), to_value(v))).collect())
        }
    }
}

/// Reads a topology file. Errors are `FILE:LINE: message`.
pub fn load(path: &Path) -> Result<TopologyDef, String> {
    let source = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let env = |name: &str| std::env::var(name).ok();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "topology".into());
    parse(&source, &env, &dir, &stem)
        .map_err(|e| format!("{}:{}", path.display(), e.strip_prefix("line ").unwrap_or(&e)))
}

/// Parses a topology; relative plugin paths are looked up in `dir`, then in
/// the working directory.
pub fn parse(
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
    dir: &Path,
    default_name: &str,
) -> Result<TopologyDef, String> {
    let root = yaml::parse(source, env)?;
    let mut def = TopologyDef {
        name: default_name.to_string(),
        config: Vec::new(),
        components: Vec::new(),
        streams: Vec::new(),
        notes: Vec::new(),
    };
    for (key, value) in entries(&root, "the topology file")? {
        match key.text().unwrap_or_default() {
            "name" => def.name = string(value, "name")?,
            "config" => {
                for (k, v) in entries(value, "config")? {
                    def.config.push((string(k, "a config key")?, to_value(v)));
                }
            }
            "spouts" => {
                for node in items(value, "spouts")? {
                    def.components.push(component(node, World::Spout, dir, &mut def.notes)?);
                }
            }
            "bolts" => {
                for node in items(value, "bolts")? {
                    def.components.push(component(node, World::Bolt, dir, &mut def.notes)?);
                }
            }
            "streams" => {
                for node in items(value, "streams")? {
                    def.streams.push(stream(node)?);
                }
            }
            k @ ("components" | "includes" | "topologySource" | "workerHooks") => {
                return Err(at(
                    key,
                    format!("`{k}` is a Flux feature the native worker does not support (only spouts, bolts, streams, config and name)"),
                ))
            }
            other => return Err(at(key, format!("unknown key `{other}` (Flux rejects it too)"))),
        }
    }
    Ok(def)
}

fn component(node: &Node, world: World, dir: &Path, notes: &mut Vec<String>) -> Result<ComponentDef, String> {
    let (kind, class) = match world {
        World::Spout => ("spout", SPOUT_CLASS),
        World::Bolt => ("bolt", BOLT_CLASS),
    };
    let mut id = None;
    let mut class_seen = false;
    let mut args = None;
    let mut methods = None;
    let mut parallelism = 1;
    let mut tasks = None;
    for (key, value) in entries(node, &format!("a {kind}"))? {
        match key.text().unwrap_or_default() {
            "id" => id = Some(string(value, "id")?),
            "className" => {
                let name = string(value, "className")?;
                if name != class {
                    let hint = if name == SPOUT_CLASS || name == BOLT_CLASS {
                        format!(" (a {kind} must be a {class}; is it under the wrong section?)")
                    } else {
                        " (the native worker runs WebAssembly plugins only; Java classes need a Storm cluster)".into()
                    };
                    return Err(at(value, format!("className {name} is not supported here: use {class}{hint}")));
                }
                class_seen = true;
            }
            "constructorArgs" => args = Some(value),
            "configMethods" => methods = Some(value),
            "parallelism" => parallelism = positive(value, "parallelism")?,
            "numTasks" => tasks = Some(positive(value, "numTasks")?),
            k @ ("onHeapMemoryLoad" | "offHeapMemoryLoad" | "cpuLoad") => {
                notes.push(format!("line {}: {k} is a resource hint for Storm's scheduler; no effect here", key.line))
            }
            k @ ("properties" | "factory" | "factoryArgs" | "hasReferences") => {
                return Err(at(key, format!("`{k}` is not supported by the native worker (WasmSpout/WasmBolt take constructorArgs and configMethods)")))
            }
            other => return Err(at(key, format!("unknown key `{other}` in a {kind} (Flux rejects it too)"))),
        }
    }
    let id = id.ok_or_else(|| at(node, format!("a {kind} needs an `id`")))?;
    if !class_seen {
        return Err(at(node, format!("{kind} {id} needs `className: \"{class}\"`")));
    }
    let args = args.ok_or_else(|| at(node, format!("{kind} {id} needs `constructorArgs: [plugin, [fields...]]`")))?;
    let (plugin, fields) = match items(args, "constructorArgs")? {
        [plugin] => (plugin, None),
        [plugin, fields] => (plugin, Some(fields)),
        _ => {
            return Err(at(
                args,
                "constructorArgs must be [plugin] or [plugin, [field, ...]] (the fields of the default stream go in one list)",
            ))
        }
    };
    if matches!(plugin.kind, Kind::Map(_)) {
        return Err(at(plugin, "references (`ref:`) are not supported by the native worker; give the plugin's path"));
    }
    let mut def = ComponentDef {
        plugin: resolve_plugin(plugin, &string(plugin, "the plugin")?, dir)?,
        id,
        line: node.line,
        world,
        streams: Vec::new(),
        conf: Vec::new(),
        metrics: Vec::new(),
        parallelism,
        tasks: tasks.unwrap_or(parallelism).max(parallelism),
    };
    if let Some(fields) = fields {
        def.streams.push(("default".into(), false, strings(fields, "the output fields")?));
    }
    if let Some(methods) = methods {
        for method in items(methods, "configMethods")? {
            config_method(method, &mut def, notes)?;
        }
    }
    Ok(def)
}

/// WasmComponent's fluent methods, as Flux would call them.
fn config_method(node: &Node, def: &mut ComponentDef, notes: &mut Vec<String>) -> Result<(), String> {
    let mut name = None;
    let mut args: &[Node] = &[];
    for (key, value) in entries(node, "a config method")? {
        match key.text().unwrap_or_default() {
            "name" => name = Some(string(value, "name")?),
            "args" => args = items(value, "args")?,
            "hasReferences" => return Err(at(key, "references are not supported by the native worker")),
            other => return Err(at(key, format!("unknown key `{other}` in a config method"))),
        }
    }
    let name = name.ok_or_else(|| at(node, "a config method needs a `name`"))?;
    let is_list = |n: &Node| matches!(n.kind, Kind::Seq(_));
    match (name.as_str(), args) {
        ("withStream", [id, fields]) if is_list(fields) => set_stream(def, string(id, "the stream id")?, false, fields)?,
        ("withStream", [id, direct, fields]) if is_list(fields) => {
            let Some(Scalar::Bool(direct)) = direct.scalar() else {
                return Err(at(direct, "withStream's second argument must be true or false (direct)"));
            };
            set_stream(def, string(id, "the stream id")?, direct, fields)?
        }
        ("withConf", [key, value]) => def.conf.push((string(key, "the conf key")?, to_value(value), key.line)),
        ("withMetric", [metric]) | ("withMetric", [metric, _]) => def.metrics.push(string(metric, "the metric name")?),
        ("withEnv", [var, _]) => notes.push(format!(
            "line {}: withEnv({}) sets the environment of a Storm subprocess; no effect here (plugins see no environment unless granted with storm.wasm.grant.env)",
            node.line,
            var.text().unwrap_or_default()
        )),
        ("withStream" | "withConf" | "withMetric" | "withEnv", _) => {
            return Err(at(node, format!("{name} does not take these arguments; see WasmComponent: withStream(id, [fields]), withStream(id, direct, [fields]), withConf(key, value), withMetric(name[, class]), withEnv(name, value)")))
        }
        _ => {
            return Err(at(
                node,
                format!("unknown method {name}: WasmSpout and WasmBolt have withStream, withConf, withMetric and withEnv"),
            ))
        }
    }
    Ok(())
}

fn set_stream(def: &mut ComponentDef, id: String, direct: bool, fields: &Node) -> Result<(), String> {
    let fields = strings(fields, "the stream's fields")?;
    def.streams.retain(|(s, _, _)| *s != id);
    def.streams.push((id, direct, fields));
    Ok(())
}

/// An absolute path as is; a relative one next to the topology file, then
/// in the working directory (on a cluster, WasmCommand.resolvePlugin tries
/// the topology's resources directory, then the worker's directory).
fn resolve_plugin(node: &Node, plugin: &str, dir: &Path) -> Result<PathBuf, String> {
    let given = Path::new(plugin);
    let tried: Vec<PathBuf> =
        if given.is_absolute() { vec![given.to_path_buf()] } else { vec![dir.join(given), given.to_path_buf()] };
    for path in &tried {
        if path.is_file() {
            return Ok(path.clone());
        }
    }
    let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(at(node, format!("the plugin {plugin} does not exist (looked for {})", tried.join(" and "))))
}

fn stream(node: &Node) -> Result<StreamDef, String> {
    let (mut from, mut to, mut grouping) = (None, None, None);
    for (key, value) in entries(node, "a stream")? {
        match key.text().unwrap_or_default() {
            "name" => {}
            "from" => from = Some(string(value, "from")?),
            "to" => to = Some(string(value, "to")?),
            "grouping" => grouping = Some(value),
            other => return Err(at(key, format!("unknown key `{other}` in a stream (Flux rejects it too)"))),
        }
    }
    let from = from.ok_or_else(|| at(node, "a stream needs `from`"))?;
    let to = to.ok_or_else(|| at(node, "a stream needs `to`"))?;
    let grouping = grouping.ok_or_else(|| at(node, format!("the stream {from} --> {to} needs a `grouping`")))?;
    let (mut kind, mut stream, mut args) = (None, "default".to_string(), None);
    for (key, value) in entries(grouping, "grouping")? {
        match key.text().unwrap_or_default() {
            "type" => kind = Some(value),
            "streamId" => stream = string(value, "streamId")?,
            "args" => args = Some(strings(value, "args")?),
            "customClass" => {
                return Err(at(
                    key,
                    "custom groupings (customClass) need Java; the native worker does not support them",
                ))
            }
            other => return Err(at(key, format!("unknown key `{other}` in a grouping"))),
        }
    }
    let kind = kind.ok_or_else(|| at(grouping, "a grouping needs a `type`"))?;
    let grouping = match string(kind, "type")?.as_str() {
        "SHUFFLE" => GroupingDef::Shuffle,
        "LOCAL_OR_SHUFFLE" => GroupingDef::LocalOrShuffle,
        "FIELDS" => match args {
            Some(fields) if !fields.is_empty() => GroupingDef::Fields(fields),
            _ => return Err(at(kind, "a FIELDS grouping needs `args: [field, ...]`")),
        },
        "ALL" => GroupingDef::All,
        "GLOBAL" => GroupingDef::Global,
        "NONE" => GroupingDef::None,
        "DIRECT" => GroupingDef::Direct,
        "CUSTOM" => return Err(at(kind, "CUSTOM groupings need Java; the native worker does not support them")),
        other => {
            return Err(at(
                kind,
                format!("unknown grouping type {other} (SHUFFLE, LOCAL_OR_SHUFFLE, FIELDS, ALL, GLOBAL, NONE, DIRECT)"),
            ))
        }
    };
    Ok(StreamDef { line: node.line, from, to, stream, grouping })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("flux-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["s.wasm", "b.wasm"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        dir
    }

    fn parse_str(source: &str) -> Result<TopologyDef, String> {
        parse(source, &|_| None, &dir(), "t")
    }

    const GOOD: &str = r#"
name: "wc"
config:
  topology.max.spout.pending: 100
spouts:
  - id: "s"
    className: "org.stormwasm.storm.WasmSpout"
    constructorArgs: ["s.wasm", ["sentence"]]
bolts:
  - id: "b"
    className: "org.stormwasm.storm.WasmBolt"
    constructorArgs: ["b.wasm"]
    parallelism: 2
    numTasks: 4
    configMethods:
      - name: "withStream"
        args: ["direct", true, ["value"]]
      - name: "withConf"
        args: ["k", 3]
streams:
  - name: "s --> b"
    from: "s"
    to: "b"
    grouping:
      type: FIELDS
      args: ["sentence"]
"#;

    #[test]
    fn reads_the_java_side_format() {
        let def = parse_str(GOOD).unwrap();
        assert_eq!(def.name, "wc");
        assert_eq!(def.config, vec![("topology.max.spout.pending".into(), Value::from(100))]);
        assert_eq!(def.components[0].streams, vec![("default".into(), false, vec!["sentence".to_string()])]);
        let b = &def.components[1];
        assert_eq!((b.parallelism, b.tasks), (2, 4));
        assert_eq!(b.streams, vec![("direct".into(), true, vec!["value".to_string()])]);
        assert_eq!(b.conf, vec![("k".into(), Value::from(3), 19)]);
        assert_eq!(def.streams[0].grouping, GroupingDef::Fields(vec!["sentence".into()]));
        assert_eq!(def.streams[0].line, 21);
    }

    #[test]
    fn unsupported_features_name_their_line() {
        let cases = [
            ("type: FIELDS", "type: CUSTOM", "line 25: CUSTOM groupings"),
            ("    parallelism: 2\n", "    parallelism: 2\n    properties: []\n", "line 14: `properties`"),
            ("config:", "includes: []\nconfig:", "line 3: `includes`"),
            ("org.stormwasm.storm.WasmBolt", "org.apache.storm.testing.TestWordCounter", "line 11: className"),
            ("\"withConf\"", "\"withFoo\"", "line 18: unknown method withFoo"),
            ("\"b.wasm\"", "\"missing.wasm\"", "line 12: the plugin missing.wasm does not exist"),
        ];
        for (from, to, expected) in cases {
            let err = parse_str(&GOOD.replacen(from, to, 1)).unwrap_err();
            assert!(err.starts_with(expected), "{to}: {err}");
        }
    }
}
