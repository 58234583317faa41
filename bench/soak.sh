#!/usr/bin/env bash
# Soak: `backstop serve` under a steady mix of allowed, denied and patched admission
# reviews for a while, watching for errors and for memory or threads that keep growing.
#
#   bench/soak.sh [minutes]        (default 10)
#
# Serves with a throwaway certificate (certs/gen-certs.sh) and --cluster-state
# examples/cluster-state.json on a loopback port, and sends with wrk the AdmissionReviews
# built from examples/ and ../shared/fixtures (admission reviews, jobs, pods) to /validate,
# and Jobs also to /mutate. Each review is sent once first; its answer (allowed, denied or
# patched) is what every later answer to it must be. Every 30 s it prints the requests and
# errors of that interval (non-200, socket errors, answers that are no AdmissionReview for a
# known uid, unexpected outcomes) and the server's RSS and thread count (from /proc). At the
# end: RSS growth from the first sample (after 30 s of load) to the last, and PASS when there
# were 0 errors and RSS grew by less than 5 %, else FAIL (exit 1).
#
# Knobs (environment): SOAK_CONNECTIONS (8) keep-alive connections, SOAK_DELAY_MS (10) pause
# of each connection between requests, SOAK_INTERVAL (30) seconds between reports.
# Needs build/backstop (built in Release when missing), wrk, curl, openssl and Debian's
# python3 with python3-yaml (scripts/install-deps.sh --bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
minutes=${1:-10}
case "$minutes" in
  '' | *[!0-9]*) echo "usage: $0 [minutes]" >&2; exit 2 ;;
esac
[ "$minutes" -ge 1 ] || { echo "usage: $0 [minutes] (at least 1)" >&2; exit 2; }
connections=${SOAK_CONNECTIONS:-8}
delay_ms=${SOAK_DELAY_MS:-10}
interval=${SOAK_INTERVAL:-30}
python=/usr/bin/python3
for tool in wrk curl openssl "$python"; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh --bench" >&2; exit 2; }
done
"$python" -c 'import yaml' 2>/dev/null || { echo "missing python3-yaml: run scripts/install-deps.sh --bench" >&2; exit 2; }

bin="$root/build/backstop"
if [ ! -x "$bin" ]; then
  echo "building $bin (Release)" >&2
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" -j2 --target backstop >/dev/null
fi

