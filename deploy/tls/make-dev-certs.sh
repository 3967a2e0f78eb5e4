#!/bin/sh
# Creates development TLS material for Caravan in DIR (docs/SECURITY.md):
#
#   ca.crt / ca.key                        the development CA: signs every server
#                                          certificate and the CLI's client certificate
#   service-client-ca.crt / .key           a second CA that signs only the gateway's
#                                          (and the probes') client certificates; the
#                                          services take it as --tls-client-ca, so
#                                          nobody but the gateway gets past their TLS
#   trade|logistics|training|gateway.crt/.key   server certificates
#   gateway-client.crt / .key              the gateway's client certificate (to the services)
#   probe.crt / .key                       for health probes of the services
#   cli.crt / .key                         a client certificate for `caravan`, for a
#                                          gateway started with --tls-client-ca ca.crt
#
# Server certificates name localhost, 127.0.0.1, ::1, the service's DNS names
# (trade, trade-replicas, trade.caravan.svc(.cluster.local), caravan-trade) and
# caravan-backend, the one name a gateway dialling replicas by IP checks with
# --backend-tls-server-name caravan-backend. CARAVAN_CERT_EXTRA_SANS adds more
# (e.g. "DNS:trade.example.org,IP:10.0.0.5"). Keys are EC P-256, readable by
# the owner only. Development only: the CA keys sit beside the certificates.
#
# Usage: deploy/tls/make-dev-certs.sh DIR [DAYS]
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 DIR [DAYS]" >&2
    exit 64
fi
dir=$1
days=${2:-365}
case $days in
    '' | *[!0-9]*) echo "DAYS must be a whole number; got '$days'" >&2; exit 64 ;;
esac
command -v openssl >/dev/null 2>&1 || { echo "openssl is needed (apt-get install openssl)" >&2; exit 69; }

mkdir -p "$dir"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$1.key" 2>/dev/null; }

# ca NAME SUBJECT
ca() {
    key "$1"
    openssl req -x509 -new -key "$dir/$1.key" -sha256 -days "$days" -subj "/O=Caravan development/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/$1.crt"
}

# leaf NAME ISSUER EXTENDED_KEY_USAGE SUBJECT_ALT_NAMES
leaf() {
    key "$1"
    openssl req -new -key "$dir/$1.key" -subj "/O=Caravan development/CN=$1" -out "$work/$1.csr"
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$3"
        if [ -n "$4" ]; then echo "subjectAltName=$4"; fi
    } >"$work/$1.ext"
    openssl x509 -req -in "$work/$1.csr" -CA "$dir/$2.crt" -CAkey "$dir/$2.key" -CAcreateserial \
        -CAserial "$work/$2.srl" -days "$days" -sha256 -extfile "$work/$1.ext" -out "$dir/$1.crt" 2>/dev/null
}

ca ca "Caravan development CA"
ca service-client-ca "Caravan service-client CA"

extra=${CARAVAN_CERT_EXTRA_SANS:-}
for service in trade logistics training gateway; do
    sans="DNS:localhost,IP:127.0.0.1,IP:::1,DNS:$service,DNS:$service-replicas,DNS:$service.caravan.svc"
    sans="$sans,DNS:$service.caravan.svc.cluster.local,DNS:caravan-$service,DNS:caravan-backend"
    if [ -n "$extra" ]; then sans="$sans,$extra"; fi
    leaf "$service" ca serverAuth "$sans"
done
leaf gateway-client service-client-ca clientAuth "DNS:caravan-gateway"
leaf probe service-client-ca clientAuth ""
leaf cli ca clientAuth ""

chmod 600 "$dir"/*.key
chmod 644 "$dir"/*.crt
echo "Development certificates in $dir (valid $days days)."
