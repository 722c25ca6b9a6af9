"""Logging: one line per event, the request id on every line, text or JSON.

Standard-library logging with a small JSON formatter: uvicorn, SQLAlchemy and our own loggers
all pass through the same handler and filter, so nothing logs without a request id.
"""

import asyncio
import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

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


class BatchingStreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes the lines of a busy moment together.

    Each write to stderr is a system call: one per request for the access log alone, the
    costliest part of its line. Lines logged while a request is handled (they carry its id),
    under WARNING, wait up to `FLUSH_SECONDS` and go out in one write. Any other line goes out
    at once, after those waiting: a WARNING or worse, a line of no request (starting,
    stopping), and any line past `MOST_WAITING` or logged outside an event loop. A process
    killed outright loses at most the last `FLUSH_SECONDS` of request lines; one that stops
    as uvicorn stops it logs its stopping, which writes them.
    """

    FLUSH_SECONDS = 0.05
    MOST_WAITING = 1000  # lines; more go out at once

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self.waiting: list[str] = []
        self.flush_timer: asyncio.TimerHandle | None = None
        self.flush_loop: asyncio.AbstractEventLoop | None = None  # the timer's

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.waiting.append(self.format(record) + self.terminator)
            urgent = (
                record.levelno >= logging.WARNING
                or getattr(record, "request_id", "-") == "-"
                or len(self.waiting) >= self.MOST_WAITING
            )
            if urgent or not self._flush_later():
                self.flush()
        except RecursionError:  # as logging.StreamHandler does
            raise
        except Exception:
            self.handleError(record)

    def _flush_later(self) -> bool:
        """Make sure a flush is due within FLUSH_SECONDS; False outside an event loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        # A timer of a loop that has ended (tests run several) would never fire.
        if self.flush_timer is None or self.flush_loop is not loop:
            self.flush_timer = loop.call_later(self.FLUSH_SECONDS, self._flush_waiting)
            self.flush_loop = loop
        return True

    def _flush_waiting(self) -> None:
        """The timer's: flush what waits (a WARNING may have flushed it already)."""
        self.acquire()
        try:
            self.flush_timer = None
            self.flush()
        except Exception:  # as for a line that cannot be written: said on stderr, no more
            self.handleError(logging.makeLogRecord({"msg": "waiting log lines"}))
        finally:
            self.release()

    def flush(self) -> None:
        self.acquire()
        try:
            if self.waiting:
                lines = "".join(self.waiting)
                self.waiting.clear()
                self.stream.write(lines)
            super().flush()
        finally:
            self.release()


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
                "()": BatchingStreamHandler,
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
