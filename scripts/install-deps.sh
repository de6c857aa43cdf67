#!/usr/bin/env bash
# Installs every build/test dependency from Debian bookworm packages. Idempotent: quiet and fast when
# everything is already present. Works as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl
  libboost-dev libboost-system-dev libboost-program-options-dev
  nlohmann-json3-dev libyaml-cpp-dev prometheus-cpp-dev doctest-dev libssl-dev zlib1g-dev libjemalloc-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  python3 python3-kubernetes python3-yaml shellcheck clang-format openssl procps lua5.4
  prometheus
)
# `make fuzz` only: Debian's clang and its libFuzzer runtime.
[ "${1:-}" = "--fuzz" ] && packages+=(clang-14 libclang-rt-14-dev)
# kubectl: keep whatever the machine has (1.32 here); Debian's kubernetes-client (1.20) otherwise.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The tests and `demo.sh --observability` run the prometheus binary on node addresses of their own; the
# packaged service (0.0.0.0:9090) would only hold the port. Stopped only when this run installed it, and only
# where systemd runs (containers start no services).
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
