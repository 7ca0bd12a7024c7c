"""The ``cds-service`` command.

* ``serve``: migrate the database, then run the service under gunicorn.
* ``evaluate REQUEST.json``: print the cards for a saved hook request (offline; no audit, no FHIR fetch).
* ``validate REQUEST.json``: where a hook request's prefetch or draftOrders is not valid FHIR R4, and what the
  service does with it (``commands.validate``).
* ``explain REQUEST.json --html OUT.html``: the evidence page (decision, criteria, IgRT timeline) of a saved hook
  request, offline (``commands.explain``).
* ``db upgrade``: apply the Alembic migrations to ``DATABASE_URL``.
* ``feedback-report``: accept / override rates per rule and guideline version (read-only).
* ``agreement-report --since DATE``: per rule, how often clinicians' next action agreed with the decision (silent
  mode's go-live report; ``commands.agreement_report``).
* ``load-fixtures FHIR_BASE_URL``: upload the synthetic fixture patients to an open FHIR R4 server.
* ``cohort INPUT --out DIR``: evaluate every patient of a Bulk NDJSON export (``cohort.run``); with
  ``--from-fhir BASE`` instead of INPUT, fetch the export first (``commands.bulk_fetch``).
* ``synth-cohort N DIR``: write N synthetic patients as Bulk NDJSON (``cohort.synth``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import textwrap
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cds_service.cards.i18n import LANGUAGES
from cds_service.settings import SettingsError
from cds_service.settings.loading import load_settings
from cohort.bulk import DEFAULT_MAX_LINE_BYTES
from cohort.state import STATE_FILE, StateError
from cohort.synth import PROFILES as SYNTH_PROFILES
from commands.agreement_report import FORMATS
from commands.bulk_fetch import DOWNLOAD_FOLDER
from commands.fhir_validation import R4B_NOTE
from commands.upload import DEFAULT_FIXTURES, FixtureUploadError
from storage import StorageError

if TYPE_CHECKING:
    from cds_service.settings import Settings
    from cohort.outputs import OutputOptions
    from storage import Database, ReportRow

# What a command needs beyond the parser is imported when that command runs (the web application, the audit
# database, the FHIR validator, the evidence pages ...): ``cds-service cohort`` starts in about half the time.


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 success, 1 a refused request or failure, 2 usage)."""
    parser = argparse.ArgumentParser(
        prog="cds-service",
        description=(__doc__ or "").replace("``", ""),  # the docstring's reST literals, as plain text
        formatter_class=argparse.RawTextHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="migrate the database and run the service under gunicorn (cds_service/http/gunicorn_conf.py)"
    )
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    serve.add_argument(
        "--workers",
        type=int,
        help="gunicorn worker processes (default: WEB_CONCURRENCY, else one per CPU core, at least 2: the gunicorn "
        "configuration's own default)",
    )
    evaluate = commands.add_parser("evaluate", help="print the cards for a saved hook request")
    evaluate.add_argument("request", type=Path, help="a CDS Hooks request as JSON")
    evaluate.add_argument("--as-of", type=date.fromisoformat, help="evaluation date (default: today)")
    evaluate.add_argument("--service", help="service id (default: the service for the request's hook)")
    evaluate.add_argument(
        "--format",
        choices=("json", "markdown", "text"),
        default="json",
        help="json: the CDS Hooks response; markdown: each card's summary and detail; text: for reading in a terminal",
    )
    evaluate.add_argument(
        "--language", choices=LANGUAGES, help="card language (default: the request's, then CDS_LANGUAGE)"
    )
    explain_parser = commands.add_parser(
        "explain",
        help="write the evidence page (decision, criteria, IgRT timeline) of a saved hook request as HTML",
        description="Write the evidence page a clinician opens from the card (Evidence and timeline) for a saved "
        "CDS Hooks request: the decision, every criterion with its data, the IgRT timeline, the data not used and "
        "the settings behind it, on one printable page. Offline: nothing is fetched or recorded. Exit status 0 "
        "written, 2 the request cannot be used (one line on standard error), 1 the file cannot be written.",
    )
    explain_parser.add_argument("request", type=Path, help="a CDS Hooks request as JSON")
    explain_parser.add_argument("--html", type=Path, required=True, metavar="OUT.html", help="the page to write")
    explain_parser.add_argument("--as-of", type=date.fromisoformat, help="evaluation date (default: today)")
    explain_parser.add_argument("--service", help="service id (default: the service for the request's hook)")
    explain_parser.add_argument(
        "--language", choices=LANGUAGES, help="page language (default: the request's, then CDS_LANGUAGE)"
    )
    validate = commands.add_parser(
        "validate",
        help="where a hook request's FHIR is not valid R4, and what the service does with it (used, ignored, "
        "fetched, refused); exit status 1 when the service refuses the request",
        description="Validate every resource in prefetch and context.draftOrders, one line per problem: where, "
        "what, and what the service does with it: used, ignored (not read, or named on the card as data not used), "
        "fetched (from fhirServer) or refused (the request answered 400 or 412). The request goes through the "
        "service's own parsing and mappers; nothing is fetched or recorded. Exit status 0 when nothing is "
        f"refused, 1 otherwise, 2 when the file cannot be read. {R4B_NOTE}",
    )
    validate.add_argument("request", type=Path, help="a CDS Hooks request as JSON")
    validate.add_argument("--service", help="service id (default: the service for the request's hook)")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply all migrations")
    report = commands.add_parser("feedback-report", help="accept/override rates per rule and guideline version")
    report.add_argument("--since", type=date.fromisoformat, help="only cards shown on or after this date")
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")
    agree = commands.add_parser(
        "agreement-report",
        help="what the service said (or, silent, would have said) against what clinicians did next, per rule",
    )
    agree.add_argument("--since", type=date.fromisoformat, required=True, help="first day judged (UTC)")
    agree.add_argument("--until", type=date.fromisoformat, help="first day not judged (default: now)")
    agree.add_argument("--format", choices=FORMATS, default="html", help="html (default), csv or json")
    agree.add_argument("--out", type=Path, help="write to this file (default: standard output)")
    agree.add_argument(
        "--order-hours", type=float, default=24.0, help="hours after order-select within which a signed order counts"
    )
    agree.add_argument(
        "--follow-days", type=int, default=30, help="days after a decision within which a later patient-view counts"
    )
    load = commands.add_parser("load-fixtures", help="upload the fixture patients to a FHIR R4 server")
    load.add_argument("fhir_base_url", help="e.g. http://localhost:8081/fhir")
    load.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="fixtures/golden directory")
    load.add_argument("--token", default=os.environ.get("FHIR_TOKEN"), help="bearer token (or FHIR_TOKEN)")
    load.add_argument(
        "--relative-to",
        type=date.fromisoformat,
        metavar="DATE",
        help="move each patient's dates so it looks on DATE as on its fixture date (e.g. today's date)",
    )
    cohort = commands.add_parser(
        "cohort", help="evaluate every patient of a FHIR Bulk Data NDJSON export: worklist, GuidanceResponses, HTML"
    )
    cohort.add_argument(
        "input",
        type=Path,
        nargs="?",
        help="directory of *.ndjson files ($export layout or per patient); or give --from-fhir instead",
    )
    cohort.add_argument(
        "--from-fhir",
        metavar="BASE",
        help="fetch the export from this FHIR server first (Bulk Data Access 2.0: Patient/$export, or "
        "Group/ID/$export with --group), into --download-dir, then evaluate it; token from CDS_BULK_CLIENT_ID "
        "(SMART Backend Services). See docs/cohort.md, 'Fetching the export'",
    )
    cohort.add_argument("--group", type=_fhir_id, metavar="ID", help="with --from-fhir: export this Group's patients")
    cohort.add_argument(
        "--since",
        type=_fhir_instant,
        metavar="INSTANT",
        help="with --from-fhir: only resources changed after this instant (_since), e.g. the transactionTime the "
        "previous fetch printed",
    )
    cohort.add_argument(
        "--download-dir",
        type=Path,
        metavar="DIR",
        help="with --from-fhir: where the files go, new or empty (default: OUT/export/<UTC time of the fetch>)",
    )
    cohort.add_argument("--as-of", type=date.fromisoformat, help="evaluation date (default: today)")
    cohort.add_argument("--out", type=Path, required=True, help="output directory")
    cohort.add_argument("--workers", type=int, help="processes (default: every core; local engine)")
    cohort.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="local (default) or spark (PySpark: make spark installs it)",
    )
    cohort.add_argument("--master", default="local[*]", help="Spark master URL for --engine spark (default local[*])")
    cohort.add_argument(
        "--compare-settings",
        type=Path,
        metavar="FILE",
        help='JSON of interpretation settings, e.g. {"igg_washout_days": 60}: also evaluate every patient under them '
        "and write changes.csv (who would change, and why)",
    )
    cohort.add_argument(
        "--evidence-pages",
        action="store_true",
        help="also write evidence/<Patient.id>.html, the evidence page of each patient on the worklist, and "
        "evidence/index.html linking them (one more pass over the export; about 0.1-0.2 s a page)",
    )
    cohort.add_argument("--language", choices=LANGUAGES, help="language of the evidence pages (default: CDS_LANGUAGE)")
    cohort.add_argument(
        "--max-line-bytes",
        type=int,
        default=DEFAULT_MAX_LINE_BYTES,
        metavar="BYTES",
        help=f"longest NDJSON line read (default {DEFAULT_MAX_LINE_BYTES}, 16 MiB): a longer line is reported as "
        "'line N of FILE: longer than ...' and skipped, never held in memory",
    )
    cohort.add_argument(
        "--fhir-base",
        metavar="URL",
        help="the exporting server's FHIR base (default: the request URL of manifest.json in INPUT, if there): "
        "absolute references under it are this export's patients; others name another server's patient and are "
        "not evaluated",
    )
    cohort.add_argument(
        "--delta",
        action="store_true",
        help="INPUT holds only resources changed since an earlier export (_since): merge them into the records kept "
        "in OUT/.worklist-state.sqlite3 by the previous runs (same type and id replaced; the manifest's deleted[] "
        "removed) and evaluate every patient on the whole record (local engine)",
    )
    cohort.add_argument(
        "--fresh",
        action="store_true",
        help="ignore the run state kept in OUT (no resumption of an interrupted run, no previous run to compare "
        "with): start anew. Without it an interrupted run with the same input, date and settings continues",
    )
    cohort.add_argument(
        "--display-identifier",
        metavar="SYSTEM",
        help="show each patient on the worklist by the value of their Patient.identifier in SYSTEM (the site's MRN "
        "or a research pseudonym system); a patient without one, and every patient without this option, is shown "
        "by a keyed pseudonym (CDS_AUDIT_HMAC_KEY, else a key kept in OUT), never by the FHIR id alone",
    )
    synth = commands.add_parser("synth-cohort", help="write N synthetic patients as FHIR Bulk NDJSON")
    synth.add_argument("count", type=int, help="patients")
    synth.add_argument("out", type=Path, help="output directory")
    synth.add_argument("--as-of", type=date.fromisoformat, help="the date the cohort is for (default: today)")
    synth.add_argument("--seed", type=int, default=1, help="random seed (same seed, same files)")
    synth.add_argument(
        "--profile",
        choices=SYNTH_PROFILES,
        default="basic",
        help="basic (a few resources a patient) or realistic (Synthea-like: about 480 resources and 590 KB a "
        "patient, most of types or codes the rules never read; with a manifest.json)",
    )
    synth.add_argument("--gzip", action="store_true", help="write .ndjson.gz files (about 13 times smaller)")
    args = parser.parse_args(argv)
    if args.command == "cohort":
        _check_cohort_input(parser, args)
    try:
        if args.command == "cohort":
            if args.from_fhir is not None:
                fetched = _fetch(args.from_fhir, args.out, args.download_dir, args.group, args.since)
                if not isinstance(fetched, Path):
                    return fetched
                args.input = fetched
            return _cohort(
                args.input,
                args.out,
                args.as_of,
                args.workers,
                args.compare_settings,
                args.engine,
                args.master,
                evidence_language=(args.language or "") if args.evidence_pages else None,
                max_line_bytes=args.max_line_bytes,
                fhir_base=args.fhir_base,
                display_identifier=args.display_identifier,
                delta=args.delta,
                fresh=args.fresh,
            )
        if args.command == "synth-cohort":
            return _synth_cohort(args.count, args.out, args.as_of, args.seed, args.profile, args.gzip)
        if args.command == "serve":
            return _serve(args.host, args.port, args.workers)
        if args.command == "evaluate":
            return _evaluate(
                args.request, as_of=args.as_of, service_id=args.service, output=args.format, language=args.language
            )
        if args.command == "validate":
            return _validate(args.request, service_id=args.service)
        if args.command == "explain":
            from commands.explain import explain

            return explain(
                args.request, html=args.html, as_of=args.as_of, service_id=args.service, language=args.language
            )
        if args.command == "db":
            _database().upgrade()
            print("database is at the newest revision")
            return 0
        if args.command == "agreement-report":
            from cds_service.audit.agreement import Windows
            from commands.agreement_report import agreement_report
            from storage import AuditStore

            text = agreement_report(
                AuditStore(_database()),
                since=args.since,
                until=args.until,
                output=args.format,
                windows=Windows(order_hours=args.order_hours, follow_days=args.follow_days),
            )
            if args.out is None:
                return _write(text)
            args.out.write_text(text, encoding="utf-8")
            print(f"agreement report written to {args.out}")
            return 0
        if args.command == "feedback-report":
            return _report(args.since, as_json=args.json)
        return _load_fixtures(args.fhir_base_url, args.fixtures, args.token, args.relative_to)
    except (SettingsError, StorageError, FixtureUploadError, FileNotFoundError, StateError) as error:
        print(f"cds-service {args.command}: {error}", file=sys.stderr)
        return 1


