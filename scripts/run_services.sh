#!/usr/bin/env bash
# Starts the action server, the web app (staff inbox) and the Rasa server on loopback in the
# foreground; Ctrl-C or SIGTERM stops all of them. With --shell, runs the staff shell
# (channels/staff_shell.py: the model in this terminal, no Rasa port opened, no web app) with the
# action server, and their log lines go to SHELL_LOG (default var/shell.log), not into the chat.
#
# Environment (defaults set by the Makefile): RASA_HOST RASA_PORT ACTION_SERVER_HOST
# ACTION_SERVER_PORT WEBAPP_HOST WEBAPP_PORT TRACKER_DB, MODEL (default models/clinic.tar.gz);
# optional: ACTION_ENDPOINT_URL, TRACKER_DB_URL, REDIS_URL, RASA_API_TOKEN, RASA_CORS_ORIGINS
# (docs/configuration.md). Also: CREDENTIALS_FILE (default var/credentials.yml), the
# messaging apps' secrets (docs/channels.md), STAFF_SHELL_DEBUG=1 (with --shell: a debug line per reply),
# WIDGET_SESSION_SECRET (else generated once into WIDGET_SESSION_SECRET_FILE, default
# var/widget-session-secret), STAFF_USERS and STAFF_USERS_FILE (default var/staff-users,
# written by `make staff-password`; webapp/staff_accounts.py).
# LOG_LEVEL (WARNING by default; INFO or DEBUG for every service). Every service runs with
# safety/log_redaction.py installed (scripts/log_hook/sitecustomize.py), so no level ever writes a
# parent's name, phone number or e-mail address to a log.
set -euo pipefail
cd "$(dirname "$0")/.."
# Parents' details and secrets live in files the services create (SQLite stores, outbox,
# credentials): readable by their owner only, and so is var/. As root, other users may pass
# through var/ without listing it: `make cluster` runs PostgreSQL and nginx's workers as their
# own users under var/cluster.
umask 077
mkdir -p var
if [[ $EUID -eq 0 ]]; then chmod 711 var; else chmod 700 var; fi
BIN=.venv/bin
shell_mode=false
[[ "${1:-}" == "--shell" ]] && shell_mode=true

# A second `make run` or `make shell` would fail with two "address already in use" tracebacks.
port_answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
for address in "$ACTION_SERVER_HOST:$ACTION_SERVER_PORT" "$RASA_HOST:$RASA_PORT" \
    "$WEBAPP_HOST:$WEBAPP_PORT"; do
  if port_answers "${address%:*}" "${address##*:}"; then
    echo "The services are already running ($address answers): stop them with Ctrl-C where" \
      "\`make run\` or \`make shell\` runs, then start again." >&2
    exit 1
  fi
done

# Widget sessions (and so parents' transcripts) survive a restart only with the same signing
# secret (channels/socketio.py). Production sets WIDGET_SESSION_SECRET; here one is made once.
if [[ -z "${WIDGET_SESSION_SECRET:-}" ]]; then
  secret_file=${WIDGET_SESSION_SECRET_FILE:-var/widget-session-secret}
  if [[ ! -s "$secret_file" ]]; then
    # Written aside and renamed: a parallel start never reads half a secret (0600: umask 077).
    tmp=$(mktemp "$secret_file.XXXXXX")
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$tmp"
    mv -n "$tmp" "$secret_file"
    rm -f "$tmp"
  fi
  WIDGET_SESSION_SECRET=$(<"$secret_file")
  export WIDGET_SESSION_SECRET
fi

MODEL=${MODEL:-models/clinic.tar.gz}
ENDPOINTS=${ENDPOINTS:-endpoints.yml}
# Generated: credentials.yml plus the messaging apps whose secrets are set (channels/credentials.py).
CREDENTIALS_FILE=${CREDENTIALS_FILE:-var/credentials.yml}
mkdir -p "$(dirname "$TRACKER_DB")"
export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://$ACTION_SERVER_HOST:$ACTION_SERVER_PORT/webhook}

# Rasa's HTTP API (conversations, model, training) stays off unless RASA_API_TOKEN is set;
# local/rasa_command.py passes the token to Rasa from the environment, never on a command line
# (other local users can read those with `ps`).
rasa_args=()
if [[ -n "${RASA_CORS_ORIGINS:-}" ]]; then
  # shellcheck disable=SC2206 (a space-separated list of origins)
  rasa_args+=(--cors ${RASA_CORS_ORIGINS})
fi

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

# Staff accounts: var/staff-users merged with STAFF_USERS, checked once before anything starts.
if ! $shell_mode; then
  STAFF_USERS=$("$BIN/python" -m webapp.staff_accounts export) || exit 1
  export STAFF_USERS
fi

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
# Ctrl-C or SIGTERM is a normal stop (exit 0, so make reports no error); a service that exits
# on its own ends the script with its status (EXIT).
trap 'stop; exit 0' INT TERM
trap stop EXIT

# SIGTERM to `make run` ends make, not this script: when the parent goes, stop everything too.
parent=$PPID
( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; kill -TERM $$ 2>/dev/null ) &
pids+=($!)

# Where the services' output goes: the terminal, or with --shell the log file (fd 3 and 4).
if $shell_mode; then
  export SHELL_LOG=${SHELL_LOG:-var/shell.log}
  exec 3>>"$SHELL_LOG" 4>&3
else
  exec 3>&1 4>&2
fi

# rasa-sdk binds to SANIC_HOST (its default is every interface; ours is loopback).
SANIC_HOST="$ACTION_SERVER_HOST" "$BIN/rasa" run actions --actions actions \
  --port "$ACTION_SERVER_PORT" "$LOG_FLAG" >&3 2>&4 &
pids+=($!)

if ! $shell_mode; then
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

if $shell_mode; then
  # In the foreground: it reads the terminal. Its own log lines go to the log file too.
  "$BIN/python" -m channels.staff_shell --model "$MODEL" --endpoints "$ENDPOINTS" 2>&4
  exit 0
fi

"$BIN/python" -m channels.credentials credentials.yml "$CREDENTIALS_FILE"
echo "Rasa REST channel: http://$RASA_HOST:$RASA_PORT/webhooks/rest/webhook"
echo "Web widget demo:   http://$WEBAPP_HOST:$WEBAPP_PORT/  (socket.io on the Rasa port)"
echo "Staff inbox:       http://$WEBAPP_HOST:$WEBAPP_PORT/staff/  (Ctrl-C stops all services)"
"$BIN/python" -m local.rasa_command run --model "$MODEL" --endpoints "$ENDPOINTS" \
  --credentials "$CREDENTIALS_FILE" --interface "$RASA_HOST" --port "$RASA_PORT" "$LOG_FLAG" \
  "${rasa_args[@]}" &
pids+=($!)

# Stop everything as soon as one service exits.
wait -n
