"""The statuses a model, a job (execution), a pipeline, a pipeline run and its steps, and a service can have.

Each is a `StrEnum` whose values are the words stored in the catalog, so `ModelStatus.TRAINED == "trained"`
and a row read back compares equal to its member. Groups callers test against (`ModelStatus.WITH_WEIGHTS`,
`ExecutionStatus.FINAL`, ...) read as class attributes and are tuples of members; they are not members
themselves, so iterating `ModelStatus` lists the statuses only (as Dataloop's `dl.ModelStatus` does).
Which status may follow which is `catalog.lifecycle`'s table; the catalog writes a status nowhere else.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from desktop_app.errors import ValidationError

E = TypeVar("E", bound=StrEnum)


class _Group:
    """A named group of an enum's members, read as `Enum.NAME` (a descriptor: an enum never makes it a member)."""

    def __init__(self, *names: str):
        self._names = names           # none: every member, in definition order
        self._members: tuple | None = None

    def __get__(self, obj: Any, owner: type[StrEnum]) -> tuple:
        if self._members is None:
            self._members = tuple(owner[n] for n in self._names) if self._names else tuple(owner)
        return self._members


class ModelStatus(StrEnum):
    CREATED = "created"
    PRE_TRAINED = "pre-trained"      # a built-in's model, given at creation; comes back only by a restore
    PENDING = "pending"              # a training job is queued
    TRAINING = "training"
    TRAINED = "trained"
    DEPLOYED = "deployed"            # a service serves it
    FAILED = "failed"                # its training failed

    ALL = _Group()
    WITH_WEIGHTS = _Group("TRAINED", "DEPLOYED")  # weights of its own: evaluated, served, exported, championed
    BUSY = _Group("PENDING", "TRAINING")          # a training job holds it


class ExecutionStatus(StrEnum):
    CREATED = "created"              # queued
    IN_PROGRESS = "in-progress"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"      # its process died, or its pipeline runner ended; resumable

    ALL = _Group()
    FINAL = _Group("SUCCESS", "FAILED", "CANCELED", "INTERRUPTED")
    ACTIVE = _Group("CREATED", "IN_PROGRESS")
    RESUMABLE = _Group("INTERRUPTED", "CANCELED", "FAILED")


class PipelineStatus(StrEnum):
    """A pipeline row's lock: idle, or running while one of its runs is."""
    IDLE = "idle"
    RUNNING = "running"

    ALL = _Group()


class PipelineRunStatus(StrEnum):
    CREATED = "created"              # the schema's default only: every run is inserted running
    RUNNING = "running"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELED = "canceled"
    PROMOTED = "promoted"
    DISCARDED = "discarded"

    ALL = _Group()
    RESUMABLE = _Group("FAILED", "INTERRUPTED", "CANCELED")
    FINAL = _Group("FAILED", "INTERRUPTED", "CANCELED", "PROMOTED", "DISCARDED")
    DONE = _Group("PROMOTED", "DISCARDED")


class StepStatus(StrEnum):
    """A pipeline run's step (kept in the run's `steps` JSON); its execution has an ExecutionStatus of its own."""
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"

    ALL = _Group()


class ServiceStatus(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"

    ALL = _Group()
    LIVE = _Group("STARTING", "RUNNING")          # its process is (meant to be) up


# What each enum is called in messages.
KINDS: dict[type[StrEnum], str] = {
    ModelStatus: "model", ExecutionStatus: "execution", PipelineStatus: "pipeline",
    PipelineRunStatus: "pipeline run", StepStatus: "pipeline step", ServiceStatus: "service",
}


def coerce(enum: type[E], value: Any) -> E:
    """`value` as a member of `enum`; a ValidationError naming the bad value and the allowed ones otherwise."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValidationError(f"unknown {KINDS.get(enum, enum.__name__)} status {value!r}; "
                              f"one of {allowed}") from None


class TransitionError(ValidationError):
    """A status change the transition table does not allow; names the entity, its status and the refused one."""

    def __init__(self, kind: str, entity_id: str, current: str, wanted: str, allowed: tuple[str, ...] = ()):
        self.kind, self.entity_id, self.current, self.wanted = kind, entity_id, current, wanted
        then = f"; from {current} it may become {', '.join(allowed)}" if allowed else f"; {current} is final"
        super().__init__(f"{kind} {entity_id} cannot go from {current} to {wanted}{then}")
