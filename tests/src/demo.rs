//! The demo: sentence spout → split → count, three real storm-wasm
//! processes wired together by this program playing Storm (including its
//! acker: a spout message is acked once every tuple of its tree is).

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Result};
use serde_json::json;
use storm_multilang::storm_side::{ShellMsg, ToChild};
use storm_multilang::Serializer;

use crate::shell::{conf, Shell};

/// Runs `sentences` sentences through the three plugins and prints what
/// each emits; returns the final counts.
pub fn run(serializer: Serializer, sentences: usize, out: &mut dyn Write) -> Result<BTreeMap<String, u64>> {
    let topology = |task: i32, component: &str, fields: &[&str]| {
        json!({
            "task->component": {"1": "sentences", "2": "split", "3": "count"},
            "taskid": task, "componentid": component, "streams": ["default"],
            "stream->outputfields": {"default": fields},
        })
    };
    let mut spout_conf = conf();
    spout_conf["sentence.spout.limit"] = json!(sentences);
    let mut spout = Shell::storm_wasm("spout", &crate::plugin("sentence_spout"), serializer, &[]);
    spout.handshake(spout_conf, topology(1, "sentences", &["sentence"]));
    let mut split = Shell::storm_wasm("bolt", &crate::plugin("split_sentence"), serializer, &[]);
    split.handshake(conf(), topology(2, "split", &["word"]));
    let mut count = Shell::storm_wasm("bolt", &crate::plugin("word_count"), serializer, &[]);
    count.handshake(conf(), topology(3, "count", &["word", "count"]));
    writeln!(
        out,
        "storm-wasm demo: sentence_spout → split_sentence → word_count ({serializer:?}), {sentences} sentences"
    )?;

    spout_cycle(&mut spout, "activate", None, out)?;
    let mut counts = BTreeMap::new();
    let mut next_tuple = 0u64;
    let mut acked = 0;
    while acked < sentences {
        for (message_id, sentence) in spout_cycle(&mut spout, "next", None, out)? {
            let verbose = acked < 2;
            if verbose {
                writeln!(out, "  spout    emit id={message_id} {sentence}")?;
            }
            next_tuple += 1;
            let words = through_bolt(&mut split, &format!("s{next_tuple}"), &sentence)?;
            for word in words {
                next_tuple += 1;
                if verbose {
                    writeln!(out, "  split    emit {word}")?;
                }
                for emitted in through_bolt(&mut count, &format!("w{next_tuple}"), &word)? {
                    if verbose {
                        writeln!(out, "  count    emit {emitted}")?;
                    }
                    let (w, c): (String, u64) = serde_json::from_value(emitted)?;
                    counts.insert(w, c);
                }
            }
            // Every tuple of the tree was acked: Storm's acker acks the spout message.
            spout_cycle(&mut spout, "ack", Some(&message_id), out)?;
            acked += 1;
        }
    }
    writeln!(out, "word counts after {sentences} sentences:")?;
    for (word, n) in &counts {
        writeln!(out, "  {word:<10} {n}")?;
    }
    for shell in [&mut spout, &mut split, &mut count] {
        if !shell.wait().success() {
            bail!("a plugin process exited with an error: {}", shell.stderr());
        }
    }
    Ok(counts)
}

/// One spout command; returns what it emitted as (message id, first value).
fn spout_cycle(
    spout: &mut Shell,
    command: &str,
    id: Option<&str>,
    out: &mut dyn Write,
) -> Result<Vec<(String, serde_json::Value)>> {
    spout.send(&ToChild::Spout { command, id });
    let mut emitted = Vec::new();
    loop {
        match spout.recv() {
            ShellMsg::Sync => return Ok(emitted),
            ShellMsg::Emit(e) => {
                let values = crate::json_of(&e.values);
                emitted.push((e.id.unwrap_or_default(), values[0].clone()));
            }
            ShellMsg::Log { msg, .. } if !msg.starts_with("storm-wasm:") => writeln!(out, "  spout    log: {msg}")?,
            ShellMsg::Log { .. } => {}
            other => bail!("the spout sent {other:?}"),
        }
    }
}

/// One tuple through a bolt; returns the first value of each emit (or the
/// whole values when there are several) once the tuple is acked.
fn through_bolt(bolt: &mut Shell, id: &str, value: &serde_json::Value) -> Result<Vec<serde_json::Value>> {
    bolt.send_tuple(id, &json!([value]));
    let mut emitted = Vec::new();
    loop {
        match bolt.recv() {
            ShellMsg::Ack(a) if a == id => return Ok(emitted),
            ShellMsg::Fail(f) if f == id => bail!("tuple {id} failed"),
            ShellMsg::Emit(e) => {
                let values = crate::json_of(&e.values);
                emitted.push(if values.as_array().is_some_and(|a| a.len() == 1) { values[0].clone() } else { values });
            }
            ShellMsg::Log { .. } | ShellMsg::Sync => {}
            other => bail!("unexpected {other:?}"),
        }
    }
}
