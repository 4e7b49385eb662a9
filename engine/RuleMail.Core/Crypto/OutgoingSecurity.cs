using System.Security.Cryptography;
using MimeKit;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// Signs and encrypts outgoing mail with S/MIME or OpenPGP from the key store: the sender's newest valid
/// signing certificate or key, each To and Cc recipient's newest valid encryption certificate or key (or exactly
/// those of <see cref="OutgoingRequest.EncryptTo"/>, for one copy of a message with Bcc recipients), and (by
/// default) the sender's own, so the sent copy stays readable. The outer headers stay; the body is replaced.
/// What cannot be done is refused with a one-line reason and no message: plaintext is never handed back in
/// place of what was asked for.
/// </summary>
/// <remarks>
/// Before signing, every 7bit/8bit/binary part is re-encoded (quoted-printable for text, base64 otherwise)
/// so that relays cannot change what was signed; the caller's message is not modified.
/// Thread-safe: one instance serves every worker. Time comes from the store's clock.
/// </remarks>
public sealed class OutgoingSecurity
{
    private readonly SmimeOutgoing _smime;
    private readonly PgpOutgoing _pgp;

    public OutgoingSecurity(KeyStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _smime = new SmimeOutgoing(store);
        _pgp = new PgpOutgoing(store);
    }

    /// <summary>Signs and/or encrypts <paramref name="message"/> as <paramref name="request"/> asks, or refuses.</summary>
    public OutgoingResult Protect(MimeMessage message, OutgoingRequest request)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(request);

        var type = TypeOf(request.Type);
        if (type is null)
        {
            return OutgoingResult.Refused(OutgoingRefusals.UnknownType(request.Type));
        }

        if (!request.Sign && !request.Encrypt)
        {
            return OutgoingResult.Done(message, ["Neither signing nor encryption was asked for: the message is unchanged"]);
        }

        if (message.Body is null)
        {
            return OutgoingResult.Refused(OutgoingRefusals.NoBody);
        }

        var sender = message.From.Mailboxes.Select(m => MailAddresses.Normalize(m.Address)).FirstOrDefault(a => a is not null);
        var recipients = new List<string>();
        if (request.Encrypt && !EncryptionRecipients(message, request, type, recipients, out var unusable))
        {
            return OutgoingResult.Refused(unusable!);
        }

        try
        {
            var notes = new List<string>();
            var body = type == SecurityResult.SmimeType
                ? ProtectSmime(message.Body, request, sender, recipients, notes, out var refusal)
                : ProtectPgp(message.Body, request, sender, recipients, notes, out refusal);
            return body is null ? OutgoingResult.Refused(refusal!) : OutgoingResult.Done(WithBody(message, body), notes);
        }
        catch (Exception e) when (e is CryptographicException or PgpException or IOException or KeyStoreException)
        {
            return OutgoingResult.Refused(OutgoingRefusals.Failed(type, e.Message));
        }
    }

    /// <summary>
    /// Whom to encrypt to: exactly <see cref="OutgoingRequest.EncryptTo"/> when it is set, else every To and Cc
    /// recipient; normalized, each once, in their order. False (and why) when one is not an address or there is none.
    /// </summary>
    private static bool EncryptionRecipients(MimeMessage message, OutgoingRequest request, string type, List<string> recipients, out string? refusal)
    {
        var addresses = request.EncryptTo is null
            ? message.To.Mailboxes.Concat(message.Cc.Mailboxes).Select(m => (Text: m.ToString(), Address: m.Address))
            : request.EncryptTo.Select(a => (Text: a, Address: a));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (text, address) in addresses)
        {
            var normalized = MailAddresses.Normalize(address);
            if (normalized is null)
            {
                refusal = OutgoingRefusals.NotAnAddress(type, text);
                return false;
            }

            if (seen.Add(normalized))
            {
                recipients.Add(normalized);
            }
        }

        refusal = recipients.Count > 0 ? null
            : request.EncryptTo is null ? OutgoingRefusals.NoRecipient(type)
            : OutgoingRefusals.NoRecipientGiven(type);
        return recipients.Count > 0;
    }

    private MimeEntity? ProtectSmime(MimeEntity body, OutgoingRequest request, string? sender, IReadOnlyList<string> recipients, List<string> notes, out string? refusal)
    {
        var plan = _smime.Prepare(request, sender, recipients, notes, out refusal);
        if (plan is null)
        {
            return null;
        }

        var (entity, canonical) = OutgoingContent.Prepare(body);
        return _smime.Protect(plan, entity, canonical, sender, notes);
    }

    private MimeEntity? ProtectPgp(MimeEntity body, OutgoingRequest request, string? sender, IReadOnlyList<string> recipients, List<string> notes, out string? refusal)
    {
        var plan = _pgp.Prepare(request, sender, recipients, notes, out refusal);
        if (plan is null)
        {
            return null;
        }

        var (entity, canonical) = OutgoingContent.Prepare(body);
        return _pgp.Protect(plan, entity, canonical, sender, notes);
    }

    /// <summary>The message's headers (without RuleMail's own control headers) around the new body.</summary>
    private static MimeMessage WithBody(MimeMessage message, MimeEntity body)
    {
        var result = SignedContent.WithBody(message, body);
        OwnHeaders.Remove(result.Headers);

        return result;
    }

    private static string? TypeOf(string? type) => SecurityTypes.TryParse(type, out var parsed) ? parsed.Name() : null;
}
