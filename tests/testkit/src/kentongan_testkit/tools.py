"""Programs the tests run: a missing one fails with how to install it, never a skip."""

from __future__ import annotations

import shutil


def require(program: str, package: str) -> str:
    """The path of `program`, or an error naming the Debian package that provides it."""
    exe = shutil.which(program)
    if exe is None:
        msg = (
            f"{program} is not installed: apt-get install -y {package} "
            "(bash tests/bootstrap.sh installs it)"
        )
        raise RuntimeError(msg)
    return exe
