"""Whether an architecture's pretrained weights are on this computer, in words for a badge, a tick or a note.

The ml layer knows where torchvision's files would lie (`find_pretrained_weights`, `torchvision_filenames`,
`hub_checkpoint_dir`), but importing it imports torch (seconds): it is asked once per architecture on a worker
thread (`look_up`, through a `TaskRunner`), never at window start nor on the GUI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class LocalWeights:
    arch: str
    path: Path | None            # the file a training would start from; None: random initialisation
    looked_for: tuple[str, ...]  # torchvision's file names for `arch` (empty: it has no pretrained weights)
    folder: Path | None          # where they were looked for (the torch hub cache)

    @property
    def present(self) -> bool:
        return self.path is not None

    def short(self) -> str:
        """The same in one clause, for a page's status line (the badge's tooltip says where to put them)."""
        if self.path is not None:
            return f"Pretrained {self.arch} weights are on this computer."
        return f"No pretrained {self.arch} weights on this computer: a clone trains from random initialisation."

    def note(self) -> str:
        """One sentence for the clone dialog and the model page."""
        if self.path is not None:
            return f"Pretrained weights for {self.arch} are on this computer: training starts from {self.path.name}."
        if not self.looked_for:
            return f"{self.arch} has no pretrained weights: training starts from random initialisation."
        return (f"No pretrained weights for {self.arch} on this computer: training starts from random "
                f"initialisation. Model Desk never downloads; put {' or '.join(self.looked_for)} in "
                f"{self.folder} to start from them.")


_known: dict[str, LocalWeights] = {}
_lock = threading.Lock()


def known(arch: str) -> LocalWeights | None:
    """The answer if it was already looked up (no torch import), else None."""
    with _lock:
        return _known.get(arch)


def look_up(arch: str) -> LocalWeights:
    """Ask the ml layer (imports torch: call it on a worker thread)."""
    from desktop_app.ml.models import find_pretrained_weights, hub_checkpoint_dir, torchvision_filenames

    names = tuple(torchvision_filenames(arch))
    found = LocalWeights(arch, find_pretrained_weights(arch) if names else None, names,
                         hub_checkpoint_dir() if names else None)
    with _lock:
        _known[arch] = found
    return found


def forget() -> None:
    """Look again next time (after the user may have copied weights in; tests)."""
    with _lock:
        _known.clear()


def ask(runner: Any, arch: str, on_done: Callable[[LocalWeights], None]) -> None:
    """Call `on_done` with the answer: at once when known, else once a worker of `runner` has looked."""
    got = known(arch)
    if got is not None:
        on_done(got)
        return
    runner.submit(lambda: look_up(arch), on_done)   # a failure is logged by the runner


def arch_of(configuration: dict | None) -> str | None:
    """The architecture a configuration starts from pretrained weights of, or None (pretrained off / no arch)."""
    cfg = configuration or {}
    arch = cfg.get("arch")
    if not isinstance(arch, str) or not cfg.get("pretrained", False) or cfg.get("pretrained_path"):
        return None
    return arch
