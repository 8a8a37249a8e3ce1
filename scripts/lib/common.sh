# shellcheck shell=bash
# shellcheck disable=SC2034 # the settings below are read by the scripts that source this file
# Shared by setup.sh, setup-node.sh and update.sh (sourced, never run).
#
# Every change goes through the ensure_* functions: they compare what is there with what should be,
# change only the difference and count it, so a second run finds nothing to do and says so.
# Three modes:
#   real     changes this machine.
#   --root   every path is prefixed with DIR (a throwaway root for tests): files, users (useradd --prefix)
#            and unit enablement (systemctl --root) really happen there; apt-get, service starts and
#            mounts are printed as "root mode, not run: …". HEARTH_SYSTEMCTL replaces systemctl for
#            start/stop/is-active (tests use it to run the hub as a plain process).
#   --dry-run  prints what would change, changes nothing (combines with --root).

ROOT=''
DRY_RUN=0
ASSUME_YES=0
CHANGES=0
PROG=$(basename "$0")

HEARTH_USER=hearth
APP_DIR=/opt/hearth
DATA_DIR=/var/lib/hearth
CONF_DIR=/etc/hearth
NAS_DIR=/mnt/hearth-nas
UNIT_DIR=/etc/systemd/system
# The NAS guard's marker (hub/src/storage/paths.ts MARKER_NAME): only a NAS that carries it is recorded to.
NAS_MARKER=.hearth-nas

say() { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit 1
}

root_mode() { [ -n "$ROOT" ]; }

# One line per change; in a dry run the same line says what would happen.
changed() {
  CHANGES=$((CHANGES + 1))
  if [ "$DRY_RUN" = 1 ]; then say "  would: $*"; else say "  done:  $*"; fi
}

set_root() {
  [ -n "$1" ] || die "--root needs a folder"
  mkdir -p "$1" 2>/dev/null || [ "$DRY_RUN" = 1 ] || die "cannot create $1"
  ROOT=$(cd "$1" 2>/dev/null && pwd) || ROOT=$1
  [ "$ROOT" != / ] || ROOT=''
}

# Runs a command that changes the system outside the files we write (apt-get, systemctl start…).
run() {
  if [ "$DRY_RUN" = 1 ]; then
    say "  would run: $*"
  elif root_mode; then
    say "  root mode, not run: $*"
  else
    say "  + $*"
    "$@"
  fi
}

# systemctl for services: real, the test's stand-in, or (root mode without one) not run.
svc() {
  if [ -n "${HEARTH_SYSTEMCTL:-}" ]; then
    if [ "$DRY_RUN" = 1 ]; then say "  would run: systemctl $*"; else "$HEARTH_SYSTEMCTL" "$@"; fi
  else
    run systemctl "$@"
  fi
}

# Queries (is-active…) must not print or fail the script; without a systemd to ask they say "no".
svc_query() {
  if [ -n "${HEARTH_SYSTEMCTL:-}" ]; then
    "$HEARTH_SYSTEMCTL" "$@" >/dev/null 2>&1
  elif root_mode; then
    return 1
  else
    systemctl "$@" >/dev/null 2>&1
  fi
}

RELOADED=0
daemon_reload_once() {
  [ "$RELOADED" = 0 ] || return 0
  RELOADED=1
  svc daemon-reload
}

# Unit enablement works offline on a root (systemctl --root), so it is real in root mode too.
unit_enabled() { systemctl ${ROOT:+--root="$ROOT"} is-enabled --quiet "$1" 2>/dev/null; }
enable_unit() {
  unit_enabled "$1" && return 0
  changed "enable $1"
  [ "$DRY_RUN" = 1 ] || systemctl ${ROOT:+--root="$ROOT"} --quiet enable "$1"
}
disable_unit() {
  [ -e "$ROOT$UNIT_DIR/$1" ] || return 0
  unit_enabled "$1" || return 0
  changed "disable $1"
  [ "$DRY_RUN" = 1 ] || systemctl ${ROOT:+--root="$ROOT"} --quiet disable "$1"
}

