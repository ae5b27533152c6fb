"""The evaluate dialog's logic without a screen: who can be evaluated, dataset order, defaults, checks."""

from __future__ import annotations

from desktop_app.evaluation.run import default_name as core_default
from desktop_app.jobs.runner import threshold_errors
from desktop_app.sdk import evaluate_form as form
from desktop_app.serving.export import default_filename, why_not_exportable


def _weights(client, model, tmp_path):
    """A built-in model's weights file as training leaves it (its contents are not read here)."""
    f = tmp_path / "weights.pt"
    f.write_bytes(b"not read by the checks")
    client.models.get(model_id=model.id).artifacts.upload(f)
    return client.catalog.get_model(model.id)


def _status(cat, model_id, status):
    """The model put in `status` for the check under test: a step the lifecycle's table allows, except back to
    `created`, which only a restore gives (as to a model whose first job was canceled before it trained)."""
    if status == "created":
        return cat.restore_model_status(model_id, status, expect=cat.get_model(model_id).status)
    return cat.set_model_status(model_id, status)


def test_who_can_be_evaluated_is_deploys_rule(client, tmp_path):
    """A built-in needs its own weights.pt and a finished training; a user's adapter decides what it loads."""
    cat = client.catalog
    model = cat.find_models(name="pretrained-resnet")[0]
    assert "pre-trained" in form.why_not_evaluable(cat, model) and "weights.pt" in form.why_not_evaluable(cat, model)
    assert "pre-trained" in why_not_exportable(model)
    for status, reason in (("training", "once training has ended"), ("pending", "once training has ended"),
                           ("failed", "train it again"), ("trained", "has no weights.pt yet"),
                           ("deployed", "has no weights.pt yet"), ("created", "has no weights.pt yet")):
        m = _status(cat, model.id, status)
        assert reason in form.why_not_evaluable(cat, m), status
        assert (why_not_exportable(m) is None) == (status in ("trained", "deployed"))
    m = _weights(client, model, tmp_path)
    for status, ok in (("trained", True), ("deployed", True), ("created", True), ("failed", False)):
        assert (form.why_not_evaluable(cat, _status(cat, m.id, status)) is None) == ok, status
    from desktop_app.ml.readiness import why_cannot_run
    for action in ("evaluate", "predict", "deploy"):
        assert (why_cannot_run(cat, cat.get_model(m.id), action) is None) is False    # failed: refused by all


def test_datasets_of_the_project_the_models_own_first_with_subset_counts(client):
    cat = client.catalog
    det = cat.find_models(name="pretrained-tinydet")[0]
    choices = form.dataset_choices(cat, det)
    assert choices[0].id == det.dataset_id and choices[0].name == "shapes-detection"
    assert {c.name for c in choices} == {d.name for d in cat.list_datasets(project_id=det.project_id)}
    c = choices[0]
    assert c.counts["all"] == cat.count_items(c.id) == sum(c.counts[s] for s in ("train", "validation", "test"))
    assert form.default_name("shapes", "test") == core_default("shapes", {"subset": "test"}) == "shapes-test"
    assert form.default_name("shapes", "all") == core_default("shapes", None) == "shapes"


def test_check_names_each_bad_field_and_builds_the_request(client, tmp_path):
    cat = client.catalog
    det = _weights(client, cat.set_model_status(cat.find_models(name="pretrained-tinydet")[0].id, "trained"),
                   tmp_path)
    choice = form.dataset_choices(cat, det)[0]
    req, errors = form.check(cat, det, choice, "validation", " val ", "0.6", "0,1")
    assert errors == {} and req == form.EvaluateRequest(det.id, choice.id, {"subset": "validation"}, "val", 0.6, 0.1)
    _, errors = form.check(cat, det, choice, "all", "", "0", "x")
    assert set(errors) == {"name", "iou", "conf"} and "(0, 1]" in errors["iou"]
    assert form.check(cat, det, choice, "all", "n", "0.5", "0")[0].filters == {}
    empty = form.DatasetChoice("d", "empty", {"all": 0})
    assert "has no items" in form.check(cat, det, empty, "test", "n", "0.5", "0")[1]["subset"]
    classifier = _weights(client, cat.set_model_status(cat.find_models(name="pretrained-resnet")[0].id, "trained"),
                          tmp_path)
    boxes_only = next(c for c in form.dataset_choices(cat, classifier) if c.name == "shapes-detection")
    assert boxes_only.ground_truth["test"] == {"box": boxes_only.counts["test"], "segment": boxes_only.counts["test"]}
    _, errors = form.check(cat, classifier, boxes_only, "test", "n", "0.5", "0")
    assert set(errors) == {"dataset"} and "no ground-truth class labels to score a classifier" in errors["dataset"]
    assert form.check(cat, det, boxes_only, "test", "n", "0.5", "0")[1] == {}      # a detector is fine there
    assert threshold_errors(0.5, 0.0) == {} and set(threshold_errors(float("nan"), 2)) == {"iou_threshold",
                                                                                           "conf_threshold"}


def test_default_export_file_names():
    assert default_filename("resnet-small", "onnx") == "resnet-small.onnx"
    assert default_filename("a/b c", "torchscript") == "a_b_c.pt"
