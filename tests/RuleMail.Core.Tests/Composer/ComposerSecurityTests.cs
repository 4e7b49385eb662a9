using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Keys;
using RuleMail.Composer;

namespace RuleMail.Core.Tests.Composer;

/// <summary>
/// The options matrix of the composer's buttons, over a store with S/MIME certificates made in-process
/// and OpenPGP keys made by gpg.
/// </summary>
public sealed class ComposerSecurityTests : IClassFixture<GpgKeys>, IDisposable
{
    private const string Sender = "support@org.example";
    private readonly TestStore _store = new();
    private readonly CertificateAuthority _ca = new();
    private readonly RSA _senderKey = RSA.Create(2048);
    private readonly GpgKeys _gpg;

    public ComposerSecurityTests(GpgKeys gpg)
    {
        _gpg = gpg;
        var now = _store.Time.GetUtcNow();
        var sender = _ca.Issue("CN=Support", now.AddDays(-1), now.AddYears(2), [Sender], key: _senderKey);
        var alice = _ca.Issue("CN=Alice", now.AddDays(-1), now.AddYears(2), ["alice@customer.example"]);
        var edna = _ca.Issue("CN=Edna", now.AddDays(-1), now.AddYears(2), ["edna@example.org"]);
        var expired = _ca.Issue("CN=Dave", now.AddYears(-3), now.AddYears(-1), ["dave@customer.example"]);
        var revoked = _ca.Issue("CN=Erin", now.AddDays(-10), now.AddYears(2), ["erin@customer.example"]);
        var oldFrank = _ca.Issue("CN=Frank 2020", now.AddYears(-5), now.AddYears(-2), ["frank@customer.example"]);
        var newFrank = _ca.Issue("CN=Frank now", now.AddDays(-1), now.AddYears(2), ["frank@customer.example"]);
        _store.Store.Import(
        [
            _ca.CaFile,
            CertificateAuthority.Pem("sender.crt", sender),
            new ImportFile("sender.key", Encoding.ASCII.GetBytes(_senderKey.ExportPkcs8PrivateKeyPem())),
            CertificateAuthority.Pem("alice.crt", alice),
            CertificateAuthority.Pem("edna.crt", edna),
            CertificateAuthority.Pem("dave.crt", expired),
            CertificateAuthority.Pem("erin.crt", revoked),
            CertificateAuthority.Pem("frank-old.crt", oldFrank),
            CertificateAuthority.Pem("frank-new.crt", newFrank),
            new ImportFile("ca.crl", _ca.Crl(now.AddMinutes(-5), (revoked, now.AddDays(-1)))),
            _gpg["rita.sec.asc"], _gpg["edna.pub.asc"], _gpg["rex.pub.asc"], _gpg["rex.rev.asc"],
        ], GpgKeys.FilePassphrase);
        _store.Store.Import([_gpg["nia.pub.asc"]], domainAlias: "alias.example");
    }

    private ComposerSecurity Composer(ComposerSettings? settings = null) => new(_store.Store, settings);

    [Fact]
    public void Both_types_possible_picks_smime_with_the_switch_and_both_buttons_on()
    {
        var options = Composer().For(Sender, ["edna@example.org"]);

        Assert.True(options.Smime.Sign.Possible);
        Assert.True(options.Smime.Encryption.Possible);
        Assert.Equal("The certificate for edna@example.org was found.", options.Smime.Encryption.Message);
        Assert.Equal("The certificate for support@org.example was found.", options.Smime.Sign.Message);
        Assert.False(options.Pgp.Sign.Possible);
        Assert.True(options.Pgp.Encryption.Possible);
        Assert.Equal("The PGP key for edna@example.org was found.", options.Pgp.Encryption.Message);
        Assert.Equal("S/MIME", options.Type);
        Assert.True(options.Switch);
        Assert.Equal(new SecurityButton(true, true, SecurityTexts.WillBeSigned), options.Sign);
        Assert.Equal(new SecurityButton(true, true, SecurityTexts.WillBeEncrypted), options.Encrypt);
    }

