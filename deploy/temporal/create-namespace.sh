#!/bin/sh
# One-shot (service temporal-namespace): register tillflow's namespace once, with its retention
# (how long closed workflow histories are kept). Follows Temporal's own compose setup
# (temporalio/samples-server, compose/scripts/create-namespace.sh).
set -eu
NAMESPACE="${NAMESPACE:-default}"
RETENTION="${RETENTION:-720h}"
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"

attempt=1
until temporal operator cluster health --address "$ADDRESS"; do
    [ "$attempt" -ge 30 ] && { echo "Temporal is not healthy at $ADDRESS"; exit 1; }
    attempt=$((attempt + 1)); sleep 5
done
if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE is there already"
else
    temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
        --address "$ADDRESS"
    echo "namespace $NAMESPACE created (retention $RETENTION)"
fi
# tillflow's keyword search attributes (contracts/common.py SEARCH_ATTRIBUTES), once, here: the API
# replicas and the workers start together and would otherwise race to add them.
temporal operator search-attribute create --namespace "$NAMESPACE" --address "$ADDRESS" \
    --type Keyword --name TillflowStore --name TillflowTill --name TillflowChannel \
    --name TillflowOrder || echo "the search attributes are there already"
