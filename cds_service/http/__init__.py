"""The HTTP room: the Flask app, the CDS Hooks routes, request bodies, deadlines, OperationOutcome, gunicorn."""
