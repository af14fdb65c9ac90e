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

/// The optional `lifecycle` export, looked up per component: a plugin
/// without it links all the same and starts fresh on a swap.
pub mod lifecycle {
    wasmtime::component::bindgen!({
        path: "../../wit",
        inline: "package storm:host-only; world lifecycle-only { export storm:plugin/lifecycle@0.1.0; }",
        world: "storm:host-only/lifecycle-only",
    });

    pub use exports::storm::plugin::lifecycle::{Guest as Lifecycle, GuestIndices as LifecycleIndices};
}
