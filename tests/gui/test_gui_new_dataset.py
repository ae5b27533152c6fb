"""New dataset in the window: by menu, right-click, project page (its button and its signal) and welcome page;
import as a new dataset (a failed or cancelled one leaves none); names refused beside the field; datasets a script
makes appear without Refresh; F1 and F5."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from desktop_app.gui.dialogs import import_dialog  # noqa: E402
from desktop_app.gui.dialogs.new_dataset_dialog import NewDatasetDialog  # noqa: E402

WAIT_MS = 30_000
N = 5


def _write_pngs(folder, n=N, size=24):
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        Image.new("RGB", (size, size), (40 * k % 256, 90, 200 - 30 * k % 200)).save(folder / f"img{k}.png")
    return folder


@pytest.fixture
def digits(tmp_path):
    """A small folder of plain images, as a user's own data would be."""
    return _write_pngs(tmp_path / "digits")


@pytest.fixture
def sample_project(client):
    return client.catalog.get_project("Sample project")


@pytest.fixture
def cats(client, sample_project):
    """A dataset the project already has (asked for before `window`, so the window opens with it)."""
    return client.catalog.create_dataset(sample_project.id, "cats")


def _opened_dialog(window) -> NewDatasetDialog:
    dlg = window.dialogs[-1]
    assert isinstance(dlg, NewDatasetDialog) and dlg.isVisible()
    return dlg


def _dataset_named(client, project_id, name):
    return next((d for d in client.catalog.list_datasets(project_id) if d.name == name), None)


def test_new_dataset_by_menu_imports_a_folder_and_opens_it(window, qtbot, client, sample_project, digits):
    assert window.new_dataset_action.isEnabled()
    window.navigate("project", sample_project.id)
    window.new_dataset_action.trigger()
    dlg = _opened_dialog(window)
    assert dlg.project_id == sample_project.id                   # the current project, preselected
    assert not dlg.create_button.isEnabled()                     # no name yet
    dlg.path_edit.setText(str(digits))
    assert dlg.name_edit.text() == "digits"                       # the folder's name, suggested
    assert dlg.create_button.text() == "Create and import" and dlg.create_button.isEnabled()
    with qtbot.waitSignal(dlg.created, timeout=WAIT_MS) as created:
        qtbot.mouseClick(dlg.create_button, Qt.MouseButton.LeftButton)
    dataset_id = created.args[0]
    ds = client.catalog.get_dataset(dataset_id)
    assert ds.name == "digits" and ds.project_id == sample_project.id
    assert client.catalog.count_items(dataset_id) == N
    assert not dlg.isVisible()
    # the navigator shows and selects it, and its page is on show
    qtbot.waitUntil(lambda: window.navigator.current_key() == ("dataset", dataset_id), timeout=WAIT_MS)
    page = window.pages.pages.get("dataset")
    assert page is not None and window.pages.currentWidget() is page and page.dataset_id == dataset_id


def test_an_empty_dataset_is_made_without_a_source(window, qtbot, client, sample_project):
    dlg = window.open_new_dataset_dialog(sample_project.id)
    dlg.name_edit.setText("my-images")
    assert dlg.create_button.text() == "Create"
    with qtbot.waitSignal(dlg.created, timeout=WAIT_MS) as created:
        dlg.create_button.click()
    assert client.catalog.count_items(created.args[0]) == 0
    assert _dataset_named(client, sample_project.id, "my-images").id == created.args[0]
    assert window.navigator.current_key() == ("dataset", created.args[0])


def test_a_failing_import_leaves_no_dataset(window, qtbot, client, sample_project, tmp_path):
    folder = _write_pngs(tmp_path / "broken", n=3)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    datasets_before = {d.id for d in client.catalog.list_datasets()}
    blobs_before = set(client.catalog.store.iter_shas())
    dlg = window.open_new_dataset_dialog(sample_project.id, path=str(folder))
    assert dlg.name_edit.text() == "broken"
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=WAIT_MS)
    assert "No dataset was created" in dlg.status.text() and "corrupt.png" in dlg.status.text()
    assert {d.id for d in client.catalog.list_datasets()} == datasets_before
    assert set(client.catalog.store.iter_shas()) == blobs_before
    assert dlg.isVisible() and dlg.create_button.isEnabled()      # stays open: fix the folder and try again
    (folder / "corrupt.png").unlink()
    with qtbot.waitSignal(dlg.created, timeout=WAIT_MS) as created:
        assert dlg.start()
    assert client.catalog.count_items(created.args[0]) == 3


