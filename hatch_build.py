"""A build hook: the wheel of gen carries this repository as a git bundle.

`gen new` renders from it when gen is installed from a wheel (`uv tool install <repository>`),
offline, and records a git repository made from it, which `copier update` can follow
(`generator/fastapi_slices/bundled.py`).
"""

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = "fastapi_slices/template.bundle"


class TemplateBundleHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        if self.target_name != "wheel" or version == "editable" or not (root / ".git").exists():
            return  # an editable install renders from its checkout; an sdist has no history
        folder = Path(tempfile.mkdtemp(prefix="fastapi-slices-bundle-"))
        bundle = folder / "template.bundle"
        result = subprocess.run(
            ["git", "bundle", "create", str(bundle), "--all"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            self.app.display_warning(
                "no template bundle (gen new will need --template): " + result.stderr.strip()
            )
            return
        build_data["force_include"][str(bundle)] = BUNDLE
