using System.Security.Cryptography.X509Certificates;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary><c>http.tls</c>: HTTPS from a PEM certificate and key made by real openssl; a file that does not load stops the start with one line.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly HostHarness _host = HostHarness.Create();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task The_api_answers_over_https_with_the_configured_certificate_only()
    {
        var (certificate, key) = MakeCertificate();
        var expected = X509CertificateLoader.LoadCertificateFromFile(certificate);
        await using var web = await WebHarness.StartAsync(_host, c => c.Http = new HttpConfig { Tls = new TlsConfig { Certificate = certificate, Key = key } });
        Assert.Equal("https", web.Address.Scheme);
        string? presented = null;
        using var handler = new HttpClientHandler
        {
            // Pinned to the test's own certificate: nothing else may answer.
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                presented = cert?.Thumbprint;
                return cert?.Thumbprint == expected.Thumbprint;
            },
        };

        var client = web.Client(token: null, handler);
        Assert.Equal("ok\n", await client.GetStringAsync("healthz"));
        Assert.Equal(expected.Thumbprint, presented);

        // Over TLS the UI's cookies are host-only and Secure (__Host-): no other service on this host can plant one.
        var session = await client.GetAsync("ui/session");
        var antiforgery = Assert.Single(session.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("__Host-rulemail.antiforgery=", antiforgery, StringComparison.Ordinal);
        Assert.Contains("; secure", antiforgery, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; path=/;", antiforgery + ";", StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("domain=", antiforgery, StringComparison.OrdinalIgnoreCase);

        var viewer = await web.ClientAsync(ApiRole.Viewer);
        var plain = new UriBuilder(web.Address) { Scheme = "http" }.Uri;
        await Assert.ThrowsAsync<HttpRequestException>(() => viewer.GetAsync(new Uri(plain, "healthz")));
    }

    [Fact]
    public async Task A_certificate_that_does_not_load_stops_the_start_with_one_line()
    {
        var missing = _host.Folder.File("missing.crt");

        var error = await Assert.ThrowsAsync<RuleMailException>(() => WebHarness.StartAsync(
            _host, c => c.Http = new HttpConfig { Tls = new TlsConfig { Certificate = missing, Key = _host.Folder.File("missing.key") } }));

        Assert.StartsWith($"http.tls: cannot load the certificate {missing} with the key", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    private (string Certificate, string Key) MakeCertificate()
    {
        var certificate = _host.Folder.File("tls.crt");
        var key = _host.Folder.File("tls.key");
        ExternalTool.Run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2"]);
        return (certificate, key);
    }
}