def test_a_cancelled_import_leaves_no_dataset(window, qtbot, monkeypatch, client, sample_project, digits):
    gate = threading.Event()
    real = import_dialog.run_import

    def held_at_first_progress(*args, progress=None, **kw):
        # On the worker thread: report, then wait until Cancel was pressed (no sleeps, no races).
        def report(done, total):
            progress(done, total)
            gate.wait(WAIT_MS / 1000)
        return real(*args, progress=report, **kw)

    monkeypatch.setattr(import_dialog, "run_import", held_at_first_progress)
    datasets_before = {d.id for d in client.catalog.list_datasets()}
    dlg = window.open_new_dataset_dialog(sample_project.id, path=str(digits))
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.progress.maximum() == N, timeout=WAIT_MS)
    with qtbot.waitSignal(dlg.worker.cancelled, timeout=WAIT_MS):
        dlg.cancel_button.click()
        assert dlg.state == "cancelling"
        gate.set()
    assert dlg.state == "cancelled" and "no dataset was created" in dlg.status.text()
    assert {d.id for d in client.catalog.list_datasets()} == datasets_before


@pytest.mark.parametrize("name, says", [("cats", "already has a dataset named"),
                                        ("a\\b", "backslash"),
                                        ("../up", "'..' part"),
                                        (" padded", "starts or ends with a space"),
                                        ("tab\there", "control character")])
def test_a_bad_or_taken_name_is_refused_beside_the_field(cats, window, client, sample_project, name, says):
    dlg = window.open_new_dataset_dialog(sample_project.id)
    dlg.name_edit.setText(name)
    assert says in dlg.name_status.text()
    assert dlg.name_status.styleSheet()                           # in the error colour
    assert not dlg.create_button.isEnabled()
    assert not dlg.start() and dlg.worker is None                # Enter does nothing either
    dlg.name_edit.setText("fresh-name")
    assert dlg.create_button.isEnabled() and "already" not in dlg.name_status.text()


def test_a_taken_name_is_free_in_another_project(cats, window, client, sample_project):
    other = client.catalog.create_project("Other project")
    window.refresh_tree()
    dlg = window.open_new_dataset_dialog(sample_project.id)
    dlg.name_edit.setText("cats")
    assert not dlg.create_button.isEnabled()
    dlg.project_box.setCurrentIndex(dlg.project_box.findData(other.id))
    assert dlg.create_button.isEnabled()


def test_a_project_offers_new_dataset_on_right_click_on_its_page_and_the_welcome_page(cats, window, qtbot, client,
                                                                                     sample_project):
    other = client.catalog.create_project("Second")
    window.refresh_tree()
    nav = window.navigator
    # right-click on the project, on its Datasets group and on a dataset: each offers New dataset there
    for item in (nav.item_for("project", other.id), nav.item_for("group", f"{other.id}/datasets")):
        menu = nav.context_menu_for(item)
        texts = [a.text() for a in menu.actions()]
        assert texts == ["New dataset in Second…"]
        menu.actions()[0].trigger()
        assert _opened_dialog(window).project_id == other.id
        _opened_dialog(window).reject()
    menu = nav.context_menu_for(nav.item_for("dataset", cats.id))
    assert [a.text() for a in menu.actions()] == ["New dataset in Sample project…"]
    assert nav.context_menu_for(nav.item_for("group", f"{sample_project.id}/models")) is None
    # the project page's button
    window.navigate("project", other.id)
    page = window.pages.currentWidget()
    page.new_dataset_button.click()
    assert _opened_dialog(window).project_id == other.id
    _opened_dialog(window).reject()
    # the welcome page's step "Bring your own images"
    window.pages.show_welcome()
    button = window.pages.welcome.buttons["new_dataset"]
    assert button.text() == "New dataset…" and button.isEnabled()
    button.click()
    _opened_dialog(window).reject()


