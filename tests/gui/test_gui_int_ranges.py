"""Integer ranges read as integers (the seed's 0 … 2,147,483,647), never as 2.14748e+09."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from desktop_app.gui.views.package_page import PackagePage  # noqa: E402
from desktop_app.gui.widgets.config_form import ConfigForm, range_text  # noqa: E402
from desktop_app.sdk import views  # noqa: E402


def test_range_text():
    assert range_text(0, 2**31 - 1) == "0 … 2,147,483,647"
    assert range_text(1e-8, 10.0) == "1e-08 … 10"
    assert range_text(None, 0.5) == " … 0.5"


def test_the_seed_tooltip_says_the_integer_range(qtbot, client):
    model = client.catalog.find_models(name="pretrained-resnet")[0]
    package = client.catalog.get_package(model.package_id)
    form = ConfigForm()
    qtbot.addWidget(form)
    form.set_fields(views.form_fields(package.hyperparameters, model.configuration))
    tip = form.editors["seed"].toolTip()
    assert "2,147,483,647" in tip and "e+09" not in tip


def test_the_package_page_says_the_integer_range(qtbot, client):
    model = client.catalog.find_models(name="pretrained-resnet")[0]
    page = PackagePage(client)
    qtbot.addWidget(page)
    page.set_package(model.package_id)
    rows = {page.hparams.topLevelItem(i).text(0): page.hparams.topLevelItem(i).text(3)
            for i in range(page.hparams.topLevelItemCount())}
    assert rows["seed  (advanced)"] == "0 … 2,147,483,647"
