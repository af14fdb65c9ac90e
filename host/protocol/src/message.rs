/// A message from Storm to the subprocess.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// The first message: where to write the pid file, the conf, the context.
    Handshake(Handshake),
    /// A tuple for a bolt, including heartbeats and tick tuples.
    Tuple(BoltTuple),
    /// The tasks an emit went to (the reply to an emit with `need_task_ids`).
    TaskIds(Vec<i32>),
    /// A spout command.
    Spout(SpoutCommand),
}

/// Storm's setup message.
#[derive(Clone, Debug, PartialEq)]
pub struct Handshake {
    /// The directory in which to create an empty file named by our pid.
    pub pid_dir: String,
    /// The topology conf as a MessagePack map.
    pub conf: Vec<u8>,
    /// The topology context as a MessagePack map (Storm's JSON keys).
    pub context: Vec<u8>,
    /// `context.taskid`.
    pub task_id: i32,
    /// `context.componentid`.
    pub component_id: String,
}

/// A tuple sent to a bolt.
#[derive(Clone, Debug, PartialEq)]
pub struct BoltTuple {
    /// Storm's tuple id, always a string on the wire.
    pub id: String,
    /// The source component (`None` for heartbeats).
    pub comp: Option<String>,
    /// The source stream.
    pub stream: String,
    /// The source task (-1 for heartbeats and ticks).
    pub task: i32,
    /// The values as one MessagePack array.
    pub values: Vec<u8>,
}

impl BoltTuple {
    /// Storm's heartbeat: answer with `sync`, never ack it.
    pub fn is_heartbeat(&self) -> bool {
        self.task == -1 && self.stream == "__heartbeat"
    }

    /// A tick tuple (`topology.tick.tuple.freq.secs`): must be acked.
    pub fn is_tick(&self) -> bool {
        self.task == -1 && self.stream == "__tick"
    }
}

/// A command Storm sends a spout; every one must be answered with `sync`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpoutCommand {
    /// Emit the next tuples.
    Next,
    /// The tree of this message id completed.
    Ack(String),
    /// The tree of this message id failed.
    Fail(String),
    /// The topology was activated.
    Activate,
    /// The topology was deactivated.
    Deactivate,
}

/// Storm's multi-lang log levels (the number is the wire value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LogLevel {
    /// 0
    Trace = 0,
    /// 1
    Debug = 1,
    /// 2
    Info = 2,
    /// 3
    Warn = 3,
    /// 4
    Error = 4,
}

/// A message from the subprocess to Storm.
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing<'a> {
    /// The handshake reply.
    Pid(u32),
    /// An emit.
    Emit(Emit<'a>),
    /// Ack a bolt's input.
    Ack(&'a str),
    /// Fail a bolt's input.
    Fail(&'a str),
    /// A log line for Storm's log handler.
    Log {
        /// Level.
        level: LogLevel,
        /// Text.
        msg: &'a str,
    },
    /// An error report (`collector.reportError`).
    Error(&'a str),
    /// A metric update for an `IShellMetric` registered on the Java side.
    Metrics {
        /// Registered name.
        name: &'a str,
        /// One MessagePack value.
        params: &'a [u8],
    },
    /// End of a spout cycle, or the answer to a heartbeat.
    Sync,
}

/// An emit from a bolt (with anchors) or a spout (with a message id).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Emit<'a> {
    /// The stream (`default` is written as such).
    pub stream: &'a str,
    /// Bolt: the input ids this emit is anchored to.
    pub anchors: &'a [String],
    /// Spout: the message id that makes the tuple tracked.
    pub message_id: Option<&'a str>,
    /// A direct emit to this task. Only then is `task` written: Storm ≥ 2.6's
    /// JSON serializer dies on any int `task` (Integer/Long cast).
    pub direct_task: Option<i32>,
    /// Ask Storm for the receiving task ids.
    pub need_task_ids: bool,
    /// The values as one MessagePack array.
    pub values: &'a [u8],
}
