# shellcheck shell=bash
# The NAS as systemd .mount + .automount units (hub and edge node alike). Sourced after common.sh;
# the caller sets NAS_SOURCE, NAS_TYPE, NAS_USER and TMP.

CREDENTIALS=$CONF_DIR/nas-credentials
MOUNT_UNIT=$(systemd-escape -p --suffix=mount "$NAS_DIR") || die "systemd-escape is missing (package systemd)"
AUTOMOUNT_UNIT=${MOUNT_UNIT%.mount}.automount
NAS_CHANGED=0

nas_type_default() {
  if [ -n "$NAS_SOURCE" ] && [ -z "$NAS_TYPE" ]; then
    case $NAS_SOURCE in //*) NAS_TYPE=cifs ;; *) NAS_TYPE=nfs ;; esac
  fi
  [ -z "$NAS_TYPE" ] || [ -n "$NAS_SOURCE" ] || die "--nas-type needs --nas-source"
}

nas_packages() {
  case $NAS_TYPE in nfs) printf '%s\n' nfs-common ;; cifs) printf '%s\n' cifs-utils ;; esac
}

write_nas_units() { # sets NAS_CHANGED
  local what options type
  case $NAS_TYPE in
    nfs)
      what=$NAS_SOURCE
      type=nfs
      [[ $what == *:/* ]] || die "an NFS source looks like host:/export/path, not \"$what\""
      options=soft,timeo=150,retrans=3,_netdev,nofail
      ;;
    cifs)
      what=$NAS_SOURCE
      [[ $what == //* ]] || what="//${what/:\//\/}"
      type=cifs
      options="credentials=$CREDENTIALS,uid=$HEARTH_USER,gid=$HEARTH_USER,file_mode=0600,dir_mode=0700,soft,_netdev,nofail"
      write_credentials
      ;;
    *) die "--nas-type must be nfs or cifs" ;;
  esac
  # TimeoutSec= is what fstab's x-systemd.mount-timeout becomes; the automount means a missing NAS
  # never holds up boot, and the hub (not RequiresMountsFor=) starts and spools without it.
  ensure_file "$UNIT_DIR/$MOUNT_UNIT" 0644 root root <<EOF
# Written by Hearth's scripts/setup.sh: the NAS the hub records to. Mounted on first use by
# $AUTOMOUNT_UNIT; soft, so a NAS that goes away makes calls fail instead of hang.
[Unit]
Description=Hearth NAS ($what)
Documentation=file://$APP_DIR/docs/operations.md
After=network-online.target
Wants=network-online.target

[Mount]
What=$what
Where=$NAS_DIR
Type=$type
Options=$options
TimeoutSec=30
EOF
  [ "$FILE_CHANGED" = 0 ] || NAS_CHANGED=1
  ensure_file "$UNIT_DIR/$AUTOMOUNT_UNIT" 0644 root root <<EOF
# Written by Hearth's scripts/setup.sh: mounts $NAS_DIR when it is first used, so boot never waits for the NAS.
[Unit]
Description=Hearth NAS automount

[Automount]
Where=$NAS_DIR

[Install]
WantedBy=remote-fs.target
EOF
  [ "$FILE_CHANGED" = 0 ] || NAS_CHANGED=1
}

write_credentials() {
  local password=${HEARTH_NAS_PASSWORD:-}
  if [ -z "$NAS_USER" ] && [ -z "$password" ]; then
    [ -f "$ROOT$CREDENTIALS" ] && return 0
    die "a CIFS share needs --nas-user USER (and its password in HEARTH_NAS_PASSWORD, or typed)"
  fi
  [ -n "$NAS_USER" ] || NAS_USER=$(sed -n 's/^username=//p' "$ROOT$CREDENTIALS" 2>/dev/null)
  [ -n "$NAS_USER" ] || die "a CIFS share needs --nas-user USER"
  if [ -z "$password" ]; then
    [ -t 0 ] || die "the CIFS password: set HEARTH_NAS_PASSWORD (standard input is not a terminal)"
    read -r -s -p "Password of $NAS_USER on the NAS: " password
    printf '\n'
  fi
  ensure_file "$CREDENTIALS" 0600 root root < <(printf 'username=%s\npassword=%s\n' "$NAS_USER" "$password")
}

# The hub records to the NAS only when it carries the marker (an empty mount point never passes as
# the NAS). Written as the hearth user, which also proves that user may write there.
write_nas_marker() {
  local mnt=$ROOT$NAS_DIR marker
  # Looking inside triggers the automount (bounded, in case the NAS hangs).
  root_mode || [ "$DRY_RUN" = 1 ] || timeout 45 ls -A "$mnt" >/dev/null 2>&1 || true
  if ! mountpoint -q "$mnt" 2>/dev/null; then
    say "  the NAS is not mounted at $NAS_DIR yet: recordings are spooled locally until it is;"
    say "  run $PROG again once it mounts, to write its marker ($NAS_MARKER)"
    return 0
  fi
  marker=$mnt/$NAS_MARKER
  ! timeout 10 test -f "$marker" || return 0
  changed "write the NAS marker $NAS_DIR/$NAS_MARKER"
  [ "$DRY_RUN" = 1 ] && return 0
  # shellcheck disable=SC2016 # the inner shell expands $1
  printf '{"createdBy":"hearth-setup","createdAt":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" |
    timeout 20 setpriv --reuid="$(uid_of "$HEARTH_USER")" --regid="$(gid_of "$HEARTH_USER")" --clear-groups \
      -- sh -c 'umask 022 && cat >"$1"' sh "$marker" ||
    warn "the hearth user cannot write to the NAS ($marker): give it write access on the NAS (NFS: the
  export's owner or all_squash/anonuid to hearth's uid $(uid_of "$HEARTH_USER")), then run setup.sh again"
}

# Configures the NAS when asked, keeps one set up before, and writes its marker once it is mounted.
setup_nas() {
  if [ -n "$NAS_SOURCE" ]; then
    say "NAS ($NAS_TYPE $NAS_SOURCE at $NAS_DIR)"
    write_nas_units
  elif [ -e "$ROOT$UNIT_DIR/$AUTOMOUNT_UNIT" ]; then
    say "NAS (kept as set up before: $UNIT_DIR/$MOUNT_UNIT)"
  else
    say "NAS: none configured (--nas-source); recordings are spooled locally"
    return 0
  fi
  enable_unit "$AUTOMOUNT_UNIT"
  if [ "$NAS_CHANGED" = 1 ] || [ "$UNITS_CHANGED" = 1 ]; then daemon_reload_once; fi
  if [ "$NAS_CHANGED" = 1 ] || ! svc_query is-active --quiet "$AUTOMOUNT_UNIT"; then
    root_mode || svc start "$AUTOMOUNT_UNIT"
    if [ "$NAS_CHANGED" = 1 ] && svc_query is-active --quiet "$MOUNT_UNIT"; then
      say "  the NAS stays mounted with its old options until a reboot or: systemctl restart '$MOUNT_UNIT'"
    fi
  fi
  write_nas_marker
}
