"""``pns-rules serve``: run the CDS Hooks service (needs the ``server`` extra)."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from typing import Any, TextIO

from ._argtypes import positive_int
from .errors import InputError, _short_repr

__all__ = ["add_parser"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand to the ``pns-rules`` subparsers ``commands``."""
    serve: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="run the CDS Hooks service (patient-view) over HTTP",
        description="Serve CDS Hooks 2.0: GET /cds-services (discovery) and "
        "POST /cds-services/pns-differential (patient-view). Needs pns-rules[server].",
    )
    serve.add_argument(
        "--host",
        type=_host,
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface)",
    )
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--rules", metavar="DIR", help="a rule directory instead of the shipped rules"
    )
    serve.add_argument(
        "--max-body-bytes",
        type=positive_int,
        default=None,
        metavar="N",
        help="refuse request bodies over N bytes with 413 (default 5 MiB)",
    )
    serve.add_argument(
        "--log-level",
        type=str.lower,
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="log level (logs never contain request content)",
    )
    serve.set_defaults(handler=_serve)
    return serve


def _host(text: str) -> str:
    """A host to listen on; an empty one (an unset ``$HOST``, say) is refused, not read as every
    interface: the service has no authentication."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"host must not be empty, got {_short_repr(text)}: give the address to listen on, "
            f"such as {DEFAULT_HOST} (the default) or 0.0.0.0 for every interface"
        )
    return text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 0 to 65535, got {port}")
    return port


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    try:
        import uvicorn

        from .server import MAX_BODY_BYTES, create_app
    except ImportError as exc:
        sys.stderr.write(
            f"pns-rules: error: {exc}; the service needs: pip install 'pns-rules[server]'\n"
        )
        return 1
    from .engine import Engine, default_engine

    engine = Engine.from_directory(args.rules) if args.rules is not None else default_engine()
    app = create_app(engine, max_body_bytes=args.max_body_bytes or MAX_BODY_BYTES)
    listening = _listen(args.host, args.port)
    level = getattr(logging, args.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out.write(
        f"pns-rules: serving {engine.knowledge_base.name} {engine.knowledge_base.version} "
        f"on http://{_authority(args.host, args.port)}/cds-services\n"
    )
    out.flush()
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level=args.log_level, access_log=False
    )
    server = uvicorn.Server(config)
    with listening:
        server.run(sockets=[listening])
    if not server.started:
        raise RuntimeError("the service stopped while starting (see the log above)")
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port``, before anything claims to serve there.

    Raises :class:`InputError` for a host that is not an address or a name (exit 2) and
    :class:`OSError` naming the host, port and reason when it cannot listen there: the port is in
    use, the address is not this machine's, or binding is not permitted (exit 1).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, ValueError) as exc:  # socket.gaierror; UnicodeError for a bad name
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(
            "--host", host, f"an address or a host name of this machine ({reason})"
        ) from None
    listening = socket.socket(family, kind, proto)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        reason = exc.strerror or str(exc)
        raise OSError(f"cannot listen on {_authority(host, port)}: {reason}") from None
    return listening


def _authority(host: str, port: int) -> str:
    """``host:port`` as a URL writes it (an IPv6 address in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
