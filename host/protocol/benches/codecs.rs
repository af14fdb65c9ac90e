//! Micro-benchmarks of what storm-wasm does per tuple in the protocol crate,
//! under both serializers: frame and decode one tuple from Storm, encode
//! one emit and one ack back. Run with `cargo bench -p storm-multilang`.
//!
//! The MessagePack tuple is also measured piecewise (`value_len` alone):
//! framing walks every element of a message, so its cost per element shows
//! there first.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use storm_multilang::storm_side::{self, ToChild};
use storm_multilang::{msgpack, Emit, Incoming, MessageReader, Outgoing, Serializer};

const SERIALIZERS: [(Serializer, &str); 2] = [(Serializer::Json, "json"), (Serializer::MessagePack, "msgpack")];

/// `["snow white and the seven dwarfs", 42]` as MessagePack, the values of
/// the benchmark suite's pass-through tuple.
fn values() -> Vec<u8> {
    let text = b"snow white and the seven dwarfs";
    let mut v = vec![0x92, 0xa0 | text.len() as u8]; // fixarray of 2, fixstr
    v.extend_from_slice(text);
    v.push(42);
    v
}

/// One tuple as Storm frames it, with a Storm-shaped id.
fn tuple_frame(serializer: Serializer) -> Vec<u8> {
    let values = values();
    let msg =
        ToChild::Tuple { id: "-6955786537413359385", comp: Some("spout"), stream: "default", task: 7, values: &values };
    let mut out = Vec::new();
    storm_side::encode(serializer, &msg, &mut out).expect("encodes");
    out
}

fn decode_tuple(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode a tuple");
    g.throughput(Throughput::Elements(1));
    for (serializer, name) in SERIALIZERS {
        let frame = tuple_frame(serializer);
        // The body without the JSON `end` line: what `Serializer::decode` takes.
        let body = match serializer {
            Serializer::Json => &frame[..frame.len() - 5],
            Serializer::MessagePack => &frame[..],
        };
        g.bench_function(name, |b| {
            b.iter(|| match serializer.decode(black_box(body)) {
                Ok(Incoming::Tuple(t)) => t,
                other => panic!("{other:?}"),
            })
        });
    }
    // Framing alone: the reader's first step on every MessagePack message.
    let frame = tuple_frame(Serializer::MessagePack);
    g.bench_function("msgpack value_len (framing)", |b| b.iter(|| msgpack::value_len(black_box(&frame))));
    g.finish();
}

fn read_tuples(c: &mut Criterion) {
    // A pipe read's worth of tuples, framed and decoded by the reader
    // storm-wasm runs on stdin (per tuple).
    const N: usize = 256;
    let mut g = c.benchmark_group("frame and decode, 256 buffered tuples");
    g.throughput(Throughput::Elements(N as u64));
    for (serializer, name) in SERIALIZERS {
        let one = tuple_frame(serializer);
        let stream: Vec<u8> = one.iter().copied().cycle().take(one.len() * N).collect();
        g.bench_function(name, |b| {
            b.iter_batched(
                || MessageReader::new(&stream[..], serializer),
                |mut reader| {
                    for _ in 0..N {
                        black_box(reader.next_message().expect("a tuple"));
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn encode_emit(c: &mut Criterion) {
    let values = values();
    let anchors = ["-6955786537413359385".to_string()];
    let emit = Outgoing::Emit(Emit { stream: "default", anchors: &anchors, values: &values, ..Emit::default() });
    let ack = Outgoing::Ack("-6955786537413359385");
    let mut g = c.benchmark_group("encode an emit and its ack");
    g.throughput(Throughput::Elements(1));
    for (serializer, name) in SERIALIZERS {
        let mut out = Vec::with_capacity(4096);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                serializer.encode(black_box(&emit), &mut out).expect("encodes");
                serializer.encode(black_box(&ack), &mut out).expect("encodes");
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decode_tuple, read_tuples, encode_emit);
criterion_main!(benches);
