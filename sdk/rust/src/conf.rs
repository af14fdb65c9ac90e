use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::__private::types;
use crate::{Error, Result, Value};

/// The topology configuration, as Storm passed it to this task.
pub struct Conf {
    entries: Vec<(Value, Value)>,
}

impl Conf {
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        match rmp_serde::from_slice::<Value>(bytes) {
            Ok(Value::Map(entries)) => Ok(Conf { entries }),
            Ok(other) => Err(Error::msg(format!("the topology conf is not a map: {other}"))),
            Err(e) => Err(Error::msg(format!("cannot decode the topology conf: {e}"))),
        }
    }

    /// The raw value of `key`, if set.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// The value of `key` decoded as `T`; `Ok(None)` when unset or null, an
    /// error naming the key when it has the wrong type.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.value(key) {
            None | Some(Value::Nil) => Ok(None),
            Some(v) => rmpv::ext::from_value(v.clone())
                .map(Some)
                .map_err(|e| Error::msg(format!("conf key `{key}` = {v}: {e}"))),
        }
    }

    /// The value of `key`, or `default` when unset.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// Every key and value.
    pub fn entries(&self) -> &[(Value, Value)] {
        &self.entries
    }
}

/// Where this task sits in the topology (Storm's `TopologyContext`).
pub struct Context {
    task_id: i32,
    component_id: String,
    raw: Value,
}

impl Context {
    pub(crate) fn new(context: types::Context) -> Self {
        let raw = rmp_serde::from_slice(&context.raw).unwrap_or(Value::Nil);
        Context { task_id: context.task_id, component_id: context.component_id, raw }
    }

    /// This task's id.
    pub fn task_id(&self) -> i32 {
        self.task_id
    }

    /// This component's id.
    pub fn component_id(&self) -> &str {
        &self.component_id
    }

    /// Every task of the topology and the component it runs.
    pub fn task_to_component(&self) -> BTreeMap<i32, String> {
        let mut out = BTreeMap::new();
        if let Some(Value::Map(entries)) = self.get("task->component") {
            for (k, v) in entries {
                // Storm's JSON writes the task ids as strings, MessagePack as ints.
                let task = k.as_i64().or_else(|| k.as_str().and_then(|s| s.parse().ok()));
                if let (Some(task), Some(component)) = (task, v.as_str()) {
                    out.insert(task as i32, component.to_string());
                }
            }
        }
        out
    }

    /// The tasks running `component`, in ascending order (the targets of
    /// `emit_direct`).
    pub fn component_tasks(&self, component: &str) -> Vec<i32> {
        self.task_to_component().into_iter().filter(|(_, c)| c == component).map(|(t, _)| t).collect()
    }

    /// The output fields this component declared for `stream`.
    pub fn output_fields(&self, stream: &str) -> Option<Vec<String>> {
        let Some(Value::Map(streams)) = self.get("stream->outputfields") else { return None };
        let (_, fields) = streams.iter().find(|(k, _)| k.as_str() == Some(stream))?;
        fields.as_array().map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
    }

    /// Any key of the context as Storm sent it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.raw {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }
}
