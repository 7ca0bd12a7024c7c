"""One patient decided, the same way for every caller: the CDS hooks, the worklist and the evidence page.

``decide`` maps FHIR resources into the guideline model (``fhir_mappers``) and assesses them (``guideline``);
``Policy`` says what a caller shows (orders read, quiet unless the guideline concerns the patient, follow-up).
"""

from decision.decide import Decision, Policy, decide, decide_mapped, map_record

__all__ = ["Decision", "Policy", "decide", "decide_mapped", "map_record"]
