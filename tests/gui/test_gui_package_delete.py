"""Deleting a package from its page: a confirmation that lists the models that would go, and only then."""

from __future__ import annotations

import os


def _open_package(window, client, name):
    pkg = client.packages.get(name)
    assert window.navigate("package", pkg.id)
    page = window.pages.currentWidget()
    assert page.title.text() == name
    return pkg, page


def test_rejecting_the_confirmation_keeps_the_package_and_its_models(window, client, monkeypatch):
    pkg, page = _open_package(window, client, "resnet")
    asked = []
    monkeypatch.setattr(page, "confirm", lambda title, text: asked.append(text) or False)
    assert page.delete_package() is False
    assert "pretrained-resnet (pre-trained)" in asked[0] and "pretrained-resnet50 (pre-trained)" in asked[0]
    assert "Its 2 models would be deleted with it, with their weights" in asked[0] and "cannot be undone" in asked[0]
    assert "comes back" in asked[0]   # a built-in package returns at the next start
    assert {m.name for m in client.packages.get("resnet").models.list()} == {"pretrained-resnet",
                                                                             "pretrained-resnet50"}
    assert window.pages.currentWidget() is page


def test_accepting_deletes_the_package_with_its_models_and_says_what_went(window, client, monkeypatch, qtbot,
                                                                         tmp_path, centroid_model):
    (tmp_path / "w.bin").write_bytes(os.urandom(5000))
    centroid_model.artifacts.upload(tmp_path / "w.bin")
    pkg, page = _open_package(window, client, "centroid")
    asked = []
    monkeypatch.setattr(page, "confirm", lambda title, text: asked.append(text) or True)
    with qtbot.waitSignal(page.deleted, timeout=10_000) as said:
        assert page.delete_package() is True
    assert "Its model would be deleted with it, with its weights" in asked[0]
    assert "• centroid-v1 (created)" in asked[0]
    assert "centroid-v1" in said.args[0] and "2 file(s)" in said.args[0]   # the weights and the package's code
    assert "centroid" not in {p.name for p in client.packages.list()}
    assert client.catalog.find_models(name="centroid-v1") == []
    assert window.pages.currentWidget() is window.pages.welcome
    assert window.navigator.select("package", pkg.id) is False     # gone from the navigator too
    assert window.navigator.select("package", client.packages.get("resnet").id)


def test_a_busy_model_keeps_its_package_and_the_reason_is_shown(window, client, monkeypatch, centroid_model):
    client.catalog.set_model_status(centroid_model.id, "training")
    pkg, page = _open_package(window, client, "centroid")
    monkeypatch.setattr(page, "confirm", lambda title, text: True)
    errors = []
    page.error.connect(lambda title, e: errors.append(str(e)))
    assert page.delete_package() is False
    assert "'centroid-v1' is training" in errors[0]
    assert client.packages.get("centroid").models.list()