def _cohort(
    input_dir: Path,
    out_dir: Path,
    as_of: date | None,
    workers: int | None,
    compare_file: Path | None = None,
    engine: str = "local",
    master: str = "local[*]",
    evidence_language: str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    fhir_base: str | None = None,
    display_identifier: str | None = None,
    delta: bool = False,
    fresh: bool = False,
) -> int:
    from cohort.evaluation import changed_patients
    from cohort.export import ExportError, open_export
    from cohort.run import run_cohort
    from commands.worklist_pages import write_evidence_pages
    from guideline.sources import GUIDELINE_VERSION

    settings = load_settings({"AUTH": "off"})  # the service's settings: same parameters, time zone
    day = as_of or settings.today()
    try:
        export = open_export(input_dir, fhir_base=fhir_base, max_line_bytes=max_line_bytes)
    except ExportError as error:
        raise SettingsError(str(error)) from error
    compare = None
    if compare_file is not None:
        try:
            overrides = json.loads(compare_file.read_text(encoding="utf-8"))
            if not isinstance(overrides, dict):
                raise ValueError("a JSON object of interpretation settings is expected")
            compare = settings.parameters.with_interpretations(overrides)
        except (OSError, ValueError) as error:
            print(f"cds-service cohort: --compare-settings {compare_file}: {error}", file=sys.stderr)
            return 2
    if delta and engine != "local":
        print("cds-service cohort: --delta needs the local engine (the run state is on this machine)", file=sys.stderr)
        return 2
    result = run_cohort(
        export,
        out_dir,
        as_of=day,
        parameters=settings.parameters,
        tz=settings.tz,
        guideline_version=GUIDELINE_VERSION,
        workers=workers,
        compare=compare,
        compare_label=compare_file.name if compare_file else "",
        engine=engine,
        master=master,
        delta=delta,
        fresh=fresh,
        output_options=_output_options(
            settings, out_dir, display_identifier, evidence_pages=evidence_language is not None
        ),
    )
    counts = result.counts
    listed = Counter(row.recommendation for row in result.worklist)
    where = f"{result.workers} processes" if engine == "local" else f"Spark {master}"
    print(
        f"{counts['evaluated']} patients as of {day} in {result.seconds:.1f} s ({result.patients_per_second:.0f}/s, "
        f"{where}): {counts['worklist']} on the worklist ("
        + ", ".join(f"{k} {v}" for k, v in listed.most_common())
        + f"); not on it: not-relevant {counts['not-relevant']}, deceased {counts['deceased']}"
    )
    if result.bad_lines:
        shown = result.bad_lines[:10]
        more = len(result.bad_lines) - len(shown)
        print(
            f"{len(result.bad_lines)} unreadable lines skipped:\n"
            + "".join(f"  {bad}\n" for bad in shown)
            + (f"  ... and {more} more (summary.html lists 200)\n" if more else ""),
            end="",
            file=sys.stderr,
        )
    if result.without_patient:
        print(f"{result.without_patient} resources name no patient and were not evaluated", file=sys.stderr)
    if result.other_server:
        print(
            f"{result.other_server} resources name a patient on another server and were not evaluated (an absolute "
            f"reference outside this export's base, {export.describe_base()})",
            file=sys.stderr,
        )
    if compare is not None:
        changed = changed_patients(result.compared)
        print(f"under {compare_file}: {changed} patients' decision would change (changes.csv)")
    for note in result.notes:
        print(note, file=sys.stderr)
    for path in result.outputs:
        print(f"  {path}")
    if evidence_language is not None:
        pages = write_evidence_pages(
            export,
            out_dir,
            result.worklist,
            settings=settings,
            as_of=day,
            language=evidence_language or settings.language,
            state=out_dir / STATE_FILE if engine == "local" else None,
        )
        print(f"  {pages.index} ({len(pages.pages)} evidence pages)")
        if pages.skipped:
            print(
                f"{len(pages.skipped)} patients without an evidence page: Patient.id is not a FHIR id", file=sys.stderr
            )
    return 0


