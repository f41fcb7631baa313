"""Kentongan gateway daemon for the Raspberry Pi at a pos kamling."""

__version__ = "0.1.0"
