#!/usr/bin/env bash
# Installs and prepares the real SSH peers that the interop tests start on
# loopback ports: OpenSSH sshd/ssh/sftp (required), plus dropbear, PuTTY tools,
# paramiko, asyncssh and a few fleet tools (optional: a failure to install them
# is reported and tolerated; the tests that need them print SKIPPED).
#
# Usage (as root, Debian 12):  bash scripts/ci-setup-peers.sh [--ci] [--no-apt]
#   --ci      also keep the system sshd from running on port 22 (CI machines
#             only: on a developer machine your own sshd is left alone).
#   --no-apt  skip apt-get (packages already installed).
# The tests never use port 22; each starts its own sshd on a free port.
set -euo pipefail

ci=0
apt=1
for arg in "$@"; do
  case "$arg" in
    --ci) ci=1 ;;
    --no-apt) apt=0 ;;
    *) echo "ci-setup-peers: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "ci-setup-peers: must run as root (installs packages, creates a test user)" >&2
  exit 1
fi

# Every peer the suites use: CI must never skip a suite for a missing peer.
required_packages=(openssh-server openssh-client openssl dropbear-bin putty-tools python3-paramiko python3-asyncssh curl)
# Not needed by any test: the fleet benchmark's anchors (load-tests/fleet-run.ts),
# and gdb, with which scripts/test-watchdog.mjs prints the native stacks of a
# test file's process that does not finish.
optional_packages=(pssh pdsh clustershell gdb)
test_user=fleetssh-test
test_password=fleetssh-test-pw

log() { printf 'ci-setup-peers: %s\n' "$*"; }

if [ "$apt" -eq 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confold
            -o Acquire::Retries=3 -o Acquire::http::Timeout=30)
  # In CI, keep package scripts from starting services (sshd on port 22, dropbear)
  # while they install: Debian's invoke-rc.d asks policy-rc.d first.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ "$ci" -eq 1 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  cleanup_policy() { if [ "$made_policy" -eq 1 ]; then rm -f "$policy"; fi; }
  trap cleanup_policy EXIT

  log "apt-get update"
  apt-get update -q -o Acquire::Retries=3 -o Acquire::http::Timeout=30
  log "installing required: ${required_packages[*]}"
  apt-get install "${apt_opts[@]}" "${required_packages[@]}"
  log "installing optional: ${optional_packages[*]}"
  if ! apt-get install "${apt_opts[@]}" "${optional_packages[@]}"; then
    log "WARNING: the optional packages did not install together; trying one by one"
    for p in "${optional_packages[@]}"; do
      apt-get install "${apt_opts[@]}" "$p" || log "WARNING: optional package $p not installed"
    done
  fi
  cleanup_policy
  trap - EXIT
fi

for bin in /usr/sbin/sshd /usr/bin/ssh /usr/bin/ssh-keygen /usr/bin/sftp; do
  [ -x "$bin" ] || { echo "ci-setup-peers: missing $bin after install" >&2; exit 1; }
done

if [ "$ci" -eq 1 ]; then
  # Never let a system sshd hold port 22 on CI: stop it and keep it stopped.
  touch /etc/ssh/sshd_not_to_be_run
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
  if command -v service >/dev/null 2>&1; then
    service ssh stop >/dev/null 2>&1 || true
  fi
  if [ -s /run/sshd.pid ]; then
    kill "$(cat /run/sshd.pid)" 2>/dev/null || true
  fi
fi

# Privilege separation directory, needed by every sshd we start.
mkdir -p /run/sshd
chmod 0755 /run/sshd

# The Unix user for password and keyboard-interactive tests.
if ! id "$test_user" >/dev/null 2>&1; then
  log "creating user $test_user"
  useradd --create-home --shell /bin/bash "$test_user"
fi
echo "$test_user:$test_password" | chpasswd
home_dir=$(getent passwd "$test_user" | cut -d: -f6)
mkdir -p "$home_dir"
chown "$test_user:" "$home_dir"

log "sshd: $(/usr/sbin/sshd -V 2>&1 | head -n1 || true)"
log "done"
