# The peer of the smime-peers benchmark: what Zammad does with S/MIME, in Ruby's OpenSSL bindings, in one process on
# one thread. Incoming (SecureMailing::SMIME::Incoming): OpenSSL::PKCS7.read_smime of the raw mail, decrypt with the
# store's certificate and key, read_smime of the plaintext when it is signed, verify against an OpenSSL::X509::Store
# holding every certificate of the store, with the signer certificates from the store and Zammad's flags
# (NOVERIFY | NOINTERN). Outgoing (SecureMailing::SMIME::Outgoing): PKCS7.sign (detached), write_smime, PKCS7.encrypt
# to the recipients (AES-256-CBC), write_smime.
#
# usage: ruby smime_peer.rb DIR SECONDS [KIND,KIND...]
# DIR holds ca.crt, desk.crt, desk.key, customer.crt and the messages signed.eml, encrypted.eml, signed-encrypted.eml
# and plain.txt (the body to send). Prints one line per kind: "kind messages cpu_seconds", CPU time of this process.
require 'openssl'

dir, seconds = ARGV[0], Float(ARGV[1])
only = ARGV[2]&.split(',')
read = ->(name) { File.binread(File.join(dir, name)) }
ca = OpenSSL::X509::Certificate.new(read.('ca.crt'))
desk = OpenSSL::X509::Certificate.new(read.('desk.crt'))
desk_key = OpenSSL::PKey.read(read.('desk.key'))
customer = OpenSSL::X509::Certificate.new(read.('customer.crt'))
store_certificates = [ca, desk, customer]
flags = OpenSSL::PKCS7::NOVERIFY | OpenSSL::PKCS7::NOINTERN

# As Zammad builds it for each verification: the store of every certificate it holds.
verify = lambda do |p7|
  store = OpenSSL::X509::Store.new
  store_certificates.each { |c| store.add_cert(c) }
  signers = store_certificates.select { |c| p7.signers.any? { |s| s.issuer.cmp(c.issuer).zero? && s.serial == c.serial } }
  raise 'signer not in the store' if signers.empty?
  raise 'signature does not verify' unless p7.verify(signers, store, nil, flags)
end

incoming = lambda do |raw|
  p7 = OpenSSL::PKCS7.read_smime(raw)
  if p7.type == :enveloped
    plain = p7.decrypt(desk_key, desk)
    begin
      inner = OpenSSL::PKCS7.read_smime(plain)
    rescue ArgumentError, OpenSSL::PKCS7::PKCS7Error
      inner = nil
    end
    verify.(inner) if inner
  else
    verify.(p7)
  end
end

body = read.('plain.txt')
outgoing = lambda do |_|
  signed = OpenSSL::PKCS7.sign(desk, desk_key, body, [], OpenSSL::PKCS7::DETACHED)
  smime = OpenSSL::PKCS7.write_smime(signed)
  encrypted = OpenSSL::PKCS7.encrypt([customer, desk], smime, OpenSSL::Cipher.new('AES-256-CBC'), OpenSSL::PKCS7::BINARY)
  OpenSSL::PKCS7.write_smime(encrypted)
end

cpu = -> { Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) }
[['signed', incoming, read.('signed.eml')],
 ['encrypted', incoming, read.('encrypted.eml')],
 ['signed-encrypted', incoming, read.('signed-encrypted.eml')],
 ['outgoing', outgoing, nil]].each do |kind, work, input|
  next if only && !only.include?(kind)
  20.times { work.(input) }
  count = 0
  start = cpu.()
  while cpu.() - start < seconds
    50.times { work.(input) }
    count += 50
  end
  puts "#{kind} #{count} #{cpu.() - start}"
  $stdout.flush
end
