#!/usr/bin/env python3
"""What a new user gets on Fashion-MNIST (issue #25 goal 1): default column storage, default
index options, default maintenance_work_mem, and the query an application sends through
psycopg 3 -- `SELECT id FROM items ORDER BY embedding <-> %s LIMIT 10` -- with the vector as a
text literal (a str, sent as text of unknown type) and as a binary parameter (the type's recv
format). rabitq on ruvector(784) against pgvector's HNSW on vector(784) when `vector` is
available. Connects through the libpq environment (PGHOST, PGPORT, ...) to a server with
ruvector preloaded; bench/defaults_fashion.sh starts one. Settings by environment:
  QUERIES (1000)  SECONDS (3, timed per setting and client count)  CLIENTS ("1 4")
  MODES ("text binary")  PROBES ("4 6 8 12 16")  EF_SEARCH ("10 20 40 80")
  REPEAT (1: timed runs per cell, each after its own warm-up pass; the median is shown)
  FASHION_MNIST_DIR (/usr/share/datasets/fashion-mnist)
  TUNED (1: also a tuned rabitq beside the defaults, "rabitq copies": a copy of the table
         whose index keeps copies of the vectors, WITH (rerank_from_heap = false); 0: not)
  DATASET (fashion: the 60k training images; fashion_dup: each of them COPIES (16) times,
           the image itself then copies with rounded Gaussian noise of SIGMA (2) per pixel,
           clipped to 0..255 -- tools/gen_hard.cpp's "dup" recipe drawn with numpy, ~1M
           rows whose ten nearest are groups of near-duplicates (issue #25 goal 4))
"""
import gzip
import multiprocessing as mp
import os
import struct
import sys
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
import ruvector.psycopg as rv  # noqa: E402
from psycopg import pq
from psycopg.adapt import Dumper

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
QUERIES = int(os.environ.get("QUERIES", "1000"))
SECONDS = float(os.environ.get("SECONDS", "3"))
CLIENTS = [int(c) for c in os.environ.get("CLIENTS", "1 4").split()]
MODES = os.environ.get("MODES", "text binary").split()
PROBES = [int(p) for p in os.environ.get("PROBES", "4 6 8 12 16").split()]
EF_SEARCH = [int(e) for e in os.environ.get("EF_SEARCH", "10 20 40 80").split()]
REPEAT = int(os.environ.get("REPEAT", "1"))  # timed runs per cell; the table shows the median
TUNED = os.environ.get("TUNED", "1") == "1"
DATASET = os.environ.get("DATASET", "fashion")
COPIES = int(os.environ.get("COPIES", "16"))
SIGMA = float(os.environ.get("SIGMA", "2"))
K = 10
FLOORS = (0.95, 0.99)
QUERY_SQL = {  # the statement an application writes, per table
    "items": "SELECT id FROM items ORDER BY embedding <-> {} LIMIT 10",
    "items_pg": "SELECT id FROM items_pg ORDER BY embedding <-> {} LIMIT 10",
    "items_tuned": "SELECT id FROM items_tuned ORDER BY embedding <-> {} LIMIT 10",
    # The harness's ceiling: the same client, round trip and parameter parsing, no search.
    "harness": "SELECT {}::ruvector IS NOT NULL",
}
TYPE_OF = {"items": "ruvector", "items_pg": "vector", "items_tuned": "ruvector",
           "harness": "ruvector"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_idx_images(path):
    with gzip.open(path) as f:
        raw = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 0x803:
        sys.exit(f"{path}: not an IDX image file")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols)


def vector_text(row):
    return "[" + ",".join(map(str, row.tolist())) + "]"


class BinaryVector:
    """A query vector to be sent in the binary format of the column's type."""

    def __init__(self, values):
        # Both types' recv reads int16 dim, int16 unused, then big-endian float4s (the
        # layout of pgvector's vector_recv, which ruvector_recv copies).
        self.wire = struct.pack(">hh", len(values), 0) + values.astype(">f4").tobytes()


def binary_dumper(type_oid):
    class VectorBinaryDumper(Dumper):
        format = pq.Format.BINARY
        oid = type_oid

        def dump(self, obj):
            return obj.wire

    return VectorBinaryDumper


def connect(table):
    conn = psycopg.connect(autocommit=True)
    oid = conn.execute("SELECT %s::regtype::oid", (TYPE_OF[table],)).fetchone()[0]
    conn.adapters.register_dumper(BinaryVector, binary_dumper(oid))
    return conn


