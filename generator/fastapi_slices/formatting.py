"""Format generated Python with ruff, under the project's own ruff settings."""

import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from ruff.__main__ import find_ruff_bin

from fastapi_slices.errors import GenError


def format_python(files: dict[PurePosixPath, str], project_root: Path) -> dict[PurePosixPath, str]:
    """`files` with every `.py` file's imports sorted and its code formatted, in one go."""
    python = {path: text for path, text in files.items() if path.suffix == ".py"}
    if not python:
        return dict(files)
    with tempfile.TemporaryDirectory(prefix="gen-") as folder:
        root = Path(folder)
        settings = project_root / "pyproject.toml"
        if settings.is_file():
            shutil.copyfile(settings, root / "pyproject.toml")
        for path, text in python.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        names = [str(path) for path in python]
        ruff = find_ruff_bin()
        for arguments in (["check", "--fix", "--select", "I", "--exit-zero"], ["format"]):
            result = subprocess.run(
                [ruff, *arguments, "--quiet", "--no-cache", *names],
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                problem = (result.stderr or result.stdout).strip().splitlines()
                raise GenError(
                    f"ruff could not format the generated code: "
                    f"{problem[0] if problem else result.returncode}"
                )
        formatted = {path: (root / path).read_text(encoding="utf-8") for path in python}
    return {path: formatted.get(path, text) for path, text in files.items()}
