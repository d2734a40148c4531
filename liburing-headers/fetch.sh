#!/usr/bin/env bash
# Brings one pinned liburing generation into liburing-headers/cache/GEN/ and prints the
# sysroot path.  Uses apt with a private state directory (the system's apt configuration
# and lists are never touched), verifies sha256 sums, extracts with dpkg-deb.
# Idempotent; offline once cached.
# Usage: fetch.sh [GEN]                      bring GEN (default: the pin file's default)
#        fetch.sh --print-pins SUITE [GEN]   print pin lines, with sha256, for the liburing and
#                                            uapi packages SUITE offers now (GEN: their name)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pins="${URING_PINS_FILE:-$here/pins.txt}"
cache="${URING_CACHE_DIR:-$here/cache}"
# .deb files are also kept per user, keyed by name, so fresh clones stay offline.
debstore="${URING_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uring/debs}"

print_suite=""
if [ "${1:-}" = "--print-pins" ]; then
  print_suite="${2:-}"
  [ -n "$print_suite" ] || { echo "usage: fetch.sh --print-pins SUITE [GENERATION]" >&2; exit 2; }
  gen="${3:-}"
  who="print-pins $print_suite"
else
  gen="${1:-$(awk '$1=="default"{print $2}' "$pins")}"
  who="$gen"
fi
dest="$cache/$gen"

log() { echo "fetch[$who]: $*" >&2; }
die() { echo "fetch[$who]: error: $*" >&2; exit 1; }

if [ -z "$print_suite" ]; then
  mapfile -t lines < <(awk -v g="$gen" '$1==g' "$pins")
  [ "${#lines[@]}" -gt 0 ] || die "generation '$gen' is not in $pins (known: $(awk '!/^#/ && NF && $1!="default" {print $1}' "$pins" | sort -u | tr '\n' ' '))"
  pinsum="$(printf '%s\n' "${lines[@]}" | sha256sum | cut -c1-16)"
fi
# Parallel builds may ask for the same generation at once: one fetches, the others wait and
# then find it complete. The apt state below is shared too.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -z "$print_suite" ] && [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$pinsum" ]; then
  echo "$dest/root"
  exit 0
fi

mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri="$(awk '/^URIs:/ {for (i=2;i<=NF;i++) print $i}' /etc/apt/sources.list.d/*.sources \
      | grep -E '/debian/?$' | grep -v security | head -n1 || true)"
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list \
      | grep -E '/debian/?$' | head -n1 || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

apt_state="$cache/.apt"
aptopts=(-o "Dir::Etc::sourcelist=$apt_state/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$apt_state/lists" -o "Dir::Cache=$apt_state/cache"
  -o "Dir::State::status=$apt_state/status" -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
apt_ready=0
apt_prepare() {  # apt_prepare SUITE...
  [ "$apt_ready" = 1 ] && return
  mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial"
  : > "$apt_state/status"
  local m; m="$(mirror)"
  printf '%s\n' "$@" | sort -u | while read -r suite; do
    echo "deb $m $suite main"
  done > "$apt_state/sources.list"
  log "apt update (private state in $apt_state) from $m"
  apt-get "${aptopts[@]}" -qq update >&2 || die "apt-get update failed for $(tr '\n' ';' < "$apt_state/sources.list")"
  apt_ready=1
}

# Echoes the versions of PACKAGE that the private index offers in SUITE.
available_versions() {
  apt-cache "${aptopts[@]}" madison "$1" 2>/dev/null | awk -F'|' -v s="$2" '$3 ~ " "s"/" {gsub(/ /,"",$2); print $2}'
}

# The pin lines for what SUITE offers now: the sha256 comes from the suite's Packages index,
# which apt has checked against the signed Release file.
if [ -n "$print_suite" ]; then
  apt_prepare "$print_suite"
  for pkg in liburing-dev liburing2 linux-libc-dev; do
    version="$(available_versions "$pkg" "$print_suite" | head -n1)"
    [ -n "$version" ] || die "Debian $print_suite has no $pkg"
    sha="$(apt-cache "${aptopts[@]}" show "$pkg=$version" 2>/dev/null | awk '/^SHA256:/ {print $2; exit}')"
    [ -n "$sha" ] || die "the $print_suite index gives no sha256 for $pkg $version"
    [ "$pkg" = liburing-dev ] && [ -z "$gen" ] && gen="${version%%-*}"
    extra=""
    [ "$pkg" = linux-libc-dev ] && extra="  series=$(cut -d. -f1,2 <<<"$version")"
    printf '%-6s %-9s %-15s %-12s %s%s\n' "$gen" "$print_suite" "$pkg" "$version" "$sha" "$extra"
  done
  exit 0
fi

mkdir -p "$dest/debs" "$debstore"
rm -rf "$dest/root" "$dest/.complete"
resolved=()
for line in "${lines[@]}"; do
  read -r _ suite pkg version sha extra <<<"$line"
  series="${extra#series=}"
  found=""
  for cand in "$debstore"/"${pkg}_${version}_"*.deb; do
    [ -f "$cand" ] || continue
    if [ "$(sha256sum "$cand" | cut -d' ' -f1)" = "$sha" ]; then found="$cand"; fi
  done
  if [ -z "$found" ]; then
    apt_prepare $(printf '%s\n' "${lines[@]}" | awk '{print $2}')
    if available_versions "$pkg" "$suite" | grep -qxF "$version"; then
      (cd "$apt_state/cache/archives" && apt-get "${aptopts[@]}" -qq download "$pkg=$version" >&2) \
        || die "download of $pkg=$version failed"
      found="$(ls "$apt_state/cache/archives/${pkg}_${version}_"*.deb | head -n1)"
      got="$(sha256sum "$found" | cut -d' ' -f1)"
      [ "$got" = "$sha" ] || die "$pkg $version: sha256 $got does not match the pin $sha"
      cp "$found" "$debstore/"
      found="$debstore/$(basename "$found")"
    elif [ -n "$extra" ] && [ "$pkg" = linux-libc-dev ]; then
      # The uapi headers churn with every kernel update; accept the suite's current build
      # of the same series (apt verified it against the signed index).
      newer="$(available_versions "$pkg" "$suite" | grep -E "^${series//./\\.}\." | head -n1 || true)"
      [ -n "$newer" ] || die "$pkg $version has left $suite and no ${series}.x build replaces it. \
Update the pin in $pins: '$0 --print-pins $suite' prints the suite's current version with its sha256; \
put them on the line for generation $gen."
      log "note: pinned $pkg $version has left $suite; using $newer of the same series $series"
      (cd "$apt_state/cache/archives" && apt-get "${aptopts[@]}" -qq download "$pkg=$newer" >&2) \
        || die "download of $pkg=$newer failed"
      found="$(ls "$apt_state/cache/archives/${pkg}_${newer}_"*.deb | head -n1)"
      version="$newer"
    else
      die "$pkg $version (pinned for generation $gen) is no longer in Debian $suite \
(it offers: $(available_versions "$pkg" "$suite" | tr '\n' ' ')). To move the pin: '$0 --print-pins $suite' \
prints the suite's current versions with their sha256; put them on the lines for generation $gen in $pins, \
then run ./build.sh generate to see what changed."
    fi
  fi
  dpkg-deb -x "$found" "$dest/root"
  resolved+=("$pkg=$version")
done

inc="$dest/root/usr/include"
[ -f "$inc/liburing.h" ] || die "liburing.h missing after extraction"
printf '%s\n' "${resolved[@]}" > "$dest/resolved.txt"
echo "$pinsum" > "$dest/.complete"
log "ready: ${resolved[*]}"
echo "$dest/root"
