"""Population worklist: every patient of a FHIR Bulk Data export evaluated by the guideline, on one machine.

``cohort.bulk`` reads the NDJSON files (never more than a line of a length limit), ``cohort.export`` holds how an
export is read (its files, the limit, its server's base), ``cohort.ownership`` says which of its patients a resource
belongs to (another server's ``Patient/x`` is not this export's), ``cohort.grouping`` gathers each patient's
resources in an embedded SQLite file (the export is never held in memory), ``cohort.evaluation`` maps and evaluates
one patient with the same functions a hook call uses (``fhir_mappers.summarize``, ``guideline.assess``),
``cohort.outputs`` writes the worklist CSV (``cohort.spreadsheet``: no cell a spreadsheet runs as a formula), one
FHIR ``GuidanceResponse`` per patient (NDJSON; ``cohort.ids``: FHIR ids and subjects whatever the export's ids) and a
self-contained HTML summary, and ``cohort.synth`` writes synthetic cohorts. ``cohort.run`` ties them together over
all cores. No web layer here: the CLI (``cds-service cohort``, ``cds-service synth-cohort``) passes the settings in.
"""
