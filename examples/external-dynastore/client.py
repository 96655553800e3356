#!/usr/bin/env python3
"""faultline external client for dynastore, over its HTTP API (doc/http_api.md).

Speaks faultline's external client protocol (README "External adapter
protocol"): one JSON request per line on stdin, one JSON reply per line on
stdout. Workloads: set (a JSON array stored as the value, siblings merged
by union) and register (the write id stored as the value; an rmw writes
with the context it read, so it supersedes every sibling it saw).
Python standard library only.
"""
import json
import os
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request

PORT = 8080  # the HTTP port setup.py puts in cluster.json
TIMEOUT = int(os.environ.get("FAULTLINE_OP_TIMEOUT_MS", "1000")) / 1000.0
NODES = json.loads(os.environ.get("FAULTLINE_NODES", "{}"))  # name -> address


class Unsent(Exception):
    """The request certainly did not reach the store."""


def http(address, method, path, body=None):
    """(status, parsed JSON body). Raises Unsent, or OSError when the outcome is unknown."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{address}:{PORT}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except urllib.error.URLError as e:
        if isinstance(e.reason, ConnectionRefusedError):
            raise Unsent(f"connection refused by {address}")
        raise OSError(str(e.reason))
    except (socket.timeout, TimeoutError):
        raise OSError(f"timeout after {TIMEOUT} s")


def kv(key):
    return "/kv/" + urllib.parse.quote(key, safe="")


def get(address, key):
    """(sibling strings, context); raises on anything but 200/404."""
    status, body = http(address, "GET", kv(key))
    if status not in (200, 404):
        raise Unsent(f"GET {status} {body.get('error')}: {body.get('message')}")
    return body["values"], body.get("context", "")


def put(address, key, value, context):
    """None when acknowledged; else ("fail"|"info", error)."""
    try:
        status, body = http(address, "PUT", kv(key), {"value": value, "context": context})
    except Unsent as e:
        return "fail", str(e)
    except OSError as e:
        return "info", f"PUT: {e}"
    if status == 200:
        return None
    error = f"PUT {status} {body.get('error')}: {body.get('message')}"
    if status == 503 and body.get("indeterminate") is False or 400 <= status < 500:
        return "fail", error
    return "info", error


def handle(req):
    f, key, value, address = req["f"], req["key"], req.get("value"), req["address"]
    workload = os.environ.get("FAULTLINE_WORKLOAD", "set")
    try:
        if f == "replica-read":
            return replica_read(key)
        siblings, context = get(address, key)
    except (Unsent, OSError) as e:
        # Nothing was written yet: whatever went wrong, a read or the read half of a write had no effect.
        return {"type": "fail", "error": f"GET: {e}"}
    if workload == "set":
        elements = sorted({e for s in siblings for e in json.loads(s)})
        if f == "read":
            return {"type": "ok", "value": elements}
        outcome = put(address, key, json.dumps(sorted(set(elements) | {value})), context)
        return {"type": "ok", "value": value} if outcome is None else {"type": outcome[0], "error": outcome[1]}
    if workload == "register":
        ids = sorted(int(s) for s in siblings)
        if f == "read":
            return {"type": "ok", "value": ids}
        result = {"read": ids, "write": value["write"]}
        outcome = put(address, key, str(value["write"]), context)
        if outcome is None:
            return {"type": "ok", "value": result}
        return {"type": outcome[0], "value": result, "error": outcome[1]}
    return {"type": "fail", "error": f"workload {workload} is not supported by this example"}


def replica_read(key):
    """Each replica's own versions (GET ?local=true) for the key's partition from /ring and /admin/digest."""
    ring = None
    partition = None
    for address in NODES.values():
        try:
            if ring is None:
                ring = http(address, "GET", "/ring")[1]["ring"]
            req = urllib.request.Request(f"http://{address}:{PORT}/admin/digest")
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                for line in r.read().decode().splitlines():
                    entry = json.loads(line)
                    if entry["key"] == key:
                        partition = entry["partition"]
                        break
        except (Unsent, OSError, KeyError, ValueError):
            continue
        if partition is not None:
            break
    if ring is None:
        return {"type": "fail", "error": "no node answered GET /ring"}
    if partition is None:  # no node stores the key: every node agrees it is missing
        return {"type": "ok", "value": {"replicas": {name: [] for name in NODES}}}
    replicas, errors = {}, []
    for name in ring[partition]["replicas"]:
        try:
            status, body = http(NODES[name], "GET", kv(key) + "?local=true")
            if status not in (200, 404):
                raise OSError(f"{status} {body.get('error')}")
            replicas[name] = sorted(body["values"])
        except (Unsent, OSError, KeyError) as e:
            errors.append(f"{name}: {e}")
    reply = {"type": "ok", "value": {"replicas": replicas}}
    if errors:
        reply["error"] = "cannot read replica " + "; ".join(errors)
    return reply


def main():
    # "client-ready": true in the config: say when requests may come, so the
    # main phase starts with this program up (README "External adapter protocol").
    if os.environ.get("FAULTLINE_READY_LINE") == "1":
        print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        reply = handle(req)
        reply["id"] = req["id"]
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
