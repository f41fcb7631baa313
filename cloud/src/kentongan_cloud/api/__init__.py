"""The HTTP API (FastAPI): incidents, fleet, area alarms, intake for phones and residents."""
