"""CSV files for import tests, written the way spreadsheets export them, and read back."""

import csv
import io
import json
from pathlib import Path
from typing import Any


def cell(value: Any) -> str:
    """One value as a CSV cell: JSON objects as JSON, booleans as true/false, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def csv_text(rows: list[dict[str, Any]], *, line_end: str = "\n") -> str:
    """A header naming the columns of the first row, then one line a row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)
    writer.writerow(list(rows[0]))
    for row in rows:
        writer.writerow([cell(value) for value in row.values()])
    return buffer.getvalue()


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file by column name; bytes that are not UTF-8 kept as surrogates."""
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as file:
        return list(csv.DictReader(file))
