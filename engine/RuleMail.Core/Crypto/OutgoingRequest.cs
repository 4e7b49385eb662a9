namespace RuleMail.Crypto;

/// <summary>
/// What to do to an outgoing message: sign, encrypt or both, with S/MIME or OpenPGP.
/// </summary>
/// <param name="Type"><c>"S/MIME"</c> or <c>"PGP"</c> (<see cref="SecurityResult.SmimeType"/>, <see cref="SecurityResult.PgpType"/>); <c>smime</c> and <c>pgp</c> in any case are accepted too. Anything else is refused.</param>
/// <param name="Sign">Sign with the sender's newest valid signing certificate or key.</param>
/// <param name="Encrypt">Encrypt to every To and Cc recipient's newest valid encryption certificate or key (or to exactly <see cref="EncryptTo"/> when it is set).</param>
public sealed record OutgoingRequest(string Type, bool Sign, bool Encrypt)
{
    /// <summary>AES-256-CBC, the default S/MIME content cipher.</summary>
    public const string Aes256CbcOid = "2.16.840.1.101.3.4.1.42";

    /// <summary>AES-192-CBC.</summary>
    public const string Aes192CbcOid = "2.16.840.1.101.3.4.1.22";

    /// <summary>AES-128-CBC.</summary>
    public const string Aes128CbcOid = "2.16.840.1.101.3.4.1.2";

    /// <summary>
    /// Encrypt to the sender's own certificate or key too, so the sent copy stays readable. When the sender has
    /// none, the message is still encrypted to the recipients and <see cref="OutgoingResult.Notes"/> says so.
    /// </summary>
    public bool EncryptToSender { get; init; } = true;

    /// <summary>
    /// When set, encryption is to exactly these addresses (and the sender's own key when <see cref="EncryptToSender"/>),
    /// whatever To, Cc and Bcc say: a Bcc recipient's copy is encrypted to them alone, and the To/Cc copy never to a
    /// Bcc recipient's key, so no copy reveals a Bcc recipient to the others. Each must be a mail address (normalized as
    /// <see cref="Keys.MailAddresses.Normalize"/> does); one that is not, or an empty list, is refused. Null: To + Cc.
    /// Ignored when <see cref="OutgoingRequest.Encrypt"/> is false.
    /// </summary>
    public IReadOnlyList<string>? EncryptTo { get; init; }

    /// <summary>The S/MIME content-encryption algorithm (an AES-CBC OID); another value is refused.</summary>
    public string SmimeCipherOid { get; init; } = Aes256CbcOid;

    public static OutgoingRequest Smime(bool sign, bool encrypt) => new(SecurityResult.SmimeType, sign, encrypt);

    public static OutgoingRequest Pgp(bool sign, bool encrypt) => new(SecurityResult.PgpType, sign, encrypt);
}
