"""A small but real FHIR R4 HTTP server for tests, on 127.0.0.1 (stdlib ``http.server``, one thread per request).

Supports what the service and ``load-fixtures`` use: ``POST /`` transaction of PUT entries, ``GET /Type/id``,
``GET /Type?patient=..&code=..&class=..`` (token OR lists) with paging through ``next`` links, and
``GET /metadata``. Every request needs ``Authorization: Bearer <token>`` when a token is set.

For the CDS Hooks Sandbox (a browser app on another origin): CORS on every answer and ``OPTIONS`` preflights,
``POST /Type/_search`` with a form body (the Sandbox's first try for each prefetch key), and ``GET /Patient``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FhirStore:
    def __init__(self, page_size: int = 3, token: str | None = None) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.page_size = page_size
        self.token = token
        self.requests: list[str] = []
        self.delay = 0.0
        self._pages: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.Lock()

    def search(self, kind: str, params: dict[str, list[str]]) -> list[dict[str, Any]]:
        patient = params.get("patient", [None])[0]
        hits = []
        for resource in self.resources.values():
            if resource["resourceType"] != kind:
                continue
            ref = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
            if patient is not None and ref.split("/")[-1] != patient:
                continue
            if "code" in params and not _token_match(resource.get("code", {}).get("coding", []), params["code"][0]):
                continue
            if "class" in params and not _token_match([resource.get("class") or {}], params["class"][0]):
                continue
            hits.append(resource)
        return hits

    def page(self, base: str, hits: list[dict[str, Any]], offset: int, key: str | None = None) -> dict[str, Any]:
        key = key or uuid.uuid4().hex
        self._pages[key] = hits
        chunk = hits[offset : offset + self.page_size]
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(hits),
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in chunk],
        }
        if offset + self.page_size < len(hits):
            bundle["link"] = [{"relation": "next", "url": f"{base}?_getpages={key}&_offset={offset + self.page_size}"}]
        return bundle


def _token_match(codings: list[Any], tokens: str) -> bool:
    for token in tokens.split(","):
        system, _, code = token.rpartition("|")
        for coding in codings:
            if (
                isinstance(coding, dict)
                and coding.get("code") == code
                and (not system or coding.get("system") == system)
            ):
                return True
    return False


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 drops concurrent connects (a 1 s SYN retry)
    daemon_threads = True


def _handler(store: FhirStore, base_path: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any] | None) -> None:
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(raw)))
            self._cors()
            self.end_headers()
            self.wfile.write(raw)

        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Prefer")
            self.send_header("Access-Control-Max-Age", "600")

        def do_OPTIONS(self) -> None:  # noqa: N802
            self.send_response(204)
            self._cors()
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _authorized(self) -> bool:
            if store.token is None or self.headers.get("Authorization") == f"Bearer {store.token}":
                return True
            self._send(401, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]})
            return False

        def do_GET(self) -> None:  # noqa: N802
            with store.lock:
                store.requests.append(self.path)
            if store.delay:
                threading.Event().wait(store.delay)
            if not self._authorized():
                return
            parts = urlsplit(self.path)
            path = parts.path[len(base_path) :].strip("/")
            params = parse_qs(parts.query)
            base = f"http://{self.headers['Host']}{base_path}"
            if path == "metadata":
                return self._send(200, {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"})
            if not path and "_getpages" in params:
                key = params["_getpages"][0]
                hits = store._pages.get(key, [])
                return self._send(200, store.page(base, hits, int(params["_offset"][0]), key))
            segments = path.split("/")
            if len(segments) == 2:
                resource = store.resources.get(path)
                return self._send(200, resource) if resource else self._send(404, None)
            return self._send(200, store.page(base, store.search(segments[0], params), 0))

        def do_POST(self) -> None:  # noqa: N802
            if not self._authorized():
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path[len(base_path) :].strip("/")
            if path.endswith("/_search"):
                with store.lock:
                    store.requests.append(self.path)
                base = f"http://{self.headers['Host']}{base_path}"
                kind = path.split("/")[0]
                return self._send(200, store.page(base, store.search(kind, parse_qs(raw.decode())), 0))
            body = json.loads(raw)
            if body.get("resourceType") != "Bundle" or body.get("type") != "transaction":
                return self._send(400, {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]})
            responses = []
            for entry in body["entry"]:
                url, resource = entry["request"]["url"], entry["resource"]
                assert entry["request"]["method"] == "PUT" and url == f"{resource['resourceType']}/{resource['id']}"
                created = url not in store.resources
                store.resources[url] = resource
                responses.append({"response": {"status": "201 Created" if created else "200 OK"}})
            self._send(200, {"resourceType": "Bundle", "type": "transaction-response", "entry": responses})

    return Handler


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler] | Any, *, port: int = 0) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (``port``, or a free one) from a daemon thread; yields ``http://127.0.0.1:P``.

    One thread per request (``daemon_threads``), a backlog of 128; shut down and closed when the block ends.
    """
    server = _Server(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def running_fhir_server(store: FhirStore, base_path: str = "/fhir", *, port: int = 0) -> Iterator[str]:
    """Serve ``store`` on 127.0.0.1 (``port``, or a free one); yields the base URL."""
    with serving(_handler(store, base_path), port=port) as base:
        yield f"{base}{base_path}"


if __name__ == "__main__":  # a standalone server for measurements: python -m tests.fhir_server PORT TOKEN
    import sys

    _Server(("127.0.0.1", int(sys.argv[1])), _handler(FhirStore(5, sys.argv[2]), "/fhir")).serve_forever()
