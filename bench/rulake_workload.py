#!/usr/bin/env python3
"""ruLake under writes (issue #26; run by bench/rulake_workload.sh, which starts the server).

For each data set (100k x 128 clustered, Fashion-MNIST 60k x 784), consistency mode
(fresh, eventual) and write rate (0, 10, 100, 1000 single-row writes/s): 2 reader threads
search the collection as an application does (rulake.search with the query as a text
parameter, k = 10, default collection options), 1 writer thread makes single-row writes
(half updates of a random row, a quarter inserts, a quarter deletes) at the rate, and a
sampler thread measures recall@10: in one REPEATABLE READ transaction, the collection's
answer and the exact answer of the same snapshot (a scan of the table), about twice a
second in every configuration so that it costs all of them the same. Printed: searches/s
of the two readers, their p50/p99 latency, the writes/s reached, hit rate, primes and
writes folded into overlays (rulake.stats()), and recall. The row "fresh, full re-prime"
is fresh with rulake.rebuild_threshold = 0, which primes the whole image on every write,
as ruLake did before overlays: the baseline, in the same run. The rows "fresh, probes N"
are a tuned configuration beside the defaults (TUNED_PROBES, 40).
Environment: PGHOST, PGPORT, SECONDS (10 per configuration), RATES ("0 10 100 1000"),
DATASETS ("clustered fashion").
"""
import json
import os
import random
import statistics
import sys
import threading
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
import defaults_fashion as fashion  # noqa: E402  (the IDX reader)
import ruvector.psycopg as rv  # noqa: E402

SECONDS = float(os.environ.get("SECONDS", "10"))
RATES = [int(r) for r in os.environ.get("RATES", "0 10 100 1000").split()]
TUNED_PROBES = int(os.environ.get("TUNED_PROBES", "40"))
DATASETS = os.environ.get("DATASETS", "clustered fashion").split()
K = 10


def connect():
    return psycopg.connect(dbname="postgres", user="postgres", autocommit=True)


def text(v):
    return "[" + ",".join(f"{x:.6g}" for x in v) + "]"


