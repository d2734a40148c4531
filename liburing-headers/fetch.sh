#!/usr/bin/env bash
# Brings one pinned liburing generation into liburing-headers/cache/GEN/ and prints the
# sysroot path.  Uses apt with a private state directory (the system's apt configuration
# and lists are never touched), verifies sha256 sums, extracts with dpkg-deb.
# Idempotent; offline once cached.  Usage: fetch.sh [GEN]   (default: the pin's default)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pins="${URING_PINS_FILE:-$here/pins.txt}"
gen="${1:-$(awk '$1=="default"{print $2}' "$pins")}"
cache="${URING_CACHE_DIR:-$here/cache}"
dest="$cache/$gen"
# .deb files are also kept per user, keyed by name, so fresh clones stay offline.
debstore="${URING_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uring/debs}"

log() { echo "fetch[$gen]: $*" >&2; }
die() { echo "fetch[$gen]: error: $*" >&2; exit 1; }

mapfile -t lines < <(awk -v g="$gen" '$1==g' "$pins")
[ "${#lines[@]}" -gt 0 ] || die "generation '$gen' is not in $pins (known: $(awk '!/^#/ && $1!="default" {print $1}' "$pins" | sort -u | tr '\n' ' '))"

pinsum="$(printf '%s\n' "${lines[@]}" | sha256sum | cut -c1-16)"
# Parallel builds may ask for the same generation at once: one fetches, the others wait and
# then find it complete.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$pinsum" ]; then
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
apt_prepare() {
  [ "$apt_ready" = 1 ] && return
  mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial"
  : > "$apt_state/status"
  local m; m="$(mirror)"
  printf '%s\n' "${lines[@]}" | awk '{print $2}' | sort -u | while read -r suite; do
    echo "deb $m $suite main"
  done > "$apt_state/sources.list"
  log "apt update (private state in $apt_state) from $m"
  apt-get "${aptopts[@]}" -qq update >&2 || die "apt-get update failed for $(tr '\n' ';' < "$apt_state/sources.list")"
  apt_ready=1
}

# Echoes the versions of PACKAGE that the private index offers in SUITE.
available_versions() {
  apt-cache "${aptopts[@]}" madison "$1" 2>/dev/null | awk -F'|' -v s="$2" '$3 ~ s"/" {gsub(/ /,"",$2); print $2}'
}

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
    apt_prepare
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
Update the pin in $pins: run 'apt-cache madison $pkg' against $suite, then put the new version and \
its sha256 (sha256sum of the downloaded .deb) on the line for generation $gen."
      log "note: pinned $pkg $version has left $suite; using $newer of the same series $series"
      (cd "$apt_state/cache/archives" && apt-get "${aptopts[@]}" -qq download "$pkg=$newer" >&2) \
        || die "download of $pkg=$newer failed"
      found="$(ls "$apt_state/cache/archives/${pkg}_${newer}_"*.deb | head -n1)"
      version="$newer"
    else
      die "$pkg $version (pinned for generation $gen) is no longer in Debian $suite \
(it offers: $(available_versions "$pkg" "$suite" | tr '\n' ' ')). To move the pin: pick a version \
from that list, download it (apt-get download $pkg=VERSION), and put VERSION and its sha256 on the \
line for generation $gen in $pins; then run ./build.sh generate to see what changed."
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
