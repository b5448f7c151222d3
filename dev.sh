#!/usr/bin/env bash
# The two commands of the README:
#   ./dev.sh run    virtualenv, install, migrate, seed the demo if empty, web + worker at http://127.0.0.1:8000
#   ./dev.sh test   the whole test suite (pytest arguments pass through)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv in .venv …"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.sfa-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing SFA and its dependencies …"
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[dev]"; } \
      > .venv/install.log 2>&1; then
    tail -n 40 .venv/install.log >&2
    echo "Installing failed; the whole log is in .venv/install.log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi

command=${1:-}
shift || true
case "$command" in
  run)  exec .venv/bin/python manage.py serve "$@" ;;
  test) exec .venv/bin/python -m pytest "$@" ;;
  *)    echo "usage: ./dev.sh run | ./dev.sh test [pytest args]" >&2; exit 2 ;;
esac
