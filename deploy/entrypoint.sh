#!/bin/sh
# Maps WAVE_* environment variables to wave-server flags; extra arguments pass
# through. TLS turns on when a certificate is mounted at WAVE_TLS_DIR, tokens
# when WAVE_AUTH_TOKEN_FILE exists (both Secrets are optional mounts). With
# neither, a server listening beyond loopback refuses to start unless
# WAVE_INSECURE=1.
set -eu
TLS_DIR=${WAVE_TLS_DIR:-/etc/wave/tls}
set -- --banks="${WAVE_BANKS}" --address="${WAVE_ADDRESS}" \
  --metrics_port="${WAVE_METRICS_PORT}" --device="${WAVE_DEVICE}" \
  --probe_address="${WAVE_PROBE_ADDRESS:-0.0.0.0:50052}" \
  ${WAVE_FIT_SLOTS:+--fit_slots="$WAVE_FIT_SLOTS"} \
  ${WAVE_EXIT_TIMEOUT:+--exit_timeout="$WAVE_EXIT_TIMEOUT"} \
  ${WAVE_CACHE_BYTES:+--cache_bytes="$WAVE_CACHE_BYTES"} \
  ${WAVE_CACHE_DIR:+--cache_dir="$WAVE_CACHE_DIR"} \
  ${WAVE_CACHE_DIR_BYTES:+--cache_dir_bytes="$WAVE_CACHE_DIR_BYTES"} \
  "$@"
if [ -n "${WAVE_AUTH_TOKEN_FILE:-}" ] && [ -f "$WAVE_AUTH_TOKEN_FILE" ]; then
  set -- --auth_token_file="$WAVE_AUTH_TOKEN_FILE" "$@"
fi
if [ "${WAVE_INSECURE:-0}" = 1 ]; then set -- --insecure "$@"; fi
if [ -f "$TLS_DIR/tls.crt" ] && [ -f "$TLS_DIR/tls.key" ]; then
  set -- --tls_cert="$TLS_DIR/tls.crt" --tls_key="$TLS_DIR/tls.key" "$@"
  if [ -f "$TLS_DIR/ca.crt" ]; then set -- --tls_client_ca="$TLS_DIR/ca.crt" "$@"; fi
fi
exec wave-server "$@"
