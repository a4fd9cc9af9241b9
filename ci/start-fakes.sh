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
# PYTHON (the interpreter botfakes is installed in; default python3).
# Everything binds 127.0.0.1. The messages go to stderr; stdout has only the export lines.
set -euo pipefail

PYTHON=${PYTHON:-python3}
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

# The variables, from the ready file (and fresh credentials minted over the control API).
"$PYTHON" - "$READY" "$PID" >"$DIR/env" <<'PY'
import json, shlex, sys, urllib.request

ready_path, pid = sys.argv[1], sys.argv[2]
info = json.load(open(ready_path))
fakes, control = info["fakes"], info["control_url"]


def post(path, body):
    request = urllib.request.Request(f"{control}/_control{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.load(resp)["result"]


env = {"BOTFAKES_PID": pid, "BOTFAKES_READY_FILE": ready_path, "BOTFAKES_CONTROL_URL": control}
if "botapi" in fakes:
    env["TELEGRAM_API_BASE_URL"] = fakes["botapi"]["url"]
    env["TELEGRAM_BOT_TOKEN"] = fakes["botapi"]["token"]
if "deriv" in fakes:
    env["DERIV_WS_URL"] = fakes["deriv"]["url"] + fakes["deriv"].get("path", "/websockets/v3")
    env["DERIV_APP_ID"] = "1089"
    env["DERIV_API_TOKEN"] = post("/deriv/accounts", {"balance": 10000})["token"]
if "mtproto" in fakes:
    env["BOTFAKES_MTPROTO_HOST"] = str(fakes["mtproto"]["host"])
    env["BOTFAKES_MTPROTO_PORT"] = str(fakes["mtproto"]["port"])
    env["TELEGRAM_API_ID"] = "611335"  # any id/hash pair works with the fake
    env["TELEGRAM_API_HASH"] = "d524b414d21f4d37f08684c1df41ac9c"
    env["TELETHON_SESSION"] = post("/mtproto/sessions", {})["session"]
for name, value in env.items():
    print(f"{name}={shlex.quote(value)}")
PY

if [ -n "${GITHUB_ENV:-}" ]; then
  # $GITHUB_ENV takes NAME=value lines, unquoted; none of these values has a newline.
  "$PYTHON" -c 'import shlex,sys
for line in open(sys.argv[1]):
    name, _, value = line.rstrip("\n").partition("=")
    print(f"{name}={shlex.split(value)[0] if value else value}")' "$DIR/env" >>"$GITHUB_ENV"
fi
sed 's/^/export /' "$DIR/env"
echo "start-fakes: ready (pid $PID); control $(grep '^BOTFAKES_CONTROL_URL=' "$DIR/env" | cut -d= -f2-)" >&2
