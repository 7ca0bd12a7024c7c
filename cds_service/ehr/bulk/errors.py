"""Why an export could not be fetched: one exception, its ``kind``, and a reason that names no token and no patient.

* ``BulkExportError``
  - ``kind="not-allowed"``: a URL the rules refuse (not https, not on the allowlist, another host, a redirect);
  - ``kind="auth"``: no token, or the server refused it (401/403 after one refresh);
  - ``kind="server"``: an error status, or an answer that is not what the Bulk Data IG says;
  - ``kind="timeout"``: the export was not ready within ``max_wait``, or the server stopped answering;
  - ``kind="too-large"``: a file or all files past their byte cap, or a JSON answer past its cap.
"""

from __future__ import annotations

from typing import Any, Literal

ErrorKind = Literal["not-allowed", "auth", "server", "timeout", "too-large"]

_MAX_DIAGNOSTICS = 300


class BulkExportError(Exception):
    """The export failed; ``reason`` says why (no URL query, token or patient data), ``kind`` categorizes it."""

    def __init__(self, reason: str, kind: ErrorKind = "server") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind: ErrorKind = kind


def outcome_text(body: Any) -> str:
    """The first issue of an OperationOutcome as ``code: text`` (printable, at most 300 characters), or ``""``."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return ""
    issues = body.get("issue")
    if not isinstance(issues, list) or not issues or not isinstance(issues[0], dict):
        return ""
    issue = issues[0]
    details = issue.get("details")
    text = issue.get("diagnostics") or (details.get("text") if isinstance(details, dict) else None) or ""
    said = f"{issue.get('code', '')}: {text}" if text else str(issue.get("code", ""))
    return printable(said, _MAX_DIAGNOSTICS)


def is_transient(body: Any) -> bool:
    """Whether an OperationOutcome's issues say ``transient`` (or a subcode: Bulk Data, "retry later")."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return False
    issues = body.get("issue")
    transient = {"transient", "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled"}
    return isinstance(issues, list) and any(isinstance(i, dict) and i.get("code") in transient for i in issues)


def printable(text: str, limit: int) -> str:
    """``text`` without control characters (a server's words reach a terminal), cut to ``limit`` characters."""
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
