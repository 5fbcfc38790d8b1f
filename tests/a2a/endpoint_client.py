#!/usr/bin/env python3
"""Stand-in for tests/a2a/peer/endpoint_client.mjs where node or npm is unavailable: the same
arguments and output, A2A v1.0 JSON-RPC written by hand (tests/server/a2a_endpoint.sh).

    endpoint_client.py <base-url> <token> <data-part-json>
"""
import json
import sys
import urllib.error
import urllib.request
import uuid

base, token, data = sys.argv[1:]
try:
    with urllib.request.urlopen(urllib.request.Request(
            base + ".well-known/agent-card.json", headers={"A2A-Version": "1.0"})) as r:
        card = json.load(r)
except (OSError, ValueError) as e:
    print(f"discovery failed: {e}", file=sys.stderr)
    sys.exit(1)
skills = [s["id"] for s in card["skills"]]
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
    "messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"data": json.loads(data)}]}}})
request = urllib.request.Request(card["supportedInterfaces"][0]["url"], data=body.encode(), headers={
    "Content-Type": "application/json", "A2A-Version": "1.0", "Authorization": "Bearer " + token})
try:
    with urllib.request.urlopen(request) as r:
        answer = json.load(r)
except urllib.error.HTTPError as e:
    answer = json.load(e)
if "error" in answer:
    print(json.dumps({"skills": skills, "error": answer["error"]["message"],
                      "code": answer["error"]["code"]}))
else:
    part = next(p for p in answer["result"]["message"]["parts"] if "data" in p)
    print(json.dumps({"skills": skills, "results": part["data"]["results"]}))
