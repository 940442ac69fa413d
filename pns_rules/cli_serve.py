"""``pns-rules serve``: run the CDS Hooks service (needs the ``server`` extra)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, TextIO

from ._argtypes import positive_int

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
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
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
    level = getattr(logging, args.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out.write(
        f"pns-rules: serving {engine.knowledge_base.name} {engine.knowledge_base.version} "
        f"on http://{args.host}:{args.port}/cds-services\n"
    )
    out.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0