def clustered(n=100_000, dim=128, clusters=200, seed=7):
    """A mixture whose clusters differ in size and radius, so IVF lists are uneven."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (clusters, dim)).astype(np.float32)
    weights = rng.pareto(1.5, clusters) + 0.1
    which = rng.choice(clusters, n, p=weights / weights.sum())
    radius = rng.uniform(0.3, 2.0, clusters).astype(np.float32)
    rows = centres[which] + rng.normal(0, 1, (n, dim)).astype(np.float32) * radius[which, None]
    queries = centres[rng.choice(clusters, 500, p=weights / weights.sum())] + \
        rng.normal(0, 1, (500, dim)).astype(np.float32)
    return rows, queries


def fashion_data():
    data = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    base = fashion.read_idx_images(f"{data}/train-images-idx3-ubyte.gz").astype(np.float32)
    test = fashion.read_idx_images(f"{data}/t10k-images-idx3-ubyte.gz")[:500].astype(np.float32)
    return base, test


def load(conn, table, rows):
    conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    rv.load(conn, table, list(range(len(rows))), rows)
    conn.execute(f"ANALYZE {table}")


class Run:
    def __init__(self, table, collection, rows, queries, rate):
        self.table, self.collection, self.rows, self.queries, self.rate = table, collection, rows, queries, rate
        self.stop = threading.Event()
        self.latencies = [[], []]
        self.writes = 0
        self.recalls = []
        self.errors = []
        self.next_id = int(1e9)

    def reader(self, i):
        try:
            with connect() as conn:
                rnd = random.Random(i)
                sql = f"SELECT id FROM rulake.search('{self.collection}', %s::ruvector, {K})"
                qs = [text(q) for q in self.queries]
                while not self.stop.is_set():
                    q = qs[rnd.randrange(len(qs))]
                    t0 = time.perf_counter()
                    conn.execute(sql, (q,)).fetchall()
                    self.latencies[i].append((time.perf_counter() - t0) * 1000)
        except Exception as e:  # noqa: BLE001 (reported in the table's notes)
            self.errors.append(f"reader {i}: {e}")

    def writer(self):
        if self.rate == 0:
            return
        try:
            with connect() as conn:
                rnd = np.random.default_rng(11)
                n = len(self.rows)
                interval = 1.0 / self.rate
                start = time.perf_counter()
                while not self.stop.is_set():
                    op = rnd.random()
                    v = text(self.rows[rnd.integers(n)] + rnd.normal(0, 0.5, self.rows.shape[1]))
                    if op < 0.5:
                        conn.execute(f"UPDATE {self.table} SET embedding = %s::ruvector WHERE id = %s",
                                     (v, int(rnd.integers(n))))
                    elif op < 0.75:
                        self.next_id += 1
                        conn.execute(f"INSERT INTO {self.table} VALUES (%s, %s::ruvector)", (self.next_id, v))
                    else:
                        conn.execute(f"DELETE FROM {self.table} WHERE id = %s", (int(rnd.integers(n)),))
                    self.writes += 1
                    wait = start + self.writes * interval - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"writer: {e}")

    def sampler(self):
        try:
            with connect() as conn:
                rnd = random.Random(99)
                while not self.stop.is_set():
                    q = text(self.queries[rnd.randrange(len(self.queries))])
                    with conn.transaction():
                        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        got = {r[0] for r in conn.execute(
                            f"SELECT id FROM rulake.search('{self.collection}', %s::ruvector, {K})", (q,))}
                        exact = {r[0] for r in conn.execute(
                            f"SELECT id FROM {self.table} ORDER BY embedding <-> %s::ruvector LIMIT {K}", (q,))}
                    self.recalls.append(len(got & exact) / K)
                    self.stop.wait(0.5)
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"sampler: {e}")

    def go(self):
        threads = [threading.Thread(target=self.reader, args=(i,)) for i in (0, 1)]
        threads += [threading.Thread(target=self.writer), threading.Thread(target=self.sampler)]
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        self.stop.set()
        for t in threads:
            t.join()


def stats(conn, collection):
    return conn.execute("SELECT hits, misses, primes, deltas FROM rulake.stats() WHERE collection = %s",
                        (collection,)).fetchone()


def main():
    admin = connect()
    rv.register_vector(admin)
    print("| data | mode | writes/s asked | writes/s done | searches/s | p50 ms | p99 ms | hit rate "
          "| primes | deltas | recall@10 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in DATASETS:
        rows, queries = clustered() if name == "clustered" else fashion_data()
        table = f"w_{name}"
        configs = [("fresh", "fresh", r, None, {}) for r in RATES]
        configs += [("eventual", "eventual", r, None, {}) for r in RATES if r > 0]
        configs += [("fresh, full re-prime", "fresh", r, "0", {}) for r in (10, 100) if r in RATES]
        configs += [(f"fresh, probes {TUNED_PROBES}", "fresh", r, None, {"probes": TUNED_PROBES})
                    for r in (0, 100) if r in RATES]
        for label, mode, rate, threshold, options in configs:
            # Each configuration starts from the loaded rows and a primed collection.
            load(admin, table, rows)
            coll = f"{name}_{mode}"
            admin.execute("SELECT rulake.unregister(name) FROM rulake.collections WHERE name = %s", (coll,))
            admin.execute("SELECT rulake.register(%s, %s, %s, %s::jsonb)",
                          (coll, f"table:public.{table}(id, embedding)", mode, json.dumps(options)))
            setting = threshold if threshold is not None else "DEFAULT"
            admin.execute(f"ALTER SYSTEM SET rulake.rebuild_threshold = {setting}")
            admin.execute("SELECT pg_reload_conf()")
            time.sleep(0.3)
            admin.execute(f"SELECT count(*) FROM rulake.search(%s, %s::ruvector, {K})", (coll, text(queries[0])))
            before = stats(admin, coll)
            run = Run(table, coll, rows, queries, rate)
            run.go()
            after = stats(admin, coll)
            hits, misses = after[0] - before[0], after[1] - before[1]
            lat = sorted(run.latencies[0] + run.latencies[1])
            qps = len(lat) / SECONDS
            p50 = statistics.median(lat) if lat else float("nan")
            p99 = lat[int(0.99 * (len(lat) - 1))] if lat else float("nan")
            recall = statistics.mean(run.recalls) if run.recalls else float("nan")
            print(f"| {name} {len(rows) // 1000}k x {rows.shape[1]} | {label} | {rate} | {run.writes / SECONDS:.0f} "
                  f"| {qps:.0f} | {p50:.2f} | {p99:.2f} | {hits / max(1, hits + misses):.3f} "
                  f"| {after[2] - before[2]} | {after[3] - before[3]} | {recall:.3f} ({len(run.recalls)}) |",
                  flush=True)
            for e in run.errors:
                print(f"  error: {e}", file=sys.stderr)
    admin.execute("ALTER SYSTEM RESET rulake.rebuild_threshold")
    admin.execute("SELECT pg_reload_conf()")


if __name__ == "__main__":
    main()
