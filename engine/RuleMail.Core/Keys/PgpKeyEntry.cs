using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Keys;

/// <summary>
/// An OpenPGP key in the store. Only user IDs and subkeys bound by a valid self-signature count;
/// a user ID revoked by its owner no longer yields an address.
/// </summary>
public sealed class PgpKeyEntry : KeyEntry
{
    private readonly Lazy<PgpPublicKeyRing> _publicRing;
    private readonly Lazy<PgpSecretKeyRing?> _secretRing;

    private PgpKeyEntry(PgpFacts facts, Lazy<PgpPublicKeyRing> publicRing, Lazy<PgpSecretKeyRing?> secretRing, string? domainAlias)
        : base(facts.Fingerprint, facts.Addresses, facts.Keys[0].Created, facts.Keys[0].Expires)
    {
        Facts = facts;
        _publicRing = publicRing;
        _secretRing = secretRing;
        DomainAlias = domainAlias;
        UserIds = facts.UserIds;
        Keys = facts.Keys;
    }

    public override KeyKind Kind => KeyKind.Pgp;

    /// <summary>The public key ring as stored; parsed on first use.</summary>
    public PgpPublicKeyRing PublicRing => _publicRing.Value;

    /// <summary>The secret keys, still protected by the store passphrase; null when none are held. Parsed on first use.</summary>
    internal PgpSecretKeyRing? SecretRing => _secretRing.Value;

    /// <summary>Whether the key rings were parsed (a lookup that needs only the facts leaves them unparsed).</summary>
    internal bool IsParsed => _publicRing.IsValueCreated;

    /// <summary>What the verified self-signatures say (all that listing and lookups need).</summary>
    internal PgpFacts Facts { get; }

    /// <summary>A domain whose every address this key serves when no key names the address itself.</summary>
    public string? DomainAlias { get; }

    /// <summary>Verified, unrevoked user IDs.</summary>
    public IReadOnlyList<string> UserIds { get; }

    /// <summary>The primary key first, then the bound subkeys.</summary>
    public IReadOnlyList<PgpSubkey> Keys { get; }

    public string KeyId => Keys[0].KeyId;

    public override bool HasPrivateKey => Keys.Any(k => k.HasSecretKey);

    public override KeyUsages Usages => Keys.Where(k => k.RevokedAt is null).Aggregate(KeyUsages.None, (all, k) => all | k.Usages);

    public override DateTimeOffset? RevokedAt => Keys[0].RevokedAt;

    public override string DisplayName => UserIds.Count > 0 ? UserIds[0] : KeyId;

    /// <summary>Usable keys at <paramref name="now"/>: the entry must be valid, and so must the key that does the work.</summary>
    public override KeyUsages UsagesAt(DateTimeOffset now) =>
        StatusAt(now) != KeyStatus.Valid
            ? KeyUsages.None
            : Keys.Where(k => k.IsValidAt(now)).Aggregate(KeyUsages.None, (all, k) => all | k.Usages);

    /// <summary>The newest valid key for <paramref name="usage"/> at <paramref name="now"/>, if any.</summary>
    public PgpSubkey? KeyFor(KeyUsages usage, DateTimeOffset now, bool needSecret = false) =>
        StatusAt(now) != KeyStatus.Valid
            ? null
            : Keys.Where(k => k.IsValidAt(now) && k.Usages.HasFlag(usage) && (!needSecret || k.HasSecretKey))
                  .OrderByDescending(k => k.Created)
                  .FirstOrDefault();

