#!/usr/bin/env bash
# Runs the server on the repository's default config (or the one given with --config):
#   bash scripts/run.sh [--config FILE] [COMMAND ...]
# Every argument goes to luaxmpp as it is (see README, "Command line").
#
# The default config enables modules whose files are Prosody's (carbons, pep, bookmarks, MUC,
# SASL2, ...): LuaXmpp loads them from an installed Prosody (/usr/lib/prosody/modules). When they
# are missing on a Debian machine, this installs the prosody and prosody-modules packages first,
# with their service kept from starting (it would take port 5222): as root, or through sudo
# without a password prompt; otherwise it says how in one line and runs without them.
# LUAXMPP_SKIP_APT=1 skips that step.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

PACKAGES=(prosody prosody-modules)
# One file of each package: what the default config needs from them.
NEEDED=(/usr/lib/prosody/modules/mod_pep.lua /usr/lib/prosody/modules/mod_sasl2/mod_sasl2.lua)

have_modules() {
    local f
    for f in "${NEEDED[@]}"; do [[ -f $f ]] || return 1; done
}

# Installs the packages with no service started: a policy-rc.d that refuses (exit 101) while
# apt runs, when the machine has none, and the prosody service disabled for later boots.
install_packages() {
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "run.sh: Prosody's module files are missing; install them as root: apt-get install ${PACKAGES[*]} (the server now runs without those modules)" >&2
            return 0
        fi
    fi
    echo "run.sh: installing ${PACKAGES[*]} (Prosody's module files; its service is not started)" >&2
    local made_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
        "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    local status=0
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
        && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null \
        || status=$?
    if [[ $made_policy == 1 ]]; then
        "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
        # The package enabled its service for the next boot; LuaXmpp serves these ports instead.
        "${sudo[@]}" systemctl disable prosody >/dev/null 2>&1 || "${sudo[@]}" update-rc.d prosody disable >/dev/null 2>&1 || true
    fi
    if [[ $status -ne 0 ]]; then
        echo "run.sh: apt-get install ${PACKAGES[*]} failed (exit $status); the server now runs without those modules" >&2
    fi
}

if [[ "${LUAXMPP_SKIP_APT:-}" != 1 ]] && command -v apt-get >/dev/null && ! have_modules; then
    install_packages
fi

args=("$@")
if [[ " $* " != *" --config "* ]]; then args=(--config prosody.cfg.lua "$@"); fi
exec dotnet run --project src/Host -c Release -- "${args[@]}"
