#!/usr/bin/env bash
# Default node USERDATA script (raydog-operator) for Ubuntu 22.04 images: runs once as root when a YellowDog
# VM boots, before its agent takes tasks. It prepares what the task scripts (ray-head.sh, ray-worker.sh)
# expect: a Python virtualenv at /opt/yellowdog/agent/venv (RayDog's convention) holding Ray, owned by the
# agent's user, and, when DLG_VERSION is non-empty, DALiuGE (`daliuge-engine==$DLG_VERSION`, which provides
# the `dlg` command) in the same virtualenv.
# Settings (all optional) come from the environment or from assignments placed right after the shebang line
# (the operator inserts `RAY_VERSION='<spec.rayVersion>'` there for every node kind without userData, and
# `DLG_VERSION='<version>'` on Ray nodes when DALiuGE is enabled). Idempotent: a venv that already holds the
# pinned versions (a prepared image) installs nothing.
#   RAY_VERSION   Ray version to install (default: latest `ray[default]`)
#   DLG_VERSION   daliuge-engine version to install (default: empty = no DALiuGE)
#   RAY_VENV      virtualenv path (default /opt/yellowdog/agent/venv)
#   AGENT_USER    the YellowDog agent's user, who owns the virtualenv (default yd-agent)
# Override with spec.*.userData / userDataFrom.
set -euo pipefail

VENV="${RAY_VENV:-/opt/yellowdog/agent/venv}"
AGENT_USER="${AGENT_USER:-yd-agent}"
RAY_VERSION="${RAY_VERSION:-}"
DLG_VERSION="${DLG_VERSION:-}"

# A prepared image (the venv already holds this Ray, and this DALiuGE when asked): nothing to install, so a
# node boots as fast as the image allows. Only with a pinned version: "latest" cannot be checked offline.
installed_ray() { "$VENV/bin/python" -c 'import ray; print(ray.__version__)' 2>/dev/null || true; }
installed_dlg() { "$VENV/bin/python" -m pip show daliuge-engine 2>/dev/null | sed -n 's/^Version: //p' || true; }
if [[ -n "$RAY_VERSION" && -x "$VENV/bin/python" && "$(installed_ray)" == "$RAY_VERSION" ]] &&
  [[ -z "$DLG_VERSION" || "$(installed_dlg)" == "$DLG_VERSION" ]]; then
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

# The agent runs the task scripts as its own user; it must be able to use (and pip install into) the venv.
if id "$AGENT_USER" >/dev/null 2>&1; then
  chown -R "$AGENT_USER:" "$VENV"
fi

echo "raydog node ready: $("$VENV/bin/ray" --version 2>/dev/null || echo 'ray ?')${DLG_VERSION:+, daliuge-engine $DLG_VERSION}"
