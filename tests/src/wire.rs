//! The load driver's hot path on the wire: tuples written from a
//! pre-encoded template (only the id changes), and the child's replies read
//! in one pass that both frames and decodes them, borrowed from the read
//! buffer, tuple values skipped, nothing allocated. Anything this lean
//! reader does not recognise goes to `storm_side::decode`, the full
//! decoder, so no protocol check is lost: the fast path only covers the
//! messages a healthy child sends.

use std::fmt;

use storm_multilang::storm_side::{self, ShellMsg, ToChild};
use storm_multilang::Serializer;

/// Tuple ids are `-` and 19 digits, the shape of Storm's random longs.
pub const ID_LEN: usize = 20;
/// The smallest id number with 19 digits.
pub const ID_BASE: u64 = 1_000_000_000_000_000_000;

/// Writes id number `n` (≥ [`ID_BASE`]) as its `ID_LEN` bytes.
pub fn write_id(out: &mut Vec<u8>, n: u64) {
    let mut digits = [b'0'; ID_LEN];
    digits[0] = b'-';
    let mut v = n;
    for d in digits[1..].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&digits);
}

/// The id number of an id the driver wrote, or `None` for any other text.
pub fn parse_id(id: &[u8]) -> Option<u64> {
    if id.len() != ID_LEN || id[0] != b'-' {
        return None;
    }
    id[1..].iter().try_fold(0u64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + (d - b'0') as u64))
}

/// One tuple, encoded once: the bytes before and after its id.
pub struct TupleTemplate {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl TupleTemplate {
    /// A tuple with `values` (a MessagePack array) from `spout`/`default`/task 7.
    pub fn new(serializer: Serializer, values: &[u8]) -> TupleTemplate {
        // A placeholder of the id's length that neither serializer escapes.
        let marker = "~".repeat(ID_LEN);
        let mut bytes = Vec::new();
        let tuple = ToChild::Tuple { id: &marker, comp: Some("spout"), stream: "default", task: 7, values };
        storm_side::encode(serializer, &tuple, &mut bytes).expect("the tuple values encode");
        let at = bytes.windows(ID_LEN).rposition(|w| w == marker.as_bytes()).expect("the id is in the message");
        TupleTemplate { prefix: bytes[..at].to_vec(), suffix: bytes[at + ID_LEN..].to_vec() }
    }

    /// Appends the framed tuple with id number `id`.
    pub fn write(&self, id: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        write_id(out, id);
        out.extend_from_slice(&self.suffix);
    }
}

/// A tuple id as the child sent it (bytes: only error messages need text).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Id<'a>(pub &'a [u8]);

impl fmt::Display for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.0))
    }
}

impl fmt::Debug for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.0))
    }
}

/// At most this many anchors are read on the fast path (the bolts measured
/// anchor to their one input); more go through the full decoder.
const MAX_ANCHORS: usize = 4;

/// The ids an emit is anchored to.
#[derive(Clone, Copy, Debug, Default)]
pub struct Anchors<'a> {
    ids: [Id<'a>; MAX_ANCHORS],
    len: usize,
}

impl<'a> Anchors<'a> {
    /// Adds an anchor; `None` when there is no room for it.
    pub fn push(&mut self, id: &'a [u8]) -> Option<()> {
        *self.ids.get_mut(self.len)? = Id(id);
        self.len += 1;
        Some(())
    }

    /// The anchors, in order.
    pub fn iter(&self) -> impl Iterator<Item = Id<'a>> + '_ {
        self.ids[..self.len].iter().copied()
    }
}

