using BenchmarkDotNet.Attributes;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Benchmarks;

/// <summary>
/// Rule evaluation per message: a set of ten YAML rules and a set of ten JavaScript rules over the same
/// small incoming message (its model built once per message, as the host does).
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet cleans up through [GlobalCleanup], not IDisposable.
public class RuleBenchmarks
#pragma warning restore CA1001
{
    /// <summary>Rules per set, so that evaluations per second = messages per second × this.</summary>
    public const int RulesPerSet = 10;

    private string _folder = null!;
    private RuleSet _yaml = null!;
    private RuleSet _javaScript = null!;
    private RuleMessage _message = null!;

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), $"rulemail-bench-rules-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(_folder, "yaml"));
        Directory.CreateDirectory(Path.Combine(_folder, "js"));
        for (var i = 0; i < RulesPerSet; i++)
        {
            File.WriteAllText(Path.Combine(_folder, "yaml", $"{i:D2}.yaml"), $$"""
                rules:
                  - name: rule-{{i}}
                    on: incoming
                    when:
                      any:
                        - security.sign.success: false
                        - all:
                            - from: {domain: partner{{i}}.example}
                            - subject: {matches: '^\[ticket #\d+\]'}
                        - to.domain: finance{{i}}.example
                    then: {flag: review-{{i}}, tag: rule-{{i}}}
                """);
            File.WriteAllText(Path.Combine(_folder, "js", $"{i:D2}.js"), $$"""
                function decide(message) {
                  if (message.security && message.security.sign && message.security.sign.success === false) {
                    return { flag: "review-{{i}}", tag: "rule-{{i}}" };
                  }
                  if (message.from && message.from.domain === "partner{{i}}.example" && /^\[ticket #\d+\]/.test(message.subject)) {
                    return { flag: "review-{{i}}" };
                  }
                  return message.to.some(function (a) { return a.domain === "finance{{i}}.example"; }) ? { tag: "finance" } : null;
                }
                """);
        }

        _yaml = RuleSet.Load(Path.Combine(_folder, "yaml"));
        _javaScript = RuleSet.Load(Path.Combine(_folder, "js"));
        if (_yaml.Errors.Count > 0 || _javaScript.Errors.Count > 0 || _javaScript.RuleCount != RulesPerSet)
        {
            throw new InvalidOperationException($"benchmark rules do not load: {string.Join("; ", _yaml.Errors.Concat(_javaScript.Errors))}");
        }

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("Alice <alice@customer.example>"));
        message.To.Add(MailboxAddress.Parse("support@rulemail.test"));
        message.Subject = "[ticket #4711] order did not arrive";
        message.Body = new TextPart("plain") { Text = "Hello, my order 4711 did not arrive. Regards, Alice" };
        _message = RuleMessage.From(message, new SecurityResult("S/MIME", SecurityOutcome.Succeeded("Signed by alice"), null), "incoming", "support@rulemail.test", 900);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark(Description = "10 YAML rules, one message")]
    public RuleDecision Yaml() => _yaml.Evaluate(_message, RuleDirection.Incoming).Decision;

    [Benchmark(Description = "10 JavaScript rules, one message")]
    public RuleDecision JavaScript() => _javaScript.Evaluate(_message, RuleDirection.Incoming).Decision;
}
