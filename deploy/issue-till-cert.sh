#!/bin/sh
# Issue the client certificate of one till machine for the Temporal frontend behind the proxy
# (mTLS, deploy/caddy/Caddyfile). The first run creates the tills' CA (deploy/tills-ca/ca.crt,
# mounted into the proxy, and ca.key: keep it off the till machines and back it up offline).
#
#   deploy/issue-till-cert.sh BER1            # -> deploy/tills-ca/tills/BER1/{till.crt,till.key}
#   DAYS=365 TILLS_CA_DIR=/secure/tills-ca deploy/issue-till-cert.sh BER1
#
# Copy till.crt and till.key to the till machine (e.g. /etc/tillflow/) and set
# TILLFLOW_TEMPORAL_TLS_CERT / TILLFLOW_TEMPORAL_TLS_KEY there. Revoking one till before its
# certificate expires means a new CA (ROTATE_CA=1) and new certificates for the other tills.
set -eu
TILL="${1:?usage: issue-till-cert.sh TILL_CODE}"
case "$TILL" in
    *[!A-Za-z0-9_-]*|"") echo "a till code is letters, digits, _ and -" >&2; exit 2 ;;
esac
DIR="${TILLS_CA_DIR:-$(dirname "$0")/tills-ca}"
DAYS="${DAYS:-825}"
CA_DAYS="${CA_DAYS:-3650}"
umask 077
mkdir -p "$DIR/tills/$TILL"

if [ ! -f "$DIR/ca.key" ] || [ "${ROTATE_CA:-0}" = 1 ]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$DIR/ca.key" -out "$DIR/ca.crt" -days "$CA_DAYS" \
        -subj "/O=tillflow/CN=tillflow tills CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
    chmod 644 "$DIR/ca.crt"
    echo "created the tills' CA in $DIR (restart the proxy: docker compose restart proxy)"
fi

OUT="$DIR/tills/$TILL"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$OUT/till.key" -out "$OUT/till.csr" -subj "/O=tillflow/OU=tills/CN=$TILL"
EXT="$OUT/till.ext"
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=clientAuth" "subjectAltName=URI:tillflow:till:$TILL" > "$EXT"
openssl x509 -req -in "$OUT/till.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
    -CAcreateserial -out "$OUT/till.crt" -days "$DAYS" -sha256 -extfile "$EXT"
rm -f "$OUT/till.csr" "$EXT"
chmod 644 "$OUT/till.crt"
echo "till $TILL: $OUT/till.crt and $OUT/till.key (valid $DAYS days)"
