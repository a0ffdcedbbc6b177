#!/usr/bin/env bash
# Runs every test of LuaXmpp: builds the solution (Release), runs each test project,
# and prints as its LAST line exactly "N passed, M failed, K skipped" summed over all
# suites. Exit status 0 only if nothing failed and every suite ran.
#
# Meant for a fresh Debian machine with the .NET SDK, as root (CI: `bash .ci/run`).
# Installs what the integration tests need when it is missing: slixmpp (the client
# scripts), Prosody and its modules (the Lua modules LuaXmpp hosts), Lua 5.4, LuaDBI
# SQLite and PostgreSQL (server 15 for the storage tests, LuaDBI for Prosody on it) and
# openssl. LUAXMPP_SKIP_APT=1 skips that step.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
RESULTS="$ROOT/TestResults"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

PACKAGES=(python3-slixmpp python3-prometheus-client prosody prosody-modules lua5.4 lua-expat lua-sec lua-dbi-sqlite3 lua-unbound openssl postgresql lua-dbi-postgresql)

# Test classes run a second time on PostgreSQL (see main).
POSTGRES_FILTER="FullyQualifiedName~OfflineMessageTests|FullyQualifiedName~ContactTests|FullyQualifiedName~SmacksResumeTests|FullyQualifiedName~LuaXmpp.Tests.Mam.MamClientTests|FullyQualifiedName~LuaXmpp.Tests.Mam.MamProtocolTests|FullyQualifiedName~LuaXmpp.Tests.Mam.MamServerTests"

# Integration classes that load the machine or hold a time or memory budget: they run alone, after
# the two lanes (see main). Prefixes of FullyQualifiedName, space-separated.
# (BOSH: a client slower than bosh_max_inactivity's 2 s between requests would lose its session.)
SOLO_CLASSES="LuaXmpp.Tests.Reliability. LuaXmpp.Tests.ProsodyModules.ProsodyLimitsTests
LuaXmpp.Tests.Storage.AsyncLoadTests LuaXmpp.Tests.StreamManagement.SmacksLoadTests
LuaXmpp.Tests.Http.BoshTests. LuaXmpp.Tests.Http.StropheBoshTests."
# Reliability classes that assert no time, rate or memory figure (outcomes only, generous
# timeouts): they run in lane a. Each must match a SOLO_CLASSES prefix too, so that the three
# filters below split the integration tests with each in exactly one.
LANED_RELIABILITY="LuaXmpp.Tests.Reliability.HostileInputTests. LuaXmpp.Tests.Reliability.ProtocolAbuseTests.
LuaXmpp.Tests.Reliability.MamAbuseTests. LuaXmpp.Tests.Reliability.AddressingTests.
LuaXmpp.Tests.Reliability.StanzaIdDurabilityTests. LuaXmpp.Tests.Reliability.AckDurabilityKillTests."
# Integration namespaces of lane a; lane b takes every other one (new namespaces included).
LANE_A_NAMESPACES="LuaXmpp.Tests.ProsodyModules. LuaXmpp.Tests.Storage. LuaXmpp.Tests.Cli.
LuaXmpp.Tests.Pipeline. LuaXmpp.Tests.Components. LuaXmpp.Tests.Bench."

# any_of "P1 P2...": a test filter matching names containing any P; not_any: containing none.
any_of() { local p out=(); for p in $1; do out+=("FullyQualifiedName~$p"); done; (IFS='|'; echo "${out[*]}"); }
not_any() { local p out=(); for p in $1; do out+=("FullyQualifiedName!~$p"); done; (IFS='&'; echo "${out[*]}"); }
NOT_SOLO=$(not_any "$SOLO_CLASSES")
LANE_A_FILTER="(($(any_of "$LANE_A_NAMESPACES"))&$NOT_SOLO)|$(any_of "$LANED_RELIABILITY")"
LANE_B_FILTER="$(not_any "$LANE_A_NAMESPACES")&$NOT_SOLO"
SOLO_FILTER="($(any_of "$SOLO_CLASSES"))&$(not_any "$LANED_RELIABILITY")"

summary() { # passed failed skipped: the one line every caller (CI) looks for, always last
    echo "$1 passed, $2 failed, $3 skipped"
}

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

install_packages() {
    if [[ "${LUAXMPP_SKIP_APT:-}" == 1 ]] || ! command -v dpkg-query >/dev/null; then
        return
    fi
    local missing
    missing=$(missing_packages)
    if [[ -z "$missing" ]]; then
        echo "== test dependencies already installed"
        return
    fi
    echo "== installing:" $missing
    if [[ $(id -u) -ne 0 ]]; then
        echo "need root to install packages (or set LUAXMPP_SKIP_APT=1)" >&2
        return 1
    fi
    # Keep the prosody package's service from starting and taking port 5222.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086 # one word per package
    apt-get install -y --no-install-recommends $missing
}

# Sums the ResultSummary counters of all TRX files: "passed failed skipped notrun-files".
trx_totals() {
    local py=/usr/bin/python3
    [[ -x $py ]] || py=python3
    "$py" - "$@" <<'PY'
import sys
import xml.etree.ElementTree as ET

ns = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
passed = failed = skipped = 0
failures = []
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    # Count the results themselves: xunit's skips are "NotExecuted" results, but the summary
    # counters of the TRX logger leave notExecuted at 0.
    for result in root.iter(ns + "UnitTestResult"):
        outcome = result.get("outcome", "")
        if outcome == "Passed":
            passed += 1
        elif outcome in ("NotExecuted", "Inconclusive"):
            skipped += 1
        else:
            failed += 1
            failures.append((path, result))
# The names of what failed, with the first line of each message, just above the summary: a CI
# log is often read only from its end.
# The first failures also get their message's opening lines (client output, server log tail),
# indented, since a CI log may be all there is to explain them.
for number, (path, result) in enumerate(failures):
    message = result.find(f"{ns}Output/{ns}ErrorInfo/{ns}Message")
    lines = [l for l in (message.text or "").strip().splitlines() if l.strip()] if message is not None else []
    print(f"FAILED {result.get('testName')} ({path.rsplit('/', 1)[-1]}): {lines[0] if lines else ''}"[:400],
          file=sys.stderr)
    if number < 3:
        for line in lines[1:30]:
            print(f"    {line}"[:300], file=sys.stderr)
print(passed, failed, skipped)
PY
}