def _output_options(
    settings: Settings, out_dir: Path, display_identifier: str | None, *, evidence_pages: bool
) -> OutputOptions:
    """Return how the worklist shows patients (``cohort.display``).

    By ``--display-identifier``, else a pseudonym keyed by ``CDS_AUDIT_HMAC_KEY`` or, without it, by a random key kept
    in ``out_dir``.
    """
    from cohort.display import KEY_FILE, load_or_create_key
    from cohort.outputs import OutputOptions

    if settings.audit_hmac_key is not None:
        key, source = settings.audit_hmac_key, "CDS_AUDIT_HMAC_KEY"
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        key, source = load_or_create_key(out_dir), f"the key in {out_dir / KEY_FILE}"
    return OutputOptions(
        display_key=key, display_key_source=source, display_system=display_identifier, evidence_pages=evidence_pages
    )


def _check_cohort_input(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Check the cohort arguments (exit 2 when they contradict); ``--from-fhir --since`` implies ``--delta``.

    Exactly one of INPUT and --from-fhir; --group, --since and --download-dir only with --from-fhir; --delta neither
    with --fresh nor with the Spark engine.
    """
    if (args.input is None) == (args.from_fhir is None):
        parser.error("cohort: give INPUT (a directory) or --from-fhir BASE, not both and not neither")
    if args.from_fhir is None:
        given = [flag for flag, value in (("--group", args.group), ("--since", args.since),
                                          ("--download-dir", args.download_dir)) if value is not None]  # fmt: skip
        if given:
            parser.error(f"cohort: {', '.join(given)} only with --from-fhir")
    elif args.since is not None:
        args.delta = True  # a _since export holds only what changed: it is merged into the records kept in OUT
    if args.delta and args.fresh:
        parser.error("cohort: --delta merges into the records kept in OUT and --fresh discards them: not both")
    if args.delta and args.engine == "spark":
        parser.error("cohort: --delta needs the local engine (the run state is on this machine)")


def _fetch(base: str, out_dir: Path, download_dir: Path | None, group: str | None, since: str | None) -> Path | int:
    """Fetch the export (``commands.bulk_fetch``); return its directory, or the exit code (1 failed, 130 cancelled)."""
    from cds_service.ehr.bulk import BulkExportError
    from commands.bulk_fetch import fetch_export

    # Each fetch into its own folder: a later --since fetch into the same OUT never mixes with an earlier export.
    directory = download_dir or out_dir / DOWNLOAD_FOLDER / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        result = fetch_export(
            base, settings=load_settings({"AUTH": "off"}), directory=directory, group=group, since=since
        )
    except BulkExportError as error:
        print(f"cds-service cohort: --from-fhir: {error.reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cds-service cohort: --from-fhir: cancelled (the export was deleted on the server)", file=sys.stderr)
        return 130
    return result.directory


def _fhir_id(text: str) -> str:
    from cds_service.ehr.bulk import fhir_id

    try:
        return fhir_id(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _fhir_instant(text: str) -> str:
    from cds_service.ehr.bulk import fhir_instant

    try:
        return fhir_instant(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _synth_cohort(
    count: int, out_dir: Path, as_of: date | None, seed: int, profile: str = "basic", gzip: bool = False
) -> int:
    from cohort.synth import templates_by_patient, write_synthetic_cohort
    from commands.upload import fixture_transaction

    day = as_of or load_settings({"AUTH": "off"}).today()
    bundle, _ = fixture_transaction(DEFAULT_FIXTURES, today=day)
    templates, shared = templates_by_patient([entry["resource"] for entry in bundle["entry"]])
    written = write_synthetic_cohort(
        count, out_dir, templates=templates, shared=shared, as_of=day, seed=seed, profile=profile, gzip=gzip
    )
    print(f"{count} patients for {day} in {out_dir}: " + ", ".join(f"{k} {v}" for k, v in sorted(written.items())))
    return 0


def _database() -> Database:
    from storage import Database

    return Database(load_settings({"AUTH": "off"}).audit.database_url)


def _serve(host: str, port: int, workers: int | None) -> int:
    from cds_service.http.app import ANNOUNCED_ENV, announce
    from cds_service.observability import configure_logging

    # Validate the settings, say what is unusual about them, and migrate once, before gunicorn forks its workers.
    configure_logging()
    announce(load_settings())
    os.environ[ANNOUNCED_ENV] = "1"
    _database().upgrade()
    print(f"CDS Hooks discovery: http://{host}:{port}/cds-services", flush=True)
    # glibc gives each thread its own malloc arena; with gthread workers that multiplies idle memory. Read by glibc
    # at process start, so it is set here, before gunicorn is exec'd (the container image sets it too).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "131072")  # as deploy/Dockerfile: large freed buffers go back
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:cds_service.http.gunicorn_conf",
        "--bind",
        f"{host}:{port}",
        *(("--workers", str(workers)) if workers is not None else ()),
        "cds_service.http.app:create_app()",
    ]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover


def _evaluate(
    path: Path, *, as_of: date | None, service_id: str | None, output: str = "json", language: str | None = None
) -> int:
    from cds_service.invocation import invoke
    from cds_service.wire.definitions import SERVICES, find
    from cds_service.wire.errors import CdsServiceError
    from cds_service.wire.requests import parse_hook_request

    settings = load_settings({"AUTH": "off"})
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        hook = body.get("hook") if isinstance(body, dict) else None
        service = find(service_id) if service_id else next((s for s in SERVICES if s.hook == hook), None)
        if service is None:
            print(f"no service for hook {hook!r}", file=sys.stderr)
            return 2
        request = parse_hook_request(body, hook=service.hook)
        answer = invoke(service, request, settings, as_of=as_of or settings.today(), language=language)
    except CdsServiceError as error:
        print(json.dumps({"status": error.status, "code": error.code, "detail": error.detail}, indent=2))
        return 1
    except (OSError, ValueError) as error:
        print(f"cannot read {path}: {error}", file=sys.stderr)
        return 2
    cards = answer.response.get("cards", [])
    if output == "json":
        return _write(json.dumps(answer.response, indent=2, ensure_ascii=False))
    if output == "markdown":
        return _write("\n\n---\n\n".join(card_markdown(card) for card in cards) or "(no card)")
    width = min(shutil.get_terminal_size((100, 24)).columns, 120)
    return _write("\n\n".join(card_text(card, width=width) for card in cards) or "(no card)")


def _validate(path: Path, *, service_id: str | None) -> int:
    from commands.validate import validate_request

    settings = load_settings({"AUTH": "off"})
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"cannot read {path}: {error}", file=sys.stderr)
        return 2
    report = validate_request(body, tz=settings.tz, optional_prefetch=settings.optional_prefetch, service_id=service_id)
    lines = [problem.line() for problem in report.problems]
    _write("\n".join([*lines, f"{path}: {report.summary()}"]))
    return 1 if report.refused else 0


def card_markdown(card: dict[str, Any]) -> str:
    """Return one card as Markdown: the summary as a heading, then the detail as the service wrote it."""
    return f"## [{card['indicator']}] {card['summary']}\n\n{card.get('detail', '')}".rstrip()


_MARKDOWN_ESCAPE = re.compile(r"\\(.)")
_EMPHASIS = re.compile(r"(?<!\\)\*\*?([^*\n]+?)(?<!\\)\*\*?")
"""``**strong**`` and ``*emphasis*`` the service writes (an escaped ``\\*`` from the EHR stays a star)."""


def card_text(card: dict[str, Any], *, width: int = 100) -> str:
    """Return one card as plain text for a terminal: no Markdown marks, wrapped to ``width``, suggestions and links."""
    lines = [f"{card['indicator'].upper()}: {card['summary']}", ""]
    for raw in card.get("detail", "").splitlines():
        text = _MARKDOWN_ESCAPE.sub(r"\1", _EMPHASIS.sub(r"\1", raw)).replace("&lt;", "<").replace("&amp;", "&")
        indent = len(text) - len(text.lstrip())
        bullet = text.lstrip().startswith("- ")
        lines += textwrap.wrap(
            text.strip(),
            width=width,
            initial_indent=" " * indent,
            subsequent_indent=" " * (indent + (2 if bullet else 0)),
        ) or [""]
    for suggestion in card.get("suggestions", []):
        lines.append(f"  -> suggestion: {suggestion['label']}")
    for link in card.get("links", []):
        lines.append(f"  -> {link['label']}: {link['url']}")
    return "\n".join(lines)


def _write(text: str) -> int:
    """Print ``text``; a reader that closed the pipe (``| head``) ends the command quietly with success."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout again at exit; let that write go nowhere
    return 0


def _report(since: date | None, *, as_json: bool) -> int:
    from storage import AuditStore

    database = _database()
    database.require_current()
    start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    rows = AuditStore(database).feedback_report(since=start)
    if as_json:
        print(json.dumps([_row_json(r) for r in rows], indent=2, ensure_ascii=False))
        return 0
    print(format_report(rows))
    return 0


def format_report(rows: list[ReportRow]) -> str:
    """Render the report as a fixed-width table (rates as percentages of cards shown)."""
    header = f"{'rule':<40} {'guideline':<50} {'shown':>6} {'fb':>5} {'acc':>5} {'ovr':>5} {'acc%':>6} {'ovr%':>6}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.rule_id:<40} {r.guideline_version:<50} {r.cards_shown:>6} {r.cards_with_feedback:>5} "
            f"{r.accepted:>5} {r.overridden:>5} {_pct(r.accept_rate):>6} {_pct(r.override_rate):>6}"
        )
        for reason, count in r.top_override_reasons:
            lines.append(f"    override reason: {reason} ({count})")
    if not rows:
        lines.append("(no cards shown and no feedback yet)")
    return "\n".join(lines)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.0f}%"


def _row_json(row: ReportRow) -> dict[str, object]:
    return {
        "rule": row.rule_id,
        "guidelineVersion": row.guideline_version,
        "cardsShown": row.cards_shown,
        "cardsWithFeedback": row.cards_with_feedback,
        "accepted": row.accepted,
        "overridden": row.overridden,
        "acceptRate": row.accept_rate,
        "overrideRate": row.override_rate,
        "topOverrideReasons": [{"reason": r, "count": c} for r, c in row.top_override_reasons],
    }


def _load_fixtures(base_url: str, fixtures: Path, token: str | None, today: date | None = None) -> int:
    from commands.upload import upload_fixtures

    summary = upload_fixtures(base_url, fixtures, token=token, today=today)
    print(f"uploaded {summary.resources} resources for {len(summary.patients)} patients to {base_url}")
    for patient_id, cases in sorted(summary.patients.items()):
        print(f"  Patient/{patient_id}: {', '.join(cases)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
