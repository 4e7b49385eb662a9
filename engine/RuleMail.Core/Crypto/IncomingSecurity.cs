using System.Text;
using MimeKit;
using RuleMail.Keys;

namespace RuleMail.Crypto;

/// <summary>
/// Decrypts and verifies incoming mail (S/MIME and OpenPGP) against the key store, and judges the result
/// the way the seed shows it. Only the root of the message counts: an encrypted or signed part nested
/// among plaintext parts (EFAIL and signature wrapping) neither decrypts nor makes the message signed.
/// Nothing throws past a message: every problem becomes a result with a reason.
/// </summary>
/// <remarks>Thread-safe: one instance serves every worker.</remarks>
public sealed class IncomingSecurity
{
    private readonly SmimeSignatureCheck _smimeSignatures;
    private readonly SmimeDecryption _smimeDecryption;
    private readonly PgpIncoming _pgp;

    /// <summary>
    /// Protected content whose stored (encoded) size is above this many bytes is decoded, decrypted and hashed through
    /// temporary files (<see cref="Spool"/>) rather than arrays: a 100 MB message then costs little more memory than a
    /// small one. Below it the in-memory path is faster.
    /// </summary>
    public const long DefaultStreamAbove = 4 * 1024 * 1024;

    private readonly long _streamAbove;

    public IncomingSecurity(KeyStore store, SecurityPolicy? policy = null)
        : this(store, policy, DefaultStreamAbove)
    {
    }

    /// <param name="streamAbove">The size above which content is streamed (<see cref="DefaultStreamAbove"/>); tests lower it.</param>
    internal IncomingSecurity(KeyStore store, SecurityPolicy? policy, long streamAbove)
    {
        ArgumentNullException.ThrowIfNull(store);
        _streamAbove = streamAbove;
        Policy = policy ?? SecurityPolicy.Default;
        _smimeSignatures = new SmimeSignatureCheck(store, Policy);
        _smimeDecryption = new SmimeDecryption(store, Policy);
        _pgp = new PgpIncoming(store, Policy);
    }

    /// <summary>The algorithm policy and resource limits every message is judged under.</summary>
    public SecurityPolicy Policy { get; }

    /// <summary>
    /// Parses and judges one message as received. Its structure is bounded before MIME parsing (header block and
    /// field sizes, folded lines, parameters, parts, depth: <see cref="SecurityPolicy"/>); a message over a bound,
    /// or one whose headers cannot be parsed, is damaged: its result is a signature failure that says why, and its
    /// view holds what could be read safely. Never throws for what the message holds.
    /// </summary>
    /// <param name="raw">The message, seekable; it is read in place (MimeKit keeps referring to it), so keep it open while the report is used.</param>
    /// <param name="accountAddress">The address of the account that received it: its private keys are tried first.</param>
    public IncomingReport Inspect(Stream raw, string? accountAddress = null)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (!raw.CanSeek)
        {
            throw new ArgumentException("the message stream must be seekable", nameof(raw));
        }

        var start = raw.Position;
        var scan = StructureScan.Run(raw, Policy);
        raw.Position = start;
        if (scan.Problem is { } problem)
        {
            return Damaged(scan.TopHeadersComplete ? HeadersOnly(raw) : new MimeMessage(), SecurityComments.StructureTooLarge(problem));
        }

        MimeMessage message;
        try
        {
            message = MimeMessage.Load(ParserOptions, raw, persistent: true);
        }
        catch (FormatException e)
        {
            return Damaged(new MimeMessage(), SecurityComments.Malformed($"its headers cannot be parsed ({e.Message.TrimEnd('.')})"));
        }

