#!/usr/bin/env bash
# Start the botfakes fakes for your own test suite, wait until they listen, export where they are.
#
#   eval "$(ci/start-fakes.sh)"        # any shell / CI: prints `export NAME=value` lines
#   ci/start-fakes.sh                  # GitHub Actions: also appends NAME=value to $GITHUB_ENV
#   ... your tests ...
#   ci/stop-fakes.sh                   # or: kill "$BOTFAKES_PID"
#
# Exports: BOTFAKES_PID, BOTFAKES_READY_FILE, BOTFAKES_CONTROL_URL, TELEGRAM_API_BASE_URL,
# TELEGRAM_BOT_TOKEN, DERIV_WS_URL, DERIV_APP_ID, DERIV_API_TOKEN (a fresh account with 10000 USD),
# TELEGRAM_API_ID, TELEGRAM_API_HASH, TELETHON_SESSION (a signed-in StringSession the fake knows),
# BOTFAKES_MTPROTO_HOST, BOTFAKES_MTPROTO_PORT -- each only for the fakes that run.
#
# Settings (environment): BOTFAKES_SERVE_ARGS (extra `botfakes serve` options, e.g.
# "--only botapi,deriv --botapi-port 0"; default: every fake on its default port),
# BOTFAKES_DIR (ready file and log; default .botfakes), BOTFAKES_READY_TIMEOUT (seconds, default 60),
# PYTHON (the interpreter botfakes is installed in; default: the active virtualenv's python, else
# the interpreter of the `botfakes` command on PATH, else python3).
# Everything binds 127.0.0.1. The messages go to stderr; stdout has only the export lines.
set -euo pipefail

# shellcheck source=ci/find-python.sh
. "$(dirname "${BASH_SOURCE[0]}")/find-python.sh"
DIR=${BOTFAKES_DIR:-.botfakes}
TIMEOUT=${BOTFAKES_READY_TIMEOUT:-60}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
READY="$DIR/fakes.json"
LOG="$DIR/fakes.log"
rm -f "$READY"

# shellcheck disable=SC2086  # BOTFAKES_SERVE_ARGS is a list of options
nohup "$PYTHON" -m botfakes serve --ready-file "$READY" ${BOTFAKES_SERVE_ARGS:-} >"$LOG" 2>&1 </dev/null &
PID=$!
echo "$PID" >"$DIR/fakes.pid"

# `botfakes serve` writes the ready file atomically once every fake listens: wait for it, or for
# the process to die, bounded by the timeout.
deadline=$((SECONDS + TIMEOUT))
until [ -s "$READY" ]; do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "start-fakes: botfakes serve exited before it was ready:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "start-fakes: botfakes serve not ready within ${TIMEOUT} s:" >&2
    cat "$LOG" >&2
    kill "$PID" 2>/dev/null || true
    exit 1
  fi
  sleep 0.1
done

# The variables, from the ready file (and fresh credentials minted over the control API): the
# contract of botfakes.testing.env, the same one the scenario harness hands to bots.
"$PYTHON" -m botfakes env --ready-file "$READY" --set BOTFAKES_PID="$PID" >"$DIR/env"

if [ -n "${GITHUB_ENV:-}" ]; then
  # $GITHUB_ENV takes NAME=value lines, unquoted; none of these values has a newline. The same
  # values (minted once), read back by the shell that understands the export lines' quoting.
  (
    eval "$(cat "$DIR/env")"
    for name in $(sed -n 's/^export \([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$DIR/env"); do
      printf '%s=%s\n' "$name" "${!name}"
    done
  ) >>"$GITHUB_ENV"
fi
cat "$DIR/env"
echo "start-fakes: ready (pid $PID); control $(sed -n "s/^export BOTFAKES_CONTROL_URL=//p" "$DIR/env" | tr -d "'")" >&2
