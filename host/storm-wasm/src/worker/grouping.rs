//! Groupings: which tasks get an emitted tuple. Each task has its own
//! [`Router`] (shuffle state is per emitting task, as in Storm), and the
//! tasks are chosen when the plugin emits, so `emit-with-task-ids` answers
//! at once.

use std::hash::Hasher;
use std::sync::Arc;

use rustc_hash::FxHasher;
use storm_multilang::msgpack;

use super::topology::{Component, Grouping, Topology};
use super::tuple::{mix, Rng};

#[derive(Clone)]
struct Target {
    tasks: Arc<[i32]>,
    grouping: Grouping,
    /// Shuffle: the current permutation and the position in it.
    order: Vec<i32>,
    next: usize,
}

#[derive(Clone)]
struct StreamRoutes {
    id: Arc<str>,
    index: u32,
    fields: Vec<String>,
    direct: bool,
    targets: Vec<Target>,
}

/// The routing state of one emitting task.
#[derive(Clone)]
pub struct Router {
    component: Arc<str>,
    streams: Vec<StreamRoutes>,
    task_slots: usize,
}

/// The elements of a MessagePack array: (count, offset of the first).
fn array_header(values: &[u8]) -> Option<(usize, usize)> {
    match *values.first()? {
        m @ 0x90..=0x9f => Some(((m & 0x0f) as usize, 1)),
        0xdc => Some((u16::from_be_bytes(values.get(1..3)?.try_into().ok()?) as usize, 3)),
        0xdd => Some((u32::from_be_bytes(values.get(1..5)?.try_into().ok()?) as usize, 5)),
        _ => None,
    }
}

/// The values of an emit must be exactly one MessagePack array (the next
/// component would otherwise get garbage, far from the cause); returns its
/// length.
pub fn check_values(values: &[u8]) -> Result<usize, String> {
    match msgpack::value_len(values) {
        Ok(len) if len == values.len() => {
            array_header(values).map(|(n, _)| n).ok_or_else(|| "the values are not a MessagePack array".into())
        }
        Ok(_) => Err("the values hold bytes after one MessagePack array".into()),
        Err(_) => Err("the values are not valid MessagePack".into()),
    }
}

/// A hash of the fields at `positions` (their MessagePack bytes).
fn fields_hash(values: &[u8], positions: &[usize]) -> u64 {
    let mut spans = Vec::with_capacity(8);
    if let Some((count, mut offset)) = array_header(values) {
        for _ in 0..count {
            let len = msgpack::value_len(&values[offset..]).unwrap_or(values.len() - offset);
            spans.push(offset..offset + len);
            offset += len;
        }
    }
    let mut h = FxHasher::default();
    for &p in positions {
        match spans.get(p) {
            Some(span) => h.write(&values[span.clone()]),
            None => h.write_u8(0),
        }
    }
    mix(h.finish())
}