uid_of() { awk -F: -v n="$1" '$1 == n { print $3; f = 1 } END { exit !f }' "$ROOT/etc/passwd" 2>/dev/null; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3; f = 1 } END { exit !f }' "$ROOT/etc/group" 2>/dev/null; }
owner_ids() { # NAME GROUP → "uid gid" (root is 0 even in an empty root)
  local u g
  if [ "$1" = root ]; then u=0; else u=$(uid_of "$1") || return 1; fi
  if [ "$2" = root ]; then g=0; else g=$(gid_of "$2") || return 1; fi
  printf '%s %s' "$u" "$g"
}

# Mode and ownership of an existing path (PATH is already prefixed).
fix_attrs() { # ROOTED_PATH MODE OWNER GROUP LABEL
  local p=$1 mode=$2 label=$5 ids have
  if ! ids=$(owner_ids "$3" "$4"); then
    changed "set $label to $mode $3:$4"
    return 0
  fi
  have=$(stat -c '%a %u %g' "$p")
  [ "$have" = "$(printf '%o' "$((8#$mode))") $ids" ] && return 0
  changed "set $label to $mode $3:$4"
  [ "$DRY_RUN" = 1 ] && return 0
  chown "${ids% *}:${ids#* }" "$p"
  chmod "$mode" "$p"
}

ensure_dir() { # PATH MODE OWNER GROUP
  local p=$ROOT$1
  if [ -d "$p" ]; then
    fix_attrs "$p" "$2" "$3" "$4" "$1"
    return 0
  fi
  changed "create $1 ($2 $3:$4)"
  [ "$DRY_RUN" = 1 ] && return 0
  mkdir -p "$p"
  fix_attrs "$p" "$2" "$3" "$4" "$1" >/dev/null
}

# Writes standard input to PATH when it differs (atomically: temp file beside it, then rename).
# FILE_CHANGED says whether it changed anything.
FILE_CHANGED=0
ensure_file() { # PATH MODE OWNER GROUP
  local p=$ROOT$1 mode=$2 tmp ids before=$CHANGES
  FILE_CHANGED=1
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$p" ] && [ ! -L "$p" ] && cmp -s "$tmp" "$p"; then
    rm -f "$tmp"
    fix_attrs "$p" "$mode" "$3" "$4" "$1"
    [ "$CHANGES" != "$before" ] || FILE_CHANGED=0
    return 0
  fi
  if [ -e "$p" ]; then changed "update $1"; else changed "write $1 ($mode $3:$4)"; fi
  if [ "$DRY_RUN" = 1 ]; then
    rm -f "$tmp"
    return 0
  fi
  mkdir -p "$(dirname "$p")"
  ids=$(owner_ids "$3" "$4") || die "no user $3 or group $4 in $ROOT/etc/passwd"
  chown "${ids% *}:${ids#* }" "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$p.hearth-new"
  mv -f "$p.hearth-new" "$p"
}

ensure_absent() { # PATH…
  local rel
  for rel in "$@"; do
    case $rel in /?*) ;; *) die "refusing to remove \"$rel\"" ;; esac
    [ -e "$ROOT$rel" ] || [ -L "$ROOT$rel" ] || continue
    changed "remove $rel"
    [ "$DRY_RUN" = 1 ] || rm -rf -- "$ROOT$rel"
  done
}

# A real run changes the machine: ask once, unless --yes (or nothing real will change).
confirm() { # QUESTION
  if [ "$ASSUME_YES" = 1 ] || [ "$DRY_RUN" = 1 ] || root_mode; then return 0; fi
  [ -t 0 ] || die "standard input is not a terminal: pass --yes to $1 without asking"
  local answer
  read -r -p "$PROG: $1? [y/N] " answer
  case $answer in y | Y | yes | YES) ;; *) die "stopped, nothing changed" ;; esac
}

require_root_user() {
  [ "$DRY_RUN" = 1 ] || [ "$(id -u)" = 0 ] || die "run as root (sudo $0 …), or try --dry-run"
}

# ---- distribution -------------------------------------------------------------------------------------

NODE_FROM='' # debian | nodesource | present

node_version_ok() { # true when this machine already has Node ≥ 20.19
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}

