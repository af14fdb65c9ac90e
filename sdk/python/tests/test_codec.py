"""The codec against the msgpack package: the same bytes out, the same
values back, and clear errors on bad input."""

import math
import random

import msgpack
import pytest
from storm_wasm._codec import DecodeError, ExtType, pack, pack_array, unpack


def reference(obj):
    return msgpack.packb(obj, use_bin_type=True)


def reference_unpack(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


INTS = [
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2**32 - 1,
    2**32,
    2**64 - 1,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2**31),
    -(2**31) - 1,
    -(2**63),
]
LENGTHS = [0, 1, 31, 32, 255, 256, 65535, 65536]


@pytest.mark.parametrize("value", INTS)
def test_ints_encode_like_msgpack_and_round_trip(value):
    assert pack(value) == reference(value)
    assert unpack(pack(value)) == value


@pytest.mark.parametrize("n", LENGTHS)
def test_strings_bytes_arrays_and_maps_of_every_header_size(n):
    for value in [
        "é" * (n // 2) + "a" * (n % 2),
        b"\x00" * n,
        list(range(min(n, 70000))),
        {str(i): i for i in range(n)},
    ]:
        assert pack(value) == reference(value), (type(value), n)
        assert unpack(pack(value)) == value


def test_scalars_floats_and_nesting():
    for value in [
        None,
        True,
        False,
        0.0,
        -1.5,
        1e300,
        float("inf"),
        "",
        "grüße 🎉 \u2028",
        {"k": [1, -2, 2.5, None, True]},
        [[["deep"]]],
        {1: "int key"},
    ]:
        assert pack(value) == reference(value), value
        assert unpack(pack(value)) == value
    assert math.isnan(unpack(pack(float("nan"))))


def test_tuples_and_subclasses_encode_as_their_base_type():
    from collections import OrderedDict, namedtuple
    from enum import IntEnum

    Point = namedtuple("Point", "x y")

    class Level(IntEnum):
        HIGH = 3

    assert pack((1, "a")) == reference([1, "a"])
    assert pack(Point(1, 2)) == reference([1, 2])
    assert pack_array(Point(1, 2)) == reference([1, 2])
    assert pack([Level.HIGH, OrderedDict(a=1), bytearray(b"x"), memoryview(b"y")]) == reference(
        [3, {"a": 1}, b"x", b"y"]
    )
    assert pack_array(list(range(20))) == reference(list(range(20)))
    assert pack_array(("x",) * 70000) == reference(["x"] * 70000)


def test_extension_types_survive():
    for data in [b"1", b"12", b"1234", b"12345678", b"1" * 16, b"123", b"x" * 300, b"y" * 70000]:
        ext = ExtType(5, data)
        assert pack(ext) == reference(msgpack.ExtType(5, data))
        assert unpack(pack(ext)) == ext
        assert unpack(reference(msgpack.ExtType(127, data))) == ExtType(127, data)
    assert unpack(b"\xd4\xff1") == ExtType(-1, b"1")  # negative codes are reserved (timestamps)


def test_decodes_what_only_other_encoders_write():
    import struct

    assert unpack(b"\xca" + struct.pack(">f", 0.5)) == 0.5  # float32
    assert unpack(b"\xd9\x03abc") == "abc"  # str8 for a short string
    assert unpack(b"\xdc\x00\x01\x01") == [1]  # array16 for one item
    assert unpack(b"\xde\x00\x01\xa1k\x02") == {"k": 2}
    assert unpack(b"\x81\x92\x01\x02\xc0") == {(1, 2): None}  # array keys become tuples


def test_random_values_round_trip_against_msgpack():
    rng = random.Random(7)

    def value(depth=0):
        kind = rng.randrange(9 if depth < 3 else 6)
        if kind == 0:
            return rng.choice(INTS)
        if kind == 1:
            return "".join(
                chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0xD7FF)]))
                for _ in range(rng.choice(LENGTHS[:5]))
            )
        if kind == 2:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        if kind == 3:
            return rng.uniform(-1e9, 1e9)
        if kind == 4:
            return rng.choice([None, True, False])
        if kind == 5:
            return rng.randrange(-(2**63), 2**64)
        if kind in (6, 7):
            return [value(depth + 1) for _ in range(rng.choice([0, 1, 3, 15, 16, 20]))]
        return {rng.choice(["a", "b", "c", 1, 2]): value(depth + 1) for _ in range(rng.randrange(5))}

    for _ in range(500):
        v = value()
        assert pack(v) == reference(v)
        assert unpack(pack(v)) == reference_unpack(reference(v))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "truncated"),
        (b"\x92\x01", "truncated"),
        (b"\xa5abc", "truncated"),
        (b"\xdb\xff\xff\xff\xffabc", "truncated"),
        (b"\xdd\xff\xff\xff\xff", "truncated"),
        (b"\xcd\x01", "truncated"),
        (b"\x01\x02", "1 bytes of extra data"),
        (b"\xc1", "0xc1 is not a MessagePack type byte"),
        (b"\xa2\xff\xfe", "not UTF-8"),
    ],
)
def test_bad_input_raises_decode_error(data, message):
    with pytest.raises(DecodeError, match=message):
        unpack(data)


def test_values_that_do_not_fit_are_refused():
    with pytest.raises(OverflowError):
        pack(2**64)
    with pytest.raises(OverflowError):
        pack(-(2**63) - 1)
    with pytest.raises(TypeError, match="cannot encode a set"):
        pack([{1, 2}])


def test_unpack_values_reads_one_array_and_says_whether_it_is_flat():
    from storm_wasm._codec import unpack_values

    assert unpack_values(pack(["a" * 40, 1, -5, 2.5, None, b"x"])) == (["a" * 40, 1, -5, 2.5, None, b"x"], True)
    assert unpack_values(pack(["a", [1]])) == (["a", [1]], False)
    assert unpack_values(pack([{"k": 1}])) == ([{"k": 1}], False)
    assert unpack_values(pack(list(range(20)))) == (list(range(20)), True)
    assert unpack_values(pack(["x"] * 70000))[0] == ["x"] * 70000
    with pytest.raises(DecodeError, match="not a MessagePack array"):
        unpack_values(pack({"a": 1}))
    with pytest.raises(DecodeError, match="truncated"):
        unpack_values(b"\x93\x01")
    with pytest.raises(DecodeError, match="extra data"):
        unpack_values(b"\x91\x01\x02")