impl Router {
    /// The routes of `component`'s streams.
    pub fn new(topology: &Topology, component: &Component) -> Self {
        Router {
            component: component.id.clone(),
            task_slots: topology.task_slots(),
            streams: component
                .streams
                .iter()
                .enumerate()
                .map(|(index, s)| StreamRoutes {
                    id: s.id.clone(),
                    index: index as u32,
                    fields: s.fields.clone(),
                    direct: s.direct,
                    targets: s
                        .routes
                        .iter()
                        .map(|r| Target {
                            tasks: r.tasks.clone(),
                            grouping: r.grouping.clone(),
                            order: Vec::new(),
                            next: 0,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn stream(&mut self, stream: &str, values: &[u8]) -> Result<&mut StreamRoutes, String> {
        let component = &self.component;
        let Some(routes) = self.streams.iter_mut().find(|s| &*s.id == stream) else {
            return Err(format!(
                "{component} does not declare the stream {stream} (declare it with constructorArgs fields or withStream)"
            ));
        };
        let arity = check_values(values)?;
        if arity != routes.fields.len() {
            return Err(format!(
                "the stream {stream} has {} fields ({}) but the values have {arity}",
                routes.fields.len(),
                routes.fields.join(", ")
            ));
        }
        Ok(routes)
    }

    /// The tasks that get a tuple emitted on `stream`, appended to `out`.
    /// Returns the stream's index. Errors say what the plugin did wrong.
    pub fn route(&mut self, stream: &str, values: &[u8], rng: &mut Rng, out: &mut Vec<i32>) -> Result<u32, String> {
        let routes = self.stream(stream, values)?;
        if routes.direct {
            return Err(format!("the stream {stream} is declared direct: emit on it with emit-direct"));
        }
        for target in &mut routes.targets {
            match &target.grouping {
                Grouping::Shuffle => {
                    if target.next == target.order.len() {
                        // A new random permutation per round: even, yet not periodic.
                        target.order.clear();
                        target.order.extend_from_slice(&target.tasks);
                        for i in (1..target.order.len()).rev() {
                            target.order.swap(i, rng.below(i + 1));
                        }
                        target.next = 0;
                    }
                    out.push(target.order[target.next]);
                    target.next += 1;
                }
                Grouping::Fields(positions) => {
                    let hash = fields_hash(values, positions);
                    out.push(target.tasks[(hash % target.tasks.len() as u64) as usize]);
                }
                Grouping::All => out.extend_from_slice(&target.tasks),
                Grouping::Global => out.push(target.tasks[0]),
                Grouping::Direct => unreachable!("direct groupings subscribe only to direct streams"),
            }
        }
        Ok(routes.index)
    }

    /// `emit-direct`: `task` gets the tuple if its component subscribes to
    /// `stream` with a direct grouping (otherwise nobody does, as in Storm).
    pub fn route_direct(&mut self, stream: &str, task: i32, values: &[u8], out: &mut Vec<i32>) -> Result<u32, String> {
        let slots = self.task_slots;
        let routes = self.stream(stream, values)?;
        if !routes.direct {
            return Err(format!(
                "the stream {stream} is not declared direct (withStream(id, true, fields)): emit on it with emit"
            ));
        }
        if task < 1 || task as usize >= slots {
            return Err(format!("there is no task {task} in this topology (tasks are 1 to {})", slots - 1));
        }
        if routes.targets.iter().any(|t| t.tasks.contains(&task)) {
            out.push(task);
        }
        Ok(routes.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(grouping: Grouping, tasks: &[i32], fields: &[&str], direct: bool) -> Router {
        Router {
            component: "c".into(),
            task_slots: 10,
            streams: vec![StreamRoutes {
                id: "default".into(),
                index: 0,
                fields: fields.iter().map(|f| f.to_string()).collect(),
                direct,
                targets: vec![Target { tasks: tasks.into(), grouping, order: Vec::new(), next: 0 }],
            }],
        }
    }

    fn values(v: &serde_json::Value) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &rmpv::ext::to_value(v).unwrap()).unwrap();
        out
    }

    #[test]
    fn fields_grouping_is_stable_and_spreads() {
        let mut r = router(Grouping::Fields(vec![0]), &[3, 4, 5, 6], &["word", "n"], false);
        let mut rng = Rng::new(1);
        let mut seen = std::collections::HashMap::new();
        for i in 0..1000 {
            let word = format!("w{}", i % 50);
            let mut out = Vec::new();
            r.route("default", &values(&serde_json::json!([word, i])), &mut rng, &mut out).unwrap();
            assert_eq!(out.len(), 1);
            assert_eq!(*seen.entry(word).or_insert(out[0]), out[0], "a word changed task");
        }
        let used: std::collections::HashSet<_> = seen.values().collect();
        assert_eq!(used.len(), 4, "50 words should reach all 4 tasks");
    }

    #[test]
    fn shuffle_is_even_all_and_global() {
        let mut r = router(Grouping::Shuffle, &[1, 2, 3], &["x"], false);
        let mut rng = Rng::new(2);
        let mut out = Vec::new();
        for _ in 0..300 {
            r.route("default", &values(&serde_json::json!([1])), &mut rng, &mut out).unwrap();
        }
        for t in [1, 2, 3] {
            assert_eq!(out.iter().filter(|x| **x == t).count(), 100);
        }
        let mut out = Vec::new();
        router(Grouping::All, &[1, 2, 3], &["x"], false).route("default", &[0x91, 1], &mut rng, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3]);
        let mut out = Vec::new();
        router(Grouping::Global, &[4, 5], &["x"], false).route("default", &[0x91, 1], &mut rng, &mut out).unwrap();
        assert_eq!(out, [4]);
    }

    #[test]
    fn plugin_mistakes_are_errors() {
        let mut rng = Rng::new(3);
        let mut out = Vec::new();
        let mut r = router(Grouping::Shuffle, &[1], &["x"], false);
        assert!(r.route("other", &[0x91, 1], &mut rng, &mut out).unwrap_err().contains("does not declare"));
        assert!(r.route("default", &[0x92, 1, 2], &mut rng, &mut out).unwrap_err().contains("has 1 fields"));
        assert!(r.route("default", &[0x01], &mut rng, &mut out).unwrap_err().contains("not a MessagePack array"));
        assert!(r.route_direct("default", 1, &[0x91, 1], &mut out).unwrap_err().contains("not declared direct"));
        let mut d = router(Grouping::Direct, &[2, 3], &["x"], true);
        assert!(d.route("default", &[0x91, 1], &mut rng, &mut out).unwrap_err().contains("emit-direct"));
        d.route_direct("default", 3, &[0x91, 1], &mut out).unwrap();
        assert_eq!(out, [3]);
        d.route_direct("default", 1, &[0x91, 1], &mut out).unwrap();
        assert_eq!(out, [3], "a task that does not subscribe directly gets nothing");
        assert!(d.route_direct("default", 42, &[0x91, 1], &mut out).is_err());
    }
}