def client(table, mode, gucs, queries, seconds, first_pass, barrier, out):
    """One application connection: a warm-up pass over its queries (whose answers give the
    recall), then as many passes as fit in `seconds` after all clients are ready. Puts
    (QPS, answers) or (None, error); an error breaks the barrier so no client waits on it."""
    try:
        out.put(client_passes(table, mode, gucs, queries, seconds, first_pass, barrier))
    except Exception as e:  # reported by run_clients, which ends the run
        barrier.abort()
        out.put((None, f"{type(e).__name__}: {e}"))


def client_passes(table, mode, gucs, queries, seconds, first_pass, barrier):
    with connect(table) as conn:
        for guc in gucs:
            conn.execute(guc)
        placeholder = "%s" if mode == "text" else "%b"
        sql = QUERY_SQL[table].format(placeholder)
        cur = conn.cursor()
        answers = []
        for q in queries:
            cur.execute(sql, (q,))
            answers.append([r[0] for r in cur.fetchall()])
        barrier.wait(timeout=600)
        done = 0
        t0 = time.perf_counter()
        deadline = t0 + seconds
        while time.perf_counter() < deadline:
            for q in queries:
                cur.execute(sql, (q,))
                cur.fetchall()
                done += 1
                if done % 50 == 0 and time.perf_counter() >= deadline:
                    break
        elapsed = time.perf_counter() - t0
    return done / elapsed, answers if first_pass else None


