"""Logfail: a log record at ERROR or above that the test did not declare fails it (after qutebrowser's logfail).

Every record at ERROR or CRITICAL that reaches the root logger during a test's setup, call or teardown (any
logger, any thread of this process; child processes log elsewhere) makes that phase fail, listing the records.
A test that expects one says so, and the expectation is checked too (the record must come, unless
required=False):

    @pytest.mark.expect_log(logger="desktop_app.jobs", level="ERROR", match="worker .* died")

logger: the logger's name or a parent's (None: any); level: the record's exact level name (default ERROR);
match: a regular expression searched in the message (None: any). Several markers may be stacked. The hooks are
imported into tests/conftest.py.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pytest

MARKER = "expect_log"
MIN_LEVEL = logging.ERROR


class _ErrorRecords(logging.Handler):
    """Collects every record at ERROR or above that reaches the root logger, from any thread."""

    def __init__(self) -> None:
        super().__init__(MIN_LEVEL)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        with self.lock:  # type: ignore[union-attr]   # Handler.createLock made it
            taken, self.records = self.records, []
        return taken


_collected = _ErrorRecords()


@dataclass
class Expected:
    """One expect_log marker: which records it allows, and how many it met."""

    logger: str | None
    level: int
    match: re.Pattern[str] | None
    required: bool
    seen: int = 0

    @classmethod
    def from_marker(cls, mark: pytest.Mark) -> Expected:
        if mark.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only, got {mark.args!r}")
        kwargs = dict(mark.kwargs)
        logger = kwargs.pop("logger", None)
        level_name = str(kwargs.pop("level", "ERROR")).upper()
        match = kwargs.pop("match", None)
        required = bool(kwargs.pop("required", True))
        if kwargs:
            raise pytest.UsageError(f"@pytest.mark.{MARKER}: unknown arguments {sorted(kwargs)} "
                                    "(known: logger, level, match, required)")
        level = logging.getLevelName(level_name)
        if not isinstance(level, int) or level < MIN_LEVEL:
            raise pytest.UsageError(f"@pytest.mark.{MARKER}: level must be ERROR or CRITICAL, got {level_name!r} "
                                    "(records below ERROR never fail a test)")
        return cls(logger, level, re.compile(match) if match is not None else None, required)

    def covers(self, record: logging.LogRecord) -> bool:
        if self.logger is not None and record.name != self.logger and not record.name.startswith(self.logger + "."):
            return False
        if record.levelno != self.level:
            return False
        return self.match is None or self.match.search(record.getMessage()) is not None

    def describe(self) -> str:
        pattern = self.match.pattern if self.match is not None else None
        return (f"expect_log(logger={self.logger!r}, level={logging.getLevelName(self.level)!r}, "
                f"match={pattern!r})")


_EXPECTED = pytest.StashKey[list[Expected]]()
_CALL_PASSED = pytest.StashKey[bool]()


def _describe(record: logging.LogRecord) -> str:
    line = f"  {record.levelname} {record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        line += f"  [{type(exc).__name__}: {exc}]"
    return line


def _check(item: pytest.Item, phase: str) -> None:
    unexpected = []
    for record in _collected.take():
        allowing = [e for e in item.stash.get(_EXPECTED, []) if e.covers(record)]
        for e in allowing:
            e.seen += 1
        if not allowing:
            unexpected.append(record)
    if unexpected:
        pytest.fail(f"unexpected log record(s) at ERROR or above during {phase}:\n"
                    + "\n".join(_describe(r) for r in unexpected)
                    + f"\nIf the test expects it, declare it: @pytest.mark.{MARKER}(logger=..., level=..., match=...)",
                    pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(_collected)


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger().removeHandler(_collected)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    item.stash[_EXPECTED] = [Expected.from_marker(m) for m in item.iter_markers(MARKER)]
    item.stash[_CALL_PASSED] = False
    _collected.take()  # whatever a previous test's stray thread logged after its teardown is not this test's
    try:
        result = yield
    except BaseException:
        _collected.take()
        raise
    _check(item, "setup")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        result = yield
    except BaseException:
        _collected.take()  # the test failed already; its log records are in the captured log
        raise
    _check(item, "call")
    item.stash[_CALL_PASSED] = True
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem):
    result = yield
    _check(item, "teardown")
    if item.stash.get(_CALL_PASSED, False):
        missing = [e.describe() for e in item.stash.get(_EXPECTED, []) if e.required and not e.seen]
        if missing:
            pytest.fail("expected log record(s) never came:\n  " + "\n  ".join(missing)
                        + "\n(required=False if it may or may not come)", pytrace=False)
    return result
