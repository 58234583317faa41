#!/usr/bin/env bash
# Creates a throwaway ECDSA P-256 certificate authority and a serving certificate for the
# backstop webhook Service, for clusters without cert-manager.
#
# Writes into the output directory:
#   ca.crt   the CA certificate (its base64 is the webhook configurations' caBundle)
#   tls.crt  the serving certificate, signed by the CA
#   tls.key  the serving certificate's private key (mode 0600)
# The CA's private key is deleted when the script ends: to rotate, run again with --force
# and re-apply (the Secret and the caBundle change together).
#
# The serving certificate names <service>.<namespace>.svc and
# <service>.<namespace>.svc.cluster.local, plus every --dns and --ip given.
#
# Usage: certs/gen-certs.sh [options]
#   --out DIR            output directory (default: manifests/overlays/self-signed/tls
#                        beside this script, which the self-signed overlay reads)
#   --service NAME       Service name (default: backstop)
#   --namespace NAME     Service namespace (default: backstop-system)
#   --dns NAME           extra DNS subjectAltName (repeatable)
#   --ip ADDRESS         extra IP subjectAltName (repeatable)
#   --days N             serving certificate validity in days (default: 365)
#   --ca-days N          CA validity in days (default: 3650)
#   --force              overwrite existing ca.crt, tls.crt, tls.key
#   --print-ca-bundle    after writing, print base64(ca.crt) on one line to stdout
#   --ca-bundle-only     only print base64(ca.crt) of an existing output directory
#   -h, --help           this text
# Progress goes to stderr; stdout carries only the caBundle when asked for.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${script_dir}/../manifests/overlays/self-signed/tls"
service="backstop"
namespace="backstop-system"
extra_dns=()
extra_ips=()
days=365
ca_days=3650
force=0
print_bundle=0
bundle_only=0

die() {
  echo "gen-certs: $*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

need_value() {
  if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --out) need_value "$@"; out_dir="$2"; shift 2 ;;
    --service) need_value "$@"; service="$2"; shift 2 ;;
    --namespace) need_value "$@"; namespace="$2"; shift 2 ;;
    --dns) need_value "$@"; extra_dns+=("$2"); shift 2 ;;
    --ip) need_value "$@"; extra_ips+=("$2"); shift 2 ;;
    --days) need_value "$@"; days="$2"; shift 2 ;;
    --ca-days) need_value "$@"; ca_days="$2"; shift 2 ;;
    --force) force=1; shift ;;
    --print-ca-bundle) print_bundle=1; shift ;;
    --ca-bundle-only) bundle_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

command -v openssl >/dev/null 2>&1 || die "openssl not found on PATH"

print_ca_bundle() {
  # base64 of the PEM file, one line: the format of webhooks[].clientConfig.caBundle.
  openssl base64 -A -in "$1"
  echo
}

if [ "$bundle_only" -eq 1 ]; then
  [ -r "${out_dir}/ca.crt" ] || die "${out_dir}/ca.crt not found (generate it first)"
  print_ca_bundle "${out_dir}/ca.crt"
  exit 0
fi

# DNS-1123 label: what Kubernetes accepts for Service and Namespace names.
label_re='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
[[ "$service" =~ $label_re ]] || die "invalid service name: ${service}"
[[ "$namespace" =~ $label_re ]] || die "invalid namespace name: ${namespace}"
dns_re='^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$'
for d in "${extra_dns[@]+"${extra_dns[@]}"}"; do
  [[ "$d" =~ $dns_re ]] || die "invalid DNS name: ${d}"
done
ip_re='^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$'
for ip in "${extra_ips[@]+"${extra_ips[@]}"}"; do
  [[ "$ip" =~ $ip_re ]] || die "invalid IP address: ${ip}"
done
[[ "$days" =~ ^[1-9][0-9]{0,4}$ ]] || die "invalid --days: ${days}"
[[ "$ca_days" =~ ^[1-9][0-9]{0,4}$ ]] || die "invalid --ca-days: ${ca_days}"

outputs=(ca.crt tls.crt tls.key)
if [ "$force" -ne 1 ]; then
  existing=()
  for f in "${outputs[@]}"; do
    if [ -e "${out_dir}/${f}" ]; then existing+=("${out_dir}/${f}"); fi
  done
  if [ "${#existing[@]}" -gt 0 ]; then
    die "refusing to overwrite ${existing[*]} (use --force to replace them)"
  fi
fi

mkdir -p "$out_dir"
umask 077
work="$(mktemp -d "${out_dir}/.gen-certs.XXXXXX")"
trap 'rm -rf "$work"' EXIT

primary="${service}.${namespace}.svc"
san="DNS:${primary},DNS:${primary}.cluster.local"
for d in "${extra_dns[@]+"${extra_dns[@]}"}"; do san="${san},DNS:${d}"; done
for ip in "${extra_ips[@]+"${extra_ips[@]}"}"; do san="${san},IP:${ip}"; done

# One self-contained config: nothing from the system openssl.cnf leaks in.
cat >"${work}/openssl.cnf" <<EOF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_serving ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = ${san}
EOF

serial() { echo "0x$(openssl rand -hex 16)"; }

echo "gen-certs: creating CA and serving certificate for ${primary}" >&2
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${work}/ca.key" 2>/dev/null
openssl req -config "${work}/openssl.cnf" -new -x509 -key "${work}/ca.key" -sha256 \
  -days "$ca_days" -set_serial "$(serial)" -subj "/CN=${service}-ca.${namespace}" \
  -extensions v3_ca -out "${work}/ca.crt"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${work}/tls.key" 2>/dev/null
openssl req -config "${work}/openssl.cnf" -new -key "${work}/tls.key" -sha256 \
  -subj "/CN=${primary}" -out "${work}/tls.csr"
openssl x509 -req -in "${work}/tls.csr" -CA "${work}/ca.crt" -CAkey "${work}/ca.key" -sha256 \
  -days "$days" -set_serial "$(serial)" -extfile "${work}/openssl.cnf" -extensions v3_serving \
  -out "${work}/tls.crt" 2>/dev/null

openssl verify -CAfile "${work}/ca.crt" -purpose sslserver -verify_hostname "$primary" \
  "${work}/tls.crt" >/dev/null || die "generated certificate does not verify"

chmod 0644 "${work}/ca.crt" "${work}/tls.crt"
chmod 0600 "${work}/tls.key"
for f in "${outputs[@]}"; do mv -f "${work}/${f}" "${out_dir}/${f}"; done
echo "gen-certs: wrote ${out_dir}/{ca.crt,tls.crt,tls.key} (SANs: ${san})" >&2

if [ "$print_bundle" -eq 1 ]; then print_ca_bundle "${out_dir}/ca.crt"; fi
