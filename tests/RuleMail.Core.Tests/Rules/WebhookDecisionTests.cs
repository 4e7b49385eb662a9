using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// <c>webhook</c> takes a plain URL (as before), a map <c>{url, timeout}</c>, or a list of either, in YAML and in
/// JavaScript; a bad or unknown setting is a load error at its own line and column.
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
    [InlineData("{url: https://t.example/h, secret_env: X}", 4, 43, "unknown webhook setting 'secret_env' (known: url, timeout)")]
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

    public void Dispose() => _rules.Dispose();
}
