"""The ruvector wire formats, the same as pgvector's vector: text '[1,2,3]', and binary
int16 dimensions, int16 unused (0), then float4 values, all big-endian."""
import struct

import numpy as np

_HEADER = struct.Struct(">hh")


def _as_float32(value):
    a = np.asarray(value, dtype=np.float32)
    if a.ndim != 1:
        raise ValueError("a ruvector is one-dimensional, not of shape %s" % (a.shape,))
    if a.size < 1 or a.size > 16000:
        raise ValueError("a ruvector has 1 to 16000 dimensions, not %d" % a.size)
    if not np.all(np.isfinite(a)):
        raise ValueError("a ruvector holds finite values only (no NaN or infinity)")
    return a


def to_binary(value):
    a = _as_float32(value)
    return _HEADER.pack(a.size, 0) + a.astype(">f4").tobytes()


def from_binary(data):
    data = bytes(data)
    dim, unused = _HEADER.unpack_from(data)
    if unused != 0 or len(data) != _HEADER.size + 4 * dim:
        raise ValueError("malformed ruvector binary value (%d bytes for %d dimensions)" % (len(data), dim))
    return np.frombuffer(data, dtype=">f4", offset=_HEADER.size).astype(np.float32)


def to_text(value):
    # repr of a float32 round-trips through the server's float4 input
    return "[" + ",".join(repr(float(x)) for x in _as_float32(value)) + "]"


def from_text(text):
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode()
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError("malformed ruvector text %r" % text[:40])
    return np.array([float(x) for x in text[1:-1].split(",")], dtype=np.float32)
