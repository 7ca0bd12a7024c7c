"""The Medicinrådet documents and sections each rule rests on.

Section names are the documents' own (Danish), so a clinician can find the text. URLs are not part of the
guideline core: the service layer attaches the configured links (see ``cds_service.settings``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SourceRef(BaseModel):
    """One guideline document and section.

    Attributes:
        document: the document title as Medicinrådet publishes it.
        version: the document version ("1.1"), or the year for the addendum.
        section: the section heading in the document.
        document_key: ``"summary"`` (Opsummering) or ``"addendum"`` (CAR-T/bsAb Tillæg); selects the link.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    document: str
    version: str
    section: str
    document_key: str


SUMMARY_TITLE = "Opsummering: Immunglobulinsubstitution ved sekundære immundefekter (SID)"
SUMMARY_VERSION = "1.1"
SUMMARY_APPROVED = "2026-02-18"
SUMMARY_DOCUMENT_NUMBER = "233094"
ADDENDUM_TITLE = "Tillæg til evidensgennemgangen: Kriterier ved behandling med CAR-T eller bispecifikke antistoffer"
ADDENDUM_VERSION = "2026"
GUIDELINE_VERSION = f"SID {SUMMARY_VERSION} ({SUMMARY_APPROVED}) + CAR-T/bsAb addendum {ADDENDUM_VERSION}"
"""The guideline documents and versions this release applies; recorded with every decision and feedback report."""
GUIDELINE_LABEL = f"Medicinrådet SID-opsummering v{SUMMARY_VERSION} ({SUMMARY_APPROVED}) med CAR-T/bsAb-tillæg"
SOURCE_LABEL = (
    f"Medicinrådet: immunglobulin ved SID, opsummering v{SUMMARY_VERSION} "
    f"({'.'.join(reversed(SUMMARY_APPROVED.split('-')))}) med CAR-T/bsAb-tillæg"
)
"""The label of every card's ``source``: the documents as Medicinrådet names them, approved on dd.mm.yyyy."""


def _summary(section: str) -> SourceRef:
    return SourceRef(document=SUMMARY_TITLE, version=SUMMARY_VERSION, section=section, document_key="summary")


def _addendum(section: str) -> SourceRef:
    return SourceRef(document=ADDENDUM_TITLE, version=ADDENDUM_VERSION, section=section, document_key="addendum")


START_POP1 = _summary("Kriterier for opstart, 1. Opstartskriterier for immunglobulin ved hæmatologisk sygdom")
START_POP2 = _addendum("4.1 Opstartskriterier")
START_POP3 = _summary("Kriterier for opstart, 3. Opstartskriterier for immunglobulin efter allogen HSCT")
START_POP4 = _summary(
    "Kriterier for opstart, 4. Opstartskriterier for immunglobulin hos patienter med hypogammaglobulinæmi, "
    "der ikke har hæmatologisk sygdom eller har gennemgået HSCT"
)
CHILDREN = _addendum("4. Kriterier for anvendelse (børn)")
MONITORING = _summary("Monitorering af effekt")
STOP_POP2 = _addendum("4.2 Seponeringskriterier")
STOP_STANDARD = _summary("Kriterier for seponering")
PAUSE = _summary("Kriterier for seponering, Pausering")
SCOPE = _summary("SID og immunglobulinsubstitution")
DOSE = _summary("Dosisjustering")
PRODUCT_IVIG = _summary("Anbefalinger for IVIG; Tabel 1")
PRODUCT_SWITCH = _summary("Skift mellem præparater; Manglende effekt; Bivirkninger")
M_COMPONENT = _summary("Kriterier for opstart, 1. hæmatologisk sygdom (IgG-M-komponent); tillæg tabel 8-7 (COMMIT)")
PREREQUISITES = _summary("Kriterier for opstart (inden stillingtagen til opstart)")
STOP_MARKERS = _summary("Kriterier for seponering (IgA, IgM og B-celler under behandling); tillæg §3.4")
HIGH_RISK_PERIOD = _addendum("3.4 Konklusion og vurdering af evidensen; 4.3 Baggrund")
""""de første seks måneder efter CAR-T eller opstart af bispecifikke antistoffer repræsenterer perioden med højest
infektionsrisiko" (addendum §3.4)."""
OWN_IGG = _summary("Kriterier for seponering (IgG under immunglobulinsubstitution); tillæg §3.4")
"""Only own IgG decides: "Under immunglobulinsubstitution kan IgG ikke anvendes isoleret som markør ..."."""
