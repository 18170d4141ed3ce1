"""The served schema keeps the public contract (docs/api-contract.graphql, a copy of
shared/api-contract.graphql): every contract type, field, argument, enum value and union
member exists with the same type. Additions are allowed; changes are not."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    print_ast,
)
from graphql.utilities import ast_from_value

from neurall.config import Settings
from neurall.graphql.schema import build_schema as build_served_schema

CONTRACT_PATH = Path(__file__).parent.parent / "docs" / "api-contract.graphql"
SHARED_CONTRACT = Path(__file__).parent.parent.parent / "shared" / "api-contract.graphql"

# Names of the contract that features still being built will serve: root fields, fields of
# types, enum values and union members, as "Type.name". Each is removed from here by the
# change that serves it (the tests below insist).
NOT_YET_SERVED: set[str] = set()
ROOTS = ("Query", "Mutation", "Subscription")


@pytest.fixture(scope="module")
def contract() -> GraphQLSchema:
    return build_schema(CONTRACT_PATH.read_text())


@pytest.fixture(scope="module")
def served() -> GraphQLSchema:
    return build_served_schema(Settings())._schema


def _root_fields(schema: GraphQLSchema) -> set[str]:
    names = set()
    for root in ROOTS:
        type_ = schema.get_type(root)
        if isinstance(type_, GraphQLObjectType):
            names |= {f"{root}.{field}" for field in type_.fields}
    return names


def _user_types(schema: GraphQLSchema) -> dict[str, GraphQLNamedType]:
    return {n: t for n, t in schema.type_map.items() if not n.startswith("__")}


def test_the_repository_copy_is_the_shared_contract():
    if SHARED_CONTRACT.exists():
        assert CONTRACT_PATH.read_text() == SHARED_CONTRACT.read_text()


def test_every_contract_root_field_is_served_or_listed_as_pending(contract, served):
    missing = _root_fields(contract) - _root_fields(served)
    assert missing <= NOT_YET_SERVED, f"contract fields missing: {sorted(missing - NOT_YET_SERVED)}"
    served_but_listed = NOT_YET_SERVED & _root_fields(served)
    assert not served_but_listed, f"remove from NOT_YET_SERVED: {sorted(served_but_listed)}"


def test_served_types_match_the_contract(contract, served):
    served_types = _user_types(served)
    problems: list[str] = []
    for name, expected in _user_types(contract).items():
        actual = served_types.get(name)
        if actual is None:
            continue  # a type of a pending field; the root-field test tracks those
        if _kind(actual) != _kind(expected):
            problems.append(f"{name}: {_kind(actual)} != {_kind(expected)}")
            continue
        problems += _compare(name, expected, actual)
    assert not problems, "\n".join(problems)


def test_pending_names_are_not_served_yet(contract, served):
    """A name served since it was listed must leave NOT_YET_SERVED (and get its tests)."""
    served_types = _user_types(served)
    pending_types = {n.split(".")[0] for n in NOT_YET_SERVED}
    missing: set[str] = set()
    for name in pending_types:
        actual = served_types.get(name)
        if actual is not None:
            missing |= _members(contract.get_type(name)) - _members(actual)
    members = {n for n in NOT_YET_SERVED if not n.startswith(ROOTS)}
    assert members <= missing, f"remove from NOT_YET_SERVED: {sorted(members - missing)}"
    served_args = {
        f"{name}.{field}({arg})"
        for name in ROOTS
        if isinstance(served.get_type(name), GraphQLObjectType)
        for field, definition in served.get_type(name).fields.items()  # type: ignore[union-attr]
        for arg in definition.args
    }
    assert not NOT_YET_SERVED & served_args, "remove from NOT_YET_SERVED: the argument is served"


def _members(type_: GraphQLNamedType | None) -> set[str]:
    """ "Type.member" for each field, enum value or union member of ``type_``."""
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        names = set(type_.fields)
    elif isinstance(type_, GraphQLUnionType):
        names = {t.name for t in type_.types}
    elif isinstance(type_, GraphQLEnumType):
        names = set(type_.values)
    else:
        names = set()
    return {f"{type_.name}.{n}" for n in names} if type_ is not None else set()


def _kind(type_: GraphQLNamedType) -> str:
    kinds = (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType, GraphQLUnionType)
    kinds += (GraphQLEnumType,)
    return next((k.__name__ for k in kinds if isinstance(type_, k)), "scalar")


def _default(arg: GraphQLArgument) -> str | None:
    """The default as the SDL prints it (Python values differ between schema builders).
    For a nullable argument, "no default" and "default null" mean the same to callers."""
    node = ast_from_value(arg.default_value, arg.type)
    if node is None and arg.ast_node is not None:
        # graphql-core 3.3 keeps an SDL-built schema's defaults only in the AST.
        node = arg.ast_node.default_value
    printed = print_ast(node) if node else None
    return None if printed == "null" else printed


def _compare(name: str, expected: GraphQLNamedType, actual: GraphQLNamedType) -> list[str]:
    problems = []
    if isinstance(expected, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        assert isinstance(actual, type(expected))
        for field_name, field in expected.fields.items():
            if name in ROOTS and field_name not in actual.fields:
                continue  # pending root field
            served_field = actual.fields.get(field_name)
            if served_field is None:
                if f"{name}.{field_name}" not in NOT_YET_SERVED:
                    problems.append(f"{name}.{field_name} is missing")
                continue
            if str(served_field.type) != str(field.type):
                problems.append(f"{name}.{field_name}: {served_field.type} != {field.type}")
            for arg_name, arg in getattr(field, "args", {}).items():
                served_arg = served_field.args.get(arg_name)
                if served_arg is None and f"{name}.{field_name}({arg_name})" in NOT_YET_SERVED:
                    continue
                if served_arg is None or str(served_arg.type) != str(arg.type):
                    problems.append(f"{name}.{field_name}({arg_name}) differs or is missing")
                elif _default(served_arg) != _default(arg):
                    problems.append(f"{name}.{field_name}({arg_name}) default differs")
        if isinstance(expected, GraphQLObjectType | GraphQLInterfaceType):
            wanted = {i.name for i in expected.interfaces}
            if not wanted <= {i.name for i in actual.interfaces}:  # type: ignore[union-attr]
                problems.append(f"{name} must implement {sorted(wanted)}")
    elif isinstance(expected, GraphQLUnionType):
        assert isinstance(actual, GraphQLUnionType)
        wanted = {t.name for t in expected.types if f"{name}.{t.name}" not in NOT_YET_SERVED}
        if not wanted <= {t.name for t in actual.types}:
            problems.append(f"union {name} lacks {sorted(wanted - {t.name for t in actual.types})}")
    elif isinstance(expected, GraphQLEnumType):
        assert isinstance(actual, GraphQLEnumType)
        wanted = {v for v in expected.values if f"{name}.{v}" not in NOT_YET_SERVED}
        if not wanted <= set(actual.values):
            problems.append(f"enum {name} lacks {sorted(wanted - set(actual.values))}")
    return problems


def test_the_schema_describes_itself(served):
    """Contract: the schema must carry its own descriptions."""
    undocumented = [
        f"{root}.{field}"
        for root in ROOTS
        if isinstance(served.get_type(root), GraphQLObjectType)
        for field, definition in served.get_type(root).fields.items()  # type: ignore[union-attr]
        if not definition.description
    ]
    assert not undocumented