work=$(mktemp -d /tmp/backstop-soak.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$root/certs/gen-certs.sh" --out "$work/certs" --dns localhost --ip 127.0.0.1 --days 2 2>/dev/null
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" --tls-cert "$work/certs/tls.crt" \
  --tls-key "$work/certs/tls.key" --cluster-state "$root/examples/cluster-state.json" \
  --log-level warn --shutdown-delay 0 >"$work/backstop.log" 2>&1 &
server=$!
url="https://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -s --cacert "$work/certs/ca.crt" -o /dev/null "$url/readyz" && break
  kill -0 "$server" 2>/dev/null || { echo "backstop exited: $(cat "$work/backstop.log")" >&2; exit 1; }
  sleep 0.1
done

# The reviews, and what each is answered with.
mkdir -p "$work/reviews"
sources=("$root/examples")
for d in admission jobs pods; do
  [ -d "$root/../shared/fixtures/$d" ] && sources+=("$root/../shared/fixtures/$d")
done
"$python" "$here/soak_reviews.py" "$work/reviews" "${sources[@]}" >"$work/list.tsv"
: >"$work/requests.tsv"
while IFS=$'\t' read -r path file uid; do
  code=$(curl -s --cacert "$work/certs/ca.crt" -o "$work/answer.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary @"$file" "$url$path?timeout=10s")
  if [ "$code" != 200 ]; then
    echo "skipping $(basename "$file") on $path: HTTP $code $(head -c 200 "$work/answer.json")" >&2
    continue
  fi
  if grep -q '"allowed":false' "$work/answer.json"; then
    class=denied
  elif grep -q '"patch":' "$work/answer.json"; then
    class=patched
  else
    class=allowed
  fi
  printf '%s\t%s\t%s\t%s\n' "$path" "$file" "$uid" "$class" >>"$work/requests.tsv"
done <"$work/list.tsv"
for class in allowed denied patched; do
  n=$(cut -f4 "$work/requests.tsv" | grep -c "^$class$" || true)
  [ "$n" -gt 0 ] || { echo "no $class review among the sources" >&2; exit 1; }
done
mix=$(cut -f4 "$work/requests.tsv" | sort | uniq -c | awk '{printf "%s%d %s", (NR>1?", ":""), $1, $2}')
echo "soak: backstop serve on $url, --cluster-state examples/cluster-state.json, $(nproc) cores"
echo "soak: $(wc -l <"$work/requests.tsv") distinct requests ($mix), sent in turn allowed/denied/patched;" \
  "$connections keep-alive connections, ${delay_ms} ms pause each; ${minutes} min, a report every ${interval} s"

sample() {  # sample -> "rss_kb threads"
  awk '/^VmRSS:/ { rss=$2 } /^Threads:/ { thr=$2 } END { print rss, thr }' "/proc/$server/status"
}
printf '%8s %9s %8s %7s %9s %9s %9s %9s %8s %8s\n' time requests "req/s" errors allowed denied patched "p99 ms" "RSS MiB" threads
total=0
errors=0
first_rss=""
rss=0
elapsed=0
while [ "$elapsed" -lt $((minutes * 60)) ]; do
  left=$((minutes * 60 - elapsed))
  chunk=$interval
  [ "$left" -lt "$chunk" ] && chunk=$left
  REQUESTS_FILE="$work/requests.tsv" DELAY_MS="$delay_ms" \
    wrk -t2 -c"$connections" -d"${chunk}s" --timeout 10s -s "$here/soak.lua" "$url" >"$work/wrk.out" 2>&1 || true
  line=$(grep '^SOAK ' "$work/wrk.out" || true)
  if [ -z "$line" ]; then
    echo "wrk failed: $(cat "$work/wrk.out")" >&2
    errors=$((errors + 1))
    break
  fi
  get() { echo "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
  n=$(get requests)
  e=$(($(get status) + $(get undecodable) + $(get unexpected) + $(get socket)))
  total=$((total + n))
  errors=$((errors + e))
  elapsed=$((elapsed + chunk))
  if ! kill -0 "$server" 2>/dev/null; then
    echo "backstop exited during the soak: $(tail -5 "$work/backstop.log")" >&2
    errors=$((errors + 1))
    break
  fi
  read -r rss threads < <(sample)
  [ -z "$first_rss" ] && first_rss=$rss
  printf '%7ss %9d %8.0f %7d %9d %9d %9d %9.2f %8.1f %8d\n' "$elapsed" "$n" "$(echo "$n $chunk" | awk '{print $1/$2}')" \
    "$e" "$(get allowed)" "$(get denied)" "$(get patched)" "$(get p99_us | awk '{print $1/1000}')" \
    "$(echo "$rss" | awk '{print $1/1024}')" "$threads"
  if [ "$e" -gt 0 ]; then echo "  $line" >&2; grep -E "errors|Non-2xx" "$work/wrk.out" >&2 || true; fi
done

growth=$(awk -v a="${first_rss:-0}" -v b="$rss" 'BEGIN { if (a > 0) printf "%.2f", (b - a) * 100 / a; else print "nan" }')
verdict=FAIL
if [ "$errors" -eq 0 ] && awk -v g="$growth" 'BEGIN { exit !(g != "nan" && g < 5) }'; then verdict=PASS; fi
echo "soak: ${elapsed} s, $total requests, $errors errors; RSS first $(awk -v a="${first_rss:-0}" 'BEGIN{printf "%.1f", a/1024}') MiB," \
  "last $(awk -v a="$rss" 'BEGIN{printf "%.1f", a/1024}') MiB, growth ${growth} %; $verdict (0 errors and RSS growth < 5 %)"
[ "$verdict" = PASS ]
