//! A bolt scripted by its input, for the end-to-end and Storm tests. The first
//! value is a command string; every emit is one field ("value"):
//!
//! - `fail…`                the tuple is failed, nothing emitted
//! - `direct:<task>`        emit-direct `[cmd]` to `<task>` on stream "direct", ack
//! - `metric:<name>:<int>`  metrics command, emit `[cmd]`, ack
//! - `log:<text>`           log `<text>` at INFO, emit `[cmd]`, ack
//! - `taskids`              emit `[cmd]` asking for task ids, then emit `["taskids:<ids>"]`
//! - `keep`                 keep the tuple in flight; `ackall` later acks every kept tuple
//! - `error`                return an error (auto-fail)
//! - `panic`                panic (the instance traps)
//! - `unicode`              emit nested and non-ASCII values
//! - `sleep:<ms>`           sleep that long, emit `[cmd]`, ack
//! - anything else          emit `[cmd]` on "default", anchored, ack
//!
//! Conf keys script it whatever the input (counts are per task; tick tuples
//! go to `tick` and do not count):
//! - `test.bolt.sleep.ms`     sleep this long before each tuple (a slow bolt)
//! - `test.bolt.fail.every`   fail every N-th tuple (the N-th, the 2N-th...)
//! - `test.bolt.drop.every`   keep every N-th tuple and never ack it (its tree times out)
use std::time::Duration;

use storm_sdk::{info, metric, Bolt, BoltOutput, Conf, Context, Result, Tuple, Value};

struct TestBolt {
    kept: Vec<String>,
    sleep: Duration,
    fail_every: u64,
    drop_every: u64,
    seen: u64,
}

impl Bolt for TestBolt {
    fn prepare(conf: &Conf, _context: &Context) -> Result<Self> {
        Ok(TestBolt {
            kept: Vec::new(),
            sleep: Duration::from_millis(conf.get_or("test.bolt.sleep.ms", 0)?),
            fail_every: conf.get_or("test.bolt.fail.every", 0)?,
            drop_every: conf.get_or("test.bolt.drop.every", 0)?,
            seen: 0,
        })
    }

    fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
        self.seen += 1;
        if !self.sleep.is_zero() {
            std::thread::sleep(self.sleep);
        }
        if self.fail_every > 0 && self.seen % self.fail_every == 0 {
            return out.fail(tuple.id());
        }
        if self.drop_every > 0 && self.seen % self.drop_every == 0 {
            out.keep();
            return Ok(());
        }
        let values: Vec<Value> = tuple.values()?;
        let cmd = values.first().and_then(Value::as_str).unwrap_or("").to_string();
        if let Some(ms) = cmd.strip_prefix("sleep:") {
            std::thread::sleep(Duration::from_millis(ms.parse()?));
        }
        if cmd.starts_with("fail") {
            return out.fail(tuple.id());
        }
        if let Some(task) = cmd.strip_prefix("direct:") {
            return out.emit_direct(task.parse()?, "direct", &(&cmd,));
        }
        if let Some(rest) = cmd.strip_prefix("metric:") {
            let (name, n) = rest.rsplit_once(':').unwrap_or((rest, "1"));
            metric(name, n.parse::<i64>()?)?;
        } else if let Some(text) = cmd.strip_prefix("log:") {
            info!("{text}");
        } else if cmd == "taskids" {
            let tasks = out.emit_with_task_ids("default", &(&cmd,))?;
            let list: Vec<String> = tasks.iter().map(i32::to_string).collect();
            return out.emit(&(format!("taskids:{}", list.join(",")),));
        } else if cmd == "keep" {
            self.kept.push(tuple.id().to_string());
            out.keep();
            return Ok(());
        } else if cmd == "ackall" {
            for id in self.kept.drain(..) {
                out.ack(&id)?;
            }
        } else if cmd == "error" {
            storm_sdk::bail!("asked to fail with an error");
        } else if cmd == "panic" {
            panic!("asked to panic");
        } else if cmd == "unicode" {
            let nested =
                (("grüße", "日本語", "🎉"), vec![1i64, -2, 3], Value::Map(vec![("k".into(), Value::F64(2.5))]));
            return out.emit(&(nested,));
        }
        out.emit(&(&cmd,))
    }
}

storm_sdk::export_bolt!(TestBolt);
