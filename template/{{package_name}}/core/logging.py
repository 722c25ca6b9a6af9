"""Logging: one line per event, the request id on every line, text or JSON.

Standard-library logging with a small JSON formatter: uvicorn, SQLAlchemy and our own loggers
all pass through the same handler and filter, so nothing logs without a request id.
"""

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Set by RequestIdMiddleware for the duration of each request.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# What every record holds: anything else was given as `extra=` (the request id aside).
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
}


# What json.dumps(entry, default=str) would build for each line, built once.
_ENCODER = json.JSONEncoder(default=str)


class RequestIdFilter(logging.Filter):
    """Stamp the current request id (or "-") on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if extras := record.__dict__.keys() - _RECORD_FIELDS:  # most records have none
            entry |= {key: value for key, value in record.__dict__.items() if key in extras}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def configure_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Send every logger, uvicorn's included, through one stamped handler."""
    text_format = "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "text": {"format": text_format},
            "json": {"()": JsonFormatter},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "filters": ["request_id"],
                "formatter": "json" if json_lines else "text",
            },
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # Our access log (RequestIdMiddleware) replaces uvicorn's, which lacks the id.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }
    logging.config.dictConfig(config)
    # No line names a thread, a process or a place in the code: records do not look them up
    # (as the logging HOWTO's "Optimization" section shows), the access log's one per request.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
