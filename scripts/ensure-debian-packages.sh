#!/usr/bin/env bash
# Install Debian packages that provide the given commands, if missing: ensure-debian-packages.sh wrk[:pkg] ...
# A spec "@pkg" is a package without a command (fonts), checked with dpkg.
# (`make bench` needs wrk; `.ci/run` needs nginx for the two-instance test.) Needs root or sudo, and apt.
set -euo pipefail
missing=()
for spec in "$@"; do
  if [ "${spec#@}" != "$spec" ]; then
    dpkg -s "${spec#@}" >/dev/null 2>&1 || missing+=("${spec#@}")
    continue
  fi
  command_name="${spec%%:*}"; package="${spec#*:}"
  command -v "$command_name" >/dev/null 2>&1 || [ -x "/usr/sbin/$command_name" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
