#!/usr/bin/env bash
# Proves the README's two commands on a stock Debian 12: builds a clean Debian 12 root with
# debootstrap from Debian's package registry, puts a clone of this repository's committed HEAD in
# it, and runs the commands there (chroot) as a reader would, each timed and logged. Slow (an hour
# or more: ./run book trains the book's networks), so run by hand, not by ./run test:
#
#   sudo nice -n 19 tests/stock_debian/run_in_clean_debian.sh [COMMAND...]
#
# COMMAND is book or test, run as `./run COMMAND` (default: book test, the README's order); one
# argument with an option runs only that part, e.g. 'test --sanitize'.
# Environment: KD_CLEAN_ROOT, where the root is built (default /var/tmp/kd-clean-debian; emptied
# first, kept afterwards for inspection; its logs and summary go to KD_CLEAN_ROOT.logs/);
# KD_DEBIAN_MIRROR and KD_DEBIAN_SECURITY_MIRROR, the Debian mirrors (default: the ones this
# machine's apt uses); KD_CA_BUNDLE, this machine's CA bundle (default
# /etc/ssl/certs/ca-certificates.crt); KD_CLEAN_REUSE=1 runs the commands again in the root the
# last run left, with its packages and build/ (no new debootstrap), its clone moved to the
# committed HEAD, e.g. after a test timed out on a busy machine.
#
# Nothing from this machine goes into the root but the repository and what this network needs to
# reach the registries: the resolv.conf debootstrap copies, the CA bundle (TLS to npm's registry
# may be re-signed on the way; npm and Node.js are pointed at it by npm_config_cafile and
# NODE_EXTRA_CA_CERTS, as on this machine, in a file of its own, since Debian's ca-certificates
# package rewrites its bundle when ./run installs it) and root's ~/.npmrc. The commands run as
# root with a minimal environment (env -i: PATH, HOME, LANG=C.UTF-8 and those two). /proc, /sys,
# /dev, /dev/pts and a /dev/shm of the root's own are mounted, and unmounted however this ends.
# Exits 0 when every command passed.
set -euo pipefail

