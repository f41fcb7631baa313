"""Kentongan gateway daemon for the Raspberry Pi at a pos kamling."""
