using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Org.BouncyCastle.Bcpg.OpenPgp;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Json;
using RuleMail.Keys;
using RuleMail.Web.Api;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary>
/// The key store over HTTP on the real service, on a copy of the sample store: the list and one entry are the CLI's JSON,
/// downloads carry public material only, uploads are all or nothing and used by the next message, removal too.
/// </summary>
public sealed class KeysEndpointsTests : IAsyncLifetime
{
    private const string Alice = "EE98308EDE39F275262F102CC339CB6B04E4DB5A0D8C2465CBCE88D1C209D455";
    private const string Bob = "EC754ADACA65EB4D507B8CBF828DEBAC6D6D0CAF";
    private const string BobKeyId = "828DEBAC6D6D0CAF";
    private const string Stranger = "stranger@unknown.test";
    private static readonly string[] StrangerOnly = [Stranger];
    private static readonly string[] AliceOnly = ["alice@customer.test"];

    private readonly HostHarness _host = HostHarness.Create();
    private WebHarness _web = null!;

    public async Task InitializeAsync()
    {
        _host.CopyKeyStore();
        _web = await WebHarness.StartAsync(_host);
    }

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task The_list_is_the_document_keys_list_json_prints_for_the_same_store()
    {
        var viewer = await _web.ClientAsync(ApiRole.Viewer);

        var api = JsonNode.Parse(await viewer.GetStringAsync("api/v1/keys"));

        var cli = RuleMail.Cli.Tests.Support.CliRun.Run(_host.Folder.Path, null, "keys", "list", "--json", "--keystore", _host.KeystoreDirectory);
        Assert.True(cli.ExitCode == 0, cli.Error);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(cli.Output), api), $"API:\n{api}\nCLI:\n{cli.Output}");
        Assert.Equal(10, api!["keys"]!.AsArray().Count);
    }

    [Theory]
    [InlineData(Alice, Alice)]
    [InlineData("ee98308ede39f275262f102cc339cb6b04e4db5a0d8c2465cbce88d1c209d455", Alice)]
    [InlineData("EE:98:30:8E:DE:39:F2:75", Alice)]
    [InlineData(Bob, Bob)]
    [InlineData("EC754ADACA65EB4D", Bob)]
    [InlineData(BobKeyId, Bob)]
    [InlineData("0x828debac6d6d0caf", Bob)]
    public async Task One_entry_is_the_lists_entry_named_by_its_fingerprint_a_unique_prefix_or_a_pgp_key_id(string reference, string expected)
    {
        var viewer = await _web.ClientAsync(ApiRole.Viewer);
        var list = JsonNode.Parse(await viewer.GetStringAsync("api/v1/keys"))!["keys"]!.AsArray();

        var response = await viewer.GetAsync($"api/v1/keys/{Uri.EscapeDataString(reference)}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var entry = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var fingerprint = entry["fingerprint"]!.GetValue<string>();
        Assert.Equal(expected, fingerprint);
        Assert.True(JsonNode.DeepEquals(list.Single(k => k!["fingerprint"]!.GetValue<string>() == fingerprint), entry));
    }

    [Theory]
    [InlineData("0000000000000000", HttpStatusCode.NotFound, "no key store entry has the fingerprint 0000000000000000")]
    [InlineData("EE98308EDE39F2", HttpStatusCode.BadRequest, "16 to 64 hex digits")]
    [InlineData("not-a-fingerprint-at-all", HttpStatusCode.BadRequest, "16 to 64 hex digits")]
    public async Task A_fingerprint_that_names_nothing_is_a_problem_saying_so(string reference, HttpStatusCode status, string detail)
    {
        var viewer = await _web.ClientAsync(ApiRole.Viewer);

        var response = await viewer.GetAsync($"api/v1/keys/{reference}");

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, await Detail(response), StringComparison.Ordinal);
    }

    [Fact]
    public void A_prefix_several_entries_share_or_a_key_id_another_fingerprint_starts_with_is_ambiguous()
    {
        (string Fingerprint, string? KeyId)[] entries =
        [
            ("AAAABBBBCCCCDDDD1111", null),
            ("AAAABBBBCCCCDDDD2222", null),
            ("1234123412341234FFFF", "AAAABBBBCCCCDDDD"),
            ("9999", "5555666677778888"),
        ];

        Assert.Equal(3, KeyReferences.Matches(entries, "AAAABBBBCCCCDDDD", e => e.Fingerprint, e => e.KeyId).Count);
        Assert.Single(KeyReferences.Matches(entries, "AAAABBBBCCCCDDDD1111", e => e.Fingerprint, e => e.KeyId));
        Assert.Single(KeyReferences.Matches(entries, "5555666677778888", e => e.Fingerprint, e => e.KeyId));
        Assert.Equal("AAAABBBBCCCCDDDD", KeyReferences.Normalize("aaaa:bbbb cccc:dddd"));
        Assert.Null(KeyReferences.Normalize("AAAABBBBCCCCDDD"));
        Assert.Null(KeyReferences.Normalize(new string('A', 65)));
    }

    [Fact]
    public async Task Every_download_of_keys_held_with_their_private_parts_carries_public_material_only()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using (var upload = Upload(passphrase: HostHarness.SamplePassphrase, Source("alice.crt"), Source("alice.key"), Source("bob.sec.asc")))
        {
            var imported = await admin.PostAsync("api/v1/keys", upload);
            Assert.True(imported.StatusCode == HttpStatusCode.Created, await imported.Content.ReadAsStringAsync());
        }

        var viewer = await _web.ClientAsync(ApiRole.Viewer);
        var list = JsonNode.Parse(await viewer.GetStringAsync("api/v1/keys"))!["keys"]!.AsArray();
        var withPrivate = list.Where(k => k!["has_private_key"]!.GetValue<bool>()).Select(k => k!["fingerprint"]!.GetValue<string>()).ToList();
        Assert.Contains(Alice, withPrivate);
        Assert.Contains(Bob, withPrivate);
        Assert.Equal(4, withPrivate.Count); // and support's S/MIME and OpenPGP keys of the sample

        foreach (var key in list)
        {
            var fingerprint = key!["fingerprint"]!.GetValue<string>();
            var kind = key["kind"]!.GetValue<string>();
            var format = kind == "pgp" ? "armored" : "pem";
            var accept = kind switch { "pgp" => KeyDownload.PgpKeys, "crl" => KeyDownload.PemFile, _ => KeyDownload.PemCertificate };
            var byQuery = await viewer.GetAsync($"api/v1/keys/{fingerprint}?format={format}");
            using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/keys/{fingerprint}");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
            var byAccept = await viewer.SendAsync(request);
            var json = await viewer.GetStringAsync($"api/v1/keys/{fingerprint}?format=json");

            foreach (var response in new[] { byQuery, byAccept })
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(accept, response.Content.Headers.ContentType?.MediaType);
                Assert.Contains("Accept", response.Headers.Vary);
                var bytes = await response.Content.ReadAsByteArrayAsync();
                AssertPublicOnly(kind, fingerprint, bytes);
            }

            Assert.DoesNotContain("PRIVATE", json, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Asking_for_a_format_the_kind_does_not_have_is_406_and_an_unknown_format_400()
    {
        var viewer = await _web.ClientAsync(ApiRole.Viewer);

        var pemOfPgp = await viewer.GetAsync($"api/v1/keys/{Bob}?format=pem");
        var armoredOfSmime = await viewer.GetAsync($"api/v1/keys/{Alice}?format=armored");
        using var onlyPgp = new HttpRequestMessage(HttpMethod.Get, $"api/v1/keys/{Alice}");
        onlyPgp.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(KeyDownload.PgpKeys));
        var acceptPgpOfSmime = await viewer.SendAsync(onlyPgp);
        var unknown = await viewer.GetAsync($"api/v1/keys/{Alice}?format=pkcs12");

        Assert.Equal(HttpStatusCode.NotAcceptable, pemOfPgp.StatusCode);
        Assert.Contains("format=armored", await Detail(pemOfPgp), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotAcceptable, armoredOfSmime.StatusCode);
        Assert.Equal(HttpStatusCode.NotAcceptable, acceptPgpOfSmime.StatusCode);
        Assert.Contains("format=pem", await Detail(acceptPgpOfSmime), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("format must be json, pem (S/MIME certificates and CRLs) or armored (OpenPGP keys), not 'pkcs12'", await Detail(unknown));
    }

    [Fact]
    public async Task An_uploaded_certificate_is_used_by_the_next_check_and_options_without_a_restart()
    {
        var agent = await _web.ClientAsync(ApiRole.Agent);
        var admin = await _web.ClientAsync(ApiRole.Admin);
        var unknownSigner = HostHarness.DemoMessage("smime-unknown-signer");
        var before = await CheckAsync(agent, unknownSigner);
        Assert.False(before["security"]!["sign"]!["success"]!.GetValue<bool>());
        Assert.Equal("Unable to find certificate for validation", before["security"]!["sign"]!["comment"]!.GetValue<string>());
        Assert.False(await CanEncryptAsync(agent, StrangerOnly));

        using var upload = Upload(passphrase: null, Source("stranger.crt"));
        var response = await admin.PostAsync("api/v1/keys", upload);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(KeyImportDocument.VerifyWarning, document["warning"]!.GetValue<string>());
        Assert.Equal("🕵️ ALWAYS verify certificates in-person or over the phone!", KeyImportDocument.VerifyWarning);
        var imported = Assert.Single(document["imported"]!.AsArray())!;
        Assert.Equal("added", imported["change"]!.GetValue<string>());
        Assert.Equal("stranger.crt", imported["file"]!.GetValue<string>());
        Assert.Equal("smime", imported["key"]!["kind"]!.GetValue<string>());
        Assert.Equal(Stranger, Assert.Single(imported["key"]!["addresses"]!.AsArray())!.GetValue<string>());
        var fingerprint = imported["key"]!["fingerprint"]!.GetValue<string>();
        Assert.Equal(Convert.ToHexString(SHA256.HashData(X509CertificateLoader.LoadCertificateFromFile(Path.Combine(SourceFolder, "stranger.crt")).RawData)), fingerprint);
        Assert.Equal($"/api/v1/keys/{fingerprint}", response.Headers.Location?.OriginalString);

        var after = await CheckAsync(agent, unknownSigner);
        Assert.True(after["security"]!["sign"]!["success"]!.GetValue<bool>(), after.ToJsonString());
        Assert.True(await CanEncryptAsync(agent, StrangerOnly));
        Assert.Contains(Path.Combine("smime", fingerprint + ".crt"), Directory.GetFiles(_host.KeystoreDirectory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_host.KeystoreDirectory, f)));
        Assert.Contains(_web.Logs.Lines, l => l.Contains($"key store: added smime {Stranger} {fingerprint} from stranger.crt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Uploading_what_the_store_holds_already_changes_nothing_and_answers_200()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using var upload = Upload(passphrase: null, Source("alice.crt"));

        var response = await admin.PostAsync("api/v1/keys", upload);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var imported = Assert.Single(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["imported"]!.AsArray())!;
        Assert.Equal("unchanged", imported["change"]!.GetValue<string>());
        Assert.Equal(Alice, imported["key"]!["fingerprint"]!.GetValue<string>());
    }

    [Fact]
    public async Task One_bad_file_is_a_422_naming_it_and_nothing_of_the_upload_is_imported()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        var before = FolderSnapshot.Take(_host.KeystoreDirectory);
        using var upload = Upload(passphrase: null, Source("stranger.crt"), ("notes/holiday.txt", Encoding.UTF8.GetBytes("not a key at all\n")));

        var response = await admin.PostAsync("api/v1/keys", upload);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("holiday.txt: not a certificate, private key, PKCS#12, CRL or OpenPGP key", await Detail(response));
        before.AssertSameAs(FolderSnapshot.Take(_host.KeystoreDirectory));
        var list = await (await _web.ClientAsync(ApiRole.Viewer)).GetStringAsync("api/v1/keys");
        Assert.DoesNotContain(Stranger, list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_encrypted_key_needs_the_passphrase_field_and_the_passphrase_is_never_logged_or_echoed()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using var ca = new CertificateAuthority();
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = ca.Issue("CN=Pat Upload", now.AddDays(-1), now.AddYears(1), ["pat@upload.test"]);
        using var withKey = certificate.CopyWithPrivateKey(ca.LeafKey);
        var passphrase = $"upload-secret-{Guid.NewGuid():N}";
        var pfx = withKey.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, passphrase);
        var before = FolderSnapshot.Take(_host.KeystoreDirectory);

        using var none = Upload(passphrase: null, ("pat.p12", pfx));
        var withoutPassphrase = await admin.PostAsync("api/v1/keys", none);
        using var wrong = Upload(passphrase: passphrase + "-wrong", ("pat.p12", pfx));
        var withWrongPassphrase = await admin.PostAsync("api/v1/keys", wrong);
        using var encryptedKey = Upload(passphrase: null, Source("alice.crt"), Source("alice.key"));
        var keyWithoutPassphrase = await admin.PostAsync("api/v1/keys", encryptedKey);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, withoutPassphrase.StatusCode);
        Assert.Equal("pat.p12: the PKCS#12 file is protected: give its passphrase in the passphrase field", await Detail(withoutPassphrase));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, withWrongPassphrase.StatusCode);
        var wrongDetail = await Detail(withWrongPassphrase);
        Assert.StartsWith("pat.p12: wrong passphrase for the PKCS#12 file", wrongDetail, StringComparison.Ordinal);
        Assert.DoesNotContain(passphrase, wrongDetail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, keyWithoutPassphrase.StatusCode);
        Assert.Equal("alice.key: the private key is encrypted: give its passphrase in the passphrase field", await Detail(keyWithoutPassphrase));
        before.AssertSameAs(FolderSnapshot.Take(_host.KeystoreDirectory));

        // As curl -F "passphrase=<FILE" sends it: the file's line break is not part of the passphrase.
        using var right = Upload(passphrase: passphrase + "\n", ("pat.p12", pfx));
        var imported = await admin.PostAsync("api/v1/keys", right);

        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        var entry = Assert.Single(JsonNode.Parse(await imported.Content.ReadAsStringAsync())!["imported"]!.AsArray())!;
        Assert.True(entry["key"]!["has_private_key"]!.GetValue<bool>());
        Assert.Equal("with its private key (encrypted at rest)", entry["note"]!.GetValue<string>());
        var keyFile = await File.ReadAllTextAsync(Directory.GetFiles(Path.Combine(_host.KeystoreDirectory, "smime"), entry["key"]!["fingerprint"]!.GetValue<string>() + ".key").Single());
        Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", keyFile, StringComparison.Ordinal);
        Assert.Contains("pat@upload.test", _web.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(passphrase, _web.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_private_key_without_its_certificate_is_refused()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using var lone = RSA.Create(2048);
        using var upload = Upload(passphrase: null, Source("stranger.crt"), ("lone.key", Encoding.ASCII.GetBytes(lone.ExportPkcs8PrivateKeyPem())));

        var response = await admin.PostAsync("api/v1/keys", upload);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(
            "lone.key: the private key belongs to no certificate in these files or in the key store; import it together with its certificate",
            await Detail(response));
    }

    [Fact]
    public async Task A_ca_certificate_uploaded_becomes_a_trust_anchor_as_with_the_cli()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using var ca = new CertificateAuthority();
        using var upload = Upload(passphrase: null, (ca.CaFile.Name, ca.CaFile.Content));

        var response = await admin.PostAsync("api/v1/keys", upload);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var entry = Assert.Single(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["imported"]!.AsArray())!;
        Assert.Equal("CA certificate: now a trust anchor", entry["note"]!.GetValue<string>());
        Assert.True(entry["key"]!["trust_anchor"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Two_uploads_at_once_are_both_imported_whole_and_the_same_file_twice_is_added_once()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using var ca = new CertificateAuthority();
        var now = TimeProvider.System.GetUtcNow();
        using var one = ca.Issue("CN=One", now.AddDays(-1), now.AddYears(1), ["one@race.test"]);
        using var two = ca.Issue("CN=Two", now.AddDays(-1), now.AddYears(1), ["two@race.test"]);
        using var first = Upload(passphrase: null, ("one.crt", CertificateAuthority.Pem("one.crt", one).Content), Source("stranger.crt"));
        using var second = Upload(passphrase: null, ("two.crt", CertificateAuthority.Pem("two.crt", two).Content), Source("stranger.crt"));

        var answers = await Task.WhenAll(admin.PostAsync("api/v1/keys", first), admin.PostAsync("api/v1/keys", second));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        var strangerChanges = new List<string>();
        foreach (var answer in answers)
        {
            var imported = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["imported"]!.AsArray();
            strangerChanges.Add(imported.Single(i => i!["file"]!.GetValue<string>() == "stranger.crt")!["change"]!.GetValue<string>());
        }

        Assert.Equal(["added", "unchanged"], strangerChanges.Order(StringComparer.Ordinal));
        var list = await (await _web.ClientAsync(ApiRole.Viewer)).GetStringAsync("api/v1/keys");
        Assert.Contains("one@race.test", list, StringComparison.Ordinal);
        Assert.Contains("two@race.test", list, StringComparison.Ordinal);
        Assert.Single(JsonNode.Parse(list)!["keys"]!.AsArray(), k => k!["addresses"]!.AsArray().Any(a => a!.GetValue<string>() == Stranger));
    }

    [Fact]
    public async Task A_removed_certificate_is_gone_for_the_next_message_and_removing_it_again_is_404()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        var agent = await _web.ClientAsync(ApiRole.Agent);
        Assert.True(await CanEncryptAsync(agent, AliceOnly));

        var removed = await admin.DeleteAsync($"api/v1/keys/{Alice[..16]}");

        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.False(await CanEncryptAsync(agent, AliceOnly));
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync($"api/v1/keys/{Alice}")).StatusCode);
        Assert.False(File.Exists(Path.Combine(_host.KeystoreDirectory, "smime", Alice + ".crt")));
        var again = await admin.DeleteAsync($"api/v1/keys/{Alice}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal($"no key store entry has the fingerprint {Alice} (GET /api/v1/keys lists them)", await Detail(again));
        Assert.Contains(_web.Logs.Lines, l => l.Contains($"key store: removed smime alice@customer.test {Alice}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(ApiRole.Viewer)]
    [InlineData(ApiRole.Agent)]
    public async Task Only_an_admin_imports_or_removes(ApiRole role)
    {
        var client = await _web.ClientAsync(role);
        var before = FolderSnapshot.Take(_host.KeystoreDirectory);
        using var upload = Upload(passphrase: null, Source("stranger.crt"));

        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync("api/v1/keys", upload)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync($"api/v1/keys/{Alice}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"api/v1/keys/{Alice}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _web.Client().GetAsync("api/v1/keys")).StatusCode);
        before.AssertSameAs(FolderSnapshot.Take(_host.KeystoreDirectory));
    }

    [Fact]
    public async Task A_request_that_is_no_key_upload_is_a_problem_saying_how_to_send_one()
    {
        var admin = await _web.ClientAsync(ApiRole.Admin);
        using var misnamed = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(Path.Combine(SourceFolder, "stranger.crt"))), "files", "stranger.crt" } };
        using var password = new MultipartFormDataContent
        {
            { new ByteArrayContent(File.ReadAllBytes(Path.Combine(SourceFolder, "stranger.crt"))), "file", "stranger.crt" },
            { new StringContent("secret"), "password" },
        };
        using var noFile = new MultipartFormDataContent { { new StringContent(HostHarness.SamplePassphrase), "passphrase" } };
        using var textAsFile = new MultipartFormDataContent { { new StringContent("-----BEGIN CERTIFICATE-----"), "file" } };
        using var broken = new StringContent("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.crt\"\r\n\r\nabc", Encoding.ASCII);
        broken.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=x");

        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["json"] = await admin.PostAsJsonAsync("api/v1/keys", new { file = "stranger.crt" }),
            ["misnamed"] = await admin.PostAsync("api/v1/keys", misnamed),
            ["password"] = await admin.PostAsync("api/v1/keys", password),
            ["no file"] = await admin.PostAsync("api/v1/keys", noFile),
            ["text as file"] = await admin.PostAsync("api/v1/keys", textAsFile),
            ["broken"] = await admin.PostAsync("api/v1/keys", broken),
        };

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, answers["json"].StatusCode);
        Assert.StartsWith("send the key files as multipart/form-data", await Detail(answers["json"]), StringComparison.Ordinal);
        Assert.Equal("unknown file field 'files': send each key file in a field named file", await Detail(answers["misnamed"]));
        Assert.StartsWith("unknown form field 'password'", await Detail(answers["password"]), StringComparison.Ordinal);
        Assert.Equal("no key file: send each file in a multipart field named file", await Detail(answers["no file"]));
        Assert.StartsWith("the field file holds text, not a file", await Detail(answers["text as file"]), StringComparison.Ordinal);
        Assert.StartsWith("the multipart body cannot be read", await Detail(answers["broken"]), StringComparison.Ordinal);
        Assert.DoesNotContain("fail", _web.Logs.All, StringComparison.OrdinalIgnoreCase);
        foreach (var (name, answer) in answers.Where(a => a.Key != "json"))
        {
            Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, $"{name}: {answer.StatusCode}");
        }

        Assert.DoesNotContain(Stranger, await admin.GetStringAsync("api/v1/keys"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upload_over_http_max_message_mb_is_413_and_imports_nothing()
    {
        using var host = HostHarness.Create();
        host.CopyKeyStore();
        await using var web = await WebHarness.StartAsync(host, config => config.Http = new HttpConfig { MaxMessageMb = 1 });
        var admin = await web.ClientAsync(ApiRole.Admin);
        var before = FolderSnapshot.Take(host.KeystoreDirectory);
        var large = new byte[(2 * 1024 * 1024) + 1];
        using var upload = Upload(passphrase: null, Source("stranger.crt"), ("large.bin", large));

        var response = await admin.PostAsync("api/v1/keys", upload);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("the request body is larger than http.max_message_mb (1 MB)", await Detail(response));
        before.AssertSameAs(FolderSnapshot.Take(host.KeystoreDirectory));
    }

    [Fact]
    public async Task The_openapi_document_describes_the_four_key_operations()
    {
        var document = JsonNode.Parse(await _web.Client().GetStringAsync("openapi/v1.json"))!;
        var paths = document["paths"]!;

        Assert.NotNull(paths["/api/v1/keys"]!["get"]);
        Assert.NotNull(paths["/api/v1/keys"]!["post"]!["requestBody"]!["content"]!["multipart/form-data"]);
        Assert.NotNull(paths["/api/v1/keys/{fingerprint}"]!["get"]);
        Assert.NotNull(paths["/api/v1/keys/{fingerprint}"]!["delete"]);
    }

    private static string SourceFolder => Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "source");

    private static (string Name, byte[] Content) Source(string name) => (name, File.ReadAllBytes(Path.Combine(SourceFolder, name)));

    private static MultipartFormDataContent Upload(string? passphrase, params (string Name, byte[] Content)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, content) in files)
        {
            var part = new ByteArrayContent(content);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "file", name);
        }

        if (passphrase is not null)
        {
            form.Add(new StringContent(passphrase), "passphrase");
        }

        return form;
    }

    /// <summary>A download holds the entry's public part and nothing else: one PEM block of the right label, or public key rings only.</summary>
    private static void AssertPublicOnly(string kind, string fingerprint, byte[] bytes)
    {
        var text = Encoding.ASCII.GetString(bytes);
        Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
        Assert.DoesNotContain("PGP PRIVATE KEY BLOCK", text, StringComparison.Ordinal);
        switch (kind)
        {
            case "smime":
                Assert.Equal("CERTIFICATE", text[PemEncoding.Find(text).Label]);
                Assert.Single(text.Split("-----BEGIN ", StringSplitOptions.RemoveEmptyEntries));
                using (var certificate = X509CertificateLoader.LoadCertificate(bytes))
                {
                    Assert.False(certificate.HasPrivateKey);
                    Assert.Equal(fingerprint, Convert.ToHexString(SHA256.HashData(certificate.RawData)));
                }

                break;
            case "crl":
                Assert.Equal("X509 CRL", text[PemEncoding.Find(text).Label]);
                Assert.Single(text.Split("-----BEGIN ", StringSplitOptions.RemoveEmptyEntries));
                break;
            default:
                Assert.StartsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----", text, StringComparison.Ordinal);
                var objects = new PgpObjectFactory(PgpUtilities.GetDecoderStream(new MemoryStream(bytes))).AllPgpObjects();
                var ring = Assert.IsType<PgpPublicKeyRing>(Assert.Single(objects));
                Assert.Equal(fingerprint, Convert.ToHexString(ring.GetPublicKey().GetFingerprint()));

                // Nothing beside the public ring: its own encoding is the whole download, so no secret packet hides after it.
                Assert.Equal(ring.GetEncoded(), Pgp.Dearmor(bytes));
                break;
        }
    }

    private static async Task<JsonNode> CheckAsync(HttpClient client, byte[] message)
    {
        using var content = new ByteArrayContent(message);
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        var response = await client.PostAsync("api/v1/check", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static async Task<bool> CanEncryptAsync(HttpClient client, string[] to)
    {
        var response = await client.PostAsJsonAsync("api/v1/options", new { from = "support@rulemail.test", to });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["smime"]!["encryption"]!["possible"]!.GetValue<bool>();
    }

    private static async Task<string> Detail(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;
}
