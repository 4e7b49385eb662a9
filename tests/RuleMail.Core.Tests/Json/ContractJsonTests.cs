using RuleMail.Composer;
using RuleMail.Crypto;
using RuleMail.Json;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Json;

/// <summary>What the contract module promises beside the exact bytes: it reads back what it writes, refuses what is not a contract, and its comparisons are exact.</summary>
public sealed class ContractJsonTests
{
    private static readonly string Golden = Path.Combine(AppContext.BaseDirectory, "Json", "Golden");

    [Fact]
    public void A_stored_security_result_reads_back_equal()
    {
        var verified = ContractJson.Deserialize<SecurityResult>(File.ReadAllText(Path.Combine(Golden, "security-result-verified.json")));

        Assert.NotNull(verified);
        Assert.Equal(new SignerFacts("alice@customer.test", "EE98308EDE39F275262F102CC339CB6B04E4DB5A0D8C2465CBCE88D1C209D455"), verified.Sign?.Signer);
        Assert.Equal(Integrity.Aead, verified.Encryption?.Integrity);
        Assert.Equal(SecurityResult.None, ContractJson.Deserialize<SecurityResult>(File.ReadAllText(Path.Combine(Golden, "security-result-none.json"))));
    }

    [Theory]
    [InlineData("composer-options", true)]
    [InlineData("check-document", true)]
    [InlineData("webhook-payload", false)]
    [InlineData("webhook-payload-analysis", false)]
    [InlineData("webhook-payload-bare", false)]
    [InlineData("decision", false)]
    public void Each_contract_read_back_is_written_again_to_the_same_bytes(string name, bool indented)
    {
        var json = File.ReadAllText(Path.Combine(Golden, name + ".json")).TrimEnd('\n');

        var again = name switch
        {
            "composer-options" => ContractJson.Serialize(ContractJson.Deserialize<SecurityOptions>(json), indented),
            "check-document" => ContractJson.Serialize(ContractJson.Deserialize<CheckDocument>(json), indented),
            "decision" => ContractJson.Serialize(ContractJson.Deserialize<DecisionDocument>(json), indented),
            _ => ContractJson.Serialize(ContractJson.Deserialize<WebhookPayload>(json), indented),
        };

        Assert.Equal(json, again.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void A_type_that_is_not_a_contract_is_refused_instead_of_written_by_reflection()
    {
        Assert.Throws<NotSupportedException>(() => ContractJson.Serialize(new Dictionary<string, object> { ["x"] = 1 }));
        Assert.Throws<NotSupportedException>(() => ContractJson.Serialize(new Uri("https://example.org")));
        Assert.Throws<NotSupportedException>(() => ContractJson.Deserialize<Dictionary<string, string>>("{}"));
    }

    [Fact]
    public void The_decision_map_for_untyped_documents_writes_the_same_bytes_as_the_decision_document()
    {
        var decision = new RuleDecision
        {
            Sign = Preference.Never,
            Tag = ["t"],
            Header = new Dictionary<string, string> { ["X-A"] = "ü & <b>" },
            Webhook = ["https://a.test/h", "https://b.test/h"],
            WebhookOptions = new Dictionary<string, WebhookOptions> { ["https://a.test/h"] = new() { Timeout = TimeSpan.FromSeconds(20) } },
            Stop = true,
        };

        Assert.Equal(DecisionJson.Serialize(decision), ContractJson.SerializeDocument(DecisionJson.Decision(decision)));
        Assert.Equal(
            """{"sign":"never","tag":["t"],"header":{"X-A":"ü & <b>"},"webhook":[{"url":"https://a.test/h","timeout":"20s"},"https://b.test/h"],"stop":true}""",
            DecisionJson.Serialize(decision));
        Assert.Equal("sign never; tag t; header X-A: ü & <b>; webhook https://a.test/h (timeout 20s), https://b.test/h; stop", DecisionJson.Describe(decision));
        Assert.Equal("nothing", DecisionJson.Describe(RuleDecision.Empty));
    }

    [Theory]
    [InlineData("""{"success":true,"comment":"x"}""", """{"comment":"x","success":true}""")]
    [InlineData("""{"success":true,"comment":"x"}""", """{"success":true,"message":"x"}""")]
    [InlineData("""{"success":true,"comment":"x"}""", """{"success":true}""")]
    [InlineData("""{"success":true,"comment":"x"}""", """{"success":true,"comment":"x","cipher":null}""")]
    [InlineData("{\n  \"a\": 1\n}", "{\n    \"a\": 1\n}")]
    public void A_golden_comparison_fails_on_a_reordered_renamed_dropped_added_field_or_other_whitespace(string golden, string actual)
    {
        Assert.NotNull(GoldenFile.Difference(golden, actual));
        Assert.Null(GoldenFile.Difference(golden, golden));
    }
}
