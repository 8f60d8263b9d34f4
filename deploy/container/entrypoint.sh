#!/bin/sh
# Container entrypoint: the first argument picks the program.
#   broker [flags]   excerpt-broker with /etc/excerpt/broker.conf
#   worker [flags]   excerpt-worker with /etc/excerpt/worker.conf
#   excerpt ARGS     the CLI (submit, get, stats, tail, ...)
#   anything else    run as a command (e.g. sh for debugging)
# Environment variables EXCERPT_BROKER_<KEY> / EXCERPT_WORKER_<KEY> override
# the file; flags given here override both.
#
# CURVE keys come from a mounted directory, $EXCERPT_KEYS_DIR (default
# /etc/excerpt/keys; a Kubernetes Secret, `podman --secret`, or -v DIR:ro):
#   broker.key        the broker's secret key          (broker)
#   allow/            the allow-list, NAME.pub files   (broker; or set
#                     EXCERPT_BROKER_ALLOW to another mounted directory)
#   worker.key        a worker's secret key            (worker)
#   client.key        a client's secret key            (excerpt CLI)
#   broker.pub        the broker's public key          (worker, excerpt CLI)
# The programs refuse a secret key that group or others may read, and a
# Kubernetes Secret mounted with fsGroup is group-readable (0440), so each
# secret key is copied to $EXCERPT_KEYS_RUN_DIR (default /run/excerpt, an
# in-memory emptyDir in Kubernetes) with mode 0600 for this user, and the
# program is pointed at the copy. A variable set already is left alone.
set -eu

keys_dir="${EXCERPT_KEYS_DIR:-/etc/excerpt/keys}"
run_dir="${EXCERPT_KEYS_RUN_DIR:-/run/excerpt}"

# Print the path of a usable private copy of secret key file $1.
private_key() {
    umask 077
    dest="$run_dir/$(basename "$1")"
    mkdir -p "$run_dir" && rm -f "$dest" && cat "$1" >"$dest" &&
        printf '%s\n' "$dest"
}

# setkey VAR FILE [secret]: export VAR=FILE (a private copy when secret)
# unless VAR is set or FILE is missing.
setkey() {
    eval "cur=\${$1:-}"
    if [ -z "$cur" ] && [ -e "$2" ]; then
        if [ "${3:-}" = secret ]; then
            if ! path="$(private_key "$2")"; then
                echo "excerpt-entrypoint: cannot copy $2 to $run_dir" >&2
                exit 1
            fi
        else
            path="$2"
        fi
        export "$1=$path"
    fi
}

conf_flag() {
    if [ -r "/etc/excerpt/$1.conf" ]; then
        printf '%s\n' "--config=/etc/excerpt/$1.conf"
    fi
}

cmd="${1:-broker}"
[ "$#" -gt 0 ] && shift

case "$cmd" in
broker)
    setkey EXCERPT_BROKER_KEY_FILE "$keys_dir/broker.key" secret
    setkey EXCERPT_BROKER_ALLOW "$keys_dir/allow"
    # shellcheck disable=SC2046
    exec /usr/local/bin/excerpt-broker $(conf_flag broker) "$@"
    ;;
worker)
    setkey EXCERPT_WORKER_KEY_FILE "$keys_dir/worker.key" secret
    setkey EXCERPT_WORKER_BROKER_KEY_FILE "$keys_dir/broker.pub"
    # shellcheck disable=SC2046
    exec /usr/local/bin/excerpt-worker $(conf_flag worker) "$@"
    ;;
excerpt | cli)
    setkey EXCERPT_KEY_FILE "$keys_dir/client.key" secret
    setkey EXCERPT_BROKER_KEY_FILE "$keys_dir/broker.pub"
    exec /usr/local/bin/excerpt "$@"
    ;;
-h | --help | help)
    sed -n '2,22p' "$0"
    ;;
*)
    exec "$cmd" "$@"
    ;;
esac
