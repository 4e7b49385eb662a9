#!/usr/bin/env bash
# Regenerates mailbox/, the demo Maildir of the embedded default: one message for every status the
# seed shows, made with real openssl and gpg from the sample material in source/. Sample only.
#
#   plain                     neither signed nor encrypted
#   smime-signed              signed by alice@customer.test                       ✅
#   smime-tampered            alice's signed message, changed afterwards          ⚠️ sign
#   smime-not-sender          signed by alice, sent as mallory@customer.test      ⚠️ sign
#   smime-expired-signer      signed by dave@expired.test (expired 2021)          ⚠️ sign
#   smime-revoked-signer      signed by erin@revoked.test (revoked by the CRL)    ⚠️ sign
#   smime-unknown-signer      signed by a self-signed stranger                    ⚠️ "Unable to find certificate for validation"
#                             (source/stranger.crt is not in the store: `rulemail keys import` it, then
#                             `rulemail retry` brings the message back from Quarantine, verified)
#   smime-signed-encrypted    signed by carol@both.test, encrypted to support     🔒 ✅
#   smime-encrypted-other     encrypted to alice only                             ⚠️ "Unable to find private key to decrypt"
#   pgp-signed-encrypted      PGP/MIME from bob@partner.test, signed + encrypted  🔒 ✅
#   pgp-clearsigned           inline cleartext-signed by bob                      ✅
#   pgp-no-mdc                encrypted to support without integrity protection   ⚠️ encryption (EFAIL)
#   pgp-unknown-signer        PGP/MIME signed by a key not in the store           ⚠️ "Unable to find certificate for validation"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/source"
pass=$(head -n1 "$here/passphrase.txt")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
box="$here/mailbox"
rm -rf "$box"
mkdir -p "$box/new" "$box/cur" "$box/tmp"
# git keeps no empty folders, and a Maildir needs all three: keep cur/ and tmp/ with a dot-file Maildir readers skip.
touch "$box/cur/.gitkeep" "$box/tmp/.gitkeep"
n=0

# deliver NAME FROM SUBJECT BODYFILE: headers + the MIME entity in BODYFILE, into new/
deliver() {
  n=$((n + 1))
  local name=$1 from=$2 subject=$3 body=$4
  {
    printf 'Return-Path: <%s>\r\nDelivered-To: support@rulemail.test\r\n' "$from"
    printf 'From: %s\r\nTo: RuleMail Support <support@rulemail.test>\r\nSubject: %s\r\n' "$from" "$subject"
    printf 'Date: Sun, 29 Nov 2026 09:%02d:00 +0000\r\nMessage-ID: <demo-%02d-%s@rulemail.test>\r\n' "$n" "$n" "$name"
    printf 'X-RuleMail-Encrypt: yes\r\n'   # arrives from outside: RuleMail must ignore and remove it
    cat "$body"
  } > "$box/new/17644068$(printf %02d "$n").M${n}P1.demo-$name"
}

text() { printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n' "$1" > "$work/$2"; }
ossl() { openssl "$@" 2>/dev/null; }
sign() { ossl smime -sign -in "$work/$1" -signer "$src/$2.crt" -inkey "$src/$2.key" -passin "pass:$pass" -out "$work/$3"; }

text "Hello, my order 4711 has not arrived yet. -- Alice" plain.txt
deliver plain alice@customer.test "Where is my order?" "$work/plain.txt"

text "Please change my delivery address to Main Street 1. -- Alice" alice.txt
sign alice.txt alice alice.signed
deliver smime-signed alice@customer.test "New delivery address" "$work/alice.signed"

sed 's/Main Street 1/Harbour Road 9/' "$work/alice.signed" > "$work/alice.tampered"
deliver smime-tampered alice@customer.test "New delivery address" "$work/alice.tampered"

deliver smime-not-sender mallory@customer.test "New delivery address" "$work/alice.signed"

text "Invoice attached. -- Dave" dave.txt
sign dave.txt dave dave.signed
deliver smime-expired-signer dave@expired.test "Invoice" "$work/dave.signed"

text "Please pay to our new account. -- Erin" erin.txt
sign erin.txt erin erin.signed
deliver smime-revoked-signer erin@revoked.test "New bank account" "$work/erin.signed"

# The stranger's certificate stays in source/ (never in the store) so the demo can make the signer known later. The
# message in git was signed before its key was kept: source/stranger.crt is that message's own certificate, taken from
# it with `openssl smime -pk7out | openssl pkcs7 -print_certs`; without stranger.key a new stranger is made here.
if [ ! -f "$src/stranger.key" ]; then
  ossl req -x509 -newkey rsa:2048 -keyout "$src/stranger.key" -passout "pass:$pass" -out "$src/stranger.crt" -days 3650 \
    -subj "/CN=stranger@unknown.test" -addext "subjectAltName=email:stranger@unknown.test"
fi
text "Trust me. -- A stranger" stranger.txt
sign stranger.txt stranger stranger.signed
deliver smime-unknown-signer stranger@unknown.test "Urgent" "$work/stranger.signed"

text "The contract is attached, signed and sealed. -- Carol" carol.txt
sign carol.txt carol carol.signed
ossl smime -encrypt -aes256 -in "$work/carol.signed" -out "$work/carol.encrypted" "$src/support.crt"
deliver smime-signed-encrypted carol@both.test "Contract" "$work/carol.encrypted"

text "This was meant for Alice only." other.txt
ossl smime -encrypt -aes256 -in "$work/other.txt" -out "$work/other.encrypted" "$src/alice.crt"
deliver smime-encrypted-other carol@both.test "Forwarded by mistake" "$work/other.encrypted"

export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpgq() { gpg --batch --quiet --pinentry-mode loopback --passphrase "$pass" --trust-model always "$@" 2>/dev/null; }
gpgq --import "$src/bob.sec.asc" "$src/support.pub.asc"

pgp_mime() { # armored-file → multipart/encrypted entity
  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="pgp-demo"\r\n\r\n'
  printf -- '--pgp-demo\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n'
  printf -- '--pgp-demo\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\n\r\n'
  cat "$1"
  printf '\r\n--pgp-demo--\r\n'
}

text "Here are the server logs you asked for. -- Bob" bob.txt
gpgq --armor --sign --encrypt -u bob@partner.test -r support@rulemail.test -o "$work/bob.asc" "$work/bob.txt"
pgp_mime "$work/bob.asc" > "$work/bob.mime"
deliver pgp-signed-encrypted bob@partner.test "Server logs" "$work/bob.mime"

printf 'Maintenance window confirmed for Saturday 06:00 UTC.\n-- Bob\n' | gpgq --clearsign -u bob@partner.test > "$work/bob.clear"
{ printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'; cat "$work/bob.clear"; } > "$work/bob.clear.mime"
deliver pgp-clearsigned bob@partner.test "Maintenance window" "$work/bob.clear.mime"

text "Old client, no integrity protection." nomdc.txt
gpgq --armor --rfc2440 --cipher-algo AES256 --encrypt -r support@rulemail.test -o "$work/nomdc.asc" "$work/nomdc.txt"
pgp_mime "$work/nomdc.asc" > "$work/nomdc.mime"
deliver pgp-no-mdc bob@partner.test "Old client" "$work/nomdc.mime"

gpgq --quick-gen-key "Unknown Sender <unknown@elsewhere.test>" ed25519 sign 10y
text "Signed with a key you have never seen." unknown.txt
gpgq --armor --detach-sign -u unknown@elsewhere.test -o "$work/unknown.sig" "$work/unknown.txt"
{
  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="sig-demo"\r\n\r\n'
  printf -- '--sig-demo\r\n'; cat "$work/unknown.txt"
  printf '\r\n--sig-demo\r\nContent-Type: application/pgp-signature; name="signature.asc"\r\n\r\n'; cat "$work/unknown.sig"
  printf '\r\n--sig-demo--\r\n'
} > "$work/unknown.mime"
deliver pgp-unknown-signer unknown@elsewhere.test "Hello" "$work/unknown.mime"

ls "$box/new"