        return Inspect(message, accountAddress);
    }

    /// <summary>How MimeKit parses what RuleMail judges: no deeper than the scan allowed.</summary>
    internal static ParserOptions ParserOptions { get; } = CreateParserOptions();

    private static ParserOptions CreateParserOptions()
    {
        var options = ParserOptions.Default.Clone();
        options.MaxMimeDepth = StructureScan.MaxDepth;
        return options;
    }

    /// <summary>The top-level headers alone (the block passed the scan), with an empty body, for a message whose body is over a bound.</summary>
    private static MimeMessage HeadersOnly(Stream raw)
    {
        try
        {
            var headers = HeaderList.Load(ParserOptions, raw);
            var message = new MimeMessage(headers.Where(h => !h.Field.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) && h.Id != HeaderId.MimeVersion));
            message.Body = new TextPart("plain") { Text = string.Empty };
            return message;
        }
        catch (FormatException)
        {
            return new MimeMessage();
        }
    }

    private static IncomingReport Damaged(MimeMessage view, string comment)
    {
        OwnHeaders.Remove(view.Headers);
        return new IncomingReport(new SecurityResult(null, SecurityOutcome.Failed(comment), null), view);
    }

    /// <summary>
    /// Decrypts and verifies <paramref name="message"/>. Removes <c>X-RuleMail-*</c> headers from it first:
    /// they are never trusted from outside.
    /// </summary>
    /// <param name="accountAddress">The address of the account that received it: its private keys are tried first.</param>
    public IncomingReport Inspect(MimeMessage message, string? accountAddress = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        OwnHeaders.Remove(message.Headers);
        if (message.Body is not null)
        {
            OwnHeaders.Remove(message.Body.Headers);
        }

        var spools = new List<Spool>();
        try
        {
            return InspectRoot(message, accountAddress, spools) with { Spools = spools };
        }
#pragma warning disable CA1031 // One bad message must never stop the others: any surprise becomes a result.
        catch (Exception e) when (e is not (OutOfMemoryException or KeyStoreException))
#pragma warning restore CA1031
        {
            Release(spools);
            // Keep what the root says it is: an encrypted message fails on its encryption, a signed one on its signature.
            var failure = SecurityOutcome.Failed(SecurityComments.Malformed(e.Message.Split('\n')[0].TrimEnd('.')));
            var (type, encrypted) = Shape(message.Body);
            return new IncomingReport(encrypted ? new SecurityResult(type, null, failure) : new SecurityResult(type, failure, null), message);
        }
        catch
        {
            Release(spools);
            throw;
        }
    }

    private static void Release(List<Spool> spools)
    {
        Spool.DisposeAll(spools);
        spools.Clear();
    }

    private IncomingReport InspectRoot(MimeMessage message, string? accountAddress, List<Spool> spools)
    {
        var sender = SoleSender(message, out var senderProblem);
        IReadOnlyList<string> senders = sender is null ? [] : [sender];
        string? damaged = null;
        var view = message;
        string? type = null;
        SecurityOutcome? encryption = null;
        SecurityOutcome? sign = null;

        // 1. Encryption, at the root only. Large enveloped-data and authEnveloped-data go through spool files: decoded once
        //    into one, decrypted into another (AES-GCM: and its tag verified before anything reads it), parsed from there;
        //    whatever that path does not read takes the in-memory path below. Large opaque signed-data keeps its decoded
        //    spool for step 2.
        var streamed = false;
        var large = LargeCms(message.Body, spools, out var largeType);
        Spool? largeSigned = null;
        if (large is not null && largeType == SmimeDecryption.SignedDataOid)
        {
            largeSigned = large;
            streamed = true; // Not encrypted, and not to be decoded into memory below: step 2 verifies it from its spool.
        }
        else if (large is not null)
        {
            type = SecurityResult.SmimeType;
            var plaintext = Spool.Create();
            spools.Add(plaintext);
            if (_smimeDecryption.DecryptLarge(large.Stream, plaintext.Stream, RecipientOrder.Preferred(message, accountAddress)) is { } opened)
            {
                large.Dispose(); // The ciphertext is not needed any more: free its disk space at once.
                streamed = true;
                encryption = opened.Outcome;
                if (!opened.Decrypted)
                {
                    plaintext.Dispose();
                    return Report(type, null, encryption, view);
                }

                view = SignedContent.WithBody(message, Inner(plaintext.Stream, ref damaged));
            }
            else
            {
                large.Dispose();
                plaintext.Dispose();
                type = null;
            }
        }

        // Streamed above, the root is an application/pkcs7-mime part: none of the branches below applies to it any more.
        if (!streamed && Pkcs7Content(message.Body, out var cmsType) is { } cms && cmsType != SmimeDecryption.SignedDataOid)
        {
            type = SecurityResult.SmimeType;
            if (cmsType is null)
            {
                return Report(type, null, SecurityOutcome.Failed(SecurityComments.Malformed("the S/MIME part holds no readable CMS data")), view);
            }

            if (cmsType is not SmimeDecryption.EnvelopedDataOid and not AuthEnvelopedData.ContentTypeOid)
            {
                return Report(type, null, SecurityOutcome.Failed(SecurityComments.Unsupported($"S/MIME content of type {cmsType}")), view);
            }

            var (outcome, plaintext) = _smimeDecryption.Decrypt(cms, RecipientOrder.Preferred(message, accountAddress));
            encryption = outcome;
            if (plaintext is null)
            {
                return Report(type, null, encryption, view);
            }

            view = SignedContent.WithBody(message, Inner(plaintext, ref damaged));
        }
        else if (message.Body is Multipart { ContentType.MimeType: var encryptedType } pgpMime
                 && encryptedType.Equals("multipart/encrypted", StringComparison.OrdinalIgnoreCase))
        {
            type = SecurityResult.PgpType;
            if (!IsProtocol(pgpMime, "application/pgp-encrypted") || pgpMime.Count < 2 || pgpMime[1] is not MimePart payload)
            {
                return Report(type, null, SecurityOutcome.Failed(SecurityComments.Malformed("a multipart/encrypted that is not PGP/MIME (RFC 3156)")), view);
            }

            if (SignedContent.StoredSize(payload) > _streamAbove)
            {
                // Large: read in place (decoded once into a spool only when its transfer encoding must be undone), the literal
                // data decrypted into a spool; nothing of it is read before the integrity check passed.
                var plaintext = Spool.Create();
                spools.Add(plaintext);
                var ciphertext = PgpSource(payload, spools);
                var spooled = _pgp.DecryptLarge(ciphertext.Stream, plaintext, RecipientOrder.Preferred(message, accountAddress), senders);
                ciphertext.Spool?.Dispose(); // Not needed any more: free its disk space at once.
                encryption = spooled.Encryption;
                if (!encryption.Success)
                {
                    plaintext.Dispose();
                    return Report(type, null, encryption, view);
                }

                sign = spooled.Signature;
                view = SignedContent.WithBody(message, Inner(plaintext.Stream, ref damaged));
            }
            else
            {
                var opened = _pgp.Decrypt(SignedContent.Decoded(payload), RecipientOrder.Preferred(message, accountAddress), senders);
                encryption = opened.Encryption;
                if (opened.Plaintext is null)
                {
                    return Report(type, null, encryption, view);
                }

                sign = opened.Signature;
                view = SignedContent.WithBody(message, Inner(opened.Plaintext, ref damaged));
            }
        }
        else if (message.Body is TextPart inline && inline.IsPlain && IsWholeArmor(inline.Text, "MESSAGE"))
        {
            type = SecurityResult.PgpType;
            var opened = _pgp.Decrypt(Encoding.UTF8.GetBytes(inline.Text), RecipientOrder.Preferred(message, accountAddress), senders);
            encryption = opened.Encryption;
            if (opened.Plaintext is null)
            {
                return Report(type, null, encryption, view);
            }

            sign = opened.Signature;
            view = SignedContent.WithBody(message, new TextPart("plain") { Text = Encoding.UTF8.GetString(opened.Plaintext) });
        }

        // 2. A signature over the whole (decrypted) content.
        if (sign is null && damaged is null)
        {
            (sign, view, var signType) = VerifyRoot(view, senders, spools, largeSigned, ref damaged);
            type ??= signType;
        }

        // 3. Content over a structure bound is damaged, whatever else held; a signature stands for the sender only
        //    when the message names exactly one (the rules and the webhook see that same From).
        if (damaged is not null)
        {
            sign = SecurityOutcome.Failed(SecurityComments.StructureTooLarge(damaged));
        }
        else if (sign is not null && senderProblem is not null)
        {
            sign = sign with { Success = false, Comment = senderProblem };
        }

        return Report(type, sign, encryption, view);
    }

    /// <summary>
    /// The one address a signature must name: the message has exactly one From field holding exactly one mailbox,
    /// read the same by MimeKit's lenient and strict address parsers. Null, with the reason, otherwise: a list, a
    /// group or a second From field would let a signature by one author vouch for a message shown as another's.
    /// </summary>
    private static string? SoleSender(MimeMessage message, out string? problem)
    {
        problem = null;
        Header? field = null;
        foreach (var header in message.Headers)
        {
            if (header.Id != HeaderId.From)
            {
                continue;
            }

            if (field is not null)
            {
                problem = SecurityComments.MultipleSenders;
                return null;
            }

            field = header;
        }

        if (field is null)
        {
            problem = SecurityComments.NoSender;
            return null;
        }

        var lenient = InternetAddressList.TryParse(ParserOptions, field.RawValue, out var list) ? list : null;
        if (lenient is { Count: > 1 } || lenient?.FirstOrDefault() is GroupAddress)
        {
            problem = SecurityComments.MultipleSenders;
            return null;
        }

        var strict = InternetAddressList.TryParse(StrictAddresses, field.RawValue, out var strictList) ? strictList : null;
        var address = lenient is { Count: 1 } && lenient[0] is MailboxAddress mailbox ? MailAddresses.Normalize(mailbox.Address) : null;
        if (address is null || strict is not { Count: 1 } || strict[0] is not MailboxAddress strictMailbox
            || MailAddresses.Normalize(strictMailbox.Address) != address)
        {
            problem = SecurityComments.NoSender;
            return null;
        }

        return address;
    }

    private static readonly ParserOptions StrictAddresses = CreateStrictAddresses();

    private static ParserOptions CreateStrictAddresses()
    {
        var options = ParserOptions.Clone();
        options.AddressParserComplianceMode = RfcComplianceMode.Strict;
        options.AllowAddressesWithoutDomain = false;
        return options;
    }

    /// <summary>
    /// Decrypted or unwrapped content (in memory or on a spool file, read in place) as the view's body, bounded like a
    /// message before it is parsed; on a bound or a parse failure the body is empty and <paramref name="damaged"/> says why.
    /// </summary>
    private MimeEntity Inner(Stream spool, ref string? damaged)
    {
        spool.Position = 0;
        if (StructureScan.Run(spool, Policy).Problem is { } problem)
        {
            damaged ??= $"the protected content: {problem}";
            return new TextPart("plain") { Text = string.Empty };
        }

        spool.Position = 0;
        try
        {
            return Clean(MimeEntity.Load(ParserOptions, spool, persistent: true));
        }
        catch (FormatException e)
        {
            damaged ??= $"the protected content cannot be parsed ({e.Message.TrimEnd('.')})";
            return new TextPart("plain") { Text = string.Empty };
        }
    }

    /// <summary>
    /// An application/(x-)pkcs7-mime part larger than the streaming threshold, decoded once into a spool file, when it
    /// holds enveloped-data, authEnveloped-data or signed-data (<paramref name="cmsType"/> says which); null otherwise (the
    /// spool, if one was made, is released).
    /// </summary>
    private Spool? LargeCms(MimeEntity? body, List<Spool> spools, out string? cmsType)
    {
        cmsType = null;
        if (body is not MimePart part || !IsPkcs7Mime(part) || SignedContent.StoredSize(part) is not { } size || size <= _streamAbove)
        {
            return null;
        }

        var spool = Spool.Create();
        spools.Add(spool);
        SignedContent.DecodeTo(part, spool.Stream);
        cmsType = SmimeDecryption.ContentType(spool.Stream);
        if (cmsType is SmimeDecryption.EnvelopedDataOid or AuthEnvelopedData.ContentTypeOid or SmimeDecryption.SignedDataOid)
        {
            return spool;
        }

        spool.Dispose();
        return null;
    }

    /// <summary>
    /// Verifies large opaque signed-data from its decoded CMS on <paramref name="signedData"/>: the content is copied into
    /// a spool of its own while hashed, and the signer judged as for small mail. When that cannot decide alone, the whole
    /// signed-data is judged in memory by the small path (<see cref="SmimeSignatureCheck.VerifyOpaque"/>), so the outcome,
    /// the reason and the view are always the small path's.
    /// </summary>
    private (SecurityOutcome Outcome, MimeMessage View) VerifyLargeOpaque(MimeMessage view, Spool signedData, IReadOnlyList<string> senders, List<Spool> spools, ref string? damaged)
    {
        var content = Spool.Create();
        spools.Add(content);
        if (LargeSignedData.Read(signedData.Stream, content.Stream) is { } data && _smimeSignatures.VerifyOpaqueLarge(data, senders) is { } judged)
        {
            signedData.Dispose(); // The encoding is not needed any more: free its disk space at once.
            return (judged, SignedContent.WithBody(view, Inner(content.Stream, ref damaged)));
        }

        content.Dispose();
        var bytes = new byte[signedData.Stream.Length];
        signedData.Stream.Position = 0;
        signedData.Stream.ReadExactly(bytes);
        signedData.Dispose();
        var outcome = _smimeSignatures.VerifyOpaque(bytes, senders, out var inMemory);
        return (outcome, inMemory is null ? view : SignedContent.WithBody(view, Inner(inMemory, ref damaged)));
    }

    /// <summary>
    /// The OpenPGP message of a large PGP/MIME part as a seekable stream: the part's stored content itself when it has no
    /// transfer encoding to undo (the usual 7bit armor), read in place; otherwise decoded once into a spool (the reader
    /// needs to seek: BouncyCastle's armor detection looks at the first byte and goes back, and the session-key packets
    /// are read a second time), whose spool the caller may release once the message is decrypted.
    /// </summary>
    private static (Stream Stream, Spool? Spool) PgpSource(MimePart part, List<Spool> spools)
    {
        if (part.Content is { Stream.CanSeek: true } content
            && content.Encoding is ContentEncoding.Default or ContentEncoding.SevenBit or ContentEncoding.EightBit or ContentEncoding.Binary)
        {
            return (content.Stream, null);
        }

        var spool = Spool.Create();
        spools.Add(spool);
        SignedContent.DecodeTo(part, spool.Stream);
        return (spool.Stream, spool);
    }

    private static bool IsPkcs7Mime(MimePart part) =>
        part.ContentType.MimeType.Equals("application/pkcs7-mime", StringComparison.OrdinalIgnoreCase) ||
        part.ContentType.MimeType.Equals("application/x-pkcs7-mime", StringComparison.OrdinalIgnoreCase);

    /// <summary>Decrypted or unwrapped bytes as the view's body, as <see cref="Inner(Stream, ref string?)"/>.</summary>
