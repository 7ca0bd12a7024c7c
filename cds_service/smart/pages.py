"""The strict headers every evidence-page response carries, and the page a failed launch shows.

Headers (on the page, the redirects and the error pages alike):

* ``Content-Security-Policy: default-src 'none'; style-src 'nonce-<n>'; style-src-attr 'unsafe-inline';
  img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors <CDS_SMART_FRAME_ANCESTORS>``: no script
  at all, styles only from the page's own ``<style nonce>`` (a fresh 128-bit nonce per response) and ``style``
  attributes (the SVG timeline's), images only inline.
* ``Cache-Control: no-store`` (patient data and launch answers stay out of every cache), ``Referrer-Policy:
  no-referrer`` (the callback URL, with its used code, is never sent on to a linked site), ``X-Content-Type-Options:
  nosniff``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from html import escape

from cds_service.smart.errors import LaunchError


def new_nonce() -> str:
    """Return a fresh CSP nonce: 16 random bytes, base64url (22 characters)."""
    return secrets.token_urlsafe(16)


def content_security_policy(nonce: str, frame_ancestors: Iterable[str]) -> str:
    """Return the ``Content-Security-Policy`` value for a response whose ``<style>`` carries ``nonce``."""
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; img-src data:; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {' '.join(frame_ancestors)}"
    )


def security_headers(nonce: str, frame_ancestors: Iterable[str]) -> Mapping[str, str]:
    """Return every header the evidence pages set (see the module docstring)."""
    return {
        "Content-Security-Policy": content_security_policy(nonce, frame_ancestors),
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


_STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1b1f24;margin:0;background:#f6f7f9}
main{max-width:40rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #d0d5dd;border-radius:8px}
h1{font-size:1.3rem;margin:0 0 .75rem}p{margin:.5rem 0}.code{color:#5c6570;font-size:.85rem}
.status{display:inline-block;font-size:.8rem;font-weight:600;color:#fff;background:#b42318;border-radius:4px;
padding:.1rem .45rem;margin-bottom:.5rem}
"""


def error_page(error: LaunchError, *, nonce: str) -> str:
    """Return the HTML page for a failed launch: its title, what happened and what to do, the status and code.

    Everything shown is escaped; the detail never holds a token, code or patient id (``LaunchError``).
    """
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(error.title)}: evidence page</title>\n"
        f'<style nonce="{escape(nonce)}">{_STYLE}</style>\n</head>\n<body>\n<main>\n'
        f'<span class="status">{error.status}</span>\n'
        f"<h1>{escape(error.title)}</h1>\n<p>{escape(error.detail)}</p>\n"
        f'<p class="code">Evidence page (IgRT in secondary immunodeficiency) · error code <code>{escape(error.code)}'
        "</code></p>\n</main>\n</body>\n</html>\n"
    )
