"""Start-up time of a plugin under storm-wasm: process start to the
handshake reply, and to the ack of the first tuple, with an empty compile
cache (cold) and then with the cache filled (cached). JSON protocol.

    python startup.py STORM_WASM_BINARY PLUGIN.wasm [--runs N]

Prints one line per run and the medians.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def read_message(stream):
    lines = []
    while True:
        line = stream.readline()
        if not line:
            raise EOFError("storm-wasm closed stdout")
        line = line.decode().rstrip("\n")
        if line == "end":
            return json.loads("\n".join(lines))
        lines.append(line)


def start_once(binary, plugin, cache_dir):
    """(ms to the pid reply, ms to the first ack)."""
    pid_dir = tempfile.mkdtemp(prefix="storm-wasm-startup-")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "bolt", plugin, "--serializer", "json", "--cache-dir", cache_dir],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        handshake = {
            "conf": {"topology.name": "startup"},
            "context": {"taskid": 3, "componentid": "bolt"},
            "pidDir": pid_dir,
        }
        tup = {"id": "first", "comp": "source", "stream": "default", "task": 1, "tuple": ["the cow"]}
        proc.stdin.write((json.dumps(handshake) + "\nend\n" + json.dumps(tup) + "\nend\n").encode())
        proc.stdin.flush()
        pid_ms = None
        while True:
            msg = read_message(proc.stdout)
            if "pid" in msg and pid_ms is None:
                pid_ms = (time.perf_counter() - started) * 1e3
            if msg.get("command") in ("ack", "fail") and msg.get("id") == "first":
                return pid_ms, (time.perf_counter() - started) * 1e3
    finally:
        proc.stdin.close()
        proc.wait()
        shutil.rmtree(pid_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("plugin")
    parser.add_argument("--runs", type=int, default=5, help="cached runs (default 5)")
    args = parser.parse_args()
    plugin = os.path.abspath(args.plugin)
    cache = tempfile.mkdtemp(prefix="storm-wasm-startup-cache-")
    try:
        pid_ms, first_ms = start_once(args.binary, plugin, cache)
        print(f"cold   : handshake reply {pid_ms:8.1f} ms, first tuple acked {first_ms:8.1f} ms")
        cached = [start_once(args.binary, plugin, cache) for _ in range(args.runs)]
        for pid_ms, first_ms in cached:
            print(f"cached : handshake reply {pid_ms:8.1f} ms, first tuple acked {first_ms:8.1f} ms")
        pid_median = statistics.median(p for p, _ in cached)
        first_median = statistics.median(f for _, f in cached)
        print(
            f"median cached: handshake reply {pid_median:.1f} ms, first tuple acked {first_median:.1f} ms"
            f" ({len(cached)} runs)"
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
