#!/usr/bin/env bash
# A short, real tour of the Clinicflow API, against a running `make run` (demo data):
# log in as the demo patient, list clinics and doctors, find a free slot, book it and
# read it back. Each step prints what it got; any error stops the tour with the
# server's answer and a non-zero exit.
#
#   scripts/try-it.sh [BASE_URL]    # default: $CLINICFLOW_URL, else http://127.0.0.1:8000
#
# Needs bash, curl and python3 (for JSON). Log in as someone else with
# TRYIT_TENANT, TRYIT_EMAIL and TRYIT_PASSWORD (a patient books for themselves).
set -euo pipefail

base="${1:-${CLINICFLOW_URL:-http://127.0.0.1:8000}}"
base="${base%/}"
tenant="${TRYIT_TENANT:-demo}"
email="${TRYIT_EMAIL:-patient@demo.clinicflow.test}"
password="${TRYIT_PASSWORD:-clinicflow-demo}"

for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "try-it: needs $tool" >&2; exit 1; }
done

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
token=""

# call METHOD PATH [JSON]: print the response body; stop on a transport error or non-2xx.
call() {
  local method="$1" path="$2" data="${3:-}" status
  local args=(--silent --show-error --max-time 30 -X "$method" -o "$body" -w '%{http_code}'
    -H 'accept: application/json')
  if [ -n "$token" ]; then args+=(-H "authorization: Bearer $token"); fi
  if [ -n "$data" ]; then args+=(-H 'content-type: application/json' --data "$data"); fi
  if ! status="$(curl "${args[@]}" "$base$path")"; then
    echo "try-it: $method $path: no answer from $base (is \`make run\` going?)" >&2
    exit 1
  fi
  if [ "${status:0:1}" != 2 ]; then
    echo "try-it: $method $path answered HTTP $status:" >&2
    cat "$body" >&2
    echo >&2
    exit 1
  fi
  cat "$body"
}

# py CODE [ARG...]: run CODE with `d` = the JSON on stdin and `a` = the arguments.
py() {
  local code="$1"
  shift
  python3 -c "import json, sys
d = json.load(sys.stdin)
a = sys.argv[1:]
$code" "$@"
}

step() { printf '\n== %s\n' "$*"; }

step "Readiness"
ready="$(call GET /health/ready)"
py 'print("  %s, schema at revision %s" % (d["status"], d["schema_revision"]))' <<<"$ready"

step "Log in as $email (tenant $tenant)"
login="$(python3 -c 'import json, sys; print(json.dumps(dict(zip(["tenant", "email", "password"], sys.argv[1:]))))' \
  "$tenant" "$email" "$password")"
tokens="$(call POST /api/v1/auth/login "$login")"
token="$(py 'print(d["access_token"])' <<<"$tokens")"
me="$(call GET /api/v1/users/me)"
py 'print("  signed in as %s <%s>, roles %s" % (d["full_name"], d["email"], ", ".join(d["roles"])))' <<<"$me"

step "Clinics"
clinics="$(call GET /api/v1/clinics)"
py 'for c in d["items"]: print("  %s (%s, %s)" % (c["name"], c["city"], c["timezone"]))' <<<"$clinics"

step "Doctors"
doctors="$(call GET /api/v1/doctors)"
py 'for x in d["items"]: print("  %s, %s" % (x["full_name"], x["specialty"] or "general practice"))' <<<"$doctors"
doctor_id="$(py '
if not d["items"]: sys.exit("try-it: the tenant has no doctors")
print(d["items"][0]["id"])' <<<"$doctors")"
doctor_name="$(py 'print(d["items"][0]["full_name"])' <<<"$doctors")"
# A doctor practising everywhere (clinic_ids null) is booked at the first clinic.
clinic_id="$(py '
ids = d["items"][0]["clinic_ids"] or [c["id"] for c in json.loads(a[0])["items"]]
print(ids[0])' "$clinics" <<<"$doctors")"

step "Free slots of $doctor_name in the next 14 days"
window="$(python3 -c 'from datetime import datetime, timedelta, timezone
now = datetime.now(timezone.utc).replace(microsecond=0)
print("from=%s&to=%s" % (f"{now:%Y-%m-%dT%H:%M:%SZ}", f"{now + timedelta(days=14):%Y-%m-%dT%H:%M:%SZ}"))')"
slots="$(call GET "/api/v1/doctors/$doctor_id/slots?$window&clinic_id=$clinic_id")"
starts_at="$(py '
if not d["items"]: sys.exit("try-it: no free slot in the next 14 days")
print(d["items"][0]["starts_at"])' <<<"$slots")"
py 'more = " (and more pages)" if d["next_cursor"] else ""
print("  %d free%s; the first: %s to %s" % (len(d["items"]), more, d["items"][0]["starts_at"], d["items"][0]["ends_at"]))' <<<"$slots"

step "Book the first one"
booking="$(python3 -c 'import json, sys
keys = ["doctor_id", "clinic_id", "starts_at", "reason"]
print(json.dumps(dict(zip(keys, sys.argv[1:]))))' "$doctor_id" "$clinic_id" "$starts_at" "Booked by scripts/try-it.sh")"
appointment="$(call POST /api/v1/appointments "$booking")"
appointment_id="$(py 'print(d["id"])' <<<"$appointment")"
py 'print("  appointment %s: %s at %s" % (d["id"], d["status"], d["starts_at"]))' <<<"$appointment"

step "Read it back"
read_back="$(call GET "/api/v1/appointments/$appointment_id")"
py '
if d["id"] != a[0] or d["status"] != "scheduled": sys.exit("try-it: unexpected appointment %s" % d)
print("  %s: %s, %s to %s, reason: %s" % (d["id"], d["status"], d["starts_at"], d["ends_at"], d["reason"]))' \
  "$appointment_id" <<<"$read_back"
mine="$(call GET /api/v1/appointments)"
py '
ids = [x["id"] for x in d["items"]]
if a[0] not in ids: sys.exit("try-it: the new appointment is missing from the list")
print("  you have %d appointment(s), the new one among them" % len(ids))' "$appointment_id" <<<"$mine"

printf '\ntry-it: every step passed against %s\n' "$base"
