using System.Text.Json;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

public sealed class KeysCommandTests
{
    private const string StorePassphrase = "store passphrase for the CLI tests";

    private static readonly Dictionary<string, string> WithStorePassphrase = new()
    {
        ["RULEMAIL_KEYSTORE_PASSPHRASE"] = StorePassphrase,
    };

    [Fact]
    public void Keys_list_json_on_the_sample_store_shows_every_correspondent_with_its_status()
    {
        var root = CliRun.RepositoryRoot();

        var result = CliRun.Run(root, null, "keys", "list", "--keystore", "keystore-sample", "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Error);
        using var json = JsonDocument.Parse(result.Output);
        var keys = json.RootElement.GetProperty("keys").EnumerateArray().ToList();
        string[] Status(string kind, string address) =>
        [
            .. keys.Where(k => k.GetProperty("kind").GetString() == kind &&
                               k.GetProperty("addresses").EnumerateArray().Any(a => a.GetString() == address))
                   .Select(k => k.GetProperty("status").GetString()!),
        ];

        Assert.Equal(["valid"], Status("smime", "support@rulemail.test"));
        Assert.Equal(["valid"], Status("pgp", "support@rulemail.test"));
        Assert.Equal(["valid"], Status("smime", "alice@customer.test"));
        Assert.Empty(Status("pgp", "alice@customer.test"));
        Assert.Equal(["valid"], Status("pgp", "bob@partner.test"));
        Assert.Empty(Status("smime", "bob@partner.test"));
        Assert.Equal(["valid"], Status("smime", "carol@both.test"));
        Assert.Equal(["valid"], Status("pgp", "carol@both.test"));
        Assert.Equal(["expired"], Status("smime", "dave@expired.test"));
        Assert.Equal(["revoked"], Status("smime", "erin@revoked.test"));

        var support = keys.Where(k => k.GetProperty("addresses").EnumerateArray().Any(a => a.GetString() == "support@rulemail.test")).ToList();
        Assert.All(support, k => Assert.True(k.GetProperty("has_private_key").GetBoolean()));
        Assert.Contains(keys, k => k.GetProperty("kind").GetString() == "smime" && k.GetProperty("trust_anchor").GetBoolean());
        Assert.Contains(keys, k => k.GetProperty("kind").GetString() == "crl" && k.GetProperty("revoked_count").GetInt32() == 1);
    }

    [Fact]
    public void Keys_list_prints_a_table_with_status_and_fingerprint()
    {
        var root = CliRun.RepositoryRoot();

        var result = CliRun.Run(root, null, "keys", "list", "--keystore", "keystore-sample");

        Assert.Equal(0, result.ExitCode);
        var dave = result.Output.Split('\n').Single(l => l.Contains("dave@expired.test", StringComparison.Ordinal));
        Assert.Contains("expired", dave, StringComparison.Ordinal);
        Assert.Matches("[0-9A-F]{64}", dave);
    }

    [Fact]
    public void Keys_import_of_an_openssl_pkcs12_lists_it_with_fingerprint_dates_usages_and_private_key()
    {
        using var work = new TempDirectory("cli-p12");
        var openssl = new OpenSsl(work.Path);
        openssl.Run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "user.key", "-out", "user.crt", "-days", "365",
            "-subj", "/CN=Pat Example", "-addext", "subjectAltName=email:Pat@Example.ORG",
            "-addext", "keyUsage=critical,digitalSignature,keyEncipherment", "-addext", "extendedKeyUsage=emailProtection");
        openssl.Run("pkcs12", "-export", "-in", "user.crt", "-inkey", "user.key", "-out", "user.p12", "-passout", "pass:p12 secret");
        var expected = openssl.Run("x509", "-in", "user.crt", "-noout", "-fingerprint", "-sha256").StandardOutputText
            .Split('=')[1].Trim().Replace(":", string.Empty, StringComparison.Ordinal);
        var store = work.File("store");
        var environment = new Dictionary<string, string>(WithStorePassphrase) { ["P12_PASS"] = "p12 secret" };

        var import = CliRun.Run(work.Path, environment, "keys", "import", "user.p12", "--passphrase-env", "P12_PASS", "--keystore", store);
        var list = CliRun.Run(work.Path, null, "keys", "list", "--json", "--keystore", store);

        Assert.Equal(0, import.ExitCode);
        Assert.Contains("pat@example.org", import.Output, StringComparison.Ordinal);
        Assert.Contains(Grouped(expected), import.Output, StringComparison.Ordinal);
        Assert.Contains("ALWAYS verify certificates in-person or over the phone!", import.Output, StringComparison.Ordinal);
        Assert.Equal(0, list.ExitCode);
        using var json = JsonDocument.Parse(list.Output);
        var entry = Assert.Single(json.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal(expected, entry.GetProperty("fingerprint").GetString());
        Assert.Equal(["pat@example.org"], entry.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(["sign", "encrypt"], entry.GetProperty("usages").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("valid", entry.GetProperty("status").GetString());
        Assert.True(entry.GetProperty("has_private_key").GetBoolean());
        Assert.True(entry.GetProperty("not_after").GetDateTimeOffset() > entry.GetProperty("not_before").GetDateTimeOffset().AddDays(364));
    }

    [Fact]
    public void Keys_import_of_gpg_ed25519_key_with_cv25519_subkey_lists_both_keys()
    {
        using var gpg = new GnuPG();
        var fingerprint = gpg.GenerateKey("Quinn <quinn@example.net>", "ed25519", "sign", "1y", "gpg secret");
        gpg.AddSubkey(fingerprint, "cv25519", "encr", "1y", "gpg secret");
        using var work = new TempDirectory("cli-gpg");
        File.WriteAllBytes(work.File("quinn.asc"), gpg.ExportPublic(fingerprint, armor: true));
        var store = work.File("store");

        var import = CliRun.Run(work.Path, null, "keys", "import", "quinn.asc", "--keystore", store);
        var list = CliRun.Run(work.Path, null, "keys", "list", "--json", "--keystore", store);

        Assert.Equal(0, import.ExitCode);
        using var json = JsonDocument.Parse(list.Output);
        var entry = Assert.Single(json.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal("pgp", entry.GetProperty("kind").GetString());
        Assert.Equal(fingerprint, entry.GetProperty("fingerprint").GetString());
        Assert.Equal(["sign", "encrypt"], entry.GetProperty("usages").EnumerateArray().Select(a => a.GetString()));
        Assert.False(entry.GetProperty("has_private_key").GetBoolean());
        Assert.Equal(["Ed25519", "Cv25519"], entry.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("algorithm").GetString()));
    }

    [Fact]
    public void Keys_import_of_a_junk_file_exits_3_with_one_line_and_leaves_the_store_unchanged()
    {
        using var work = new TempDirectory("cli-junk");
        var store = CopyOfSampleStore(work);
        File.WriteAllText(work.File("junk.pem"), "this is not a key\n");
        var before = FolderSnapshot.Take(store);

        var result = CliRun.Run(work.Path, WithStorePassphrase, "keys", "import", "junk.pem", "--keystore", store);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal(string.Empty, result.Output);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("rulemail: ", line, StringComparison.Ordinal);
        Assert.Contains("junk.pem", line, StringComparison.Ordinal);
        before.AssertSameAs(FolderSnapshot.Take(store));
    }

    [Fact]
    public void Keys_import_of_a_private_key_without_the_store_passphrase_exits_3_and_writes_nothing()
    {
        using var work = new TempDirectory("cli-nopass");
        new OpenSsl(work.Path).Run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "user.key", "-out", "user.crt",
            "-days", "30", "-subj", "/CN=x", "-addext", "subjectAltName=email:x@example.org");
        var store = work.File("store");

        var result = CliRun.Run(work.Path, null, "keys", "import", "user.crt", "user.key", "--keystore", store);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("RULEMAIL_KEYSTORE_PASSPHRASE", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.Empty(FolderSnapshot.Take(store).Files);
    }

    [Fact]
    public void Keys_import_with_an_unset_passphrase_variable_exits_3_as_the_readme_says_for_a_variable_that_is_not_set()
    {
        using var work = new TempDirectory("cli-usage");

        var result = CliRun.Run(work.Path, null, "keys", "import", "x.p12", "--passphrase-env", "NOT_SET", "--keystore", work.File("store"));

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("rulemail: --passphrase-env NOT_SET: the environment variable NOT_SET is not set or empty", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void Keys_remove_takes_the_entry_and_its_private_key_out()
    {
        using var work = new TempDirectory("cli-remove");
        var store = CopyOfSampleStore(work);
        var list = CliRun.Run(work.Path, null, "keys", "list", "--json", "--keystore", store);
        using var json = JsonDocument.Parse(list.Output);
        var support = json.RootElement.GetProperty("keys").EnumerateArray()
            .Single(k => k.GetProperty("kind").GetString() == "smime" &&
                         k.GetProperty("addresses").EnumerateArray().Any(a => a.GetString() == "support@rulemail.test"));
        var fingerprint = support.GetProperty("fingerprint").GetString()!;

        var refused = CliRun.Run(work.Path, null, "keys", "remove", fingerprint, "--keystore", store);
        var kept = CliRun.Run(work.Path, null, "keys", "list", "--json", "--keystore", store);
        var result = CliRun.Run(work.Path, null, "keys", "remove", fingerprint, "--yes", "--keystore", store);
        var after = CliRun.Run(work.Path, null, "keys", "list", "--json", "--keystore", store);

        // A private key goes only when asked for twice: without it RuleMail cannot sign or decrypt any more.
        Assert.Equal(2, refused.ExitCode);
        Assert.EndsWith("holds a private key: without it RuleMail can no longer sign as support@rulemail.test or decrypt mail sent to it. Keep a copy, then repeat with --yes",
            Assert.Single(refused.ErrorLines), StringComparison.Ordinal);
        Assert.Contains(fingerprint, kept.Output, StringComparison.Ordinal);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("and its private key", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(fingerprint, after.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(store, "smime", fingerprint + ".key")));
    }

    [Fact]
    public void Keys_remove_takes_an_address_a_long_key_id_or_a_prefix_and_lists_the_entries_when_it_names_several()
    {
        using var work = new TempDirectory("cli-remove-by");
        var store = CopyOfSampleStore(work);
        using var json = JsonDocument.Parse(CliRun.Run(work.Path, null, "keys", "list", "--json", "--keystore", store).Output);
        var keys = json.RootElement.GetProperty("keys").EnumerateArray().ToList();
        string Fingerprint(string kind, string address) => keys.Single(k => k.GetProperty("kind").GetString() == kind
            && k.GetProperty("addresses").EnumerateArray().Any(a => a.GetString() == address)).GetProperty("fingerprint").GetString()!;
        var bob = keys.Single(k => k.GetProperty("kind").GetString() == "pgp" && k.GetProperty("addresses")[0].GetString() == "bob@partner.test");

        var byAddress = CliRun.Run(work.Path, null, "keys", "remove", "Alice@Customer.test", "--keystore", store);
        var byKeyId = CliRun.Run(work.Path, null, "keys", "remove", "0x" + bob.GetProperty("key_id").GetString()!.ToLowerInvariant(), "--keystore", store);
        var byPrefix = CliRun.Run(work.Path, null, "keys", "remove", Fingerprint("smime", "dave@expired.test")[..16], "--keystore", store);
        var several = CliRun.Run(work.Path, null, "keys", "remove", "carol@both.test", "--keystore", store);
        var tooShort = CliRun.Run(work.Path, null, "keys", "remove", "ABCD", "--keystore", store);
        var after = CliRun.Run(work.Path, null, "keys", "list", "--json", "--keystore", store).Output;

        Assert.Equal((0, 0, 0), (byAddress.ExitCode, byKeyId.ExitCode, byPrefix.ExitCode));
        Assert.Equal(3, several.ExitCode);
        Assert.Equal($"rulemail: carol@both.test names 2 entries: S/MIME {Fingerprint("smime", "carol@both.test")}; PGP {Fingerprint("pgp", "carol@both.test")}; give the fingerprint of one",
            Assert.Single(several.ErrorLines));
        Assert.Equal(2, tooShort.ExitCode);
        Assert.DoesNotContain("alice@customer.test", after, StringComparison.Ordinal);
        Assert.DoesNotContain("bob@partner.test", after, StringComparison.Ordinal);
        Assert.DoesNotContain("dave@expired.test", after, StringComparison.Ordinal);
        Assert.Contains("carol@both.test", after, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_remove_of_an_unknown_fingerprint_exits_3()
    {
        using var work = new TempDirectory("cli-remove-unknown");
        var store = CopyOfSampleStore(work);

        var result = CliRun.Run(work.Path, null, "keys", "remove", new string('A', 64), "--keystore", store);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("no key store entry", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    private static string CopyOfSampleStore(TempDirectory work)
    {
        var source = Path.Combine(CliRun.RepositoryRoot(), "keystore-sample");
        var target = work.File("store");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("source", StringComparison.Ordinal) || relative.StartsWith('.'))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }

        return target;
    }

    private static string Grouped(string fingerprint) =>
        string.Join(' ', Enumerable.Range(0, fingerprint.Length / 4).Select(i => fingerprint.Substring(i * 4, 4)));
}