def run_clients(table, mode, gucs, queries, n):
    """Aggregate QPS of n concurrent clients splitting the queries, and the answers of a
    single client's pass over all of them (n == 1)."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(n)
    out = ctx.Queue()
    shares = [queries[i::n] for i in range(n)]
    procs = [
        ctx.Process(target=client,
                    args=(table, mode, gucs, shares[i], SECONDS, n == 1, barrier, out))
        for i in range(n)
    ]
    for p in procs:
        p.start()
    # A client that dies without reporting (killed) ends the run rather than hanging it.
    results = [out.get(timeout=SECONDS + 600) for _ in procs]
    for p in procs:
        p.join()
    errors = [r[1] for r in results if r[0] is None]
    if errors:
        sys.exit(f"{table} {mode} {gucs}, {n} client(s): {errors[0]}")
    return sum(r[0] for r in results), results[0][1]


def recall(answers, base, test, threshold, top_ids):
    """recall@10 counting any row as close as the 10th true neighbour, as ann-benchmarks
    does (integer pixel distances tie, so the top-10 id set is ambiguous), and the share
    of the exact top-10 ids returned (what bench/ann_fashion.sh reports)."""
    hits = same = 0
    for qi, ids in enumerate(answers):
        if len(ids) != K:
            sys.exit(f"query {qi} returned {len(ids)} rows")
        d = ((base[ids].astype(np.float64) - test[qi]) ** 2).sum(axis=1)
        hits += int((d <= threshold[qi]).sum())
        same += len(set(ids) & set(top_ids[qi].tolist()))
    return hits / (K * len(answers)), same / (K * len(answers))


def exact_top(base, test):
    """Squared distances of the 10 nearest rows of each query (exact in float64: integer
    pixels)."""
    b = base.astype(np.float64)
    bn = (b * b).sum(axis=1)
    top_ids = np.empty((len(test), K), dtype=np.int64)
    top_d = np.empty((len(test), K))
    for s in range(0, len(test), 100):
        q = test[s:s + 100].astype(np.float64)
        d = bn[None, :] - 2.0 * q @ b.T + (q * q).sum(axis=1)[:, None]
        idx = np.argpartition(d, K, axis=1)[:, :K]
        dk = np.take_along_axis(d, idx, axis=1)
        order = np.argsort(dk, axis=1)
        top_ids[s:s + 100] = np.take_along_axis(idx, order, axis=1)
        top_d[s:s + 100] = np.take_along_axis(dk, order, axis=1)
    return top_ids, np.rint(top_d)


def timed(conn, sql):
    t0 = time.perf_counter()
    conn.execute(sql)
    return time.perf_counter() - t0


def load(conn, tables, base):
    """Binary COPY through the Python client's loader (both types read pgvector's binary
    layout)."""
    for table, type_name in tables:
        conn.execute(f"CREATE TABLE {table} (id int, embedding {type_name}(784))")
        t0 = time.perf_counter()
        rv.load(conn, table, np.arange(len(base)), base)
        log(f"loaded {table}: {time.perf_counter() - t0:.1f} s")
        conn.execute(f"VACUUM ANALYZE {table}")


def check_truth(conn, table, test, top_d):
    """The loaded rows are the arrays the truth was computed from: a few exact scans in SQL
    (no index exists yet) return rows at the true distances."""
    for qi in (0, 1, QUERIES - 1):
        rows = conn.execute(
            f"SELECT (embedding <-> %s)::float8 FROM {table} ORDER BY embedding <-> %s LIMIT 10",
            (vector_text(test[qi]), vector_text(test[qi]))).fetchall()
        got = np.array([r[0] for r in rows]) ** 2
        if not np.allclose(got, top_d[qi], rtol=1e-4, atol=1e-2):
            sys.exit(f"{table}: exact scan of query {qi} disagrees with the numpy truth:\n"
                     f"{got}\n{top_d[qi]}")


def assert_index_scan(conn, table, index, gucs, query):
    for guc in gucs:
        conn.execute(guc)
    plan = "\n".join(r[0] for r in conn.execute(
        "EXPLAIN " + QUERY_SQL[table].format("%s"), (query,)).fetchall())
    if f"Index Scan using {index}" not in plan:
        sys.exit(f"the query does not use {index}:\n{plan}")


def near_duplicates(images):
    """Each image COPIES times: itself, then with rounded N(0, SIGMA) noise per pixel,
    clipped to 0..255 (tools/gen_hard.cpp's dup, another generator)."""
    rng = np.random.default_rng(7)
    out = np.repeat(images, COPIES, axis=0)
    for s in range(0, len(out), 60000):
        part = out[s:s + 60000].astype(np.int16)
        noise = np.rint(SIGMA * rng.standard_normal(part.shape)).astype(np.int16)
        noise[(np.arange(s, s + len(part)) % COPIES) == 0] = 0  # the image itself
        out[s:s + 60000] = np.clip(part + noise, 0, 255).astype(np.uint8)
    return out


def main():
    base = read_idx_images(f"{DATA}/train-images-idx3-ubyte.gz")
    if DATASET == "fashion_dup":
        base = near_duplicates(base)
    elif DATASET != "fashion":
        sys.exit(f"DATASET is fashion or fashion_dup, not {DATASET}")
    test = read_idx_images(f"{DATA}/t10k-images-idx3-ubyte.gz")[:QUERIES]
    t0 = time.perf_counter()
    top_ids, top_d = exact_top(base, test)
    threshold = top_d[:, K - 1] + 1e-6
    log(f"exact top 10 of {QUERIES} queries (numpy): {time.perf_counter() - t0:.1f} s")

    conn = psycopg.connect(autocommit=True)
    have_pgvector = conn.execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'").fetchone()[0] == 1
    conn.execute("CREATE EXTENSION ruvector")
    tables = [("items", "ruvector")]
    if have_pgvector:
        conn.execute("CREATE EXTENSION vector")
        tables.append(("items_pg", "vector"))
    else:
        log("the vector extension is not available: rabitq only")
    load(conn, tables, base)
    for table, _ in tables:
        check_truth(conn, table, test, top_d)

    settings = conn.execute("SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) "
                            "FROM pg_settings WHERE name IN ('shared_buffers', "
                            "'maintenance_work_mem', 'max_parallel_maintenance_workers', "
                            "'max_parallel_workers_per_gather', 'jit')").fetchone()[0]
    versions = conn.execute("SELECT string_agg(extname || ' ' || extversion, ', ') "
                            "FROM pg_extension WHERE extname IN ('ruvector', 'vector')"
                            ).fetchone()[0]
    indexes = [("rabitq", "items", "items_embedding_idx",
                "CREATE INDEX ON items USING rabitq (embedding)",
                [(f"probes={p}", [f"SET rabitq.probes = {p}"]) for p in PROBES])]
    if TUNED:
        # The same rows as stored (compressed where they compress), another index layout.
        conn.execute("CREATE TABLE items_tuned AS SELECT * FROM items")
        conn.execute("VACUUM ANALYZE items_tuned")
        indexes.append(("rabitq copies", "items_tuned", "items_tuned_idx",
                        "CREATE INDEX items_tuned_idx ON items_tuned USING rabitq (embedding) "
                        "WITH (rerank_from_heap = false)",
                        [(f"probes={p}", [f"SET rabitq.probes = {p}"]) for p in PROBES]))
    if have_pgvector:
        indexes.append(("hnsw", "items_pg", "items_pg_embedding_idx",
                        "CREATE INDEX ON items_pg USING hnsw (embedding vector_l2_ops)",
                        [(f"ef_search={e}", [f"SET hnsw.ef_search = {e}"]) for e in EF_SEARCH]))

    info = {}  # index -> (build s, index MB, table MB)
    rows = []  # (index, setting, mode, recall, {clients: qps})
    queries = {"text": [vector_text(q) for q in test],
               "binary": [BinaryVector(q) for q in test]}
    for name, table, index, create, sweep in indexes:
        build = timed(conn, create)
        index_mb, table_mb = conn.execute(
            "SELECT pg_relation_size(%s::regclass) / 1048576.0, "
            "pg_table_size(%s::regclass) / 1048576.0", (index, table)).fetchone()
        info[name] = (build, float(index_mb), float(table_mb))
        log(f"{name}: built in {build:.1f} s, {index_mb:.1f} MB")
        for setting, gucs in sweep:
            assert_index_scan(conn, table, index, gucs, queries["text"][0])
            for mode in MODES:
                qps = {}
                r = id_r = None
                for n in CLIENTS:
                    runs = []
                    for _ in range(REPEAT):
                        q, answers = run_clients(table, mode, gucs, queries[mode], n)
                        runs.append(q)
                    qps[n] = float(np.median(runs))
                    if answers is not None:
                        r, id_r = recall(answers, base, test, threshold, top_ids)
                rows.append((name, setting, mode, r, id_r, qps))
                log(f"{name} {setting} {mode}: recall {r} ids {id_r} QPS "
                    + " ".join(f"{n}:{q:.0f}" for n, q in qps.items()))
    for mode in MODES:
        qps = {n: run_clients("harness", mode, [], queries[mode], n)[0] for n in CLIENTS}
        rows.append(("harness", QUERY_SQL["harness"].format("$1"), mode, None, None, qps))
    report(rows, info, settings, versions)


def fmt_recall(r):
    return "-" if r is None else f"{r:.3f}"


def report(rows, info, settings, versions):
    name = "Fashion-MNIST 60k x 784" if DATASET == "fashion" else \
        f"Fashion-MNIST near-duplicates {60000 * COPIES // 1000}k x 784 (COPIES {COPIES}, SIGMA {SIGMA:g})"
    print(f"{name}, L2, k = 10, {QUERIES} queries, {os.cpu_count()} CPUs, "
          f"median of {REPEAT} run(s) of {SECONDS:g} s per cell, each after a warm-up pass; {versions}; {settings}")
    print()
    print("| index | build s | index MB | table MB |")
    print("|---|---|---|---|")
    for name, (build, index_mb, table_mb) in info.items():
        print(f"| {name} | {build:.1f} | {index_mb:.1f} | {table_mb:.1f} |")
    for rabitq in [x for x in ("rabitq", "rabitq copies") if x in info and "hnsw" in info]:
        print(f"\nindex size {rabitq} / hnsw: {info[rabitq][1] / info['hnsw'][1]:.3f}x; "
              f"build time {rabitq} / hnsw: {info[rabitq][0] / info['hnsw'][0]:.3f}x")
    for mode in MODES:
        print(f"\n{mode} parameter:\n")
        print("| index | setting | recall@10 | exact ids | " +
              " | ".join(f"QPS {n} client{'s' if n > 1 else ''}" for n in CLIENTS) + " |")
        print("|---|---|---|---|" + "---|" * len(CLIENTS))
        for name, setting, m, r, id_r, qps in rows:
            if m == mode:
                print(f"| {name} | {setting} | {fmt_recall(r)} | {fmt_recall(id_r)} | " +
                      " | ".join(f"{qps[n]:.0f}" for n in CLIENTS) + " |")
    if "hnsw" not in info:
        return
    for rabitq in [x for x in ("rabitq", "rabitq copies") if x in info]:
        floor_table(rows, rabitq)


def floor_table(rows, rabitq):
    print(f"\nThe fastest setting of {rabitq} and hnsw at a recall floor (recall@10 with ties "
          "counted); ratio = rabitq QPS / hnsw QPS:\n")
    print(f"| parameter | clients | recall floor | {rabitq} (setting, recall, QPS) | "
          "hnsw (setting, recall, QPS) | ratio |")
    print("|---|---|---|---|---|---|")
    for mode in MODES:
        for n in CLIENTS:
            for floor in FLOORS:
                best = {}
                for name, setting, m, r, _, qps in rows:
                    if name not in (rabitq, "hnsw"):
                        continue
                    if m == mode and r is not None and r >= floor and \
                            (name not in best or qps[n] > best[name][2]):
                        best[name] = (setting, r, qps[n])
                cells = [f"{best[x][0]}, {best[x][1]:.3f}, {best[x][2]:.0f}" if x in best
                         else "none reaches it" for x in (rabitq, "hnsw")]
                ratio = (f"{best[rabitq][2] / best['hnsw'][2]:.2f}x"
                         if len(best) == 2 else "-")
                print(f"| {mode} | {n} | {floor} | {cells[0]} | {cells[1]} | {ratio} |")


if __name__ == "__main__":
    main()
