#!/usr/bin/env bash
# Installs (or removes) a Hearth edge node (the hearth-node agent) on Debian / Raspberry Pi OS, from the
# source tree this script sits in. Idempotent like setup.sh; see --help and docs/operations.md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/nas.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/nas.sh"

usage() {
  cat <<EOF
Usage: sudo scripts/setup-node.sh --hub URL [options]

  --hub URL            the hub, e.g. http://hearth.local:8080 (its host also becomes this node's
                       time server)
  --code CODE          a one-time enrolment code ("Add node" in the UI, or "hearth node code" on the
                       hub); also read from HEARTH_NODE_CODE. Without it, enrol later (printed at the end)
  --nas-source SRC     the NAS the node's cameras record to: host:/export/hearth or //host/share
  --nas-type nfs|cifs  default nfs (cifs when SRC starts with //)
  --nas-user USER      CIFS user; the password comes from HEARTH_NAS_PASSWORD or is asked for
  --nodesource         on bookworm (Node 18): add NodeSource's Node.js $NODESOURCE_MAJOR repository
  --yes                do not ask before changing this machine
  --uninstall          stop and remove the unit, the app and the time setting; keep the node's state
  --purge              --uninstall, and delete /var/lib/hearth-node (its token and outbox) and the user
  --dry-run            print every change it would make, change nothing
  --root DIR           act on DIR as if it were / (tests)
  --prebuilt           the source tree is already built: copy it as it is
EOF
}

HUB_URL='' CODE=${HEARTH_NODE_CODE:-} NAS_SOURCE='' NAS_TYPE='' NAS_USER=''
WANT_NODESOURCE=0 UNINSTALL=0 PURGE=0
while [ $# -gt 0 ]; do
  case $1 in
    --hub) HUB_URL=${2:?--hub needs a URL}; shift ;;
    --code) CODE=${2:?--code needs a value}; shift ;;
    --nas-source) NAS_SOURCE=${2:?--nas-source needs a value}; shift ;;
    --nas-type) NAS_TYPE=${2:?--nas-type needs nfs or cifs}; shift ;;
    --nas-user) NAS_USER=${2:?--nas-user needs a value}; shift ;;
    --nodesource) WANT_NODESOURCE=1 ;;
    --yes | -y) ASSUME_YES=1 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) UNINSTALL=1 PURGE=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --root) ROOT_ARG=${2:?--root needs a folder}; shift ;;
    --prebuilt) PREBUILT=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
[ -z "${ROOT_ARG:-}" ] || set_root "$ROOT_ARG"

STATE_DIR=/var/lib/hearth-node
NODE_CONFIG=$STATE_DIR/config.json
CHRONY_FILE=/etc/chrony/conf.d/hearth-node.conf
UNIT=hearth-node.service

enrolled() { [ -f "$ROOT$STATE_DIR/node.json" ]; }

uninstall() {
  confirm "$([ "$PURGE" = 1 ] && printf 'remove the Hearth node and its state' || printf 'remove the Hearth node (state kept)')"
  say "$PROG: removing the Hearth edge node${ROOT:+ from $ROOT}"
  local name
  for name in "$UNIT" "$AUTOMOUNT_UNIT"; do
    if [ -e "$ROOT$UNIT_DIR/$name" ] && ! root_mode && svc_query is-active --quiet "$name"; then
      svc stop "$name"
    fi
    disable_unit "$name"
  done
  ensure_absent "$UNIT_DIR/$UNIT" "$UNIT_DIR/$MOUNT_UNIT" "$UNIT_DIR/$AUTOMOUNT_UNIT" "$CHRONY_FILE" \
    "$APP_DIR" "$APP_DIR.prev" "$APP_DIR.new" "$APP_DIR.failed"
  if [ "$CHANGES" != 0 ] && ! root_mode; then
    svc daemon-reload
    svc try-restart chrony.service
  fi
  if [ "$PURGE" = 1 ]; then
    ensure_absent "$STATE_DIR" "$CONF_DIR"
    remove_user
  else
    [ ! -d "$ROOT$STATE_DIR" ] || say "  kept: $STATE_DIR (token, outbox, config); --purge deletes it"
  fi
  summary "the node's removal"
}

