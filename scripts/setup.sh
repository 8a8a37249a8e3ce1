#!/usr/bin/env bash
# Installs (or removes) the Hearth hub on Debian / Raspberry Pi OS, from the source tree this script sits in.
# Idempotent: a second run changes nothing and says so. See --help, and docs/operations.md "Install".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/nas.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/nas.sh"

usage() {
  cat <<EOF
Usage: sudo scripts/setup.sh [options]

  --nas-source SRC     the NAS share: host:/export/hearth (NFS) or //host/share (CIFS)
  --nas-type nfs|cifs  default nfs (cifs when SRC starts with //)
  --nas-user USER      CIFS user; the password comes from HEARTH_NAS_PASSWORD or is asked for
  --port N             HTTP port (default 8080, or what a previous run chose); below 1024 the unit
                       gets CAP_NET_BIND_SERVICE
  --https-port N       HTTPS port (default 8443)
  --staging auto|tmpfs|disk
                       where ffmpeg writes segments before they are placed: auto = tmpfs (/run/hearth)
                       when the root filesystem is an SD card, else on disk (/var/lib/hearth/staging)
  --nodesource         on bookworm (Node 18): add NodeSource's Node.js $NODESOURCE_MAJOR repository
  --remote             also install wireguard-tools (for "hearth remote")
  --yes                do not ask before changing this machine
  --uninstall          stop and remove the units, the app and the LAN settings; keep data and config
  --purge              --uninstall, and delete /var/lib/hearth, /etc/hearth and the hearth user too
  --dry-run            print every change it would make, change nothing
  --root DIR           act on DIR as if it were / (tests): files, users and unit links are made there,
                       packages, service starts and mounts are only printed
  --prebuilt           the source tree is already built (node_modules, dist): copy it as it is
                       instead of npm ci / npm run build / npm prune
EOF
}

NAS_SOURCE='' NAS_TYPE='' NAS_USER='' PORT='' HTTPS_PORT='' STAGING=auto
WANT_NODESOURCE=0 REMOTE=0 UNINSTALL=0 PURGE=0
while [ $# -gt 0 ]; do
  case $1 in
    --nas-source) NAS_SOURCE=${2:?--nas-source needs a value}; shift ;;
    --nas-type) NAS_TYPE=${2:?--nas-type needs nfs or cifs}; shift ;;
    --nas-user) NAS_USER=${2:?--nas-user needs a value}; shift ;;
    --port) PORT=${2:?--port needs a number}; shift ;;
    --https-port) HTTPS_PORT=${2:?--https-port needs a number}; shift ;;
    --staging) STAGING=${2:?--staging needs auto, tmpfs or disk}; shift ;;
    --nodesource) WANT_NODESOURCE=1 ;;
    --remote) REMOTE=1 ;;
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

ENV_FILE=$CONF_DIR/hearth.env
CONFIG_FILE=$CONF_DIR/config.json
DROPIN_DIR=$UNIT_DIR/hearth-hub.service.d
DROPIN=$DROPIN_DIR/setup.conf
AVAHI_FILE=/etc/avahi/services/hearth.service
CHRONY_FILE=/etc/chrony/conf.d/hearth.conf
RUN_DIR=/run/hearth
COMMAND=/usr/local/bin/hearth

valid_port() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }

uninstall() {
  local name
  confirm "$([ "$PURGE" = 1 ] && printf 'remove Hearth and delete its data' || printf 'remove Hearth (data kept)')"
  say "$PROG: removing Hearth${ROOT:+ from $ROOT}"
  for name in $(role_units hub "$ROOT$UNIT_DIR") "$AUTOMOUNT_UNIT"; do
    if [ -e "$ROOT$UNIT_DIR/$name" ] && ! root_mode && svc_query is-active --quiet "$name"; then
      svc stop "$name"
    fi
    disable_unit "$name"
  done
  # shellcheck disable=SC2046 # unit names have no spaces
  ensure_absent $(role_units hub "$ROOT$UNIT_DIR" | sed "s|^|$UNIT_DIR/|") "$DROPIN_DIR" \
    "$UNIT_DIR/$MOUNT_UNIT" "$UNIT_DIR/$AUTOMOUNT_UNIT" "$AVAHI_FILE" "$CHRONY_FILE" \
    "$APP_DIR" "$APP_DIR.prev" "$APP_DIR.new" "$APP_DIR.failed" "$COMMAND"
  if [ "$CHANGES" != 0 ] && ! root_mode; then
    svc daemon-reload
    svc try-reload-or-restart avahi-daemon.service
    svc try-restart chrony.service
  fi
  if [ "$PURGE" = 1 ]; then
    ensure_absent "$DATA_DIR" "$CONF_DIR" "$RUN_DIR"
    remove_user
    # The mount point only: never anything on the NAS.
    if [ -d "$ROOT$NAS_DIR" ] && ! mountpoint -q "$ROOT$NAS_DIR" && [ -z "$(ls -A "$ROOT$NAS_DIR")" ]; then
      changed "remove the empty mount point $NAS_DIR"
      [ "$DRY_RUN" = 1 ] || rmdir "$ROOT$NAS_DIR"
    fi
  else
    [ ! -d "$ROOT$DATA_DIR" ] || say "  kept: $DATA_DIR (data) and $CONF_DIR (config); --purge deletes them"
  fi
  say "  packages (nodejs, ffmpeg, avahi-daemon, chrony…) stay installed; remove them with apt if unwanted"
  summary "Hearth's removal"
}

