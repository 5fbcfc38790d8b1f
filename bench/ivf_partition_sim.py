#!/usr/bin/env python3
# How many rows an IVF index must read for a recall, by the partitions alone: each row in
# its nearest list (what rabitq builds), a SOAR spill (Sun et al., NeurIPS 2023: each row
# also in the list minimising ||x - c||^2 + lambda <r, x - c>^2 / ||r||^2, r its residual to
# the nearest), a plain second-nearest spill, and adaptive probes (every list whose
# centroid is within (1 + a) of the nearest one's distance). Rows of the probed lists count
# as read; a true neighbour counts as found when a probed list holds it. No codes and no
# estimates: this says whether a change to the partitions can pay before it is built.
#
# Reads the vectors of a running server (libpq environment: PGHOST, PGPORT, ...) through
# binary COPY, runs k-means on a sample with numpy and prints tables. Needs
# python3-psycopg and python3-numpy, memory for the table as float32 (3 GB at 960k x 784)
# and a numpy on an optimised BLAS (libopenblas0-pthread): with Debian's reference BLAS the
# assignment of 1M rows takes hours instead of two minutes.
#   TABLE=noisy1 QUERIES=nq bench/ivf_partition_sim.py
#   (COLUMN, QUERY_COUNT, LISTS, SAMPLE, ITERATIONS, K, LAMBDA, SEED)
import os
import sys
import time

import numpy as np
import psycopg

TABLE = os.environ.get("TABLE", "items")
QUERIES = os.environ.get("QUERIES", "queries")
COLUMN = os.environ.get("COLUMN", "embedding")
QUERY_COUNT = int(os.environ.get("QUERY_COUNT", "200"))
SAMPLE = int(os.environ.get("SAMPLE", "60000"))
ITERATIONS = int(os.environ.get("ITERATIONS", "8"))
K = int(os.environ.get("K", "10"))
LAMBDA = float(os.environ.get("LAMBDA", "1.0"))
SEED = int(os.environ.get("SEED", "7"))
CHUNK = 10000


