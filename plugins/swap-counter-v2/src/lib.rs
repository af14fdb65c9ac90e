include!("../../swap-counter/src/lib.rs");
