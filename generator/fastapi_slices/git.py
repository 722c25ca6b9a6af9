"""Running git, with its failures as one-line GenErrors."""

import subprocess
from pathlib import Path

from fastapi_slices.errors import GenError


def git(folder: Path, *arguments: str, needed_to: str) -> str:
    """git's output for `arguments`, run in `folder`; `needed_to` says what for, when git is
    missing. A failing command raises GenError with the first line of git's complaint."""
    try:
        result = subprocess.run(
            ["git", *arguments], cwd=folder, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise GenError(f"git is needed to {needed_to}: install git") from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[0]
        raise GenError(f"git {arguments[0]} failed: {reason}")
    return result.stdout
