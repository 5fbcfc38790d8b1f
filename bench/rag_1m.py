#!/usr/bin/env python3
"""RAG in five lines of Python over 1M x 768 (docs/rag.md): runs exactly those lines, prints
the time of each, then recall@10 and the time per search over held-out queries.

    tools/with_cluster.sh python3 bench/rag_1m.py [ROWS] [QUERIES]     # Postgres' defaults

or against any server the PG* variables point at (the database needs CREATE EXTENSION
ruvector, which the script runs first, untimed). The embeddings are clustered Gaussian,
the recipe of tools/clustered_data.h drawn with numpy: 1000 centres, each row its centre
plus a 32-dimensional spread through one shared basis plus a little noise; the queries are
drawn the same way and are not in the table. Exact answers come from numpy. Needs ~8 GB
of memory and ~4 GB of disk for 1M rows.
"""
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
QUERIES = int(sys.argv[2]) if len(sys.argv) > 2 else 200
DIM, CLUSTERS, LATENT = 768, 1000, 32


def clustered(rng, n, centres, basis):
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        rows = centres[rng.integers(0, CLUSTERS, m)]
        rows += 0.1 * rng.standard_normal((m, DIM), dtype=np.float32)
        rows += rng.standard_normal((m, LATENT), dtype=np.float32) @ basis
        out[start:start + m] = rows
    return out


def exact_top10(vectors, queries):
    norms = np.einsum("ij,ij->i", vectors, vectors)
    truth = []
    for q in queries:
        d = norms - 2 * (vectors @ q)  # |v|^2 - 2 v.q orders like |v - q|^2
        top = np.argpartition(d, 10)[:10]
        truth.append(set(top[np.argsort(d[top])].tolist()))
    return truth


def main():
    rng = np.random.default_rng(42)
    centres = (rng.standard_normal((CLUSTERS, DIM)) * 2).astype(np.float32)
    basis = (rng.standard_normal((LATENT, DIM)) / 8).astype(np.float32)
    print("drawing %d x %d embeddings and %d queries..." % (ROWS, DIM, QUERIES), file=sys.stderr)
    embeddings = clustered(rng, ROWS, centres, basis)
    ids = np.arange(ROWS)
    queries = clustered(rng, QUERIES, centres, basis)
    query = queries[0]

    # Untimed setup through psql, so that line 1 below imports the drivers for the first time.
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE EXTENSION IF NOT EXISTS ruvector",
                    "-c", "DROP TABLE IF EXISTS docs"], check=True)

    # The five lines of docs/rag.md, each timed.
    lines = []

    def timed(text, fn):
        t0 = time.perf_counter()
        value = fn()
        lines.append((text, time.perf_counter() - t0))
        return value

    def line1():
        global psycopg, rv
        import psycopg
        import ruvector.psycopg as rv

    timed("import psycopg, ruvector.psycopg as rv", line1)
    conn = timed('conn = psycopg.connect("", autocommit=True)', lambda: psycopg.connect("", autocommit=True))
    timed('rv.load(conn, "docs", ids, embeddings)', lambda: rv.load(conn, "docs", ids, embeddings))
    timed('rv.create_index(conn, "docs")', lambda: rv.create_index(conn, "docs"))
    timed('hits = rv.search(conn, "docs", query, k=10)', lambda: rv.search(conn, "docs", query, k=10))

    print("Five lines, %d rows x %d:\n" % (ROWS, DIM))
    print("| line | seconds |")
    print("|---|---|")
    for text, seconds in lines:
        print("| `%s` | %.2f |" % (text, seconds))

    truth = exact_top10(embeddings, queries)
    found, times = 0, []
    for q, exact in zip(queries, truth):
        t0 = time.perf_counter()
        hits = rv.search(conn, "docs", q, k=10)
        times.append((time.perf_counter() - t0) * 1000)
        found += len(exact & {h[0] for h in hits})
    sizes = conn.execute("SELECT pg_size_pretty(pg_relation_size('docs_embedding_rabitq')), "
                         "pg_size_pretty(pg_table_size('docs')), current_setting('shared_buffers')").fetchone()
    times.sort()
    print("\n| queries | recall@10 | median ms | p95 ms | index | table | shared_buffers |")
    print("|---|---|---|---|---|---|---|")
    print("| %d | %.3f | %.2f | %.2f | %s | %s | %s |" % (
        QUERIES, found / (10 * QUERIES), statistics.median(times),
        times[int(0.95 * (len(times) - 1))], *sizes))


if __name__ == "__main__":
    main()
