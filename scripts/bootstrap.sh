#!/usr/bin/env bash
# Sourced by scripts/test.sh and scripts/demo.sh: makes a fresh machine ready.
#   - Node 22 or 24 first on PATH (scripts/ensure-node.sh);
#   - node_modules installed from package-lock.json when missing or stale;
#   - redis-server, promtool and prometheus (Debian's redis-server and prometheus packages)
#     when missing (the alert test runs a real Prometheus);
#   - Chromium (Debian's chromium package) when missing: the console's browser tests drive it;
#   - Kamailio and SIPp (Debian's kamailio, kamailio-utils-modules, kamailio-json-modules and
#     sip-tester packages) when missing: the SIP switch's test places real calls;
#   - Java and Maven present (Kafka and the schema registry are fetched by the stack itself);
#   - schemathesis for the admin API's fuzz test, in a virtualenv under .cache/fuzz-venv,
#     installed from test/fuzz/requirements.txt when missing or when that file changed;
#     kubernetes-validate for the Helm chart's check the same way (.cache/helm-venv,
#     deploy/helm/requirements.txt). Helm itself is built by the test from the Go module proxy.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$_root/scripts/ensure-node.sh" || return 1 2>/dev/null || exit 1

_need_install=0
if [ ! -f "$_root/node_modules/.package-lock.json" ]; then
  _need_install=1
elif [ "$_root/package-lock.json" -nt "$_root/node_modules/.package-lock.json" ]; then
  _need_install=1
fi
if [ "$_need_install" = 1 ]; then
  echo "bootstrap: installing npm dependencies (npm ci)" >&2
  (cd "$_root" && npm ci --no-audit --no-fund --loglevel=error) >&2 || { echo "bootstrap: npm ci failed" >&2; return 1 2>/dev/null || exit 1; }
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "bootstrap: redis-server is missing; installing Debian's package" >&2
  _sudo=""
  [ "$(id -u)" = 0 ] || _sudo="sudo"
  { $_sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq redis-server; } >&2 ||
    { echo "bootstrap: could not install redis-server; install it with apt-get install redis-server" >&2; return 1 2>/dev/null || exit 1; }
  # The package starts a system-wide server; the project runs its own on a free port.
  { $_sudo systemctl disable --now redis-server || $_sudo service redis-server stop; } >/dev/null 2>&1 || true
fi

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "bootstrap: promtool is missing; installing Debian's prometheus package" >&2
  _sudo=""
  [ "$(id -u)" = 0 ] || _sudo="sudo"
  { $_sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq prometheus; } >&2 ||
    { echo "bootstrap: could not install promtool; install it with apt-get install prometheus" >&2; return 1 2>/dev/null || exit 1; }
  # promtool and the prometheus binary are wanted (the tests start their own): the package's
  # own servers are stopped.
  for _service in prometheus prometheus-node-exporter; do
    { $_sudo systemctl disable --now "$_service" || $_sudo service "$_service" stop; } >/dev/null 2>&1 || true
  done
fi

if ! command -v "${CHROMIUM_PATH:-chromium}" >/dev/null 2>&1; then
  echo "bootstrap: chromium is missing; installing Debian's package (the console's browser tests)" >&2
  _sudo=""
  [ "$(id -u)" = 0 ] || _sudo="sudo"
  { $_sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq chromium; } >&2 ||
    { echo "bootstrap: could not install chromium; install it with apt-get install chromium (or set CHROMIUM_PATH)" >&2; return 1 2>/dev/null || exit 1; }
fi

# The SIP switch's end-to-end test runs Kamailio (deploy/kamailio/kamailio.cfg: http_client is
# in the utils modules, json in the json modules) and SIPp (Debian's sip-tester).
if ! command -v "${KAMAILIO_PATH:-kamailio}" >/dev/null 2>&1 || ! command -v "${SIPP_PATH:-sipp}" >/dev/null 2>&1 ||
  ! compgen -G '/usr/lib/*/kamailio/modules/http_client.so' >/dev/null ||
  ! compgen -G '/usr/lib/*/kamailio/modules/json.so' >/dev/null; then
  echo "bootstrap: kamailio or sipp is missing; installing Debian's packages (the SIP switch test)" >&2
  _sudo=""
  [ "$(id -u)" = 0 ] || _sudo="sudo"
  { $_sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq --no-install-recommends \
    kamailio kamailio-utils-modules kamailio-json-modules sip-tester; } >&2 ||
    { echo "bootstrap: could not install kamailio; install kamailio kamailio-utils-modules kamailio-json-modules sip-tester with apt-get" >&2; return 1 2>/dev/null || exit 1; }
  # The package enables a system-wide proxy on port 5060; the tests start their own.
  { $_sudo systemctl disable --now kamailio || $_sudo service kamailio stop; } >/dev/null 2>&1 || true
fi

for _tool in java mvn; do
  command -v "$_tool" >/dev/null 2>&1 || { echo "bootstrap: $_tool is required (Java 17+ and Maven fetch and run Kafka)" >&2; return 1 2>/dev/null || exit 1; }
done
# A virtualenv of Python tools, rebuilt from its requirements file whenever that file changes
# (a change, or another branch checked out), as npm ci does: it keeps a copy of the file.
_python_venv() {
  local venv="$1" requirements="$2" what="$3" python="" candidate
  if cmp -s "$requirements" "$venv/requirements.txt" && "$venv/bin/python" -c '' >/dev/null 2>&1; then
    return 0
  fi
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      python="$candidate"
      break
    fi
  done
  [ -n "$python" ] || { echo "bootstrap: Python 3.11+ is required ($what)" >&2; return 1; }
  echo "bootstrap: installing $requirements into $venv ($what)" >&2
  rm -rf "$venv"
  { "$python" -m venv "$venv" &&
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements" &&
    cp "$requirements" "$venv/requirements.txt"; } >&2 ||
    { echo "bootstrap: could not install $requirements into $venv (is the venv module there? apt-get install python3-venv)" >&2; return 1; }
}
_python_venv "$_root/.cache/fuzz-venv" "$_root/test/fuzz/requirements.txt" "schemathesis fuzzes the admin API" ||
  { return 1 2>/dev/null || exit 1; }
_python_venv "$_root/.cache/helm-venv" "$_root/deploy/helm/requirements.txt" "kubernetes-validate checks the Helm chart" ||
  { return 1 2>/dev/null || exit 1; }
unset -f _python_venv
unset _root _need_install _sudo _tool _service
