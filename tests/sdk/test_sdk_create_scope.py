"""dl.models.create(scope=...) follows clone's rule: 'project' works, Dataloop's other scopes are refused (issue 18)."""

from __future__ import annotations

import pytest

from desktop_app.errors import ValidationError
from desktop_app.sdk.keywords import SCOPE_REFUSED


def _create(repo, name, project, shapes, **kw):
    return repo.create(model_name=name, project_id=project.id, dataset_id=shapes.id, labels=shapes.labels, **kw)


def test_create_takes_scope_project_and_refuses_the_others_as_clone_does(dl):
    pkg = dl.packages.get("resnet")
    project = dl.projects.get("Sample project")
    shapes = project.datasets.get("shapes")
    made = _create(pkg.models, "scoped", project, shapes, scope="project")
    assert made.scope == "project"
    base = pkg.models.get("pretrained-resnet")
    for scope in ("private", "org", "public"):
        for repo, kw in ((pkg.models, {}), (dl.models, {"package": pkg})):
            with pytest.raises(ValidationError) as created:
                _create(repo, f"scoped-{scope}", project, shapes, scope=scope, **kw)
            with pytest.raises(ValidationError) as cloned:
                base.clone(f"cloned-{scope}", scope=scope)
            # The same rule in the same words: only the call's name differs.
            assert str(created.value).endswith(f"(scope={scope!r}): {SCOPE_REFUSED}")
            assert str(cloned.value).endswith(f"(scope={scope!r}): {SCOPE_REFUSED}")
    names = {m.name for m in dl.models.list()}
    assert "scoped" in names and not {n for n in names if n.startswith(("scoped-", "cloned-"))}


def test_create_no_longer_drops_scope_unread(dl):
    assert "scope" not in type(dl.models).create.ignored_keywords
    assert "version" in type(dl.models).create.ignored_keywords      # still Dataloop's, still meaningless here
