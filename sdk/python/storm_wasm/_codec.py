"""MessagePack for tuple values, the conf, the context and metrics.

A small codec of our own rather than the ``msgpack`` package: inside a
component only msgpack's pure-Python fallback can run (native extensions do
not load in wasm), and that fallback is general-purpose and slow for the
small arrays tuples are (measured 17.6 us per pass-through tuple against
about 4 us with this module on CPython 3.11; see sdk/python/README.md). The
encoding is byte-for-byte what ``msgpack.packb(obj, use_bin_type=True)``
writes, and the tests check both directions against the msgpack package.

Types: ``None``, ``bool``, ``int`` (-2**63 .. 2**64-1), ``float`` (written
as float64), ``str`` (UTF-8), ``bytes``/``bytearray``/``memoryview`` (bin),
``list``/``tuple`` (and subclasses such as namedtuples; decoded as
``list``), ``dict`` (keys of any decodable type), and :class:`ExtType`.
"""

import struct
from collections import namedtuple

__all__ = ["ExtType", "pack", "pack_array", "unpack", "unpack_values"]


class ExtType(namedtuple("ExtType", "code data")):
    """A MessagePack extension value, kept as it is."""

    __slots__ = ()


_BB = struct.Struct(">BB").pack
_BH = struct.Struct(">BH").pack
_BI = struct.Struct(">BI").pack
_Bb = struct.Struct(">Bb").pack
_Bh = struct.Struct(">Bh").pack
_Bi = struct.Struct(">Bi").pack
_Bq = struct.Struct(">Bq").pack
_BQ = struct.Struct(">BQ").pack
_Bd = struct.Struct(">Bd").pack

# One-byte headers, built once: fixint, fixstr, fixarray, fixmap.
_FIX = [bytes([i]) for i in range(256)]


def pack(obj):
    """Encodes ``obj`` as MessagePack bytes."""
    out = []
    _pack(obj, out.append)
    return b"".join(out)


def pack_array(values):
    """Encodes a ``list`` or ``tuple`` (namedtuples included) as a
    MessagePack array: the values of a tuple, without the type dispatch."""
    out = []
    put = out.append
    n = len(values)
    if n < 16:
        put(_FIX[0x90 | n])
    elif n < 0x10000:
        put(_BH(0xDC, n))
    else:
        put(_BI(0xDD, n))
    for item in values:
        # Short strings and small ints, the usual tuple items, inline.
        t = type(item)
        if t is str:
            data = item.encode("utf-8", "surrogatepass")
            n = len(data)
            if n < 32:
                put(_FIX[0xA0 | n])
                put(data)
                continue
        elif t is int and 0 <= item < 0x80:
            put(_FIX[item])
            continue
        _pack(item, put)
    return b"".join(out)


def _pack(obj, put):
    t = type(obj)
    if t is str:
        data = obj.encode("utf-8", "surrogatepass")
        n = len(data)
        if n < 32:
            put(_FIX[0xA0 | n])
        elif n < 0x100:
            put(_BB(0xD9, n))
        elif n < 0x10000:
            put(_BH(0xDA, n))
        else:
            put(_BI(0xDB, n))
        put(data)
    elif t is int:
        _pack_int(obj, put)
    elif t is list or t is tuple:
        n = len(obj)
        if n < 16:
            put(_FIX[0x90 | n])
        elif n < 0x10000:
            put(_BH(0xDC, n))
        else:
            put(_BI(0xDD, n))
        for item in obj:
            _pack(item, put)
    elif obj is None:
        put(b"\xc0")
    elif t is bool:
        put(b"\xc3" if obj else b"\xc2")
    elif t is float:
        put(_Bd(0xCB, obj))
    elif t is dict:
        n = len(obj)
        if n < 16:
            put(_FIX[0x80 | n])
        elif n < 0x10000:
            put(_BH(0xDE, n))
        else:
            put(_BI(0xDF, n))
        for k, v in obj.items():
            _pack(k, put)
            _pack(v, put)
    elif t is bytes or t is bytearray or t is memoryview:
        data = bytes(obj)
        n = len(data)
        if n < 0x100:
            put(_BB(0xC4, n))
        elif n < 0x10000:
            put(_BH(0xC5, n))
        else:
            put(_BI(0xC6, n))
        put(data)
    elif t is ExtType:
        _pack_ext(obj, put)
    # Subclasses (namedtuple values, IntEnum, str enums, OrderedDict...)
    # take the slow path once through their base type.
    elif isinstance(obj, bool):
        _pack(bool(obj), put)
    elif isinstance(obj, int):
        _pack_int(int(obj), put)
    elif isinstance(obj, str):
        _pack(str(obj), put)
    elif isinstance(obj, float):
        _pack(float(obj), put)
    elif isinstance(obj, (list, tuple)):
        _pack(list(obj), put)
    elif isinstance(obj, dict):
        _pack(dict(obj), put)
    elif isinstance(obj, (bytes, bytearray)):
        _pack(bytes(obj), put)
    else:
        raise TypeError(f"cannot encode a {t.__name__} as MessagePack")


