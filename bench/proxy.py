"""Added latency of the validation proxy on loopback: the same requests direct and through the proxy.

Usage: python bench/proxy.py [--requests 500]. The upstream is a stdlib HTTP server answering one
project (``{data, meta}``, 0.7 kB) or a 50-item page; each case sends the requests sequentially
over keep-alive connections, direct and proxied alternately (same machine load), after a warm-up, and prints the median and
p99 per request and what the proxy adds. Validation runs after each answer is relayed, on the
proxy's worker thread, so it costs throughput, not latency.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import envelope, project, project_detail  # noqa: E402

import synapse_dyn  # noqa: E402
from synapse_dyn.proxy import ValidationProxy  # noqa: E402

BODIES = {"/v2/projects/42/": json.dumps(envelope(project_detail(42))).encode(),
          "/v2/projects/": json.dumps(envelope([project(i) for i in range(50)], next_cursor="c2")).encode()}


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as production servers do

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        body = BODIES[self.path.split("?")[0]]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def timings(bases: tuple[str, str], path: str, count: int) -> tuple[list[float], list[float]]:
    """Direct and proxied times, interleaved request by request so both see the same machine load."""
    headers = {"SYNAPSE-ACCESS-TOKEN": "syn_bench", "SYNAPSE-Tenant": "acme"}
    out: tuple[list[float], list[float]] = ([], [])
    with httpx.Client(base_url=bases[0], headers=headers) as direct, httpx.Client(base_url=bases[1],
                                                                                   headers=headers) as proxied:
        clients = (direct, proxied)
        for _ in range(50):
            for client in clients:
                client.get(path).raise_for_status()
        for _ in range(count):
            for client, times in zip(clients, out, strict=True):
                start = time.perf_counter()
                client.get(path).raise_for_status()
                times.append(time.perf_counter() - start)
    return out


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    count = parser.parse_args().requests
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{upstream.server_address[1]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry = synapse_dyn.load_spec("v2")
    proxy = ValidationProxy(base, registry)
    with proxy.serve() as url:
        for label, path in (("project", "/v2/projects/42/"), ("50-item page", "/v2/projects/")):
            direct, proxied = timings((base, url), path, count)
            proxy.drain()
            d_med, p_med = statistics.median(direct), statistics.median(proxied)
            print(f"{label:13} direct median {d_med * 1e3:.2f} ms p99 {p99(direct) * 1e3:.2f} ms | proxied median "
                  f"{p_med * 1e3:.2f} ms p99 {p99(proxied) * 1e3:.2f} ms | added median {(p_med - d_med) * 1e3:.2f} ms "
                  f"p99 {(p99(proxied) - p99(direct)) * 1e3:.2f} ms")
    stats = proxy.stats()
    proxy.close()
    upstream.shutdown()
    print(f"validated {stats['validated']} of {stats['requests']} exchanges, {stats['distinct_findings']} findings")


if __name__ == "__main__":
    main()
