#!/usr/bin/env bash
# demo.sh - a bounded demo of the controller: start kubesim (the API server
# simulator, kubelet delay 0) and agent-sandbox-controller from build/bin,
# create N Sandboxes at once (default 200), wait until every one is Ready,
# print the rate and the API writes per launch (counted by kubesim's
# kubesim_requests_total for the controller's client, not by the controller),
# stop both. Exit 0, or non-zero with the reason on stderr.
#
#   bench/demo.sh [N]            env: BUILD=build  DEMO_TIMEOUT_S=120
#                                     DEMO_SHARDS (default: online CPUs)
#                                     DEMO_KEEP=1 keeps the logs and cache in $TMPDIR
set -euo pipefail

N=${1:-${DEMO_N:-200}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BUILD:-$ROOT/build}/bin
TIMEOUT_S=${DEMO_TIMEOUT_S:-120}

die() { echo "demo: $*" >&2; exit 1; }

case "$N" in '' | *[!0-9]*) die "N must be a positive integer, got '$N'" ;; esac
[ "$N" -gt 0 ] || die "N must be > 0"
for b in kubesim agent-sandbox-controller; do
  [ -x "$BIN/$b" ] || die "$BIN/$b is missing (build first: cmake --build build)"
done
command -v python3 >/dev/null || die "python3 is required (bash .ci/deps installs it)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/asc-demo.XXXXXX")
SIM_PID=""
CTL_PID=""
cleanup() {
  [ -n "$CTL_PID" ] && kill -TERM "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null || true
  [ -n "$SIM_PID" ] && kill -TERM "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  if [ -n "${DEMO_KEEP:-}" ]; then echo "demo: logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
show_logs() {
  echo "--- controller log (tail) ---" >&2; tail -n 20 "$TMP/controller.log" >&2 || true
  echo "--- kubesim log (tail) ---" >&2; tail -n 20 "$TMP/kubesim.log" >&2 || true
}

# 1. kubesim on a free port; it prints "ready <url>" once it serves.
"$BIN/kubesim" --port 0 --kubeconfig-out "$TMP/kubeconfig" >"$TMP/kubesim.out" \
  2>"$TMP/kubesim.log" &
SIM_PID=$!
URL=""
for _ in $(seq 300); do
  URL=$(sed -n 's/^ready //p' "$TMP/kubesim.out")
  [ -n "$URL" ] && break
  kill -0 "$SIM_PID" 2>/dev/null || { show_logs; die "kubesim exited at start"; }
  sleep 0.1
done
[ -n "$URL" ] || { show_logs; die "kubesim did not become ready in 30 s"; }

# 2. the controller; ready once its caches synced.
SHARDS=()
[ -n "${DEMO_SHARDS:-}" ] && SHARDS=(--shards "$DEMO_SHARDS")
"$BIN/agent-sandbox-controller" --kubeconfig "$TMP/kubeconfig" --cache-dir "$TMP/cache" \
  --leader-elect=false --metrics-bind-address=0 --health-probe-bind-address=0 \
  "${SHARDS[@]}" >"$TMP/controller.log" 2>&1 &
CTL_PID=$!
for _ in $(seq 300); do
  grep -q '"caches synced; reconciling"' "$TMP/controller.log" && break
  kill -0 "$CTL_PID" 2>/dev/null || { show_logs; die "the controller exited at start"; }
  sleep 0.1
done
grep -q '"caches synced; reconciling"' "$TMP/controller.log" ||
  { show_logs; die "the controller did not sync in 30 s"; }
echo "demo: kubesim at $URL, controller pid $CTL_PID; creating $N Sandboxes"

# 3. create, wait, count (python3: the standard library only).
set +e
python3 - "$URL" "$N" "$TIMEOUT_S" "$CTL_PID" "$SIM_PID" <<'EOF'
import http.client, json, os, sys, threading, time, urllib.parse

url, n, timeout_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pids = {"controller": int(sys.argv[4]), "kubesim": int(sys.argv[5])}

def cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        name = [k for k, p in pids.items() if p == pid][0]
        print("demo: the %s (pid %d) exited during the run" % (name, pid), file=sys.stderr)
        sys.exit(6)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
u = urllib.parse.urlparse(url)
PATH = "/apis/agents.x-k8s.io/v1beta1/namespaces/default/sandboxes"

def conn():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)

