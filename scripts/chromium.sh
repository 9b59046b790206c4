#!/usr/bin/env bash
# Headless Chromium for the dashboard's browser test (test/browser): Debian's
# `chromium` package. Idempotent: a chromium already installed (or extracted
# before) is used as it is. The LAST line of stdout is the path to run:
#   CHROMIUM=$(scripts/chromium.sh | tail -n1)
#
# As root (or with password-less sudo) the package is installed with
# apt-get. Otherwise the package and those of its dependencies that are not
# installed are fetched with `apt-get download` and unpacked with `dpkg -x`
# into .cache/chromium/<version>/root, and the path printed is a launcher
# that runs that browser with its libraries. CHROMIUM_EXTRACT=1 takes the
# second way even as root. Progress messages go to stderr.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
CACHE="$ROOT/.cache/chromium"
log() { echo "chromium.sh: $*" >&2; }

installed_chromium() {
	local c
	for c in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser "$(command -v chromium 2>/dev/null || true)"; do
		if [[ -n "$c" && -x "$c" ]]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# extract unpacks chromium and its missing dependencies into the cache and
# prints its launcher.
extract() {
	local version dir launcher
	version=$(apt-cache policy chromium | sed -n 's/^ *Candidate: //p')
	[[ -n "$version" && "$version" != "(none)" ]] || { log "no candidate version of chromium in the package lists (apt-get update)"; exit 1; }
	dir="$CACHE/${version//[^A-Za-z0-9.+~-]/_}"
	launcher="$dir/chromium"
	if [[ -x "$launcher" ]]; then
		echo "$launcher"
		return 0
	fi
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
	# The browser's own packages always; of its dependencies, those the
	# machine does not have (apt-cache lists every alternative of an "a | b"
	# dependency, so some come that one of the others would have replaced).
	local pkgs=(chromium chromium-common) p
	while read -r p; do
		[[ "$p" == chromium || "$p" == chromium-common ]] && continue
		if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
			pkgs+=("$p")
		fi
	done < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances chromium | grep -E '^[a-z0-9][a-z0-9.+-]*$' | sort -u)
	log "apt-get download ${#pkgs[@]} packages (chromium and what is not installed)"
	(cd "$dir.tmp/debs" && apt-get download -qq "${pkgs[@]}" >&2)
	for deb in "$dir.tmp/debs"/*.deb; do
		dpkg -x "$deb" "$dir.tmp/root"
	done
	rm -rf "$dir.tmp/debs"
	cat > "$dir.tmp/chromium" <<LAUNCHER
#!/bin/sh
# Chromium $version unpacked by scripts/chromium.sh, with the libraries
# unpacked beside it.
here=\$(dirname "\$0")
export LD_LIBRARY_PATH="\$here/root/usr/lib/x86_64-linux-gnu:\$here/root/lib/x86_64-linux-gnu:\$here/root/usr/lib/chromium\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "\$here/root/usr/lib/chromium/chromium" "\$@"
LAUNCHER
	chmod +x "$dir.tmp/chromium"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	echo "$launcher"
}

if [[ "${CHROMIUM_EXTRACT:-}" == 1 ]]; then
	extract
	exit 0
fi
if path=$(installed_chromium); then
	echo "$path"
	exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
	if sudo -n true 2>/dev/null; then
		as_root=(sudo -n)
	else
		log "not root: unpacking chromium into $CACHE"
		extract
		exit 0
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or old on a fresh machine.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
	log "apt-get update"
	"${as_root[@]}" apt-get update -qq >&2
fi
log "apt-get install chromium"
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
installed_chromium || { log "chromium installed but not found on PATH"; exit 1; }
