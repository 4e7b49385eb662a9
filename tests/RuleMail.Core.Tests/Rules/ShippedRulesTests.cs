using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

/// <summary>The rules in the repository's rules/ folder and its examples: they lint clean and do what they say.</summary>
public sealed class ShippedRulesTests
{
    private static string RulesFolder(params string[] parts)
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RuleMail.sln")))
            {
                return Path.Combine([folder.FullName, "rules", .. parts]);
            }
        }

        throw new InvalidOperationException("RuleMail.sln not found");
    }

    [Fact]
    public void The_shipped_rules_and_examples_lint_clean()
    {
        Assert.Empty(RuleSet.Load(RulesFolder()).Errors);
        Assert.Empty(RuleSet.Load(RulesFolder("examples")).Errors);
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(null, false)]
    public void The_default_policy_quarantines_and_flags_failed_security(bool? signatureGood, bool? decrypted)
    {
        var security = new SecurityResult(
            "S/MIME",
            signatureGood is null ? null : new SecurityOutcome(signatureGood.Value, "x"),
            decrypted is null ? null : new SecurityOutcome(decrypted.Value, "x"));

        var decision = RuleSet.Load(RulesFolder()).Evaluate(RuleFolder.Message(security: security), RuleDirection.Incoming).Decision;

        Assert.Equal("Quarantine", decision.Move);
        Assert.Contains("security-failed", decision.Flag);
    }

    [Fact]
    public void The_default_policy_leaves_good_and_plain_mail_alone_and_signs_and_encrypts_outgoing_mail_when_possible()
    {
        var set = RuleSet.Load(RulesFolder());
        var good = set.Evaluate(RuleFolder.Message(security: new SecurityResult("PGP", SecurityOutcome.Succeeded("ok"), SecurityOutcome.Succeeded("ok"))), RuleDirection.Incoming);
        var plain = set.Evaluate(RuleFolder.Message(security: SecurityResult.None), RuleDirection.Incoming);
        var outgoing = set.Evaluate(RuleFolder.Message(direction: "outgoing"), RuleDirection.Outgoing);

        Assert.Null(good.Decision.Move);
        Assert.Null(plain.Decision.Move);
        Assert.Equal(Preference.Preferred, outgoing.Decision.Sign);
        Assert.Equal(Preference.Preferred, outgoing.Decision.Encrypt);
    }

    [Fact]
    public void The_finance_example_requires_encryption_for_the_finance_domain_only()
    {
        var set = RuleSet.Load(RulesFolder("examples"));

        var finance = set.Evaluate(RuleFolder.Message(to: "ap@finance.example", direction: "outgoing"), RuleDirection.Outgoing);
        var other = set.Evaluate(RuleFolder.Message(to: "someone@else.example", direction: "outgoing"), RuleDirection.Outgoing);

        Assert.Equal(Preference.Required, finance.Decision.Encrypt);
        Assert.Null(other.Decision.Encrypt);
    }

    [Fact]
    public void The_ceo_example_flags_unsigned_mail_from_the_ceo_only()
    {
        var set = RuleSet.Load(RulesFolder("examples"));

        var unsigned = set.Evaluate(RuleFolder.Message(from: "ceo@rulemail.test", security: SecurityResult.None), RuleDirection.Incoming);
        var signed = set.Evaluate(RuleFolder.Message(from: "ceo@rulemail.test", security: new SecurityResult("S/MIME", SecurityOutcome.Succeeded("ok"), null)), RuleDirection.Incoming);

        Assert.Contains("needs-review", unsigned.Decision.Flag);
        Assert.Empty(signed.Decision.Flag);
    }

    [Fact]
    public void The_javascript_example_sends_unsigned_external_invoices_and_large_amounts_to_review()
    {
        var set = RuleSet.Load(RulesFolder("examples"));

        var unsigned = set.Evaluate(RuleFolder.Message(attachment: ("Invoice-2026-11.pdf", "application/pdf"), security: SecurityResult.None), RuleDirection.Incoming);
        var large = set.Evaluate(RuleFolder.Message(from: "billing@rulemail.test", text: "Total: 12.500,00 EUR", attachment: ("rechnung.pdf", "application/pdf"),
            security: new SecurityResult("S/MIME", SecurityOutcome.Succeeded("ok"), null)), RuleDirection.Incoming);
        var small = set.Evaluate(RuleFolder.Message(from: "billing@rulemail.test", text: "Total: 120,00 EUR", attachment: ("rechnung.pdf", "application/pdf"),
            security: new SecurityResult("S/MIME", SecurityOutcome.Succeeded("ok"), null)), RuleDirection.Incoming);

        Assert.Contains("invoice-review", unsigned.Decision.Flag);
        Assert.Contains("unsigned-invoice", unsigned.Decision.Tag);
        Assert.Equal(["https://tickets.rulemail.test/hooks/finance"], unsigned.Decision.Webhook);
        Assert.Contains("large-amount", large.Decision.Tag);
        Assert.Empty(small.Decision.Flag);
        Assert.Equal(["invoice"], small.Decision.Tag);
        Assert.Empty(unsigned.Errors);
    }
}
