#!/usr/bin/env bash
# Starts the action server, the web app (staff inbox) and the Rasa server on loopback in the
# foreground; Ctrl-C or SIGTERM stops all of them. With --shell, runs `rasa shell` (staff chat)
# instead of the Rasa REST server.
#
# Environment (defaults set by the Makefile): RASA_HOST RASA_PORT ACTION_SERVER_HOST
# ACTION_SERVER_PORT WEBAPP_HOST WEBAPP_PORT TRACKER_DB, MODEL (default models/clinic.tar.gz).
# LOG_LEVEL (WARNING by default; INFO or DEBUG for every service). Every service runs with
# clinic/log_redaction.py installed (scripts/log_hook/sitecustomize.py), so no level ever writes a
# parent's name, phone number or e-mail address to a log.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
MODEL=${MODEL:-models/clinic.tar.gz}
ENDPOINTS=${ENDPOINTS:-endpoints.yml}
mkdir -p "$(dirname "$TRACKER_DB")"

# Log level of all services, and the redaction hook in every Python process started here.
case "${LOG_LEVEL:-WARNING}" in
  DEBUG) LOG_FLAG=--debug ;;
  INFO) LOG_FLAG=--verbose ;;
  *) LOG_FLAG=--quiet ;;
esac
export LOG_LEVEL=${LOG_LEVEL:-WARNING}
export PYTHONPATH="$PWD/scripts/log_hook${PYTHONPATH:+:$PYTHONPATH}"

# Refuse to start with invalid settings or content: a wrong phone number must never reach a parent.
"$BIN/python" scripts/validate_content.py

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# rasa-sdk binds to SANIC_HOST (its default is every interface; ours is loopback).
SANIC_HOST="$ACTION_SERVER_HOST" "$BIN/rasa" run actions --actions actions \
  --port "$ACTION_SERVER_PORT" "$LOG_FLAG" &
pids+=($!)

if [[ "${1:-}" != "--shell" ]]; then
  # The web app also retries undelivered escalation notifications.
  "$BIN/python" -m webapp &
  pids+=($!)
fi

# Rasa waits for nothing: give the action server a moment so the first message is answered.
for _ in $(seq 1 60); do
  if "$BIN/python" - "$ACTION_SERVER_HOST" "$ACTION_SERVER_PORT" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/health", timeout=1)
PY
  sleep 0.5
done

if [[ "${1:-}" == "--shell" ]]; then
  "$BIN/rasa" shell --model "$MODEL" --endpoints "$ENDPOINTS" "$LOG_FLAG"
  exit 0
fi

echo "Rasa REST channel: http://$RASA_HOST:$RASA_PORT/webhooks/rest/webhook"
echo "Staff inbox:       http://$WEBAPP_HOST:$WEBAPP_PORT/staff/  (Ctrl-C stops all services)"
"$BIN/rasa" run --model "$MODEL" --endpoints "$ENDPOINTS" --credentials credentials.yml \
  --interface "$RASA_HOST" --port "$RASA_PORT" "$LOG_FLAG" &
pids+=($!)

# Stop everything as soon as one service exits.
wait -n
