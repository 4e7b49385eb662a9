using Microsoft.Extensions.Time.Testing;
using MimeKit;
using RuleMail.Composer;
using RuleMail.Crypto;
using RuleMail.Json;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Json;

/// <summary>
/// Every contract of DESIGN.md pinned byte for byte by a golden file (see <see cref="GoldenFile"/> to regenerate),
/// for representative values, in the form its front end prints: indented as <c>--json</c> prints it, compact as the
/// host stores and posts it.
/// </summary>
public sealed class ContractJsonGoldenTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly SecurityResult Verified = new(
        SecurityResult.SmimeType,
        SecurityOutcome.Succeeded("Signed by alice@customer.test (certificate CN=alice@customer.test, O=Customer Ltd)") with
        {
            Signer = new SignerFacts("alice@customer.test", "EE98308EDE39F275262F102CC339CB6B04E4DB5A0D8C2465CBCE88D1C209D455"),
            Digest = "sha256",
            Key = new KeyFacts("rsa", 2048),
        },
        SecurityOutcome.Succeeded("Decrypted with the private key of support@rulemail.test (AES-256-GCM)") with
        {
            Cipher = "aes256-gcm",
            Integrity = Integrity.Aead,
        });

    private static readonly SecurityResult Failed = new(
        SecurityResult.PgpType,
        SecurityOutcome.Failed("Unable to find certificate for validation"),
        SecurityOutcome.Failed("Unable to find private key to decrypt"));

    private static readonly RuleDecision Quarantine = new()
    {
        Flag = ["security-failed"],
        Move = "Quarantine",
        Stop = true,
    };

    /// <summary>Every key of the vocabulary set, with text that needs escaping and two webhooks with settings (signed and including content; a timeout).</summary>
    private static readonly RuleDecision Everything = new()
    {
        Sign = Preference.Preferred,
        Encrypt = Preference.Required,
        SecurityType = RuleMail.Crypto.SecurityType.Pgp,
        Flag = ["security-failed", "needs-review"],
        Move = "Quarantine",
        Tag = ["invoice", "große <Summe>"],
        Header = new Dictionary<string, string> { ["X-Review-Reason"] = "unsigned \"CEO\" mail", ["X-Ticket"] = "a & b" },
        Webhook = ["https://tickets.rulemail.test/hooks/mail?x=1&y=2", "https://slow.rulemail.test/hook"],
        WebhookOptions = new Dictionary<string, WebhookOptions>
        {
            ["https://tickets.rulemail.test/hooks/mail?x=1&y=2"] = new() { SecretEnv = "TICKETS_WEBHOOK_SECRET", Include = WebhookInclude.Text | WebhookInclude.Mime },
            ["https://slow.rulemail.test/hook"] = new() { Timeout = TimeSpan.FromMilliseconds(1500) },
        },
        Notify = ["ops@rulemail.test"],
        Hold = "no certificate for the recipient",
        Stop = true,
    };

    [Fact]
    public void A_verified_and_decrypted_security_result_carries_its_facts() =>
        GoldenFile.AssertMatches("security-result-verified", ContractJson.Serialize(Verified, indented: true));

    [Fact]
    public void A_failed_security_result_has_the_seeds_comments_and_no_facts() =>
        GoldenFile.AssertMatches("security-result-failed", ContractJson.Serialize(Failed, indented: true));

    [Fact]
    public void A_plain_message_has_type_sign_and_encryption_null() =>
        GoldenFile.AssertMatches("security-result-none", ContractJson.Serialize(SecurityResult.None, indented: true));

    [Fact]
    public void Composer_options_for_a_recipient_with_both_types() =>
        GoldenFile.AssertMatches("composer-options", ContractJson.Serialize(
            new ComposerSecurity(SampleStore()).For("support@rulemail.test", ["carol@both.test"]), indented: true));

    [Fact]
    public void Composer_options_for_a_recipient_without_a_key() =>
        GoldenFile.AssertMatches("composer-options-unknown-recipient", ContractJson.Serialize(
            new ComposerSecurity(SampleStore()).For("support@rulemail.test", ["nobody@nowhere.test"]), indented: true));

    [Fact]
    public void The_check_document_has_the_security_result_the_trace_the_decision_and_the_errors()
    {
        var failure = "rules/invoice-review.js: rule 'invoice-review': Error: boom (line 1, column 34)";
        var evaluation = new RuleEvaluation(
            [
                new RuleResult("quarantine-failed-security", "rules/00-quarantine-failed-security.yaml", true, Quarantine, null, ["security.sign.success = false"]),
                new RuleResult("invoice-review", "rules/invoice-review.js", false, null, "Error: boom (line 1, column 34)", []),
                new RuleResult("sign-and-encrypt-when-possible", "rules/50-sign-and-encrypt-when-possible.yaml", false, null, null, []),
            ],
            Quarantine,
            [failure]);

        GoldenFile.AssertMatches("check-document", ContractJson.Serialize(CheckDocument.From(Failed, evaluation), indented: true));
    }

    [Fact]
    public void The_keys_list_shows_the_common_fields_then_each_kinds_own()
    {
        var store = SampleStore();
        KeyEntry Of(KeyKind kind, string? address) =>
            store.Entries.Single(e => e.Kind == kind && (address is null || e.Addresses.Contains(address, StringComparer.Ordinal)));
        KeyListEntry[] entries =
        [
            KeyListEntry.From(Of(KeyKind.Smime, "carol@both.test"), Now),
            KeyListEntry.From(Of(KeyKind.Smime, "erin@revoked.test"), Now),
            KeyListEntry.From(Of(KeyKind.Pgp, "carol@both.test"), Now),
            KeyListEntry.From(Of(KeyKind.Crl, null), Now),
        ];

        GoldenFile.AssertMatches("keys-list", ContractJson.Serialize(new KeyListDocument("keystore-sample", entries), indented: true));
    }

    [Fact]
    public void The_import_answer_lists_each_entry_touched_with_its_file_and_the_seeds_warning()
    {
        var store = SampleStore();
        KeyEntry Of(KeyKind kind, string? address) =>
            store.Entries.Single(e => e.Kind == kind && (address is null || e.Addresses.Contains(address, StringComparer.Ordinal)));
        ImportedEntry[] imported =
        [
            new(Of(KeyKind.Smime, "support@rulemail.test"), ImportChange.Added, "support.p12", "with its private key (encrypted at rest)"),
            new(Of(KeyKind.Pgp, "support@rulemail.test"), ImportChange.Updated, "support.sec.asc", "with its secret keys (protected at rest)"),
            new(Of(KeyKind.Crl, null), ImportChange.Unchanged, "ca.crl", null),
        ];

        GoldenFile.AssertMatches("keys-import", ContractJson.Serialize(KeyImportDocument.From(imported, Now), indented: true));
    }

    [Fact]
    public void The_webhook_payload_summarises_the_message_with_its_security_result_and_decision() =>
        GoldenFile.AssertMatches("webhook-payload", ContractJson.Serialize(Payload(analysis: null)));

    [Fact]
    public void The_webhook_payload_carries_the_analysis_version_last_when_it_is_given() =>
        GoldenFile.AssertMatches("webhook-payload-analysis", ContractJson.Serialize(Payload(analysis: 2)));

    [Fact]
    public void The_webhook_payload_with_include_carries_its_key_the_content_kind_and_the_content_last() =>
        GoldenFile.AssertMatches("webhook-payload-include", ContractJson.Serialize(Payload(analysis: 1, "5f0c8e1d2b3a49786655443322110099", WebhookInclude.Text | WebhookInclude.Html | WebhookInclude.Mime)));

    [Fact]
    public void The_webhook_payload_of_a_bare_plain_message_writes_its_missing_fields_as_null()
    {
        var message = new MimeMessage();
        message.Headers.Remove(HeaderId.Date);
        message.Headers.Remove(HeaderId.MessageId);
        message.From.Add(new MailboxAddress("", "someone@example.org"));
        message.To.Add(new MailboxAddress("", "support@rulemail.test"));
        message.Body = new TextPart("plain") { Text = "hello" };
        var payload = WebhookPayload.Create(
            "support", "INBOX", "1764406801.M1P1", "someone@example.org", new IncomingReport(SecurityResult.None, message), 120, RuleDecision.Empty, []);

        GoldenFile.AssertMatches("webhook-payload-bare", ContractJson.Serialize(payload));
    }

    [Fact]
    public void A_decision_writes_every_key_it_sets_in_the_vocabularys_order() =>
        GoldenFile.AssertMatches("decision", DecisionJson.Serialize(Everything));

    [Fact]
    public void An_empty_decision_is_an_empty_object() =>
        GoldenFile.AssertMatches("decision-empty", DecisionJson.Serialize(RuleDecision.Empty));

    private static WebhookPayload Payload(int? analysis, string? idempotencyKey = null, WebhookInclude include = WebhookInclude.None)
    {
        var message = new MimeMessage { Subject = "Grüße: invoice <42>", MessageId = "m1@customer.test", Date = new DateTimeOffset(2026, 12, 3, 14, 24, 44, TimeSpan.FromHours(1)) };
        message.From.Add(new MailboxAddress("Alice", "alice@customer.test"));
        message.To.Add(new MailboxAddress("Support", "support@rulemail.test"));
        message.Cc.Add(new MailboxAddress("", "bob@partner.test"));
        message.Cc.Add(new MailboxAddress("Carol", "carol@both.test"));
        message.Body = new TextPart("plain") { Text = "hello" };
        return WebhookPayload.Create(
            "support",
            "INBOX",
            "1764406801:42",
            "alice@customer.test",
            new IncomingReport(Verified, message),
            4776,
            Everything,
            ["rules/invoice-review.js: rule 'invoice-review': Error: boom (line 1, column 34)"],
            analysis,
            idempotencyKey,
            include);
    }

    [Fact]
    public void Readiness_with_an_unreachable_account_is_not_ready_and_says_why() =>
        GoldenFile.AssertMatches("readiness", ContractJson.Serialize(new ReadinessDocument(false, new ReadinessChecks(
            new ReadinessCheck(true, "10 entries, 2 with a private key, unlocked"),
            new ReadinessCheck(true, "answers; outbox: 1 held, 0 failed"),
            new ReadinessCheck(true, "2 rules from 2 files; the last edit was refused, keeping these rules: rules/10-vip.yaml:3:7: unknown key 'flagg'"),
            new Dictionary<string, AccountReadiness>
            {
                ["support"] = new(
                    new JobReadiness(false, Scheduled: true, Now, "imap 127.0.0.1:143 (support): Connection refused", Now.AddSeconds(30)),
                    new JobReadiness(true, Scheduled: true, Now.AddSeconds(-5), null, null)),
                ["demo"] = new(new JobReadiness(true, Scheduled: false, null, null, null), null),
            })), indented: true));

    /// <summary>The shipped sample store (its certificates run to 2036), read at a fixed moment.</summary>
    internal static KeyStore SampleStore() =>
        KeyStore.Open(Path.Combine(RepositoryRoot(), "keystore-sample"), new KeyStoreOptions { Time = new FakeTimeProvider(Now) });

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RuleMail.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("RuleMail.sln not found above the test binaries");
    }
}