# Reads <root>/etc/os-release. Trixie and later ship Node 20; bookworm and older need NodeSource.
check_distro() { # WANT_NODESOURCE
  local file=$ROOT/etc/os-release id='' like='' codename='' version=''
  [ -r "$file" ] || file=$ROOT/usr/lib/os-release
  [ -r "$file" ] || die "cannot read $ROOT/etc/os-release: is this Debian or Raspberry Pi OS?"
  # shellcheck disable=SC1090 # os-release is shell syntax by specification
  IFS='|' read -r id like codename version < <(
    . "$file"
    printf '%s|%s|%s|%s\n' "${ID:--}" "${ID_LIKE:--}" "${VERSION_CODENAME:--}" "${VERSION_ID:--}"
  )
  [ "$codename" != - ] || codename=''
  case "$id $like" in
    *debian* | raspbian*) ;;
    *) die "unsupported distribution \"$id\": Hearth installs on Debian or Raspberry Pi OS (trixie)" ;;
  esac
  case $codename in
    buster | bullseye | bookworm)
      if [ "$1" = 1 ]; then
        NODE_FROM=nodesource
        say "  distribution: $id $codename; Node.js $NODESOURCE_MAJOR from NodeSource's repository (--nodesource)"
      elif ! root_mode && node_version_ok; then
        NODE_FROM=present
        say "  distribution: $id $codename; Node.js $(node --version) is already installed"
      else
        die "$id $codename ships Node.js 18, and Hearth needs Node.js 20.19 or newer.
  Either install Raspberry Pi OS / Debian trixie (recommended: Node 20 comes with it), or run again with
  --nodesource to add NodeSource's Node.js $NODESOURCE_MAJOR repository (deb.nodesource.com) to this system."
      fi
      ;;
    '')
      if ! [ "${version%%.*}" -ge 13 ] 2>/dev/null; then
        die "cannot tell the $id release from $file (no VERSION_CODENAME): Hearth needs trixie or later"
      fi
      NODE_FROM=debian
      ;;
    *)
      NODE_FROM=debian
      say "  distribution: $id $codename; Node.js from the distribution"
      ;;
  esac
  if [ "$NODE_FROM" = debian ] && ! root_mode && node_version_ok; then NODE_FROM=present; fi
}

NODESOURCE_MAJOR=${NODESOURCE_MAJOR:-22}

# NodeSource's documented manual setup (armoured key + deb822 source), without piping a script to bash.
ensure_nodesource() {
  [ "$NODE_FROM" = nodesource ] || return 0
  local key=/etc/apt/keyrings/nodesource.asc
  if [ ! -s "$ROOT$key" ]; then
    changed "fetch NodeSource's signing key into $key"
    run install -d -m 0755 /etc/apt/keyrings
    run curl -fsSL -o "$key" https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key
  fi
  ensure_file /etc/apt/sources.list.d/nodesource.sources 0644 root root <<EOF
Types: deb
URIs: https://deb.nodesource.com/node_$NODESOURCE_MAJOR.x
Suites: nodistro
Components: main
Signed-By: $key
EOF
  # Debian's own nodejs must not win over NodeSource's on a later apt upgrade.
  ensure_file /etc/apt/preferences.d/nodesource 0644 root root <<'EOF'
Package: nodejs
Pin: origin deb.nodesource.com
Pin-Priority: 600
EOF
}

ensure_packages() { # PACKAGE…
  local missing=() pkg
  if root_mode; then
    say "  root mode, not installing packages: $*"
    return 0
  fi
  for pkg in "$@"; do
    if [ "$pkg" = nodejs ] && [ "$NODE_FROM" = nodesource ]; then
      # Debian's nodejs 18 may be installed already: NodeSource's (pinned higher) replaces it.
      node_version_ok || missing+=("$pkg")
      continue
    fi
    dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  changed "install packages: ${missing[*]}"
  [ "$DRY_RUN" = 1 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  run apt-get update -q
  run apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The packages Node itself needs, by where it comes from (NodeSource's nodejs carries npm).
node_packages() {
  case $NODE_FROM in
    debian) printf '%s\n' nodejs npm ;;
    nodesource) printf '%s\n' nodejs ;;
  esac
}

# ---- the hearth user ----------------------------------------------------------------------------------

ensure_user() { # GROUP… (joined only where they exist)
  local g members
  if root_mode && [ "$DRY_RUN" = 0 ]; then
    # useradd --prefix needs the account files to exist in the root.
    for g in passwd group shadow gshadow; do [ -e "$ROOT/etc/$g" ] || install -D -m 0644 /dev/null "$ROOT/etc/$g"; done
  fi
  if ! uid_of "$HEARTH_USER" >/dev/null; then
    changed "create system user $HEARTH_USER (home $DATA_DIR, no login)"
    [ "$DRY_RUN" = 1 ] || useradd ${ROOT:+--prefix "$ROOT"} --system --user-group --home-dir "$DATA_DIR" \
      --no-create-home --shell /usr/sbin/nologin --comment 'Hearth home monitoring' "$HEARTH_USER"
  fi
  for g in "$@"; do
    if ! gid_of "$g" >/dev/null; then
      say "  group $g does not exist here: skipped"
      continue
    fi
    members=$(awk -F: -v n="$g" '$1 == n { print "," $4 "," }' "$ROOT/etc/group")
    case $members in *",$HEARTH_USER,"*) continue ;; esac
    changed "add $HEARTH_USER to group $g"
    [ "$DRY_RUN" = 1 ] || usermod ${ROOT:+--prefix "$ROOT"} -aG "$g" "$HEARTH_USER"
  done
}