/// What the driver needs of one message from the child.
#[derive(Debug)]
pub enum Msg<'a> {
    /// The handshake reply.
    Pid(i64),
    /// `ack`.
    Ack(Id<'a>),
    /// `fail`.
    Fail(Id<'a>),
    /// `emit`, with the fields Storm would object to.
    Emit {
        /// Its anchors.
        anchors: Anchors<'a>,
        /// Whether it names a `task` (a direct emit).
        direct: bool,
        /// Whether it asks for task ids (Storm's default is yes).
        wants_task_ids: bool,
        /// The tuple's values, undecoded: as on the wire on the fast path
        /// (JSON text or MessagePack), MessagePack after the full decoder.
        values: &'a [u8],
    },
    /// `sync`.
    Sync,
    /// `log`.
    Log,
    /// Anything else, decoded in full.
    Other(ShellMsg),
}

/// The first message in a buffer.
pub enum Next<'a> {
    /// Read on the fast path; the frame was this many bytes.
    Lean(Msg<'a>, usize),
    /// Read by the full decoder (or not a message: the error).
    Full(Result<ShellMsg, String>, usize),
    /// Not all there yet.
    Incomplete,
    /// Not a frame at all: nothing after it can be framed again.
    Broken(String),
}

/// Frames and decodes the first message in `buf`.
pub fn next(serializer: Serializer, buf: &[u8]) -> Next<'_> {
    let lean = match serializer {
        Serializer::MessagePack => lean_msgpack(buf),
        Serializer::Json => lean_json(buf),
    };
    if let Some((msg, len)) = lean {
        return Next::Lean(msg, len);
    }
    match frame(serializer, buf) {
        Ok(None) => Next::Incomplete,
        Ok(Some((body, len))) => {
            Next::Full(storm_side::decode(serializer, &buf[..body]).map_err(|e| e.to_string()), len)
        }
        Err(why) => Next::Broken(why),
    }
}

