#!/bin/sh
# Container entrypoint: the first argument picks the program.
#   broker [flags]   excerpt-broker with /etc/excerpt/broker.conf
#   worker [flags]   excerpt-worker with /etc/excerpt/worker.conf
#   excerpt ARGS     the CLI (submit, get, stats, tail, ...)
#   anything else    run as a command (e.g. sh for debugging)
# Environment variables EXCERPT_BROKER_<KEY> / EXCERPT_WORKER_<KEY> override
# the file; flags given here override both.
set -eu

conf_flag() {
    if [ -r "/etc/excerpt/$1.conf" ]; then
        printf '%s\n' "--config=/etc/excerpt/$1.conf"
    fi
}

cmd="${1:-broker}"
[ "$#" -gt 0 ] && shift

case "$cmd" in
broker)
    # shellcheck disable=SC2046
    exec /usr/local/bin/excerpt-broker $(conf_flag broker) "$@"
    ;;
worker)
    # shellcheck disable=SC2046
    exec /usr/local/bin/excerpt-worker $(conf_flag worker) "$@"
    ;;
excerpt | cli)
    exec /usr/local/bin/excerpt "$@"
    ;;
-h | --help | help)
    sed -n '2,9p' "$0"
    ;;
*)
    exec "$cmd" "$@"
    ;;
esac
