#!/usr/bin/env bash
# Regenerates the sandbox's certificate authority and certificates in sandbox/certs/.
#
# These keys exist only so that the local sandbox (scripts/sandbox.sh and docker-compose.yml)
# speaks verified TLS. They are committed on purpose, like OpenSearch's own demo certificates,
# and must never be trusted by anything but the sandbox. Valid for ten years.
set -euo pipefail
cd "$(dirname "$0")/../sandbox/certs"
days=3650
subj_base="/O=osaccess/OU=osaccess sandbox"

openssl genrsa -out ca-key.pem 2048 2>/dev/null
openssl req -new -x509 -sha256 -days "$days" -key ca-key.pem -out ca.pem \
  -subj "$subj_base/CN=osaccess sandbox CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

issue() { # name, CN, extended key usage, subjectAltName (or empty)
  local name=$1 cn=$2 eku=$3 san=$4 ext
  ext=$(mktemp)
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } > "$ext"
  openssl genrsa -out "$name-key.tmp" 2048 2>/dev/null
  # The security plugin wants PKCS#8 keys.
  openssl pkcs8 -topk8 -nocrypt -in "$name-key.tmp" -out "$name-key.pem"
  rm -f "$name-key.tmp"
  openssl req -new -key "$name-key.pem" -subj "$subj_base/CN=$cn" -out "$name.csr"
  openssl x509 -req -sha256 -days "$days" -in "$name.csr" -CA ca.pem -CAkey ca-key.pem \
    -CAcreateserial -extfile "$ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$ext"
}

issue node sandbox-node "serverAuth,clientAuth" "DNS:localhost,DNS:opensearch,IP:127.0.0.1"
issue gateway sandbox-gateway "serverAuth" "DNS:localhost,DNS:gateway,IP:127.0.0.1"
issue admin sandbox-admin "clientAuth" ""
issue operator sandbox-operator "clientAuth" ""
rm -f ca.srl ca-key.pem  # nothing else is ever signed with it
chmod 644 ./*.pem
echo "sandbox certificates written to $(pwd)"
