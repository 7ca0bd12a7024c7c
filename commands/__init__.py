"""The command line (``cds-service``) and the FHIR fixture uploader: above both the service and the worklist."""
