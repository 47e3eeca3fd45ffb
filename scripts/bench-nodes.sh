#!/usr/bin/env bash
# Tickets through the service, one node against two, on PostgreSQL, with each node's CPU capped:
# a node on a machine of its own, whose CPU is the limit, as in production. On one small box the
# nodes, the database and the client share the cores, so without the cap a second node only adds
# CPU demand to a box already full (README, "Speed"); with it, what two nodes create over one shows
# whether anything between them (the database, the ticket numbers) still makes them take turns.
#
#   HOTLINE_DATABASE='postgres://…' scripts/bench-nodes.sh [--quota 25] [--duration 10s] 1 2 2 1 …
#
# The database must be one the script may write to (a user "bench" is added to it, tickets pile
# up run after run). Each argument is one run with that many nodes (1 or 2): the nodes are started
# (ports 18482 and 18483), each in a CPU cgroup of its own capped at --quota percent of one core
# (cgroup v2's cpu.max, or v1's cpu.cfs_quota_us; root), `hotline bench tickets` drives them with 8
# clients a node for --duration, and the nodes are stopped. One line a run: nodes, created/s, p99,
# the nodes' CPU a ticket. Give the runs alternating (1 2 2 1 1 2 2 1): a shared box drifts.
set -euo pipefail
cd "$(dirname "$0")/.."

quota=25
duration=10s
while [ $# -gt 0 ]; do
  case $1 in
  --quota) quota=$2; shift 2 ;;
  --duration) duration=$2; shift 2 ;;
  -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
  *) break ;;
  esac
done
: "${HOTLINE_DATABASE:?set HOTLINE_DATABASE to a PostgreSQL database the bench may write to}"
[ $# -gt 0 ] || { echo "usage: $0 [--quota PCT] [--duration 10s] NODES…  (each 1 or 2)" >&2; exit 2; }

work=$(mktemp -d)
pids=()
groups=()
stop() { # stop PID…: the nodes, and waits until they have exited (they are not this shell's children)
  kill "$@" 2>/dev/null || true
  for p in "$@"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
}
cleanup() {
  [ ${#pids[@]} -eq 0 ] || stop "${pids[@]}"
  for g in "${groups[@]:-}"; do [ -z "$g" ] || rmdir "$g" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/hotline" ./cmd/hotline
hl=$work/hotline

# One CPU cgroup a node, capped at quota% of one core.
for n in 1 2; do
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then # v2: the cpu controller must be on for children
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
    g=/sys/fs/cgroup/hotline-bench-$n
    mkdir -p "$g"
    echo "$((quota * 1000)) 100000" >"$g/cpu.max"
  else # v1
    g=/sys/fs/cgroup/cpu/hotline-bench-$n
    mkdir -p "$g"
    echo 100000 >"$g/cpu.cfs_period_us"
    echo "$((quota * 1000))" >"$g/cpu.cfs_quota_us"
  fi
  groups+=("$g")
done

echo 'bench-password-not-for-use' | "$hl" user add --database "$HOTLINE_DATABASE" --role operator bench >/dev/null 2>&1 || true
token=$("$hl" user token --database "$HOTLINE_DATABASE" --ttl 24h --label bench-nodes bench 2>/dev/null)

start() { # start N: node N in its cgroup, on port 18481+N; prints its pid
  local port=$((18481 + $1))
  mkdir -p "$work/data$1"
  sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' - "${groups[$(($1 - 1))]}" \
    "$hl" serve --addr "127.0.0.1:$port" --data "$work/data$1" --drain 0 --max-conns-per-ip -1 >"$work/node$1.log" 2>&1 &
  echo $!
}
ready() { # ready N: waits for node N's /readyz
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$((18481 + $1))/readyz" >/dev/null && return 0
    sleep 0.2
  done
  echo "node $1 not ready:" >&2
  cat "$work/node$1.log" >&2
  exit 1
}

for nodes in "$@"; do
  urls=() pids=()
  for n in $(seq "$nodes"); do
    pids+=("$(start "$n")")
    ready "$n"
    urls+=("http://127.0.0.1:$((18481 + n))")
  done
  out=$("$hl" bench tickets --token "$token" --url "$(IFS=,; echo "${urls[*]}")" --clients $((8 * nodes)) \
    --duration "$duration" --pid "$(IFS=,; echo "${pids[*]}")")
  get() { awk -v k="$1" '$1 == k { print $2 }' <<<"$out"; }
  echo "nodes $nodes  quota ${quota}%  created/s $(get created_per_second)  p99 $(get latency_p99_ms) ms  errors $(get errors)  node CPU $(get server_cpu_ms_per_ticket) ms/ticket  load $(cut -d' ' -f1 /proc/loadavg)"
  stop "${pids[@]}"
  pids=()
done
