#!/usr/bin/env bash
# Admission throughput and latency of `backstop serve` against nginx (the ceiling: TLS on
# loopback answering a fixed AdmissionReview), both measured by wrk in the same run.
#
#   bench/admission.sh [--duration SECONDS] [--connections "1 64 256"] [--idle-connections N]
#
# Needs build/backstop (Release) and wrk + nginx (scripts/install-deps.sh --bench).
# Prints one row per connection count: req/s, p50, p99 of each and the ratios; then the CPU
# each server burns holding N mostly idle keep-alive connections (one request a second each).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
duration=10
conns="1 64 256"
idle_conns=256
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --idle-connections) idle_conns=$2; shift 2 ;;
    *) echo "usage: $0 [--duration SECONDS] [--connections \"1 64 256\"] [--idle-connections N]" >&2; exit 2 ;;
  esac
done
for tool in wrk nginx openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh --bench" >&2; exit 2; }
done
bin="$root/build/backstop"
[ -x "$bin" ] || { echo "missing $bin: build it first (see README)" >&2; exit 2; }

work=$(mktemp -d /tmp/backstop-bench.XXXXXX)
pids=()
cleanup() {
  # nginx removes its pid file as it exits: read it before anything is killed.
  local npid
  npid=$(cat "$work/nginx.pid" 2>/dev/null || true)
  [ -n "$npid" ] && kill "$npid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A realistic pod AdmissionReview: a real GKE capture when the fixtures are beside the
# checkout, otherwise the bundled example.
body="$root/../shared/fixtures/admission/kube-rs_gke_v1_pod_create_wire.json"
[ -f "$body" ] || body="$root/bench/pod-review.json"
export BODY_FILE="$body"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

bport=18443
nport=18444
"$bin" serve --listen "127.0.0.1:$bport" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" \
  --log-level warn --shutdown-delay 0 >"$work/backstop.log" 2>&1 &
pids+=($!)

# nginx answers what backstop answers for this review (allowed, uid echoed).
uid=$(grep -o '"uid": *"[^"]*"' "$body" | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
answer="{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":\"$uid\",\"allowed\":true}}"
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_max_body_size 8m;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:$nport ssl;
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      default_type application/json;
      return 200 '$answer';
    }
  }
}
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)

for port in $bport $nport; do
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null "https://127.0.0.1:$port/healthz" && break
    sleep 0.1
  done
done
# Both answer the same review.
curl -sk -H 'Content-Type: application/json' --data-binary @"$body" "https://127.0.0.1:$bport/validate" >"$work/b.json"
curl -sk -H 'Content-Type: application/json' --data-binary @"$body" "https://127.0.0.1:$nport/validate" >"$work/n.json"
grep -q '"allowed":true' "$work/b.json" || { echo "backstop did not answer: $(cat "$work/b.json")" >&2; exit 1; }

run() {  # run PORT CONNS -> "rps p50_ms p99_ms"
  local port=$1 c=$2 threads=2
  [ "$c" -lt 2 ] && threads=1
  wrk -t"$threads" -c"$c" -d"${duration}s" --latency -s "$here/post.lua" \
    "https://127.0.0.1:$port/validate?timeout=10s" >"$work/wrk.out" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps=$2 }
    $1=="50%" { p50=ms($2) }
    $1=="99%" { p99=ms($2) }
    / Non-2xx/ { bad=$NF }
    END { printf "%.0f %.3f %.3f %s\n", rps, p50, p99, (bad==""?0:bad) }' "$work/wrk.out"
}

echo "backstop vs nginx: TLS keep-alive on loopback, POST of $(basename "$body") ($(wc -c <"$body") bytes), ${duration}s per run, $(nproc) cores"
printf "%-6s | %11s %9s %9s | %11s %9s %9s | %9s %10s %10s\n" conns "backstop/s" "p50 ms" "p99 ms" "nginx/s" "p50 ms" "p99 ms" "tput x" "p50 +ms" "p99 x"
for c in $conns; do
  read -r brps bp50 bp99 bbad < <(run $bport "$c")
  read -r nrps np50 np99 nbad < <(run $nport "$c")
  awk -v c="$c" -v br="$brps" -v b5="$bp50" -v b9="$bp99" -v nr="$nrps" -v n5="$np50" -v n9="$np99" \
    'BEGIN { printf "%-6s | %11d %9.3f %9.3f | %11d %9.3f %9.3f | %9.2f %+10.3f %10.2f\n", c, br, b5, b9, nr, n5, n9, (nr>0?br/nr:0), b5-n5, (n9>0?b9/n9:0) }'
  [ "$bbad" = "0" ] || echo "  warning: backstop returned $bbad non-2xx answers" >&2
done

# Idle cost: CPU time (user + system, all threads or worker processes) per second of wall
# time while idle_conns connections each send one review a second.
cpu_ms() {  # cpu_ms PID... -> milliseconds of CPU used so far
  local ticks=0 t p
  for p in "$@"; do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    ticks=$((ticks + t))
  done
  echo $((ticks * 1000 / $(getconf CLK_TCK)))
}
idle() {  # idle PORT PID... -> CPU ms per second
  local port=$1; shift
  local before after
  before=$(cpu_ms "$@")
  wrk -t1 -c"$idle_conns" -d"${duration}s" -s "$here/idle.lua" \
    "https://127.0.0.1:$port/validate?timeout=10s" >/dev/null 2>&1
  after=$(cpu_ms "$@")
  echo $(((after - before) / duration))
}
if [ "$idle_conns" -gt 0 ]; then
  nmaster=$(cat "$work/nginx.pid")
  bidle=$(idle $bport "${pids[0]}")
  # shellcheck disable=SC2046
  nidle=$(idle $nport "$nmaster" $(pgrep -P "$nmaster"))
  echo "idle: $idle_conns keep-alive connections, one request a second each, ${duration}s:" \
    "backstop ${bidle} ms CPU/s, nginx ${nidle} ms CPU/s"
fi