staging_kind() {
  case $STAGING in
    tmpfs | disk) printf '%s' "$STAGING" ;;
    auto)
      if root_mode; then
        printf disk
      else
        case $(findmnt -no SOURCE /) in /dev/mmcblk*) printf tmpfs ;; *) printf disk ;; esac
      fi
      ;;
    *) die "--staging must be auto, tmpfs or disk" ;;
  esac
}

# The hub's config file: setup.sh owns only storage.stagingDir and backup.schedule in it (nightly backups
# come from hearth-backup.timer, not the hub's own schedule); anything else the operator set stays.
write_config_json() { # STAGING_DIR (empty: the default under the data folder)
  ensure_json_key "$CONFIG_FILE" 0640 root "$HEARTH_USER" storage.stagingDir "$1" backup.schedule timer
}

install_hub() {
  local kind staging_dir='' env_old hub_changed=0 name packages units_dir
  confirm "install the Hearth hub on this machine"
  say "$PROG: installing the Hearth hub${ROOT:+ into $ROOT}$([ "$DRY_RUN" = 0 ] || printf ' (dry run)')"
  check_distro "$WANT_NODESOURCE"
  env_old=$ROOT$ENV_FILE
  # A later run without --port keeps what the first one chose.
  [ -n "$PORT" ] || PORT=$(env_value "$env_old" HEARTH_PORT)
  [ -n "$HTTPS_PORT" ] || HTTPS_PORT=$(env_value "$env_old" HEARTH_HTTPS_PORT)
  PORT=${PORT:-8080} HTTPS_PORT=${HTTPS_PORT:-8443}
  valid_port "$PORT" || die "--port must be a port number, not \"$PORT\""
  valid_port "$HTTPS_PORT" || die "--https-port must be a port number, not \"$HTTPS_PORT\""
  [ "$PORT" != "$HTTPS_PORT" ] || die "--port and --https-port must differ"
  nas_type_default
  kind=$(staging_kind)
  say "  HTTP port $PORT, HTTPS port $HTTPS_PORT, staging on $kind"

  say "packages"
  ensure_nodesource
  mapfile -t packages < <(node_packages)
  packages+=(ffmpeg bluez avahi-daemon libnss-mdns chrony sqlite3 ca-certificates g++ make python3)
  mapfile -t -O ${#packages[@]} packages < <(nas_packages)
  [ "$REMOTE" = 0 ] || packages+=(wireguard-tools)
  ensure_packages "${packages[@]}"

  say "user and folders"
  ensure_user bluetooth video dialout gpio
  ensure_dir "$DATA_DIR" 0700 "$HEARTH_USER" "$HEARTH_USER"
  ensure_dir "$CONF_DIR" 0750 root "$HEARTH_USER"
  # The unit names the mount point in ReadWritePaths=, so it exists even without a NAS. Never chmod
  # it once there: it may be the NAS itself.
  [ -d "$ROOT$NAS_DIR" ] || ensure_dir "$NAS_DIR" 0755 root root

  say "app"
  install_app
  [ "$APP_CHANGED" = 0 ] || hub_changed=1

  # `sudo hearth doctor` and friends, with the hub's settings and as its user.
  ensure_file "$COMMAND" 0755 root root <"$(dirname "${BASH_SOURCE[0]}")/setup/hearth"

  say "configuration"
  [ "$kind" = disk ] || staging_dir=$RUN_DIR/staging
  ensure_file "$ENV_FILE" 0640 root "$HEARTH_USER" <<EOF
# Written by Hearth's scripts/setup.sh; running it again rewrites this file (keeping the ports it chose).
# Any other hub setting goes in $CONFIG_FILE (HEARTH_CONFIG), which setup.sh leaves alone
# apart from storage.stagingDir.
HEARTH_PORT=$PORT
HEARTH_HTTPS_PORT=$HTTPS_PORT
HEARTH_DATA_DIR=$DATA_DIR
HEARTH_NAS_DIR=$NAS_DIR
HEARTH_CONFIG=$CONFIG_FILE
EOF
  [ "$FILE_CHANGED" = 0 ] || hub_changed=1
  write_config_json "$staging_dir"
  [ "$FILE_CHANGED" = 0 ] || hub_changed=1

  say "systemd units"
  install_units hub
  [ "$UNITS_CHANGED" = 0 ] || hub_changed=1
  # What this installation adds to the shipped unit: tmpfs staging, a privileged port.
  if [ "$kind" = tmpfs ] || [ "$PORT" -lt 1024 ] || [ "$HTTPS_PORT" -lt 1024 ]; then
    {
      printf '# Written by Hearth'"'"'s scripts/setup.sh for this installation; running it again rewrites it.\n[Service]\n'
      if [ "$kind" = tmpfs ]; then
        printf '# Staging on tmpfs spares the SD card; a power cut loses only the segment in progress.\n'
        printf 'RuntimeDirectory=hearth\nRuntimeDirectoryMode=0700\nRuntimeDirectoryPreserve=yes\n'
      fi
      if [ "$PORT" -lt 1024 ] || [ "$HTTPS_PORT" -lt 1024 ]; then
        printf '# A port below 1024 was chosen.\n'
        printf 'AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nPrivateUsers=no\n'
      fi
    } >"$TMP/dropin"
    ensure_file "$DROPIN" 0644 root root <"$TMP/dropin"
    [ "$FILE_CHANGED" = 0 ] || UNITS_CHANGED=1
  elif [ -e "$ROOT$DROPIN" ]; then
    ensure_absent "$DROPIN_DIR"
    UNITS_CHANGED=1
  fi
  [ "$UNITS_CHANGED" = 0 ] || hub_changed=1

  say "names and time on the LAN"
  ensure_file "$AVAHI_FILE" 0644 root root <<EOF
<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<!-- Written by Hearth's scripts/setup.sh: the hub's web UI, found on the LAN as <hostname>.local. -->
<service-group>
  <name replace-wildcards="yes">Hearth on %h</name>
  <service>
    <type>_http._tcp</type>
    <port>$PORT</port>
    <txt-record>path=/</txt-record>
  </service>
  <service>
    <type>_https._tcp</type>
    <port>$HTTPS_PORT</port>
    <txt-record>path=/</txt-record>
  </service>
</service-group>
EOF
  local avahi_changed=$FILE_CHANGED
  ensure_file "$CHRONY_FILE" 0644 root root <<'EOF'
# Written by Hearth's scripts/setup.sh: this hub is the household's clock. Cameras, edge nodes and
# phones on the LAN may ask it for the time...
allow 10.0.0.0/8
allow 172.16.0.0/12
allow 192.168.0.0/16
allow 169.254.0.0/16
allow fc00::/7
# ...and it keeps answering when the internet (and so every upstream server) is gone.
local stratum 10
EOF
  local chrony_changed=$FILE_CHANGED

  setup_nas

  say "services"
  units_dir=$(unit_source_dir)
  for name in $(role_units hub "$units_dir"); do
    if grep -q '^\[Install\]' "$units_dir/$name"; then enable_unit "$name"; fi
  done
  [ "$UNITS_CHANGED" = 0 ] || daemon_reload_once
  [ "$avahi_changed" = 0 ] || svc reload-or-restart avahi-daemon.service
  [ "$chrony_changed" = 0 ] || svc restart chrony.service
  for name in $(role_units hub "$units_dir"); do
    case $name in
      hearth-hub.service)
        if [ "$hub_changed" = 1 ]; then
          svc restart "$name"
        elif ! root_mode && ! svc_query is-active --quiet "$name"; then
          svc start "$name"
        fi
        ;;
      *.timer)
        if ! root_mode && ! svc_query is-active --quiet "$name"; then svc start "$name"; fi
        ;;
    esac
  done

  summary "the Hearth hub"
  if [ "$CHANGES" != 0 ] && [ "$DRY_RUN" = 0 ] && ! root_mode; then
    say "  open http://$(hostname).local:$PORT/setup and enter the code that \`sudo hearth setup-code\` prints;"
    say "  \`sudo hearth doctor\` checks the installation"
  fi
}

require_root_user
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ "$UNINSTALL" = 1 ]; then uninstall; else install_hub; fi
