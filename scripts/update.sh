#!/usr/bin/env bash
# Upgrades an installed Hearth (hub or edge node) to the source tree this script sits in:
# build beside the running one, stop, back up, swap, start (migrations run at start-up), and roll back to
# the previous build when the new one does not come up healthy. See --help and docs/operations.md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<EOF
Usage: sudo scripts/update.sh [options]

  --timeout S   how long the new build has to become active and healthy (default 120)
  --yes         do not ask first
  --dry-run     print every step, change nothing
  --root DIR    act on DIR as if it were / (tests; HEARTH_SYSTEMCTL names a systemctl stand-in)
  --prebuilt    the source tree is already built: copy it as it is
EOF
}

TIMEOUT=120
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift ;;
    --yes | -y) ASSUME_YES=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --root) ROOT_ARG=${2:?--root needs a folder}; shift ;;
    --prebuilt) PREBUILT=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
[ -z "${ROOT_ARG:-}" ] || set_root "$ROOT_ARG"

ENV_FILE=$ROOT$CONF_DIR/hearth.env
if [ -e "$ROOT$UNIT_DIR/hearth-hub.service" ]; then
  ROLE=hub UNIT=hearth-hub.service
elif [ -e "$ROOT$UNIT_DIR/hearth-node.service" ]; then
  ROLE=node UNIT=hearth-node.service
else
  die "no Hearth unit in $ROOT$UNIT_DIR: install with scripts/setup.sh (or setup-node.sh) first"
fi
PORT=$(env_value "$ENV_FILE" HEARTH_PORT)
PORT=${PORT:-8080}

# Started means: systemd calls the unit active (for Type=notify, after READY=1) and, for the hub, its
# health route answers. Services cannot be asked in root mode without a stand-in: then it is not checked.
wait_started() {
  local deadline=$((SECONDS + TIMEOUT))
  if root_mode && [ -z "${HEARTH_SYSTEMCTL:-}" ]; then
    say "  root mode: $UNIT not started, so not checked"
    return 0
  fi
  [ "$DRY_RUN" = 0 ] || return 0
  while [ "$SECONDS" -lt "$deadline" ]; do
    if svc_query is-active --quiet "$UNIT" && { [ "$ROLE" = node ] || hub_healthy "$PORT"; }; then
      say "  $UNIT is active$([ "$ROLE" = node ] || printf ' and http://127.0.0.1:%s/api/health answers ok' "$PORT")"
      return 0
    fi
    sleep 1
  done
  return 1
}

# The backup is made by the build that is installed now: it knows the schema the database has.
backup() {
  local line envs=()
  [ "$ROLE" = hub ] || return 0
  while IFS= read -r line; do
    case $line in
      HEARTH_DATA_DIR=* | HEARTH_NAS_DIR=* | HEARTH_CONFIG=*) envs+=("${line%%=*}=$ROOT${line#*=}") ;;
      HEARTH_*=*) envs+=("$line") ;;
    esac
  done < <(grep -E '^[A-Z_]+=' "$ENV_FILE" 2>/dev/null || true)
  say "  backing up with the installed build: hearth backup"
  if [ "$DRY_RUN" = 1 ]; then
    say "  would run: node $APP_DIR/hub/bin/hearth.js backup (as $HEARTH_USER)"
    return 0
  fi
  as_hearth env NODE_ENV=production "${envs[@]}" node "$ROOT$APP_DIR/hub/bin/hearth.js" backup
}

main() {
  local want have
  [ -f "$ROOT$APP_DIR/$BUILD_FILE" ] || die "$APP_DIR is not an installed Hearth build: run scripts/setup.sh first"
  want=$(source_stamp)
  have=$(installed_stamp "$APP_DIR")
  if [ "$want" = "$have" ]; then
    say "$PROG: $APP_DIR is already this source tree's build ($want): nothing to do"
    return 0
  fi
  confirm "upgrade Hearth from $have to $want (the $ROLE stops for the swap)"
  say "$PROG: upgrading the Hearth $ROLE from $have to $want${ROOT:+ in $ROOT}$([ "$DRY_RUN" = 0 ] || printf ' (dry run)')"

  say "1. build beside the running one"
  build_app "$APP_DIR.new" "$want"

  say "2. stop $UNIT and back up"
  svc stop "$UNIT"
  if ! backup; then
    svc start "$UNIT"
    rm -rf "${ROOT}$APP_DIR.new"
    die "the backup failed (above), so nothing was changed: $UNIT runs the old build again"
  fi

  say "3. swap: $APP_DIR.prev ← $APP_DIR ← $APP_DIR.new"
  ensure_absent "$APP_DIR.prev"
  changed "move $APP_DIR to $APP_DIR.prev and $APP_DIR.new to $APP_DIR"
  if [ "$DRY_RUN" = 0 ]; then
    mv "$ROOT$APP_DIR" "$ROOT$APP_DIR.prev"
    mv "$ROOT$APP_DIR.new" "$ROOT$APP_DIR"
  fi
  install_units "$ROLE"
  [ "$UNITS_CHANGED" = 0 ] || daemon_reload_once

  say "4. start (migrations run at start-up) and wait up to ${TIMEOUT}s"
  svc start "$UNIT"
  if wait_started; then
    summary "the upgrade"
    say "  the previous build stays in $APP_DIR.prev until the next upgrade"
    return 0
  fi

  say "5. $UNIT did not come up: rolling back to $have"
  svc stop "$UNIT" || true
  ensure_absent "$APP_DIR.failed"
  mv "$ROOT$APP_DIR" "$ROOT$APP_DIR.failed"
  mv "$ROOT$APP_DIR.prev" "$ROOT$APP_DIR"
  changed "restore $APP_DIR from $APP_DIR.prev (the failed build is kept in $APP_DIR.failed)"
  UNITS_CHANGED=0 RELOADED=0
  install_units "$ROLE"
  [ "$UNITS_CHANGED" = 0 ] || daemon_reload_once
  svc start "$UNIT"
  if wait_started; then
    die "upgrade failed and was rolled back: the old build ($have) runs again. Why the new one failed:
  journalctl -u $UNIT -b --no-pager | tail -n 50
  (if it had already migrated the database and the old build refuses it, restore the backup made in
  step 2 with: hearth restore FILE)"
  fi
  printf '%s: the rollback did not come up either: see journalctl -u %s\n' "$PROG" "$UNIT" >&2
  exit 2
}

require_root_user
main