readonly kSuite=bookworm
clean_root=$(realpath -m "${KD_CLEAN_ROOT:-/var/tmp/kd-clean-debian}")
readonly kRoot=$clean_root
readonly kLogs=${kRoot}.logs
readonly kCaBundle=${KD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
readonly kRootCaBundle=/etc/ssl/network-ca-bundle.crt  # inside the root
readonly kRepoInRoot=/root/kd-book                     # inside the root

say() { printf '[clean-debian] %s\n' "$*" | tee -a "${kLogs}/summary.txt"; }
die() { printf '[clean-debian] error: %s\n' "$*" | tee -a "${kLogs}/summary.txt" >&2; exit 1; }

commands=("$@")
((${#commands[@]} > 0)) || commands=(book test)
for c in "${commands[@]}"; do
  [[ "$c" =~ ^(book|test)( --[a-z]+)?$ ]] || { echo "usage: $0 [book | test | 'test --OPTION']..." >&2; exit 2; }
done
((EUID == 0)) || { echo "$0: debootstrap and chroot need root: run it with sudo" >&2; exit 2; }
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse HEAD)

reuse=${KD_CLEAN_REUSE:-0}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$kLogs"
((reuse)) || rm -f "${kLogs}"/*.log "${kLogs}/summary.txt"

# mounts_under DIR: the mount points at or below DIR, deepest first.
mounts_under() {
  awk -v dir="$1" '$2 == dir || index($2, dir "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

# Ends what still runs inside the root (a browser a killed test left behind), then unmounts:
# once this run has mounted there, never another run's root.
mounted=0
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  local status=$? proc mount
  ((mounted)) || exit "$status"
  for proc in /proc/[0-9]*; do
    [[ "$(readlink "${proc}/root" 2>/dev/null)" == "$kRoot" ]] && kill -KILL "${proc#/proc/}" 2>/dev/null
  done
  for mount in $(mounts_under "$kRoot"); do
    umount "$mount" 2>/dev/null || umount -l "$mount" || echo "[clean-debian] could not unmount ${mount}" >&2
  done
  exit "$status"
}
trap cleanup EXIT
trap 'echo "[clean-debian] error: line ${LINENO} failed: ${BASH_COMMAND}" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# debian_uri SUFFIX: the first Debian repository URI ending in SUFFIX in this machine's apt sources.
debian_uri() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -E '^[[:space:]]*(deb[[:space:]]|URIs:)' | grep -o -E "https?://[^[:space:]]*$1/?([[:space:]]|\$)" \
    | head -n 1 | tr -d '[:space:]' | sed 's:/$::' || true  # no such file, or no such URI: empty
}
mirror=${KD_DEBIAN_MIRROR:-$(debian_uri /debian)}
security=${KD_DEBIAN_SECURITY_MIRROR:-$(debian_uri /debian-security)}
[[ -n "$mirror" ]] || die "no Debian mirror in /etc/apt/sources.list*: set KD_DEBIAN_MIRROR"
[[ -n "$security" ]] || security=${mirror}-security
[[ -r "$kCaBundle" ]] || die "no CA bundle at ${kCaBundle}: set KD_CA_BUNDLE"

total_start=$SECONDS
if ((reuse)); then
  [[ -d "${kRoot}${kRepoInRoot}" ]] || die "KD_CLEAN_REUSE=1, and ${kRoot} holds no root of an earlier run"
  [[ -z "$(mounts_under "$kRoot")" ]] || die "something is still mounted under ${kRoot}: unmount it first"
  say "again in the root of the last run, ${kRoot}, with its packages and build/; its clone moved to ${commit}"
  git -C "${kRoot}${kRepoInRoot}" fetch -q "$repo" HEAD
  git -C "${kRoot}${kRepoInRoot}" checkout -q --detach FETCH_HEAD
else
  say "repository ${repo} at ${commit} (the committed HEAD; uncommitted changes are not in it)"
  if ! command -v debootstrap >/dev/null; then
    say "installing Debian's debootstrap, which builds the clean root (apt's output: ${kLogs}/host-apt.log)"
    { apt-get -q update && env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends debootstrap; } \
      >"${kLogs}/host-apt.log" 2>&1 || { tail -n 15 "${kLogs}/host-apt.log" >&2; die "could not install debootstrap"; }
  fi

  if [[ -e "$kRoot" ]]; then
    [[ -z "$(mounts_under "$kRoot")" ]] || die "something is still mounted under ${kRoot}: unmount it first"
    say "emptying the previous root ${kRoot}"
    rm -rf --one-file-system "$kRoot"
  fi
  say "building a clean Debian 12 root in ${kRoot} (debootstrap --variant=minbase ${kSuite} ${mirror})"
  start=$SECONDS
  debootstrap --variant=minbase "$kSuite" "$kRoot" "$mirror" >"${kLogs}/debootstrap.log" 2>&1 \
    || { tail -n 15 "${kLogs}/debootstrap.log" >&2; die "debootstrap failed (log: ${kLogs}/debootstrap.log)"; }
  say "root built in $((SECONDS - start)) s"

  # The sources a Debian 12 installation has: the release, its updates and its security updates.
  printf 'deb %s %s main\n' "$mirror" "$kSuite" "$mirror" "${kSuite}-updates" "$security" "${kSuite}-security" \
    >"${kRoot}/etc/apt/sources.list"
  mkdir -p "${kRoot}$(dirname "$kRootCaBundle")"
  cp "$kCaBundle" "${kRoot}${kRootCaBundle}"
  [[ -f "${HOME}/.npmrc" ]] && cp "${HOME}/.npmrc" "${kRoot}/root/.npmrc"
  git clone -q --no-checkout "$repo" "${kRoot}${kRepoInRoot}"
  git -C "${kRoot}${kRepoInRoot}" checkout -q --detach "$commit"
fi

mounted=1
mount -t proc proc "${kRoot}/proc"
mount -t sysfs sysfs "${kRoot}/sys"
mount --bind /dev "${kRoot}/dev"
mount --bind /dev/pts "${kRoot}/dev/pts"
mount -t tmpfs -o mode=1777 shm "${kRoot}/dev/shm"

# in_root COMMAND...: runs COMMAND in the root's clone, with nothing of this shell's environment.
in_root() {
  # shellcheck disable=SC2016  # $0 and $@ are the inner shell's
  chroot "$kRoot" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 NODE_EXTRA_CA_CERTS="$kRootCaBundle" npm_config_cafile="$kRootCaBundle" \
    /bin/bash -c 'cd "$0" && exec "$@"' "$kRepoInRoot" "$@"
}

failed=0
for c in "${commands[@]}"; do
  log="${kLogs}/run-${c// /}-${stamp}.log"
  say "./run ${c} in the clean root (log: ${log})"
  start=$SECONDS
  # shellcheck disable=SC2086  # the command's words: ./run test --sanitize
  if in_root ./run $c >"$log" 2>&1; then result=passed; else result="FAILED (exit $?)"; failed=1; fi
  say "./run ${c}: ${result} in $((SECONDS - start)) s"
  # What the log says it did: installs, the browser test, each ctest summary, fuzzers, totals.
  grep -E '^\[run\] (installing|error|fuzz_[a-z_]+: )|docs_explorer_browser|tests passed|tests failed|^[[:space:]]+[0-9]+ - |^\[run\]   total' "$log" \
    | sed 's/^/[clean-debian]   /' | tee -a "${kLogs}/summary.txt" || true
done
say "in the root: $(in_root node --version 2>/dev/null || echo 'no node'), npm $(in_root npm --version 2>/dev/null || echo 'none'), $(in_root chromium --version 2>/dev/null || echo 'no chromium')"
say "total wall time $((SECONDS - total_start)) s; summary in ${kLogs}/summary.txt"
exit "$failed"
