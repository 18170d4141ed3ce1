"""No import cycle between the project's packages. `make test` checks the layers contract
(pyproject.toml) with lint-imports; its ":" siblings (the domain packages, the
infrastructure packages) may import each other, and this test keeps that one-way too."""

from __future__ import annotations

from collections import defaultdict

import grimp


def _package_graph() -> dict[str, set[str]]:
    """neurall.X -> the neurall.Y it imports (X != Y), from every module inside X."""
    graph = grimp.build_graph("neurall", exclude_type_checking_imports=False)
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        source = ".".join(module.split(".")[:2])
        for imported in graph.find_modules_directly_imported_by(module):
            target = ".".join(imported.split(".")[:2])
            if target != source and target != "neurall":
                edges[source].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_package_imports_another_that_imports_it_back():
    assert _cycles(_package_graph()) == []


def test_a_cycle_would_be_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


DOMAIN = ["accounts", "billing", "clones", "generation", "privacy", "history", "retention"]
REACTIONS = {"neurall.webhooks", "neurall.mail", "neurall.subscribers"}


def test_the_domain_records_events_and_never_calls_its_reactions():
    """Webhooks and e-mail react to domain events (neurall.subscribers); the domain only
    records them (neurall.events), so no domain package imports a reaction."""
    edges = _package_graph()
    reaching = {f"neurall.{name}": edges[f"neurall.{name}"] & REACTIONS for name in DOMAIN}
    assert {package: found for package, found in reaching.items() if found} == {}
    assert all("neurall.events" in edges[f"neurall.{name}"] for name in DOMAIN[:4])
