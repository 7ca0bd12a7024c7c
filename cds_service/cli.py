"""The ``cds-service`` command: ``serve`` (gunicorn) and ``evaluate REQUEST.json`` (print the cards)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from cds_service.app import create_app
from cds_service.definitions import SERVICES, lookup
from cds_service.errors import CdsServiceError
from cds_service.invocation import invoke
from cds_service.protocol import parse_hook_request
from cds_service.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code (0 success, 1 a 4xx-type answer, 2 usage)."""
    parser = argparse.ArgumentParser(prog="cds-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service under gunicorn")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")))
    evaluate = commands.add_parser("evaluate", help="print the cards for a saved hook request")
    evaluate.add_argument("request", type=Path, help="a CDS Hooks request as JSON")
    evaluate.add_argument("--as-of", type=date.fromisoformat, help="evaluation date (default: today)")
    evaluate.add_argument("--service", help="service id (default: the service for the request's hook)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args.host, args.port, args.workers)
    return _evaluate(args.request, as_of=args.as_of, service_id=args.service)


def _serve(host: str, port: int, workers: int) -> int:
    print(f"CDS Hooks discovery: http://{host}:{port}/cds-services", flush=True)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--access-logformat",
        '%(h)s "%(r)s" %(s)s %(b)s %(L)ss',
        "cds_service.app:create_app()",
    ]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover


def _evaluate(path: Path, *, as_of: date | None, service_id: str | None) -> int:
    settings = create_app().extensions["cds_service"]
    assert isinstance(settings, Settings)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        hook = body.get("hook") if isinstance(body, dict) else None
        service = lookup(service_id) if service_id else next((s for s in SERVICES if s.hook == hook), None)
        if service is None:
            print(f"no service for hook {hook!r}", file=sys.stderr)
            return 2
        request = parse_hook_request(body, hook=service.hook)
        response = invoke(service, request, settings, as_of=as_of or settings.today())
    except CdsServiceError as error:
        print(json.dumps({"status": error.status, "code": error.code, "detail": error.detail}, indent=2))
        return 1
    except (OSError, ValueError) as error:
        print(f"cannot read {path}: {error}", file=sys.stderr)
        return 2
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
