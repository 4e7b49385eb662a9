using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Bcpg;

namespace RuleMail.Keys;

/// <summary>
/// The public part of an entry as a file others can import: an S/MIME certificate or a CRL as PEM, an OpenPGP key as
/// an ASCII-armored public key block — in the same bytes the store keeps them in. Built from the public objects alone
/// (the certificate's DER, the public key ring), so no private or secret material can ever be part of it.
/// </summary>
public static class KeyExport
{
    /// <summary>The certificate as one PEM <c>CERTIFICATE</c> block.</summary>
    public static byte[] Pem(SmimeCertificateEntry certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Pem("CERTIFICATE", certificate.Certificate.RawData);
    }

    /// <summary>The CRL as one PEM <c>X509 CRL</c> block.</summary>
    public static byte[] Pem(CrlEntry crl)
    {
        ArgumentNullException.ThrowIfNull(crl);
        return Pem("X509 CRL", crl.Encoded);
    }

    /// <summary>The public key ring (primary key, user IDs, subkeys and their signatures) as a <c>PGP PUBLIC KEY BLOCK</c>.</summary>
    public static byte[] Armored(PgpKeyEntry key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Armor(key.PublicRing.Encode);
    }

    internal static byte[] Pem(string label, byte[] der) => Encoding.ASCII.GetBytes(PemEncoding.WriteString(label, der) + "\n");

    internal static byte[] Armor(Action<Stream> encode)
    {
        using var buffer = new MemoryStream();
        using (var armored = new ArmoredOutputStream(buffer))
        {
            encode(armored);
        }

        return buffer.ToArray();
    }
}
