"""What an older release of gen wrote, for specs that kept no copy of it (spec version 1).

Releases before 0.3 kept no base copies. To merge this release into their slices, their base
is rendered again the way Copier renders an older template: the generator's code at the
release the project came from (its `_commit`, from its `_src_path`) runs in a subprocess
over a copy of the specs, and says what it writes. This runs once: afterwards every spec
has its base copy.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fastapi_slices.errors import GenError
from fastapi_slices.git import git
from fastapi_slices.project import ANSWERS_FILE, SPECS_DIR, Project
from fastapi_slices.spec import EntitySpec

# Runs with the older release's package first on sys.path: the API that 0.1 and 0.2 share.
RENDER = """
import json, sys
from pathlib import Path
from fastapi_slices.formatting import format_python
from fastapi_slices.project import Project
from fastapi_slices.render import render_slice

project = Project.find(Path(sys.argv[1]))
wanted = set(json.loads(sys.argv[2]))
found = {}
for spec in project.specs.values():
    if spec.names.snake in wanted:
        files = format_python(render_slice(spec, project.facts()), project.root)
        found[spec.names.snake] = {str(path): text for path, text in files.items()}
print(json.dumps(found))
"""
VERSION_1_KEYS = ("name", "fields", "owned", "timestamps", "plural", "table", "migration")


def legacy_bases(
    project: Project, specs: Iterable[EntitySpec], release: str
) -> dict[str, dict[str, str]]:
    """The files release `release` of gen wrote for `specs`: by entity, then project path."""
    source = project.answers.get("_src_path")
    wanted = sorted(spec.names.snake for spec in specs)
    if not wanted:
        return {}
    if not source:
        raise GenError(f"{ANSWERS_FILE} has no _src_path: gen {release} cannot be read")
    with tempfile.TemporaryDirectory(prefix="gen-legacy-") as folder:
        checkout = Path(folder) / "release"
        reading = f"read gen {release}"
        clone = ["clone", "--quiet", "--no-checkout", str(source), str(checkout)]
        git(Path(folder), *clone, needed_to=reading)
        git(checkout, "checkout", "--quiet", release, "--", "generator", needed_to=reading)
        copy = _specs_copy(project, Path(folder) / "project")
        result = subprocess.run(
            [sys.executable, "-c", RENDER, str(copy), json.dumps(wanted)],
            env=os.environ | {"PYTHONPATH": str(checkout / "generator")},
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GenError(f"gen {release} could not render the slices it wrote: {reason}")
    found: dict[str, dict[str, str]] = json.loads(result.stdout)
    return found


def _specs_copy(project: Project, copy: Path) -> Path:
    """What the older gen reads of the project: answers, settings, specs in its format."""
    (copy / project.package).mkdir(parents=True)
    (copy / SPECS_DIR).mkdir(parents=True)
    for name in (ANSWERS_FILE, "pyproject.toml"):
        if (project.root / name).is_file():
            shutil.copyfile(project.root / name, copy / name)
    for spec in project.specs.values():
        data = json.loads(spec.to_json())
        old = {key: data[key] for key in VERSION_1_KEYS} | {"version": 1}
        (copy / SPECS_DIR / f"{spec.names.snake}.json").write_text(json.dumps(old, indent=2))
    return copy
