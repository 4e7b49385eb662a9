using System.Diagnostics;
using RuleMail.Crypto;
using RuleMail.Rules;
using Xunit.Abstractions;

namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// Many evaluations in a row, each checked: pooled engines give every message its own answer. The rate goes
/// to the test output for information only (meaningful in a Release build); tests/RuleMail.Benchmarks
/// measures it properly.
/// </summary>
public sealed class JavaScriptThroughputTests(ITestOutputHelper output)
{
    [Fact]
    public void Sixty_thousand_evaluations_in_a_row_each_answer_for_their_own_message()
    {
        var rule = JavaScriptScripts.Compile("""
            function decide(message) {
              if (message.direction === 'incoming' && message.security && message.security.sign.success === false) {
                return { flag: 'security-failed', move: 'Quarantine' };
              }
              return message.from.domain === 'customer.example' ? { tag: 'customer' } : null;
            }
            """);
        RuleMessage[] messages =
        [
            RuleFolder.Message(security: new SecurityResult("S/MIME", SecurityOutcome.Failed("bad signature"), null)),
            RuleFolder.Message(),
            RuleFolder.Message(from: "someone@elsewhere.example"),
        ];

        // Long enough for .NET's tiered compiler to reach optimised code, or the rate says little.
        const int Count = 60_000;
        for (var i = 0; i < Count; i++)
        {
            rule.Evaluate(messages[i % 3]);
        }

        var watch = Stopwatch.StartNew();
        var moved = 0;
        var tagged = 0;
        var unmatched = 0;
        for (var i = 0; i < Count; i++)
        {
            var result = rule.Evaluate(messages[i % 3]);
            switch (i % 3)
            {
                case 0 when result.Decision?.Move == "Quarantine":
                    moved++;
                    break;
                case 1 when result.Decision?.Tag is ["customer"]:
                    tagged++;
                    break;
                case 2 when !result.Matched && result.Error is null:
                    unmatched++;
                    break;
                default:
                    Assert.Fail($"evaluation {i} gave {result}");
                    break;
            }
        }

        watch.Stop();
        output.WriteLine($"{Count / watch.Elapsed.TotalSeconds:N0} evaluations/s on one thread ({watch.Elapsed.TotalMicroseconds / Count:N1} µs each)");
        Assert.Equal((20_000, 20_000, 20_000), (moved, tagged, unmatched));
    }
}
