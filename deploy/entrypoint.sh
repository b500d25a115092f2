#!/bin/sh
# Maps WAVE_* environment variables to wave-server flags; extra arguments pass
# through. TLS turns on when a certificate is mounted at WAVE_TLS_DIR.
set -eu
TLS_DIR=${WAVE_TLS_DIR:-/etc/wave/tls}
set -- --banks="${WAVE_BANKS}" --address="${WAVE_ADDRESS}" \
  --metrics_port="${WAVE_METRICS_PORT}" --device="${WAVE_DEVICE}" \
  --probe_address="${WAVE_PROBE_ADDRESS:-0.0.0.0:50052}" \
  ${WAVE_FIT_SLOTS:+--fit_slots="$WAVE_FIT_SLOTS"} \
  ${WAVE_EXIT_TIMEOUT:+--exit_timeout="$WAVE_EXIT_TIMEOUT"} \
  ${WAVE_AUTH_TOKEN_FILE:+--auth_token_file="$WAVE_AUTH_TOKEN_FILE"} \
  ${WAVE_CACHE_BYTES:+--cache_bytes="$WAVE_CACHE_BYTES"} \
  ${WAVE_CACHE_DIR:+--cache_dir="$WAVE_CACHE_DIR"} \
  ${WAVE_CACHE_DIR_BYTES:+--cache_dir_bytes="$WAVE_CACHE_DIR_BYTES"} \
  "$@"
if [ -f "$TLS_DIR/tls.crt" ] && [ -f "$TLS_DIR/tls.key" ]; then
  set -- --tls_cert="$TLS_DIR/tls.crt" --tls_key="$TLS_DIR/tls.key" "$@"
  if [ -f "$TLS_DIR/ca.crt" ]; then set -- --tls_client_ca="$TLS_DIR/ca.crt" "$@"; fi
fi
exec wave-server "$@"
