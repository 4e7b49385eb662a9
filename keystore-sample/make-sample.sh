#!/usr/bin/env bash
# Regenerates the sample key store in this folder for the demo organisation "RuleMail Demo"
# (support@rulemail.test) and its correspondents, with real openssl and gpg, then imports it all
# with `rulemail keys import`. Sample only: the passphrase is in passphrase.txt for everyone to read.
#
#   support@rulemail.test  S/MIME certificate + private key, OpenPGP Ed25519/Cv25519 secret key
#   alice@customer.test    S/MIME only
#   bob@partner.test       OpenPGP only (RSA-3072)
#   carol@both.test        S/MIME and OpenPGP (Ed25519/Cv25519)
#   dave@expired.test      S/MIME certificate that expired in 2021
#   erin@revoked.test      S/MIME certificate revoked by the sample CA's CRL
#
# The material behind the store (CA key, correspondents' private keys, all encrypted with the sample
# passphrase) is kept in source/ so demo messages can be made from it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
pass=$(head -n1 "$here/passphrase.txt")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$here/smime" "$here/pgp" "$here/crl" "$here/source" "$here/rulemail-keystore.json"
mkdir -p "$here/source" "$work/ca/new"
touch "$work/ca/index.txt"
echo 1000 > "$work/ca/serial"
echo 1000 > "$work/ca/crlnumber"

# Runs a command quietly; shows its output only when it fails.
quiet() { "$@" > "$work/log" 2>&1 || { cat "$work/log" >&2; return 1; }; }

cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = sample
[ sample ]
dir = $work/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $here/source/ca.crt
private_key = $here/source/ca.key
default_md = sha256
default_crl_days = 3650
policy = anything
unique_subject = no
email_in_dn = no
[ anything ]
organizationName = optional
commonName = supplied
[ user ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \${ENV::SAN}
CNF

echo "== sample CA"
quiet openssl req -x509 -newkey rsa:2048 -sha256 -days 7300 -keyout "$here/source/ca.key" -passout "pass:$pass" \
  -subj "/O=RuleMail Demo/CN=RuleMail Sample CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$here/source/ca.crt"

issue() { # name address organisation [ca dates...]
  local name=$1 address=$2 org=$3; shift 3
  openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-256-cbc -pass "pass:$pass" -out "$here/source/$name.key"
  openssl req -new -key "$here/source/$name.key" -passin "pass:$pass" -subj "/O=$org/CN=$address" -out "$work/$name.csr"
  SAN="email:$address" quiet openssl ca -batch -config "$work/ca.cnf" -extensions user -passin "pass:$pass" \
    -in "$work/$name.csr" -out "$work/$name.pem" "$@"
  openssl x509 -in "$work/$name.pem" -out "$here/source/$name.crt"
}

echo "== S/MIME certificates"
issue support support@rulemail.test "RuleMail Demo" -days 3650
issue alice alice@customer.test "Customer Ltd" -days 3650
issue carol carol@both.test "Both Inc" -days 3650
issue dave dave@expired.test "Expired GmbH" -startdate 20200101000000Z -enddate 20210101000000Z
issue erin erin@revoked.test "Revoked SA" -days 3650
SAN=none quiet openssl ca -batch -config "$work/ca.cnf" -passin "pass:$pass" -revoke "$here/source/erin.crt" -crl_reason keyCompromise
SAN=none quiet openssl ca -batch -config "$work/ca.cnf" -passin "pass:$pass" -gencrl -out "$here/source/ca.crl"

echo "== OpenPGP keys"
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpgq() { gpg --batch --quiet --pinentry-mode loopback --passphrase "$pass" "$@"; }
pgp_key() { # uid primary-algo sub-algo
  gpgq --quick-gen-key "$1" "$2" sign,cert 10y
  local fpr
  fpr=$(gpg --batch --with-colons --list-keys "$1" | awk -F: '/^fpr/ {print $10; exit}')
  gpgq --quick-add-key "$fpr" "$3" encr 10y
}
pgp_key "RuleMail Support <support@rulemail.test>" ed25519 cv25519
pgp_key "Bob Partner <bob@partner.test>" rsa3072 rsa3072
pgp_key "Carol Both <carol@both.test>" ed25519 cv25519
for who in support bob carol; do
  address=$(case $who in support) echo support@rulemail.test;; bob) echo bob@partner.test;; carol) echo carol@both.test;; esac)
  gpgq --armor --export "$address" > "$here/source/$who.pub.asc"
  gpgq --armor --export-secret-keys "$address" > "$here/source/$who.sec.asc"
done

echo "== key store"
cd "$repo"
export RULEMAIL_KEYSTORE_PASSPHRASE="$pass" SAMPLE_PASSPHRASE="$pass"
rulemail=(dotnet run --project "$repo/engine/RuleMail.Cli" --verbosity quiet --)
"${rulemail[@]}" keys import --keystore "$here" \
  "$here/source/ca.crt" "$here/source/alice.crt" "$here/source/carol.crt" "$here/source/dave.crt" "$here/source/erin.crt" \
  "$here/source/support.crt" "$here/source/support.key" "$here/source/ca.crl" \
  "$here/source/bob.pub.asc" "$here/source/carol.pub.asc" "$here/source/support.sec.asc" \
  --passphrase-env SAMPLE_PASSPHRASE
"${rulemail[@]}" keys list --keystore "$here"
