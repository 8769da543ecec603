#!/usr/bin/env bash
# tools.sh installs, from Debian's packages, the programs the tests drive
# besides Go and Docker, and only those missing: `make test` runs it
# first, so it does nothing when every tool is there. Each line of TOOLS
# is "COMMAND DEBIAN-PACKAGE".
set -euo pipefail

TOOLS=(
	"chromium chromium" # the dashboard's browser test (chromedp)
	"dig dnsutils"      # the DNS tests check the server with a resolver of its own
	"ip iproute2"       # the network lab of test/e2e: a namespace per process
	"iptables iptables" # ... and the links it cuts
	"curl curl"         # the security tests speak to the API as a stranger would
)

missing=()
for pair in "${TOOLS[@]}"; do
	read -r cmd pkg <<<"$pair"
	command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "tools.sh: missing ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "tools.sh: missing ${missing[*]}, and this is not a Debian system: install them by hand" >&2
	exit 1
fi
echo "tools.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
