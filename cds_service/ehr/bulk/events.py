"""What an export reports while it runs: one small frozen event per step, ``str()`` giving the line to show.

The client calls ``on_event`` with these; the command prints them on standard error (``commands.bulk_fetch``). They
hold counts, sizes, times, resource types and the server's ``X-Progress`` text (control characters removed, at most
100 characters): never a URL's query, a token or a patient.
"""

from __future__ import annotations

from dataclasses import dataclass


def _size(size: int) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True)
class KickedOff:
    """The server accepted the kick-off (202). ``asked``: the parameters sent, e.g. ``("_type", "_typeFilter")``."""

    endpoint: str
    asked: tuple[str, ...]

    def __str__(self) -> str:
        return f"export started: {self.endpoint} ({', '.join(self.asked) or 'no parameters'})"


@dataclass(frozen=True)
class ParameterDropped:
    """The server refused a kick-off parameter (4xx); the kick-off is sent again without it."""

    parameter: str
    status: int
    said: str

    def __str__(self) -> str:
        said = f": {self.said}" if self.said else ""
        return f"the server refused {self.parameter} (HTTP {self.status}{said}); asking again without it"


@dataclass(frozen=True)
class Retrying:
    """A request is retried after a 429, a transient 5xx or a broken connection."""

    what: str
    why: str
    wait: float

    def __str__(self) -> str:
        return f"{self.what}: {self.why}; retrying in {self.wait:.3g} s"


@dataclass(frozen=True)
class Polling:
    """The export is in progress (202): ``progress`` is the server's ``X-Progress`` or ``""``."""

    elapsed: float
    progress: str
    wait: float

    def __str__(self) -> str:
        said = f" ({self.progress})" if self.progress else ""
        return f"export in progress{said}, {_clock(self.elapsed)} elapsed; next poll in {self.wait:.3g} s"


@dataclass(frozen=True)
class Complete:
    """The manifest arrived: files per section and the server's ``transactionTime``."""

    output: int
    errors: int
    deleted: int
    transaction_time: str
    elapsed: float

    def __str__(self) -> str:
        more = f", {self.errors} error files" if self.errors else ""
        more += f", {self.deleted} deleted-resource files" if self.deleted else ""
        return (
            f"export complete after {_clock(self.elapsed)}: {self.output} data files{more} "
            f"(transactionTime {self.transaction_time})"
        )


@dataclass(frozen=True)
class Downloaded:
    """One more file is complete: ``done`` of ``total``, bytes written so far over all files."""

    done: int
    total: int
    name: str
    size: int
    elapsed: float

    def __str__(self) -> str:
        rate = self.size / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"downloaded {self.done}/{self.total} files ({self.name}); {_size(self.size)} in {_clock(self.elapsed)}, "
            f"{_size(int(rate))}/s"
        )


@dataclass(frozen=True)
class DownloadProgress:
    """Files in progress: the same counts, every ``PROGRESS_EVERY`` seconds."""

    done: int
    total: int
    size: int
    elapsed: float

    def __str__(self) -> str:
        return f"downloading: {self.done}/{self.total} files done, {_size(self.size)} so far ({_clock(self.elapsed)})"


@dataclass(frozen=True)
class Deleted:
    """The DELETE on the status URL: ``status`` answered (0: no answer); ``why``: done, cancelled or failed."""

    status: int
    why: str

    def __str__(self) -> str:
        if 200 <= self.status < 300:
            return f"export deleted on the server ({self.why})"
        answer = f"HTTP {self.status}" if self.status else "no answer"
        return f"could not delete the export on the server ({self.why}): {answer}"


Event = KickedOff | ParameterDropped | Retrying | Polling | Complete | Downloaded | DownloadProgress | Deleted
"""Every event the client reports."""
