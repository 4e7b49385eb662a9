using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Keys;

/// <summary>
/// Which imported certificates vouch for others: CA certificates do; a person's certificate (even a
/// self-signed one that says CA:TRUE) vouches only for its own signatures. And revocation outlives its CA.
/// </summary>
public sealed class TrustPolicyTests : IDisposable
{
    private readonly TempDirectory _work = new("trust");
    private readonly OpenSsl _openssl;

    public TrustPolicyTests()
    {
        _openssl = new OpenSsl(_work.Path);
        _openssl.Write("body.txt", "Content-Type: text/plain\r\n\r\nPay the invoice to account 12345\r\n");
    }

    private byte[] SignedMessage(string from, string certificate, string key)
    {
        _openssl.Run("smime", "-sign", "-in", "body.txt", "-signer", certificate, "-inkey", key, "-out", "signed.txt");
        return Encoding.UTF8.GetBytes($"From: {from}\r\nTo: support@rulemail.test\r\nSubject: invoice\r\n" + File.ReadAllText(_work.File("signed.txt")));
    }

    [Fact]
    public void A_self_signed_certificate_with_an_address_verifies_its_own_signatures_but_vouches_for_no_one_else()
    {
        _openssl.Run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out", "self.crt", "-days", "30",
            "-subj", "/CN=Mallory", "-addext", "subjectAltName=email:mallory@partner.example");
        _openssl.Run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "victim.key", "-out", "victim.csr", "-subj", "/CN=CFO");
        _openssl.Write("victim.ext", "subjectAltName=email:cfo@bank.example\n");
        _openssl.Run("x509", "-req", "-in", "victim.csr", "-CA", "self.crt", "-CAkey", "self.key", "-CAcreateserial", "-days", "30",
            "-extfile", "victim.ext", "-out", "victim.crt");
        using var store = MailboxStore.With(new ImportFile("self.crt", File.ReadAllBytes(_work.File("self.crt"))));

        var own = store.Inspect(SignedMessage("mallory@partner.example", "self.crt", "self.key"));
        var forged = store.Inspect(SignedMessage("cfo@bank.example", "victim.crt", "victim.key"));

        Assert.False(Assert.Single(store.Store.Certificates).IsTrustAnchor);
        Assert.True(own.Security.Sign?.Success);
        // The outcome also carries the facts of the signature it refused (signer, digest, key); the verdict is what counts here.
        Assert.Equal((false, SecurityComments.CertificateNotFound), (forged.Security.Sign?.Success, forged.Security.Sign?.Comment));
    }

    [Fact]
    public void A_crl_keeps_revoking_after_its_ca_was_removed()
    {
        using var ca = new CertificateAuthority();
        using var store = new TestStore();
        var now = store.Time.GetUtcNow();
        var revoked = ca.Issue("CN=Erin", now.AddDays(-10), now.AddYears(1), ["erin@customer.example"]);
        store.Import(ca.CaFile, CertificateAuthority.Pem("erin.crt", revoked), new ImportFile("ca.crl", ca.Crl(now.AddMinutes(-1), (revoked, now.AddDays(-1)))));
        var caEntry = Assert.Single(store.Store.Certificates, c => c.IsTrustAnchor);

        store.Store.Remove(caEntry.Fingerprint);
        var reopened = store.Open();

        Assert.Equal(KeyStatus.Revoked, Assert.Single(reopened.Certificates).StatusAt(store.Time.GetUtcNow()));
        Assert.Null(reopened.FindSmime("erin@customer.example", KeyUsages.Encrypt));
    }

    public void Dispose() => _work.Dispose();
}