/// Hands a fully decoded message to `f` in the fast path's terms.
pub fn with_full<R>(msg: ShellMsg, f: impl FnOnce(Msg<'_>) -> R) -> R {
    match msg {
        ShellMsg::Pid(p) => f(Msg::Pid(p)),
        ShellMsg::Ack(id) => f(Msg::Ack(Id(id.as_bytes()))),
        ShellMsg::Fail(id) => f(Msg::Fail(Id(id.as_bytes()))),
        ShellMsg::Sync => f(Msg::Sync),
        ShellMsg::Log { .. } => f(Msg::Log),
        ShellMsg::Emit(e) if e.anchors.len() <= MAX_ANCHORS => {
            let mut anchors = Anchors::default();
            for a in &e.anchors {
                anchors.push(a.as_bytes());
            }
            f(Msg::Emit { anchors, direct: e.task.is_some(), wants_task_ids: e.wants_task_ids(), values: &e.values })
        }
        other => f(Msg::Other(other)),
    }
}

/// Where the first frame in `buf` ends: `Ok(Some((body, len)))` when it is
/// complete, `Ok(None)` when more bytes are needed.
pub fn frame(serializer: Serializer, buf: &[u8]) -> Result<Option<(usize, usize)>, String> {
    match serializer {
        Serializer::MessagePack => match msgpack_len(buf) {
            Ok(len) => Ok(Some((len, len))),
            Err(Incomplete) => Ok(None),
            Err(Invalid) => Err(format!("not MessagePack: {:02x?}", &buf[..buf.len().min(32)])),
        },
        // Storm reads lines up to one that is exactly `end` (a `\r` before
        // the newline is stripped by readLine).
        Serializer::Json => {
            let mut from = 0;
            while let Some(i) = find2(&buf[from..], b'\n', b'\n').map(|i| i + from) {
                match &buf[i + 1..] {
                    [b'e', b'n', b'd', b'\n', ..] => return Ok(Some((i, i + 5))),
                    [b'e', b'n', b'd', b'\r', b'\n', ..] => return Ok(Some((i, i + 6))),
                    rest if rest.len() < 5 && b"end\r\n".starts_with(rest) => return Ok(None),
                    _ => from = i + 1,
                }
            }
            Ok(None)
        }
    }
}

/// The index of the first `a` or `b` in `hay`, eight bytes at a time (the
/// driver scans every byte the child writes; a byte loop showed in profiles).
fn find2(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // The lowest set 0x80 bit marks the first zero byte exactly (bits above
    // it may be spurious, which the lowest-first search never looks at).
    let zero_bytes = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let (pa, pb) = (LO * a as u64, LO * b as u64);
    let mut chunks = hay.chunks_exact(8);
    for (n, chunk) in chunks.by_ref().enumerate() {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let hits = zero_bytes(w ^ pa) | zero_bytes(w ^ pb);
        if hits != 0 {
            return Some(n * 8 + (hits.trailing_zeros() / 8) as usize);
        }
    }
    let done = hay.len() - chunks.remainder().len();
    chunks.remainder().iter().position(|&c| c == a || c == b).map(|p| done + p)
}

/// Why a MessagePack value has no length yet.
#[derive(Debug, PartialEq)]
enum Short {
    /// The buffer ends inside the value.
    Incomplete,
    /// The bytes are not MessagePack (0xc1 is never valid).
    Invalid,
}
use Short::{Incomplete, Invalid};

/// The length of the first MessagePack value in `buf`. Iterative, so deep
/// nesting costs no stack. (The protocol crate's `value_len` does the same
/// but builds an error string per element on its happy path; the driver
/// cannot afford that.)
fn msgpack_len(buf: &[u8]) -> Result<usize, Short> {
    let be = |at: usize, n: usize| -> Result<usize, Short> {
        let bytes = buf.get(at..at + n).ok_or(Incomplete)?;
        Ok(bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize))
    };
    let (mut pos, mut values_left) = (0usize, 1usize);
    while values_left > 0 {
        values_left -= 1;
        let marker = *buf.get(pos).ok_or(Incomplete)?;
        pos += 1;
        // (bytes of payload after the marker, child values that follow)
        let (skip, children) = match marker {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => (0, 0),
            0x80..=0x8f => (0, 2 * (marker & 0x0f) as usize),
            0x90..=0x9f => (0, (marker & 0x0f) as usize),
            0xa0..=0xbf => ((marker & 0x1f) as usize, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 | 0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xd6 => (5, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xc4 | 0xd9 => (1 + be(pos, 1)?, 0),
            0xc5 | 0xda => (2 + be(pos, 2)?, 0),
            0xc6 | 0xdb => (4 + be(pos, 4)?, 0),
            0xc7 => (2 + be(pos, 1)?, 0),
            0xc8 => (3 + be(pos, 2)?, 0),
            0xc9 => (5 + be(pos, 4)?, 0),
            0xdc => (2, be(pos, 2)?),
            0xdd => (4, be(pos, 4)?),
            0xde => (2, 2 * be(pos, 2)?),
            0xdf => (4, 2 * be(pos, 4)?),
            0xc1 => return Err(Invalid),
        };
        pos += skip;
        if pos > buf.len() {
            return Err(Incomplete);
        }
        values_left += children;
    }
    Ok(pos)
}

/// The fields of a message the fast path looks at.
#[derive(Default)]
struct Fields<'a> {
    command: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    pid: Option<i64>,
    anchors: Anchors<'a>,
    task: bool,
    need_task_ids: Option<bool>,
    tuple: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn into_msg(self) -> Option<Msg<'a>> {
        Some(match self.command {
            None => Msg::Pid(self.pid?),
            Some(b"ack") => Msg::Ack(Id(self.id?)),
            Some(b"fail") => Msg::Fail(Id(self.id?)),
            Some(b"sync") => Msg::Sync,
            Some(b"log") => Msg::Log,
            Some(b"emit") => Msg::Emit {
                anchors: self.anchors,
                direct: self.task,
                wants_task_ids: self.need_task_ids.unwrap_or(true),
                values: self.tuple?,
            },
            _ => return None,
        })
    }
}

