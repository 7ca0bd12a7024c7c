"""Cards built for speed (issue 32) say exactly what the pruned, uncached build said.

The extension is built without empty values instead of pruned afterwards, the translator caches templates and texts
without parameters, and card uuids reuse the hashed namespace: each is checked here against the plain definition
(``prune``, ``escape_markdown``, Babel's ``format_decimal``, ``uuid.uuid5``), and every golden card is checked to hold
no empty value in any variant of the card options.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import date
from typing import Any

import pytest
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from cds_service.cards.extension import advice_extension, decision_extension, prune
from cds_service.cards.i18n import escape_markdown, translator
from cds_service.cards.render import CARD_NAMESPACE, card_uuid
from cds_service.settings import Settings
from fhir_mappers import ImmunoglobulinOrder
from guideline.concepts import AdviceKind, AdviceRule, Recommendation, RuleId
from guideline.finding import Evidence, KeyDates
from guideline.model import Advice, Criterion, Finding
from guideline.record import DataIssue
from guideline.sources import SourceRef
from guideline.text import Decimals, Message, msg, plural
from tests.cases import CASES, case_dir
from tests.conftest import make_app
from tests.test_golden import GOLDEN_APP

SETTINGS = Settings.from_config({"AUTH": "off"})
EMPTY_SOURCE = SourceRef(document="", version="1.1", section="", document_key="summary")
AS_OF = date(2026, 11, 20)


def _finding(**changes: Any) -> Finding:
    fields: dict[str, Any] = {
        "rule": RuleId.PRIMARY_IMMUNODEFICIENCY,
        "recommendation": Recommendation.INSUFFICIENT_DATA,
        "population": None,
        "as_of": AS_OF,
        "criteria": (),
        "dates": KeyDates(),
        "source": EMPTY_SOURCE,
        "summary": msg("Summary"),
    }
    return Finding(**{**fields, **changes})


def test_an_extension_with_nothing_optional_has_only_what_is_always_there() -> None:
    extension = decision_extension(_finding(), orders=(), settings=SETTINGS, t=translator("en"))
    assert extension == {
        "kind": "decision",
        "recommendation": "insufficient-data",
        "rule": "out-of-scope-primary-immunodeficiency",
        "guideline": {"version": "1.1", "url": SETTINGS.guideline_url, "listingUrl": SETTINGS.listing_url},
        "dates": {"asOf": "2026-11-20"},
        "onIgrt": False,
        "language": "en",
    }


def test_empty_texts_values_and_emptied_objects_are_left_out_in_order() -> None:
    empty = Message("")
    criteria = (
        Criterion(
            id="",
            description=empty,
            held=None,
            required=False,
            evidence=(
                Evidence(text=empty),  # nothing left of it: dropped from the list
                Evidence(text=msg("IgG {value} g/L", value=Decimals(0.0, 1)), ref="", value=0.0, unit="", on=AS_OF),
            ),
        ),
        Criterion(id="weight", description=msg("Weight"), held=False, evidence=(Evidence(text=empty, ref=""),)),
    )
    finding = _finding(
        criteria=criteria,
        dates=KeyDates(t0=date(2026, 9, 1), stop_due=date(2027, 3, 1), follow_up_overdue=False),
        notes=(empty, msg("A note")),
        data_issues=(DataIssue(ref="", reason=empty), DataIssue(ref="Observation/x", reason=empty)),
        on_igrt=True,
    )
    orders = (ImmunoglobulinOrder(ref="MedicationRequest/d", display="", matched=""),)
    extension = decision_extension(finding, orders=orders, settings=SETTINGS, t=translator("en"))
    assert extension["criteria"] == [
        {
            "result": "undetermined",
            "required": False,
            "evidence": [{"text": "IgG 0.0 g/L", "value": 0.0, "date": "2026-11-20"}],
        },
        {"id": "weight", "description": "Weight", "result": "not-met", "held": False, "required": True},
    ]
    assert extension["dates"] == {"asOf": "2026-11-20", "t0": "2026-09-01", "stopDue": "2027-03-01"}
    assert extension["notes"] == ["A note"]
    assert extension["dataIssues"] == [{"resource": "Observation/x"}]
    assert extension["orders"] == [{"resource": "MedicationRequest/d"}]
    assert list(extension) == [
        "kind",
        "recommendation",
        "rule",
        "guideline",
        "criteria",
        "dates",
        "onIgrt",
        "notes",
        "dataIssues",
        "orders",
        "language",
    ]
    assert json.dumps(prune(extension)) == json.dumps(extension)


def test_advice_values_are_pruned_and_settings_kept_with_their_value() -> None:
    advice = Advice(
        kind=AdviceKind.DOSE,
        rule=AdviceRule.DOSE_IN_RANGE,
        summary=msg("Dose"),
        source=EMPTY_SOURCE,
        values=(("none", None), ("blank", ""), ("zero", 0.0), ("text", "x")),
        interpretations=("igg_recent_max_age_days",),
    )
    extension = advice_extension(advice, settings=SETTINGS, t=translator("da"))
    assert extension["values"] == {"zero": 0.0, "text": "x"}
    assert extension["guideline"] == {"version": "1.1"}
    assert [item["name"] for item in extension["interpretations"]] == ["igg_recent_max_age_days"]
    assert extension["interpretations"][0]["value"] == SETTINGS.parameters.igg_recent_max_age_days
    assert list(extension) == ["kind", "rule", "summary", "warning", "guideline", "values", "interpretations"]


_VARIANTS = (None, {"language": "da", "details": True, "advice": "cards"})


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.service}/{c.name}")
def test_golden_cards_hold_no_empty_value_in_any_option(case: Any) -> None:
    request = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    client = make_app(FIXED_DATE=case.as_of, **GOLDEN_APP).test_client()
    for options in _VARIANTS:
        body = copy.deepcopy(request)
        if options is not None and isinstance(body, dict):
            body.setdefault("extension", {})["sid-igrt"] = options
        cards = (client.post(f"/cds-services/{case.service}", json=body).get_json() or {}).get("cards", [])
        for card in cards:
            # Same keys in the same order after pruning: nothing the service sends was null or empty.
            assert json.dumps(prune(card)) == json.dumps(card)


_MARKDOWN_TEXT = st.text(alphabet=st.sampled_from("ab 1#>-+.&<\\`*_[]~|!()\n\r\x0b\x0c\x1c\x85\u2028æ"), max_size=12)


@given(_MARKDOWN_TEXT)
def test_markdown_parameters_are_escaped_as_escape_markdown_escapes_them(text: str) -> None:
    assert translator("en").markdown()(msg("x {p}", p=text)) == "x " + escape_markdown(text, line_start=False)
    assert translator("en")(msg("x {p}", p=text)) == "x " + text


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_danish_numbers_are_babels(value: float) -> None:
    assert translator("da")(msg("{v}", v=value)) == format_decimal(value, format="#,##0.###", locale="da")
    places = 2
    expected = format_decimal(Decimals(value, places).digits(), format="#,##0.00", locale="da")
    assert translator("da")(msg("{v}", v=Decimals(value, places))) == expected


def test_cached_texts_keep_singular_plural_and_languages_apart() -> None:
    en, da = translator("en"), translator("da")
    assert en(Message("Details")) == en(msg("{d}", d=Message("Details"))) == "Details"
    assert da(Message("Details")) == da(msg("{d}", d=Message("Details"))) != "Details"
    assert en.markdown()(Message("Details")) == "Details"
    # A plural message without parameters (count 0) takes the plural form, though the singular id is cached.
    assert en(Message("one day")) == "one day"
    bare_plural = Message("one day", msgid_plural="some days", count="n")
    assert en(bare_plural) == en(msg("{x}", x=bare_plural)) == "some days"
    assert en(plural("{count} day", "{count} days", 2)) == "2 days"
    assert en(plural("{count} day", "{count} days", 1)) == "1 day"
    one, other = (
        "{count} record could not be used: what and why under Evidence and timeline",
        "{count} records could not be used: what and why under Evidence and timeline",
    )
    assert da(plural(one, other, 2)).startswith("2 ") and da(plural(one, other, 2)) != da(plural(one, other, 1))
    assert da(plural(one, other, 1)) == da(msg("{x}", x=plural(one, other, 1))) != en(plural(one, other, 1))


@given(st.text(max_size=40), st.sampled_from([r.value for r in RuleId]), st.none() | st.integers(0, 9))
def test_card_uuids_are_uuid5_of_seed_and_rule(seed: str, rule: str, index: int | None) -> None:
    parts: tuple[object, ...] = (rule,) if index is None else (rule, index)
    expected = str(uuid.uuid5(CARD_NAMESPACE, ":".join((seed, *map(str, parts)))))
    assert card_uuid(seed, *parts) == expected
