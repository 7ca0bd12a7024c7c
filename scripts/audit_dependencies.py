"""Audit the installed dependencies for known vulnerabilities with pip-audit (PyPI's vulnerability data).

Exit status: 1 if any installed package has a known vulnerability, or if nothing could be audited while
``CDS_REQUIRE_AUDIT=1``; 0 otherwise. Prints what was audited, what was skipped and why.

Usage: ``.venv/bin/python scripts/audit_dependencies.py`` (``make audit``; ``.ci/run`` runs it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def main() -> int:
    """Run pip-audit on this environment and judge its JSON report."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    completed = subprocess.run(
        [str(pip_audit), "--skip-editable", "--progress-spinner", "off", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not completed.stdout.strip():
        print(f"pip-audit failed: {completed.stderr.strip()[-2000:]}", file=sys.stderr)
        return 1
    return judge(json.loads(completed.stdout), require=os.environ.get("CDS_REQUIRE_AUDIT") == "1")


def judge(report: dict[str, Any], *, require: bool) -> int:
    """Print the findings of a pip-audit JSON report; return 1 if vulnerable (or unaudited and ``require``)."""
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixes})")
    print(f"pip-audit: {len(audited)} packages audited, {len(vulnerable)} vulnerable, {len(skipped)} skipped")
    if skipped and not audited:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        print(f"WARNING: NOTHING WAS AUDITED ({'; '.join(reasons)}).", file=sys.stderr)
        print("The package index answers no per-version vulnerability data here (PyPI JSON API).", file=sys.stderr)
        if require:
            return 1
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