/// A MessagePack map of the keys the driver knows, and its length; `None`
/// for anything else, including a message not all read yet.
fn lean_msgpack(buf: &[u8]) -> Option<(Msg<'_>, usize)> {
    let mut c = MpCursor { buf, pos: 0 };
    let n = match c.byte()? {
        m @ 0x80..=0x8f => (m & 0x0f) as usize,
        _ => return None,
    };
    let mut f = Fields::default();
    for _ in 0..n {
        match c.str()? {
            b"command" => f.command = Some(c.str()?),
            b"id" => f.id = Some(c.str()?),
            b"pid" => f.pid = Some(c.uint()?),
            b"anchors" => {
                let k = match c.byte()? {
                    m @ 0x90..=0x9f => (m & 0x0f) as usize,
                    _ => return None,
                };
                for _ in 0..k {
                    f.anchors.push(c.str()?)?;
                }
            }
            b"task" => {
                f.task = true;
                c.skip()?;
            }
            b"need_task_ids" => {
                f.need_task_ids = match c.byte()? {
                    0xc2 => Some(false),
                    0xc3 => Some(true),
                    _ => return None,
                }
            }
            b"tuple" => {
                let start = c.pos;
                c.skip()?;
                f.tuple = Some(&buf[start..c.pos]);
            }
            _ => c.skip()?,
        }
    }
    Some((f.into_msg()?, c.pos))
}

struct MpCursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> MpCursor<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.buf.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(out)
    }

    /// A str's bytes: keys are only compared and ids only parsed as ASCII
    /// digits, so no UTF-8 check is needed.
    fn str(&mut self) -> Option<&'a [u8]> {
        let len = match self.byte()? {
            m @ 0xa0..=0xbf => (m & 0x1f) as usize,
            0xd9 => self.byte()? as usize,
            0xda => u16::from_be_bytes(self.take(2)?.try_into().ok()?) as usize,
            _ => return None,
        };
        self.take(len)
    }

    fn uint(&mut self) -> Option<i64> {
        Some(match self.byte()? {
            m @ 0x00..=0x7f => m as i64,
            0xcc => self.byte()? as i64,
            0xcd => u16::from_be_bytes(self.take(2)?.try_into().ok()?) as i64,
            0xce => u32::from_be_bytes(self.take(4)?.try_into().ok()?) as i64,
            _ => return None,
        })
    }

    fn skip(&mut self) -> Option<()> {
        let len = msgpack_len(&self.buf[self.pos..]).ok()?;
        self.pos += len;
        Some(())
    }
}

/// A JSON object of the keys the driver knows, with no escapes in the
/// strings it reads, followed by the `end` line; and the frame's length.
/// `None` for anything else (the full decoder then decides, with
/// json-smart's leniency), including a message not all read yet.
fn lean_json(buf: &[u8]) -> Option<(Msg<'_>, usize)> {
    let mut c = JsonCursor { buf, pos: 0 };
    c.expect(b'{')?;
    let mut f = Fields::default();
    if c.peek()? == b'}' {
        c.pos += 1;
    } else {
        loop {
            let key = c.string()?;
            c.expect(b':')?;
            match key {
                b"command" => f.command = Some(c.string()?),
                b"id" => f.id = Some(c.string()?),
                b"pid" => f.pid = std::str::from_utf8(c.literal()?).ok()?.parse().ok(),
                b"anchors" => {
                    if c.peek()? == b'"' {
                        f.anchors.push(c.string()?)?;
                    } else {
                        c.expect(b'[')?;
                        if c.peek()? == b']' {
                            c.pos += 1;
                        } else {
                            loop {
                                f.anchors.push(c.string()?)?;
                                if c.comma_or(b']')? {
                                    break;
                                }
                            }
                        }
                    }
                }
                b"task" => {
                    f.task = true;
                    c.skip()?;
                }
                b"need_task_ids" => {
                    f.need_task_ids = match c.literal()? {
                        b"true" => Some(true),
                        b"false" => Some(false),
                        _ => return None,
                    }
                }
                b"tuple" => {
                    c.ws();
                    let start = c.pos;
                    c.skip()?;
                    f.tuple = Some(&buf[start..c.pos]);
                }
                _ => c.skip()?,
            }
            if c.comma_or(b'}')? {
                break;
            }
        }
    }
    let end = match buf.get(c.pos..)? {
        [b'\n', b'e', b'n', b'd', b'\n', ..] => c.pos + 5,
        [b'\n', b'e', b'n', b'd', b'\r', b'\n', ..] => c.pos + 6,
        _ => return None,
    };
    Some((f.into_msg()?, end))
}