#pragma warning disable CA2000 // The entity keeps reading from the stream; a MemoryStream holds nothing to release.
    private MimeEntity Inner(byte[] bytes, ref string? damaged) => Inner(new MemoryStream(bytes, writable: false), ref damaged);
#pragma warning restore CA2000

    /// <param name="largeSigned">The root's decoded CMS when step 1 found it to be large signed-data; others large are decoded here.</param>
    private (SecurityOutcome? Sign, MimeMessage View, string? Type) VerifyRoot(
        MimeMessage view, IReadOnlyList<string> senders, List<Spool> spools, Spool? largeSigned, ref string? damaged)
    {
        if (largeSigned is null && LargeCms(view.Body, spools, out var largeType) is { } decoded)
        {
            if (largeType == SmimeDecryption.SignedDataOid)
            {
                largeSigned = decoded;
            }
            else
            {
                decoded.Dispose(); // Not signed: read as small mail is below.
            }
        }

        if (largeSigned is not null)
        {
            var (outcome, unwrapped) = VerifyLargeOpaque(view, largeSigned, senders, spools, ref damaged);
            return (outcome, unwrapped, SecurityResult.SmimeType);
        }

        switch (view.Body)
        {
            case Multipart { ContentType.MimeType: var signedType } signed when signedType.Equals("multipart/signed", StringComparison.OrdinalIgnoreCase):
            {
                var isPgp = IsProtocol(signed, "application/pgp-signature");
                var isSmime = IsProtocol(signed, "application/pkcs7-signature") || IsProtocol(signed, "application/x-pkcs7-signature");
                var type = isPgp ? SecurityResult.PgpType : isSmime ? SecurityResult.SmimeType : null;
                if (type is null)
                {
                    return (SecurityOutcome.Failed(SecurityComments.Unsupported($"multipart/signed with protocol {signed.ContentType.Parameters["protocol"] ?? "(none)"}")), view, null);
                }

                if (signed.Count != 2 || signed[1] is not MimePart signaturePart)
                {
                    return (SecurityOutcome.Failed(SecurityComments.Malformed("a multipart/signed needs exactly the content and the signature")), view, type);
                }

                var signature = SignedContent.Decoded(signaturePart);
                if (SignedContent.StoredSize(signed[0]) > _streamAbove)
                {
                    // Large signed content is hashed as it is written, never copied into an array.
                    var signedEntity = signed[0];
                    var streamed = isPgp
                        ? _pgp.VerifyDetached(PgpSignedContent.Written(target => SignedContent.WriteCanonical(signedEntity, target)), signature, senders)
                        : _smimeSignatures.VerifyDetached(SignedContent.CanonicalDigest(signedEntity), () => SignedContent.Canonical(signedEntity), signature, senders);
                    return (streamed, view, type);
                }

                var content = SignedContent.Canonical(signed[0]);
                var outcome = isPgp
                    ? _pgp.VerifyDetached(content, signature, senders)
                    : _smimeSignatures.VerifyDetached(content, signature, senders);
                return (outcome, view, type);
            }

            case MimePart part when Pkcs7Content(part, out var cmsType) is { } signedData && cmsType == SmimeDecryption.SignedDataOid:
            {
                var outcome = _smimeSignatures.VerifyOpaque(signedData, senders, out var content);
                var unwrapped = content is null ? view : SignedContent.WithBody(view, Inner(content, ref damaged));
                return (outcome, unwrapped, SecurityResult.SmimeType);
            }

            case TextPart text when text.IsPlain && IsWholeArmor(text.Text, "SIGNED MESSAGE"):
            {
                var block = ClearSignedText.TryParse(text.Text);
                if (block is null)
                {
                    return (SecurityOutcome.Failed(SecurityComments.Malformed("the cleartext-signed OpenPGP block is incomplete")), view, SecurityResult.PgpType);
                }

                var outcome = _pgp.VerifyClearSigned(block, senders);
                var shown = outcome.Success ? SignedContent.WithBody(view, new TextPart("plain") { Text = block.Text }) : view;
                return (outcome, shown, SecurityResult.PgpType);
            }

            default:
                return (null, view, null);
        }
    }

    /// <summary>The security type and side the root entity claims, read from its content type alone.</summary>
    private static (string? Type, bool Encrypted) Shape(MimeEntity? body)
    {
        var mimeType = body?.ContentType.MimeType.ToLowerInvariant();
        var smimeType = body?.ContentType.Parameters["smime-type"]?.Trim().ToLowerInvariant();
        return mimeType switch
        {
            "application/pkcs7-mime" or "application/x-pkcs7-mime" => (SecurityResult.SmimeType, smimeType is not ("signed-data" or "certs-only")),
            "multipart/encrypted" => (SecurityResult.PgpType, true),
            "multipart/signed" when body is Multipart signed && IsProtocol(signed, "application/pgp-signature") => (SecurityResult.PgpType, false),
            "multipart/signed" => (SecurityResult.SmimeType, false),
            "text/plain" when body is TextPart armored && IsWholeArmor(armored.Text, "MESSAGE") => (SecurityResult.PgpType, true),
            "text/plain" when body is TextPart text && IsWholeArmor(text.Text, "SIGNED MESSAGE") => (SecurityResult.PgpType, false),
            _ => (null, false),
        };
    }

    private static IncomingReport Report(string? type, SecurityOutcome? sign, SecurityOutcome? encryption, MimeMessage view) =>
        new(new SecurityResult(type, sign, encryption), view);

    /// <summary>The decoded CMS of an application/(x-)pkcs7-mime part and its content type (null when unreadable); null for other parts.</summary>
    private static byte[]? Pkcs7Content(MimeEntity? entity, out string? cmsType)
    {
        cmsType = null;
        if (entity is not MimePart part ||
            !(part.ContentType.MimeType.Equals("application/pkcs7-mime", StringComparison.OrdinalIgnoreCase) ||
              part.ContentType.MimeType.Equals("application/x-pkcs7-mime", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        var content = SignedContent.Decoded(part);
        cmsType = SmimeDecryption.ContentType(content);
        return content;
    }

    private static bool IsProtocol(Multipart multipart, string protocol) =>
        string.Equals(multipart.ContentType.Parameters["protocol"]?.Trim(), protocol, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="text"/> is one armored block of the kind and nothing else but whitespace.</summary>
    private static bool IsWholeArmor(string? text, string kind)
    {
        if (text is null)
        {
            return false;
        }

        var trimmed = text.AsSpan().Trim();
        var end = kind == "SIGNED MESSAGE" ? "-----END PGP SIGNATURE-----" : $"-----END PGP {kind}-----";
        return trimmed.StartsWith($"-----BEGIN PGP {kind}-----", StringComparison.Ordinal) && trimmed.EndsWith(end, StringComparison.Ordinal);
    }

    /// <summary>
    /// The inner entity keeps only its Content-* headers: the view's headers are the outer message's. An inner From,
    /// Subject or To (written by whoever encrypted the message) would otherwise be written out beside the real ones.
    /// </summary>
    private static MimeEntity Clean(MimeEntity entity)
    {
        for (var i = entity.Headers.Count - 1; i >= 0; i--)
        {
            if (!entity.Headers[i].Field.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                entity.Headers.RemoveAt(i);
            }
        }

        return entity;
    }

}
