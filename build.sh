#!/usr/bin/env bash
# Uring build entry point (build.ps1 mirrors it for PowerShell users).
#   ./build.sh generate   regenerate src/Bindings/Generated and python/uring/_errno.py from the
#                         pinned default liburing and print what changed against the checked-in files
#                         (uring-gen generate's options pass through: --verbose, -g GEN, --sysroot DIR, ...)
#   ./build.sh test       build everything and run every test (xunit, Python, Pester);
#                         ends with "N passed, N failed, N skipped"
#   ./build.sh bench      run the benchmarks (see bench/README.md)
#   ./build.sh pack       build the NuGet packages into artifacts/packages (README, "Packages")
# Both install what they need (Debian packages, the pinned liburing) on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
root="$PWD"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { echo "==> $*" >&2; }

# Debian packages the build and tests use: libclang for the generator, gcc for the layout
# checks, binutils' nm for the export list, fio for the file benchmark, python3 for the
# Python package.
ensure_packages() {
  local wanted=(libclang1-14 libclang-common-14-dev gcc libc6-dev binutils python3 "$@")
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return
  log "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Debian's shared libpython for the version of /usr/bin/python3: examples/EmbedPython (a C#
# program embedding CPython) loads it when no python3 on PATH has a shared library.
ensure_libpython() {
  local version; version="$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  ensure_packages "libpython$version"
}

ensure_dotnet() {
  command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
}

# pwsh for the PowerShell module's tests: the version pinned in .config/dotnet-tools.json.
ensure_pwsh() {
  dotnet tool restore >/dev/null || { echo "error: dotnet tool restore could not install pwsh" >&2; exit 1; }
}

# What `uring-gen generate` writes for the pinned default: checked in, never edited by hand.
generated_paths=(src/Bindings/Generated python/uring/_errno.py)

generator() {
  dotnet build generator/Uring.Generator.csproj -c Release -nologo -v q -clp:ErrorsOnly >&2
  dotnet generator/bin/Release/net10.0/uring-gen.dll "$@"
}

cmd_generate() {
  ensure_dotnet; ensure_packages
  log "fetching the pinned default liburing"
  liburing-headers/fetch.sh >/dev/null
  dotnet build generator/Uring.Generator.csproj -c Release -nologo -v q -clp:ErrorsOnly >&2
  local start end
  start=$(date +%s%N)
  dotnet generator/bin/Release/net10.0/uring-gen.dll generate "$@"
  dotnet generator/bin/Release/net10.0/uring-gen.dll operations
  end=$(date +%s%N)
  log "uring-gen generate: $(( (end - start) / 1000000 )) ms wall clock, process start included"
  if git rev-parse --git-dir >/dev/null 2>&1; then
    local changes; changes="$(git status --porcelain -- "${generated_paths[@]}" | wc -l)"
    if [ "$changes" -eq 0 ]; then
      log "${generated_paths[*]}: identical to the checked-in files"
    else
      log "${generated_paths[*]}: $changes files differ from the checked-in ones:"
      git status --short -- "${generated_paths[@]}" >&2
    fi
  fi
}

# Counts from every runner, summed into the closing line.
passed=0; failed=0; skipped=0
count_dotnet() {  # parses vstest's closing block: "Total tests: N / Passed: N / Failed: N / Skipped: N"
  local p f s
  p=$(awk '/^ +Passed: +[0-9]+$/ {n += $2} END {print n + 0}' "$1")
  f=$(awk '/^ +Failed: +[0-9]+$/ {n += $2} END {print n + 0}' "$1")
  s=$(awk '/^ +Skipped: +[0-9]+$/ {n += $2} END {print n + 0}' "$1")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

check() {  # check NAME COMMAND...: a script-level test, counted like the others
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); log "PASS $name"; else failed=$((failed + 1)); log "FAIL $name"; fi
}

regenerated_default_is_clean() {
  generator generate >/dev/null
  local dirty; dirty="$(git status --porcelain -- "${generated_paths[@]}")"
  [ -z "$dirty" ] || { echo "regenerating changed the checked-in generated files:" >&2; echo "$dirty" >&2; git --no-pager diff --stat -- "${generated_paths[@]}" >&2; return 1; }
}

# Everything the operation table feeds (uring-gen operations); generated files are checked in.
operation_outputs=(src/Uring/Operations/Generated src/Uring/Ring/Ring.Operations.g.cs src/Uring/Operations/LinkedChain.g.cs
  src/Scripting/Exports.Operations.g.cs python/uring/_operations.py docs/operations.md)
operation_outputs_are_clean() {
  generator operations >/dev/null
  local dirty; dirty="$(git status --porcelain -- "${operation_outputs[@]}")"
  [ -z "$dirty" ] || { echo "regenerating from the operation table changed checked-in files:" >&2; echo "$dirty" >&2; git --no-pager diff --stat -- "${operation_outputs[@]}" >&2; return 1; }
}

# The C ABI compiled with NativeAOT (Uring.Scripting.so) beside the pinned liburing-ffi.so.2: what
# the Python wheel carries. Published once per test run (ILC's own cache under obj/ keeps a
# republish of unchanged code short); the Python tests build their wheels from this folder.
native_dir="$root/artifacts/native/linux-x64"
publish_native() {
  rm -rf "$native_dir"   # never leave an older library for the wheel tests when publishing fails
  local start; start=$(date +%s)
  dotnet publish src/Scripting/Uring.Scripting.csproj -c Release -r linux-x64 -o "$native_dir" -nologo -v q -clp:ErrorsOnly || return 1
  log "published $(du -k "$native_dir/Uring.Scripting.so" | cut -f1) KiB Uring.Scripting.so in $(( $(date +%s) - start )) s"
}

cmd_test() {
  ensure_dotnet; ensure_packages; ensure_libpython; ensure_pwsh
  for gen in $(awk '!/^#/ && NF && $1!="default" {print $1}' liburing-headers/pins.txt | sort -u); do
    liburing-headers/fetch.sh "$gen" >/dev/null
  done
  log "building"
  dotnet build Uring.sln -c Release -nologo -v q -clp:ErrorsOnly
  log "publishing src/Scripting with NativeAOT"
  check "NativeAOT publish of src/Scripting (warnings are errors)" publish_native

  if git rev-parse --git-dir >/dev/null 2>&1 && [ -z "${URING_SKIP_CLEAN_CHECK:-}" ]; then
    check "regenerating the pinned default leaves git status clean" regenerated_default_is_clean
    check "regenerating from the operation table leaves git status clean" operation_outputs_are_clean
  fi

  local results="$root/artifacts/test-results"
  rm -rf "$results"; mkdir -p "$results"
  for project in tests/*/*.csproj; do
    local name; name="$(basename "$project" .csproj)"
    log "dotnet test $name"
    local rc=0 before=$failed
    dotnet test "$project" -c Release --no-build -nologo --logger "console;verbosity=normal" \
      >"$results/$name.log" 2>&1 || rc=$?
    grep -E '^\s+(Failed|Skipped) ' "$results/$name.log" | head -50 >&2 || true
    grep -qE '^Total tests: +[0-9]+' "$results/$name.log" \
      || { echo "no test summary from $name:" >&2; tail -30 "$results/$name.log" >&2; failed=$((failed + 1)); }
    grep -E '^Test Run (Successful|Failed|Aborted)|^Total tests:|^ +(Passed|Failed|Skipped): +[0-9]+$' "$results/$name.log" | tr -s ' ' | paste -sd' ' >&2 || true
    count_dotnet "$results/$name.log"
    if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
      echo "dotnet test $name exited $rc without a failed test (crash or abort?):" >&2
      tail -30 "$results/$name.log" >&2
      failed=$((failed + 1))
    fi
  done

  if [ -f python/tests/run.py ]; then
    log "python tests"
    # every interpreter on the machine (pyenv's, Debian's): the buffer protocol and Python.NET depend on the version
    URING_WHEEL_NATIVE_DIR="$native_dir" python3 python/tests/run.py --every-python >"$results/python.log" 2>&1 || true
    tail -5 "$results/python.log" >&2
    local line; line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$results/python.log" | tail -1 || true)"
    if [ -n "$line" ]; then
      passed=$((passed + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
      failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
      grep -q skipped <<<"$line" && skipped=$((skipped + $(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")))
    else
      failed=$((failed + 1)); echo "python tests printed no summary" >&2
    fi
  fi

  log "PowerShell tests (Pester)"
  local pester_rc=0 p f s
  timeout --kill-after=30 1200 dotnet tool run pwsh -NoProfile -NonInteractive -File powershell/tests/run.ps1 \
    >"$results/pester.log" 2>&1 || pester_rc=$?
  grep -E '^ *\[-\] ' "$results/pester.log" | head -50 >&2 || true
  tail -3 "$results/pester.log" >&2
  local counts; counts="$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$results/pester.log" | tail -1 || true)"
  if [ -n "$counts" ]; then
    read -r p _ f _ s _ <<<"${counts//,/}"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ "$pester_rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); echo "the Pester run exited $pester_rc" >&2; fi
  else
    failed=$((failed + 1)); echo "the Pester run printed no summary (exit code $pester_rc)" >&2; tail -30 "$results/pester.log" >&2
  fi

  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

# Uring.Bindings (with liburing-ffi.so.2), Uring.Core, and the tools Uring.Cli (uring) and
# Uring.Generator (uring-gen); tests/Packaging.Tests packs the same way into a feed of its own.
cmd_pack() {
  ensure_dotnet
  liburing-headers/fetch.sh >/dev/null
  local out="$root/artifacts/packages" start end
  rm -rf "$out"
  start=$(date +%s)
  dotnet pack Uring.sln -c Release -nologo -v q -clp:ErrorsOnly -p:PackageOutputPath="$out/" "$@"
  end=$(date +%s)
  log "packed in $((end - start)) s (build included):"
  ls -1 "$out"/*.nupkg >&2
}

cmd_bench() {
  ensure_dotnet; ensure_packages fio
  liburing-headers/fetch.sh >/dev/null
  bench/run.sh "$@"      # NOP and file reads: C, raw bindings, façade, fio, RandomAccess
  bench/echo.sh          # echo servers: liburing's example, the façade, .NET Socket
  if [ -f python/bench/bench.py ]; then python3 python/bench/bench.py; fi
}

case "${1:-}" in
  generate) shift; cmd_generate "$@" ;;
  test) shift; cmd_test "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  pack) shift; cmd_pack "$@" ;;
  *) echo "usage: $0 generate|test|bench|pack" >&2; exit 2 ;;
esac