struct JsonCursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> JsonCursor<'a> {
    fn ws(&mut self) {
        while self.buf.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.buf.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    /// After a member or element: `true` at the closing `end`, `false` after a comma.
    fn comma_or(&mut self, end: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Some(false)
            }
            b if b == end => {
                self.pos += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// A string's bytes, if it has no escapes (the fast path gives up on any).
    fn string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        let len = find2(&self.buf[start..], b'"', b'\\')?;
        if self.buf[start + len] == b'\\' {
            return None;
        }
        self.pos = start + len + 1;
        Some(&self.buf[start..start + len])
    }

    /// A number, `true`, `false` or `null`.
    fn literal(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let start = self.pos;
        while self.buf.get(self.pos).is_some_and(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b)) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.buf[start..self.pos])
    }

    /// Skips one value: strings (escapes included), nested arrays and
    /// objects, literals. Only bracket balance is checked; a value the
    /// child got wrong still fails in Storm, and in the full decoder.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'[' | b'{' => {
                let mut depth = 0usize;
                loop {
                    match *self.buf.get(self.pos)? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
            }
            _ => self.literal().map(drop),
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        self.pos += 1; // the opening quote
        loop {
            self.pos += find2(self.buf.get(self.pos..)?, b'"', b'\\')? + 1;
            if self.buf[self.pos - 1] == b'"' {
                return Some(());
            }
            self.pos += 1; // the escaped character
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storm_multilang::{Emit, Outgoing};

    fn lean(serializer: Serializer, msg: &Outgoing<'_>) -> String {
        let mut bytes = Vec::new();
        serializer.encode(msg, &mut bytes).unwrap();
        bytes.extend_from_slice(b"next");
        let Next::Lean(m, len) = next(serializer, &bytes) else { panic!("the fast path reads what children write") };
        assert_eq!(&bytes[len..], b"next");
        format!("{m:?}")
    }

    #[test]
    fn ids_round_trip() {
        let mut out = Vec::new();
        write_id(&mut out, ID_BASE + 12345);
        assert_eq!(out, b"-1000000000000012345");
        assert_eq!(parse_id(b"-1000000000000012345"), Some(ID_BASE + 12345));
        assert_eq!(parse_id(b"-100000000000001234x"), None);
        assert_eq!(parse_id(b"hb-1"), None);
    }

    #[test]
    fn templates_put_the_id_in_place() {
        let values = crate::msgpack(&serde_json::json!(["a b", 1]));
        for s in [Serializer::Json, Serializer::MessagePack] {
            let mut fast = Vec::new();
            TupleTemplate::new(s, &values).write(ID_BASE + 7, &mut fast);
            let mut slow = Vec::new();
            let id = "-1000000000000000007";
            let tuple = ToChild::Tuple { id, comp: Some("spout"), stream: "default", task: 7, values: &values };
            storm_side::encode(s, &tuple, &mut slow).unwrap();
            assert_eq!(fast, slow, "{s:?}");
        }
    }

    #[test]
    fn the_fast_path_reads_what_children_write() {
        let anchors = ["-1000000000000000007".to_string()];
        let values = crate::msgpack(&serde_json::json!(["a", {"k": [1, "]\"\\"]}]));
        let emit = Emit { stream: "default", anchors: &anchors, values: &values, ..Emit::default() };
        for s in [Serializer::Json, Serializer::MessagePack] {
            assert_eq!(lean(s, &Outgoing::Ack("x1")), r#"Ack("x1")"#);
            assert_eq!(lean(s, &Outgoing::Sync), "Sync");
            assert_eq!(lean(s, &Outgoing::Pid(42)), "Pid(42)");
            let e = lean(s, &Outgoing::Emit(emit.clone()));
            assert!(e.contains(r#"ids: ["-1000000000000000007", "", "", ""], len: 1"#), "{e}");
            assert!(e.contains("direct: false, wants_task_ids: false"), "{e}");
            // The values come back undecoded, in the wire's encoding.
            let mut bytes = Vec::new();
            s.encode(&Outgoing::Emit(emit.clone()), &mut bytes).unwrap();
            let Next::Lean(Msg::Emit { values: got, .. }, _) = next(s, &bytes) else { panic!() };
            match s {
                Serializer::MessagePack => assert_eq!(got, &values[..]),
                Serializer::Json => assert_eq!(got, br#"["a",{"k":[1,"]\"\\"]}]"#),
            }
        }
    }

    #[test]
    fn incomplete_messages_wait_for_more() {
        let mut bytes = Vec::new();
        Serializer::MessagePack.encode(&Outgoing::Ack("-1000000000000000007"), &mut bytes).unwrap();
        for cut in 0..bytes.len() {
            assert!(matches!(next(Serializer::MessagePack, &bytes[..cut]), Next::Incomplete), "{cut}");
        }
        let json = b"{\"command\":\"ack\",\"id\":\"x\"}\nend\n";
        for cut in 0..json.len() {
            assert!(matches!(next(Serializer::Json, &json[..cut]), Next::Incomplete), "{cut}");
        }
    }

    #[test]
    fn pystorm_json_with_spaces_and_escapes() {
        let wire = b"{\"command\": \"emit\", \"anchors\": [\"-1\"], \"tuple\": [\"a\\\"b\", 2], \"need_task_ids\": false}\nend\n";
        let Next::Lean(m, _) = next(Serializer::Json, wire) else { panic!() };
        let m = format!("{m:?}");
        assert!(m.contains("len: 1") && m.contains("wants_task_ids: false"), "{m}");
        // An escaped id is left to the full decoder, which still reads it.
        let wire = b"{\"command\":\"ack\",\"id\":\"a\\/b\"}\nend\n";
        let Next::Full(Ok(m), len) = next(Serializer::Json, wire) else { panic!() };
        assert_eq!((m, len), (ShellMsg::Ack("a/b".into()), wire.len()));
    }

    #[test]
    fn find2_finds_the_first() {
        let hay = b"0123456789abcdef\"ghij\\";
        for i in 0..hay.len() {
            assert_eq!(find2(&hay[i..], b'"', b'\\'), hay[i..].iter().position(|&b| b == b'"' || b == b'\\'));
        }
        assert_eq!(find2(b"\x01\x00\x22", b'"', b'"'), Some(2));
    }

    #[test]
    fn msgpack_lengths() {
        let v = crate::msgpack(&serde_json::json!([1, "a", {"k": [null, 1.5, -7, 300, "x".repeat(40)]}]));
        assert_eq!(msgpack_len(&v), Ok(v.len()));
        for cut in 0..v.len() {
            assert_eq!(msgpack_len(&v[..cut]), Err(Incomplete), "{cut}");
        }
        assert_eq!(msgpack_len(&[0x91, 0xc1]), Err(Invalid));
    }

    #[test]
    fn json_frames_end_at_a_line_that_is_end() {
        assert_eq!(frame(Serializer::Json, b"{}\nend\n{").unwrap(), Some((2, 7)));
        assert_eq!(frame(Serializer::Json, b"{}\nend\r\n").unwrap(), Some((2, 8)));
        assert_eq!(frame(Serializer::Json, b"{}\nen").unwrap(), None);
        assert_eq!(frame(Serializer::Json, b"{\"a\":\"\nendx\"}\nend\n").unwrap(), Some((13, 18)));
    }
}
