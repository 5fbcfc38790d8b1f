#!/usr/bin/env python3
"""A peer of the pre-0.3 draft A2A protocol as RuVector's Rust rvagent-a2a serves it
(crates/rvAgent/rvagent-a2a/src/server/{mod,json_rpc,sse}.rs, types.rs, identity.rs),
for tests/server/draft_a2a.sh. Written from those files: no Rust build is needed.

Listens on 127.0.0.1 (argv[1], 0 = any), prints "PORT <n> KEY <hex public key>".
Each agent lives under /<name>: GET /<name>/.well-known/agent.json is its card (no
protocolVersion, `url` only, signed ed25519-hex in metadata.ruvector.signature), POST
/<name> is JSON-RPC (tasks/send, tasks/sendSubscribe, tasks/get, tasks/cancel; anything
else is -32600 "method not found: X", as the Rust dispatch answers), and GET
/<name>/tasks/sendSubscribe?id=T streams "status" events for task T.

  /echo      completes with an artifact holding the message text and the context received
  /stream    streams submitted, working, then completed (capabilities.streaming)
  /slow      streams working until canceled (tasks/send answers once canceled)
  /tampered  its card is altered after signing
  /v03       its card claims protocolVersion 0.3.0 (so the client speaks v0.3 to it)
GET /last/<name> answers the last TaskSpec (params) that agent received.
"""
import json
import queue
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY = Ed25519PrivateKey.generate()
PUB = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
AGENTS = ("echo", "stream", "slow", "tampered", "v03")
tasks = {}  # id -> Task
last = {}  # agent -> TaskSpec
streams = {}  # task id -> [queue] of subscribers
canceled = set()
lock = threading.Lock()


def now():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def canonical(v):
    # identity.rs: keys sorted, no whitespace, serde_json string escapes.
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + canonical(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def card(name, port):
    c = {
        "name": name, "description": "draft peer " + name,
        "url": "http://127.0.0.1:%d/%s" % (port, name),
        "provider": {"organization": "ruvector tests"}, "version": "0.1.0",
        "capabilities": {"streaming": name in ("stream", "slow"), "pushNotifications": False},
        "skills": [{"id": "echo", "name": "echo", "description": "echo", "tags": ["test"],
                    "inputModes": ["text/plain"], "outputModes": ["text/plain"]}],
        "authentication": {"schemes": []}, "metadata": {"ruvector": {}},
    }
    if name == "v03":
        c["protocolVersion"] = "0.3.0"
    sig = KEY.sign(canonical(c).encode()).hex()
    c["metadata"]["ruvector"]["signature"] = {
        "alg": "ed25519-hex", "signature": sig, "public_key": PUB}
    if name == "tampered":
        c["description"] = "altered after signing"
    return c


def publish(task_id, kind, event):
    with lock:
        subs = list(streams.get(task_id, []))
    for q in subs:
        q.put((kind, event))


def status(task_id, state, final):
    ev = {"id": task_id, "status": {"state": state, "timestamp": now()}, "final": final,
          "metadata": None}
    publish(task_id, "status", ev)


def run(agent, spec):
    tid = spec["id"]
    text = " ".join(p.get("text", "") for p in spec["message"]["parts"] if p.get("type") == "text")
    status(tid, "submitted", False)
    state = "completed"
    if agent == "stream":
        time.sleep(0.2)
        status(tid, "working", False)
        time.sleep(0.2)
    if agent == "slow":
        status(tid, "working", False)
        for _ in range(300):
            if tid in canceled:
                break
            time.sleep(0.1)
        state = "canceled" if tid in canceled else "completed"
    status(tid, state, True)
    return {
        "id": tid, "status": {"state": state, "timestamp": now()},
        "history": [spec["message"]],
        "artifacts": [{"parts": [{"type": "text", "text": "echo: " + text},
                                 {"type": "data", "data": {"context": spec["context"]}}],
                       "index": 0, "append": False, "lastChunk": True, "metadata": None}],
        "metadata": spec.get("metadata"),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, obj, code=200):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        parts = u.path.strip("/").split("/")
        if parts[0] == "last" and len(parts) == 2:
            return self.send_json(last.get(parts[1]))
        if len(parts) == 3 and parts[0] in AGENTS and parts[1:] == [".well-known", "agent.json"]:
            return self.send_json(card(parts[0], self.server.server_address[1]))
        if len(parts) == 3 and parts[0] in AGENTS and parts[1:] == ["tasks", "sendSubscribe"]:
            return self.subscribe(parse_qs(u.query)["id"][0])
        self.send_json({"error": "not found"}, 404)

    def subscribe(self, task_id):
        q = queue.Queue()
        with lock:
            streams.setdefault(task_id, []).append(q)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()  # no length: the stream ends when the connection closes
        self.wfile.flush()
        try:
            while True:
                try:
                    kind, ev = q.get(timeout=15)
                except queue.Empty:
                    self.wfile.write(b":\n\n")  # keep-alive, as axum's KeepAlive
                    self.wfile.flush()
                    continue
                self.wfile.write(("event: %s\ndata: %s\n\n" % (kind, json.dumps(ev))).encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with lock:
                streams[task_id].remove(q)
        self.close_connection = True

    def do_POST(self):
        agent = self.path.strip("/")
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        rid, method, params = req.get("id"), req.get("method"), req.get("params") or {}
        if method in ("tasks/send", "tasks/sendSubscribe"):
            for k in ("id", "skill", "message", "context"):
                if k not in params:
                    return self.send_json({"jsonrpc": "2.0", "id": rid, "error": {
                        "code": -32600, "message": "tasks/send: invalid params: missing field `%s`" % k}})
            last[agent] = params
            task = run(agent, params)
            with lock:
                tasks[task["id"]] = task
            return self.send_json({"jsonrpc": "2.0", "id": rid, "result": task})
        if method == "tasks/get":
            t = tasks.get(params.get("id"))
            if t is None:
                return self.send_json({"jsonrpc": "2.0", "id": rid, "error": {
                    "code": -32010, "message": "not found: task %s" % params.get("id")}})
            return self.send_json({"jsonrpc": "2.0", "id": rid, "result": t})
        if method == "tasks/cancel":
            canceled.add(params.get("id"))
            return self.send_json({"jsonrpc": "2.0", "id": rid,
                                   "result": {"id": params.get("id"), "canceled": True}})
        self.send_json({"jsonrpc": "2.0", "id": rid, "error": {
            "code": -32600, "message": "method not found: %s" % method}})


if __name__ == "__main__":
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    srv.daemon_threads = True
    print("PORT %d KEY %s" % (srv.server_address[1], PUB), flush=True)
    srv.serve_forever()
