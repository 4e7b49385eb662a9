using System.Text.Json;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary><c>rulemail check</c> and <c>rulemail options</c> on the sample store, with messages openssl makes from the sample's source keys.</summary>
public sealed class CheckAndOptionsCommandTests : IDisposable
{
    private const string SamplePassphrase = "rulemail-sample-only";
    private readonly TempDirectory _work = new("cli-check");
    private readonly string _root = CliRun.RepositoryRoot();
    private readonly OpenSsl _openssl;

    public CheckAndOptionsCommandTests()
    {
        _openssl = new OpenSsl(_work.Path);
        _openssl.Write("body.txt", "Content-Type: text/plain\r\n\r\nHello from Alice, marker 5f3a\r\n");
    }

    private string Source(string name) => Path.Combine(_root, "keystore-sample", "source", name);

    private string Message(string name, string from, string mime)
    {
        File.WriteAllText(_work.File(name), $"From: {from}\r\nTo: support@rulemail.test\r\nSubject: check test\r\n{mime}");
        return _work.File(name);
    }

    [Fact]
    public void Check_json_reports_a_signed_and_encrypted_smime_message_as_verified_and_decrypted_and_writes_the_plaintext()
    {
        _openssl.Run("smime", "-sign", "-in", "body.txt", "-signer", Source("alice.crt"), "-inkey", Source("alice.key"),
            "-passin", $"pass:{SamplePassphrase}", "-out", "signed.txt");
        _openssl.Run("smime", "-encrypt", "-aes256", "-in", "signed.txt", "-out", "encrypted.txt", Source("support.crt"));
        var message = Message("in.eml", "alice@customer.test", File.ReadAllText(_work.File("encrypted.txt")));

        var result = CliRun.Run(_root, null, "check", message, "--json", "--out", _work.File("out.eml"));

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var security = json.RootElement.GetProperty("security");
        Assert.Equal("S/MIME", security.GetProperty("type").GetString());
        Assert.True(security.GetProperty("sign").GetProperty("success").GetBoolean());
        Assert.True(security.GetProperty("encryption").GetProperty("success").GetBoolean());
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("rules").ValueKind);
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("errors").ValueKind);
        Assert.Contains("marker 5f3a", File.ReadAllText(_work.File("out.eml")), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_prints_the_seed_texts_for_a_message_encrypted_to_someone_else()
    {
        _openssl.Run("smime", "-encrypt", "-aes256", "-in", "body.txt", "-out", "encrypted.txt", Source("alice.crt"));
        var message = Message("in.eml", "carol@both.test", File.ReadAllText(_work.File("encrypted.txt")));

        var result = CliRun.Run(_root, null, "check", message);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("This message can not be decrypted. Unable to find private key to decrypt", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_of_an_unsigned_message_says_so_and_of_a_missing_file_exits_3()
    {
        var message = Message("plain.eml", "alice@customer.test", "Content-Type: text/plain\r\n\r\nplain\r\n");

        var plain = CliRun.Run(_root, null, "check", message);
        var missing = CliRun.Run(_root, null, "check", _work.File("nope.eml"));

        Assert.Equal(0, plain.ExitCode);
        Assert.Contains("neither signed nor encrypted", plain.Output, StringComparison.Ordinal);
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains("nope.eml", Assert.Single(missing.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Options_json_follows_the_contract_for_a_recipient_with_both_types()
    {
        var result = CliRun.Run(_root, null, "options", "--from", "support@rulemail.test", "--to", "carol@both.test", "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var root = json.RootElement;
        foreach (var type in new[] { "smime", "pgp" })
        {
            foreach (var what in new[] { "sign", "encryption" })
            {
                Assert.True(root.GetProperty(type).GetProperty(what).GetProperty("possible").GetBoolean());
                Assert.False(string.IsNullOrEmpty(root.GetProperty(type).GetProperty(what).GetProperty("message").GetString()));
            }
        }

        Assert.Equal("S/MIME", root.GetProperty("type").GetString());
        Assert.True(root.GetProperty("switch").GetBoolean());
        Assert.True(root.GetProperty("sign").GetProperty("enabled").GetBoolean());
        Assert.True(root.GetProperty("encrypt").GetProperty("active").GetBoolean());
        Assert.Equal("This message will be encrypted.", root.GetProperty("encrypt").GetProperty("tooltip").GetString());
    }

    [Fact]
    public void Options_json_has_the_contracts_fields_in_order_and_an_empty_bcc_list_when_there_is_no_bcc()
    {
        var result = CliRun.Run(_root, null, "options", "--from", "support@rulemail.test", "--to", "carol@both.test", "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        // decided_by: the shipped rule prefers both protections, so the rule that decided is named after the contract's fields.
        Assert.Equal(["smime", "pgp", "type", "switch", "sign", "encrypt", "bcc", "decided_by"], json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("sign-and-encrypt-when-possible", json.RootElement.GetProperty("decided_by").GetProperty("encrypt").GetProperty("rule").GetString());
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("bcc").ValueKind);
        Assert.Equal(0, json.RootElement.GetProperty("bcc").GetArrayLength());
    }

    [Fact]
    public void A_bcc_option_is_written_as_address_possible_and_message()
    {
        var store = RuleMail.Keys.KeyStore.Open(Path.Combine(_root, "keystore-sample"), new RuleMail.Keys.KeyStoreOptions());
        var options = new RuleMail.Composer.ComposerSecurity(store).For("support@rulemail.test", ["carol@both.test"], ["Dave <DAVE@expired.test>"]);

        using var json = JsonDocument.Parse(RuleMail.Json.ContractJson.Serialize(options));

        var bcc = Assert.Single(json.RootElement.GetProperty("bcc").EnumerateArray());
        Assert.Equal(["address", "possible", "message"], bcc.EnumerateObject().Select(p => p.Name));
        Assert.Equal("dave@expired.test", bcc.GetProperty("address").GetString());
        Assert.False(bcc.GetProperty("possible").GetBoolean());
        Assert.Equal("The certificate for dave@expired.test was found, but has expired.", bcc.GetProperty("message").GetString());
    }

    [Fact]
    public void Options_for_an_expired_recipient_disables_encrypt_with_the_reason()
    {
        var result = CliRun.Run(_root, null, "options", "--from", "support@rulemail.test", "--to", "dave@expired.test");

        Assert.Equal(0, result.ExitCode);
        var encrypt = result.Output.Split('\n').Single(l => l.StartsWith("🔒 Encrypt", StringComparison.Ordinal));
        Assert.Contains("disabled", encrypt, StringComparison.Ordinal);
        Assert.Contains("The certificate for dave@expired.test was found, but has expired.", encrypt, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_dash_reads_the_message_from_standard_input_with_the_same_answer_as_the_file_and_leaves_no_copy()
    {
        _openssl.Run("smime", "-sign", "-in", "body.txt", "-signer", Source("alice.crt"), "-inkey", Source("alice.key"),
            "-passin", $"pass:{SamplePassphrase}", "-out", "signed.txt");
        _openssl.Run("smime", "-encrypt", "-aes256", "-in", "signed.txt", "-out", "encrypted.txt", Source("support.crt"));
        var message = Message("in.eml", "alice@customer.test", File.ReadAllText(_work.File("encrypted.txt")));
        static string[] Spools() => Directory.GetDirectories(Path.GetTempPath(), "rulemail-stdin-*");
        var before = Spools();

        var fromFile = CliRun.Run(_root, null, "check", message, "--json");
        var fromStdin = CliRun.RunWithInput(_root, null, File.ReadAllBytes(message), "check", "-", "--json", "--out", _work.File("out.eml"));

        Assert.Equal((0, string.Empty), (fromStdin.ExitCode, fromStdin.Error));
        Assert.Equal(fromFile.Output, fromStdin.Output);
        Assert.Contains("marker 5f3a", File.ReadAllText(_work.File("out.eml")), StringComparison.Ordinal);
        Assert.Empty(Spools().Except(before));
    }

    [Theory]
    [InlineData("--type")]
    [InlineData("--bogus")]
    public void Options_with_an_option_it_does_not_have_names_that_option_not_a_bad_address(string option)
    {
        var result = CliRun.Run(_root, null, "options", "--from", "support@rulemail.test", "--to", "carol@both.test", option, "pgp");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"rulemail: unknown option {option} after --to", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void Options_without_from_is_a_usage_error()
    {
        var result = CliRun.Run(_root, null, "options", "--to", "carol@both.test");

        Assert.Equal(2, result.ExitCode);
    }

    public void Dispose() => _work.Dispose();
}
