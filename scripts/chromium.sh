#!/usr/bin/env bash
# Headless Chromium for the dashboard's browser test (test/browser): Debian's
# `chromium` package. Idempotent: a chromium already installed is used as it
# is. The LAST line of stdout is the browser's absolute path:
#   CHROMIUM=$(scripts/chromium.sh | tail -n1)
#
# As root the package is installed with apt-get (with its dependencies, which
# the browser needs at run time); otherwise through sudo when it works without
# a password. Progress messages go to stderr.
set -euo pipefail

find_chromium() {
	local c
	for c in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser "$(command -v chromium 2>/dev/null || true)"; do
		if [[ -n "$c" && -x "$c" ]]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

if path=$(find_chromium); then
	echo "$path"
	exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
	if sudo -n true 2>/dev/null; then
		as_root=(sudo -n)
	else
		echo "chromium.sh: Debian's chromium package is not installed, and installing it needs root (apt-get install chromium)" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or old on a fresh machine.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
	echo "chromium.sh: apt-get update" >&2
	"${as_root[@]}" apt-get update -qq >&2
fi
echo "chromium.sh: apt-get install chromium" >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
find_chromium || { echo "chromium.sh: chromium installed but not found on PATH" >&2; exit 1; }
