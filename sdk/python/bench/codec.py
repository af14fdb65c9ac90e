"""The SDK's MessagePack codec against msgpack's pure-Python fallback (what
would run inside a component) and msgpack's C extension, on tuple-sized
values. Microseconds per call, best of 5.

    python sdk/python/bench/codec.py        (needs msgpack installed)
"""

import os
import sys
import timeit

import msgpack
from msgpack import fallback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from storm_wasm import _codec  # noqa: E402

SAMPLES = {
    "word": ["cow"],
    "sentence": ["the cow jumped over the moon 12345"],
    "word, count": ["cow", 12345],
    "mixed": ["grüße", {"k": [1, -2, 2.5, None, True]}, [[["deep"]]], -(2**63), 2**64 - 1, b"bin"],
}


def best(fn, number=20000):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main():
    packer = fallback.Packer(use_bin_type=True)
    print("| values | storm_wasm enc/dec µs | msgpack fallback enc/dec µs | msgpack C enc/dec µs |")
    print("|---|---:|---:|---:|")
    for name, value in SAMPLES.items():
        data = msgpack.packb(value, use_bin_type=True)
        ours = best(lambda: _codec.pack_array(value)), best(lambda: _codec.unpack_values(data))
        slow = best(lambda: packer.pack(value)), best(lambda: fallback.unpackb(data, raw=False, strict_map_key=False))
        fast = (
            best(lambda: msgpack.packb(value, use_bin_type=True)),
            best(lambda: msgpack.unpackb(data, raw=False, strict_map_key=False)),
        )
        print("| {} | {:.2f} / {:.2f} | {:.2f} / {:.2f} | {:.2f} / {:.2f} |".format(name, *ours, *slow, *fast))


if __name__ == "__main__":
    main()
