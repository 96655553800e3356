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
from urllib.parse import quote

PORT = 8080  # the HTTP port setup.py puts in cluster.json
TIMEOUT = int(os.environ.get("FAULTLINE_OP_TIMEOUT_MS", "1000")) / 1000.0
NODES = json.loads(os.environ.get("FAULTLINE_NODES", "{}"))  # name -> address


class Unsent(Exception):
    """The request certainly did not reach the store."""


def http(address, method, path, body=None, timeout=TIMEOUT):
    """(status, raw body bytes). Raises Unsent, or OSError when the outcome is unknown.

    One HTTP/1.0 exchange on a fresh connection (the server closes it after
    the reply, so the body is everything up to EOF). Plain sockets rather
    than urllib.request: the harness starts a client per worker, and again
    after every crash, and urllib's imports triple Python's start-up time.
    """
    data = b"" if body is None else json.dumps(body).encode()
    head = (f"{method} {path} HTTP/1.0\r\nHost: {address}:{PORT}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n")
    try:
        sock = socket.create_connection((address, PORT), timeout=timeout)
    except ConnectionRefusedError:
        raise Unsent(f"connection refused by {address}")
    except OSError as e:  # not connected: nothing was sent
        raise Unsent(f"cannot connect to {address}: {e}")
    try:
        with sock:
            sock.sendall(head.encode() + data)
            reply = bytearray()
            while chunk := sock.recv(65536):
                reply += chunk
    except (socket.timeout, TimeoutError):
        raise OSError(f"timeout after {timeout} s")
    header, sep, raw = bytes(reply).partition(b"\r\n\r\n")
    status_line = header.split(b"\r\n", 1)[0].split()
    if not sep or len(status_line) < 2 or not status_line[1].isdigit():
        raise OSError(f"malformed HTTP reply from {address}: {bytes(reply[:80])!r}")
    return int(status_line[1]), raw


def call(address, method, path, body=None, timeout=TIMEOUT):
    """(status, parsed JSON body); raises as http()."""
    status, raw = http(address, method, path, body, timeout)
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        raise OSError(f"{method} {path}: {status} with a body that is not JSON")


def kv(key):
    return "/kv/" + quote(key, safe="")


def get(address, key):
    """(sibling strings, context); raises on anything but 200/404."""
    status, body = call(address, "GET", kv(key))
    if status not in (200, 404):
        raise Unsent(f"GET {status} {body.get('error')}: {body.get('message')}")
    return body["values"], body.get("context", "")


def put(address, key, value, context):
    """None when acknowledged; else ("fail"|"info", error)."""
    try:
        status, body = call(address, "PUT", kv(key), {"value": value, "context": context})
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
                ring = call(address, "GET", "/ring")[1]["ring"]
            status, digest = http(address, "GET", "/admin/digest")
            if status != 200:
                raise OSError(f"GET /admin/digest {status}")
            for line in digest.decode().splitlines():
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
            status, body = call(NODES[name], "GET", kv(key) + "?local=true")
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
