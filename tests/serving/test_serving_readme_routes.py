"""The README's "Service routes" table and curl examples against the service's real router, both ways."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE)`\s*\|\s*`(/[^`]*)`\s*\|")


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.find(f"\n### {title}\n")
    assert start >= 0, f"README.md has no '### {title}' part"
    end = re.search(r"\n#{2,3} ", text[start + 1:])
    return text[start:start + 1 + end.start()] if end else text[start:]


def _shape(path: str) -> str:
    """'/v2/models/{model_name}/ready' and '/v2/models/{model}/ready' alike: parameters named by place only."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def readme_routes() -> set[tuple[str, str]]:
    rows = {(m, _shape(p)) for m, p in (ROW.match(line).groups() for line in _section("Service routes").splitlines()
                                         if ROW.match(line))}
    assert rows, "the README's 'Service routes' part lists no route as | `METHOD` | `/path` | ... |"
    return rows


class _Host:
    name, model_id, package, output_type, labels = "m", "id1", "pkg", "class", ["a"]

    def predict(self, images):
        return [[] for _ in images]


@pytest.fixture(scope="module")
def app_routes() -> list:
    from desktop_app.serving.app import create_app
    from desktop_app.serving.config import ServiceConfig

    app = create_app(_Host(), ServiceConfig(warmup=False))
    return [r for r in app.routes if hasattr(r, "methods")]


def served(routes: list) -> set[tuple[str, str]]:
    return {(m, _shape(r.path)) for r in routes for m in r.methods if m != "HEAD"}


def test_every_route_in_the_readme_is_served(app_routes):
    missing = sorted(readme_routes() - served(app_routes))
    assert not missing, f"README.md lists routes the service does not answer: {missing}"


def test_every_served_route_is_in_the_readme(app_routes):
    missing = sorted(served(app_routes) - readme_routes())
    assert not missing, f"the service answers routes README.md's 'Service routes' does not list: {missing}"


def test_every_curl_example_reaches_a_served_route(app_routes):
    block = _section("Service routes").split("```bash", 1)[1].split("```", 1)[0]
    urls = re.findall(r"\$URL(/[^\s\"'?]*)", block)
    assert len(urls) >= 5, block
    patterns = [re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(r.path)) + "$") for r in app_routes]
    unreached = [u for u in urls if not any(p.match(u) for p in patterns)]
    assert not unreached, f"curl examples in README.md call paths the service does not answer: {unreached}"
    # One example for each main route: health, metadata, both inference routes, the swap, metrics.
    for main in ("/v2/health/ready", "/v2/models/my-model", "/predictions/my-model", "/v2/models/my-model/infer",
                 "/v2/repository/models/my-model/load", "/metrics"):
        assert main in urls, f"README.md's curl examples have none for {main}"
