"""Why the demo stops."""

from __future__ import annotations


class DemoError(RuntimeError):
    """The demo could not go on (what failed is in the message)."""
