"""The template that travels with gen: a git bundle of its repository, in the wheel.

`gen new` clones it once into a folder of the user's (`$XDG_DATA_HOME/fastapi-slices/
template`, or `~/.local/share/...`), and renders from that clone: offline, at this release's
tag, and with a source that `copier update` can follow. Each gen that runs later fetches its
own bundle into the same clone, so an update finds the releases up to its own.
"""

import os
import subprocess
from pathlib import Path

from fastapi_slices import __version__
from fastapi_slices.git import git

BUNDLE = Path(__file__).with_name("template.bundle")
RENDERING = "render the bundled template"


def template_home() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "fastapi-slices" / "template"


def bundled_source() -> tuple[str, str | None] | None:
    """The clone of the bundled template, brought up to this release, and the ref of this
    release in it (its tag, when the bundle has one); None without a bundle."""
    if not BUNDLE.is_file():
        return None
    home = template_home()
    if not (home / ".git").exists():
        home.parent.mkdir(parents=True, exist_ok=True)
        git(home.parent, "clone", "--quiet", str(BUNDLE), str(home), needed_to=RENDERING)
    else:
        refresh(home)
    tag = f"v{__version__}"
    has_tag = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
        cwd=home,
        capture_output=True,
        check=False,
    )
    return str(home), tag if has_tag.returncode == 0 else None


def refresh(home: Path) -> None:
    """Fetch this gen's bundle (its branches and tags) into the clone at `home`."""
    if BUNDLE.is_file() and (home / ".git").exists():
        fetched = "+refs/heads/*:refs/remotes/bundle/*"
        git(home, "fetch", "--quiet", "--tags", str(BUNDLE), fetched, needed_to=RENDERING)
