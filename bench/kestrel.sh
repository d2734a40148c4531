#!/usr/bin/env bash
# Kestrel over its Sockets transport and over the ring (Uring.AspNetCore), side by side in one
# run: the same app (bench/Uring.Kestrel.Bench: /plaintext, /json) started once per transport,
# every server pinned to one core, wrk pinned to another, on loopback. Scenarios: plaintext,
# plaintext pipelined ×16 (bench/Uring.Kestrel.Bench/pipeline.lua), json. Each point is measured
# KESTREL_ROUNDS times per server (rounds interleaved across the servers) and the median is
# reported. Prints one Markdown table (also written to bench/results/kestrel.md).
#
# Servers: "Sockets" (Kestrel's default transport); "ring" (UseUringTransport() with its defaults:
# provided-buffer receives, the application on the ring's loop thread); "ring, direct" (receives
# straight into the pipe, UseProvidedBuffers = false); "ring, thread pool" (ApplicationScheduling =
# ThreadPool, where Sockets runs the application by default).
#
# The servers run with DOTNET_TieredCompilation=0 (KESTREL_SERVER_ENV to change): every method is
# compiled fully optimised at first call. With tiering, code is promoted by a background thread,
# and on a busy shared machine a server that got less CPU during the warm-up was measured on
# tier-0 code (seen here: the ring's send path still QuickJitted after 10 s of load).
#
# Environment: KESTREL_SECONDS (5), KESTREL_ROUNDS (3), KESTREL_CONNECTIONS (256),
# KESTREL_SERVER_ENV (DOTNET_TieredCompilation=0), SERVER_CPU (0), LOAD_CPU (1), KESTREL_PORT (9500).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${KESTREL_SECONDS:-5}
rounds=${KESTREL_ROUNDS:-3}
connections=${KESTREL_CONNECTIONS:-256}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
base_port=${KESTREL_PORT:-9500}
server_env=${KESTREL_SERVER_ENV-DOTNET_TieredCompilation=0}

command -v wrk >/dev/null || { echo "error: wrk is required (Debian package wrk)" >&2; exit 1; }

source bench/servers.sh # work, pids, cleanup, wait_for_port, ticks, hz, median

dotnet build bench/Uring.Kestrel.Bench/Uring.Kestrel.Bench.csproj -c Release -nologo -v q -clp:ErrorsOnly >&2
app=bench/Uring.Kestrel.Bench/bin/Release/net10.0/Uring.Kestrel.Bench.dll
lua=bench/Uring.Kestrel.Bench/pipeline.lua

transports=(sockets ring ring-direct ring-threadpool)
names=("Sockets" "ring" "ring, direct" "ring, thread pool")
servers=(0 1 2 3)
ports=($((base_port)) $((base_port + 1)) $((base_port + 2)) $((base_port + 3)))


# `exec` in a subshell, so that $! is the server itself.
for k in "${servers[@]}"; do
    # shellcheck disable=SC2086
    (exec env $server_env taskset -c "$server_cpu" dotnet "$app" --transport "${transports[k]}" --port "${ports[k]}" >"$work/${transports[k]}.log" 2>&1) &
    pids+=($!)
done
for port in "${ports[@]}"; do wait_for_port "$port" 150; done

scenario_args() { # scenario port -> wrk arguments
    case "$1" in
        plaintext) echo "http://127.0.0.1:$2/plaintext" ;;
        pipelined) echo "-s $lua http://127.0.0.1:$2/plaintext -- 16" ;;
        json) echo "http://127.0.0.1:$2/json" ;;
    esac
}

run_wrk() { # port scenario duration -> wrk's output
    # shellcheck disable=SC2046
    taskset -c "$load_cpu" wrk -t1 -c"$connections" -d"$3" --timeout 5s $(scenario_args "$2" "$1")
}

# Warm-up: JIT tiers, thread pool, connection set-up, for every server and scenario.
for k in "${servers[@]}"; do
    for scenario in plaintext pipelined json; do run_wrk "${ports[k]}" "$scenario" 2s >/dev/null; done
