#!/usr/bin/env bash
# Builds backstop, reviews the bundled examples offline, then serves the webhook on
# https://127.0.0.1:8443 with a throwaway certificate (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
"$(pwd)/scripts/install-deps.sh"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
echo
echo "== backstop review: the bundled examples, decided offline =="
build/backstop review -f examples/ --cluster-state examples/cluster-state.json || true
certs=build/demo-certs
[ -f "$certs/tls.crt" ] || certs/gen-certs.sh --out "$certs" --dns localhost --ip 127.0.0.1 >/dev/null
echo
echo "== backstop serve on https://127.0.0.1:8443 (Ctrl-C to stop) =="
echo "try: curl --cacert $certs/ca.crt -H 'Content-Type: application/json' \\"
echo "       --data-binary @bench/pod-review.json https://localhost:8443/validate"
exec build/backstop serve --listen 127.0.0.1:8443 --tls-cert "$certs/tls.crt" \
  --tls-key "$certs/tls.key" --cluster-state examples/cluster-state.json
