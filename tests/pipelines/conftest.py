"""Pipeline fixtures: the dial classifier package and a champion of known skill on the sample 'shapes' set."""

from __future__ import annotations

import pytest

from pipehelpers import make_champion, push_dial


@pytest.fixture
def dial(dl):
    return push_dial(dl)


@pytest.fixture
def champion(dl, dial, tmp_path):
    return make_champion(dl, dial, tmp_path, skill=0.5)
