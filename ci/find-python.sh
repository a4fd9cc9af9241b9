# Sourced by the ci/ scripts: sets PYTHON to the interpreter botfakes is installed in, or exits 1
# saying how to name it. CI steps often run without the virtualenv activated, so PYTHON (if set)
# wins, then the active virtualenv's python, then the interpreter of the `botfakes` command on
# PATH (pip writes it into the console script's first line), then python3.

find_python() {
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    echo "$VIRTUAL_ENV/bin/python"
    return
  fi
  local cli shebang
  if cli=$(command -v botfakes 2>/dev/null); then
    shebang=$(head -n 1 "$cli")
    shebang=${shebang#\#!}
    if [ -x "$shebang" ]; then
      echo "$shebang"
      return
    fi
  fi
  echo python3
}

PYTHON=${PYTHON:-$(find_python)}
if ! "$PYTHON" -c 'import botfakes' 2>/dev/null; then
  echo "$(basename "$0"): botfakes is not installed for $PYTHON; set PYTHON to the interpreter it" \
    "is installed in (e.g. PYTHON=.venv/bin/python)" >&2
  exit 1
fi
