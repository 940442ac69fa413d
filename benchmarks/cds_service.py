"""Latency and throughput of the CDS Hooks service on this machine (loopback only).

Starts ``pns-rules serve`` on 127.0.0.1 and a free port with the EHR test rules, sends the
patient-view request built from tests/data/fhir/cerebellar-woman.json, and prints the median and
95th percentile of serial requests and the throughput of 50 concurrent clients. Run from the
repository root: ``python benchmarks/cds_service.py`` (needs the ``test`` extra).
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ehr_helpers import EHR_RULES, patient_view  # noqa: E402

SERIAL = 300
CONCURRENT = 500
CLIENTS = 50
PATH = "/cds-services/pns-differential"
HEADERS = {"Content-Type": "application/json"}


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "pns_rules", "serve", "--port", str(port)]
    command += ["--rules", str(EHR_RULES), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                httpx.get(url + "/cds-services", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        body = json.dumps(patient_view("cerebellar-woman"))
        with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
            for _ in range(20):
                client.post(PATH, content=body)
            times = []
            for _ in range(SERIAL):
                started = time.perf_counter()
                client.post(PATH, content=body).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(
            f"serial: {SERIAL} requests of {len(body)} bytes, median {statistics.median(times):.1f}"
            f" ms, p95 {times[int(0.95 * SERIAL)]:.1f} ms"
        )
        elapsed = asyncio.run(_concurrent(url, body))
        print(
            f"concurrent: {CONCURRENT} requests from {CLIENTS} clients in {elapsed:.1f} s, "
            f"{CONCURRENT / elapsed:.0f} requests/s"
        )
    finally:
        server.terminate()
        server.wait(timeout=15)


async def _concurrent(url: str, body: str) -> float:
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, limits=limits, timeout=60) as c:
        started = time.perf_counter()
        responses = await asyncio.gather(*(c.post(PATH, content=body) for _ in range(CONCURRENT)))
        elapsed = time.perf_counter() - started
    assert all(r.status_code == 200 for r in responses)
    return elapsed


if __name__ == "__main__":
    main()