def _pack_int(n, put):
    if 0 <= n < 0x80:
        put(_FIX[n])
    elif -32 <= n < 0:
        put(_FIX[n & 0xFF])
    elif n >= 0:
        if n < 0x100:
            put(_BB(0xCC, n))
        elif n < 0x10000:
            put(_BH(0xCD, n))
        elif n < 0x100000000:
            put(_BI(0xCE, n))
        elif n < 0x10000000000000000:
            put(_BQ(0xCF, n))
        else:
            raise OverflowError(f"integer {n} does not fit MessagePack's 64 bits")
    elif n >= -0x80:
        put(_Bb(0xD0, n))
    elif n >= -0x8000:
        put(_Bh(0xD1, n))
    elif n >= -0x80000000:
        put(_Bi(0xD2, n))
    elif n >= -0x8000000000000000:
        put(_Bq(0xD3, n))
    else:
        raise OverflowError(f"integer {n} does not fit MessagePack's 64 bits")


def _pack_ext(ext, put):
    code, data = ext.code, bytes(ext.data)
    n = len(data)
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}.get(n)
    if fixed:
        put(_Bb(fixed, code))
    elif n < 0x100:
        put(_BB(0xC7, n) + struct.pack(">b", code))
    elif n < 0x10000:
        put(_BH(0xC8, n) + struct.pack(">b", code))
    else:
        put(_BI(0xC9, n) + struct.pack(">b", code))
    put(data)


# --- decoding -------------------------------------------------------------

_u8 = struct.Struct(">B").unpack_from
_u16 = struct.Struct(">H").unpack_from
_u32 = struct.Struct(">I").unpack_from
_u64 = struct.Struct(">Q").unpack_from
_i8 = struct.Struct(">b").unpack_from
_i16 = struct.Struct(">h").unpack_from
_i32 = struct.Struct(">i").unpack_from
_i64 = struct.Struct(">q").unpack_from
_f32 = struct.Struct(">f").unpack_from
_f64 = struct.Struct(">d").unpack_from

# Fixed-size extension types: first byte -> payload size.
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


class DecodeError(ValueError):
    """The bytes are not one valid MessagePack value."""


def unpack(data):
    """Decodes one MessagePack value; the whole of ``data`` must be used.

    Strings decode to ``str``, binary to ``bytes``, arrays to ``list``.
    """
    data = bytes(data)
    try:
        obj, end = _unpack(data, 0)
    except (IndexError, struct.error):
        raise DecodeError("truncated MessagePack data") from None
    except UnicodeDecodeError as e:
        raise DecodeError(f"a MessagePack string is not UTF-8: {e}") from None
    if end != len(data):
        raise DecodeError(f"{len(data) - end} bytes of extra data after the MessagePack value")
    return obj


def unpack_values(data):
    """Decodes the values of a tuple: one MessagePack array.

    Returns ``(items, flat)``: ``items`` a list, ``flat`` true when no item
    is a list or a dict, so that nothing in ``items`` can change and
    ``data`` stays their exact encoding (a bolt that emits a tuple's values
    unchanged then re-sends ``data`` without encoding).
    """
    # Runs once per tuple: _array's loop is repeated here, inline, with the
    # short strings and small ints of typical tuples decoded on the spot.
    try:
        b = data[0]
        if 0x90 <= b <= 0x9F:
            n = b & 0x0F
            pos = 1
        elif b == 0xDC:
            n = _u16(data, 1)[0]
            pos = 3
        elif b == 0xDD:
            n = _u32(data, 1)[0]
            pos = 5
        else:
            raise DecodeError(f"the values are not a MessagePack array (type byte 0x{b:02x})")
        size = len(data)
        if n > size - pos:
            raise IndexError
        items = []
        put = items.append
        flat = True
        for _ in range(n):
            b = data[pos]
            if 0xA0 <= b <= 0xBF:
                end = pos + 1 + (b & 0x1F)
                if end > size:
                    raise IndexError
                put(data[pos + 1 : end].decode("utf-8", "surrogatepass"))
                pos = end
            elif b < 0x80:
                put(b)
                pos += 1
            elif b == 0xD9:
                end = pos + 2 + data[pos + 1]
                if end > size:
                    raise IndexError
                put(data[pos + 2 : end].decode("utf-8", "surrogatepass"))
                pos = end
            else:
                item, pos = _unpack(data, pos)
                if flat and (type(item) is list or type(item) is dict):
                    flat = False
                put(item)
    except (IndexError, struct.error):
        raise DecodeError("truncated MessagePack data") from None
    except UnicodeDecodeError as e:
        raise DecodeError(f"a MessagePack string is not UTF-8: {e}") from None
    if pos != size:
        raise DecodeError(f"{size - pos} bytes of extra data after the MessagePack value")
    return items, flat


