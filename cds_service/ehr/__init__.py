"""The EHR side: prefetch gathering and the FHIR fallback fetch from the EHR's FHIR server."""
