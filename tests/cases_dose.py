"""Golden cases of issue "clinical fidelity 4": the dose as ordered, dates that agree, Danish a clinician would write.

Each case shows one item of the issue as a request and the cards the service answers (``fixtures/golden/``).
"""

from __future__ import annotations

from tests.golden_case import Case

CASES: tuple[Case, ...] = ()
