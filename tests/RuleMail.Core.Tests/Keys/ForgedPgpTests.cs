using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>
/// Anyone can append a user ID or a subkey to someone else's public key; only what the key itself
/// certified may count. The forgeries are built in-process with BouncyCastle.
/// </summary>
public sealed class ForgedPgpTests
{
    private const string VictimUserId = "Victor Example <victor@example.org>";
    private const string ForgedUserId = "Mallory <mallory@example.org>";

    private readonly SecureRandom _random = new();
    private readonly DateTime _created = TimeProvider.System.GetUtcNow().UtcDateTime.AddMinutes(-5);

    [Fact]
    public void A_user_id_certified_by_another_key_yields_no_address()
    {
        var (victim, victimRing) = NewKey(VictimUserId);
        var (attacker, _) = NewKey("Attacker <attacker@example.net>");
        var forged = AddUserId(victimRing, ForgedUserId, attacker.PrivateKey);
        using var store = new TestStore();

        store.Import(Armored("forged.asc", forged));

        var entry = Assert.Single(store.Store.PgpKeys);
        Assert.Equal(Convert.ToHexString(victim.PublicKey.GetFingerprint()), entry.Fingerprint);
        Assert.Equal(["victor@example.org"], entry.Addresses);
        Assert.Equal([VictimUserId], entry.UserIds);
        Assert.Empty(store.Store.FindPgp("mallory@example.org"));
    }

    [Fact]
    public void A_user_id_whose_signature_claims_the_keys_own_key_id_but_does_not_verify_yields_no_address()
    {
        var (victim, victimRing) = NewKey(VictimUserId);
        var (attacker, _) = NewKey("Attacker <attacker@example.net>");
        var spoofed = new PgpPrivateKey(victim.KeyId, attacker.PublicKey.PublicKeyPacket, attacker.PrivateKey.Key);
        var forged = AddUserId(victimRing, ForgedUserId, spoofed);
        Assert.Contains(forged.GetPublicKey().GetSignaturesForId(ForgedUserId), s => s.KeyId == victim.KeyId);
        using var store = new TestStore();

        store.Import(Armored("forged.asc", forged));

        Assert.Equal(["victor@example.org"], Assert.Single(store.Store.PgpKeys).Addresses);
        Assert.Empty(store.Store.FindPgp("mallory@example.org"));
    }

    [Fact]
    public void A_forged_user_id_merged_into_a_key_already_in_the_store_yields_no_address()
    {
        var (victim, victimRing) = NewKey(VictimUserId);
        var (attacker, _) = NewKey("Attacker <attacker@example.net>");
        var spoofed = new PgpPrivateKey(victim.KeyId, attacker.PublicKey.PublicKeyPacket, attacker.PrivateKey.Key);
        using var store = new TestStore();
        store.Import(Armored("victor.asc", victimRing));

        store.Import(Armored("forged.asc", AddUserId(victimRing, ForgedUserId, spoofed)));

        Assert.Equal(["victor@example.org"], Assert.Single(store.Store.PgpKeys).Addresses);
        Assert.Empty(store.Open().FindPgp("mallory@example.org"));
    }

    [Fact]
    public void A_user_id_certified_by_the_key_itself_yields_an_address()
    {
        // The control for the forgeries above: the same construction with the right key is accepted.
        var (victim, victimRing) = NewKey(VictimUserId);
        var genuine = AddUserId(victimRing, "Victor Second <victor.second@example.org>", victim.PrivateKey);
        using var store = new TestStore();

        store.Import(Armored("genuine.asc", genuine));

        Assert.Equal(["victor@example.org", "victor.second@example.org"], Assert.Single(store.Store.PgpKeys).Addresses);
    }

    [Fact]
    public void An_encryption_subkey_bound_by_another_key_is_not_used()
    {
        var (victim, victimRing) = NewKey(VictimUserId);
        var (attacker, attackerRing) = NewKey("Attacker <attacker@example.net>", withEncryptionSubkey: true);
        var spoofed = new PgpPrivateKey(victim.KeyId, attacker.PublicKey.PublicKeyPacket, attacker.PrivateKey.Key);
        var forged = AddSubkey(victimRing, attackerRing, spoofed);
        Assert.Equal(2, forged.GetPublicKeys().Count());
        using var store = new TestStore();

        store.Import(Armored("forged.asc", forged));

        var entry = Assert.Single(store.Store.PgpKeys);
        Assert.Single(entry.Keys);
        Assert.Null(entry.KeyFor(KeyUsages.Encrypt, store.Time.GetUtcNow()));
        Assert.Null(store.Store.FindPgp("victor@example.org", KeyUsages.Encrypt));
    }

