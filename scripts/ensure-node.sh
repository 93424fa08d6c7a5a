#!/usr/bin/env bash
# Sourced by the project's entry scripts: puts a supported Node.js (22 or 24) first on PATH.
# When the machine's node is older, the official Node binary is installed from the npm
# registry (package node-linux-<arch>, which ships bin/node) into .cache/node, once.
NODE_WANTED_MAJOR="${NODE_WANTED_MAJOR:-24}"
NODE_PINNED_VERSION="${NODE_PINNED_VERSION:-24.21.0}"
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_node_major node)" -lt 22 ]; then
  _dir="$_root/.cache/node/$NODE_PINNED_VERSION"
  if [ ! -x "$_dir/node_modules/.bin/node" ]; then
    case "$(uname -m)" in
      x86_64) _arch=x64 ;;
      aarch64 | arm64) _arch=arm64 ;;
      *) echo "ensure-node: no Node binary package for $(uname -m); install Node 22 or 24" >&2; return 1 2>/dev/null || exit 1 ;;
    esac
    echo "ensure-node: installing Node $NODE_PINNED_VERSION (node-linux-$_arch) into $_dir" >&2
    mkdir -p "$_dir"
    npm install --silent --no-save --no-package-lock --prefix "$_dir" "node-linux-$_arch@$NODE_PINNED_VERSION" >&2 ||
      { echo "ensure-node: could not install Node $NODE_PINNED_VERSION" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_dir/node_modules/.bin:$PATH"
fi
unset -f _node_major
