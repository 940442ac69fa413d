"""The CDS Hooks service, run as a user runs it: ``pns-rules serve`` on a loopback port.

The server is a real uvicorn process started with ``python -m pns_rules serve`` on 127.0.0.1 and a
free port; the tests talk to it over HTTP with httpx. Every request loop is bounded.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pns_rules import NOTICE
from tests.ehr_helpers import EHR_RULES, patient_view

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MAX_BODY = 200_000
SERVICE = "/cds-services/pns-differential"
STARTUP_SECONDS = 60


class Server:
    """A running ``pns-rules serve`` process and where its logs go."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.url = f"http://{HOST}:{port}"
        self.log = log

    def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
        headers = kwargs.pop("headers", {"Content-Type": "application/json"})
        return httpx.post(self.url + SERVICE, content=body, headers=headers, timeout=30, **kwargs)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _start(log: Path) -> Server:
    for _attempt in range(3):  # a free port can be taken between the check and the bind
        port = _free_port()
        command = [sys.executable, "-m", "pns_rules", "serve", "--host", HOST, "--port", str(port)]
        command += ["--rules", str(EHR_RULES), "--max-body-bytes", str(MAX_BODY)]
        with log.open("ab") as sink:
            process = subprocess.Popen(
                command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        server = Server(process, port, log)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(server.url + "/cds-services", timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                time.sleep(0.1)
        process.kill()
        process.wait(timeout=10)
    raise RuntimeError(f"pns-rules serve did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "serve.log"
    running = _start(log)
    yield running
    running.process.terminate()
    try:
        running.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait(timeout=10)


def _serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``pns-rules serve ARGS`` expected to exit before serving (killed after ``timeout``)."""
    return subprocess.run(
        [sys.executable, "-m", "pns_rules", "serve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("host", "code", "fragment"),
    [
        ("", 2, "argument --host: host must not be empty, got '': give the address to listen on"),
        ("  ", 2, "argument --host: host must not be empty"),
        ("999.1.1.1", 2, "--host='999.1.1.1' is not valid: an address or a host name of this machine ("),
    ],
)  # fmt: skip
def test_serve_refuses_an_empty_or_unusable_host(host: str, code: int, fragment: str) -> None:
    # An empty host listened on every interface (the service has no authentication); an
    # unusable one printed "serving ... on http://999.1.1.1:..." and exited 3, as for a bug.
    result = _serve("--host", host, "--port", "0")
    assert result.returncode == code
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"pns-rules: error: {fragment}")


def test_serve_on_a_port_in_use_is_an_io_error_naming_it() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve("--host", HOST, "--port", str(port), "--rules", str(EHR_RULES))
    assert result.returncode == 1
    assert result.stdout == ""  # it never claimed to be serving
    assert (
        result.stderr
        == f"pns-rules: error: cannot listen on {HOST}:{port}: Address already in use\n"
    )


def _cards_without_uuids(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    for card in cards:
        assert uuid.UUID(card.pop("uuid"))
    return cards


def test_discovery(server: Server) -> None:
    response = httpx.get(server.url + "/cds-services", timeout=30)
    assert response.status_code == 200
    (service,) = response.json()["services"]
    assert service["hook"] == "patient-view"
    assert service["id"] == "pns-differential"
    assert set(service["prefetch"]) == {"patient", "conditions", "observations"}


def test_a_high_level_case_gets_a_warning_card(server: Server) -> None:
    response = server.post(patient_view("cerebellar-woman"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    (card,) = response.json()["cards"]
    assert card["indicator"] == "warning"
    assert len(card["summary"]) < 140
    assert "Paraneoplastic cerebellar degeneration (high)" in card["summary"]
    assert NOTICE in card["detail"]
    assert card["source"]["label"] == "pns-rules EHR test rule base test.1"
    assert {"label": "PMID:34006622", "url": "https://pubmed.ncbi.nlm.nih.gov/34006622/"} in [
        {"label": link["label"], "url": link["url"]} for link in card["links"]
    ]
    assert all(link["type"] == "absolute" for link in card["links"])


def test_an_unrelated_case_gets_no_cards(server: Server) -> None:
    response = server.post(patient_view("unrelated-man"))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def _request(**changes: Any) -> dict[str, Any]:
    request = copy.deepcopy(patient_view("cerebellar-woman"))
    for key, value in changes.items():
        if value is None:
            del request[key]
        else:
            request[key] = value
    return request


def _another_patient_in_a_bundle() -> dict[str, Any]:
    """prefetch.patient null, and a Patient other than context.patientId among the conditions."""
    request = _request()
    request["prefetch"]["patient"] = None
    other = {"resourceType": "Patient", "id": "someone-else", "gender": "male"}
    request["prefetch"]["conditions"]["entry"].append({"resource": other})
    return request


def _nested(depth: int) -> bytes:
    return b'{"hook": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (b"{not json", None, 400, "invalid-json"),
        (b"", None, 400, "invalid-json"),
        (b"\xff\xfe\x00garbage", None, 400, "invalid-json"),
        (_nested(50_000), None, 400, "invalid-json"),
        (b"[1, 2, 3]", None, 400, "invalid-request"),
        (_request(hook="order-select"), None, 400, "wrong-hook"),
        (_request(context=None), None, 400, "invalid-request"),
        (_request(prefetch=None), None, 412, "missing-prefetch"),
        (_request(prefetch={"patient": None}), None, 412, "missing-prefetch"),
        (
            _request(
                prefetch={
                    "patient": {"resourceType": "Patient", "birthDate": "x"},
                    "conditions": None,
                    "observations": None,
                }
            ),
            None,
            400,
            "invalid-fhir",
        ),
        (_another_patient_in_a_bundle(), None, 400, "invalid-request"),
        (_request(), {"Content-Type": "text/plain"}, 415, "unsupported-media-type"),
        (b"x" * (MAX_BODY + 1), None, 413, "body-too-large"),
    ],
    ids=lambda value: None if isinstance(value, int | str) else type(value).__name__,
)
def test_bad_requests_get_a_4xx_json_error(
    server: Server, body: Any, headers: dict[str, str] | None, status: int, error: str
) -> None:
    kwargs = {} if headers is None else {"headers": headers}
    response = server.post(body, **kwargs)
    assert response.status_code == status, response.text
    data = response.json()
    assert data["error"] == error
    assert isinstance(data["message"], str) and data["message"]
    assert "Traceback" not in response.text


def test_an_oversized_body_without_a_length_is_refused(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // 10_000 + 2):
            yield b" " * 10_000

    response = httpx.post(
        server.url + SERVICE,
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"] == "body-too-large"


def test_unknown_routes_and_methods_are_4xx(server: Server) -> None:
    assert httpx.get(server.url + "/cds-services/nope", timeout=30).status_code == 404
    assert httpx.get(server.url + SERVICE, timeout=30).status_code == 405


def test_the_openapi_document_describes_both_operations(server: Server) -> None:
    document = httpx.get(server.url + "/openapi.json", timeout=30).json()
    assert set(document["paths"]) == {"/cds-services", SERVICE}
    post = document["paths"][SERVICE]["post"]
    assert {"200", "400", "412", "413", "415"} <= set(post["responses"])
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["hook"]["enum"] == ["patient-view"]


def test_concurrent_requests_get_the_same_cards_as_serial_ones(server: Server) -> None:
    cases = [
        patient_view("cerebellar-woman", str(uuid.uuid4())),
        patient_view("unrelated-man", str(uuid.uuid4())),
    ]
    intermediate = patient_view("cerebellar-woman", str(uuid.uuid4()))
    for entry in intermediate["prefetch"]["observations"]["entry"]:
        if entry["resource"]["id"] == "pns-demo-1-yo":
            entry["resource"]["code"] = {"text": "P/Q-type VGCC antibody"}
    cases.append(intermediate)
    serial = [_cards_without_uuids(server.post(case)) for case in cases]
    assert [len(cards) for cards in serial] == [1, 0, 1]

    async def all_at_once() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
            return await asyncio.gather(
                *(client.post(SERVICE, json=cases[index % len(cases)]) for index in range(50))
            )

    responses = asyncio.run(all_at_once())
    assert len(responses) == 50
    uuids = [card["uuid"] for r in responses for card in r.json()["cards"]]
    assert len(set(uuids)) == len(uuids)
    for index, response in enumerate(responses):
        assert _cards_without_uuids(response) == serial[index % len(cases)]


@pytest.mark.skipif(shutil.which("schemathesis") is None, reason="installed by the [test] extra")
def test_property_based_run_finds_no_5xx_and_no_schema_violation(
    server: Server, tmp_path: Path
) -> None:
    checks = [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
    command = ["schemathesis", "run", server.url + "/openapi.json", "--checks", ",".join(checks)]
    command += ["--max-examples", "60", "--seed", "20261126", "--workers", "1"]
    command += ["--request-timeout", "20", "--no-color"]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_logs_carry_no_patient_data(server: Server) -> None:
    """Runs after the other tests of the running server: the log holds every request above."""
    request = patient_view("cerebellar-woman")
    server.post(request)
    server.post(_request(hook="x"))
    log = server.log.read_text()
    assert "POST /cds-services/pns-differential 200" in log
    secrets = [
        "pns-demo-1",
        "pns-demo-2",
        "Quellmalz",
        "Henrike",
        "Brandauer",
        "MRN-0047113",
        "1962",
        "20262006",
        "HP:0000639",
        "Anti-Yo",
        "Ataxia",
        "Ovarian",
    ]
    for secret in secrets:
        assert secret not in log, secret
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--port", "70000"], 2, "port must be from 0 to 65535"),
        (["--port", "http"], 2, "port must be a number"),
        (["--max-body-bytes", "0"], 2, "expected a positive whole number"),
        (["--rules", "/nonexistent/rules"], 1, "rule directory does not exist"),
    ],
)
def test_serve_errors_are_one_line(args: list[str], code: int, fragment: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pns_rules", "serve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == code
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
