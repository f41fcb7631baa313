"""Residents' photos: checked, then re-encoded so EXIF (and the GPS position in it) is gone."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 1600
ACCEPTED = frozenset({"JPEG", "PNG", "WEBP"})


class PhotoRejectedError(ValueError):
    """A photo we will not keep; `reason` is `type`, `size` or `unreadable`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reencode(data: bytes) -> bytes:
    """A fresh JPEG of at most MAX_SIDE pixels a side, turned upright, with no metadata.

    Blocking (Pillow): call it from a thread."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejectedError("size")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED:
                raise PhotoRejectedError("type")
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoRejectedError("size")
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            upright = ImageOps.exif_transpose(img) or img
            rgb = upright.convert("RGB")
            rgb.thumbnail((MAX_SIDE, MAX_SIDE))
            # A new image carries no info of the old one: no EXIF, no XMP, no comments.
            clean = Image.new("RGB", rgb.size)
            clean.paste(rgb)
            out = io.BytesIO()
            clean.save(out, "JPEG", quality=80, optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PhotoRejectedError("unreadable") from exc
    return out.getvalue()