remove_user() {
  uid_of "$HEARTH_USER" >/dev/null || return 0
  changed "remove user $HEARTH_USER"
  [ "$DRY_RUN" = 1 ] || userdel ${ROOT:+--prefix "$ROOT"} "$HEARTH_USER" 2>/dev/null ||
    userdel ${ROOT:+--prefix "$ROOT"} "$HEARTH_USER"
  if gid_of "$HEARTH_USER" >/dev/null; then
    [ "$DRY_RUN" = 1 ] || groupdel ${ROOT:+--prefix "$ROOT"} "$HEARTH_USER" 2>/dev/null || true
  fi
}

# Runs a command as the hearth user (numeric ids from the root's passwd, so it works in root mode too).
as_hearth() {
  local uid gid
  uid=$(uid_of "$HEARTH_USER") || die "no user $HEARTH_USER"
  gid=$(gid_of "$HEARTH_USER") || die "no group $HEARTH_USER"
  setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
}

# ---- the application ----------------------------------------------------------------------------------

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PREBUILT=0
BUILD_FILE=.hearth-build

# The files of the source tree that make up the app, NUL-separated. A tree already built (--prebuilt)
# is taken with its node_modules and dist folders; otherwise those are made here.
source_files() {
  local prune=(-name .git -o -name var -o -name .pio -o -name "$BUILD_FILE" -o -path ./firmware/test/host/build)
  [ "$PREBUILT" = 1 ] || prune+=(-o -name node_modules -o -name dist -o -name '*.tsbuildinfo')
  (cd "$SRC" && find . \( "${prune[@]}" \) -prune -o \( -type f -o -type l \) -print0 | LC_ALL=C sort -z)
}

# Names the build: a hash of every source file's path and content.
source_stamp() {
  (cd "$SRC" && source_files | xargs -0 -r sha256sum | sha256sum | cut -c1-16)
}

installed_stamp() { # DIR
  [ -f "$ROOT$1/$BUILD_FILE" ] || return 0
  sed -n 's/^stamp=//p' "$ROOT$1/$BUILD_FILE"
}

# Copies the source tree into DIR (which must not exist) and builds it there as production runs it.
build_app() { # DIR STAMP
  local dest=$ROOT$1 describe
  changed "build the app from $SRC into ${1%.new}"
  [ "$DRY_RUN" = 1 ] && return 0
  rm -rf "$dest"
  mkdir -p "$dest"
  source_files | tar -C "$SRC" --null -T - -cf - | tar -C "$dest" -xf -
  if [ "$PREBUILT" = 1 ]; then
    say "  prebuilt tree: npm ci / npm run build / npm prune skipped"
  else
    (cd "$dest" && npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev --no-audit --no-fund) ||
      {
        rm -rf "$dest"
        die "building the app in $1 failed (see npm's output above); nothing was installed"
      }
  fi
  describe=$(git -C "$SRC" describe --always --dirty 2>/dev/null || printf 'unknown')
  printf 'stamp=%s\nsource=%s\ngit=%s\n' "$2" "$SRC" "$describe" >"$dest/$BUILD_FILE"
  chown -R 0:0 "$dest"
  chmod -R u=rwX,go=rX "$dest"
}