    internal static PgpKeyEntry Create(PgpPublicKeyRing publicRing, PgpSecretKeyRing? secretRing, string? domainAlias)
    {
        var primary = publicRing.GetPublicKey();
        var userIds = new List<string>();
        var addresses = new List<string>();
        PgpSignature? newestSelfSignature = null;

        foreach (var userId in primary.GetUserIds())
        {
            var certification = NewestValid(
                primary.GetSignaturesForId(userId).Where(s => IsUserIdCertification(s.SignatureType) && s.KeyId == primary.KeyId),
                s => s.VerifyCertification(userId, primary),
                primary);
            if (certification is null)
            {
                continue;
            }

            var revocation = NewestValid(
                primary.GetSignaturesForId(userId).Where(s => s.SignatureType == PgpSignature.CertificationRevocation && s.KeyId == primary.KeyId),
                s => s.VerifyCertification(userId, primary),
                primary);
            if (revocation is not null && revocation.CreationTime >= certification.CreationTime)
            {
                continue;
            }

            if (newestSelfSignature is null || IsBetterSelfSignature(certification, newestSelfSignature))
            {
                newestSelfSignature = certification;
            }

            userIds.Add(userId);
            var address = MailAddresses.Normalize(userId);
            if (address is not null && !addresses.Contains(address))
            {
                addresses.Add(address);
            }
        }

        var directKey = NewestValid(
            primary.GetSignaturesOfType(PgpSignature.DirectKey).Where(s => s.KeyId == primary.KeyId),
            s => s.VerifyCertification(primary),
            primary);
        var primaryRevocation = NewestValid(
            primary.GetSignaturesOfType(PgpSignature.KeyRevocation).Where(s => s.KeyId == primary.KeyId),
            s => s.VerifyCertification(primary),
            primary);

        var keys = new List<PgpSubkey>
        {
            Describe(primary, secretRing, newestSelfSignature ?? directKey, primaryRevocation, isPrimary: true),
        };

        foreach (var subkey in publicRing.GetPublicKeys().Where(k => !k.IsMasterKey))
        {
            var binding = NewestValid(
                subkey.GetSignaturesOfType(PgpSignature.SubkeyBinding).Where(s => s.KeyId == primary.KeyId),
                s => s.VerifyCertification(primary, subkey) && HasValidBackSignature(s, primary, subkey),
                primary);
            if (binding is null)
            {
                continue;
            }

            var revocation = NewestValid(
                subkey.GetSignaturesOfType(PgpSignature.SubkeyRevocation).Where(s => s.KeyId == primary.KeyId),
                s => s.VerifyCertification(primary, subkey),
                primary);
            keys.Add(Describe(subkey, secretRing, binding, revocation, isPrimary: false));
        }

        var facts = new PgpFacts(Convert.ToHexString(primary.GetFingerprint()), userIds, addresses, keys);
        return new PgpKeyEntry(facts, new(publicRing), new(secretRing), domainAlias);
    }

    /// <summary>
    /// An entry from facts derived earlier from these key rings' bytes, which are parsed only when a ring itself is
    /// asked for; the fingerprint is checked then, so facts that were not derived from these bytes are never paired with them.
    /// </summary>
    internal static PgpKeyEntry FromFacts(PgpFacts facts, Func<byte[]> publicRing, Func<byte[]?> secretRing, string? domainAlias) =>
        new(
            facts,
            new(() => ParsePublic(facts, publicRing()), LazyThreadSafetyMode.ExecutionAndPublication),
            new(() => secretRing() is { } secret ? new PgpSecretKeyRing(PgpUtilities.GetDecoderStream(new MemoryStream(secret))) : null, LazyThreadSafetyMode.ExecutionAndPublication),
            domainAlias);

    /// <summary>The same key serving another domain alias: nothing to verify again.</summary>
    internal PgpKeyEntry WithDomainAlias(string? domainAlias) => new(Facts, _publicRing, _secretRing, domainAlias);

    private static PgpPublicKeyRing ParsePublic(PgpFacts facts, byte[] content)
    {
        var ring = new PgpPublicKeyRing(PgpUtilities.GetDecoderStream(new MemoryStream(content)));
        if (!string.Equals(Convert.ToHexString(ring.GetPublicKey().GetFingerprint()), facts.Fingerprint, StringComparison.Ordinal))
        {
            throw new KeyStoreException($"the key store's cached facts of {facts.Fingerprint} do not belong to its key ring; delete {KeyStoreCache.FileName} to rebuild them");
        }

        return ring;
    }

    private static bool IsUserIdCertification(int type) =>
        type is PgpSignature.DefaultCertification or PgpSignature.NoCertification
            or PgpSignature.CasualCertification or PgpSignature.PositiveCertification;

    /// <summary>The primary user ID's self-signature wins; otherwise the newest.</summary>
    private static bool IsBetterSelfSignature(PgpSignature candidate, PgpSignature current)
    {
        var candidatePrimary = candidate.GetHashedSubPackets()?.IsPrimaryUserId() == true;
        var currentPrimary = current.GetHashedSubPackets()?.IsPrimaryUserId() == true;
        if (candidatePrimary != currentPrimary)
        {
            return candidatePrimary;
        }

        return candidate.CreationTime > current.CreationTime;
    }

    /// <summary>A signing subkey must carry the subkey's own signature over the binding, or anyone could claim it.</summary>
    private static bool HasValidBackSignature(PgpSignature binding, PgpPublicKey primary, PgpPublicKey subkey)
    {
        var flags = binding.GetHashedSubPackets()?.GetKeyFlags() ?? 0;
        if ((flags & PgpKeyFlags.CanSign) == 0)
        {
            return true;
        }

        var embedded = binding.GetHashedSubPackets()?.GetEmbeddedSignatures();
        if (embedded is null)
        {
            return false;
        }

        for (var i = 0; i < embedded.Count; i++)
        {
            var back = embedded[i];
            if (back.SignatureType == PgpSignature.PrimaryKeyBinding && TryVerify(back, subkey, s => s.VerifyCertification(primary, subkey)))
            {
                return true;
            }
        }

        return false;
    }

