//! Host bindings of the storm:plugin contract (`wit/storm-plugin.wit`).
//! The spout world reuses the bolt world's `types` and `host` bindings, so
//! each host interface is implemented once.

/// The `bolt` world.
pub mod bolt {
    wasmtime::component::bindgen!({
        world: "bolt",
        path: "../../wit",
        // Host imports may trap: only when a plugin exceeds a limit.
        imports: { default: trappable },
    });
}

/// The `spout` world.
pub mod spout {
    wasmtime::component::bindgen!({
        world: "spout",
        path: "../../wit",
        imports: { default: trappable },
        with: {
            "storm:plugin/types": super::bolt::storm::plugin::types,
            "storm:plugin/host": super::bolt::storm::plugin::host,
        },
    });
}

pub use bolt::storm::plugin::types::{Context, Input, LogLevel, Outcome};