def _str(data, start, n):
    end = start + n
    if end > len(data):
        raise IndexError
    return data[start:end].decode("utf-8", "surrogatepass"), end


def _bin(data, start, n):
    end = start + n
    if end > len(data):
        raise IndexError
    return data[start:end], end


def _array(data, pos, n):
    if n > len(data) - pos:  # each item takes at least a byte
        raise IndexError
    items = []
    put = items.append
    for _ in range(n):
        b = data[pos]
        # The common items of a tuple inline: short strings and small ints.
        if 0xA0 <= b <= 0xBF:
            end = pos + 1 + (b & 0x1F)
            if end > len(data):
                raise IndexError
            put(data[pos + 1 : end].decode("utf-8", "surrogatepass"))
            pos = end
        elif b == 0xD9:
            start = pos + 2
            end = start + data[pos + 1]
            if end > len(data):
                raise IndexError
            put(data[start:end].decode("utf-8", "surrogatepass"))
            pos = end
        elif b < 0x80:
            put(b)
            pos += 1
        else:
            item, pos = _unpack(data, pos)
            put(item)
    return items, pos


def _map(data, pos, n):
    if 2 * n > len(data) - pos:
        raise IndexError
    out = {}
    for _ in range(n):
        key, pos = _unpack(data, pos)
        if isinstance(key, list):
            key = tuple(key)  # hashable, as msgpack's use_list=False keys
        value, pos = _unpack(data, pos)
        out[key] = value
    return out, pos


def _unpack(data, pos):
    b = data[pos]
    pos += 1
    if b < 0x80:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if b <= 0x8F:
        return _map(data, pos, b & 0x0F)
    if b <= 0x9F:
        return _array(data, pos, b & 0x0F)
    if b <= 0xBF:
        return _str(data, pos, b & 0x1F)
    if b == 0xC0:
        return None, pos
    if b == 0xC2:
        return False, pos
    if b == 0xC3:
        return True, pos
    if b == 0xD9:
        return _str(data, pos + 1, _u8(data, pos)[0])
    if b == 0xDA:
        return _str(data, pos + 2, _u16(data, pos)[0])
    if b == 0xDB:
        return _str(data, pos + 4, _u32(data, pos)[0])
    if b == 0xCC:
        return data[pos], pos + 1
    if b == 0xCD:
        return _u16(data, pos)[0], pos + 2
    if b == 0xCE:
        return _u32(data, pos)[0], pos + 4
    if b == 0xCF:
        return _u64(data, pos)[0], pos + 8
    if b == 0xD0:
        return _i8(data, pos)[0], pos + 1
    if b == 0xD1:
        return _i16(data, pos)[0], pos + 2
    if b == 0xD2:
        return _i32(data, pos)[0], pos + 4
    if b == 0xD3:
        return _i64(data, pos)[0], pos + 8
    if b == 0xCA:
        return _f32(data, pos)[0], pos + 4
    if b == 0xCB:
        return _f64(data, pos)[0], pos + 8
    if b == 0xC4:
        return _bin(data, pos + 1, _u8(data, pos)[0])
    if b == 0xC5:
        return _bin(data, pos + 2, _u16(data, pos)[0])
    if b == 0xC6:
        return _bin(data, pos + 4, _u32(data, pos)[0])
    if b == 0xDC:
        return _array(data, pos + 2, _u16(data, pos)[0])
    if b == 0xDD:
        return _array(data, pos + 4, _u32(data, pos)[0])
    if b == 0xDE:
        return _map(data, pos + 2, _u16(data, pos)[0])
    if b == 0xDF:
        return _map(data, pos + 4, _u32(data, pos)[0])
    if b in _FIXEXT:
        n = _FIXEXT[b]
        body, end = _bin(data, pos + 1, n)
        return ExtType(_i8(data, pos)[0], body), end
    if b == 0xC7:
        n = _u8(data, pos)[0]
        body, end = _bin(data, pos + 2, n)
        return ExtType(_i8(data, pos + 1)[0], body), end
    if b == 0xC8:
        n = _u16(data, pos)[0]
        body, end = _bin(data, pos + 3, n)
        return ExtType(_i8(data, pos + 2)[0], body), end
    if b == 0xC9:
        n = _u32(data, pos)[0]
        body, end = _bin(data, pos + 5, n)
        return ExtType(_i8(data, pos + 4)[0], body), end
    raise DecodeError(f"0x{b:02x} is not a MessagePack type byte")
