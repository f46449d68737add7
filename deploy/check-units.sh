#!/usr/bin/env bash
# Checks the systemd units in deploy/ without a running systemd:
#   1. `systemd-analyze verify` on each unit; the only error tolerated is the missing
#      /usr/local/bin/vwf-* executable (not installed on a build machine);
#   2. `systemd-analyze security --offline=true` on each unit, printing the "Overall exposure
#      level" and failing when it is above the unit's limit: 2.0 for the signer (it holds the
#      witness's active key), 3.0 for the monitor and its template.
# A template (name@.service) is checked as its instance name@check.service, which
# systemd-analyze loads from the template file beside it.
# Installs systemd with apt-get when systemd-analyze is missing and we are root (CI).
set -euo pipefail
cd "$(dirname "$0")"

# unit file -> highest exposure accepted (systemd-analyze's 0.0-10.0 scale)
units=("vwf-signer.service:2.0" "vwf-monitor.service:3.0" "vwf-monitor@.service:3.0")

if ! command -v systemd-analyze >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "systemd-analyze not found: installing systemd"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends systemd >/dev/null
  else
    echo "error: systemd-analyze not found; install systemd (apt-get install systemd)" >&2
    exit 1
  fi
fi
systemd-analyze --version | head -n 1

failed=0
for entry in "${units[@]}"; do
  unit=${entry%%:*}
  limit=${entry##*:}
  file=$unit
  [[ -f $file ]] || { echo "FAIL $file: missing"; failed=1; continue; }
  if [[ $unit == *@.service ]]; then
    unit=${unit%@.service}@check.service
  fi

  # verify: unknown directives, bad values and dependency problems show up as lines naming the
  # unit; a missing ExecStart= binary is expected here.
  verify_out=$(systemd-analyze verify "./$unit" 2>&1 || true)
  unexpected=$(printf '%s\n' "$verify_out" \
    | grep -F -e "$unit" -e "$file" \
    | grep -Ev "Command /usr/local/bin/vwf-[a-z]+ is not executable: No such file or directory" \
    || true)
  if [[ -n $unexpected ]]; then
    echo "FAIL $unit: systemd-analyze verify:"
    printf '%s\n' "$unexpected" | sed 's/^/  /'
    failed=1
  else
    echo "ok   $unit: systemd-analyze verify (missing /usr/local/bin binaries ignored)"
  fi

  security_out=$(systemd-analyze security --offline=true --no-pager "./$unit" 2>&1) || {
    echo "FAIL $unit: systemd-analyze security failed:"
    printf '%s\n' "$security_out"
    failed=1
    continue
  }
  exposure=$(printf '%s\n' "$security_out" \
    | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' | tail -n 1)
  if [[ -z $exposure ]]; then
    echo "FAIL $unit: no \"Overall exposure level\" in systemd-analyze's output:"
    printf '%s\n' "$security_out"
    failed=1
    continue
  fi
  if awk -v e="$exposure" -v l="$limit" 'BEGIN { exit !(e + 0 <= l + 0) }'; then
    echo "ok   $unit: exposure $exposure (limit $limit)"
  else
    echo "FAIL $unit: exposure $exposure is above $limit; what is still exposed:"
    printf '%s\n' "$security_out" | grep '✗' || true
    failed=1
  fi
done
exit "$failed"
