#!/usr/bin/env bash
# dev.sh: one-command set-up, build, run and test on Debian 12.
#   ./dev.sh run [FILE|DIR...]   install deps, build, run the pipeline on
#                                the bundled samples (or your files)
#   ./dev.sh test                install deps, build, run the whole suite
#   ./dev.sh test-asan           the same suite under ASan + UBSan
#   ./dev.sh build               install deps and build only
#   ./dev.sh deps                install the Debian packages only
set -euo pipefail

cd "$(dirname "$0")"

PACKAGES=(cmake gcc make pkg-config libzmq3-dev libprotobuf-c-dev
          protobuf-c-compiler liblmdb-dev libcmocka-dev libjansson-dev
          libsodium-dev iso-codes python3-zmq python3-protobuf python3-yaml
          protobuf-compiler libmicrohttpd-dev faketime iproute2 nftables
          libseccomp-dev systemd)

deps() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "dev.sh: installing ${missing[*]}" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

jobs() { nproc 2>/dev/null || echo 2; }

build() { # build DIR [cmake args...]
    local dir=$1
    shift
    local werror=OFF
    [ -n "${CI:-}" ] && werror=ON
    cmake -S . -B "$dir" -DEXCERPT_WERROR=$werror "$@" >/dev/null
    cmake --build "$dir" -j"$(jobs)"
}

suite() { # suite DIR
    ctest --test-dir "$1" --output-on-failure --timeout 600 -j"$(jobs)"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
deps) deps ;;
build)
    deps
    build build -DCMAKE_BUILD_TYPE=Release
    ;;
run)
    deps
    build build -DCMAKE_BUILD_TYPE=Release
    exec build/cli/excerpt run "$@"
    ;;
test)
    deps
    build build -DCMAKE_BUILD_TYPE=Release
    suite build
    ;;
test-asan)
    deps
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 suite build-asan
    ;;
*)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
