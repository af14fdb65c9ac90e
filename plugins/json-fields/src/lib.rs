//! Parses JSON events and emits selected fields, like the classic
//! Wikipedia-edit stream example: (event_json) -> (action, is_bot, user).
//! A user that is not logged in (no "user" field) is emitted as null.
//! Malformed JSON fails the tuple with the parser's message.
use serde::Deserialize;
use storm_sdk::{Bolt, BoltOutput, Conf, Context, Result, Tuple};

#[derive(Deserialize)]
struct Edit {
    #[serde(default)]
    action: String,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    user: Option<String>,
}

struct JsonFields;

impl Bolt for JsonFields {
    fn prepare(_conf: &Conf, _context: &Context) -> Result<Self> {
        Ok(JsonFields)
    }

    fn execute(&mut self, tuple: &Tuple, out: &mut BoltOutput) -> Result<()> {
        let (event,): (String,) = tuple.values()?;
        let edit: Edit = serde_json::from_str(&event)?;
        out.emit(&(edit.action, edit.is_bot, edit.user))
    }
}

storm_sdk::export_bolt!(JsonFields);
