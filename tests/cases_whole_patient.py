"""Golden cases of issue "clinical fidelity 3": stop, pause and restart see the whole patient.

Each case shows one item of the issue as a request and the cards the service answers (``fixtures/golden/``).
"""

from __future__ import annotations

from tests.golden_case import Case

CASES: tuple[Case, ...] = ()
