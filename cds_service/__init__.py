"""CDS Hooks service for immunoglobulin replacement therapy (IgRT) in secondary immunodeficiency.

HTTP and CDS Hooks behaviour live here; FHIR mapping in ``fhir_mappers``; the guideline in ``guideline``.
This module imports no Flask, so the packages below it can be used without the web stack.
"""

__version__ = "0.1.0"
