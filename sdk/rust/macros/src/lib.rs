//! `export_bolt!` and `export_spout!` for storm-sdk. Use them through
//! `storm_sdk::export_bolt!` / `storm_sdk::export_spout!`.
//!
//! wit-bindgen needs the WIT text inside the plugin crate (the world a plugin
//! exports is described by a custom section generated in that crate), and a
//! `macro_rules!` macro cannot read a file relative to the SDK. A proc macro can:
//! it embeds the contract at its own compile time and expands `generate!` with
//! it inline, mapping every interface the SDK already bound to the SDK's types.

use proc_macro::TokenStream;

const WIT: &str = include_str!("../../../../wit/storm-plugin.wit");

/// Exports a type implementing `storm_sdk::Bolt` as the plugin's bolt.
#[proc_macro]
pub fn export_bolt(input: TokenStream) -> TokenStream {
    expand(input, Kind::Bolt)
}

/// Exports a type implementing `storm_sdk::Spout` as the plugin's spout.
#[proc_macro]
pub fn export_spout(input: TokenStream) -> TokenStream {
    expand(input, Kind::Spout)
}

enum Kind {
    Bolt,
    Spout,
}

fn expand(input: TokenStream, kind: Kind) -> TokenStream {
    let ty = input.to_string();
    if ty.trim().is_empty() {
        let which = match kind {
            Kind::Bolt => "export_bolt!(MyBolt)",
            Kind::Spout => "export_spout!(MySpout)",
        };
        return format!("compile_error!(\"name the type to export, e.g. `{which}`\");").parse().unwrap();
    }
    let (world, output, guest_body) = match kind {
        Kind::Bolt => (
            "stateful-bolt",
            "bolt-output",
            "impl exports::storm::plugin::bolt_guest::Guest for Export {
                fn prepare(conf: ::std::vec::Vec<u8>, context: __rt::types::Context) -> ::std::result::Result<(), ::std::string::String> {
                    __rt::bolt_prepare::<super::__StormExported>(conf, context)
                }
                fn execute(batch: ::std::vec::Vec<__rt::types::Input>) -> ::std::vec::Vec<__rt::types::Outcome> {
                    __rt::bolt_execute::<super::__StormExported>(batch)
                }
            }
            impl exports::storm::plugin::lifecycle::Guest for Export {
                fn version() -> ::std::string::String { ::std::string::String::from(env!(\"CARGO_PKG_VERSION\")) }
                fn snapshot() -> ::std::result::Result<::std::option::Option<::std::vec::Vec<u8>>, ::std::string::String> {
                    __rt::bolt_snapshot::<super::__StormExported>()
                }
                fn restore(from_version: ::std::string::String, state: ::std::vec::Vec<u8>) -> ::std::result::Result<(), ::std::string::String> {
                    __rt::bolt_restore::<super::__StormExported>(&from_version, &state)
                }
            }",
        ),
        Kind::Spout => (
            "stateful-spout",
            "spout-output",
            "impl exports::storm::plugin::spout_guest::Guest for Export {
                fn open(conf: ::std::vec::Vec<u8>, context: __rt::types::Context) -> ::std::result::Result<(), ::std::string::String> {
                    __rt::spout_open::<super::__StormExported>(conf, context)
                }
                fn next_tuple() -> ::std::result::Result<(), ::std::string::String> {
                    __rt::spout_next_tuple::<super::__StormExported>()
                }
                fn ack(message_id: ::std::string::String) { __rt::spout_ack::<super::__StormExported>(message_id) }
                fn fail(message_id: ::std::string::String) { __rt::spout_fail::<super::__StormExported>(message_id) }
                fn activate() { __rt::spout_activate::<super::__StormExported>() }
                fn deactivate() { __rt::spout_deactivate::<super::__StormExported>() }
            }
            impl exports::storm::plugin::lifecycle::Guest for Export {
                fn version() -> ::std::string::String { ::std::string::String::from(env!(\"CARGO_PKG_VERSION\")) }
                fn snapshot() -> ::std::result::Result<::std::option::Option<::std::vec::Vec<u8>>, ::std::string::String> {
                    __rt::spout_snapshot::<super::__StormExported>()
                }
                fn restore(from_version: ::std::string::String, state: ::std::vec::Vec<u8>) -> ::std::result::Result<(), ::std::string::String> {
                    __rt::spout_restore::<super::__StormExported>(&from_version, &state)
                }
            }",
        ),
    };
    let output_mod = output.replace('-', "_");
    let code = format!(
        r#"
        #[doc(hidden)]
        type __StormExported = {ty};
        #[doc(hidden)]
        mod __storm_export {{
            use ::storm_sdk::__private as __rt;
            ::storm_sdk::__private::wit_bindgen::generate!({{
                inline: {wit:?},
                world: "{world}",
                runtime_path: "::storm_sdk::__private::wit_bindgen::rt",
                with: {{
                    "storm:plugin/types@0.1.0": ::storm_sdk::__private::bindings::storm::plugin::types,
                    "storm:plugin/host@0.1.0": ::storm_sdk::__private::bindings::storm::plugin::host,
                    "storm:plugin/{output}@0.1.0": ::storm_sdk::__private::bindings::storm::plugin::{output_mod},
                }},
            }});
            struct Export;
            {guest_body}
            export!(Export);
        }}
        "#,
        wit = WIT,
    );
    code.parse().expect("storm-sdk-macros generated invalid tokens")
}
