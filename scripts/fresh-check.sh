#!/usr/bin/env bash
# make fresh-check: the README's promise on a bare Debian bookworm. Debootstraps a minbase bookworm (plus
# make, git, ca-certificates) into a scratch folder, clones this repository's HEAD into it and runs
# `make demo && make test` there with a clean environment (no ccache, no kubectl, no compiler: the Makefile
# must install all of it). Prints the tail of the run and exits with its status. Mounts are undone and
# processes left inside the root are killed on every exit, Ctrl-C included.
#
# Needs root (debootstrap, chroot, mounts). Takes ~20 minutes on 2 idle cores.
#   FRESH_DIR=/path   scratch folder (default: a new /var/tmp/raydog-fresh.XXXXXX, removed afterwards)
#   FRESH_KEEP=1      keep the scratch folder (the root file system) for a look afterwards
#   FRESH_MIRROR=URL  the Debian mirror (default: the first bookworm URI of this machine's apt sources)
#   FRESH_TAIL=N      how many lines of the run to print (default 40)
# The full log is written to build/fresh-check.log.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tail_lines="${FRESH_TAIL:-40}"
log="$repo/build/fresh-check.log"

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-check: needs root (debootstrap, chroot and mounts)" >&2
  exit 2
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "fresh-check: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The mirror this machine's apt already uses (deb822 .sources first, then one-line .list files), so the
# check reaches Debian exactly the way apt-get does here.
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '/^URIs:/ {uri=$2} /^Suites:/ && / bookworm( |$)/ {print uri; exit}' "$f"
  done | head -n1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" && $0 ~ / bookworm / {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' "$f"
  done | head -n1
}
mirror="${FRESH_MIRROR:-$(host_mirror | head -n1)}"
if [ -z "$mirror" ]; then
  echo "fresh-check: no bookworm mirror in /etc/apt: set FRESH_MIRROR" >&2
  exit 2
fi

scratch="${FRESH_DIR:-$(mktemp -d /var/tmp/raydog-fresh.XXXXXX)}"
root="$scratch/root"
mkdir -p "$root" "$(dirname "$log")"

# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  local status=$? p
  trap - EXIT INT TERM
  # Anything still running inside the root (a test's server, the demo's operator) would keep mounts busy.
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
  done
  # Deepest first; -l detaches what is still busy so nothing is left mounted under the scratch folder.
  grep -o " ${root}[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if [ "${FRESH_KEEP:-0}" = 1 ]; then
    echo "fresh-check: kept $scratch"
  elif grep -q " $root" /proc/self/mounts; then
    echo "fresh-check: $root is still mounted; not removing $scratch" >&2
  else
    rm -rf "$scratch"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "fresh-check: debootstrap bookworm (minbase + make, git, ca-certificates) into $root"
debootstrap --variant=minbase --include=make,git,ca-certificates bookworm "$root" "$mirror" \
  >"$scratch/debootstrap.log" 2>&1 || { tail -n 20 "$scratch/debootstrap.log"; exit 1; }

# The same package sources as this machine (updates and security too), and name resolution.
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] && cp "$f" "$root$f"
done
cp /etc/resolv.conf "$root/etc/resolv.conf"

mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"

echo "fresh-check: cloning $(git -C "$repo" rev-parse --short HEAD) into the root"
git clone -q "$repo" "$root/root/raydog"

echo "fresh-check: make demo && make test (log: $log)"
env_vars=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -n "${!v:-}" ] && env_vars+=("$v=${!v}")
done
# In the background and waited for, so a SIGTERM to this script runs cleanup at once instead of after the
# whole run (bash defers traps while a foreground child runs).
set +e
chroot "$root" /usr/bin/env -i "${env_vars[@]}" /bin/bash -c 'cd /root/raydog && make demo && make test' \
  >"$log" 2>&1 </dev/null &
wait $!
status=$?
set -e
echo "fresh-check: last $tail_lines lines"
tail -n "$tail_lines" "$log"
echo "fresh-check: exit $status"
exit "$status"
