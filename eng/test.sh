#!/usr/bin/env bash
# Runs every RuleMail test. Installs what the tests need when it is missing (Debian/Ubuntu: openssl,
# gpg, gpgsm for interop; Dovecot IMAP/POP3, Python's aiosmtpd and PostgreSQL, which the host's integration
# and state tests start themselves on loopback (PostgreSQL as the postgres user when run as root); Debian's
# Chromium, which the web UI's browser tests drive with Playwright), so a fresh machine needs only this script
# and the .NET 10 SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v gpg >/dev/null || need+=(gnupg)
command -v gpgsm >/dev/null || need+=(gpgsm)
[ -x /usr/sbin/dovecot ] || need+=(dovecot-core)
[ -e /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
[ -e /usr/lib/dovecot/pop3 ] || need+=(dovecot-pop3d)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji) # the seed's 🕵️ ✅ 🔒 in pages
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing test dependencies: ${need[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "eng/test.sh: need root or sudo to install ${need[*]} (apt-get install ${need[*]})" >&2; exit 1
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null; then
  echo "eng/test.sh: the .NET 10 SDK is missing; see README.md (Install)" >&2
  exit 1
fi

dotnet test RuleMail.sln "$@"