def body(i):
    return json.dumps({
        "apiVersion": "agents.x-k8s.io/v1beta1", "kind": "Sandbox",
        "metadata": {"name": "demo-%05d" % i, "namespace": "default"},
        "spec": {"service": True, "podTemplate": {"spec": {"containers": [
            {"name": "main", "image": "busybox", "ports": [{"containerPort": 8888}]}]}}}})

errors = []
def creator(ids):
    c = conn()
    for i in ids:
        c.request("POST", PATH, body(i), {"Content-Type": "application/json",
                                          "User-Agent": "demo/1.0"})
        r = c.getresponse(); r.read()
        if r.status != 201:
            errors.append("create demo-%05d: HTTP %d" % (i, r.status))

def writes(series=None):
    c = conn(); c.request("GET", "/metrics"); text = c.getresponse().read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("kubesim_requests_total{") and \
           'client="agent-sandbox-controller"' in line and \
           any('verb="%s"' % v in line for v in ("POST", "PUT", "PATCH", "DELETE")):
            v = int(float(line.rsplit(" ", 1)[1]))
            total += v
            if series is not None:
                series[line.split("{", 1)[1].split("}", 1)[0].replace(
                    'client="agent-sandbox-controller",', "")] = v
    return total

def ready_count(c):
    c.request("GET", PATH); items = json.loads(c.getresponse().read())["items"]
    def ok(sb):
        for cd in sb.get("status", {}).get("conditions", []):
            if cd.get("type") == "Ready": return cd.get("status") == "True"
        return False
    return sum(1 for sb in items if ok(sb))

w0 = writes()
cpu0 = {k: cpu_s(p) for k, p in pids.items()}
t0 = time.monotonic()
k = 8
threads = [threading.Thread(target=creator, args=(range(j, n, k),)) for j in range(k)]
for t in threads: t.start()
for t in threads: t.join()
t_created = time.monotonic()
if errors:
    print("demo: %d creates failed, first: %s" % (len(errors), errors[0]), file=sys.stderr)
    sys.exit(3)
c = conn(); ready = 0
while time.monotonic() - t0 < timeout_s:
    ready = ready_count(c)
    if ready == n: break
    time.sleep(0.1)
t_ready = time.monotonic()
cpu = {k: cpu_s(p) - cpu0[k] for k, p in pids.items()}
if ready != n:
    print("demo: only %d of %d Sandboxes Ready after %.0f s" % (ready, n, timeout_s),
          file=sys.stderr)
    sys.exit(4)
time.sleep(1.5)  # writes still queued (none expected) land before counting
by = {}
w = writes(by) - w0
el = t_ready - t0
print("demo: %d Sandboxes created in %.2f s; all Ready %.2f s after the first create" %
      (n, t_created - t0, el))
print("demo: rate %.0f Sandboxes/s created -> Ready" % (n / el))
print("demo: CPU seconds per 1,000 launches: controller %.2f, kubesim %.2f" %
      (cpu["controller"] * 1000 / n, cpu["kubesim"] * 1000 / n))
print("demo: API writes by the controller: %d = %.2f per launch (target <= 4)" % (w, w / n))
for k in sorted(by):
    print("demo:   %-70s %d" % (k, by[k]))
if w > 4 * n:
    print("demo: WARNING: above the target of 4 writes per launch: the launches queued longer "
          "than the 1 s status settle window (a loaded machine); see the breakdown above",
          file=sys.stderr)
sys.exit(0)
EOF
rc=$?
set -e
[ $rc -eq 0 ] || { show_logs; die "failed (exit $rc; the reason is above)"; }

# 4. stop both, cleanly.
kill -TERM "$CTL_PID"
ctl_rc=0; wait "$CTL_PID" || ctl_rc=$?
CTL_PID=""
kill -TERM "$SIM_PID"
sim_rc=0; wait "$SIM_PID" || sim_rc=$?
SIM_PID=""
[ $ctl_rc -eq 0 ] || { show_logs; die "the controller exited with $ctl_rc on SIGTERM"; }
[ $sim_rc -eq 0 ] || die "kubesim exited with $sim_rc on SIGTERM"
echo "demo: controller and kubesim stopped cleanly"
