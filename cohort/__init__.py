"""Population worklist: every patient of a FHIR Bulk Data export evaluated by the guideline, on one machine.

``cohort.bulk`` reads the NDJSON files, ``cohort.grouping`` gathers each patient's resources in an embedded SQLite
file (the export is never held in memory), ``cohort.evaluation`` maps and evaluates one patient with the same
functions a hook call uses (``fhir_mappers.summarize``, ``guideline.assess``), ``cohort.outputs`` writes the
worklist CSV, one FHIR ``GuidanceResponse`` per patient (NDJSON) and a self-contained HTML summary, and
``cohort.synth`` writes synthetic cohorts. ``cohort.run`` ties them together over all cores. No web layer here:
the CLI (``cds-service cohort``, ``cds-service synth-cohort``) passes the settings in.
"""