def fetch(conn, sql):
    """The rows of `sql` (one ruvector column) as float32, from COPY's binary format."""
    buf = bytearray()
    with conn.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy:
        for block in copy:
            buf += block
    # 19 bytes of header; each row: int16 field count, int32 length, int16 dim, int16
    # unused, dim big-endian float4s; a 2-byte trailer.
    dim = int.from_bytes(buf[25:27], "big", signed=True)
    row = np.dtype([("n", ">i2"), ("len", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("x", ">f4", (dim,))])
    count = (len(buf) - 21) // row.itemsize
    rows = np.frombuffer(bytes(buf[19:19 + count * row.itemsize]), dtype=row)
    if count == 0 or (rows["dim"] != dim).any() or (rows["len"] != 4 + 4 * dim).any():
        sys.exit(f"{sql}: expected non-NULL vectors of one dimension")
    return np.ascontiguousarray(rows["x"], dtype=np.float32)


def nearest(a, c, c_norms, k):
    """Indices of the k nearest rows of c for each row of a (squared L2), nearest first."""
    out = np.empty((len(a), k), np.int64)
    for s in range(0, len(a), CHUNK):
        d = c_norms[None, :] - 2 * a[s:s + CHUNK] @ c.T
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < len(c) else np.tile(np.arange(len(c)), (len(d), 1))
        order = np.take_along_axis(d, part, 1).argsort(1)
        out[s:s + CHUNK] = np.take_along_axis(part, order, 1)
    return out


def kmeans(x, lists, rng):
    sample = x[rng.choice(len(x), min(SAMPLE, len(x)), replace=False)]
    c = sample[rng.choice(len(sample), lists, replace=False)].copy()
    for _ in range(ITERATIONS):
        a = nearest(sample, c, (c * c).sum(1), 1)[:, 0]
        sums = np.zeros_like(c)
        np.add.at(sums, a, sample)
        counts = np.bincount(a, minlength=lists)
        c[counts > 0] = sums[counts > 0] / counts[counts > 0, None]
    return c


def assign(x, c):
    """Each row's nearest list, its SOAR spill list and its second-nearest list."""
    c_norms = (c * c).sum(1)
    primary = np.empty(len(x), np.int64)
    soar = np.empty(len(x), np.int64)
    second = np.empty(len(x), np.int64)
    for s in range(0, len(x), CHUNK):
        a = x[s:s + CHUNK]
        d = (a * a).sum(1)[:, None] - 2 * a @ c.T + c_norms[None, :]
        p = d.argmin(1)
        r = a - c[p]
        r_norm = (r * r).sum(1) + 1e-12
        parallel = ((r * a).sum(1)[:, None] - r @ c.T) ** 2 / r_norm[:, None]
        at = np.arange(len(p))
        loss = d + LAMBDA * parallel
        loss[at, p] = np.inf
        d[at, p] = np.inf
        primary[s:s + CHUNK], soar[s:s + CHUNK], second[s:s + CHUNK] = p, loss.argmin(1), d.argmin(1)
    return primary, soar, second


def main():
    t0 = time.time()
    with psycopg.connect(autocommit=True) as conn:
        x = fetch(conn, f"SELECT {COLUMN} FROM {TABLE}")
        q = fetch(conn, f"SELECT {COLUMN} FROM {QUERIES} ORDER BY id LIMIT {QUERY_COUNT}")
    lists = int(os.environ.get("LISTS", str(max(1, round(2 * np.sqrt(len(x)))))))
    print(f"{TABLE}: {len(x)} x {x.shape[1]}, {len(q)} queries, {lists} lists, loaded in "
          f"{time.time() - t0:.0f} s", flush=True)
    truth = nearest(q, x, (x * x).sum(1), K)
    c = kmeans(x, lists, np.random.default_rng(SEED))
    primary, soar, second = assign(x, c)
    print(f"k-means and assignment done at {time.time() - t0:.0f} s\n", flush=True)

    qd = (q * q).sum(1)[:, None] - 2 * q @ c.T + (c * c).sum(1)[None, :]
    order = np.argsort(qd, 1)
    rank = np.empty_like(order)
    rank[np.arange(len(q))[:, None], order] = np.arange(lists)[None, :]

    def evaluate(assignments, probes):
        """Mean recall and rows read when query i probes its probes[i] nearest lists."""
        size = sum(np.bincount(a, minlength=lists) for a in assignments)
        found = np.zeros(truth.shape, bool)
        for a in assignments:
            found |= rank[np.arange(len(q))[:, None], a[truth]] < probes[:, None]
        rows = np.array([size[order[i, :probes[i]]].sum() for i in range(len(q))])
        return found.mean(), rows.mean()

    fixed = [p for p in (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 16, 20, 24, 32, 48, 64) if p <= lists]
    print("| assignment | probes | recall@%d | rows read |" % K)
    print("|---|---|---|---|")
    for name, assignments in (("nearest", [primary]), (f"SOAR spill, lambda {LAMBDA:g}", [primary, soar]),
                              ("second-nearest spill", [primary, second])):
        for p in fixed:
            recall, rows = evaluate(assignments, np.full(len(q), p))
            print(f"| {name} | {p} | {recall:.4f} | {rows:.0f} |")

    print("\n| adaptive rule (nearest assignment) | a | min probes | mean probes | recall@%d | rows read |" % K)
    print("|---|---|---|---|---|---|")
    sorted_d = np.sqrt(np.maximum(np.take_along_axis(qd, order, 1), 0))
    for a in (0.05, 0.1, 0.2, 0.3, 0.4):
        for least in (3, 5):
            probes = np.clip((sorted_d <= sorted_d[:, :1] * (1 + a)).sum(1), least, lists)
            recall, rows = evaluate([primary], probes)
            print(f"| distance <= (1 + a) nearest | {a:g} | {least} | {probes.mean():.1f} | {recall:.4f} | {rows:.0f} |")


if __name__ == "__main__":
    main()
