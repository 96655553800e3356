#!/usr/bin/env python3
"""Lifecycle helpers for the external-dynastore example (run on each node).

  setup.py install DIR NODES   write DIR/cluster.json for NODES ("n1=ADDR,n2=ADDR,...")
  setup.py health ADDRESS NAME exit 0 when dynastore at ADDRESS answers /status as NAME
                               and sees every member of its cluster up (ready to serve)
"""
import json
import sys

from client import Unsent, call  # the client's HTTP (next to this file)


def install(directory, nodes):
    members = [pair.split("=", 1) for pair in nodes.split(",")]
    cluster = {
        "n": 3, "r": 2, "w": 2, "partitions": 64,
        "nodes": [{"id": name, "http": f"{addr}:8080", "rpc": f"{addr}:8081"} for name, addr in members],
        "heartbeat_interval_ms": 500, "failure_timeout_ms": 2000, "request_timeout_ms": 1000,
        "anti_entropy_interval_ms": 2000, "handoff_interval_ms": 1000,
    }
    with open(f"{directory}/cluster.json", "w") as f:
        json.dump(cluster, f, indent=2)


def health(address, name):
    try:
        code, status = call(address, "GET", "/status", timeout=1)
    except (Unsent, OSError):
        return 1
    if code != 200:
        return 1
    members = status.get("members") or {}
    ready = members and all(m.get("up") is True for m in members.values())
    return 0 if status.get("node") == name and ready else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "install":
        install(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "health":
        sys.exit(health(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
