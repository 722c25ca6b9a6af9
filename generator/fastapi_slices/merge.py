"""Three-way merges of slice files, by `git merge-file`: the merge Copier uses for updates.

base: what gen last wrote (its copy in `.gen/base/`); ours: the file as it is now, with the
user's edits; theirs: the new rendering. Where both changed the same lines, the result holds
conflict markers in Copier's style, and the caller reports the file.
"""

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi_slices.errors import GenError

LABELS = ("before gen", "last gen", "after gen")


@dataclass(frozen=True)
class Merged:
    text: str
    conflicts: int  # regions holding conflict markers


def merge(ours: str, base: str, theirs: str) -> Merged:
    """Your edits (base -> ours) and gen's (base -> theirs), together."""
    if ours in {base, theirs}:
        return Merged(theirs, 0)
    if theirs == base:
        return Merged(ours, 0)
    with tempfile.TemporaryDirectory(prefix="gen-merge-") as folder:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8", newline="")
            paths.append(str(path))
        labels = [argument for label in LABELS for argument in ("-L", label)]
        try:
            result = subprocess.run(
                ["git", "merge-file", "-p", *labels, *paths],
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise GenError("git is needed to merge your edits: install git") from None
    if result.returncode < 0 or result.returncode > 127:
        reason = result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
        raise GenError(f"git merge-file failed: {reason}")
    return Merged(result.stdout.decode("utf-8"), result.returncode)
