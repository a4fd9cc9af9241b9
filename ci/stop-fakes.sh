#!/usr/bin/env bash
# Stop the fakes ci/start-fakes.sh started (SIGTERM, then SIGKILL after BOTFAKES_STOP_TIMEOUT s).
#   ci/stop-fakes.sh            # finds the pid in $BOTFAKES_PID or $BOTFAKES_DIR/fakes.pid
set -euo pipefail

DIR=${BOTFAKES_DIR:-.botfakes}
PID=${BOTFAKES_PID:-$(cat "$DIR/fakes.pid" 2>/dev/null || true)}
TIMEOUT=${BOTFAKES_STOP_TIMEOUT:-15}
if [ -z "$PID" ] || ! kill -0 "$PID" 2>/dev/null; then
  echo "stop-fakes: not running" >&2
  exit 0
fi
kill -TERM "$PID"
deadline=$((SECONDS + TIMEOUT))
while kill -0 "$PID" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "stop-fakes: no exit after ${TIMEOUT} s, killing" >&2
    kill -KILL "$PID" 2>/dev/null || true
    break
  fi
  sleep 0.1
done
rm -f "$DIR/fakes.pid"
echo "stop-fakes: stopped (pid $PID)" >&2
