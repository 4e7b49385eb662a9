using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// <c>webhook</c> takes a plain URL (as before), a map <c>{url, secret_env, include, timeout}</c>, or a list of either,
/// in YAML and in JavaScript; a bad or unknown setting is a load error at its own line and column (in JavaScript, an
/// error of the rule when it returns it).
/// </summary>
public sealed class WebhookDecisionTests : IDisposable
{
    private readonly RuleFolder _rules = new();

    [Fact]
    public void A_map_gives_the_url_and_its_timeout_and_plain_urls_keep_the_default()
    {
        _rules.With("r.yaml", """
            rules:
              - name: hooks
                then:
                  webhook:
                    - https://fast.example/hook
                    - {url: https://slow.example/hook, timeout: 30s}
                    - {url: https://quick.example/hook, timeout: 1500ms}
            """);

        var set = _rules.Load();
        var decision = set.Evaluate(RuleFolder.Message(), RuleDirection.Incoming).Decision;

        Assert.Empty(set.Errors);
        Assert.Equal(["https://fast.example/hook", "https://slow.example/hook", "https://quick.example/hook"], decision.Webhook);
        Assert.False(decision.WebhookOptions.ContainsKey("https://fast.example/hook"));
        Assert.Equal(TimeSpan.FromSeconds(30), decision.WebhookOptions["https://slow.example/hook"].Timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), decision.WebhookOptions["https://quick.example/hook"].Timeout);
        Assert.Equal("webhook https://fast.example/hook, https://slow.example/hook (timeout 30s), https://quick.example/hook (timeout 1500ms)", DecisionJson.Describe(decision));
        var json = System.Text.Json.JsonSerializer.Serialize(DecisionJson.Decision(decision));
        Assert.Equal("""{"webhook":["https://fast.example/hook",{"url":"https://slow.example/hook","timeout":"30s"},{"url":"https://quick.example/hook","timeout":"1500ms"}]}""", json);
    }

    [Fact]
    public void Plain_urls_stay_a_list_of_strings_in_the_json()
    {
        _rules.With("r.yaml", "rules:\n  - name: hook\n    then:\n      webhook: https://t.example/h\n");

        var decision = _rules.Load().Evaluate(RuleFolder.Message(), RuleDirection.Incoming).Decision;

        Assert.Equal("""{"webhook":["https://t.example/h"]}""", System.Text.Json.JsonSerializer.Serialize(DecisionJson.Decision(decision)));
    }

    [Theory]
    [InlineData("{url: https://t.example/h, retries: 3}", 4, 43, "unknown webhook setting 'retries' (known: url, secret_env, include, timeout)")]
    [InlineData("{url: https://t.example/h, secret_env: 'not a name'}", 4, 43, "secret_env names the environment variable that holds the secret")]
    [InlineData("{url: https://t.example/h, secret_env: 9LIVES}", 4, 43, "secret_env names the environment variable")]
    [InlineData("{url: https://t.example/h, secret_env: [A, B]}", 4, 43, "secret_env names the environment variable")]
    [InlineData("{url: https://t.example/h, include: [text, pdf]}", 4, 43, "include takes text, html and mime, not 'pdf'")]
    [InlineData("{url: https://t.example/h, include: {text: true}}", 4, 43, "expected text or a list of texts, not a map")]
    [InlineData("{url: 'http://t.example/h', include: text}", 4, 44, "include sends the message's content: use an https URL (or a loopback address), not http://t.example")]
    [InlineData("{url: https://t.example/h, timeout: soon}", 4, 43, "timeout takes a duration such as 10s, 500ms or 2m, not 'soon'")]
    [InlineData("{url: https://t.example/h, timeout: 10}", 4, 43, "timeout takes a duration")]
    [InlineData("{url: https://t.example/h, timeout: 50ms}", 4, 43, "timeout 50ms is out of bounds")]
    [InlineData("{url: https://t.example/h, timeout: 10m}", 4, 43, "timeout 10m is out of bounds")]
    [InlineData("{url: 'ftp://t.example/h'}", 4, 17, "is not an http(s) URL")]
    [InlineData("{timeout: 10s}", 4, 16, "a webhook map needs its url")]
    public void A_bad_webhook_map_is_a_load_error_at_its_key(string value, int line, int column, string message)
    {
        _rules.With("r.yaml", $"rules:\n  - name: hook\n    then:\n      webhook: {value}\n");

        var error = Assert.Single(_rules.Load().Errors);

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal((line, column), (error.Line, error.Column));
    }

    [Fact]
    public void A_map_gives_the_secrets_variable_and_what_to_include_and_the_json_names_them_but_holds_no_secret()
    {
        _rules.With("r.yaml", """
            rules:
              - name: tickets
                then:
                  webhook:
                    - {url: https://tickets.example/hook, secret_env: TICKETS_SECRET, include: [mime, text, html], timeout: 20s}
                    - {url: 'http://127.0.0.1:9000/hook', include: text}
                    - {url: https://signed.example/hook, secret_env: SIGNED_SECRET}
            """);

        var set = _rules.Load();
        var decision = set.Evaluate(RuleFolder.Message(), RuleDirection.Incoming).Decision;

        Assert.Empty(set.Errors);
        var tickets = decision.WebhookOptions["https://tickets.example/hook"];
        Assert.Equal("TICKETS_SECRET", tickets.SecretEnv);
        Assert.Equal(WebhookInclude.Text | WebhookInclude.Html | WebhookInclude.Mime, tickets.Include);
        Assert.Equal(TimeSpan.FromSeconds(20), tickets.Timeout);
        Assert.Equal(WebhookInclude.Text, decision.WebhookOptions["http://127.0.0.1:9000/hook"].Include);
        Assert.Null(decision.WebhookOptions["http://127.0.0.1:9000/hook"].SecretEnv);
        Assert.Equal("SIGNED_SECRET", decision.WebhookOptions["https://signed.example/hook"].SecretEnv);
        Assert.Equal(
            """{"webhook":[{"url":"https://tickets.example/hook","timeout":"20s","secret_env":"TICKETS_SECRET","include":["text","html","mime"]},{"url":"http://127.0.0.1:9000/hook","include":["text"]},{"url":"https://signed.example/hook","secret_env":"SIGNED_SECRET"}]}""",
            DecisionJson.Serialize(decision));
        Assert.Equal(DecisionJson.Serialize(decision), System.Text.Json.JsonSerializer.Serialize(DecisionJson.Decision(decision)));
        Assert.Equal(
            "webhook https://tickets.example/hook (timeout 20s, signed, include text, html, mime), http://127.0.0.1:9000/hook (include text), https://signed.example/hook (signed)",
            DecisionJson.Describe(decision));
    }

    [Fact]
    public void A_stored_decision_reads_back_with_its_webhook_settings()
    {
        _rules.With("r.yaml", "rules:\n  - name: hook\n    then:\n      webhook: {url: https://t.example/h, secret_env: S, include: [html]}\n");
        var decision = _rules.Load().Evaluate(RuleFolder.Message(), RuleDirection.Incoming).Decision;

        var stored = RuleMail.Json.ContractJson.Deserialize<RuleMail.Json.DecisionDocument>(DecisionJson.Serialize(decision))!;

        Assert.Equal(new RuleMail.Json.WebhookTarget("https://t.example/h", null, "S", WebhookInclude.Html), Assert.Single(stored.Webhook!));
    }

    [Fact]
    public void A_value_that_is_no_variable_name_is_refused_without_being_repeated()
    {
        _rules.With("r.yaml", "rules:\n  - name: hook\n    then:\n      webhook: {url: https://t.example/h, secret_env: 'hunter2 is my secret'}\n");

        var error = Assert.Single(_rules.Load().Errors);

        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Several_rules_naming_one_url_keep_the_first_rules_settings()
    {
        _rules.With("a.yaml", "rules:\n  - name: first\n    then:\n      webhook: {url: https://t.example/h, timeout: 20s}\n");
        _rules.With("b.yaml", "rules:\n  - name: second\n    then:\n      webhook: {url: https://t.example/h, timeout: 2s}\n");

        var decision = _rules.Load().Evaluate(RuleFolder.Message(), RuleDirection.Incoming).Decision;

        Assert.Equal(["https://t.example/h"], decision.Webhook);
        Assert.Equal(TimeSpan.FromSeconds(20), decision.WebhookOptions["https://t.example/h"].Timeout);
    }

    [Fact]
    public void A_javascript_rule_returns_a_webhook_map_or_is_reported_for_a_bad_one()
    {
        _rules.With("a.js", "function decide(message) { return { webhook: [{ url: 'https://t.example/h', timeout: '20s' }, 'https://u.example/h'] }; }");
        _rules.With("b.js", "function decide(message) { return { webhook: { url: 'https://v.example/h', retries: 3 } }; }");

        var set = _rules.Load();
        var evaluation = set.Evaluate(RuleFolder.Message(), RuleDirection.Incoming);

        Assert.Empty(set.Errors);
        Assert.Equal(["https://t.example/h", "https://u.example/h"], evaluation.Decision.Webhook);
        Assert.Equal(TimeSpan.FromSeconds(20), evaluation.Decision.WebhookOptions["https://t.example/h"].Timeout);
        var failed = Assert.Single(evaluation.Errors);
        Assert.Contains("webhook.retries: unknown webhook setting 'retries'", failed, StringComparison.Ordinal);
    }

    [Fact]
    public void A_javascript_rule_gives_the_same_settings_in_a_list_of_maps_and_is_reported_for_bad_ones()
    {
        _rules.With("a.js", "function decide(message) { return { webhook: [{ url: 'https://t.example/h', secret_env: 'HOOK_SECRET', include: ['text', 'mime'] }] }; }");
        _rules.With("b.js", "function decide(message) { return { webhook: { url: 'https://v.example/h', include: ['text', 'pdf'] } }; }");
        _rules.With("c.js", "function decide(message) { return { webhook: { url: 'https://w.example/h', secret_env: 'hunter2 value' } }; }");

        var set = _rules.Load();
        var evaluation = set.Evaluate(RuleFolder.Message(), RuleDirection.Incoming);

        Assert.Empty(set.Errors);
        Assert.Equal(["https://t.example/h"], evaluation.Decision.Webhook);
        var options = evaluation.Decision.WebhookOptions["https://t.example/h"];
        Assert.Equal("HOOK_SECRET", options.SecretEnv);
        Assert.Equal(WebhookInclude.Text | WebhookInclude.Mime, options.Include);
        Assert.Equal(2, evaluation.Errors.Count);
        Assert.Contains(evaluation.Errors, e => e.Contains("webhook.include: include takes text, html and mime, not 'pdf'", StringComparison.Ordinal));
        Assert.Contains(evaluation.Errors, e => e.Contains("webhook.secret_env: secret_env names the environment variable", StringComparison.Ordinal)
                                                && !e.Contains("hunter2", StringComparison.Ordinal));
    }

    public void Dispose() => _rules.Dispose();
}
