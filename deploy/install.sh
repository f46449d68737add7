#!/usr/bin/env bash
# Installs vwf-signer or vwf-monitor on this host, as root, in the layout the units expect:
#
#   /usr/local/bin/vwf-signer, vwf-monitor   the daemons
#   /usr/local/sbin/vwf-run                  runs a command with a unit's credentials (deploy/vwf-run)
#   /etc/systemd/system/vwf-*.service        the units (replaced on every run: put your changes
#                                            in drop-ins, `systemctl edit UNIT`)
#   /etc/vwf-signer/signer.toml              config (installed from an example if missing)
#   /etc/vwf-signer/ca.pem, server.pem       public certificates
#   /etc/vwf-signer/tls-key.cred             credentials, encrypted with `systemd-creds encrypt`
#   /etc/vwf-signer/age-identity.cred        (host key, and TPM2 if present)
#   /etc/vwf-signer/active.age               the active key, age-encrypted to that identity (0600)
#   /etc/vwf-monitor/monitor.toml            config; an instance INST of vwf-monitor@.service
#   /etc/vwf-monitor/ca.pem, client.pem      uses /etc/vwf-monitor/INST/ instead
#   /etc/vwf-monitor/signer-client-key.cred, smtp-password.cred, webhook-url.cred
#   /var/lib/vwf-signer, /var/lib/vwf-monitor[-INST]   state, made by systemd (StateDirectory=)
#
# Usage (from the repository after `cargo build --release -p vwf-signer -p vwf-monitor`; the
# binaries are taken from $BIN_DIR, default target/release):
#   deploy/install.sh signer  [CERTS_DIR]
#   deploy/install.sh monitor [--instance INST] [CERTS_DIR]
#
# Safe to run again: files that exist are kept (configs, certificates, credentials); only the
# binaries, units and vwf-run are replaced. Delete a .cred file to have it made anew.
#
# signer: CERTS_DIR (default /etc/vwf-signer/certs) holds `vwf-signer certs init` output; if it has no
#   server.key, certs init is run there (asks for the name the monitor reaches the signer at).
#   server.key becomes tls-key.cred and is shredded. A new age identity is generated in memory,
#   encrypted straight into age-identity.cred (it never touches the disk in plain), and
#   `vwf-signer key import` reads the WIF (without echo, or from stdin) into active.age sealed
#   to it. CERTS_DIR keeps ca.key and the monitor's client key: move them off this host.
# monitor: CERTS_DIR (default /etc/vwf-signer/certs when it holds a client key, as on a host that
#   runs both, else /root/vwf-certs) holds ca.pem and one client-NAME.pem/.key pair
#   (or set CLIENT=NAME); the key becomes signer-client-key.cred and is shredded. The SMTP
#   password and webhook URL are asked for (empty: that sink is not used; remove it from the
#   config) and go straight into their .cred files. A drop-in, 10-credentials.conf, makes the
#   unit load exactly the .cred files that exist.
set -euo pipefail

die() {
  echo "install.sh: $*" >&2
  exit 1
}
say() { echo "== $*"; }

[[ $(id -u) -eq 0 ]] || die "run as root"
command -v systemd-creds >/dev/null || die "systemd-creds not found (systemd 250 or later)"
repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${BIN_DIR:-$repo/target/release}
umask 077

# Reads one secret line without echo (from stdin when it is not a terminal).
ask_secret() {
  local prompt=$1 value
  if [[ -t 0 ]]; then
    read -r -s -p "$prompt" value
    echo >&2
  else
    read -r value || true
  fi
  printf '%s' "$value"
}

# encrypt NAME SOURCE DEST: SOURCE is a file or - (stdin); writes DEST atomically, mode 0600.
encrypt() {
  systemd-creds encrypt --name="$1" "$2" "$3.new"
  chmod 0600 "$3.new"
  mv -f "$3.new" "$3"
}

