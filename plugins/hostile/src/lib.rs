//! A plugin that misbehaves on request, for the sandbox tests. The first
//! value of each tuple picks the misdeed; conf keys pick those of `prepare`:
//!
//! - `loop`            spin forever
//! - `memory`          allocate until memory runs out
//! - `recursion`       recurse until the stack overflows
//! - `giant-emit`      emit one 80 MiB tuple
//! - `emit-flood`      emit a million tuples in one call
//! - `log-flood`       log 100,000 lines in one call
//! - `read:<path>`     read a file, emit `["read:<bytes>"]` or `["denied:<error>"]`
//! - `connect:<addr>`  open a TCP socket, emit `["connected"]` or `["denied:<error>"]`
//! - `env:<name>`      emit `["env:<count of variables>:<value or none>"]`
//! - `stdout`          print to stdout and stderr, emit `["printed"]`
//! - `panic`           panic
//! - `poison`          panic (on this input only); anything else is echoed
//! - `stale`           anchor to and ack a tuple id that is not in flight,
//!                     emit `["refused:<emit refused>:<ack refused>"]`
//!
//! Conf `hostile.trap.in.prepare: true` panics in `prepare`;
//! `hostile.trap.always: true` panics on every tuple.
use std::hint::black_box;

use storm_sdk::{info, Bolt, BoltOutput, Conf, Context, Result, Tuple, Value};

struct Hostile {
    trap_always: bool,
    hoard: Vec<Vec<u8>>,
}

impl Bolt for Hostile {
    fn prepare(conf: &Conf, _context: &Context) -> Result<Self> {
        if conf.get_or("hostile.trap.in.prepare", false)? {
            panic!("hostile: asked to trap in prepare");
        }
        Ok(Hostile { trap_always: conf.get_or("hostile.trap.always", false)?, hoard: Vec::new() })
    }

    fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
        if self.trap_always {
            panic!("hostile: asked to trap on every call");
        }
        let values: Vec<Value> = tuple.values()?;
        let cmd = values.first().and_then(Value::as_str).unwrap_or("").to_string();
        match cmd.as_str() {
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = black_box(x.wrapping_add(1));
                }
            }
            "memory" => loop {
                self.hoard.push(vec![1u8; 1 << 20]);
            },
            "recursion" => {
                black_box(recurse(black_box(u64::MAX)));
            }
            "giant-emit" => return out.emit(&("x".repeat(80 << 20),)),
            "emit-flood" => {
                for i in 0..1_000_000u32 {
                    out.emit(&(i,))?;
                }
            }
            "log-flood" => {
                for i in 0..100_000u32 {
                    info!("flood line {i}");
                }
            }
            "stdout" => {
                println!("hello from stdout");
                eprintln!("hello from stderr");
                return out.emit(&("printed",));
            }
            "panic" | "poison" => panic!("hostile: asked to panic on {cmd}"),
            "stale" => {
                let emit = out.emit_anchored("default", &["not-in-flight"], &("x",));
                let ack = out.ack("not-in-flight");
                return out.emit(&(format!("refused:{}:{}", emit.is_err(), ack.is_err()),));
            }
            _ => {}
        }
        if let Some(path) = cmd.strip_prefix("read:") {
            let result = std::fs::read(path).map(|b| format!("read:{}", b.len()));
            return out.emit(&(result.unwrap_or_else(|e| format!("denied:{e}")),));
        }
        if let Some(addr) = cmd.strip_prefix("connect:") {
            let result = std::net::TcpStream::connect(addr).map(|_| "connected".to_string());
            return out.emit(&(result.unwrap_or_else(|e| format!("denied:{e}")),));
        }
        if let Some(name) = cmd.strip_prefix("env:") {
            let value = std::env::var(name).unwrap_or_else(|_| "none".into());
            return out.emit(&(format!("env:{}:{value}", std::env::vars().count()),));
        }
        out.emit(&(cmd,))
    }
}

/// Not a tail call: every frame stays on the stack.
fn recurse(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    black_box(recurse(black_box(n - 1))).wrapping_add(n)
}

storm_sdk::export_bolt!(Hostile);
