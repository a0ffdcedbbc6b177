#!/bin/sh
# Runs bench/bridge-yardstick.lua inside a real Prosody (the Debian package) in a temp directory
# and prints its timings (ns per operation). Binds nothing but a loopback port chosen here.
# DEPLOYMENT=1 also loads mod_mam, mod_carbons and mod_blocklist (memory storage), so that
# post_headline_pass is the pass PassBenchmarks measures with the deployment modules.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/luaxmpp-yardstick-XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/plugins" "$dir/data"
cp "$here/bridge-yardstick.lua" "$dir/plugins/mod_bridge_yardstick.lua"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/prosody.cfg.lua" <<CFG
run_as_root = true
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
plugin_paths = { "$dir/plugins" }
interfaces = { "127.0.0.1" }
c2s_ports = { $port }
s2s_ports = {} http_ports = {} https_ports = {} component_ports = {} c2s_direct_tls_ports = {}
log = { error = "$dir/prosody.log" }
modules_enabled = { "bridge_yardstick" $( [ -n "${DEPLOYMENT:-}" ] && echo ', "mam", "carbons", "blocklist"' ) }
storage = "memory"
bridge_yardstick_out = "$dir/results.txt"
bridge_yardstick_iterations = ${ITERATIONS:-200000}
VirtualHost "localhost"
CFG
timeout "${YARDSTICK_TIMEOUT:-300}" prosody --config "$dir/prosody.cfg.lua" -F >/dev/null 2>&1 || true
if [ ! -s "$dir/results.txt" ]; then echo "no results; prosody log:" >&2; cat "$dir/prosody.log" >&2; exit 1; fi
sort "$dir/results.txt"
