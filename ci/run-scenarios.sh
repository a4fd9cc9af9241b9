#!/usr/bin/env bash
# Run the botfakes scenarios against your bot; the HTML report and JUnit XML land in the report
# folder for the CI to keep. The exit code is `botfakes run`'s: 0 no bug found, 1 bugs found (or a
# scenario failed unexpectedly), 2 the scenarios could not run.
#
#   BOT_CMD="python -m mybot" BOT_PARTS=polling,webhook ci/run-scenarios.sh
#
# Settings (environment): BOT_CMD (required: the command that starts your bot; it gets the
# variables listed in botfakes' README), BOT_PARTS (default polling; any of
# polling,webhook,telethon,deriv), BOT_NAME (default bot), BOTFAKES_REPORT_DIR (default
# botfakes-report), BOTFAKES_RUN_ARGS (more `botfakes run` options, e.g. "-n 2 --count 3"),
# PYTHON (the interpreter botfakes is installed in; found as ci/find-python.sh says).
set -euo pipefail

: "${BOT_CMD:?set BOT_CMD to the command that starts your bot}"
# shellcheck source=ci/find-python.sh
. "$(dirname "${BASH_SOURCE[0]}")/find-python.sh"
REPORT_DIR=${BOTFAKES_REPORT_DIR:-botfakes-report}
mkdir -p "$REPORT_DIR"

status=0
# shellcheck disable=SC2086  # BOTFAKES_RUN_ARGS is a list of options
"$PYTHON" -m botfakes run --bot-cmd "$BOT_CMD" --bot-parts "${BOT_PARTS:-polling}" \
  --bot-name "${BOT_NAME:-bot}" --report-dir "$REPORT_DIR" ${BOTFAKES_RUN_ARGS:-} \
  2>&1 | tee "$REPORT_DIR/summary.txt" || status=${PIPESTATUS[0]}

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  { echo '### botfakes scenarios'; echo '```'; cat "$REPORT_DIR/summary.txt"; echo '```'; } >>"$GITHUB_STEP_SUMMARY"
fi
for artifact in report.html junit.xml; do
  [ -f "$REPORT_DIR/$artifact" ] && echo "run-scenarios: $REPORT_DIR/$artifact" >&2
done
exit "$status"
