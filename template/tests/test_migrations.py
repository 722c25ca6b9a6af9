"""The migration history: one head, and names `gen` and Alembic both understand."""

import re
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"^\d{8}_\d{4}_[a-z0-9_]+\.py$")


def test_one_head() -> None:
    """Two heads break `alembic upgrade head`: after a template update, `gen check --fix`."""
    scripts = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    assert len(scripts.get_heads()) <= 1, scripts.get_heads()


def test_names_follow_the_file_template() -> None:
    names = [path.name for path in (ROOT / "alembic" / "versions").glob("*.py")]
    assert [name for name in names if not NAME.match(name)] == []
