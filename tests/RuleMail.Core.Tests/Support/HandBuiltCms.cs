using System.Formats.Asn1;
using System.Text;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// CMS no tool writes on request: a signed-data with thousands of SignerInfos, an enveloped-data with thousands
/// of RecipientInfos. Starts from what openssl or SignedCms wrote and rewrites one SET with System.Formats.Asn1,
/// so everything else stays real. Written in BER (definite lengths, SET OF left in the given order), which CMS
/// readers accept; DER would re-sort the copies.
/// </summary>
internal static class HandBuiltCms
{
    /// <summary>A signed-data ContentInfo whose signerInfos are <paramref name="rewrite"/> applied to its own.</summary>
    public static byte[] WithSignerInfos(byte[] contentInfo, Func<IReadOnlyList<byte[]>, IEnumerable<byte[]>> rewrite) =>
        RewriteSet(contentInfo, fields => fields.FindLastIndex(IsSet), Asn1Tag.SetOf, rewrite);

    /// <summary>A signed-data ContentInfo whose certificates ([0] IMPLICIT SET OF) are <paramref name="rewrite"/> applied to its own.</summary>
    public static byte[] WithCertificates(byte[] contentInfo, Func<IReadOnlyList<byte[]>, IEnumerable<byte[]>> rewrite) =>
        RewriteSet(contentInfo, fields => fields.FindIndex(f => f.Length > 0 && f[0] == 0xA0), ImplicitZero, rewrite);

    /// <summary>An enveloped-data ContentInfo whose recipientInfos are <paramref name="rewrite"/> applied to its own.</summary>
    public static byte[] WithRecipientInfos(byte[] contentInfo, Func<IReadOnlyList<byte[]>, IEnumerable<byte[]>> rewrite) =>
        RewriteSet(contentInfo, fields => fields.FindIndex(IsSet), Asn1Tag.SetOf, rewrite);

    /// <summary>A KeyTransRecipientInfo like <paramref name="keyTransport"/> whose encrypted key is <paramref name="encryptedKey"/>.</summary>
    public static byte[] WithEncryptedKey(byte[] keyTransport, byte[] encryptedKey)
    {
        var fields = Fields(new AsnReader(keyTransport, AsnEncodingRules.BER).ReadSequence());
        var writer = new AsnWriter(AsnEncodingRules.BER);
        using (writer.PushSequence())
        {
            foreach (var field in fields.Take(fields.Count - 1))
            {
                writer.WriteEncodedValue(field);
            }

            writer.WriteOctetString(encryptedKey);
        }

        return writer.Encode();
    }

    /// <summary>RFC 8551 multipart/signed around <paramref name="entity"/> (its exact bytes) and a DER detached signature.</summary>
    public static byte[] DetachedMessage(byte[] entity, byte[] signature, string from, string to)
    {
        const string Boundary = "=-=hand-built-cms-3f2a=-=";
        var crlf = IncomingMail.Crlf;
        byte[] mime = [
            .. Encoding.ASCII.GetBytes(
                $"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"{Boundary}\"" + crlf + crlf +
                "--" + Boundary + crlf),
            .. entity,
            .. Encoding.ASCII.GetBytes(
                crlf + "--" + Boundary + crlf +
                "Content-Type: application/pkcs7-signature; name=smime.p7s" + crlf +
                "Content-Transfer-Encoding: base64" + crlf + crlf +
                Convert.ToBase64String(signature, Base64FormattingOptions.InsertLineBreaks) + crlf +
                "--" + Boundary + "--" + crlf),
        ];
        return IncomingMail.WithHeaders(mime, from, to);
    }

    /// <summary>application/pkcs7-mime; smime-type=enveloped-data around a DER ContentInfo.</summary>
    public static byte[] EnvelopedMessage(byte[] contentInfo, string from, string to)
    {
        var crlf = IncomingMail.Crlf;
        var mime = Encoding.ASCII.GetBytes(
            "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m" + crlf +
            "Content-Transfer-Encoding: base64" + crlf + crlf +
            Convert.ToBase64String(contentInfo, Base64FormattingOptions.InsertLineBreaks) + crlf);
        return IncomingMail.WithHeaders(mime, from, to);
    }

    private static readonly Asn1Tag ImplicitZero = new(TagClass.ContextSpecific, 0, isConstructed: true);

    private static bool IsSet(byte[] field) => field.Length > 0 && field[0] == 0x31;

    private static byte[] RewriteSet(
        byte[] contentInfo, Func<List<byte[]>, int> whichSet, Asn1Tag setTag, Func<IReadOnlyList<byte[]>, IEnumerable<byte[]>> rewrite)
    {
        var outer = new AsnReader(contentInfo, AsnEncodingRules.BER).ReadSequence();
        var contentType = outer.ReadObjectIdentifier();
        var explicitContent = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        var fields = Fields(outer.ReadSequence(explicitContent).ReadSequence());
        var index = whichSet(fields);
        if (index < 0)
        {
            throw new ArgumentException("the content holds no SET to rewrite", nameof(contentInfo));
        }

        var elements = Fields(new AsnReader(fields[index], AsnEncodingRules.BER).ReadSetOf(skipSortOrderValidation: true, expectedTag: setTag));
        var replacement = rewrite(elements).ToList();

        // Sized up front: AsnWriter otherwise grows its buffer a kilobyte at a time, quadratic for megabytes.
        var capacity = contentInfo.Length + replacement.Sum(e => (long)e.Length) + 64;
        var writer = new AsnWriter(AsnEncodingRules.BER, initialCapacity: checked((int)capacity));
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(contentType);
            using (writer.PushSequence(explicitContent))
            using (writer.PushSequence())
            {
                for (var i = 0; i < fields.Count; i++)
                {
                    if (i != index)
                    {
                        writer.WriteEncodedValue(fields[i]);
                        continue;
                    }

                    using (writer.PushSetOf(setTag))
                    {
                        foreach (var element in replacement)
                        {
                            writer.WriteEncodedValue(element);
                        }
                    }
                }
            }
        }

        return writer.Encode();
    }

    private static List<byte[]> Fields(AsnReader reader)
    {
        var fields = new List<byte[]>();
        while (reader.HasData)
        {
            fields.Add(reader.ReadEncodedValue().ToArray());
        }

        return fields;
    }
}
