"""The read-only JSON API (see dashboard/api/openapi.py for its description)."""
