"""One rule for running a model (deploy's): evaluate, predict and deploy refuse a model without what its adapter
needs at once, with the same message, from the SDK, the CLI and the job queue; nothing is queued or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.errors import ValidationError
from desktop_app.ml.readiness import why_cannot_run

ORACLE = Path(__file__).resolve().parents[1] / "evaluation" / "oracle_package"


def _written(cat, model_id):
    return (len(cat.list_executions(model_id=model_id)), len(cat.list_annotations(model_id=model_id)),
            len(cat.list_evaluations(model_id=model_id)), len(cat.list_services()))


def test_the_dataloop_snippet_on_a_clone_without_weights_is_refused_at_submit(dl):
    """The README's snippet, without the train() line: evaluate used to queue a job that failed later."""
    cat = dl.default_client().catalog
    project = dl.projects.get("Sample project")
    dataset_id = dl.datasets.get("shapes").id
    package = dl.packages.get(package_name='resnet')
    pretrained_model = package.models.get(model_name='pretrained-resnet')
    model = pretrained_model.clone(model_name='my first exp', description='with higher lr',
                                   project_id=project.id, configuration={'learning_rate': 0.005})
    before = _written(cat, model.id)
    refusals = {}
    with pytest.raises(ValidationError) as e:
        model.evaluate(dataset=dl.datasets.get(dataset_id=dataset_id), filters={'subset': 'test'})
    refusals["evaluate"] = str(e.value)
    with pytest.raises(ValidationError) as e:
        model.predict(item_ids=cat.item_ids(dataset_id)[:3], dataset_id=dataset_id)
    refusals["predict"] = str(e.value)
    with pytest.raises(ValidationError) as e:
        model.deploy()
    refusals["deploy"] = str(e.value)
    for action, message in refusals.items():
        assert message == why_cannot_run(cat, cat.get_model(model.id), action)
        assert message.startswith("model 'my first exp' has no weights.pt yet (pretrained weights are never "
                                  "downloaded): train it, or clone a trained model, before you ")
    assert _written(cat, model.id) == before == (0, 0, 0, 0)
    assert cat.get_model(model.id).status == "created"
    # the same model queued from the job runner's own entry: refused there too
    from desktop_app.jobs import runner
    with pytest.raises(ValidationError, match="has no weights.pt yet"):
        runner.submit_evaluate(cat, model.id, dataset_id, wait=False)
    assert _written(cat, model.id) == before


@pytest.mark.parametrize("status, words", [("training", "once training has ended"),
                                           ("pending", "once training has ended"),
                                           ("failed", "train it again")])
def test_a_model_in_training_or_failed_is_refused_by_every_way_in(dl, tmp_path, status, words):
    cat = dl.default_client().catalog
    model = dl.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet").clone(model_name="x")
    (tmp_path / "weights.pt").write_bytes(b"weights")
    model.artifacts.upload(tmp_path / "weights.pt")
    cat.set_model_status(model.id, status)   # from created: each a step of the table
    assert why_cannot_run(cat, cat.get_model(model.id), "evaluate") is not None
    for call in (lambda: model.evaluate(dataset=dl.datasets.get("shapes")), model.deploy,
                 lambda: model.predict(item_ids=[1])):
        with pytest.raises(ValidationError, match=words):
            call()
    assert _written(cat, model.id)[:3] == (0, 0, 0)


def test_a_users_adapter_decides_what_it_loads(dl):
    """A user package's model runs without files when its adapter needs none (as deploy always allowed)."""
    cat = dl.default_client().catalog
    pkg = dl.packages.push(package_name="oracle", src_path=ORACLE, entry_point="adapter.py",
                           class_name="OracleBoxAdapter", output_type="box")
    ds = dl.datasets.get("shapes-detection")
    model = pkg.models.create(model_name="no-files", dataset_id=ds.id, labels=ds.labels,
                              project_id=dl.projects.get("Sample project").id)
    assert model.artifacts.list() == []
    assert all(why_cannot_run(cat, cat.get_model(model.id), a) is None for a in ("evaluate", "predict", "deploy"))
    assert model.evaluate(dataset=ds, filters={"subset": "test"}).status == "success"


def test_cli_evaluate_says_why_without_a_traceback(dl, capsys):
    from desktop_app.cli.main import main
    cat = dl.default_client().catalog
    model = dl.packages.get(package_name="resnet").models.get(model_name="pretrained-resnet").clone(
        model_name="cli-no-weights")
    assert main(["evaluate", "cli-no-weights", "--dataset", "shapes", "--subset", "test"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: model 'cli-no-weights' has no weights.pt yet") and "Traceback" not in err
    assert _written(cat, model.id)[:3] == (0, 0, 0)
