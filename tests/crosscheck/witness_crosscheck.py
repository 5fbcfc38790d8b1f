#!/usr/bin/env python3
"""Independent check of the bundle format: recomputes every rvf_witness and data_digest
from docs/bundle-format.md with Python's hashlib.shake_256 and struct, without using the
C++ code, for bundles published by the C++ core (tests/crosscheck/bundle_fixture.cpp).

usage: witness_crosscheck.py FIXTURE_DIR
Each subdirectory of FIXTURE_DIR holds one bundle. Exits non-zero on any disagreement.
"""
import hashlib
import json
import math
import os
import struct
import sys

DOMAIN = b"ruvector.bundle.witness.v1\x00"
T_UINT64, T_UTF8, T_BYTES = 1, 2, 3
FIELDS = ["format_version", "data_ref", "dim", "rotation_seed", "rerank_factor",
          "generation", "pii_policy", "lineage_id", "data_digest", "rvf_witness"]

# The worked example of docs/bundle-format.md; the C++ unit tests pin the same values.
WORKED_VECTORS_HEX = (
    "5256424e 444c5646 01000000 03000000 02000000 00000000 00000000 00000000"
    " 01000000 00000000 02000000 00000000"
    " 0000803f 00000040 00004040 00008040 0000a040 0000c040")
WORKED_EXAMPLE = {
    "format_version": 1,
    "dim": 3,
    "rotation_seed": "12345678901234567890",
    "rerank_factor": 20,
    "generation": 7,
    "pii_policy": "none",
    "lineage_id": "example/items",
}


def record(field_id, type_tag, value):
    return bytes([field_id, type_tag]) + struct.pack("<Q", len(value)) + value


def u64(n):
    return struct.pack("<Q", n)


def witness_input(sc):
    gen = sc["generation"]
    if isinstance(gen, int):
        gen_record = record(6, T_UINT64, u64(gen))
    else:
        gen_record = record(6, T_UTF8, gen.encode("utf-8"))
    return (DOMAIN
            + record(1, T_UINT64, u64(sc["format_version"]))
            + record(2, T_UTF8, sc["data_ref"].encode("utf-8"))
            + record(3, T_UINT64, u64(sc["dim"]))
            + record(4, T_UINT64, u64(int(sc["rotation_seed"])))
            + record(5, T_UINT64, u64(sc["rerank_factor"]))
            + gen_record
            + record(7, T_UTF8, sc["pii_policy"].encode("utf-8"))
            + record(8, T_UTF8, sc["lineage_id"].encode("utf-8"))
            + record(9, T_BYTES, bytes.fromhex(sc["data_digest"])))


def witness(sc):
    return hashlib.shake_256(witness_input(sc)).hexdigest(32)


def check_vectors_file(data, dim):
    magic, version, fdim, count, flags, reserved = struct.unpack_from("<8sIIQII", data, 0)
    assert magic == b"RVBNDLVF", magic
    assert version == 1 and flags == 0 and reserved == 0, (version, flags, reserved)
    assert fdim == dim, (fdim, dim)
    assert len(data) == 32 + 8 * count + 4 * dim * count, (len(data), count, dim)
    rows = struct.unpack_from("<%df" % (count * dim), data, 32 + 8 * count)
    assert all(math.isfinite(x) for x in rows)
    return count


def check_bundle(path):
    with open(os.path.join(path, "table.rulake.json"), "rb") as f:
        sc = json.loads(f.read().decode("utf-8"))
    assert list(sc.keys()) == FIELDS, list(sc.keys())
    assert isinstance(sc["rotation_seed"], str)
    with open(os.path.join(path, sc["data_ref"]), "rb") as f:
        data = f.read()
    digest = hashlib.shake_256(data).hexdigest(32)
    assert digest == sc["data_digest"], (path, digest, sc["data_digest"])
    count = check_vectors_file(data, sc["dim"])
    got = witness(sc)
    assert got == sc["rvf_witness"], (path, got, sc["rvf_witness"])
    # The witness must depend on what it covers: one changed field changes it.
    changed = dict(sc, lineage_id=sc["lineage_id"] + "x")
    assert witness(changed) != got
    return count


def check_worked_example(fixture_dir):
    data = bytes.fromhex(WORKED_VECTORS_HEX.replace(" ", ""))
    digest = hashlib.shake_256(data).hexdigest(32)
    sc = dict(WORKED_EXAMPLE, data_ref="vectors-%s.rvb" % digest, data_digest=digest)
    sc["rvf_witness"] = witness(sc)
    path = os.path.join(fixture_dir, "worked_example")
    with open(os.path.join(path, "table.rulake.json"), "rb") as f:
        published = json.loads(f.read().decode("utf-8"))
    assert published == sc, (published, sc)
    with open(os.path.join(path, sc["data_ref"]), "rb") as f:
        assert f.read() == data
    with open(os.path.join(path, "table.rulake.json"), "r", encoding="utf-8") as f:
        check_docs(witness_input(sc), digest, sc["rvf_witness"], f.read())
    print("worked example: rvf_witness", sc["rvf_witness"], "(matches docs/bundle-format.md)")


def fenced_block(text, info):
    start = text.index("```" + info + "\n") + len(info) + 4
    return text[start:text.index("```", start)]


def check_docs(input_bytes, digest, witness_hex, sidecar_text):
    """The worked example in the docs must be what the code and this script produce."""
    docs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                        "bundle-format.md")
    with open(docs, encoding="utf-8") as f:
        text = f.read()
    documented = "".join(fenced_block(text, "witness-input-hex").split())
    assert documented == input_bytes.hex(), ("docs witness input", documented)
    assert "`data_digest` = `%s`" % digest in text, "docs data_digest"
    assert "`rvf_witness` = `%s`" % witness_hex in text, "docs rvf_witness"
    assert fenced_block(text, "json") == sidecar_text, "docs sidecar JSON"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    fixture_dir = sys.argv[1]
    bundles = sorted(d for d in os.listdir(fixture_dir)
                     if os.path.isdir(os.path.join(fixture_dir, d)))
    if "worked_example" not in bundles or len(bundles) < 4:
        sys.exit("expected the fixture bundles in %s, found %s" % (fixture_dir, bundles))
    for name in bundles:
        count = check_bundle(os.path.join(fixture_dir, name))
        print("ok %s (%d rows)" % (name, count))
    check_worked_example(fixture_dir)


if __name__ == "__main__":
    main()
