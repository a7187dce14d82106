#!/usr/bin/env bash
# Creates the Python environment protoipc's Python runtime, generated stubs and tests use:
# .venv/ with the pinned tools of python/requirements-dev.txt and the local packages installed
# editable. Run by `pnpm install` (root postinstall); safe to run again: it only reinstalls when
# the requirements or the package list changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PROTOIPC_PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup-python: $PYTHON not found; install Python 3.11+ or set PROTOIPC_PYTHON" >&2
  exit 1
fi

packages=(python)
[ -f packages/pixels-sdk/python/pyproject.toml ] && packages+=(packages/pixels-sdk/python)
[ -f packages/hydra-sdk/python/pyproject.toml ] && packages+=(packages/hydra-sdk/python)
[ -f packages/poppo-sdk/python/pyproject.toml ] && packages+=(packages/poppo-sdk/python)
[ -f packages/crystalmath-sdk/python/pyproject.toml ] && packages+=(packages/crystalmath-sdk/python)
[ -f examples/pixels-demo/backend-py/pyproject.toml ] && packages+=(examples/pixels-demo/backend-py)

stamp_input="$(cat python/requirements-dev.txt; printf '%s\n' "${packages[@]}"; for p in "${packages[@]}"; do cat "$p/pyproject.toml" 2>/dev/null; done)"
stamp="$(printf '%s' "$stamp_input" | sha256sum | cut -d' ' -f1)"
if [ -f .venv/.protoipc-stamp ] && [ "$(cat .venv/.protoipc-stamp)" = "$stamp" ]; then
  exit 0
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
editable=()
for p in "${packages[@]}"; do
  [ -f "$p/pyproject.toml" ] && editable+=(-e "$p")
done
if [ ${#editable[@]} -gt 0 ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation "${editable[@]}"
fi
echo "$stamp" > .venv/.protoipc-stamp
echo "setup-python: .venv ready ($(.venv/bin/python --version))"
