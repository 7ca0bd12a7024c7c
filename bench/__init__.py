"""The speed benchmark (``make bench``): the service against a minimal Flask baseline under the same gunicorn config.

Not part of the installed service; run from the repository root with ``.venv/bin/python -m bench``.
"""
