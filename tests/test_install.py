"""gen installed from a wheel (as `uv tool install <repository>` does): `gen new` renders the
template it carries, offline, and records a source that `copier update` follows."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fastapi_slices import __version__
from tests.support import commit_working_tree

pytestmark = pytest.mark.slow
UV = str(Path(sys.executable).with_name("uv"))
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]


def run(*command: str, cwd: Path, **env: str) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
        timeout=300,
    )
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this working tree, released as its version, installed in a venv of its own."""
    folder = tmp_path_factory.mktemp("install")
    repository = commit_working_tree(folder / "fastapi-slices")
    subprocess.run([*GIT, "tag", f"v{__version__}"], cwd=repository, check=True)
    subprocess.run(
        [UV, "build", "--quiet", "--wheel", "--out-dir", str(folder / "dist"), str(repository)],
        check=True,
        capture_output=True,
    )
    [wheel] = (folder / "dist").glob("*.whl")
    subprocess.run(
        [UV, "venv", "--quiet", "--python", sys.executable, str(folder / "venv")], check=True
    )
    subprocess.run(
        [
            UV,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(folder / "venv" / "bin" / "python"),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return folder


def test_gen_new_renders_the_template_it_carries(installed: Path) -> None:
    gen = str(installed / "venv" / "bin" / "gen")
    assert run(gen, "--version", cwd=installed).strip() == f"gen (fastapi-slices) {__version__}"
    home = installed / "home"
    home.mkdir()
    data = installed / "data"
    run(gen, "new", "shop", "--defaults", cwd=home, XDG_DATA_HOME=str(data))
    project = home / "shop"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    template = data / "fastapi-slices" / "template"
    assert answers["_src_path"] == str(template)
    assert answers["_commit"] == f"v{__version__}"
    assert (project / "app" / "main.py").is_file()
    # The source it records is a repository Copier updates from.
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "rendered"]):
        run(*GIT, *command, cwd=project)
    copier = str(installed / "venv" / "bin" / "copier")
    run(copier, "update", "--defaults", "--quiet", cwd=project)
    assert run("git", "status", "--porcelain", cwd=project) == ""
    assert run(gen, "check", cwd=project, XDG_DATA_HOME=str(data)).startswith("ok:")
