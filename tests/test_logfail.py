"""The test harness itself: an undeclared ERROR log fails a test, a declared one must come, warnings are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS_DIR = Path(__file__).parent

INNER_TESTS = '''
import logging
import threading
import warnings

import pytest

log = logging.getLogger("desktop_app.somewhere")


def test_info_and_warning_pass():
    log.info("fine")
    log.warning("fine too")


def test_undeclared_error_fails():
    log.error("disk on fire")


def test_error_from_a_thread_fails():
    t = threading.Thread(target=lambda: logging.getLogger("other").critical("thread says no"))
    t.start()
    t.join()


@pytest.fixture
def noisy_teardown():
    yield
    log.error("teardown mess")


def test_error_in_teardown_fails(noisy_teardown):
    pass


@pytest.mark.expect_log(logger="desktop_app", level="ERROR", match="disk on .+")
def test_declared_error_passes():
    log.error("disk on fire")


@pytest.mark.expect_log(logger="desktop_app", match="disk")
def test_declared_but_other_message_fails():
    log.error("network down")


@pytest.mark.expect_log(logger="desktop_app.elsewhere", match="disk")
def test_declared_for_another_logger_fails():
    log.error("disk on fire")


@pytest.mark.expect_log(logger="desktop_app", match="never")
def test_required_but_never_logged_fails():
    pass


@pytest.mark.expect_log(logger="desktop_app", match="maybe", required=False)
def test_optional_and_never_logged_passes():
    pass


def test_failing_test_reports_its_own_error_only():
    log.error("on the way down")
    assert False, "the real failure"


def test_own_warning_fails():
    warnings.warn("something off", UserWarning)


def test_own_warning_asserted_passes():
    with pytest.warns(UserWarning, match="something off"):
        warnings.warn("something off", UserWarning)
'''


@pytest.fixture
def inner(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(TESTS_DIR))
    pytester.makeini("""
[pytest]
markers =
    expect_log: an expected ERROR log record
filterwarnings = error
""")
    pytester.makeconftest("from logfail import pytest_configure, pytest_unconfigure  # noqa: F401\n"
                          "from logfail import pytest_runtest_setup, pytest_runtest_call  # noqa: F401\n"
                          "from logfail import pytest_runtest_teardown  # noqa: F401\n")
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    return result


def test_logfail_fails_undeclared_errors_and_checks_declared_ones(inner):
    outcomes = {}
    for line in inner.outlines:
        for word in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(word + " test_inner.py::"):
                name = line.split("::", 1)[1].split(" ", 1)[0]
                outcomes.setdefault(name, set()).add(word)
    assert outcomes == {
        "test_info_and_warning_pass": {"PASSED"},
        "test_undeclared_error_fails": {"FAILED"},
        "test_error_from_a_thread_fails": {"FAILED"},
        "test_error_in_teardown_fails": {"PASSED", "ERROR"},
        "test_declared_error_passes": {"PASSED"},
        "test_declared_but_other_message_fails": {"FAILED"},
        "test_declared_for_another_logger_fails": {"FAILED"},
        "test_required_but_never_logged_fails": {"PASSED", "ERROR"},
        "test_optional_and_never_logged_passes": {"PASSED"},
        "test_failing_test_reports_its_own_error_only": {"FAILED"},
        "test_own_warning_fails": {"FAILED"},
        "test_own_warning_asserted_passes": {"PASSED"},
    }, inner.stdout.str()
    text = inner.stdout.str()
    assert "ERROR desktop_app.somewhere: disk on fire" in text
    assert "CRITICAL other: thread says no" in text
    assert "expect_log(logger='desktop_app', level='ERROR', match='never')" in text
    assert "the real failure" in text
