"""CSV files for import tests, written the way spreadsheets export them."""

import csv
import io
import json
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
