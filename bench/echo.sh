#!/usr/bin/env bash
# Echo benchmark, side by side in one run: liburing's own examples/echo-server.c (compiled
# here from the pinned liburing-dev package), the façade's `uring serve echo`, and the same
# server on .NET's Socket (`uring serve echo --engine socket`). The three servers are pinned to
# one core and the load generator (bench/native/echo_load.c, part of no server) to another;
# every (message size, connections) point is measured against each server in turn.
# Prints one Markdown table (also written to bench/results/echo.md).
#
# Each point is measured ECHO_ROUNDS times per server (rounds interleaved across the servers)
# and the median is reported: the machine is shared, and single runs swing by 2x.
#
# Environment: ECHO_SECONDS (2), ECHO_WARMUP (0.5), ECHO_ROUNDS (3), SERVER_CPU (0), LOAD_CPU (1),
# ECHO_PORT (9400), ECHO_SIZES ("128 1024"), ECHO_CONNS ("1 10 100"), ECHO_BASELINE_DLL (unset): another build's uring.dll, measured as a fourth
# server in the same rounds ("façade, baseline"), to compare a change with what it replaces in
# the same minutes (build the old commit in a worktree, copy its bin/Release/net10.0 aside).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${ECHO_SECONDS:-2}
warmup=${ECHO_WARMUP:-0.5}
rounds=${ECHO_ROUNDS:-3}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
base_port=${ECHO_PORT:-9400}
baseline_dll=${ECHO_BASELINE_DLL:-}

source bench/servers.sh # work, pids, cleanup, wait_for_port, ticks, hz, median

sysroot=$(liburing-headers/fetch.sh | tail -n 1)
examples="$sysroot/usr/share/doc/liburing-dev/examples"
gcc -O2 -o "$work/echo_load" bench/native/echo_load.c
gcc -O2 -D_GNU_SOURCE -I bench/native -isystem "$sysroot/usr/include" \
    "$examples/echo-server.c" "$examples/helpers.c" "$sysroot/usr/lib/x86_64-linux-gnu/liburing.a" \
    -o "$work/echo_server_c"
dotnet build src/Uring.Cli/Uring.Cli.csproj -c Release -nologo -v q -clp:ErrorsOnly >&2
uring_dll=src/Uring.Cli/bin/Release/net10.0/uring.dll

names=("C example (liburing echo-server.c)" "façade (uring serve echo)" ".NET Socket (uring serve echo --engine socket)")
ports=($((base_port)) $((base_port + 1)) $((base_port + 2)))
if [[ -n $baseline_dll ]]; then
    names+=("façade, baseline ($baseline_dll)")
    ports+=($((base_port + 3)))
fi
servers=${#names[@]}

# `exec` in a subshell, so that $! is the server itself (a subshell that inherited the EXIT trap
# would otherwise stay in between, and killing it would orphan the server).
(exec taskset -c "$server_cpu" "$work/echo_server_c" "${ports[0]}" >"$work/c.log" 2>&1) &
pids+=($!)
(exec taskset -c "$server_cpu" dotnet "$uring_dll" serve echo --port "${ports[1]}" >"$work/ring.log" 2>&1) &
pids+=($!)
(exec taskset -c "$server_cpu" dotnet "$uring_dll" serve echo --engine socket --port "${ports[2]}" >"$work/socket.log" 2>&1) &
pids+=($!)
if [[ -n $baseline_dll ]]; then
    (exec taskset -c "$server_cpu" dotnet "$baseline_dll" serve echo --port "${ports[3]}" >"$work/baseline.log" 2>&1) &
    pids+=($!)
fi
for port in "${ports[@]}"; do
    wait_for_port "$port"
done
# Warm every server up (the .NET ones need their JIT tiers) before anything is measured.
for port in "${ports[@]}"; do
    for conns in 1 100; do
        taskset -c "$load_cpu" "$work/echo_load" "$port" "$conns" 1024 1 0 >/dev/null
    done
done


measure() { # pid port conns msg -> "requests/s  server-CPU-µs/request"
    local out before after
    before=$(ticks "$1")
    out=$(taskset -c "$load_cpu" "$work/echo_load" "$2" "$3" "$4" "$seconds" "$warmup")
    after=$(ticks "$1")
    echo "$out" >&2
    # The CPU time covers the warm-up too: count its requests at the measured rate.
    awk -v t=$((after - before)) -v hz="$hz" -v w="$warmup" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END { if (v["errors"] != 0) exit 1
              rps = v["requests"] / v["seconds"]
              printf "%.0f %.2f\n", rps, t / hz * 1e6 / (rps * (v["seconds"] + w)) }' <<<"$out"
}


if [[ -n $baseline_dll ]]; then
    table="| message | connections | ${names[0]} req/s | ${names[1]} req/s | ${names[2]} req/s | baseline façade req/s | façade / C | baseline / C | façade / Socket | server CPU µs per request: C / façade / Socket / baseline |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
else
    table="| message | connections | ${names[0]} req/s | ${names[1]} req/s | ${names[2]} req/s | façade / C | façade / Socket | server CPU µs per request: C / façade / Socket |
|---:|---:|---:|---:|---:|---:|---:|---:|"
fi

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for msg in ${ECHO_SIZES:-128 1024}; do
    for conns in ${ECHO_CONNS:-1 10 100}; do
        declare -a rps=() cpu=()
        for ((k = 0; k < servers; k++)); do
            rps[k]="" cpu[k]=""
        done
        for _ in $(seq 1 "$rounds"); do
            for ((k = 0; k < servers; k++)); do
                read -r r u < <(measure "${pids[k]}" "${ports[k]}" "$conns" "$msg")
                rps[k]+="$r "
                cpu[k]+="$u "
            done
        done
        for ((k = 0; k < servers; k++)); do
            rps[k]=$(tr ' ' '\n' <<<"${rps[k]}" | grep . | median)
            cpu[k]=$(tr ' ' '\n' <<<"${cpu[k]}" | grep . | median)
        done
        if [[ -n $baseline_dll ]]; then
            row=$(awk -v m="$msg" -v n="$conns" -v c="${rps[0]}" -v f="${rps[1]}" -v s="${rps[2]}" -v b="${rps[3]}" \
                      -v cc="${cpu[0]}" -v cf="${cpu[1]}" -v cs="${cpu[2]}" -v cb="${cpu[3]}" \
                'BEGIN { printf "| %d B | %d | %.0f | %.0f | %.0f | %.0f | %.2f× | %.2f× | %.2f× | %.2f / %.2f / %.2f / %.2f |", m, n, c, f, s, b, f / c, b / c, f / s, cc, cf, cs, cb }')
        else
            row=$(awk -v m="$msg" -v n="$conns" -v c="${rps[0]}" -v f="${rps[1]}" -v s="${rps[2]}" \
                      -v cc="${cpu[0]}" -v cf="${cpu[1]}" -v cs="${cpu[2]}" \
                'BEGIN { printf "| %d B | %d | %.0f | %.0f | %.0f | %.2f× | %.2f× | %.2f / %.2f / %.2f |", m, n, c, f, s, f / c, f / s, cc, cf, cs }')
        fi
        table+=$'\n'"$row"
    done
done

header="Echo, $(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r), load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg), servers on CPU $server_cpu, load on CPU $load_cpu, median of $rounds rounds of ${seconds}s (after ${warmup}s warm-up) per point; one request in flight per connection. Server CPU = user + system time of the server process per request (robust to other load on the machine, unlike req/s)."
mkdir -p bench/results
printf '%s\n\n%s\n' "$header" "$table" | tee bench/results/echo.md
