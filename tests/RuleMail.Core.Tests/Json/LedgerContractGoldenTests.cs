using System.Text.Json;
using RuleMail.Crypto;
using RuleMail.Json;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Json;

/// <summary>
/// The ledger, retry and rules contracts of the HTTP API (and <c>rulemail retry --json</c>) pinned by golden files,
/// for a message a retry brought back from Quarantine once its signer was known.
/// </summary>
public sealed class LedgerContractGoldenTests
{
    private static readonly DateTimeOffset Seen = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static readonly SecurityResult Unknown = new(SecurityResult.SmimeType, SecurityOutcome.Failed("Unable to find certificate for validation"), null);

    private static readonly SecurityResult Verified = new(
        SecurityResult.SmimeType,
        SecurityOutcome.Succeeded("Signed by stranger@unknown.test") with { Signer = new SignerFacts("stranger@unknown.test", "AB12"), Digest = "sha256", Key = new KeyFacts("rsa", 2048) },
        null);

    private static readonly JsonElement QuarantineDecision = Json("""{"flag":["security-failed"],"move":"Quarantine","tag":["security-failed"],"stop":true}""");

    private static readonly JsonElement NoDecision = Json("{}");

    [Fact]
    public void A_retry_document_has_each_account_each_message_before_and_after_what_was_not_found_and_the_counts() =>
        GoldenFile.AssertMatches("retry-document", ContractJson.Serialize(new RetryDocument(
            [new RetryAccountDocument("demo", "maildir /var/mail/demo", null), new RetryAccountDocument("support", "imap 127.0.0.1:143 (support) INBOX", "the server is down")],
            [
                new RetryMessageDocument(
                    "ZGVtbwBJTkJPWAAxNzY0NDA2ODA3Lk03UDEuZGVtbwA", "demo", "INBOX", "1764406807.M7P1.demo", "Urgent", "stranger@unknown.test", "changed",
                    new BeforeAfter<int?>(1, 2),
                    new BeforeAfter<SecurityResult?>(Unknown, Verified),
                    new BeforeAfter<JsonElement?>(QuarantineDecision, NoDecision),
                    new LedgerLocationDocument("INBOX", "1764406807.M7P1.demo"),
                    ["unflag security-failed: done", "move INBOX: done"],
                    "done",
                    null,
                    null),
                new RetryMessageDocument(
                    "ZGVtbwBJTkJPWAB4AA", "demo", "INBOX", "x", null, null, "skipped",
                    new BeforeAfter<int?>(1, 1),
                    new BeforeAfter<SecurityResult?>(Unknown, null),
                    new BeforeAfter<JsonElement?>(QuarantineDecision, null),
                    new LedgerLocationDocument("Quarantine", null),
                    [],
                    "retry",
                    "the plan of analysis 1 is still being carried out",
                    Seen.AddMinutes(5)),
            ],
            ["no-such-message"],
            new RetrySummaryDocument(1, 1, 0, 1, 1)), indented: true));

    [Fact]
    public void A_ledger_entry_has_the_message_with_its_current_analysis_and_every_analysis_with_its_side_effects()
    {
        var quarantine = new LedgerActionDocument(1, "keyword", "security-failed", "done", 1, null, Seen);
        var back = new LedgerActionDocument(2, "remove_keyword", "security-failed", "done", 1, null, Seen.AddDays(1));
        var message = new LedgerMessageDocument(
            "ZGVtbwBJTkJPWAAxNzY0NDA2ODA3Lk03UDEuZGVtbwA", "demo", "INBOX", "1764406807.M7P1.demo", "<urgent@unknown.test>", "Urgent",
            "stranger@unknown.test", Seen, Seen.AddDays(1), "done", ["signed"], 0, null, null, 2,
            Json(ContractJson.Serialize(Verified)), NoDecision, [], new LedgerLocationDocument("INBOX", "1764406807.M7P1.demo"), [back]);
        GoldenFile.AssertMatches("ledger-entry", ContractJson.Serialize(new LedgerEntryDocument(message,
        [
            new LedgerAnalysisDocument(1, Seen, "fetch", Json(ContractJson.Serialize(Unknown)), QuarantineDecision, ["security-failed"], true, [quarantine]),
            new LedgerAnalysisDocument(2, Seen.AddDays(1), "retry", Json(ContractJson.Serialize(Verified)), NoDecision, [], false, [back]),
        ]), indented: true));
        GoldenFile.AssertMatches("ledger-list", ContractJson.Serialize(new LedgerListDocument([message], message.Id), indented: true));
    }

    [Fact]
    public void Lint_and_dry_run_documents() =>
        GoldenFile.AssertMatches("rules-lint-and-test", ContractJson.Serialize(new RuleLintDocument(false, 1, 1,
            [new RuleLintError("rules/broken.yaml", 5, 19, "unknown operator 'containz'")]), indented: true)
            + "\n" + ContractJson.Serialize(RuleTestDocument.From(RuleDirection.Outgoing, null,
                new RuleEvaluation([], new RuleDecision { Encrypt = Preference.Required }, [])), indented: true));

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