    private static PgpSignature? NewestValid(IEnumerable<PgpSignature> signatures, Func<PgpSignature, bool> verify, PgpPublicKey signer) =>
        signatures.Where(s => TryVerify(s, signer, verify)).OrderByDescending(s => s.CreationTime).FirstOrDefault();

    private static bool TryVerify(PgpSignature signature, PgpPublicKey signer, Func<PgpSignature, bool> verify)
    {
        try
        {
            signature.InitVerify(signer);
            return verify(signature);
        }
        catch (PgpException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static PgpSubkey Describe(PgpPublicKey key, PgpSecretKeyRing? secretRing, PgpSignature? selfSignature, PgpSignature? revocation, bool isPrimary)
    {
        var created = new DateTimeOffset(DateTime.SpecifyKind(key.CreationTime, DateTimeKind.Utc));
        var hashed = selfSignature?.GetHashedSubPackets();
        var validSeconds = hashed?.GetKeyExpirationTime() ?? 0;
        DateTimeOffset? expires = validSeconds > 0 ? created.AddSeconds(validSeconds) : null;

        var flags = hashed?.GetKeyFlags() ?? 0;
        var usages = flags != 0 ? FromFlags(flags) : FromAlgorithm(key.Algorithm, isPrimary);
        var secret = secretRing?.GetSecretKey(key.KeyId);
        return new PgpSubkey(
            Convert.ToHexString(key.GetFingerprint()),
            key.KeyId.ToString("X16", System.Globalization.CultureInfo.InvariantCulture),
            AlgorithmName(key),
            created,
            expires,
            usages,
            revocation is null ? null : new DateTimeOffset(DateTime.SpecifyKind(revocation.CreationTime, DateTimeKind.Utc)),
            secret is not null && !secret.IsPrivateKeyEmpty,
            isPrimary);
    }

    private static KeyUsages FromFlags(int flags)
    {
        var usages = KeyUsages.None;
        if ((flags & PgpKeyFlags.CanSign) != 0)
        {
            usages |= KeyUsages.Sign;
        }

        if ((flags & (PgpKeyFlags.CanEncryptCommunications | PgpKeyFlags.CanEncryptStorage)) != 0)
        {
            usages |= KeyUsages.Encrypt;
        }

        return usages;
    }

    private static KeyUsages FromAlgorithm(PublicKeyAlgorithmTag algorithm, bool isPrimary) => algorithm switch
    {
        PublicKeyAlgorithmTag.RsaGeneral => KeyUsages.Sign | KeyUsages.Encrypt,
        PublicKeyAlgorithmTag.RsaSign or PublicKeyAlgorithmTag.Dsa or PublicKeyAlgorithmTag.ECDsa
            or PublicKeyAlgorithmTag.EdDsa_Legacy or PublicKeyAlgorithmTag.Ed25519 or PublicKeyAlgorithmTag.Ed448 => KeyUsages.Sign,
        PublicKeyAlgorithmTag.RsaEncrypt or PublicKeyAlgorithmTag.ElGamalEncrypt or PublicKeyAlgorithmTag.ECDH
            or PublicKeyAlgorithmTag.X25519 or PublicKeyAlgorithmTag.X448 => isPrimary ? KeyUsages.None : KeyUsages.Encrypt,
        _ => KeyUsages.None,
    };

    private static string AlgorithmName(PgpPublicKey key) => key.Algorithm switch
    {
        PublicKeyAlgorithmTag.RsaGeneral or PublicKeyAlgorithmTag.RsaSign or PublicKeyAlgorithmTag.RsaEncrypt => $"RSA-{key.BitStrength}",
        PublicKeyAlgorithmTag.EdDsa_Legacy or PublicKeyAlgorithmTag.Ed25519 => "Ed25519",
        PublicKeyAlgorithmTag.Ed448 => "Ed448",
        PublicKeyAlgorithmTag.ECDH when IsCurve25519(key) => "Cv25519",
        PublicKeyAlgorithmTag.X25519 => "X25519",
        PublicKeyAlgorithmTag.X448 => "X448",
        _ => $"{key.Algorithm}-{key.BitStrength}",
    };

    private static bool IsCurve25519(PgpPublicKey key) =>
        key.PublicKeyPacket.Key is ECPublicBcpgKey ec && ec.CurveOid.Id == "1.3.6.1.4.1.3029.1.5.1";
}
