#!/usr/bin/env bash
# Default node USERDATA script (raydog-operator) for Ubuntu 22.04 images: runs once as root when a YellowDog
# VM boots, before its agent takes tasks. It prepares what the task scripts (ray-head.sh, ray-worker.sh)
# expect: a Python virtualenv at /opt/yellowdog/agent/venv (RayDog's convention) holding Ray, owned by the
# agent's user, and, when DLG_VERSION is non-empty, DALiuGE (`daliuge-engine==$DLG_VERSION`, which provides
# the `dlg` command) in the same virtualenv; where observability needs them, a Prometheus release and Grafana.
# Settings (all optional) come from the environment or from assignments placed right after the shebang line
# (the operator inserts `RAY_VERSION='<spec.rayVersion>'` there for every node kind without userData, and
# `DLG_VERSION='<version>'` on Ray nodes when DALiuGE is enabled, and with spec.observability enabled
# `PROMETHEUS_VERSION` on the head and the observability node plus `GRAFANA='true'` on the latter).
# Idempotent: a node that already holds the pinned versions (a prepared image) installs nothing.
#   RAY_VERSION         Ray version to install (default: latest `ray[default]`)
#   DLG_VERSION         daliuge-engine version to install (default: empty = no DALiuGE)
#   PROMETHEUS_VERSION  Prometheus release to install from GitHub, checked against the release's
#                       sha256sums.txt (default: empty = none; Ubuntu 22.04's package is too old for the
#                       head's agent mode)
#   PROMETHEUS_HOME     where releases are unpacked (default /opt/prometheus; the binaries are linked into
#                       BIN_DIR, default /usr/local/bin)
#   GRAFANA             `true`: Grafana OSS from Grafana's apt repository (its service stays off: the
#                       observability task runs it)
#   RAY_VENV            virtualenv path (default /opt/yellowdog/agent/venv)
#   AGENT_USER          the YellowDog agent's user, who owns the virtualenv (default yd-agent)
# Override with spec.*.userData / userDataFrom.
set -euo pipefail

VENV="${RAY_VENV:-/opt/yellowdog/agent/venv}"
AGENT_USER="${AGENT_USER:-yd-agent}"
RAY_VERSION="${RAY_VERSION:-}"
DLG_VERSION="${DLG_VERSION:-}"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-}"
PROMETHEUS_HOME="${PROMETHEUS_HOME:-/opt/prometheus}"
BIN_DIR="${BIN_DIR:-/usr/local/bin}"
GRAFANA="${GRAFANA:-false}"

# A prepared image (the venv already holds this Ray, and this DALiuGE, Prometheus and Grafana when asked):
# nothing to install, so a node boots as fast as the image allows. Only with a pinned version: "latest"
# cannot be checked offline.
installed_ray() { "$VENV/bin/python" -c 'import ray; print(ray.__version__)' 2>/dev/null || true; }
installed_dlg() { "$VENV/bin/python" -m pip show daliuge-engine 2>/dev/null | sed -n 's/^Version: //p' || true; }
installed_prometheus() {
  "$BIN_DIR/prometheus" --version 2>/dev/null | sed -n 's/^prometheus, version \([^ ]*\).*/\1/p' | head -n1 || true
}
has_grafana() { command -v grafana >/dev/null || command -v grafana-server >/dev/null; }
if [[ -n "$RAY_VERSION" && -x "$VENV/bin/python" && "$(installed_ray)" == "$RAY_VERSION" ]] &&
  [[ -z "$DLG_VERSION" || "$(installed_dlg)" == "$DLG_VERSION" ]] &&
  [[ -z "$PROMETHEUS_VERSION" || "$(installed_prometheus)" == "$PROMETHEUS_VERSION" ]] &&
  { [[ "$GRAFANA" != "true" ]] || has_grafana; }; then
  echo "raydog node ready: Ray $RAY_VERSION already in $VENV (prepared image)${DLG_VERSION:+, daliuge-engine $DLG_VERSION}"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive

# Python 3.10 is Ubuntu 22.04's python3 (DALiuGE 6.x supports 3.10-3.12).
apt-get update -q
apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip ca-certificates curl

if [[ ! -x "$VENV/bin/python" ]]; then
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip

if [[ -n "$RAY_VERSION" ]]; then
  "$VENV/bin/python" -m pip install --quiet "ray[default]==${RAY_VERSION}"
else
  "$VENV/bin/python" -m pip install --quiet "ray[default]"
fi

if [[ -n "$DLG_VERSION" ]]; then
  # daliuge-engine pulls in daliuge-common; use the same version on the head and on every worker.
  "$VENV/bin/python" -m pip install --quiet "daliuge-engine==${DLG_VERSION}"
  "$VENV/bin/dlg" version >/dev/null 2>&1 || echo "warning: dlg installed but 'dlg version' failed" >&2
fi

if [[ -n "$PROMETHEUS_VERSION" && "$(installed_prometheus)" != "$PROMETHEUS_VERSION" ]]; then
  # The release tarball, verified against the release's own checksums, unpacked beside earlier versions.
  arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
  release="prometheus-${PROMETHEUS_VERSION}.linux-${arch}"
  url="https://github.com/prometheus/prometheus/releases/download/v${PROMETHEUS_VERSION}"
  download="$(mktemp -d)"
  curl -fsSL --retry 5 -o "$download/${release}.tar.gz" "$url/${release}.tar.gz"
  curl -fsSL --retry 5 -o "$download/sha256sums.txt" "$url/sha256sums.txt"
  (cd "$download" && grep " ${release}.tar.gz\$" sha256sums.txt | sha256sum -c --quiet -)
  mkdir -p "$PROMETHEUS_HOME" "$BIN_DIR"
  tar -xzf "$download/${release}.tar.gz" -C "$PROMETHEUS_HOME"
  ln -sf "$PROMETHEUS_HOME/${release}/prometheus" "$BIN_DIR/prometheus"
  ln -sf "$PROMETHEUS_HOME/${release}/promtool" "$BIN_DIR/promtool"
  rm -rf "$download"
fi

if [[ "$GRAFANA" == "true" ]] && ! has_grafana; then
  # Grafana is packaged only in Grafana's own repository (RayDog's way too).
  apt-get install -y -q --no-install-recommends gnupg apt-transport-https
  mkdir -p /etc/apt/keyrings
  curl -fsSL --retry 5 https://apt.grafana.com/gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/grafana.gpg
  echo "deb [signed-by=/etc/apt/keyrings/grafana.gpg] https://apt.grafana.com stable main" \
    >/etc/apt/sources.list.d/grafana.list
  apt-get update -q
  apt-get install -y -q grafana
  # The observability task runs Grafana with its own provisioning; the packaged service would hold port 3000.
  if command -v systemctl >/dev/null; then systemctl disable --now grafana-server 2>/dev/null || true; fi
fi

# The agent runs the task scripts as its own user; it must be able to use (and pip install into) the venv.
if id "$AGENT_USER" >/dev/null 2>&1; then
  chown -R "$AGENT_USER:" "$VENV"
fi

echo "raydog node ready: $("$VENV/bin/ray" --version 2>/dev/null || echo 'ray ?')${DLG_VERSION:+, daliuge-engine $DLG_VERSION}${PROMETHEUS_VERSION:+, prometheus $PROMETHEUS_VERSION}$([[ "$GRAFANA" == "true" ]] && echo ', grafana')"
