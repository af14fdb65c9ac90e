use storm_multilang::Serializer;
use storm_wasm_tests::driver::{run_bolt, BoltLoad};
use storm_wasm_tests::{msgpack, plugin};

use crate::SERIALIZERS;

/// 200,000 sentences through the split bolt, pipelined the way ShellBolt
/// does it (100 in flight), heartbeats every 100 ms: every tuple acked
/// exactly once, every emit anchored to a tuple in flight, every heartbeat
/// answered, a clean exit.
#[test]
fn two_hundred_thousand_tuples_through_split_sentence() {
    for s in SERIALIZERS {
        let values =
            ["the cow jumped over the moon", "an apple a day keeps the doctor away", "i am at two with nature"]
                .iter()
                .map(|v| msgpack(&serde_json::json!([v])))
                .collect();
        let report = run_bolt(&BoltLoad::storm_wasm(plugin("split_sentence"), s, 200_000, values));
        assert_eq!(report.problems, Vec::<String>::new(), "{s:?}");
        assert_eq!((report.acked, report.failed), (200_000, 0), "{s:?}");
        assert_eq!(report.emitted, 200_000 / 3 * (6 + 8 + 6) + 6 + 8, "{s:?}: words emitted");
        assert!(report.heartbeats_sent > 0 && report.heartbeats_answered == report.heartbeats_sent, "{s:?}");
        assert!(report.exit_ok);
        eprintln!(
            "{s:?}: {:.0} tuples/s, p99 {:?}, host CPU {:.2} µs/tuple",
            report.throughput(),
            report.latency(99.0),
            report.cpu_us_per_tuple().unwrap_or(f64::NAN)
        );
    }
}

#[test]
fn batching_off_still_acks_everything() {
    let values = vec![msgpack(&serde_json::json!(["x", 1]))];
    let mut load = BoltLoad::storm_wasm(plugin("passthrough"), Serializer::MessagePack, 20_000, values);
    load.command.push("--max-batch=1".into());
    let report = run_bolt(&load);
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!((report.acked, report.emitted), (20_000, 20_000));
}