# Installs this source tree's build as the app unless one is there; an older one is left for update.sh.
APP_CHANGED=0
install_app() {
  local want have
  want=$(source_stamp)
  have=$(installed_stamp "$APP_DIR")
  if [ -z "$have" ]; then
    build_app "$APP_DIR.new" "$want"
    if [ "$DRY_RUN" = 0 ]; then
      rm -rf "$ROOT$APP_DIR"
      mv "$ROOT$APP_DIR.new" "$ROOT$APP_DIR"
    fi
    APP_CHANGED=1
  elif [ "$have" = "$want" ]; then
    say "  $APP_DIR is this source tree's build ($want)"
  else
    say "  $APP_DIR holds another build ($have; this tree is $want): left as it is."
    say "  Upgrade with scripts/update.sh (it backs up first and rolls back a failed start)."
  fi
}

# Sets one key of a JSON config file (dotted path; an empty value removes it), keeping every other key.
ensure_json_key() { # PATH MODE OWNER GROUP KEY VALUE [KEY VALUE…] (an empty VALUE removes the key)
  local out
  command -v node >/dev/null || {
    changed "set $5 in $1"
    return 0
  }
  out=$(mktemp)
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("node:fs");
    const [file, ...pairs] = process.argv.slice(1);
    let config = {};
    try { config = JSON.parse(fs.readFileSync(file, "utf8")); } catch (error) {
      if (error.code !== "ENOENT") { console.error(`${file}: ${error.message}`); process.exit(1); }
    }
    for (let k = 0; k < pairs.length; k += 2) {
      const [key, value] = [pairs[k], pairs[k + 1]];
      const path = key.split(".");
      const last = path.pop();
      const parents = [config];
      for (const part of path) {
        const parent = parents.at(-1);
        if (typeof parent[part] !== "object" || parent[part] === null) parent[part] = {};
        parents.push(parent[part]);
      }
      if (value) parents.at(-1)[last] = value;
      else delete parents.at(-1)[last];
      // Objects emptied by the removal go too.
      for (let i = path.length - 1; i >= 0; i--) {
        if (Object.keys(parents[i + 1]).length === 0) delete parents[i][path[i]];
      }
    }
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
  ' "$ROOT$1" "${@:5}" >"$out" || die "cannot update $1 (is it valid JSON?)"
  ensure_file "$1" "$2" "$3" "$4" <"$out"
  rm -f "$out"
}

# ---- systemd units ------------------------------------------------------------------------------------

# The unit files a role installs, from the app's systemd folder (the hub: all but hearth-node.*).
role_units() { # ROLE APP_SYSTEMD_DIR
  local f name
  for f in "$2"/hearth-*.service "$2"/hearth-*.timer; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    case $1:$name in hub:hearth-node.*) continue ;; node:hearth-node.*) ;; node:*) continue ;; esac
    printf '%s\n' "$name"
  done
}

# Units come with the installed app (so they match its build); before the first install, from the source.
unit_source_dir() {
  if [ -d "$ROOT$APP_DIR/systemd" ]; then printf '%s' "$ROOT$APP_DIR/systemd"; else printf '%s' "$SRC/systemd"; fi
}

# Copies the role's units; UNITS_CHANGED tells the caller to reload systemd.
UNITS_CHANGED=0
install_units() { # ROLE
  local dir name
  dir=$(unit_source_dir)
  for name in $(role_units "$1" "$dir"); do
    ensure_file "$UNIT_DIR/$name" 0644 root root <"$dir/$name"
    [ "$FILE_CHANGED" = 0 ] || UNITS_CHANGED=1
  done
}

# ---- health ------------------------------------------------------------------------------------------

# True when the hub answers its public health route with status "ok".
hub_healthy() { # PORT
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    fetch(`http://127.0.0.1:${process.argv[1]}/api/health`, { signal: AbortSignal.timeout(3000) })
      .then(async (r) => process.exit(r.ok && (await r.json()).status === "ok" ? 0 : 1), () => process.exit(1));
  ' "$1" 2>/dev/null
}

env_value() { # FILE KEY → value from a KEY=VALUE file (empty when either is missing)
  [ -f "$1" ] || return 0
  sed -n "s/^$2=//p" "$1" | tail -n 1
}

summary() { # WHAT
  if [ "$CHANGES" = 0 ]; then
    say "$PROG: nothing to change: $1 is already as asked"
  elif [ "$DRY_RUN" = 1 ]; then
    say "$PROG: dry run: $CHANGES change(s) would be made; nothing was changed"
  else
    say "$PROG: $CHANGES change(s) made"
  fi
}
