#!/usr/bin/env python3
"""Fashion-MNIST on 1, 2 and 3 servers (issue #28; run by bench/sharding.sh, which starts
the servers): one server with the whole table, and a coordinator whose hash-partitioned
table has 2 or 3 postgres_fdw partitions on shard servers, rabitq (default options) on
every table. For each layout: recall@10 against numpy's exact answer, QPS and p50/p99
latency of the query an application sends (psycopg, binary parameter, one client), the
rows each shard ships per query (fetch_size), and the coordinator's overhead: the sharded
latency minus the slowest shard's own latency for the same query, per query, median.
On one 2-core machine the shards compete for the CPU, so the overhead is the figure that
carries to real clusters. Environment: SINGLE, COORD, SHARDS (socket directories), PGPORT,
QUERIES (200), FETCH_SIZES ("100 10"), PROBES (rabitq.probes on every server, 10).
"""
import os
import statistics
import sys
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
import defaults_fashion as fashion  # noqa: E402  (the IDX reader, exact top 10, recall)
import ruvector.psycopg as rv  # noqa: E402

QUERIES = int(os.environ.get("QUERIES", "200"))
FETCH_SIZES = [int(f) for f in os.environ.get("FETCH_SIZES", "100 10").split()]
PROBES = int(os.environ.get("PROBES", "10"))
PORT = os.environ["PGPORT"]


def connect(host):
    conn = psycopg.connect(host=host, port=PORT, user="postgres", dbname="postgres", autocommit=True)
    conn.execute(f"SET rabitq.probes = {PROBES}")
    rv.register_vector(conn)
    return conn


def timed_queries(conn, sql, queries):
    """(answers, latencies in ms) of one pass, after a warm-up pass."""
    for q in queries[:20]:
        conn.execute(sql, (q,)).fetchall()
    answers, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        answers.append([r[0] for r in conn.execute(sql, (q,)).fetchall()])
        times.append((time.perf_counter() - t0) * 1000)
    return answers, times


def main():
    data = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    base = fashion.read_idx_images(f"{data}/train-images-idx3-ubyte.gz")
    test = fashion.read_idx_images(f"{data}/t10k-images-idx3-ubyte.gz")[:QUERIES]
    top_ids, top_d = fashion.exact_top(base, test)
    threshold = top_d[:, fashion.K - 1] + 1e-6
    queries = [np.asarray(q, dtype=np.float32) for q in test]
    ids = np.arange(len(base))
    shards = os.environ["SHARDS"].split()

    single = connect(os.environ["SINGLE"])
    rv.load(single, "docs", ids, base)
    rv.create_index(single, "docs")
    single.execute("VACUUM ANALYZE docs")
    # Shard s of n holds the rows the coordinator's hash partition n/s routes there: the
    # coordinator inserts them, so the split is Postgres' own.
    coord = connect(os.environ["COORD"])
    coord.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
    for n in (2, 3):
        for s in range(n):
            conn = connect(shards[s])
            conn.execute(f"CREATE TABLE docs{n} (id bigint PRIMARY KEY, embedding ruvector(784))")
            conn.close()
        coord.execute(f"CREATE TABLE docs{n} (id bigint NOT NULL, embedding ruvector(784)) PARTITION BY HASH (id)")
        for s in range(n):
            coord.execute(f"CREATE FOREIGN TABLE docs{n}_{s} PARTITION OF docs{n} FOR VALUES WITH "
                          f"(MODULUS {n}, REMAINDER {s}) SERVER shard{s} OPTIONS (table_name 'docs{n}')")
        t0 = time.perf_counter()
        rv.load(coord, f"docs{n}", ids, base)
        print(f"loaded docs{n} through the coordinator: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        for s in range(n):
            conn = connect(shards[s])
            rv.create_index(conn, f"docs{n}")
            conn.execute(f"VACUUM ANALYZE docs{n}")
            conn.close()
        coord.execute(f"ANALYZE docs{n}")

    rows = []
    sql = "SELECT id FROM {} ORDER BY embedding <-> %b LIMIT 10"
    answers, times = timed_queries(single, sql.format("docs"), queries)
    r, _ = fashion.recall(answers, base, test, threshold, top_ids)
    rows.append(("1 server", "-", r, times, None))
    for n in (2, 3):
        own = []  # per shard: its own latency for each query
        for s in range(n):
            conn = connect(shards[s])
            own.append(timed_queries(conn, sql.format(f"docs{n}"), queries)[1])
            conn.close()
        slowest = np.max(np.array(own), axis=0)
        for fetch in FETCH_SIZES:
            for s in range(n):
                coord.execute(f"ALTER SERVER shard{s} OPTIONS (SET fetch_size '{fetch}')")
            conn = connect(os.environ["COORD"])  # a new session: the server options apply
            answers, times = timed_queries(conn, sql.format(f"docs{n}"), queries)
            conn.close()
            r, _ = fashion.recall(answers, base, test, threshold, top_ids)
            overhead = statistics.median(np.array(times) - slowest)
            rows.append((f"{n} shards + coordinator", fetch, r, times, overhead))

    print(f"Fashion-MNIST 60k x 784, L2, k = 10, {QUERIES} queries, one client, psycopg binary "
          f"parameter, rabitq default options, rabitq.probes = {PROBES} on every server, "
          f"{os.cpu_count()} CPUs (all servers on this machine)\n")
    print("| layout | fetch_size (rows a shard ships first) | recall@10 | QPS | p50 ms | p99 ms | "
          "coordinator overhead ms (median) |")
    print("|---|---|---|---|---|---|---|")
    for layout, fetch, r, times, overhead in rows:
        t = sorted(times)
        qps = len(t) / (sum(t) / 1000)
        p99 = t[min(len(t) - 1, int(0.99 * len(t)))]
        print(f"| {layout} | {fetch} | {r:.3f} | {qps:.0f} | {statistics.median(t):.2f} | {p99:.2f} | "
              f"{'-' if overhead is None else f'{overhead:.2f}'} |")


if __name__ == "__main__":
    main()
