#!/usr/bin/env bash
# Installs what the VS Code extension's tests need on a fresh Debian machine:
#   - Debian packages: chromium (driven by playwright-core), an emoji font for
#     its screenshots, ripgrep, and the build tools and headers that
#     code-server's native modules need;
#   - the extension's npm dependencies (npm ci in editors/vscode);
#   - code-server (the 4.100.x line, which runs on Node 20) into
#     editors/vscode/.code-server/ (git-ignored).
#
# Idempotent: every step checks first and does nothing when already done.
# Runs as root (CI) or as a user with sudo for the apt step.
# Nothing here downloads a browser or a binary from outside the npm and Debian
# registries: @vscode/ripgrep's GitHub download is pre-seeded from Debian's rg.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXT_DIR="$ROOT/editors/vscode"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.100.3}"
CODE_SERVER_PREFIX="${CODE_SERVER_PREFIX:-$EXT_DIR/.code-server}"
# Native modules of code-server's bundled VS Code whose install scripts must
# run (the packages with install scripts in lib/vscode/npm-shrinkwrap.json,
# less the Windows-only ones).
VSCODE_NATIVE_SCRIPTS="@parcel/watcher,@vscode/deviceid,@vscode/ripgrep,@vscode/spdlog,kerberos,native-watchdog,node-pty,esbuild"
APT_PACKAGES=(chromium fonts-noto-color-emoji ripgrep libkrb5-dev libxkbfile-dev libsecret-1-dev pkg-config make g++ python3 tar gzip)

log() { printf '\033[1m[install-vscode-test-deps]\033[0m %s\n' "$*"; }
die() { printf '[install-vscode-test-deps] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) for: $*"
  fi
}

# --- 1. Debian packages ------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
else
  log "Debian packages present"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after apt-get install chromium"

# --- 2. Node ------------------------------------------------------------------
command -v node >/dev/null || die "node is not installed (Node 20 is required)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" = 20 ] || die "code-server $CODE_SERVER_VERSION needs Node 20, found $(node --version)"
# node-gyp builds code-server's native modules against the local headers;
# it would otherwise try to download them.
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node_version.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

# --- 3. npm ci in editors/vscode ------------------------------------------------
stamp="$EXT_DIR/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$EXT_DIR/package-lock.json" -nt "$stamp" ]; then
  log "npm ci in editors/vscode"
  (cd "$EXT_DIR" && npm ci --no-audit --no-fund)
else
  log "editors/vscode/node_modules up to date"
fi

# --- 4. code-server -------------------------------------------------------------
cs_pkg="$CODE_SERVER_PREFIX/lib/node_modules/code-server/package.json"
installed_version=""
if [ -f "$cs_pkg" ] && [ -x "$CODE_SERVER_PREFIX/bin/code-server" ]; then
  installed_version="$(node -p "require('$cs_pkg').version")"
fi
if [ "$installed_version" = "$CODE_SERVER_VERSION" ] && \
   [ -e "$CODE_SERVER_PREFIX/lib/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]; then
  log "code-server $CODE_SERVER_VERSION present in $CODE_SERVER_PREFIX"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  export TMPDIR="${TMPDIR:-/tmp}"

  # @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache
  # holds the archive: find the versions code-server pins and seed the cache
  # with Debian's rg.
  log "reading the @vscode/ripgrep version code-server $CODE_SERVER_VERSION pins"
  (cd "$work" && npm pack --silent "code-server@$CODE_SERVER_VERSION" >/dev/null)
  tar -xzf "$work/code-server-$CODE_SERVER_VERSION.tgz" -C "$work" package/lib/vscode/npm-shrinkwrap.json
  rg_pkg_version="$(node -p "require('$work/package/lib/vscode/npm-shrinkwrap.json').packages['node_modules/@vscode/ripgrep'].version")"
  (cd "$work" && npm pack --silent "@vscode/ripgrep@$rg_pkg_version" >/dev/null)
  tar -xzf "$work/vscode-ripgrep-$rg_pkg_version.tgz" -C "$work" package/lib/postinstall.js
  rg_version="$(sed -n "s/^const VERSION = '\(.*\)';.*/\1/p" "$work/package/lib/postinstall.js")"
  [ -n "$rg_version" ] || die "could not read ripgrep's VERSION from @vscode/ripgrep@$rg_pkg_version"
  case "$(uname -m)" in
    x86_64) rg_target=x86_64-unknown-linux-musl ;;
    aarch64) rg_target=aarch64-unknown-linux-musl ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
  cache_dir="$TMPDIR/vscode-ripgrep-cache-$rg_pkg_version"
  archive="$cache_dir/ripgrep-$rg_version-$rg_target.tar.gz"
  if [ ! -s "$archive" ]; then
    log "seeding $archive from $(command -v rg)"
    mkdir -p "$cache_dir" "$work/rg"
    cp "$(command -v rg)" "$work/rg/rg"
    tar -czf "$archive" -C "$work/rg" rg
  fi

  # The install is done in steps rather than by code-server's own postinstall
  # under `npm install -g`: npm >= 11.19 blocks dependency install scripts
  # unless allowed, and the nested `npm install` that postinstall runs inherits
  # the outer npm's global/prefix settings and corrupts the tree. So: fetch the
  # package without scripts, build argon2 (required at start-up), then run
  # postinstall.sh from a clean environment with the native modules allowed.
  log "npm install -g --prefix $CODE_SERVER_PREFIX --ignore-scripts code-server@$CODE_SERVER_VERSION"
  rm -rf "$CODE_SERVER_PREFIX/lib/node_modules/code-server" "$CODE_SERVER_PREFIX/bin/code-server"
  mkdir -p "$CODE_SERVER_PREFIX"
  npm install -g --prefix "$CODE_SERVER_PREFIX" --ignore-scripts --no-audit --no-fund "code-server@$CODE_SERVER_VERSION"
  cs_dir="$CODE_SERVER_PREFIX/lib/node_modules/code-server"
  echo "allow-scripts=argon2" > "$cs_dir/.npmrc"
  echo "allow-scripts=$VSCODE_NATIVE_SCRIPTS" > "$cs_dir/lib/vscode/.npmrc"
  echo "allow-scripts=$VSCODE_NATIVE_SCRIPTS" > "$cs_dir/lib/vscode/extensions/.npmrc"
  log "building argon2"
  (cd "$cs_dir" && npm rebuild argon2 --no-audit --no-fund)
  log "running code-server's postinstall (builds VS Code's native modules, takes a few minutes)"
  (
    cd "$cs_dir"
    nodedir="${npm_config_nodedir:-}"
    for v in $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
    [ -z "$nodedir" ] || export npm_config_nodedir="$nodedir"
    export npm_config_user_agent="npm/$(npm -v 2>/dev/null) node/$(node -v) linux x64"
    export npm_config_unsafe_perm=true npm_config_yes=true
    sh ./postinstall.sh
  )
  [ -x "$CODE_SERVER_PREFIX/bin/code-server" ] || die "code-server binary missing after install"
fi

log "code-server $(node -p "require('$cs_pkg').version") ready: $CODE_SERVER_PREFIX/bin/code-server"
log "done"