    [Fact]
    public void A_configured_preference_for_pgp_wins_a_tie()
    {
        var pgpSender = "rita@example.org";

        var smimeFirst = Composer().For(pgpSender, ["edna@example.org"]);
        var pgpFirst = Composer(new ComposerSettings { PreferPgp = true }).For(pgpSender, ["edna@example.org"]);

        Assert.Equal("PGP", smimeFirst.Type);
        Assert.Equal("PGP", pgpFirst.Type);
        var tie = Composer(new ComposerSettings { PreferPgp = true }).For(Sender, ["nobody@nowhere.example"]);
        Assert.Equal("S/MIME", tie.Type);
    }

    [Fact]
    public void Pgp_only_recipient_makes_pgp_the_type_because_it_can_encrypt()
    {
        var options = Composer().For(Sender, ["nia@example.org"]);

        Assert.False(options.Smime.Encryption.Possible);
        Assert.Equal("The certificate for nia@example.org was not found.", options.Smime.Encryption.Message);
        Assert.True(options.Pgp.Encryption.Possible);
        Assert.Equal("PGP", options.Type);
        Assert.True(options.Switch);
        Assert.False(options.Sign.Enabled);
        Assert.StartsWith(SecurityTexts.WillNotBeSigned, options.Sign.Tooltip, StringComparison.Ordinal);
        Assert.Contains("The PGP key for support@org.example was not found.", options.Sign.Tooltip, StringComparison.Ordinal);
        Assert.Contains(SecurityTexts.AskForPrivateKey, options.Sign.Tooltip, StringComparison.Ordinal);
        Assert.True(options.Encrypt.Enabled);
    }

    [Fact]
    public void Smime_only_recipient_keeps_smime_and_no_switch_when_pgp_can_do_nothing()
    {
        var options = Composer().For(Sender, ["alice@customer.example"]);

        Assert.Equal("S/MIME", options.Type);
        Assert.False(options.Pgp.Sign.Possible);
        Assert.False(options.Pgp.Encryption.Possible);
        Assert.False(options.Switch);
        Assert.True(options.Encrypt.Enabled);
    }

    [Fact]
    public void Nothing_possible_gives_no_type_and_disabled_buttons_that_say_why()
    {
        var options = Composer().For("unknown@org.example", ["nobody@nowhere.example"]);

        Assert.Null(options.Type);
        Assert.False(options.Switch);
        Assert.False(options.Sign.Enabled);
        Assert.False(options.Sign.Active);
        Assert.Equal(
            $"{SecurityTexts.WillNotBeSigned} The certificate for unknown@org.example was not found. {SecurityTexts.AskForPrivateKey}",
            options.Sign.Tooltip);
        Assert.Equal(
            $"{SecurityTexts.WillNotBeEncrypted} The certificate for nobody@nowhere.example was not found. {SecurityTexts.AskForRecipientCertificate}",
            options.Encrypt.Tooltip);
    }

    [Fact]
    public void Two_recipients_cannot_be_encrypted_for_as_the_seed_says()
    {
        var options = Composer().For(Sender, ["alice@customer.example", "edna@example.org"]);

        Assert.False(options.Smime.Encryption.Possible);
        Assert.Equal(SecurityTexts.SingleRecipientOnly, options.Smime.Encryption.Message);
        Assert.Equal(SecurityTexts.SingleRecipientOnly, options.Pgp.Encryption.Message);
        Assert.False(options.Encrypt.Enabled);
        Assert.Equal($"{SecurityTexts.WillNotBeEncrypted} {SecurityTexts.SingleRecipientOnly}", options.Encrypt.Tooltip);
        Assert.True(options.Sign.Enabled);
    }

    [Fact]
    public void A_setting_allows_several_recipients_when_all_have_certificates()
    {
        var options = Composer(new ComposerSettings { MaxEncryptionRecipients = 5 }).For(Sender, ["alice@customer.example", "edna@example.org"]);

        Assert.True(options.Smime.Encryption.Possible);
        Assert.Equal("The certificates for alice@customer.example, edna@example.org were found.", options.Smime.Encryption.Message);
        var missing = Composer(new ComposerSettings { MaxEncryptionRecipients = 5 }).For(Sender, ["alice@customer.example", "x@y.example", "z@y.example"]);
        Assert.Equal("The certificates for x@y.example, z@y.example were not found.", missing.Smime.Encryption.Message);
    }

