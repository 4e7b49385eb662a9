using System.Globalization;
using BenchmarkDotNet.Attributes;
using Jint;
using Jint.Native;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Benchmarks;

/// <summary>
/// Rule evaluation per message: a set of ten YAML rules and a set of ten JavaScript rules over the same
/// small incoming message (its model built once per message, as the host does), beside the peer of the
/// JavaScript rules: bare Jint running the same ten scripts under the same limits.
/// </summary>
/// <remarks>
/// The peer is what a host without RuleMail's sandbox would do at the least: one engine per script (each script
/// defines a global <c>decide</c>), the options and limits RuleMail sets (strict, no CLR, no string compilation,
/// statements, memory, time, recursion, regular expression timeout, stack guard), and the message as a deeply
/// frozen object made once per engine in setup, so its rows are the floor: the calls alone. The second peer row
/// makes that frozen object anew for every message in every engine, as a host must that gives each message its
/// own copy, the plain way (<c>JSON.parse</c> of the model, then a freezing walk).
/// </remarks>
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
    private BareJint _bareJint = null!;

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
        var scripts = Enumerable.Range(0, RulesPerSet).Select(i => File.ReadAllText(Path.Combine(_folder, "js", $"{i:D2}.js"))).ToArray();
        _bareJint = new BareJint(scripts, JavaScriptLimits.Default, _message.Root.ToJsonString());

        // Both sides answer alike, or the comparison says nothing.
        var expected = _javaScript.Evaluate(_message, RuleDirection.Incoming).Trace.Count(r => r.Matched);
        if (_bareJint.Decide() != expected || _bareJint.DecideOnNewCopies() != expected)
        {
            throw new InvalidOperationException("bare Jint and RuleMail disagree on the benchmark message");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bareJint.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark(Description = "10 YAML rules, one message")]
    public RuleDecision Yaml() => _yaml.Evaluate(_message, RuleDirection.Incoming).Decision;

    [Benchmark(Description = "10 JavaScript rules, one message")]
    public RuleDecision JavaScript() => _javaScript.Evaluate(_message, RuleDirection.Incoming).Decision;

    [Benchmark(Description = "peer: bare Jint, same 10 scripts, frozen once")]
    public int BareJintFrozenOnce() => _bareJint.Decide();

    [Benchmark(Description = "peer: bare Jint, same 10 scripts, JSON.parse+freeze per message")]
    public int BareJintNewCopies() => _bareJint.DecideOnNewCopies();

    /// <summary>The peer: ten engines, one script each, the limits of <see cref="JavaScriptLimits"/> as RuleMail sets them.</summary>
    private sealed class BareJint : IDisposable
    {
        private readonly Engine[] _engines;
        private readonly JsValue[] _decide;
        private readonly JsValue[] _frozen;
        private readonly JsValue[] _parseAndFreeze;
        private readonly JsString _json;

        public BareJint(string[] scripts, JavaScriptLimits limits, string messageJson)
        {
            _json = new JsString(messageJson);
            _engines = new Engine[scripts.Length];
            _decide = new JsValue[scripts.Length];
            _frozen = new JsValue[scripts.Length];
            _parseAndFreeze = new JsValue[scripts.Length];
            for (var i = 0; i < scripts.Length; i++)
            {
                var engine = new Engine(options =>
                {
                    options.Strict = true;
                    options.Culture = CultureInfo.InvariantCulture;
                    options.TimeZone = TimeZoneInfo.Utc;
                    options.Interop.Enabled = false;
                    options.DisableStringCompilation();
                    options.TimeoutInterval(limits.Timeout);
                    options.MaxStatements(limits.MaxStatements);
                    options.LimitMemory(limits.MaxMemoryBytes);
                    options.LimitRecursion(limits.MaxRecursionDepth);
                    options.Constraints.RegexTimeout = limits.Timeout;
                    options.Constraints.StackOverflowGuard = true;
                });
                _parseAndFreeze[i] = engine.Evaluate("""
                    (function () {
                      'use strict';
                      const parse = JSON.parse, freeze = Object.freeze, keys = Object.keys;
                      const deepFreeze = (value) => {
                        if (value !== null && typeof value === 'object') {
                          const names = keys(value);
                          for (let k = 0; k < names.length; k++) deepFreeze(value[names[k]]);
                          freeze(value);
                        }
                        return value;
                      };
                      return (json) => deepFreeze(parse(json));
                    })()
                    """);
                engine.Execute(scripts[i]);
                _engines[i] = engine;
                _decide[i] = engine.GetValue("decide");
                _frozen[i] = engine.Call(_parseAndFreeze[i], _json);
            }
        }

        /// <summary>Each script's <c>decide</c> on the object frozen in setup; the number of decisions.</summary>
        public int Decide()
        {
            var decided = 0;
            for (var i = 0; i < _engines.Length; i++)
            {
                decided += Decided(_engines[i].Call(_decide[i], _frozen[i]));
            }

            return decided;
        }

        /// <summary>Each script's <c>decide</c> on a copy of the message parsed and frozen for this call.</summary>
        public int DecideOnNewCopies()
        {
            var decided = 0;
            for (var i = 0; i < _engines.Length; i++)
            {
                var message = _engines[i].Call(_parseAndFreeze[i], _json);
                decided += Decided(_engines[i].Call(_decide[i], message));
            }

            return decided;
        }

        public void Dispose()
        {
            foreach (var engine in _engines)
            {
                engine.Dispose();
            }
        }

        private static int Decided(JsValue value) => value.IsNull() || value.IsUndefined() ? 0 : 1;
    }
}