# run_suite NAME PROJECT [dotnet test args...]: one test run into $RESULTS/NAME.trx (collect_results
# reads them all at the end, so a run may go on in a background lane).
run_suite() {
    local name=$1 project=$2 rc=0
    shift 2
    local trx="$RESULTS/$name.trx"
    echo "== dotnet test $project $*"
    # --blame-hang-timeout: a stuck test must not eat the CI budget.
    dotnet test "$project" --no-build -c Release "$@" \
        --logger "trx;LogFileName=$trx" --logger "console;verbosity=normal" \
        --results-directory "$RESULTS" --blame-hang-timeout 10m || rc=$?
    if [[ -f "$trx" ]]; then
        echo "== $name: exit code $rc"
    else
        echo "== $name: DID NOT RUN (exit code $rc, no $trx)" >&2
    fi
}

# collect_results NAME...: the TRX of each named run into trx_files, the names without one into
# not_run. A run without a single result counts as not run: a mistyped filter selects nothing and
# dotnet test still exits 0.
collect_results() {
    local name
    for name in "$@"; do
        if [[ -f "$RESULTS/$name.trx" ]] && grep -q "<UnitTestResult " "$RESULTS/$name.trx"; then
            trx_files+=("$RESULTS/$name.trx")
        else
            not_run+=("$name")
        fi
    done
}

# xmpp.js and strophe.js (from npm, pinned by package-lock.json) for the WebSocket and BOSH client tests.
install_js_clients() {
    local dir="$ROOT/tests/LuaXmpp.Integration.Tests/clients/js"
    # Every package the JS client tests load must be there, or npm ci runs again.
    [[ -d "$dir/node_modules/@xmpp/client" && -d "$dir/node_modules/strophe.js" ]] && return
    if ! command -v npm >/dev/null; then
        echo "npm is missing: the xmpp.js and strophe.js tests will fail" >&2
        return
    fi
    echo "== npm ci (xmpp.js, strophe.js)"
    (cd "$dir" && npm ci --no-audit --no-fund)
}

main() {
    install_packages
    install_js_clients

    echo "== dotnet build LuaXmpp.sln -c Release"
    if ! dotnet build LuaXmpp.sln -c Release; then
        echo "BUILD FAILED" >&2
        summary 0 0 0
        return 1
    fi

    rm -rf "$RESULTS"
    mkdir -p "$RESULTS"
    local integration=tests/LuaXmpp.Integration.Tests/LuaXmpp.Integration.Tests.csproj
    local project suites=()
    for project in tests/*/*.csproj; do
        [[ $project == "$integration" ]] || suites+=("$(basename "$project" .csproj)")
    done
    suites+=(LuaXmpp.Integration.Tests.a LuaXmpp.Integration.Tests.b
        LuaXmpp.Integration.Tests.postgresql LuaXmpp.Integration.Tests.solo)

    # Most integration scenarios spend their time starting processes and waiting on sockets, about
    # one core's worth: two lanes share the two cores of CI. Lane b (the other test projects, the
    # PostgreSQL pass and the integration namespaces not in lane a) writes to a file, printed
    # whole when it ends, so the live log stays one lane's.
    local lane_b_log="$RESULTS/lane-b.log"
    # Each lane's servers take ports from their own slice (tests/.../Fixtures/FreePorts.cs), so
    # the two lanes never probe the same port at the same time.
    (
        export LUAXMPP_TEST_PORT_SLICE=1/3
        for project in tests/*/*.csproj; do
            [[ $project == "$integration" ]] || run_suite "$(basename "$project" .csproj)" "$project"
        done
        run_suite LuaXmpp.Integration.Tests.b "$integration" --filter "$LANE_B_FILTER"
        # The storage-bound scenarios again with every test server on PostgreSQL 15 (a fresh
        # database each on one server the fixture starts; tests/.../Fixtures/ServerStorage.cs).
        LUAXMPP_ITEST_STORAGE=postgresql run_suite LuaXmpp.Integration.Tests.postgresql \
            "$integration" --filter "$POSTGRES_FILTER"
    ) >"$lane_b_log" 2>&1 &
    local lane_b=$!
    LUAXMPP_TEST_PORT_SLICE=0/3 run_suite LuaXmpp.Integration.Tests.a "$integration" --filter "$LANE_A_FILTER"
    wait "$lane_b" || true
    echo "== lane b (run at the same time as the above):"
    cat "$lane_b_log"
    # Load, memory and time-budget scenarios last, alone on the machine as before.
    LUAXMPP_TEST_PORT_SLICE=2/3 run_suite LuaXmpp.Integration.Tests.solo "$integration" --filter "$SOLO_FILTER"

    not_run=() trx_files=()
    collect_results "${suites[@]}"
    local passed=0 failed=0 skipped=0
    if ((${#trx_files[@]} > 0)); then
        read -r passed failed skipped < <(trx_totals "${trx_files[@]}")
    fi
    if ((${#not_run[@]} > 0)); then
        echo "suites that did not run: ${not_run[*]}" >&2
    fi
    summary "$passed" "$failed" "$skipped"
    ((failed == 0 && ${#not_run[@]} == 0))
}

main "$@"