    [Fact]
    public void An_encryption_subkey_bound_by_the_key_itself_is_used()
    {
        // The control for the forged subkey: the same construction signed by the primary key counts.
        var (victim, victimRing) = NewKey(VictimUserId);
        var (_, otherRing) = NewKey("Other <other@example.net>", withEncryptionSubkey: true);
        var bound = AddSubkey(victimRing, otherRing, victim.PrivateKey);
        using var store = new TestStore();

        store.Import(Armored("bound.asc", bound));

        var entry = Assert.Single(store.Store.PgpKeys);
        Assert.Equal(2, entry.Keys.Count);
        Assert.NotNull(store.Store.FindPgp("victor@example.org", KeyUsages.Encrypt));
    }

    private (PgpKeyPair Primary, PgpPublicKeyRing Ring) NewKey(string userId, bool withEncryptionSubkey = false)
    {
        var primary = new PgpKeyPair(PublicKeyAlgorithmTag.EdDsa_Legacy, Ed25519(), _created);
        var flags = new PgpSignatureSubpacketGenerator();
        flags.SetKeyFlags(false, PgpKeyFlags.CanSign | PgpKeyFlags.CanCertify);
        var generator = new PgpKeyRingGenerator(
            PgpSignature.PositiveCertification, primary, userId, SymmetricKeyAlgorithmTag.Aes256, "unused".ToCharArray(),
            true, flags.Generate(), null, _random);
        if (withEncryptionSubkey)
        {
            var x25519 = new X25519KeyPairGenerator();
            x25519.Init(new X25519KeyGenerationParameters(_random));
            var encryptionFlags = new PgpSignatureSubpacketGenerator();
            encryptionFlags.SetKeyFlags(false, PgpKeyFlags.CanEncryptCommunications | PgpKeyFlags.CanEncryptStorage);
            generator.AddSubKey(new PgpKeyPair(PublicKeyAlgorithmTag.ECDH, x25519.GenerateKeyPair(), _created), encryptionFlags.Generate(), null);
        }

        return (primary, generator.GeneratePublicKeyRing());
    }

    private Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair Ed25519()
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(_random));
        return generator.GenerateKeyPair();
    }

    private static PgpPublicKeyRing AddUserId(PgpPublicKeyRing ring, string userId, PgpPrivateKey signer)
    {
        var primary = ring.GetPublicKey();
        var generator = new PgpSignatureGenerator(PublicKeyAlgorithmTag.EdDsa_Legacy, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.PositiveCertification, signer);
        var flags = new PgpSignatureSubpacketGenerator();
        flags.SetKeyFlags(false, PgpKeyFlags.CanSign | PgpKeyFlags.CanCertify);
        flags.SetPrimaryUserId(false, true);
        generator.SetHashedSubpackets(flags.Generate());
        var certification = generator.GenerateCertification(userId, primary);
        return PgpPublicKeyRing.InsertPublicKey(ring, PgpPublicKey.AddCertification(primary, userId, certification));
    }

    /// <summary>Moves the encryption subkey of <paramref name="donor"/> onto <paramref name="ring"/> with a binding made by <paramref name="signer"/>.</summary>
    private static PgpPublicKeyRing AddSubkey(PgpPublicKeyRing ring, PgpPublicKeyRing donor, PgpPrivateKey signer)
    {
        var subkey = donor.GetPublicKeys().Single(k => !k.IsMasterKey);
        foreach (var binding in subkey.GetSignatures().ToList())
        {
            subkey = PgpPublicKey.RemoveCertification(subkey, binding);
        }

        var generator = new PgpSignatureGenerator(PublicKeyAlgorithmTag.EdDsa_Legacy, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.SubkeyBinding, signer);
        var flags = new PgpSignatureSubpacketGenerator();
        flags.SetKeyFlags(false, PgpKeyFlags.CanEncryptCommunications | PgpKeyFlags.CanEncryptStorage);
        generator.SetHashedSubpackets(flags.Generate());
        var signature = generator.GenerateCertification(ring.GetPublicKey(), subkey);
        return PgpPublicKeyRing.InsertPublicKey(ring, PgpPublicKey.AddCertification(subkey, signature));
    }

    private static ImportFile Armored(string name, PgpPublicKeyRing ring) => new(name, Pgp.Armor(ring.GetEncoded()));
}
