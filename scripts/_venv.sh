# Sourced by scripts/demo and scripts/test: make ./.venv if missing and install the project into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PLAN_CONNECTOR_VENV:-$ROOT/.venv}"
if [ -z "${PYTHON:-}" ]; then  # the first Python 3.11+ on PATH
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON=$candidate; break
    fi
  done
fi
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "plan-connector needs Python 3.11 or newer; found: $("$PY" --version 2>&1 | head -n1 || echo none). Set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
# A .venv made by another Python (an upgrade, a half-finished install) is rebuilt, not reused.
WANT="$("$PY" -c 'import sys; print(sys.version.split()[0])')"
if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)" != "$WANT" ]; then
  echo "rebuilding $VENV for Python $WANT" >&2
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed-$(cksum < "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[test]"
  rm -f "$VENV"/.installed-* && touch "$STAMP"
fi
