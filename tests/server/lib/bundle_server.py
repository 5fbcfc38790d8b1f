#!/usr/bin/env python3
"""Serves a bundle directory over HTTP for tests/server/rulake_fetch.sh: listens on
127.0.0.1 (port argv[1], 0 = any), serves the bundle in directory argv[2], prints
"PORT <n>" and then one line per request, "GET <path>".

  /good/<file>     the bundle's files
  /endless/<file>  the bundle's sidecar; any other file is an endless body without
                   Content-Length, sent slowly (4 KiB every 50 ms) until the client leaves
"""
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the body of an answer without length ends with the connection

    def log_message(self, *args):
        pass

    def do_GET(self):
        print("GET " + self.path, flush=True)
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] not in ("good", "endless") or "/" in parts[1]:
            return self.send_error(404)
        kind, name = parts
        path = os.path.join(ROOT, name)
        if kind == "endless" and name != "table.rulake.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"\0" * 4096)
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                return
        if not os.path.isfile(path):
            return self.send_error(404)
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
print("PORT %d" % server.server_port, flush=True)
server.serve_forever()