install_node() {
  local host packages
  [ -n "$HUB_URL" ] || die "--hub URL is needed (the hub's address, e.g. http://hearth.local:8080)"
  [[ $HUB_URL =~ ^https?://([^/:@]+|\[[0-9a-fA-F:]+\])(:[0-9]+)?/?$ ]] ||
    die "--hub must be a URL like http://hearth.local:8080, not \"$HUB_URL\""
  host=${BASH_REMATCH[1]}
  host=${host#[}
  host=${host%]}
  confirm "install a Hearth edge node on this machine"
  say "$PROG: installing a Hearth edge node for $HUB_URL${ROOT:+ into $ROOT}$([ "$DRY_RUN" = 0 ] || printf ' (dry run)')"
  check_distro "$WANT_NODESOURCE"
  nas_type_default

  say "packages"
  ensure_nodesource
  mapfile -t packages < <(node_packages)
  # gpiod: the GPIO sensors' tools; avahi + libnss-mdns: resolving <hub>.local.
  packages+=(ffmpeg chrony avahi-daemon libnss-mdns gpiod ca-certificates g++ make python3)
  mapfile -t -O ${#packages[@]} packages < <(nas_packages)
  ensure_packages "${packages[@]}"

  say "user and folders"
  ensure_user dialout video gpio
  ensure_dir "$STATE_DIR" 0700 "$HEARTH_USER" "$HEARTH_USER"
  ensure_dir "$CONF_DIR" 0750 root "$HEARTH_USER"
  [ -d "$ROOT$NAS_DIR" ] || ensure_dir "$NAS_DIR" 0755 root root

  say "app"
  install_app

  say "configuration"
  # The agent's own file (sensors, cameras) belongs to the operator; setup only records the NAS mount.
  if [ -n "$NAS_SOURCE" ]; then
    ensure_json_key "$NODE_CONFIG" 0600 "$HEARTH_USER" "$HEARTH_USER" nasDir "$NAS_DIR"
  elif [ ! -e "$ROOT$NODE_CONFIG" ]; then
    ensure_file "$NODE_CONFIG" 0600 "$HEARTH_USER" "$HEARTH_USER" <<<'{}'
  fi
  local node_changed=$FILE_CHANGED
  ensure_file "$CHRONY_FILE" 0644 root root <<EOF
# Written by Hearth's scripts/setup-node.sh: the hub is the household's clock, reachable without internet.
server $host iburst prefer
EOF
  local chrony_changed=$FILE_CHANGED

  say "systemd unit"
  install_units node
  [ "$UNITS_CHANGED" = 0 ] || node_changed=1
  [ -e "$(unit_source_dir)/$UNIT" ] || warn "this source tree has no systemd/$UNIT"
  setup_nas
  [ "$UNITS_CHANGED" = 0 ] || daemon_reload_once
  [ "$chrony_changed" = 0 ] || svc restart chrony.service

  say "enrolment"
  if enrolled; then
    say "  enrolled already ($STATE_DIR/node.json)"
  elif [ -n "$CODE" ]; then
    changed "enrol with the hub at $HUB_URL"
    if [ "$DRY_RUN" = 0 ]; then
      if root_mode; then
        say "  root mode, not run: hearth-node enrol --hub $HUB_URL"
      else
        # The code goes on standard input, never on the agent's command line.
        as_hearth /usr/bin/env node "$APP_DIR/node/bin/hearth-node.js" --state-dir "$STATE_DIR" \
          enrol --hub "$HUB_URL" <<<"$CODE" || die "enrolment failed (above); get a new code and run again with --code"
      fi
    fi
  fi

  if [ -e "$ROOT$UNIT_DIR/$UNIT" ] || [ "$DRY_RUN" = 1 ]; then
    if enrolled || { [ -n "$CODE" ] && ! root_mode; }; then
      enable_unit "$UNIT"
      if [ "$node_changed" = 1 ] || [ "$CHANGES" != 0 ]; then
        svc restart "$UNIT"
      elif ! root_mode && ! svc_query is-active --quiet "$UNIT"; then
        svc start "$UNIT"
      fi
    else
      say "  not enrolled yet: get a code (Nodes → Add node, or \"hearth node code\" on the hub), then"
      say "    sudo $0 --hub $HUB_URL --code XXXX-XXXX"
    fi
  fi

  summary "the Hearth edge node"
}

require_root_user
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ "$UNINSTALL" = 1 ]; then uninstall; else install_node; fi
