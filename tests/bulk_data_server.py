"""A FHIR Bulk Data Access 2.0 server stand-in on 127.0.0.1, doing what real export servers do (for tests and demos).

* ``GET /fhir/.well-known/smart-configuration``: the token endpoint, ``private_key_jwt`` with RS384/ES384,
  ``client_credentials`` (SMART Backend Services).
* ``POST /auth/token``: checks the client assertion as a real authorization server does: its signature against the
  registered JWK Set (``kid``), ``iss`` = ``sub`` = the client id, ``aud`` = this endpoint, ``exp`` at most five
  minutes ahead and not passed, a ``jti`` never seen before; answers a Bearer token (``expires_in`` 300).
* ``GET /fhir/Patient/$export`` and ``/fhir/Group/<id>/$export``: ``Prefer: respond-async`` required; ``_type``,
  ``_since`` (against each resource's ``meta.lastUpdated``, or ``DEFAULT_UPDATED``), ``_typeFilter`` (``code``
  token searches; a 400 OperationOutcome when ``type_filter_supported`` is off), ``_outputFormat``; 202 with
  ``Content-Location``.
* ``GET /fhir/$export-poll/<job>``: 202 with ``Retry-After`` and ``X-Progress`` for ``polls_before_ready`` polls
  (for ever with ``never_ready``), then 200 with the manifest: ``output[]`` split into files of ``file_lines``
  lines, an ``error[]`` file with an OperationOutcome, ``requiresAccessToken``; 404 after a DELETE.
* ``DELETE /fhir/$export-poll/<job>``: 202; recorded.
* ``GET /files/<job>/<name>``: the NDJSON, gzip-encoded when the client accepts it.

Faults a test switches on: ``throttle_once`` (the first status poll is a 429 with ``Retry-After``),
``unavailable_once`` (the first file download is a 503), ``expire_token_after`` (a token stops working after this
many requests: 401 ``invalid_token``), ``file_origin`` (the manifest's file URLs on another origin),
``retry_after`` (the value sent, seconds or an HTTP-date), ``retry_after_date_in`` (instead, an HTTP-date this many
seconds after the answer, made when answering as a server does).

``python -m tests.bulk_data_server DIR [--port P]`` serves a directory of NDJSON (e.g. ``cds-service synth-cohort``'s)
with no token required, for trying ``cds-service cohort --from-fhir`` by hand.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from flask import Flask, Response, request
from werkzeug.serving import make_server

DEFAULT_UPDATED = "2026-01-01T00:00:00Z"
"""``meta.lastUpdated`` of a resource that has none."""
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _outcome(text: str, code: str = "processing", status: int = 400) -> Response:
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}
    return Response(json.dumps(body), status=status, mimetype="application/fhir+json")


def _patient_of(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return str(ref["reference"]).rsplit("/", 1)[-1]
    return None


def _updated(resource: dict[str, Any]) -> str:
    meta = resource.get("meta")
    value = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else DEFAULT_UPDATED


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Job:
    params: dict[str, list[str]]
    group: str | None
    client: str | None
    polls: int = 0
    deleted: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None


@dataclass
class BulkServer:
    """The stand-in's data, registrations, fault switches and what it saw (one per test)."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[str, set[str]] = field(default_factory=dict)
    client_id: str | None = None
    jwks: dict[str, Any] | None = None
    file_lines: int = 1000
    polls_before_ready: int = 2
    retry_after: str = "0.1"
    retry_after_date_in: float | None = None
    never_ready: bool = False
    type_filter_supported: bool = True
    requires_access_token: bool = True
    throttle_once: bool = False
    unavailable_once: bool = False
    expire_token_after: int | None = None
    file_origin: str | None = None
    use_gzip: bool = True
    base: str = ""
    seen: list[tuple[str, str, bool]] = field(default_factory=list)
    kickoffs: list[dict[str, list[str]]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    gzipped: int = 0
    jobs: dict[str, Job] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _jtis: set[str] = field(default_factory=set)

    @property
    def fhir_base(self) -> str:
        return f"{self.base}/fhir"

    @classmethod
    def from_directory(cls, directory: Path, **switches: Any) -> BulkServer:
        """Serve every resource of the ``*.ndjson`` files below ``directory``."""
        resources = []
        for path in sorted(directory.rglob("*.ndjson")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    resources.append(json.loads(line))
        return cls(resources=resources, **switches)

    def statuses(self, path: str) -> int:
        """How many requests went to paths starting with ``path``."""
        return sum(1 for _, seen, _ in self.seen if seen.startswith(path))

    # --- what an export holds ------------------------------------------------------------------------------------

    def select(self, job: Job) -> dict[str, list[dict[str, Any]]]:
        types = {t for value in job.params.get("_type", []) for t in value.split(",") if t}
        since = job.params.get("_since", [None])[0]
        filters: dict[str, list[dict[str, list[str]]]] = {}
        for value in job.params.get("_typeFilter", []):
            for query in value.split(","):
                kind, _, search = unquote(query).partition("?")
                filters.setdefault(kind, []).append(parse_qs(search))
        members = self.groups.get(job.group) if job.group is not None else None
        chosen: dict[str, list[dict[str, Any]]] = {}
        for resource in self.resources:
            kind = resource["resourceType"]
            if types and kind not in types:
                continue
            if since is not None and _instant(_updated(resource)) <= _instant(since):
                continue
            patient = _patient_of(resource)
            if members is not None and patient is not None and patient not in members:
                continue
            if kind in filters and not any(_matches(resource, search) for search in filters[kind]):
                continue
            chosen.setdefault(kind, []).append(resource)
        return chosen

    def build(self, job_id: str, job: Job) -> dict[str, Any]:
        origin = self.file_origin or self.base
        output = []
        for kind, found in sorted(self.select(job).items()):
            for number, start in enumerate(range(0, len(found), self.file_lines), start=1):
                name = f"{kind.lower()}-{number}.ndjson"
                lines = found[start : start + self.file_lines]
                job.files[name] = b"".join(json.dumps(r).encode() + b"\n" for r in lines)
                output.append({"type": kind, "url": f"{origin}/files/{job_id}/{name}", "count": len(lines)})
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "warning", "code": "processing", "diagnostics": "2 resources could not be read"}],
        }
        job.files["err-1.ndjson"] = json.dumps(outcome).encode() + b"\n"
        endpoint = f"Group/{job.group}/$export" if job.group else "Patient/$export"
        return {
            "transactionTime": "2026-12-07T10:00:00Z",
            "request": f"{self.fhir_base}/{endpoint}",
            "requiresAccessToken": self.requires_access_token,
            "output": output,
            "error": [{"type": "OperationOutcome", "url": f"{origin}/files/{job_id}/err-1.ndjson"}],
        }

    # --- tokens ----------------------------------------------------------------------------------------------------

    def retry_after_value(self) -> str:
        """The ``Retry-After`` to send now: ``retry_after``, or an HTTP-date ``retry_after_date_in`` seconds ahead."""
        if self.retry_after_date_in is None:
            return self.retry_after
        return format_datetime(datetime.now(UTC) + timedelta(seconds=self.retry_after_date_in), usegmt=True)

    def authorized(self) -> Response | None:
        """``None`` if the request may go on, else the 401 to answer."""
        if self.client_id is None:
            return None
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        with self.lock:
            uses = self.tokens.get(token)
            if uses is None or (self.expire_token_after is not None and uses >= self.expire_token_after):
                self.tokens.pop(token, None)
                return Response("", status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            self.tokens[token] = uses + 1
        return None

    def issue(self) -> Response:
        form = request.form
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != ASSERTION_TYPE:
            return Response(json.dumps({"error": "invalid_request"}), status=400, mimetype="application/json")
        try:
            claims = self._check_assertion(form.get("client_assertion", ""))
        except (jwt.PyJWTError, KeyError, ValueError) as error:
            return Response(
                json.dumps({"error": "invalid_client", "error_description": str(error)}),
                status=401,
                mimetype="application/json",
            )
        token = "bulk-" + secrets.token_urlsafe(24)
        with self.lock:
            self.assertions.append(claims)
            self.tokens[token] = 0
        body = {"access_token": token, "token_type": "bearer", "expires_in": 300, "scope": form.get("scope", "")}
        return Response(json.dumps(body), mimetype="application/json", headers={"Cache-Control": "no-store"})

    def _check_assertion(self, assertion: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(assertion)
        if header.get("alg") not in ("RS384", "ES384") or "kid" not in header:
            raise ValueError("alg must be RS384 or ES384, with a kid")
        keys = {key["kid"]: key for key in (self.jwks or {"keys": []})["keys"]}
        key = jwt.PyJWK.from_dict(keys[header["kid"]])
        claims = jwt.decode(
            assertion,
            key.key,
            algorithms=[header["alg"]],
            audience=f"{self.base}/auth/token",
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
        if claims["iss"] != self.client_id or claims["sub"] != self.client_id:
            raise ValueError("iss and sub must be the client id")
        if claims["exp"] > time.time() + 300:
            raise ValueError("exp more than five minutes ahead")
        with self.lock:
            if claims["jti"] in self._jtis:
                raise ValueError("jti used before")
            self._jtis.add(claims["jti"])
        return dict(claims, alg=header["alg"], kid=header["kid"])


def _matches(resource: dict[str, Any], search: dict[str, list[str]]) -> bool:
    for name, values in search.items():
        if name != "code":
            raise ValueError(f"unsupported search parameter {name}")
        tokens = {token for value in values for token in value.split(",")}
        codings = (resource.get("code") or {}).get("coding") or []
        if not any(f"{c.get('system')}|{c.get('code')}" in tokens for c in codings if isinstance(c, dict)):
            return False
    return True


def bulk_app(server: BulkServer) -> Flask:
    app = Flask("bulk_data_server")
    counter = itertools.count(1)

    @app.before_request
    def _record() -> None:
        with server.lock:
            server.seen.append((request.method, request.path, "Authorization" in request.headers))

    @app.get("/fhir/.well-known/smart-configuration")
    def configuration() -> Response:
        body = {
            "token_endpoint": f"{server.base}/auth/token",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": ["system/*.rs"],
            "capabilities": ["client-confidential-asymmetric", "permission-v2"],
        }
        return Response(json.dumps(body), mimetype="application/json")

    @app.post("/auth/token")
    def token() -> Response:
        return server.issue()

    def kick_off(group: str | None) -> Response:
        refused = server.authorized()
        if refused is not None:
            return refused
        if "respond-async" not in request.headers.get("Prefer", ""):
            return _outcome("Prefer: respond-async is required")
        params = {key: request.args.getlist(key) for key in request.args}
        with server.lock:
            server.kickoffs.append(params)
        if "_typeFilter" in params and not server.type_filter_supported:
            return _outcome("_typeFilter is not supported", "not-supported")
        if group is not None and group not in server.groups:
            return _outcome(f"Group/{group} not found", "not-found", 404)
        job_id = f"job{next(counter)}"
        with server.lock:
            server.jobs[job_id] = Job(params, group, request.headers.get("Authorization"))
        return Response("", status=202, headers={"Content-Location": f"{server.fhir_base}/$export-poll/{job_id}"})

    @app.get("/fhir/Patient/$export")
    def patient_export() -> Response:
        return kick_off(None)

    @app.get("/fhir/Group/<group>/$export")
    def group_export(group: str) -> Response:
        return kick_off(group)

    @app.route("/fhir/$export-poll/<job_id>", methods=["GET", "DELETE"])
    def status(job_id: str) -> Response:
        refused = server.authorized()
        if refused is not None:
            return refused
        job = server.jobs.get(job_id)
        if job is None or job.deleted:
            return _outcome("no such export", "not-found", 404)
        if request.method == "DELETE":
            with server.lock:
                job.deleted = True
                server.deletes.append(job_id)
            return Response("", status=202)
        if server.throttle_once:
            server.throttle_once = False
            return Response("", status=429, headers={"Retry-After": server.retry_after_value()})
        job.polls += 1
        if server.never_ready or job.polls <= server.polls_before_ready:
            done = min(100 * job.polls // (server.polls_before_ready + 1), 99)
            return Response(
                "", status=202, headers={"Retry-After": server.retry_after_value(), "X-Progress": f"{done}% complete"}
            )
        if job.manifest is None:
            job.manifest = server.build(job_id, job)
        return Response(json.dumps(job.manifest), mimetype="application/json")

    @app.get("/files/<job_id>/<name>")
    def file(job_id: str, name: str) -> Response:
        if server.requires_access_token:
            refused = server.authorized()
            if refused is not None:
                return refused
        job = server.jobs.get(job_id)
        if job is None or job.deleted or name not in job.files:
            return _outcome("no such file", "not-found", 404)
        if server.unavailable_once:
            server.unavailable_once = False
            return Response("busy", status=503, headers={"Retry-After": server.retry_after_value()})
        data = job.files[name]
        headers = {}
        if server.use_gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
            with server.lock:
                server.gzipped += 1
        return Response(data, mimetype="application/fhir+ndjson", headers=headers)

    return app


@contextmanager
def running_bulk_server(server: BulkServer, *, port: int = 0) -> Iterator[str]:
    """Serve the stand-in on 127.0.0.1 (threaded); sets ``server.base`` and yields the FHIR base URL."""
    http = make_server("127.0.0.1", port, bulk_app(server), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    server.base = f"http://127.0.0.1:{http.server_port}"
    try:
        yield server.fhir_base
    finally:
        http.shutdown()
        http.server_close()


def main() -> None:
    """Serve a directory of NDJSON until interrupted (no token required)."""
    parser = argparse.ArgumentParser(description="A FHIR Bulk Data server stand-in on 127.0.0.1.")
    parser.add_argument("directory", type=Path, help="NDJSON files to serve (e.g. from cds-service synth-cohort)")
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args()
    server = BulkServer.from_directory(args.directory)
    with running_bulk_server(server, port=args.port) as base:
        print(f"Bulk Data stand-in: {base} ({len(server.resources)} resources); Ctrl-C stops it", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
