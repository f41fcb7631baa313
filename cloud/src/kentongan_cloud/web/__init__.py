"""The web pages: the resident form (Lapor), the operator console and their assets."""
