"""The playground's build and how `neurall serve` serves it, without a browser: the
first-load budget, nothing from another origin, cache headers, the Content-Security-Policy,
the fallback to index.html that never shadows a server route, and the served fields the
app's generated types rely on beyond the contract."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
import requests
from aiohttp import web
from graphql import (
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    GraphQLEnumType,
    GraphQLObjectType,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    parse,
    print_ast,
)

from neurall.config import Settings
from neurall.generation import params
from neurall.graphql.schema import build_schema as build_served_schema
from neurall.web.playground import ASSET_CACHE, NOT_BUILT, add_playground
from tests.support.browser import DIST, Server

BUDGET_BYTES = 150 * 1024
ROOT = Path(__file__).parent.parent.parent
ADDITIONS = ROOT / "playground" / "served-additions.graphql"


def _built() -> Path:
    if not (DIST / "index.html").is_file():
        pytest.fail(f"the playground is not built ({DIST}); run `make playground`", pytrace=False)
    return DIST


def _first_load_scripts(dist: Path) -> list[Path]:
    html = (dist / "index.html").read_text()
    return [dist / m for m in re.findall(r'(?:src|href)="/(assets/[^"]+\.js)"', html)]


def test_the_first_load_is_at_most_150_kb_of_gzipped_javascript() -> None:
    dist = _built()
    scripts = _first_load_scripts(dist)
    assert scripts, "index.html loads the app's entry script"
    weight = sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in scripts)
    assert weight <= BUDGET_BYTES, f"first load {weight / 1024:.1f} KB > 150 KB"
    # GraphiQL is its own chunk, loaded only when the explorer opens.
    lazy = [p.name for p in (dist / "assets").glob("Explorer-*.js")]
    assert lazy, "the explorer is split off"
    assert not any(p.name.startswith("Explorer-") for p in scripts)


def test_nothing_the_browser_loads_comes_from_another_origin() -> None:
    dist = _built()
    html = (dist / "index.html").read_text()
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert "<script>" not in html, "no inline script"
    for css in (dist / "assets").glob("*.css"):
        text = css.read_text()
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text), css.name
        assert not re.search(r"@import\s+(?:url\()?['\"]?(?:https?:)?//", text), css.name


def test_the_served_app_has_a_strict_script_policy_and_long_lived_assets(server: Server) -> None:
    _built()
    index = requests.get(f"{server.base}/", timeout=10)
    assert index.status_code == 200
    assert index.headers["Cache-Control"] == "no-cache"
    policy = dict(
        part.strip().split(" ", 1) for part in index.headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    port = server.base.rsplit(":", 1)[1]
    assert f"ws://127.0.0.1:{port}" in policy["connect-src"]
    script = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
    assert script is not None
    asset = requests.get(f"{server.base}{script.group(1)}", timeout=10)
    assert asset.status_code == 200
    assert asset.headers["Cache-Control"] == ASSET_CACHE
    assert "javascript" in asset.headers["Content-Type"]
    deep = requests.get(f"{server.base}/history/some-job", timeout=10)
    assert deep.status_code == 200
    assert deep.text == index.text


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    return tmp_path


def _app(dist: Path, *, production: bool = False) -> web.Application:
    """The playground's routes registered as create_app does: after the server's own."""
    app = web.Application()

    async def graphql(_request: web.Request) -> web.Response:
        return web.Response(text="graphql view")

    async def image(_request: web.Request) -> web.Response:
        return web.Response(text="image")

    async def stripe(_request: web.Request) -> web.Response:
        return web.Response(text="stripe")

    app.router.add_route("*", "/graphql", graphql)
    app.router.add_get("/images/{image_id}", image)
    app.router.add_post("/webhooks/stripe", stripe)
    add_playground(app, Settings(production=production), dist)
    return app


async def test_routes_fall_back_to_the_app_but_never_over_a_server_route(
    aiohttp_client, dist: Path
) -> None:
    client = await aiohttp_client(_app(dist))
    for path in ("/", "/history", "/history/123", "/keys?x=1"):
        response = await client.get(path)
        assert response.status == 200, path
        assert await response.text() == "<!doctype html><title>app</title>"
    favicon = await client.get("/favicon.svg")
    assert favicon.status == 200
    assert (await client.get("/assets/index-abc123.js")).headers["Cache-Control"] == ASSET_CACHE
    # Server routes keep their answers: the wrong method is still 405, a missing image 404.
    assert (await client.get("/webhooks/stripe")).status == 405
    assert await (await client.get("/images/1")).text() == "image"
    assert (await client.get("/webhooks/other")).status == 404
    assert (await client.get("/graphql/other")).status == 404
    # A bare segment with no route of its own is an app path (the app's webhooks page, or
    # its not-found page), not a bare 404 text.
    for path in ("/webhooks", "/images", "/no-such-page"):
        response = await client.get(path)
        assert response.status == 200, path
        assert await response.text() == "<!doctype html><title>app</title>"
    # Missing files are 404, and nothing outside the build is reachable.
    assert (await client.get("/assets/index-old.js")).status == 404
    assert (await client.get("/missing.js")).status == 404
    assert (await client.get("/assets/../../secret.txt")).status == 404
    assert (await client.get("/assets/%2e%2e/%2e%2e/secret.txt")).status == 404


async def test_a_browser_opening_graphql_gets_the_app_in_development_only(
    aiohttp_client, dist: Path
) -> None:
    html = {"Accept": "text/html"}
    development = await aiohttp_client(_app(dist))
    response = await development.get("/graphql", headers=html)
    assert await response.text() == "<!doctype html><title>app</title>"
    assert "Content-Security-Policy" in response.headers
    assert await (await development.get("/graphql")).text() == "graphql view"
    assert await (await development.post("/graphql", headers=html)).text() == "graphql view"
    production = await aiohttp_client(_app(dist, production=True))
    assert await (await production.get("/graphql", headers=html)).text() == "graphql view"


async def test_without_a_build_the_root_says_how_to_build_it(
    aiohttp_client, tmp_path: Path
) -> None:
    client = await aiohttp_client(_app(tmp_path / "missing"))
    response = await client.get("/")
    assert response.status == 503
    assert await response.text() == NOT_BUILT
    assert "npm run build" in NOT_BUILT
    # Without the app, a browser's /graphql keeps the server's own page.
    graphql = await client.get("/graphql", headers={"Accept": "text/html"})
    assert await graphql.text() == "graphql view"


def test_the_fields_typed_beyond_the_contract_are_served_as_declared() -> None:
    served = build_served_schema(Settings())._schema
    problems = []
    for definition in parse(ADDITIONS.read_text()).definitions:
        name = definition.name.value
        type_ = served.get_type(name)
        if isinstance(definition, EnumTypeDefinitionNode | EnumTypeExtensionNode):
            # New enums and new values of the contract's: each value must be served.
            assert isinstance(type_, GraphQLEnumType), name
            for value in definition.values:
                if value.name.value not in type_.values:
                    problems.append(f"{name}.{value.name.value}: not served")
            continue
        assert isinstance(definition, ObjectTypeExtensionNode | ObjectTypeDefinitionNode)
        assert isinstance(type_, GraphQLObjectType), name
        for field in definition.fields:
            actual = type_.fields.get(field.name.value)
            declared = re.sub(r"\s+", "", print_ast(field.type))
            if actual is None or str(actual.type) != declared:
                problems.append(f"{name}.{field.name.value}: served {actual and actual.type}")
                continue
            arguments = {
                a.name.value: re.sub(r"\s+", "", print_ast(a.type)) for a in field.arguments or ()
            }
            if {n: str(a.type) for n, a in actual.args.items()} != arguments:
                problems.append(f"{name}.{field.name.value}: served arguments {actual.args}")
    assert not problems, problems


def test_the_bounds_the_forms_check_are_the_servers() -> None:
    """playground/src/lib/limits.ts checks numbers before they are sent: with the server's
    own bounds (its defaults), or the form would refuse what the server takes."""
    text = (ROOT / "playground" / "src" / "lib" / "limits.ts").read_text()
    app = {name: int(value) for name, value in re.findall(r"^\s+(\w+): (\d+),$", text, re.M)}
    settings = Settings()
    assert app == {
        "minSide": params.MIN_SIDE,
        "maxSide": settings.max_image_side,
        "maxSteps": params.MAX_STEPS,
        "maxGuidance": params.MAX_GUIDANCE,
        "maxImages": params.MAX_IMAGES,
        "maxSeed": params.MAX_SEED,
        "maxTrainingSteps": settings.clone_max_training_steps,
        "minCheckoutCredits": settings.checkout_min_credits,
        "maxCheckoutCredits": settings.checkout_max_credits,
    }
