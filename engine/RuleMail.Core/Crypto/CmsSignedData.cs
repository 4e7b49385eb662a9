using System.Formats.Asn1;

namespace RuleMail.Crypto;

/// <summary>
/// A CMS signed-data ContentInfo (RFC 5652 section 5) read once with System.Formats.Asn1, keeping the raw encodings a
/// signature check needs: the certificates as they were sent (so a certificate seen before is recognized by its bytes,
/// not parsed again), and each SignerInfo's signed attributes exactly as signed. <see cref="TryRead"/> accepts only the
/// shape S/MIME mail has (id-data content, X.509 certificates, IssuerAndSerialNumber or SubjectKeyIdentifier signers);
/// anything else is left to <see cref="System.Security.Cryptography.Pkcs.SignedCms"/>, which reads and judges it as before.
/// </summary>
internal sealed class CmsSignedData
{
    public const string DataOid = "1.2.840.113549.1.7.1";

    private static readonly Asn1Tag Explicit0 = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag Implicit1 = new(TagClass.ContextSpecific, 1, isConstructed: true);
    private static readonly Asn1Tag KeyIdentifierTag = new(TagClass.ContextSpecific, 0, isConstructed: false);

    private CmsSignedData(byte[]? content, IReadOnlyList<ReadOnlyMemory<byte>> certificates, IReadOnlyList<Signer> signers)
    {
        Content = content;
        Certificates = certificates;
        Signers = signers;
    }

    /// <summary>The encapsulated id-data content; null when the signature is detached.</summary>
    public byte[]? Content { get; }

    /// <summary>The certificates the message carries, each as its DER encoding, in their order.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Certificates { get; }

    public IReadOnlyList<Signer> Signers { get; }

    /// <summary>Reads <paramref name="contentInfo"/>; null when it is not signed-data of the usual shape (or not readable at all).</summary>
    public static CmsSignedData? TryRead(byte[] contentInfo)
    {
        try
        {
            return Read(contentInfo);
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    private static CmsSignedData? Read(byte[] contentInfo)
    {
        var outer = new AsnReader(contentInfo, AsnEncodingRules.BER);
        var info = outer.ReadSequence();
        if (outer.HasData || info.ReadObjectIdentifier() != SmimeDecryption.SignedDataOid)
        {
            return null;
        }

        var wrapper = info.ReadSequence(Explicit0);
        var signedData = wrapper.ReadSequence();
        if (wrapper.HasData || info.HasData)
        {
            return null;
        }

        signedData.ReadEncodedValue(); // version: SignedCms reads it, the judgement never depends on it
        signedData.ReadSetOf(skipSortOrderValidation: true); // digestAlgorithms: each SignerInfo names its own
        var encapsulated = signedData.ReadSequence();
        if (encapsulated.ReadObjectIdentifier() != DataOid)
        {
            return null;
        }

        byte[]? content = null;
        if (encapsulated.HasData)
        {
            var explicitContent = encapsulated.ReadSequence(Explicit0);
            content = explicitContent.ReadOctetString();
            if (explicitContent.HasData || encapsulated.HasData)
            {
                return null;
            }
        }

        var certificates = new List<ReadOnlyMemory<byte>>();
        if (signedData.HasData && signedData.PeekTag().HasSameClassAndValue(Explicit0))
        {
            var set = signedData.ReadSetOf(skipSortOrderValidation: true, expectedTag: Explicit0);
            while (set.HasData)
            {
                // Attribute certificates and other choices are left to SignedCms.
                if (set.PeekTag() != Asn1Tag.Sequence)
                {
                    return null;
                }

                certificates.Add(set.ReadEncodedValue());
            }
        }

        if (signedData.HasData && signedData.PeekTag().HasSameClassAndValue(Implicit1))
        {
            signedData.ReadEncodedValue(); // CRLs in the message are not evidence: the store's CRLs are judged
        }

        var signerSet = signedData.ReadSetOf(skipSortOrderValidation: true);
        if (signedData.HasData)
        {
            return null;
        }

        var signers = new List<Signer>();
        while (signerSet.HasData)
        {
            if (ReadSigner(signerSet.ReadSequence()) is not { } signer)
            {
                return null;
            }

            signers.Add(signer);
        }

        return new CmsSignedData(content, certificates, signers);
    }

    private static Signer? ReadSigner(AsnReader info)
    {
        info.ReadEncodedValue(); // version
        ReadOnlyMemory<byte>? issuer = null;
        ReadOnlyMemory<byte>? serial = null;
        byte[]? keyIdentifier = null;
        var sidTag = info.PeekTag();
        if (sidTag == Asn1Tag.Sequence)
        {
            var issuerAndSerial = info.ReadSequence();
            issuer = issuerAndSerial.ReadEncodedValue();
            serial = issuerAndSerial.ReadIntegerBytes();
            if (issuerAndSerial.HasData)
            {
                return null;
            }
        }
        else if (sidTag == KeyIdentifierTag)
        {
            keyIdentifier = info.ReadOctetString(KeyIdentifierTag);
        }
        else
        {
            return null;
        }

        var digest = ReadAlgorithm(info);
        ReadOnlyMemory<byte>? signedAttributes = null;
        if (info.PeekTag().HasSameClassAndValue(Explicit0))
        {
            signedAttributes = info.ReadEncodedValue();
        }

        var signature = ReadAlgorithm(info);
        var value = info.ReadOctetString();
        if (info.HasData && info.PeekTag().HasSameClassAndValue(Implicit1))
        {
            info.ReadEncodedValue(); // unsigned attributes (counter-signatures) are not judged, as with SignedCms
        }

        return info.HasData ? null : new Signer(issuer, serial, keyIdentifier, digest, signedAttributes, signature, value);
    }

    private static Algorithm ReadAlgorithm(AsnReader reader)
    {
        var identifier = reader.ReadSequence();
        var oid = identifier.ReadObjectIdentifier();
        var parameters = identifier.HasData ? identifier.ReadEncodedValue() : (ReadOnlyMemory<byte>?)null;
        identifier.ThrowIfNotEmpty();
        return new Algorithm(oid, parameters);
    }

    /// <summary>An AlgorithmIdentifier: the OID and the raw parameters, null when absent.</summary>
    internal sealed record Algorithm(string Oid, ReadOnlyMemory<byte>? Parameters)
    {
        /// <summary>Parameters absent or NULL, the only forms RSA PKCS#1 v1.5 and ECDSA signatures and SHA digests have.</summary>
        public bool HasNoParameters => Parameters is not { } p || p.Span.SequenceEqual((ReadOnlySpan<byte>)[0x05, 0x00]);
    }

    /// <summary>
    /// One SignerInfo. <paramref name="Issuer"/> is the raw issuer Name and <paramref name="Serial"/> the serial number's
    /// content bytes of an IssuerAndSerialNumber; <paramref name="KeyIdentifier"/> a SubjectKeyIdentifier; exactly one of
    /// the two forms is set. <paramref name="SignedAttributes"/> is the [0] IMPLICIT encoding as sent.
    /// </summary>
    internal sealed record Signer(
        ReadOnlyMemory<byte>? Issuer,
        ReadOnlyMemory<byte>? Serial,
        byte[]? KeyIdentifier,
        Algorithm Digest,
        ReadOnlyMemory<byte>? SignedAttributes,
        Algorithm Signature,
        byte[] Value);
}
