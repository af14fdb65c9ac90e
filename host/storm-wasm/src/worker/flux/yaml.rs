//! A YAML document as a tree whose every node knows its line, so that each
//! error about the topology file can name the line it is about.
//!
//! Scalars keep their text and whether they were plain (unquoted): a plain
//! `30` is a number and a quoted `"30"` a string, as SnakeYAML (which Flux
//! uses) reads them. `${ENV-NAME}` is replaced by the environment variable in
//! every scalar, as Flux does with `--env-filter`.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One node of the document.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// 1-based line where the node starts.
    pub line: usize,
    /// What it holds.
    pub kind: Kind,
}

/// The three kinds of YAML nodes.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A scalar: its text, and whether it was written without quotes.
    Scalar { text: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

/// A scalar as SnakeYAML would type it.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// `~`, `null` or nothing.
    Null,
    /// `true`, `false` (and YAML 1.1's `yes`, `no`, `on`, `off`).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Anything else, or anything quoted.
    Str(&'a str),
}

impl Node {
    /// The scalar's text, when this is a scalar.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The scalar, typed the way SnakeYAML types it.
    pub fn scalar(&self) -> Option<Scalar<'_>> {
        let Kind::Scalar { text, plain } = &self.kind else { return None };
        if !plain {
            return Some(Scalar::Str(text));
        }
        Some(match text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Scalar::Bool(true),
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Scalar::Bool(false),
            ".inf" | "+.inf" | ".Inf" | "+.Inf" | ".INF" | "+.INF" => Scalar::Float(f64::INFINITY),
            "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
            t => {
                parse_int(t).map(Scalar::Int).or_else(|| parse_float(t).map(Scalar::Float)).unwrap_or(Scalar::Str(text))
            }
        })
    }

    /// A short description for error messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Scalar { text, .. } => format!("`{text}`"),
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
        }
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = digits.replace('_', "");
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) && !digits.is_empty() {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -value } else { value })
}

fn parse_float(t: &str) -> Option<f64> {
    // Rust accepts "inf" and "nan", YAML does not: require a digit.
    if !t.bytes().any(|b| b.is_ascii_digit()) || t.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// Parses the first document of `source` (`${ENV-NAME}` substituted through
/// `env`). Errors are `line N: message`.
pub fn parse(source: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Node, String> {
    let mut builder = Builder { env, stack: Vec::new(), anchors: HashMap::new(), root: None, error: None };
    let mut parser = Parser::new_from_str(source);
    parser.load(&mut builder, false).map_err(|e| format!("line {}: {}", e.marker().line(), e.info()))?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    builder.root.ok_or_else(|| "line 1: the file is empty".to_string())
}

/// Builds the tree from the parser's events.
struct Builder<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Open sequences and mappings, with their anchor ids; a mapping's key
    /// waits in its last entry until its value arrives.
    stack: Vec<(Node, usize, Option<Node>)>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<String>,
}

impl Builder<'_> {
    fn fail(&mut self, line: usize, message: String) {
        if self.error.is_none() {
            self.error = Some(format!("line {line}: {message}"));
        }
    }

    /// A finished node goes into its parent (or becomes the root).
    fn add(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some((parent, _, pending_key)) = self.stack.last_mut() else {
            self.root.get_or_insert(node);
            return;
        };
        match &mut parent.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map(entries) => match pending_key.take() {
                Some(key) => entries.push((key, node)),
                None => *pending_key = Some(node),
            },
            Kind::Scalar { .. } => unreachable!("scalars are never open"),
        }
    }

    fn substitute(&mut self, text: String, line: usize) -> String {
        if !text.contains("${ENV-") {
            return text;
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${ENV-") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 6..];
            let Some(end) = after.find('}') else {
                self.fail(line, format!("unterminated `${{ENV-` in `{text}`"));
                return text;
            };
            let name = &after[..end];
            match (self.env)(name) {
                Some(value) => out.push_str(&value),
                None => {
                    self.fail(line, format!("the environment variable {name} is not set (used as ${{ENV-{name}}})"));
                    return text;
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(tag) = tag {
                    return self.fail(line, format!("YAML tags ({}{}) are not supported", tag.handle, tag.suffix));
                }
                let text = self.substitute(text, line);
                let plain = matches!(style, TScalarStyle::Plain);
                self.add(Node { line, kind: Kind::Scalar { text, plain } }, anchor);
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) if tag.is_some() => {
                let tag = tag.expect("checked");
                let _ = anchor;
                self.fail(line, format!("YAML tags ({}{}) are not supported", tag.handle, tag.suffix));
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((Node { line, kind: Kind::Seq(Vec::new()) }, anchor, None))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push((Node { line, kind: Kind::Map(Vec::new()) }, anchor, None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, anchor, _)) = self.stack.pop() {
                    self.add(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.add(node, 0),
                None => self.fail(line, "an alias to an unknown anchor".into()),
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "PLUGINS").then(|| "/opt/p".to_string())
    }

    #[test]
    fn lines_types_and_substitution() {
        let doc = "name: t\nconfig:\n  a: 30\n  b: \"30\"\n  c: yes\n  d: 1.5\n  e: ~\nlist:\n  - \"${ENV-PLUGINS}/x.wasm\"\n";
        let root = parse(doc, &env).unwrap();
        let Kind::Map(entries) = &root.kind else { panic!() };
        assert_eq!(entries[1].0.line, 2);
        let Kind::Map(conf) = &entries[1].1.kind else { panic!() };
        assert_eq!(conf[0].1.scalar(), Some(Scalar::Int(30)));
        assert_eq!(conf[0].1.line, 3);
        assert_eq!(conf[1].1.scalar(), Some(Scalar::Str("30")));
        assert_eq!(conf[2].1.scalar(), Some(Scalar::Bool(true)));
        assert_eq!(conf[3].1.scalar(), Some(Scalar::Float(1.5)));
        assert_eq!(conf[4].1.scalar(), Some(Scalar::Null));
        let Kind::Seq(items) = &entries[2].1.kind else { panic!() };
        assert_eq!(items[0].text(), Some("/opt/p/x.wasm"));
        assert_eq!(items[0].line, 9);
    }

    #[test]
    fn unset_variables_and_bad_yaml_name_the_line() {
        let err = parse("a: 1\nb: ${ENV-NOPE}/x\n", &env).unwrap_err();
        assert_eq!(err, "line 2: the environment variable NOPE is not set (used as ${ENV-NOPE})");
        let err = parse("a: [1, 2\nb: 3\n", &env).unwrap_err();
        assert!(err.starts_with("line "), "{err}");
    }

    #[test]
    fn aliases_are_copies() {
        let root = parse("a: &x [1, 2]\nb: *x\n", &env).unwrap();
        let Kind::Map(entries) = &root.kind else { panic!() };
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
    }
}
