"""Identifier types shared by topics, payloads and provisioning files."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
_ID_RE = re.compile(ID_PATTERN)

# Words that appear at the gateway level of the topic tree and so cannot name a gateway.
RESERVED_GATEWAY_IDS = frozenset({"broadcast", "cloud", "technician", "all"})

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
"""Lower-case id for districts, gateways, inputs, incident types and patterns."""

SessionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
"""Random per daemon start (uuid4().hex): never reused after a reflash."""

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

ShortText = Annotated[str, StringConstraints(max_length=200)]

Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


def is_id(value: str) -> bool:
    """True when `value` is a valid Kentongan id."""
    return bool(_ID_RE.fullmatch(value))
