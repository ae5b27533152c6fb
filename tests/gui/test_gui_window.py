"""Main window wiring: navigator, pages, lineage, notifications, settings, start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt


def test_selecting_a_model_shows_its_details(window, qtbot, client, model_named):
    mid = model_named("pretrained-resnet")
    window.navigator.select("model", mid)
    page = window.pages.model_page
    assert window.pages.currentWidget() is page
    assert page.title.text() == "pretrained-resnet"
    assert page.badge.text() == "pre-trained"
    assert page.fields["Package"].text().startswith("resnet")
    assert page.fields["Dataset"].text() == "shapes"
    assert "circle" in page.labels.text()
    assert "an original model" in page.lineage.text()
    # The configuration form is built from the package's declared hyper-parameters.
    form = page.config_form
    assert form.raw_values()["epochs"] == client.catalog.get_model(mid).configuration["epochs"]
    assert form.advanced is not None and not form.advanced.isExpanded()
    assert form.advanced.isAncestorOf(form.editors["seed"])        # advanced: inside the collapsible
    assert not form.advanced.isAncestorOf(form.editors["epochs"])
    assert page.train_button.isEnabled() and not page.cancel_button.isEnabled()
    # The choice survives a restart: the settings remember the selection per catalog.
    assert window.settings.last_selection(client.catalog.home) == ("model", mid)


def test_navigator_shows_lineage_and_other_pages(window, qtbot, client, model_named):
    src = client.models.get(model_id=model_named("pretrained-resnet"))
    child = src.clone(model_name="resnet-child")
    grandchild = child.clone(model_name="resnet-grandchild")
    window.refresh_tree()
    item = window.navigator.item_for("model", grandchild.id)
    assert item.parent() is window.navigator.item_for("model", child.id)
    assert item.parent().parent() is window.navigator.item_for("model", src.id)
    assert item.text(1) == "created"  # status badge column
    window.navigate("model", child.id)
    page = window.pages.model_page
    assert "pretrained-resnet" in page.lineage.text() and "resnet-grandchild" in page.lineage.text()
    page.lineage.linkActivated.emit(f"model:{grandchild.id}")
    assert page.title.text() == "resnet-grandchild"
    window.navigate("package", client.packages.get("resnet").id)
    pkg_page = window.pages.currentWidget()
    assert pkg_page.title.text() == "resnet" and pkg_page.hparams.topLevelItemCount() > 10
    window.navigate("project", client.sample_project.id)
    proj = window.pages.currentWidget()
    assert proj.models.topLevelItemCount() == 11 and proj.datasets.topLevelItemCount() == 3
    window.navigate("dataset", client.datasets.get("shapes").id)
    assert window.pages.current_kind() == "dataset"


def test_status_badges_follow_the_catalog(window, qtbot, client, model_named):
    mid = model_named("pretrained-mobilenet")
    client.catalog.set_model_status(mid, "failed")  # as a job in another process would
    qtbot.waitUntil(lambda: window.navigator.item_for("model", mid).text(1) == "failed", timeout=5000)
    # A model created by a script shows up without a restart.
    client.models.get(model_id=mid).clone(model_name="made-by-a-script")
    qtbot.waitUntil(lambda: any(window.navigator.item_for("model", m.id) is not None
                                for m in client.catalog.find_models(name="made-by-a-script")), timeout=5000)


def test_errors_arrive_in_one_non_modal_place(window, qtbot, client, model_named):
    from desktop_app.errors import ValidationError
    bar = window.notification
    assert bar.isHidden()
    try:
        raise ValidationError("epochs: 0 is below the minimum 1")
    except ValidationError as e:
        window.hub.exception("Could not start training", e)
    assert bar.isVisible() and "below the minimum" in bar.label.text()
    bar.show_details()
    assert "Traceback" in bar.details_dialog.text.toPlainText()
    assert not bar.details_dialog.isModal()
    bar.details_dialog.close()
    bar.dismiss()
    assert bar.isHidden()
    # An action that fails reports there too, and the rotating log file gets it.
    window.actions.train("no-such-model")
    assert bar.isVisible() and "no-such-model" in bar.label.text()
    log = Path(client.catalog.home) / "logs" / "app.log"
    assert "Could not start training" in log.read_text()


def test_first_start_opens_the_sample_project_and_the_welcome_page(qtbot, client, gui_settings):
    from desktop_app.gui.main_window import MainWindow
    w = MainWindow(gui_settings)
    qtbot.addWidget(w)
    w.open_catalog(client.catalog.home)  # the background loader path that run() takes
    with qtbot.waitSignal(w.catalog_ready, timeout=60_000):
        pass
    try:
        assert w.pages.currentWidget() is w.pages.welcome
        assert w.navigator.current_key() == ("project", client.sample_project.id)
        assert w.pages.welcome.buttons["clone"].isEnabled()
        with qtbot.waitSignal(w.navigator.selected, timeout=2000):
            w.pages.welcome.buttons["model"].click()
        assert w.pages.model_page.title.text() == "pretrained-resnet"
        assert gui_settings.recent_catalogs()[0] == str(client.catalog.home)
    finally:
        w.shutdown()


def test_window_and_splitters_are_restored(qtbot, client, gui_settings):
    from desktop_app.gui.main_window import MainWindow
    w = MainWindow(gui_settings)
    qtbot.addWidget(w)
    w.use_client(client)
    w.resize(790, 700)  # fits the offscreen screen, so the restored geometry is the same
    w.show()
    w.main.setSizes([310, 470])
    w.jobs_action.trigger()  # hide the jobs panel
    sizes = w.main.sizes()
    assert sizes[0] == 310
    w.close()
    w2 = MainWindow(gui_settings)
    qtbot.addWidget(w2)
    w2.show()
    try:
        assert w2.main.sizes()[0] == sizes[0]
        assert not w2.jobs_action.isChecked() and w2.jobs.isHidden()
    finally:
        w2.shutdown()


def test_menus_and_shortcuts(window, model_named):
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&Model", "&Dataset", "&View", "&Help"]   # Dataset: Label next… (issue 14)
    assert window.train_action.shortcut().toString() == "Ctrl+T"
    assert window.clone_action.shortcut().toString() == "Ctrl+D"
    assert not window.train_action.isEnabled()
    window.navigate("model", model_named("pretrained-resnet"))
    assert window.train_action.isEnabled() and window.clone_action.isEnabled()
    assert window.navigator.currentItem().data(0, Qt.ItemDataRole.UserRole) == "model"


def test_the_app_starts_without_torch_and_shows_the_window_first(tmp_path, home):
    """The real entry point: window shown, then catalog ready; torch never imported in the GUI process."""
    code = ("import sys; from desktop_app.gui import app; "
            f"sys.exit(app.run(['--home', {str(home)!r}, '--settings', {str(tmp_path / 's.ini')!r}, '--probe']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("probe")]
    assert [ln.split()[1] for ln in lines] == ["shown", "ready"]
    assert all("torch=False" in ln for ln in lines)
