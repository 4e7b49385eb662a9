using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using RuleMail.Composer;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Composer;

/// <summary>
/// <see cref="SecurityOptions.Bcc"/>: each Bcc recipient is reported apart, for the chosen type, in the words of the
/// encryption possibility; Bcc recipients count neither for the encryption possibility nor for the single-recipient rule.
/// </summary>
public sealed class ComposerBccTests : IClassFixture<GpgKeys>, IDisposable
{
    private const string Sender = "support@org.example";
    private const string Alice = "alice@customer.example";
    private const string Dave = "dave@customer.example";
    private const string Edna = "edna@example.org";
    private const string Gina = "gina@customer.example";

    private readonly TestStore _store = new();
    private readonly CertificateAuthority _ca = new();
    private readonly RSA _senderKey = RSA.Create(2048);
    private readonly ECDsa _ginaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public ComposerBccTests(GpgKeys gpg)
    {
        var now = _store.Time.GetUtcNow();
        var sender = _ca.Issue("CN=Support", now.AddDays(-1), now.AddYears(2), [Sender], key: _senderKey);
        var alice = _ca.Issue("CN=Alice", now.AddDays(-1), now.AddYears(2), [Alice]);
        var edna = _ca.Issue("CN=Edna", now.AddDays(-1), now.AddYears(2), [Edna]);
        var dave = _ca.Issue("CN=Dave", now.AddYears(-3), now.AddYears(-1), [Dave]);
        var gina = _ca.Issue("CN=Gina", now.AddDays(-1), now.AddYears(1), [Gina], X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, key: _ginaKey);
        _store.Store.Import(
        [
            _ca.CaFile,
            CertificateAuthority.Pem("sender.crt", sender),
            new ImportFile("sender.key", Encoding.ASCII.GetBytes(_senderKey.ExportPkcs8PrivateKeyPem())),
            CertificateAuthority.Pem("alice.crt", alice),
            CertificateAuthority.Pem("edna.crt", edna),
            CertificateAuthority.Pem("dave.crt", dave),
            CertificateAuthority.Pem("gina.crt", gina),
            gpg["edna.pub.asc"], gpg["nia.pub.asc"], gpg["rex.pub.asc"], gpg["rex.rev.asc"],
        ], GpgKeys.FilePassphrase);
    }

    private ComposerSecurity Composer(ComposerSettings? settings = null) => new(_store.Store, settings);

    [Fact]
    public void Without_bcc_the_list_is_empty()
    {
        Assert.Empty(Composer().For(Sender, [Alice]).Bcc);
        Assert.Empty(Composer().For(Sender, [Alice], []).Bcc);
    }

    [Fact]
    public void Each_bcc_recipient_is_judged_for_the_chosen_type_with_the_encryption_sentences()
    {
        var options = Composer().For(Sender, [Alice], [Edna, Dave, "nobody@nowhere.example", Gina]);

        Assert.Equal("S/MIME", options.Type);
        Assert.Equal(
            [
                new BccOption(Edna, true, "The certificate for edna@example.org was found."),
                new BccOption(Dave, false, "The certificate for dave@customer.example was found, but has expired."),
                new BccOption("nobody@nowhere.example", false, "The certificate for nobody@nowhere.example was not found."),
                new BccOption(Gina, false, "The certificate for gina@customer.example was found, but RuleMail cannot encrypt to its EC key (only RSA)."),
            ],
            options.Bcc);
    }

    [Fact]
    public void Bcc_recipients_count_neither_for_the_single_recipient_rule_nor_for_the_encryption_possibility()
    {
        var without = Composer().For(Sender, [Alice]);
        var with = Composer().For(Sender, [Alice], [Edna, Dave]);

        Assert.True(with.Smime.Encryption.Possible);
        Assert.Equal("The certificate for alice@customer.example was found.", with.Smime.Encryption.Message);
        Assert.True(with.Encrypt.Enabled);
        Assert.Equal(without, with with { Bcc = without.Bcc });
    }

    [Fact]
    public void A_message_with_only_bcc_recipients_has_no_recipient_to_encrypt_the_main_copy_for_but_each_bcc_is_reported()
    {
        var options = Composer().For(Sender, [], [Alice]);

        Assert.False(options.Smime.Encryption.Possible);
        Assert.Equal(SecurityTexts.NoRecipient, options.Smime.Encryption.Message);
        Assert.Equal([new BccOption(Alice, true, "The certificate for alice@customer.example was found.")], options.Bcc);
    }

    [Fact]
    public void Bcc_addresses_are_normalized_and_reported_once_and_what_is_not_an_address_is_left_out()
    {
        var options = Composer().For(Sender, [Alice], ["Edna <EDNA@Example.org>", " edna@example.org ", "not an address"]);

        var edna = Assert.Single(options.Bcc);
        Assert.Equal(new BccOption(Edna, true, "The certificate for edna@example.org was found."), edna);
    }

    [Fact]
    public void When_pgp_is_chosen_the_bcc_recipients_are_judged_for_pgp()
    {
        var options = Composer().For(Sender, ["nia@example.org"], [Edna, Alice, "rex@example.org"]);

        Assert.Equal("PGP", options.Type);
        Assert.Equal(
            [
                new BccOption(Edna, true, "The PGP key for edna@example.org was found."),
                new BccOption(Alice, false, "The PGP key for alice@customer.example was not found."),
                new BccOption("rex@example.org", false, "The PGP key for rex@example.org was found, but has been revoked."),
            ],
            options.Bcc);
    }

    [Fact]
    public void With_no_type_chosen_the_bcc_recipients_are_judged_for_smime()
    {
        var options = Composer().For("unknown@org.example", ["nobody@nowhere.example"], [Alice, "nia@example.org"]);

        Assert.Null(options.Type);
        Assert.Equal(
            [
                new BccOption(Alice, true, "The certificate for alice@customer.example was found."),
                new BccOption("nia@example.org", false, "The certificate for nia@example.org was not found."),
            ],
            options.Bcc);
    }

    [Fact]
    public void Moving_the_clock_past_expiry_turns_a_possible_bcc_into_an_expired_one()
    {
        _store.Time.Advance(TimeSpan.FromDays(3 * 365));

        var options = Composer().For(Sender, [Alice], [Edna]);

        Assert.Equal([new BccOption(Edna, false, "The certificate for edna@example.org was found, but has expired.")], options.Bcc);
    }

    public void Dispose()
    {
        _store.Dispose();
        _ca.Dispose();
        _senderKey.Dispose();
        _ginaKey.Dispose();
    }
}
