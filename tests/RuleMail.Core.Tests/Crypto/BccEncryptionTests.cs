using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Text;
using System.Text.RegularExpressions;
using MimeKit;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Crypto;

/// <summary>
/// <see cref="OutgoingRequest.EncryptTo"/>: a message with a Bcc recipient goes out as copies, the Bcc recipient's
/// encrypted to them (and the sender) alone and the To/Cc copy never to the Bcc recipient's key. The real openssl and
/// gpg decrypt each copy with the right key, refuse it with the other one, and list exactly the expected recipients.
/// </summary>
/// <remarks>
/// S/MIME: alice (To), dave (Bcc) and the sender sue, each with an RSA key of their own, from an in-process CA.
/// PGP (<see cref="PgpMail"/>): paul sends, support is the To recipient ("alice"), desk the Bcc recipient ("dave").
/// </remarks>
public sealed partial class BccEncryptionTests(PgpMail gpg) : IClassFixture<PgpMail>, IDisposable
{
    private const string Sue = "sue@org.example";
    private const string Alice = "alice@customer.example";
    private const string Dave = "dave@customer.example";
    private const string PgpPassphrase = PgpMail.FilePassphrase;

    private static readonly Lazy<SmimePeople> People = new(() => new SmimePeople(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly TempDirectory _files = new("bcc-encryption");

    private static string PgpAlice => PgpMail.Address(PgpMail.Support);

    private static string PgpDave => PgpMail.Address(PgpMail.Desk);

    private static string PgpSender => PgpMail.Address(PgpMail.Paul);

    [Fact]
    public void EncryptTo_replaces_the_headers_recipients_so_a_bcc_copy_is_for_the_bcc_recipient_and_the_sender_only()
    {
        using var store = SmimeStore();

        var result = Protect(store, WithBcc(), OutgoingRequest.Smime(sign: false, encrypt: true) with { EncryptTo = [Dave] });

        Assert.Equal(new[] { People.Value.DaveCertificate.SerialNumber, People.Value.SueCertificate.SerialNumber }.Order(), RecipientSerials(result.Message!).Order());
        Assert.Contains(result.Notes, n => n.StartsWith($"Encrypted for {Dave} ", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Notes, n => n.Contains(Alice, StringComparison.Ordinal));
    }

    [Fact]
    public void Without_EncryptTo_a_bcc_recipient_is_never_encrypted_to()
    {
        using var store = SmimeStore();

        var result = Protect(store, WithBcc(), OutgoingRequest.Smime(sign: false, encrypt: true));

        Assert.Equal(new[] { People.Value.AliceCertificate.SerialNumber, People.Value.SueCertificate.SerialNumber }.Order(), RecipientSerials(result.Message!).Order());
    }

    [Fact]
    public void EncryptTo_addresses_are_normalized_and_taken_once_and_without_EncryptToSender_only_they_remain()
    {
        using var store = SmimeStore();
        var request = OutgoingRequest.Smime(sign: false, encrypt: true) with
        {
            EncryptTo = ["Dave Bcc <DAVE@Customer.Example>", " dave@customer.example "],
            EncryptToSender = false,
        };

        var result = Protect(store, WithBcc(), request);

        Assert.Equal(new[] { People.Value.DaveCertificate.SerialNumber }.Order(), RecipientSerials(result.Message!).Order());
    }

    [Fact]
    public void EncryptTo_needs_no_usable_to_header_a_bcc_copy_to_undisclosed_recipients_is_encrypted()
    {
        using var store = SmimeStore();
        var message = OutgoingMail.Plain(Sue, Alice, "For the Bcc recipient");
        message.To.Clear();
        message.To.Add(new GroupAddress("undisclosed-recipients"));
        message.Bcc.Add(MailboxAddress.Parse(Dave));

        var headersOnly = new OutgoingSecurity(store.Store).Protect(message, OutgoingRequest.Smime(sign: false, encrypt: true));
        var result = Protect(store, message, OutgoingRequest.Smime(sign: false, encrypt: true) with { EncryptTo = [Dave] });

        AssertRefused(headersOnly, OutgoingRefusals.NoRecipient(SecurityResult.SmimeType));
        Assert.Equal(new[] { People.Value.DaveCertificate.SerialNumber, People.Value.SueCertificate.SerialNumber }.Order(), RecipientSerials(result.Message!).Order());
    }

    [Theory]
    [InlineData("S/MIME", "not an address", "Cannot encrypt with S/MIME: \"not an address\" is not a mail address")]
    [InlineData("PGP", "dave@", "Cannot encrypt with PGP: \"dave@\" is not a mail address")]
    [InlineData("S/MIME", "nobody@customer.example", "Cannot encrypt with S/MIME: no valid certificate for nobody@customer.example")]
    [InlineData("PGP", "nobody@customer.example", "Cannot encrypt with PGP: no valid PGP key for nobody@customer.example")]
    public void An_EncryptTo_address_that_cannot_be_encrypted_to_is_refused_with_no_message(string type, string address, string refusal)
    {
        using var store = SmimeStore();

        var result = new OutgoingSecurity(store.Store).Protect(WithBcc(), new OutgoingRequest(type, Sign: false, Encrypt: true) { EncryptTo = [address, Dave] });

        AssertRefused(result, refusal);
    }

    [Fact]
    public void An_empty_EncryptTo_is_refused_rather_than_falling_back_to_the_headers()
    {
        using var store = SmimeStore();

        var result = new OutgoingSecurity(store.Store).Protect(WithBcc(), OutgoingRequest.Smime(sign: false, encrypt: true) with { EncryptTo = [] });

        AssertRefused(result, OutgoingRefusals.NoRecipientGiven(SecurityResult.SmimeType));
    }

    [Fact]
    public void EncryptTo_is_ignored_when_only_signing()
    {
        using var store = SmimeStore();

        var result = Protect(store, WithBcc(), OutgoingRequest.Smime(sign: true, encrypt: false) with { EncryptTo = ["not an address"] });

        Assert.Equal("multipart/signed", IncomingMail.BodyType(result.Message!).MimeType);
    }

    [Fact]
    public void Smime_the_bcc_copy_opens_in_openssl_with_daves_key_and_not_with_alices()
    {
        using var store = SmimeStore();
        var copy = Protect(store, WithBcc(), OutgoingRequest.Smime(sign: true, encrypt: true) with { EncryptTo = [Dave] });
        var file = WriteMessage("dave-copy.eml", copy.Message!);

        var opened = OpenSslDecrypt(file, "dave");
        var refused = OpenSslDecrypt(file, "alice");

        Assert.Equal(0, opened.ExitCode);
        var inner = SignedContent.Parse(opened.StandardOutput);
        Assert.Equal("multipart/signed", inner.ContentType.MimeType);
        Assert.Contains("Only for the eyes of", Encoding.UTF8.GetString(opened.StandardOutput), StringComparison.Ordinal);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.DoesNotContain("Only for the eyes of", refused.StandardOutputText, StringComparison.Ordinal);
    }

    [Fact]
    public void Smime_alices_copy_names_only_alice_and_the_sender_as_recipients_in_openssls_listing_and_dave_cannot_open_it()
    {
        using var store = SmimeStore();
        var copy = Protect(store, WithBcc(), OutgoingRequest.Smime(sign: false, encrypt: true) with { EncryptTo = [Alice] });
        var file = WriteMessage("alice-copy.eml", copy.Message!);

        var listing = ExternalTool.Run("openssl", ["cms", "-cmsout", "-print", "-in", file]).StandardOutputText;
        var recipients = RecipientsInListing(listing);

        Assert.Equal(SerialsOf(People.Value.AliceCertificate, People.Value.SueCertificate), recipients.Order());
        Assert.DoesNotContain(Serial(People.Value.DaveCertificate), recipients);
        var issuers = IssuersInListing(listing);
        Assert.Equal(recipients.Count, issuers.Count);
        Assert.All(issuers, issuer => Assert.Contains("In-Process Test CA", issuer, StringComparison.Ordinal));
        Assert.Equal(0, OpenSslDecrypt(file, "alice").ExitCode);
        Assert.NotEqual(0, OpenSslDecrypt(file, "dave").ExitCode);
    }

    [Fact]
    public void Pgp_the_bcc_copy_opens_in_gpg_with_daves_key_and_not_with_alices()
    {
        using var store = PgpStore();
        var copy = Protect(store, WithBcc(PgpSender, PgpAlice, PgpDave), OutgoingRequest.Pgp(sign: true, encrypt: true) with { EncryptTo = [PgpDave] });
        var payload = PgpPayload(copy.Message!);

        var opened = GpgDecrypt(PgpMail.Desk, payload);
        var refused = GpgDecrypt(PgpMail.Support, payload);

        Assert.Equal(0, opened.ExitCode);
        Assert.Contains("[GNUPG:] DECRYPTION_OKAY", opened.StandardError, StringComparison.Ordinal);
        Assert.Contains($"[GNUPG:] VALIDSIG {PgpMail.Key(PgpMail.Paul).Fingerprint}", opened.StandardError, StringComparison.Ordinal);
        Assert.Contains("Only for the eyes of", opened.StandardOutputText, StringComparison.Ordinal);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("[GNUPG:] NO_SECKEY", refused.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Only for the eyes of", refused.StandardOutputText, StringComparison.Ordinal);
    }

    [Fact]
    public void Pgp_alices_copy_is_addressed_to_alice_and_the_sender_only_in_gpgs_packet_listing()
    {
        using var store = PgpStore();
        var copy = Protect(store, WithBcc(PgpSender, PgpAlice, PgpDave), OutgoingRequest.Pgp(sign: false, encrypt: true) with { EncryptTo = [PgpAlice] });
        var payload = PgpPayload(copy.Message!);

        using var empty = new GnuPG();
        var listing = empty.TryRun(payload, "--list-packets");
        var keyIds = PkeskKeyIds().Matches(listing.StandardOutputText).Select(m => m.Groups[1].Value.ToUpperInvariant()).ToList();

        Assert.Equal(new[] { EncryptionKeyId(store, PgpAlice), EncryptionKeyId(store, PgpSender) }.Order(), keyIds.Order());
        Assert.DoesNotContain(EncryptionKeyId(store, PgpDave), keyIds);
        Assert.DoesNotContain(PgpMail.Key(PgpMail.Desk).Fingerprint[^16..], listing.StandardOutputText, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(0, GpgDecrypt(PgpMail.Desk, payload).ExitCode);
        Assert.Equal(0, GpgDecrypt(PgpMail.Support, payload).ExitCode);
    }

    public void Dispose() => _files.Dispose();

    private static MimeMessage WithBcc(string from = Sue, string to = Alice, string bcc = Dave)
    {
        var message = OutgoingMail.Plain(from, to, $"Only for the eyes of {to} and {bcc}");
        message.Bcc.Add(MailboxAddress.Parse(bcc));
        return message;
    }

    private static OutgoingResult Protect(MailboxStore store, MimeMessage message, OutgoingRequest request)
    {
        var result = new OutgoingSecurity(store.Store).Protect(message, request);
        Assert.False(result.IsRefused, result.Refusal);
        return result;
    }

    private static void AssertRefused(OutgoingResult result, string refusal)
    {
        Assert.True(result.IsRefused, "the request was carried out");
        Assert.Null(result.Message);
        Assert.Equal(refusal, result.Refusal);
    }

    private static MailboxStore SmimeStore()
    {
        var people = People.Value;
        return MailboxStore.With(
            people.Authority.CaFile,
            CertificateAuthority.Pem("sue.crt", people.SueCertificate),
            new ImportFile("sue.key", Encoding.ASCII.GetBytes(people.SueKey.ExportPkcs8PrivateKeyPem())),
            CertificateAuthority.Pem("alice.crt", people.AliceCertificate),
            CertificateAuthority.Pem("dave.crt", people.DaveCertificate));
    }

    private MailboxStore PgpStore() => MailboxStore.With(gpg.Secret(PgpMail.Paul), gpg.Public(PgpMail.Support), gpg.Public(PgpMail.Desk));

    /// <summary>The serial numbers of the enveloped data's recipients (a DER SET: sorted, not in the order they were added).</summary>
    private static List<string> RecipientSerials(MimeMessage message)
    {
        var cms = new EnvelopedCms();
        cms.Decode(OutgoingMail.Decoded(Assert.IsAssignableFrom<MimePart>(message.Body)));
        return [.. cms.RecipientInfos.Cast<RecipientInfo>().Select(r => Assert.IsType<X509IssuerSerial>(r.RecipientIdentifier.Value).SerialNumber)];
    }

    /// <summary><c>openssl cms -decrypt</c> with one person's certificate and key (whatever the exit code).</summary>
    private ToolResult OpenSslDecrypt(string file, string person)
    {
        var people = People.Value;
        var (certificate, key) = person == "dave" ? (people.DaveCertificate, people.DaveKey) : (people.AliceCertificate, people.AliceKey);
        File.WriteAllText(_files.File(person + ".crt"), certificate.ExportCertificatePem());
        File.WriteAllText(_files.File(person + ".key"), key.ExportPkcs8PrivateKeyPem());
        return ExternalTool.TryRun("openssl", ["cms", "-decrypt", "-in", file, "-recip", _files.File(person + ".crt"), "-inkey", _files.File(person + ".key")]);
    }

    /// <summary>The serial numbers (upper-case hex without leading zeros) of the key-transport recipients in <c>openssl cms -cmsout -print</c>.</summary>
    private static List<string> RecipientsInListing(string listing)
    {
        var recipients = listing[listing.IndexOf("recipientInfos:", StringComparison.Ordinal)..];
        return [.. ListedSerial().Matches(recipients).Select(m => NormalizeSerial(m.Groups[1].Value))];
    }

    private static List<string> IssuersInListing(string listing) =>
        [.. ListedIssuer().Matches(listing[listing.IndexOf("recipientInfos:", StringComparison.Ordinal)..]).Select(m => m.Groups[1].Value)];

    /// <summary>openssl 3 prints a long serial as hex ("0x4057FD…") and one that fits a long in decimal ("20481").</summary>
    private static string NormalizeSerial(string printed)
    {
        printed = printed.Trim();
        var hex = printed.StartsWith("0x", StringComparison.Ordinal) ? printed[2..]
            : printed.All(char.IsAsciiDigit) ? System.Numerics.BigInteger.Parse(printed, System.Globalization.CultureInfo.InvariantCulture).ToString("X", System.Globalization.CultureInfo.InvariantCulture)
            : throw new Xunit.Sdk.XunitException($"openssl printed the serial number \"{printed}\" in a form this test does not know");
        return hex.ToUpperInvariant().TrimStart('0');
    }

    private static string Serial(X509Certificate2 certificate) => certificate.SerialNumber.ToUpperInvariant().TrimStart('0');

    private static IOrderedEnumerable<string> SerialsOf(params X509Certificate2[] certificates) => certificates.Select(Serial).Order();

    private string WriteMessage(string name, MimeMessage message)
    {
        File.WriteAllBytes(_files.File(name), OutgoingMail.LfBytes(message));
        return _files.File(name);
    }

    private static byte[] PgpPayload(MimeMessage message)
    {
        var encrypted = Assert.IsAssignableFrom<Multipart>(message.Body);
        Assert.Equal("multipart/encrypted", encrypted.ContentType.MimeType);
        return OutgoingMail.Decoded(Assert.IsAssignableFrom<MimePart>(encrypted[1]));
    }

    /// <summary>
    /// <c>gpg --decrypt</c> in a fresh GNUPGHOME holding only <paramref name="key"/>'s secret key and the sender's public
    /// key (an unverifiable signature would fail the run too), whatever the exit code.
    /// </summary>
    private ToolResult GpgDecrypt(string key, byte[] payload)
    {
        using var home = new GnuPG();
        home.Run(gpg.Secret(key).Content, "--pinentry-mode", "loopback", "--passphrase", PgpPassphrase, "--import");
        home.Run(gpg.Public(PgpMail.Paul).Content, "--import");
        return home.TryRun(payload, "--pinentry-mode", "loopback", "--passphrase", PgpPassphrase, "--status-fd", "2", "--decrypt");
    }

    private static string EncryptionKeyId(MailboxStore store, string address)
    {
        var entry = store.Store.FindPgp(address, KeyUsages.Encrypt)!;
        return entry.KeyFor(KeyUsages.Encrypt, store.Time.GetUtcNow())!.KeyId.ToUpperInvariant();
    }

    [GeneratedRegex(@":pubkey enc packet: version \d+, algo \d+, keyid ([0-9A-Fa-f]{16})")]
    private static partial Regex PkeskKeyIds();

    [GeneratedRegex(@"serialNumber: *([^\r\n]+)")]
    private static partial Regex ListedSerial();

    [GeneratedRegex(@"issuer: *([^\r\n]+)")]
    private static partial Regex ListedIssuer();

    /// <summary>Sue (the sender), Alice and Dave, each with an RSA key of their own (one shared key would let anyone open anything).</summary>
    private sealed class SmimePeople
    {
        public SmimePeople()
        {
            var now = TimeProvider.System.GetUtcNow();
            SueCertificate = Authority.Issue("CN=Sue Sender", now.AddDays(-1), now.AddDays(300), [BccEncryptionTests.Sue], key: SueKey);
            AliceCertificate = Authority.Issue("CN=Alice To", now.AddDays(-1), now.AddDays(300), [BccEncryptionTests.Alice], key: AliceKey);
            DaveCertificate = Authority.Issue("CN=Dave Bcc", now.AddDays(-1), now.AddDays(300), [BccEncryptionTests.Dave], key: DaveKey);
        }

        public CertificateAuthority Authority { get; } = new();

        public RSA SueKey { get; } = RSA.Create(2048);

        public RSA AliceKey { get; } = RSA.Create(2048);

        public RSA DaveKey { get; } = RSA.Create(2048);

        public X509Certificate2 SueCertificate { get; }

        public X509Certificate2 AliceCertificate { get; }

        public X509Certificate2 DaveCertificate { get; }
    }
}