    [Fact]
    public void An_expired_certificate_is_found_but_has_expired()
    {
        var options = Composer().For(Sender, ["dave@customer.example"]);

        Assert.False(options.Smime.Encryption.Possible);
        Assert.Equal("The certificate for dave@customer.example was found, but has expired.", options.Smime.Encryption.Message);
        Assert.False(options.Encrypt.Enabled);
    }

    [Fact]
    public void A_revoked_certificate_and_a_revoked_pgp_key_cannot_be_used()
    {
        var smime = Composer().For(Sender, ["erin@customer.example"]);
        var pgp = Composer().For(Sender, ["rex@example.org"]);

        Assert.Equal("The certificate for erin@customer.example was found, but has been revoked.", smime.Smime.Encryption.Message);
        Assert.Equal("The PGP key for rex@example.org was found, but has been revoked.", pgp.Pgp.Encryption.Message);
    }

    [Fact]
    public void An_old_expired_certificate_never_blocks_a_new_valid_one()
    {
        var options = Composer().For(Sender, ["frank@customer.example"]);

        Assert.True(options.Smime.Encryption.Possible);
    }

    [Fact]
    public void A_recipient_with_only_an_ec_certificate_cannot_be_encrypted_for_with_smime()
    {
        using var ecKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = _store.Time.GetUtcNow();
        var ec = _ca.Issue("CN=Gina", now.AddDays(-1), now.AddYears(1), ["gina@customer.example"],
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, key: ecKey);
        _store.Store.Import([CertificateAuthority.Pem("gina.crt", ec)]);

        var options = Composer().For(Sender, ["gina@customer.example"]);

        Assert.False(options.Smime.Encryption.Possible);
        Assert.Equal("The certificate for gina@customer.example was found, but RuleMail cannot encrypt to its EC key (only RSA).", options.Smime.Encryption.Message);
    }

    [Fact]
    public void A_sender_certificate_without_private_key_cannot_sign()
    {
        var options = Composer().For("alice@customer.example", ["edna@example.org"]);

        Assert.False(options.Smime.Sign.Possible);
        Assert.Equal("The certificate for alice@customer.example was found, but its private key is missing.", options.Smime.Sign.Message);
    }

    [Fact]
    public void Upper_case_addresses_find_the_same_keys()
    {
        var options = Composer().For("SUPPORT@Org.Example", ["Edna@EXAMPLE.org"]);

        Assert.True(options.Smime.Sign.Possible);
        Assert.True(options.Smime.Encryption.Possible);
        Assert.True(options.Pgp.Encryption.Possible);
    }

    [Fact]
    public void A_domain_alias_key_serves_every_address_of_its_domain()
    {
        var options = Composer().For(Sender, ["anyone@alias.example"]);

        Assert.True(options.Pgp.Encryption.Possible);
        Assert.Equal("PGP", options.Type);
    }

    [Fact]
    public void Moving_the_clock_past_expiry_disables_what_was_possible()
    {
        _store.Time.Advance(TimeSpan.FromDays(3 * 365));

        var options = Composer().For(Sender, ["alice@customer.example"]);

        Assert.Equal("The certificate for support@org.example was found, but has expired.", options.Smime.Sign.Message);
        Assert.Equal("The certificate for alice@customer.example was found, but has expired.", options.Smime.Encryption.Message);
        Assert.Null(options.Type);
    }

    [Fact]
    public void Buttons_are_off_by_default_when_the_settings_say_so()
    {
        var options = Composer(new ComposerSettings { SignByDefault = false, EncryptByDefault = false }).For(Sender, ["alice@customer.example"]);

        Assert.Equal(new SecurityButton(true, false, SecurityTexts.WillNotBeSigned), options.Sign);
        Assert.Equal(new SecurityButton(true, false, SecurityTexts.WillNotBeEncrypted), options.Encrypt);
    }

    public void Dispose()
    {
        _store.Dispose();
        _ca.Dispose();
        _senderKey.Dispose();
    }
}
