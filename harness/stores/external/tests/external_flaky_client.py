#!/usr/bin/env python3
"""Test fixture: an external client that misbehaves on purpose.

  external_flaky_client.py BACKEND MODE N
BACKEND: memory (an in-process set store; no real store needed) or
dynastore (the example client, examples/external-dynastore/client.py).
MODE on the Nth add of this process: none, crash (exit 3 after writing
to stderr), hang (never answer), garbage (print a non-JSON line), wrong-id
(answer with another id). Every other request is served: only adds count,
so a run's final reads (reads, from fresh processes) always get answers;
with N=1 the misbehaviour happens in the main phase however slow the
machine (its first op on each worker is an add).
f "replica-read" is answered "unsupported" by the memory backend.
With FAULTLINE_READY_LINE=1 it first prints the ready line {"ready":true},
except in MODE not-ready (prints none), bad-ready (prints {"ready":false}
instead) and slow-ready (prints it after half a second).
"""
import json
import os
import sys
import time

backend, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if backend == "dynastore":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "examples", "external-dynastore"))
    import client as real  # noqa: E402

store = {}


def memory(req):
    f, key = req["f"], req["key"]
    if f == "replica-read":
        return {"type": "fail", "error": "unsupported"}
    if f == "add":
        store.setdefault(key, set()).add(req["value"])
        return {"type": "ok", "value": req["value"]}
    if f == "read":
        return {"type": "ok", "value": sorted(store.get(key, set()))}
    return {"type": "fail", "error": "unknown f " + f}


if os.environ.get("FAULTLINE_READY_LINE") == "1" and mode != "not-ready":
    if mode == "slow-ready":
        time.sleep(0.5)
    print(json.dumps({"ready": mode != "bad-ready"}), flush=True)

adds = 0
for line in sys.stdin:
    req = json.loads(line)
    adds += 1 if req["f"] == "add" else 0
    bad = req["f"] == "add" and adds == n
    if bad and mode == "crash":
        sys.stderr.write("flaky client: crashing on purpose\n")
        sys.stderr.flush()
        sys.exit(3)
    if bad and mode == "hang":
        time.sleep(3600)
    if bad and mode == "garbage":
        print("this is not json {", flush=True)
        continue
    reply = memory(req) if backend == "memory" else real.handle(req)
    reply["id"] = req["id"] + (1000 if bad and mode == "wrong-id" else 0)
    print(json.dumps(reply), flush=True)
