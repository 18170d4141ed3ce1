#!/bin/sh
# The Python SDK's typed models (clients/python/neurall_client/_generated/), generated from
# docs/api-contract.graphql and clients/python/operations.graphql by ariadne-codegen.
#   scripts/client-codegen.sh          regenerate in place (make client-codegen)
#   scripts/client-codegen.sh --check  regenerate in a temporary copy and fail on any
#                                      difference, then type-check the SDK with mypy --strict
#                                      (make check-client, part of make test)
# ariadne-codegen lives in a venv of its own (.venv-codegen): it pins graphql-core < 3.3,
# which the server's Strawberry cannot use.
set -eu
CODEGEN_VENV=${CODEGEN_VENV:-.venv-codegen}
ROOT=$(pwd)
if [ ! -x "$CODEGEN_VENV/bin/ariadne-codegen" ] || [ ! -x "$CODEGEN_VENV/bin/mypy" ]; then
	${PYTHON:-python3} -m venv "$CODEGEN_VENV"
	"$CODEGEN_VENV/bin/pip" install --quiet ariadne-codegen==0.19.0 mypy websockets
fi
CODEGEN="$ROOT/$CODEGEN_VENV/bin/ariadne-codegen"
GENERATED=clients/python/neurall_client/_generated
if [ "${1:-}" != "--check" ]; then
	rm -rf "$GENERATED"
	cd clients/python && "$CODEGEN" --config codegen/ariadne-codegen.toml client >/dev/null
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/clients/python/neurall_client"
cp docs/api-contract.graphql "$tmp/docs/"
cp -r clients/python/codegen clients/python/operations.graphql "$tmp/clients/python/"
(cd "$tmp/clients/python" && "$CODEGEN" --config codegen/ariadne-codegen.toml client >/dev/null)
if ! diff -r -x __pycache__ "$tmp/$GENERATED" "$GENERATED"; then
	echo "$GENERATED is stale: run make client-codegen and commit the result." >&2
	exit 1
fi
# The SDK ships py.typed, so its users' type checkers read it: it must pass the strictest.
# (mypy checks 3.10 and newer; the SDK's 3.9 support rests on ruff's py39 target.)
cd clients/python
"$ROOT/$CODEGEN_VENV/bin/mypy" --strict --python-version 3.10 \
	--cache-dir "$ROOT/$CODEGEN_VENV/mypy-cache" -p neurall_client
