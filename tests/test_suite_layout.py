"""The suite reads as one: test support lives in tests/support/, so no module imports a
test module (``test_*.py`` or ``conftest.py``), and no fixture is imported (a
``# noqa: F401`` import): shared fixtures come from conftest.py or tests/support/fixtures.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import services

TESTS = Path(__file__).parent


def _is_test_module(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_")


def _offences(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        where = f"{path}:{node.lineno}"
        if any(m.startswith("tests.") and _is_test_module(m) for m in modules):
            found.append(f"{where} imports a test module")
        statement = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        if modules[0].startswith("tests.") and "noqa: F401" in statement:
            found.append(f"{where} imports a fixture (noqa: F401)")
    return found


def test_no_module_imports_a_test_module_or_a_fixture():
    offences = [o for path in sorted(TESTS.rglob("*.py")) for o in _offences(path)]
    assert offences == [], "\n".join(offences)


def test_the_check_sees_what_it_forbids(tmp_path: Path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from tests.billing.test_ledger import x\n"
        "from tests.support.fixtures import tiny_models  # noqa: F401\n"
        "from tests.generation import conftest\n"
        "from tests.support.ledger import assert_invariants\n"
    )
    assert [o.split(":", 1)[1] for o in _offences(probe)] == [
        "1 imports a test module",
        "2 imports a fixture (noqa: F401)",
        "3 imports a test module",
    ]


SERVICE_MARKS = ("postgres", "rabbitmq", "browser", "gpu_server")


def test_service_markers_come_from_fixtures_only():
    """tests/conftest.py gives the service markers from the fixtures a test uses; a marker
    written by hand could outlive the fixture it stood for."""
    by_hand = [
        f"{path}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(f"mark.{marker}" in line for marker in SERVICE_MARKS)
    ]
    assert by_hand == []


def test_reaching_a_service_without_its_marker_fails(request: pytest.FixtureRequest):
    """This test carries no postgres marker, so reaching PostgreSQL fails it."""
    assert request.node.get_closest_marker("postgres") is None
    with pytest.raises(pytest.fail.Exception, match="without the postgres marker"):
        services.require("postgres")
    request.node.add_marker("postgres")
    services.require("postgres")  # now it may