install_common() {
  local daemon=$1
  [[ -x $bin_dir/$daemon ]] || die "$bin_dir/$daemon not found: build it first, or set BIN_DIR"
  install -m 0755 "$bin_dir/$daemon" "/usr/local/bin/$daemon"
  install -m 0755 "$repo/deploy/vwf-run" /usr/local/sbin/vwf-run
  say "installed /usr/local/bin/$daemon and /usr/local/sbin/vwf-run"
}

reload() {
  if [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
  fi
}

install_signer() {
  local certs=${1:-/etc/vwf-signer/certs} etc=/etc/vwf-signer
  install_common vwf-signer
  install -m 0644 "$repo/deploy/vwf-signer.service" /etc/systemd/system/vwf-signer.service
  install -d -m 0755 "$etc"
  if [[ ! -e $etc/signer.toml ]]; then
    install -m 0644 "$repo/deploy/signer.example.toml" "$etc/signer.toml"
    say "installed $etc/signer.toml from deploy/signer.example.toml: EDIT IT (nodes, policy)"
  fi

  if [[ ! -e $etc/tls-key.cred ]]; then
    if [[ ! -e $certs/server.key ]]; then
      local name=${SERVER_NAME:-}
      if [[ -z $name ]]; then
        read -r -p "Name or IP the monitor reaches this signer at [localhost]: " name || true
      fi
      install -d -m 0700 "$certs"
      vwf-signer certs init --dir "$certs" --server-name "${name:-localhost}" \
        --client "${CLIENT_ID:-spiffe://vwf/monitor}"
    fi
    install -m 0644 "$certs/ca.pem" "$certs/server.pem" "$etc/"
    encrypt tls-key "$certs/server.key" "$etc/tls-key.cred"
    shred -u "$certs/server.key"
    say "$etc/tls-key.cred made from $certs/server.key (shredded)"
  fi

  if [[ ! -e $etc/age-identity.cred || ! -e $etc/active.age ]]; then
    command -v age-keygen >/dev/null || die "age-keygen not found: apt-get install age"
    local profile identity recipient
    profile=$(sed -n 's/^profile *= *"\([A-Z]*\)".*/\1/p' "$etc/signer.toml" | head -n 1)
    identity=$(age-keygen 2>/dev/null)
    recipient=$(printf '%s\n' "$identity" | age-keygen -y)
    say "sealing the witness's ACTIVE key (profile ${profile:-VIT}) to a new age identity"
    vwf-signer key import --profile "${profile:-VIT}" --out "$etc/active.age.new" --force \
      --recipient "$recipient"
    printf '%s\n' "$identity" | encrypt age-identity - "$etc/age-identity.cred"
    unset identity
    chmod 0600 "$etc/active.age.new"
    mv -f "$etc/active.age.new" "$etc/active.age"
    say "$etc/active.age and $etc/age-identity.cred made (the identity exists nowhere else:" \
      "to replace the key, delete both and run this again)"
  fi
  reload
  if compgen -G "$certs/*.key" >/dev/null; then
    say "still in $certs:" "$(cd "$certs" && echo ./*.key)"
    say "ca.key belongs OFFLINE; client-*.key/.pem go to the monitor host (install.sh monitor);"
    say "then remove them here: shred -u $certs/*.key"
  fi
  cat <<EOF
== next: edit $etc/signer.toml; allow the nodes' addresses with \`systemctl edit vwf-signer\`
   ([Service] IPAddressAllow=ADDR...); then
     vwf-run vwf-signer check-config
     systemctl enable --now vwf-signer && journalctl -u vwf-signer
EOF
}

install_monitor() {
  local instance="" certs
  if [[ ${1:-} == --instance ]]; then
    instance=${2:?--instance needs a name}
    shift 2
  fi
  [[ -z $instance || $instance =~ ^[a-z0-9][a-z0-9-]{0,18}$ ]] ||
    die "instance name: lower-case letters, digits and -, at most 19 characters"
  certs=${1:-}
  if [[ -z $certs ]]; then
    certs=/root/vwf-certs
    if compgen -G "/etc/vwf-signer/certs/client-*.key" >/dev/null; then
      certs=/etc/vwf-signer/certs
    fi
  fi
  local etc=/etc/vwf-monitor unit=vwf-monitor.service state=/var/lib/vwf-monitor
  if [[ -n $instance ]]; then
    etc=/etc/vwf-monitor/$instance unit=vwf-monitor@$instance.service
    state=/var/lib/vwf-monitor-$instance
    install -m 0644 "$repo/deploy/vwf-monitor@.service" /etc/systemd/system/vwf-monitor@.service
  else
    install -m 0644 "$repo/deploy/vwf-monitor.service" /etc/systemd/system/vwf-monitor.service
  fi
  install_common vwf-monitor
  install -d -m 0755 /etc/vwf-monitor "$etc"
  if [[ ! -e $etc/monitor.toml ]]; then
    sed -e "s|/etc/vwf-monitor/|$etc/|g" -e "s|\"/var/lib/vwf-monitor\"|\"$state\"|" \
      "$repo/deploy/monitor-one-backup.example.toml" >"$etc/monitor.toml"
    chmod 0644 "$etc/monitor.toml"
    say "installed $etc/monitor.toml from deploy/monitor-one-backup.example.toml: EDIT IT"
  fi

  if [[ ! -e $etc/signer-client-key.cred ]]; then
    local client=${CLIENT:-}
    if [[ -z $client ]]; then
      local keys=("$certs"/client-*.key)
      [[ ${#keys[@]} -eq 1 && -e ${keys[0]} ]] ||
        die "$certs: expected one client-NAME.key (from vwf-signer certs init); set CLIENT=NAME"
      client=${keys[0]##*/client-}
      client=${client%.key}
    fi
    install -m 0644 "$certs/ca.pem" "$etc/ca.pem"
    install -m 0644 "$certs/client-$client.pem" "$etc/client.pem"
    encrypt signer-client-key "$certs/client-$client.key" "$etc/signer-client-key.cred"
    shred -u "$certs/client-$client.key"
    say "$etc/signer-client-key.cred made from $certs/client-$client.key (shredded)"
  fi
  local name prompt secret
  for name in smtp-password webhook-url; do
    [[ -e $etc/$name.cred ]] && continue
    prompt="$name for the alerts (empty: none): "
    secret=$(ask_secret "$prompt")
    if [[ -n $secret ]]; then
      printf '%s\n' "$secret" | encrypt "$name" - "$etc/$name.cred"
      say "$etc/$name.cred made"
    else
      say "no $name: remove its sink from $etc/monitor.toml"
    fi
  done
  unset secret

  # The unit loads exactly the credentials that exist.
  local dropin=/etc/systemd/system/$unit.d
  install -d -m 0755 "$dropin"
  {
    echo "# Written by deploy/install.sh: the credentials in $etc."
    echo "[Service]"
    echo "LoadCredentialEncrypted="
    local cred
    for cred in "$etc"/*.cred; do
      [[ -e $cred ]] || continue
      name=${cred##*/}
      echo "LoadCredentialEncrypted=${name%.cred}:$cred"
    done
  } >"$dropin/10-credentials.conf"
  chmod 0644 "$dropin/10-credentials.conf"
  reload
  cat <<EOF
== next: edit $etc/monitor.toml; allow the nodes', relay's and webhooks' addresses with
   \`systemctl edit $unit\` ([Service] IPAddressAllow=ADDR...); then
     vwf-run ${unit%.service} check-config --online
     vwf-run ${unit%.service} test-alert
     systemctl enable --now $unit && journalctl -u $unit
EOF
}

case ${1:-} in
  signer) shift; install_signer "$@" ;;
  monitor) shift; install_monitor "$@" ;;
  *) sed -n '18,21s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
