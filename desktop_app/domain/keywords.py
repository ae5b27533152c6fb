"""Keyword arguments checked against what a call takes: a misspelt one is refused naming the closest known one.

Python's own TypeError says only "got an unexpected keyword argument"; a public call that swallowed unknown
keywords (``**_ignored``) said nothing at all, so ``model.clone(labes=[...])`` cloned without the labels. A call
wrapped with `checked_keywords` refuses them with `UnexpectedKeywordError` (a ValidationError, so the window
shows it as a message, and a TypeError, as Python users expect) naming the call, the keyword and the closest
keyword it takes. Dataloop's cloud-only keywords are listed per call: those that change nothing offline are
accepted and dropped (``ignored``), those a script relies on for a result are refused saying why (``refused``).
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from desktop_app.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])


class UnexpectedKeywordError(ValidationError, TypeError):
    """A call got a keyword argument it does not take (or one that does nothing offline and is refused)."""


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (difflib), or None when none is close."""
    close = difflib.get_close_matches(str(name), sorted(set(known)), n=1, cutoff=0.6)
    return close[0] if close else None


def unexpected_keyword(call: str, name: str, known: Iterable[str], *, where: str = "") -> UnexpectedKeywordError:
    """The refusal of keyword ``name`` given to ``call`` (``where``: more context), naming the closest of
    ``known``."""
    known = sorted(set(known))
    near = closest(name, known)
    if near is not None:
        hint = f"; did you mean {near!r}?"
    elif known:
        hint = f"; it takes {', '.join(known)}"
    else:
        hint = "; it takes no keyword arguments"
    return UnexpectedKeywordError(f"{call}() got an unexpected keyword argument {name!r}{where}{hint}")


def check_keywords(call: str, given: Iterable[str], known: Iterable[str], *, where: str = "") -> None:
    """Raise UnexpectedKeywordError for the first of ``given`` that is not in ``known``."""
    known = set(known)
    for name in given:
        if name not in known:
            raise unexpected_keyword(call, name, known, where=where)


def keyword_names(fn: Callable[..., Any], *, skip: int = 0) -> tuple[frozenset[str], bool]:
    """(the names ``fn`` takes by keyword, past its first ``skip`` parameters and ``self``; whether it also
    takes any keyword through ``**kwargs``)."""
    params = list(inspect.signature(fn).parameters.values())[skip:]
    names = frozenset(p.name for p in params
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self")
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def checked_keywords(fn: F | None = None, *, ignored: Mapping[str, str] | None = None,
                     refused: Mapping[str, str] | None = None, name: str | None = None) -> Any:
    """Wrap ``fn`` so that an unknown keyword argument raises UnexpectedKeywordError.

    ``ignored``: keywords (Dataloop's) accepted and dropped before ``fn`` is called, each with why it changes
    nothing offline (kept on the wrapper as ``ignored_keywords``, for the docs and the tests). ``refused``:
    keywords refused with their own message (why it does nothing here, what to use instead). A function taking
    ``**kwargs`` is checked only for the refused ones; what it passes on is checked where it lands."""
    def wrap(f: F) -> F:
        known, open_ended = keyword_names(f)
        drop = dict(ignored or {})
        refuse = dict(refused or {})
        call = name or f.__qualname__
        overlap = (set(drop) | set(refuse)) & known
        if overlap:
            raise AssertionError(f"{call}: {sorted(overlap)} are parameters, not Dataloop extras")

        @functools.wraps(f)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if kwargs:
                for key in list(kwargs):
                    if key in known:
                        continue
                    if key in drop:
                        del kwargs[key]
                    elif key in refuse:
                        raise UnexpectedKeywordError(f"{_called(call, f, args)}() does not take {key!r} in "
                                                     f"Model Desk: {refuse[key]}")
                    elif not open_ended:
                        raise unexpected_keyword(_called(call, f, args), key, known | set(drop))
            return f(*args, **kwargs)

        checked.ignored_keywords = drop  # type: ignore[attr-defined]
        checked.refused_keywords = refuse  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return wrap(fn) if fn is not None else wrap


def _called(call: str, f: Callable[..., Any], args: tuple) -> str:
    # An inherited __init__ is named after the class being built: dl.Classification, not its base.
    return type(args[0]).__name__ if f.__name__ == "__init__" and args else call


def check_public_methods(cls: type) -> type:
    """Class decorator: every public method defined on ``cls`` (not inherited, not already wrapped) gets
    `checked_keywords`; properties and dunder methods other than ``__init__`` are left alone."""
    for attr, value in list(vars(cls).items()):
        if attr.startswith("_") and attr != "__init__":
            continue
        call = cls.__name__ if attr == "__init__" else f"{cls.__name__}.{attr}"
        if isinstance(value, (staticmethod, classmethod)):
            if not hasattr(value.__func__, "ignored_keywords"):
                setattr(cls, attr, type(value)(checked_keywords(value.__func__, name=call)))
        elif inspect.isfunction(value) and not hasattr(value, "ignored_keywords"):
            setattr(cls, attr, checked_keywords(value, name=call))
    return cls