done


# Time the server's threads spent runnable but waiting for a CPU (ns, summed over its threads):
# on a shared machine, what decides a server's req/s as much as its own cost per request.
runq_wait() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $2 } END { printf "%.0f\n", n }'; }

measure() { # pid port scenario -> "requests/s  server-CPU-µs/request  run-queue-wait-%"
    local out before after wait_before wait_after
    before=$(ticks "$1"); wait_before=$(runq_wait "$1")
    out=$(run_wrk "$2" "$3" "${seconds}s")
    after=$(ticks "$1"); wait_after=$(runq_wait "$1")
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then echo "$out" >&2; fi
    awk -v t=$((after - before)) -v hz="$hz" -v w=$((wait_after - wait_before)) -v s="$seconds" '
        / requests in / { n = $1 }
        /^Requests\/sec:/ { rps = $2 }
        END { if (n == 0) exit 1; printf "%.0f %.2f %.0f\n", rps, t / hz * 1e6 / n, w / 1e9 / s * 100 }' <<<"$out"
}


load_before=$(cut -d' ' -f1-3 /proc/loadavg)
table="| scenario | req/s: ${names[0]} / ${names[1]} / ${names[2]} / ${names[3]} | req/s vs Sockets: ring / direct / thread pool | server CPU µs per request: Sockets / ring / direct / thread pool | CPU per request vs Sockets: ring / direct / thread pool | server threads waiting for a CPU, % of the run: Sockets / ring / direct / thread pool |
|---|---:|---:|---:|---:|---:|"
for scenario in plaintext pipelined json; do
    declare -a rps=() cpu=() waits=()
    for k in "${servers[@]}"; do rps[k]="" cpu[k]="" waits[k]=""; done
    for _ in $(seq 1 "$rounds"); do
        for k in "${servers[@]}"; do
            read -r r u q < <(measure "${pids[k]}" "${ports[k]}" "$scenario")
            rps[k]+="$r " cpu[k]+="$u " waits[k]+="$q "
        done
    done
    for k in "${servers[@]}"; do
        rps[k]=$(tr ' ' '\n' <<<"${rps[k]}" | grep . | median)
        cpu[k]=$(tr ' ' '\n' <<<"${cpu[k]}" | grep . | median)
        waits[k]=$(tr ' ' '\n' <<<"${waits[k]}" | grep . | median)
    done
    label=$scenario
    [ "$scenario" = pipelined ] && label="plaintext, pipelined ×16"
    row=$(awk -v l="$label" -v s="${rps[0]}" -v r="${rps[1]}" -v d="${rps[2]}" -v p="${rps[3]}" \
              -v cs="${cpu[0]}" -v cr="${cpu[1]}" -v cd="${cpu[2]}" -v cp="${cpu[3]}" \
              -v ws="${waits[0]}" -v wr="${waits[1]}" -v wd="${waits[2]}" -v wp="${waits[3]}" \
        'BEGIN { printf "| %s | %.0f / %.0f / %.0f / %.0f | %.2f× / %.2f× / %.2f× | %.2f / %.2f / %.2f / %.2f | %.2f× / %.2f× / %.2f× | %.0f / %.0f / %.0f / %.0f |",
                 l, s, r, d, p, r / s, d / s, p / s, cs, cr, cd, cp, cr / cs, cd / cs, cp / cs, ws, wr, wd, wp }')
    table+=$'\n'"$row"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

header="Kestrel, $(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r), $(nproc) CPUs; servers on CPU $server_cpu, wrk (1 thread, $connections connections) on CPU $load_cpu; $server_env; median of $rounds rounds of ${seconds}s per point, rounds interleaved across the servers; load average $load_before at the start, $load_after at the end. Server CPU = user + system time of the server process per response (/proc/PID/stat); waiting for a CPU = run-queue time of the server's threads (/proc/PID/task/*/schedstat) over the run's wall time."
mkdir -p bench/results
printf '%s\n\n%s\n' "$header" "$table" | tee bench/results/kestrel.md
