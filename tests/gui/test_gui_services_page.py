"""The services page: a really started service in the table with figures from its /metrics (the request
count rises after real requests), a curl example that works as copied, and the start / stop buttons."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.gui.views.services_page import COLUMNS, ID_ROLE, ServicesPage  # noqa: E402
from desktop_app.serving import manager  # noqa: E402
from desktop_app.serving.status import curl_example  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))  # the brightbox package's helpers
from servehelpers import brightbox_service, png_bytes, spot_image  # noqa: E402

WAIT_MS = 30_000
COL = {name: k for k, name in enumerate(COLUMNS)}


@pytest.fixture(scope="module")
def served(template_home, tmp_path_factory):
    """One brightbox service (port 0: the system picks a free loopback port) on a catalog of this module's."""
    base = tmp_path_factory.mktemp("services")
    with brightbox_service(template_home, base) as (client, model, service):
        yield {"client": client, "model": model, "service": service, "base": base}


@pytest.fixture
def page(qtbot, served):
    p = ServicesPage(served["client"], interval=0.1)
    qtbot.addWidget(p)
    p.resize(1300, 500)
    p.show()
    with qtbot.waitSignal(p.rows_applied, timeout=WAIT_MS):
        p.set_project(served["model"].project_id)
    yield p
    p.shutdown()


def _row(page, service_id):
    for k in range(page.table.topLevelItemCount()):
        item = page.table.topLevelItem(k)
        if item.data(0, ID_ROLE) == service_id:
            return item
    return None


def _requests(page, service_id) -> int:
    item = _row(page, service_id)
    text = item.text(COL["Requests"]) if item is not None else "—"
    return -1 if text in ("—", "") else int(text.replace(",", ""))


def test_the_table_shows_the_service_and_its_request_count_rises(qtbot, page, served):
    svc, model = served["service"], served["model"]
    item = _row(page, svc.id)
    assert item is not None
    assert item.text(COL["URL"]) == svc.url and item.text(COL["Model"]) == model.name
    assert item.text(COL["Status"]) == "running" and item.text(COL["Port"]) == str(svc.port)
    assert item.text(COL["PID"]) == str(svc.pid) and item.text(COL["Started"])
    qtbot.waitUntil(lambda: _requests(page, svc.id) >= 0, timeout=WAIT_MS)
    before = _requests(page, svc.id)

    r = httpx.post(f"{svc.url}/predictions/{model.name}", content=png_bytes(spot_image(3, 4)), timeout=10)
    assert r.status_code == 200 and r.json()[0]["label"] == "bright"
    qtbot.waitUntil(lambda: _requests(page, svc.id) == before + 1, timeout=WAIT_MS)
    assert _row(page, svc.id).text(COL["Errors"]) == "0"
    assert _row(page, svc.id).text(COL["Mean ms"]) not in ("", "—")

    # The curl example, as copied, posts an image file and counts as one more request.
    page.table.setCurrentItem(_row(page, svc.id))
    text = page.copy_curl()
    assert QApplication.clipboard().text() == text
    assert f"{svc.url}/predictions/{model.name}" in text and "@image.jpg" in text
    work = served["base"] / "curl"
    work.mkdir(exist_ok=True)
    (work / "image.jpg").write_bytes(png_bytes(spot_image(5, 6), "JPEG"))
    if shutil.which("curl"):
        out = subprocess.run(text, shell=True, cwd=work, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and '"label": "bright"' in out.stdout.replace('":"', '": "'), out.stderr
        qtbot.waitUntil(lambda: _requests(page, svc.id) == before + 2, timeout=WAIT_MS)


def test_curl_example_quotes_names_and_asks_for_a_token_when_needed():
    text = curl_example("http://127.0.0.1:8080", "my model", auth=True)
    assert "http://127.0.0.1:8080/predictions/my%20model" in text
    assert "Authorization: Bearer $MODEL_DESK_TOKEN" in text and "--data-binary @image.jpg" in text


def test_a_service_with_a_token_shows_its_figures_too(qtbot, page, served):
    """Its /metrics wants the token (never stored); the page reads the copy the service keeps instead."""
    model = served["model"]
    token = "gui-test-token-1234"
    svc = model.deploy(service_config={"token": token})
    try:
        qtbot.waitUntil(lambda: _requests(page, svc.id) == 0, timeout=WAIT_MS)
        r = httpx.post(f"{svc.url}/predictions/{model.name}", content=png_bytes(spot_image(3, 4)),
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200
        assert httpx.post(f"{svc.url}/predictions/{model.name}", content=b"").status_code == 401
        qtbot.waitUntil(lambda: _requests(page, svc.id) == 2, timeout=WAIT_MS)
        item = _row(page, svc.id)
        assert item.text(COL["Errors"]) == "1" and item.text(COL["Mean ms"]) not in ("", "—")
        assert "copy it keeps in the catalog" in item.toolTip(0)
    finally:
        svc.stop()


def test_start_and_stop_buttons(qtbot, page, served):
    client, model = served["client"], served["model"]
    assert page.model_combo.findData(model.id) >= 0
    page.model_combo.setCurrentIndex(page.model_combo.findData(model.id))
    known = {s.id for s in client.services.list()}
    with qtbot.waitSignal(page.service_started, timeout=60_000) as sig:
        page.start_button.click()
    sid = sig.args[0]
    assert sid not in known
    rec = client.catalog.get_service(sid)
    assert rec.status == "running" and manager.pid_alive(rec.pid)
    qtbot.waitUntil(lambda: _row(page, sid) is not None and _row(page, sid).text(COL["Status"]) == "running",
                    timeout=WAIT_MS)

    page.table.setCurrentItem(_row(page, sid))
    assert page.stop_button.isEnabled()
    with qtbot.waitSignal(page.service_stopped, timeout=WAIT_MS):
        page.stop_button.click()
    rec = client.catalog.get_service(sid)
    assert rec.status == "stopped" and not manager.pid_alive(rec.pid)
    qtbot.waitUntil(lambda: _row(page, sid) is None, timeout=WAIT_MS)           # only running ones are listed
    assert _row(page, served["service"].id) is not None                        # the other one still serves
    page.show_stopped.setChecked(True)
    qtbot.waitUntil(lambda: _row(page, sid) is not None and _row(page, sid).text(COL["Status"]) == "stopped",
                    timeout=WAIT_MS)


def test_the_window_reaches_both_pages_from_the_navigator_and_the_view_menu(qtbot, window, client):
    project = client.sample_project.id
    for kind in ("pipelines", "services"):
        assert window.navigator.item_for(kind, project) is not None
    assert window.open_project_page("services")
    assert window.pages.current_kind() == "services" and window.navigator.current_key() == ("services", project)
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    next(a for a in view.actions() if a.text() == "&Pipelines").trigger()
    assert window.pages.current_kind() == "pipelines"
    page = window.pages.pages["pipelines"]
    qtbot.waitUntil(lambda: page.empty.isVisible(), timeout=WAIT_MS)   # no pipelines in a fresh catalog
