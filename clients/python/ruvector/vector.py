"""The ruvector wire formats, the same as pgvector's vector: text '[1,2,3]', and binary
int16 dimensions, int16 unused (0), then float4 values, all big-endian."""
import struct
import sys

import numpy as np

_HEADER = struct.Struct(">hh")


def as_vector(value):
    """A 1-D float32 array, checked as the server would check a ruvector."""
    a = np.asarray(value, dtype=np.float32)
    if a.ndim != 1:
        raise ValueError("a ruvector is one-dimensional, not of shape %s" % (a.shape,))
    if a.size < 1 or a.size > 16000:
        raise ValueError("a ruvector has 1 to 16000 dimensions, not %d" % a.size)
    if not np.all(np.isfinite(a)):
        raise ValueError("a ruvector holds finite values only (no NaN or infinity)")
    return a


def to_binary(value):
    a = as_vector(value)
    return _HEADER.pack(a.size, 0) + a.astype(">f4").tobytes()


def from_binary(data):
    data = bytes(data)
    dim, unused = _HEADER.unpack_from(data)
    if unused != 0 or len(data) != _HEADER.size + 4 * dim:
        raise ValueError("malformed ruvector binary value (%d bytes for %d dimensions)" % (len(data), dim))
    return np.frombuffer(data, dtype=">f4", offset=_HEADER.size).astype(np.float32)


def to_text(value):
    # repr of a float32 round-trips through the server's float4 input
    return "[" + ",".join(repr(float(x)) for x in as_vector(value)) + "]"


def from_text(text):
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode()
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError("malformed ruvector text %r" % text[:40])
    return np.array([float(x) for x in text[1:-1].split(",")], dtype=np.float32)


# Binary COPY (the format of COPY ... FROM STDIN (FORMAT binary)): a signature, flags and
# header extension length, then per row a field count and each field as its byte length
# and value, then -1. Rows of (integer id, ruvector) have one fixed size, so a numpy
# structured array writes a whole chunk at once.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
_ID_FORMATS = {"integer": ">i4", "bigint": ">i8"}


def as_vectors(vectors):
    """A 2-D float32 array of row vectors, checked as the server would check them."""
    a = np.asarray(vectors, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError("vectors must be a 2-D array (rows x dimensions), not of shape %s" % (a.shape,))
    if a.shape[1] < 1 or a.shape[1] > 16000:
        raise ValueError("a ruvector has 1 to 16000 dimensions, not %d" % a.shape[1])
    if not np.all(np.isfinite(a)):
        bad = int(np.argmin(np.isfinite(a).all(axis=1)))
        raise ValueError("vector %d holds NaN or infinity: a ruvector holds finite values only" % bad)
    return a


def check_ids(ids, n, id_type):
    """ids as n integers that fit the id column's type (integer or bigint)."""
    if id_type not in _ID_FORMATS:
        raise ValueError("ids are written as integer or bigint, and the id column is %s" % id_type)
    ids = np.asarray(ids)
    if ids.shape != (n,) or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError("ids must be %d integers, one per vector" % n)
    limits = np.iinfo(_ID_FORMATS[id_type])
    if ids.size and (ids.min() < limits.min or ids.max() > limits.max):
        raise ValueError("an id does not fit the id column's type %s" % id_type)
    return ids


def copy_rows(ids, vectors, id_type="bigint", progress=None, rows_per_chunk=None):
    """Yields the binary COPY stream of rows (id, vector) in chunks of bytes. `id_type` is
    the id column's type, integer or bigint; `vectors` comes from as_vectors. `progress`,
    when given, is called as progress(rows_sent, total) once each chunk has been taken, or
    prints that to stderr when it is True."""
    if progress is True:
        progress = lambda done, total: print("ruvector: %d of %d rows sent" % (done, total), file=sys.stderr)
    ids = check_ids(ids, len(vectors), id_type)
    dim = vectors.shape[1]
    row = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", _ID_FORMATS[id_type]),
                    ("vec_len", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("vec", ">f4", (dim,))])
    if rows_per_chunk is None:
        rows_per_chunk = max(1, (8 << 20) // row.itemsize)  # about 8 MB a chunk
    yield COPY_HEADER
    for start in range(0, len(vectors), rows_per_chunk):
        part = vectors[start:start + rows_per_chunk]
        chunk = np.empty(len(part), dtype=row)
        chunk["fields"] = 2
        chunk["id_len"] = row["id"].itemsize
        chunk["id"] = ids[start:start + rows_per_chunk]
        chunk["vec_len"] = 4 + 4 * dim
        chunk["dim"] = dim
        chunk["unused"] = 0
        chunk["vec"] = part
        yield chunk.tobytes()
        if progress:
            progress(start + len(part), len(vectors))
    yield COPY_TRAILER