def test_the_project_pages_request_opens_file_new_dataset(window, qtbot, client, sample_project):
    """ProjectPage.new_dataset_requested reaches the window through Pages: File > New dataset…'s dialog opens with
    the page's project chosen."""
    other = client.catalog.create_project("Second")
    window.refresh_tree()
    assert window.navigate("project", other.id)
    page = window.pages.currentWidget()
    assert page is window.pages.pages["project"]
    before = list(window.dialogs)
    page.new_dataset_requested.emit(other.id)

    def opened() -> bool:
        return any(isinstance(d, NewDatasetDialog) and d.isVisible() for d in window.dialogs if d not in before)
    qtbot.waitUntil(opened, timeout=WAIT_MS)
    dlg = _opened_dialog(window)
    assert dlg.project_id == other.id
    dlg.reject()


def test_a_dataset_made_by_a_script_appears_without_refresh(cats, window, qtbot, client, sample_project):
    nav = window.navigator
    assert window.navigate("dataset", cats.id)
    models_group = nav.item_for("group", f"{sample_project.id}/models")
    models_group.setExpanded(False)                                # the user folded it
    made = client.projects.get(project_id=sample_project.id).datasets.create("from-a-script")
    qtbot.waitUntil(lambda: nav.item_for("dataset", made.id) is not None, timeout=WAIT_MS)
    group = nav.item_for("group", f"{sample_project.id}/datasets")
    assert group.text(0).endswith(f"({len(client.catalog.list_datasets(sample_project.id))})")
    assert nav.current_key() == ("dataset", cats.id)              # the selection is kept
    assert not nav.item_for("group", f"{sample_project.id}/models").isExpanded()   # and what was folded


def test_the_catalog_is_read_again_only_after_a_commit(qtbot, client, monkeypatch):
    """The watcher's idle poll is one pragma: the entities' stamp is read only when something was committed,
    and `changed` fires only when an entity was added, deleted or renamed."""
    from desktop_app.catalog import Catalog, changes
    from desktop_app.gui.workers import EntitiesWatcher

    reads = []
    real = changes.entities_stamp
    monkeypatch.setattr(changes, "entities_stamp", lambda cat: reads.append(1) or real(cat))
    watcher = EntitiesWatcher(client.catalog)          # polled here, on this thread, without starting it
    fired = []
    watcher.changed.connect(lambda: fired.append(1))
    reads.clear()
    watcher.poll()                                     # first look: the stamp, unchanged since construction
    assert len(reads) == 1 and not fired
    for _ in range(3):
        watcher.poll()
    assert len(reads) == 1                             # nothing committed: no table read
    script = Catalog(client.catalog.home)              # another connection, as a script or the CLI has
    try:
        project = script.list_projects()[0]
        ds = script.create_dataset(project.id, "elsewhere")
        watcher.poll()
        assert len(reads) == 2 and fired == [1]
        script.add_labels(ds.id, ["cat"])              # a commit that touches a dataset's row: news again
        watcher.poll()
        assert fired == [1, 1]
    finally:
        script.close()


def test_f1_and_f5_trigger_help_and_refresh(cats, window, qtbot, monkeypatch, client, sample_project):
    assert "F1" in [k.toString() for k in window.help_action.shortcuts()]
    assert "F5" in [k.toString() for k in window.refresh_action.shortcuts()]
    window.activateWindow()
    assert QTest.qWaitForWindowActive(window)
    assert window.navigate("dataset", cats.id)
    page = window.pages.currentWidget()
    page.gallery.setFocus()
    refreshed = []
    real = page.refresh
    monkeypatch.setattr(page, "refresh", lambda: refreshed.append(1) or real())

    def label_keys() -> list:
        return [page.filters.labels.item(k).data(Qt.ItemDataRole.UserRole) for k in range(page.filters.labels.count())]
    client.catalog.add_labels(cats.id, ["dog"])                    # a label added elsewhere: the page does not know
    assert "dog" not in label_keys()
    # on the dataset page, F5 is the window's Refresh alone (a second F5 of the page's would make the key ambiguous:
    # Qt then fires neither)
    with qtbot.waitSignal(window.refresh_action.triggered, timeout=WAIT_MS):
        QTest.keyClick(page.gallery, Qt.Key.Key_F5)
    assert refreshed == [1]
    qtbot.waitUntil(lambda: "dog" in label_keys(), timeout=WAIT_MS)   # the page read its dataset again
    with qtbot.waitSignal(window.help_action.triggered, timeout=WAIT_MS):
        QTest.keyClick(window.navigator, Qt.Key.Key_F1)
    assert window.pages.currentWidget() is window.pages.welcome
