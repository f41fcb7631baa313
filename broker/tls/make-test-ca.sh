#!/usr/bin/env bash
# Make a throw-away CA and a server certificate for the broker's TLS listener.
#   bash broker/tls/make-test-ca.sh [OUT_DIR] [SERVER_NAME...]
# For a real district use your organisation's CA; this one is for labs, tests and the demo.
set -euo pipefail
out="${1:-$(dirname "$0")}"
shift || true
names=("${@:-localhost}")
mkdir -p "$out"
cd "$out"
san="DNS:${names[0]}"
for n in "${names[@]:1}"; do san="$san,DNS:$n"; done
san="$san,IP:127.0.0.1"
if [ ! -f ca.key ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Kentongan test CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
fi
openssl req -newkey rsa:2048 -nodes -subj "/CN=${names[0]}" -keyout server.key -out server.csr \
  2>/dev/null
printf "subjectAltName=%s\nextendedKeyUsage=serverAuth\n" "$san" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
  -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext
chmod 600 ca.key server.key
echo "wrote $out/ca.crt, $out/server.crt and $out/server.key"
