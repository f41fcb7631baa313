"""Kentongan command centre: intake, incidents, responders, fan-out, fleet health."""
