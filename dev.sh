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
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  echo "$want" > "$stamp"
fi

command=${1:-}
shift || true
case "$command" in
  run)  exec .venv/bin/python manage.py serve "$@" ;;
  test) exec .venv/bin/python -m pytest "$@" ;;
  *)    echo "usage: ./dev.sh run | ./dev.sh test [pytest args]" >&2; exit 2 ;;
esac
