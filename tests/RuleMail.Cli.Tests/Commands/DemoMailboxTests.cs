using System.Text.Json;
using RuleMail.Cli.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary>
/// The demo Maildir (keystore-sample/mailbox) shows every status of the seed: check each message against
/// the sample store and the shipped rules, so the demo never drifts from what RuleMail really does.
/// </summary>
public sealed class DemoMailboxTests
{
    private const string CertificateNotFound = "Unable to find certificate for validation";
    private const string PrivateKeyNotFound = "Unable to find private key to decrypt";
    private static readonly string[] Outcomes = ["sign", "encryption"];

    [Theory]
    [InlineData("plain", null, null, null, null)]
    [InlineData("smime-signed", "S/MIME", true, null, "Signed by alice@customer.test")]
    [InlineData("smime-tampered", "S/MIME", false, null, "changed after it was signed")]
    [InlineData("smime-not-sender", "S/MIME", false, null, "not signed by its sender")]
    [InlineData("smime-expired-signer", "S/MIME", false, null, "expired on 2021-01-01")]
    [InlineData("smime-revoked-signer", "S/MIME", false, null, "was revoked on")]
    [InlineData("smime-unknown-signer", "S/MIME", false, null, CertificateNotFound)]
    [InlineData("smime-signed-encrypted", "S/MIME", true, true, "Signed by carol@both.test")]
    [InlineData("smime-encrypted-other", "S/MIME", null, false, PrivateKeyNotFound)]
    [InlineData("pgp-signed-encrypted", "PGP", true, true, "Signed by bob@partner.test")]
    [InlineData("pgp-clearsigned", "PGP", true, null, "Signed by bob@partner.test")]
    [InlineData("pgp-no-mdc", "PGP", null, false, "without integrity protection")]
    [InlineData("pgp-unknown-signer", "PGP", false, null, CertificateNotFound)]
    public void Every_demo_message_shows_its_status(string name, string? type, bool? signature, bool? encryption, string? comment)
    {
        var root = CliRun.RepositoryRoot();
        // After `rulemail run` the message may sit in cur/ or .Quarantine/ with Maildir flags (":2,a") on its name.
        var file = Directory.GetFiles(Path.Combine(root, "keystore-sample", "mailbox"), "*", SearchOption.AllDirectories)
            .Single(f => Path.GetFileName(f).Split(':')[0].EndsWith($".demo-{name}", StringComparison.Ordinal));

        var result = CliRun.Run(root, null, "check", file, "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var security = json.RootElement.GetProperty("security");
        Assert.Equal(type, security.GetProperty("type").GetString());
        Assert.Equal(signature, Success(security.GetProperty("sign")));
        Assert.Equal(encryption, Success(security.GetProperty("encryption")));
        if (comment is not null)
        {
            var comments = string.Join(" | ", Outcomes
                .Select(k => security.GetProperty(k))
                .Where(o => o.ValueKind == JsonValueKind.Object)
                .Select(o => o.GetProperty("comment").GetString()));
            Assert.Contains(comment, comments, StringComparison.Ordinal);
        }

        var quarantined = json.RootElement.GetProperty("decision").TryGetProperty("move", out var move) && move.GetString() == "Quarantine";
        Assert.Equal(signature == false || encryption == false, quarantined);
    }

    private static bool? Success(JsonElement outcome) =>
        outcome.ValueKind == JsonValueKind.Null ? null : outcome.GetProperty("success").GetBoolean();
}
