"""The CDS Hooks service over HTTP (extra ``pns-rules[server]``): ``pns-rules serve``.

- ``GET /cds-services``: the discovery document.
- ``POST /cds-services/pns-differential``: the ``patient-view`` hook, answered from prefetch.
- ``GET /openapi.json``: the OpenAPI document of both.

Errors are JSON ``{"error": code, "message": text}`` with a 4xx status: 400 for a malformed or
invalid request, 412 for missing prefetch, 413 for a body over the size limit, 415 for a body that
is not JSON. Logs name the route, status and time of each request and never its content.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

from . import __version__
from .cds import HOOK, MAX_SUMMARY, PREFETCH, SERVICE_ID, CdsRequestError, discovery, respond
from .engine import Engine, default_engine
from .errors import InputError

try:
    from fastapi import FastAPI, Request
    from fastapi.middleware.cors import CORSMiddleware
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field
    from starlette.concurrency import run_in_threadpool
except ImportError as _missing:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "pns_rules.server needs the 'server' extra: pip install 'pns-rules[server]'"
    ) from _missing

__all__ = ["MAX_BODY_BYTES", "REQUEST_SCHEMA", "create_app"]

#: Request bodies larger than this are refused with 413 (prefetch for one patient is far smaller).
MAX_BODY_BYTES = 5 * 1024 * 1024
SERVICE_PATH = f"/cds-services/{SERVICE_ID}"
_LOG = logging.getLogger("pns_rules.server")
_KNOWN_PATHS = frozenset({"/cds-services", SERVICE_PATH, "/openapi.json", "/docs", "/redoc"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_OBJECT_OR_NULL: dict[str, Any] = {"anyOf": [{"type": "object"}, {"type": "null"}]}
#: The JSON schema of a request, as published in the OpenAPI document and checked by cds.py.
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    # prefetch is optional in CDS Hooks; without it (or a key of it) the service answers 412.
    "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"type": "string", "enum": [HOOK]},
        "hookInstance": {"type": "string", "description": "a UUID for this hook call"},
        "fhirServer": {"type": "string"},
        "fhirAuthorization": {"type": "object"},
        "context": {
            "type": "object",
            "required": ["patientId"],
            "properties": {
                "patientId": {"type": "string", "minLength": 1},
                "userId": {"type": "string"},
                "encounterId": {"type": "string"},
            },
        },
        "prefetch": {
            "type": "object",
            "description": "FHIR R4 data: a Patient and two searchset Bundles, null for no data; "
            "the service needs all three keys",
            "properties": {key: _OBJECT_OR_NULL for key in PREFETCH},
        },
    },
}


class _Service(BaseModel):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None


class Discovery(BaseModel):
    """The CDS Hooks discovery document."""

    services: list[_Service]


class _Source(BaseModel):
    label: str
    url: str | None = None


class _Link(BaseModel):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class _Card(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uuid: str
    summary: str = Field(max_length=MAX_SUMMARY)
    detail: str
    indicator: Literal["info", "warning", "critical"]
    source: _Source
    links: list[_Link] = []


class Cards(BaseModel):
    """A CDS Hooks response: zero or more cards."""

    cards: list[_Card]


class Problem(BaseModel):
    """An error response."""

    error: str
    message: str


def create_app(engine: Engine | None = None, *, max_body_bytes: int = MAX_BODY_BYTES) -> Any:
    """The ASGI application of the CDS Hooks service, on ``engine`` (default: the shipped rules)."""
    engine = engine or default_engine()
    app = FastAPI(
        title="pns-rules CDS Hooks service",
        version=__version__,
        description="Paraneoplastic syndrome differential as CDS Hooks 2.0 cards. "
        "Decision support, not a diagnosis.",
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
    )

    @app.get("/cds-services", response_model=Discovery, summary="CDS Hooks discovery")
    def cds_services() -> dict[str, Any]:
        return discovery()

    errors: dict[int | str, dict[str, Any]] = {
        400: {"model": Problem, "description": "malformed JSON or an invalid request"},
        412: {"model": Problem, "description": "prefetch is missing"},
        413: {"model": Problem, "description": "the body is over the size limit"},
        415: {"model": Problem, "description": "the body is not application/json"},
    }

    @app.post(
        SERVICE_PATH,
        response_model=Cards,
        response_model_exclude_none=True,
        summary="The patient-view hook: a ranked paraneoplastic differential as cards",
        responses=errors,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": REQUEST_SCHEMA}},
            }
        },
    )
    async def pns_differential(request: Request) -> Any:
        if not _is_json(request.headers.get("content-type", "")):
            return _problem(415, "unsupported-media-type", "send the body as application/json")
        body = await request.body()
        if not body.strip():
            return _problem(400, "invalid-json", "the body is empty")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            return _problem(400, "invalid-json", f"the body is not valid JSON ({detail})")
        try:
            return await run_in_threadpool(respond, payload, engine)
        except CdsRequestError as exc:
            _LOG.info("refused: %s %s", exc.status, exc.code)
            return _problem(exc.status, exc.code, exc.message)
        except InputError as exc:
            _LOG.info("refused: 400 invalid-input")
            return _problem(400, "invalid-input", str(exc))

    return _Guard(app, max_body_bytes)


class _Guard:
    """Outermost ASGI layer: body size limit, access log without content, no stack traces out."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 0}

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)

        try:
            if scope["method"] in ("POST", "PUT", "PATCH"):
                body = await self._read_body(scope, receive)
                if body is None:
                    await _send_problem(
                        send_logged,
                        413,
                        "body-too-large",
                        f"the body is over {self.max_body_bytes} bytes",
                    )
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send_logged)
        except Exception as exc:  # a bug: answer 500 without details, log the type only
            _LOG.error("internal error: %s", type(exc).__name__)
            if state["status"] == 0:
                await _send_problem(send_logged, 500, "internal-error", "the service failed")
        finally:
            path = scope["path"] if scope["path"] in _KNOWN_PATHS else "(other path)"
            elapsed = (time.perf_counter() - started) * 1000
            _LOG.info("%s %s %d %.1f ms", scope["method"], path, state["status"], elapsed)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or ``None`` when it is over the limit (declared or actual)."""
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_problem(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
