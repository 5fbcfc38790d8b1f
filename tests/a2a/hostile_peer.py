#!/usr/bin/env python3
"""A2A peers that misbehave, for tests/server/a2a_dispatch.sh: what the official SDK
will not do. Listens on 127.0.0.1 (port argv[1], 0 = any) and prints "PORT <n>".

  /flaky     v1.0, not streaming: the first two sends answer 503, then a completed task
  /garbage   every answer is not JSON
  /huge      SendMessage answers an endless body (the byte limit must stop it)
  /endless   streaming: status updates forever (the byte limit or deadline must stop it)
  /redirect  the card redirects to another host (must not be followed)
  /echo      completes at once with the message's text; GET /echo/last-auth answers the
             Authorization header of the last send (to see whose credentials went out)
  /hang      reads the send and never answers (a task stays in flight)
  /deep      SendMessage answers a task nested 300,000 arrays deep (~600 KB)
  /deepsse   streaming: one event nested 300,000 arrays deep
  /deepcard  the card has "signatures" and a member nested 300,000 arrays deep
  /nul       completes with a text part holding the JSON escape \u0000
  /badid     answers a completed task under another JSON-RPC id
  /bigheader answers with a 300 KB response header
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sends = {"flaky": 0}
last_auth = {"echo": ""}
DEEP = 300000


def deep(n=DEEP):
    return "[" * n + "]" * n


def completed(rid, text, task_id="t"):
    task = {"id": task_id, "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"},
            "artifacts": [{"artifactId": "a", "parts": [{"text": text}]}]}
    return json.dumps({"jsonrpc": "2.0", "id": rid, "result": {"task": task}})


def card(base, name, streaming):
    return {
        "name": name,
        "description": "hostile test peer",
        "version": "1.0.0",
        "capabilities": {"streaming": streaming},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [],
        "supportedInterfaces": [
            {"url": base + "/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json", extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client that refused what it was sent

    def do_GET(self):
        agent = self.path.strip("/").split("/")[0]
        if self.path == "/echo/last-auth":
            return self.reply(200, last_auth["echo"], ctype="text/plain")
        if not self.path.endswith("/.well-known/agent-card.json"):
            return self.reply(404, "{}")
        if agent == "redirect":
            return self.reply(302, "", extra={"Location": "http://elsewhere.example/card"})
        base = "http://127.0.0.1:%d/%s" % (self.server.server_port, agent)
        body = json.dumps(card(base, agent, agent in ("endless", "deepsse")))
        if agent == "deepcard":
            sig = '"signatures":[{"protected":"eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ","signature":"AA"}]'
            body = body[:-1] + "," + sig + ',"x":' + deep() + "}"
        self.reply(200, body)

    def do_POST(self):
        agent = self.path.strip("/").split("/")[0]
        length = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(length) or b"{}")
        rid = req.get("id")
        if agent == "garbage":
            return self.reply(200, "this is not JSON {")
        if agent == "echo":
            last_auth["echo"] = self.headers.get("Authorization", "")
            parts = req.get("params", {}).get("message", {}).get("parts", [{}])
            return self.reply(200, completed(rid, parts[0].get("text", ""), "echo-" + str(rid)))
        if agent == "hang":
            time.sleep(3600)
            return None
        if agent == "deep":
            body = completed(rid, "x")
            return self.reply(200, body[:-2] + ',"extra":' + deep() + "}}")
        if agent == "nul":
            return self.reply(200, completed(rid, "a\u0000b"))  # json.dumps writes \u0000
        if agent == "badid":
            return self.reply(200, completed(str(rid) + "-other", "x"))
        if agent == "bigheader":
            return self.reply(200, completed(rid, "x"), extra={"X-Big": "y" * 300000})
        if agent == "deepsse":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            ev = ('{"jsonrpc":"2.0","id":%s,"result":{"statusUpdate":{"taskId":"d","contextId":"c",'
                  '"status":{"state":"TASK_STATE_WORKING"},"x":%s}}}' % (json.dumps(rid), deep()))
            try:
                self.wfile.write(b"data: " + ev.encode() + b"\n\n")
                self.wfile.flush()
                time.sleep(2)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if agent == "flaky":
            sends["flaky"] += 1
            if sends["flaky"] <= 2:
                return self.reply(503, "busy")
            task = {"id": "flaky-task", "contextId": "c",
                    "status": {"state": "TASK_STATE_COMPLETED"},
                    "artifacts": [{"artifactId": "a", "parts": [{"text": "finally"}]}]}
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": rid, "result": {"task": task}}))
        if agent == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b"[" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return
        if agent == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            n = 0
            try:
                while True:
                    n += 1
                    ev = {"jsonrpc": "2.0", "id": rid, "result": {"statusUpdate": {
                        "taskId": "endless-task", "contextId": "c",
                        "status": {"state": "TASK_STATE_WORKING",
                                   "message": {"role": "ROLE_AGENT", "messageId": str(n),
                                               "parts": [{"text": "x" * 4000}]}}}}}
                    self.wfile.write(b"data: " + json.dumps(ev).encode() + b"\n\n")
                    self.wfile.flush()
                    time.sleep(0.002)
            except (BrokenPipeError, ConnectionResetError):
                return
        self.reply(404, "{}")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
