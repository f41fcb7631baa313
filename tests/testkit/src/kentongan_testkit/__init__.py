"""Test support for Kentongan."""
