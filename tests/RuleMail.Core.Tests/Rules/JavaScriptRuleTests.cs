using System.Text.Json.Nodes;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

public sealed class JavaScriptRuleTests
{
    private static readonly SecurityResult FailedSignature = new("S/MIME", SecurityOutcome.Failed("certificate not found"), null);

    [Fact]
    public void A_rule_is_named_after_its_file_and_applies_in_both_directions()
    {
        var rule = JavaScriptScripts.Compile("function decide(message) { return null; }", "rules/40-finance.js");

        Assert.Equal("40-finance", rule.Name);
        Assert.Equal("rules/40-finance.js", rule.File);
        Assert.Equal(RuleDirection.Both, rule.On);
        Assert.True(rule.Enabled);
    }

    [Fact]
    public void Every_decision_key_comes_through_from_javascript()
    {
        var rule = JavaScriptScripts.Compile("""
            function decide(message) {
              return {
                sign: 'required',
                encrypt: 'preferred',
                security_type: 'pgp',
                flag: ['security-failed', 'review'],
                move: 'Quarantine',
                tag: 'finance',
                header: { 'X-Checked': 'yes', 'X-Score': 3 },
                webhook: 'https://hooks.example/mail',
                notify: ['Admin@Example.org'],
                hold: 'signature failed',
                stop: true,
              };
            }
            """);

        var result = rule.Evaluate(RuleFolder.Message());

        Assert.Null(result.Error);
        Assert.True(result.Matched);
        var decision = Assert.IsType<RuleDecision>(result.Decision);
        Assert.Equal(Preference.Required, decision.Sign);
        Assert.Equal(Preference.Preferred, decision.Encrypt);
        Assert.Equal(RuleMail.Crypto.SecurityType.Pgp, decision.SecurityType);
        Assert.Equal(["security-failed", "review"], decision.Flag);
        Assert.Equal("Quarantine", decision.Move);
        Assert.Equal(["finance"], decision.Tag);
        Assert.Equal(new Dictionary<string, string> { ["X-Checked"] = "yes", ["X-Score"] = "3" }, decision.Header);
        Assert.Equal(["https://hooks.example/mail"], decision.Webhook);
        Assert.Equal(["admin@example.org"], decision.Notify);
        Assert.Equal("signature failed", decision.Hold);
        Assert.True(decision.Stop);
        Assert.Equal(["decide() returned a decision"], result.Because);
    }

    [Fact]
    public void The_script_decides_from_the_message()
    {
        var rule = JavaScriptScripts.Compile("""
            function decide(message) {
              if (message.direction === 'incoming' && message.security && message.security.sign.success === false) {
                return { flag: 'security-failed', move: 'Quarantine' };
              }
              return message.to.some(a => a.domain === 'finance.example') ? { encrypt: 'required' } : null;
            }
            """);

        var quarantined = rule.Evaluate(RuleFolder.Message(security: FailedSignature));
        var finance = rule.Evaluate(RuleFolder.Message(to: "cfo@finance.example", direction: "outgoing"));
        var other = rule.Evaluate(RuleFolder.Message());

        Assert.Equal("Quarantine", quarantined.Decision?.Move);
        Assert.Equal(Preference.Required, finance.Decision?.Encrypt);
        Assert.False(other.Matched);
        Assert.Null(other.Error);
    }

    [Theory]
    [InlineData("return null;")]
    [InlineData("return undefined;")]
    [InlineData("return;")]
    [InlineData("")]
    public void Null_or_undefined_means_no_match(string body)
    {
        var rule = JavaScriptScripts.Compile($"function decide(message) {{ {body} }}");

        var result = rule.Evaluate(RuleFolder.Message());

        Assert.False(result.Matched);
        Assert.Null(result.Decision);
        Assert.Null(result.Error);
        Assert.Empty(result.Because);
    }

    [Fact]
    public void An_empty_object_matches_with_an_empty_decision_and_undefined_keys_are_left_out()
    {
        var rule = JavaScriptScripts.Compile("function decide(message) { return { move: undefined, tag: message.subject.includes('nothing') ? 'x' : undefined }; }");

        var result = rule.Evaluate(RuleFolder.Message());

        Assert.True(result.Matched);
        Assert.True(result.Decision?.IsEmpty);
    }

    [Fact]
    public void Decide_may_be_a_const_arrow_function()
    {
        var rule = JavaScriptScripts.Compile("const decide = (message) => ({ tag: message.from.domain });");

        Assert.Equal(["customer.example"], rule.Evaluate(RuleFolder.Message()).Decision?.Tag);
    }

    [Fact]
    public void The_script_sees_the_whole_message_model_as_plain_values()
    {
        var rule = JavaScriptScripts.Compile("function decide(message) { return { header: { 'X-Model': JSON.stringify(message) } }; }");
        var message = RuleFolder.Message(cc: "carol@customer.example", security: FailedSignature, attachment: ("invoice.pdf", "application/pdf"));

        var result = rule.Evaluate(message);

        Assert.Null(result.Error);
        var model = JsonNode.Parse(result.Decision!.Header["X-Model"]);
        Assert.True(JsonNode.DeepEquals(message.Root, model), $"script saw {model}\nmodel is {message.Root}");
    }

    [Fact]
    public void Text_numbers_and_booleans_keep_their_javascript_types()
    {
        var rule = JavaScriptScripts.Compile("""
            function decide(m) {
              const types = [typeof m.size, typeof m.subject, typeof m.security.sign.success, m.security.encryption === null,
                Array.isArray(m.to), Array.isArray(m.attachments), typeof m.headers['x-mailer']];
              return { tag: types.map(String) };
            }
            """);

        var result = rule.Evaluate(RuleFolder.Message(security: FailedSignature));

        Assert.Equal(["number", "string", "boolean", "true", "true", "true", "string"], result.Decision?.Tag);
    }

    [Fact]
    public void Header_names_that_mean_something_to_javascript_are_plain_values_of_the_message()
    {
        var mail = MimeKit.MimeMessage.Load(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(
            "From: mallory@evil.example\r\nTo: bob@example.org\r\nSubject: hi\r\n__proto__: polluted\r\nconstructor: ctor\r\n"
            + "toString: str\r\n0: zero\r\nhasOwnProperty: own\r\n\r\nbody\r\n")));
        var message = RuleMessage.From(mail, null, "incoming", "bob@example.org");
        var rule = JavaScriptScripts.Compile("""
            function decide(message) {
              const h = message.headers;
              return { tag: [h['__proto__'], h.constructor, h.tostring, h[0], h.hasownproperty, String(Object.getPrototypeOf(h) === Object.prototype),
                String(({}).polluted), Object.keys(h).join(' ')] };
            }
            """);

        var result = rule.Evaluate(message);

        Assert.True(result.Error is null, result.Error);
        Assert.Equal(["polluted", "ctor", "str", "zero", "own", "true", "undefined", "0 from to subject __proto__ constructor tostring hasownproperty"], result.Decision?.Tag);
    }

    [Theory]
    [InlineData("return { flag: 'has space' };", "flag: 'has space' is not an IMAP keyword")]
    [InlineData("return { sign: 'always' };", "sign: expected required, preferred or never")]
    [InlineData("return { colour: 'red' };", "unknown decision 'colour'")]
    [InlineData("return { stop: 1 };", "stop takes true or false")]
    [InlineData("return { move: null };", "move: expected a folder name (text), not nothing")]
    [InlineData("return { move: ['a'] };", "not a list")]
    [InlineData("return { header: 'X-A: 1' };", "header takes a map")]
    [InlineData("return { tag: [['nested']] };", "not a list")]
    [InlineData("return { tag: () => 'x' };", "a function")]
    [InlineData("return { get move() { return 'Inbox'; } };", "a getter")]
    [InlineData("const o = { tag: 'a' }; o.header = o; return o;", "header")]
    [InlineData("const a = []; a[5000] = 'x'; return { tag: a };", "a list of 5001 items")]
    public void A_bad_decision_is_an_error_not_a_match(string body, string expected)
    {
        var rule = JavaScriptScripts.Compile($"function decide(message) {{ {body} }}");

        var result = rule.Evaluate(RuleFolder.Message());

        Assert.False(result.Matched);
        Assert.Null(result.Decision);
        Assert.StartsWith("decide() returned a bad decision: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', result.Error!);
    }

    [Theory]
    [InlineData("return 'tag';", "not a text")]
    [InlineData("return 42;", "not the number 42")]
    [InlineData("return false;", "not false")]
    [InlineData("return ['flag'];", "not an array")]
    [InlineData("return decide;", "not a function")]
    [InlineData("return new Date(0);", "not an object that is not a plain object")]
    [InlineData("return 10n;", "not a BigInt")]
    public void A_value_that_is_not_a_decision_object_is_an_error(string body, string expected)
    {
        var rule = JavaScriptScripts.Compile($"function decide(message) {{ {body} }}");

        var result = rule.Evaluate(RuleFolder.Message());

        Assert.False(result.Matched);
        Assert.Equal($"decide() must return a decision object, null or undefined, {expected}", result.Error);
    }

    [Fact]
    public void A_syntax_error_is_reported_at_load_with_line_and_column()
    {
        var ok = JavaScriptRule.TryCompile("rules/broken.js", "function decide(message) {\n  return {\n    flag: 'x',,\n  };\n}\n", out var rule, out var error);

        Assert.False(ok);
        Assert.Null(rule);
        Assert.NotNull(error);
        Assert.Equal("rules/broken.js", error.File);
        Assert.Equal(3, error.Line);
        Assert.Equal(15, error.Column);
        Assert.Equal("rules/broken.js:3:15: Unexpected token ','", error.ToString());
    }

    [Fact]
    public void Sloppy_mode_syntax_is_a_load_error_because_rules_are_strict()
    {
        var ok = JavaScriptRule.TryCompile("rules/with.js", "function decide(message) {\n  with (message) { return null; }\n}\n", out _, out var error);

        Assert.False(ok);
        Assert.Equal("rules/with.js:2:3: Strict mode code may not include a with statement", error?.ToString());
    }

    [Theory]
    [InlineData("function decid(message) { return null; }")]
    [InlineData("const decide = { tag: 'x' };")]
    [InlineData("// nothing here\n")]
    public void A_script_without_a_decide_function_is_a_load_error(string source)
    {
        var ok = JavaScriptRule.TryCompile("rules/nodecide.js", source, out var rule, out var error);

        Assert.False(ok);
        Assert.Null(rule);
        Assert.Equal("rules/nodecide.js: no decide function: a JavaScript rule defines function decide(message)", error?.ToString());
    }

    [Fact]
    public void A_script_whose_top_level_throws_is_a_load_error_at_the_throw()
    {
        var ok = JavaScriptRule.TryCompile("rules/top.js", "const limit = 10;\nthrow new Error('not configured');\nfunction decide(m) { return null; }\n", out _, out var error);

        Assert.False(ok);
        Assert.Equal("rules/top.js:2:7: the script's top level failed: Error: not configured", error?.ToString());
    }

    [Fact]
    public void A_script_whose_top_level_never_ends_is_a_load_error_naming_the_limit()
    {
        var ok = JavaScriptRule.TryCompile("rules/spin.js", "for (;;) {}\nfunction decide(m) { return null; }\n", out _, out var error);

        Assert.False(ok);
        Assert.Equal("rules/spin.js: the script's top level failed: statement limit reached: ran more than 100,000 statements", error?.ToString());
    }

    [Fact]
    public void Setting_up_may_take_longer_than_a_call_may()
    {
        var limits = new JavaScriptLimits { Timeout = TimeSpan.FromMilliseconds(20), MaxStatements = 100_000_000, MaxMemoryBytes = 1L << 30 };
        var busy = "const start = Date.now();\nwhile (Date.now() - start < 100) {}\n";

        var rule = JavaScriptScripts.Compile(busy + "function decide(message) { return { tag: 'ready' }; }", limits: limits);
        var slow = JavaScriptScripts.Compile("function decide(message) {\n" + busy + "return null;\n}\n", limits: limits);

        Assert.Equal(["ready"], rule.Evaluate(RuleFolder.Message()).Decision?.Tag);
        Assert.Equal("time limit reached: ran longer than 20 ms", slow.Evaluate(RuleFolder.Message()).Error);
    }

    [Fact]
    public void A_rule_that_fails_on_every_message_still_loads_and_reports_each_failure()
    {
        var rule = JavaScriptScripts.Compile("function decide(message) {\n  throw new Error('not today');\n}\n");

        Assert.Equal("Error: not today (line 2, column 9)", rule.Evaluate(RuleFolder.Message()).Error);
    }

    [Fact]
    public void TryLoad_reads_the_file_and_names_the_rule_after_the_display_name()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rulemail-js-{Guid.NewGuid():N}.js");
        File.WriteAllText(path, "function decide(message) { return { tag: 'loaded' }; }\n");
        try
        {
            Assert.True(JavaScriptRule.TryLoad(path, "rules/10-loaded.js", out var rule, out var error));
            Assert.Null(error);
            Assert.Equal("10-loaded", rule.Name);
            Assert.Equal(["loaded"], rule.Evaluate(RuleFolder.Message()).Decision?.Tag);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_script_that_throws_is_reported_with_its_message_and_line()
    {
        var rule = JavaScriptScripts.Compile("function decide(message) {\n  const x = null;\n  return { tag: x.name };\n}\n");

        var result = rule.Evaluate(RuleFolder.Message());

        Assert.False(result.Matched);
        Assert.Equal("TypeError: Cannot read properties of null (reading 'name') (line 3, column 19)", result.Error);
    }

    [Fact]
    public void A_thrown_error_of_the_script_s_own_is_reported_and_the_next_call_still_works()
    {
        var rule = JavaScriptScripts.Compile("""
            function decide(message) {
              if (message.subject === 'boom') throw new RangeError('subject is boom');
              return { tag: 'fine' };
            }
            """);

        var failed = rule.Evaluate(RuleFolder.Message(subject: "boom"));
        var fine = rule.Evaluate(RuleFolder.Message());

        Assert.Equal("RangeError: subject is boom (line 2, column 41)", failed.Error);
        Assert.Equal(["fine"], fine.Decision?.Tag);
    }

    [Fact]
    public void A_thrown_string_is_reported_as_it_is()
    {
        var rule = JavaScriptScripts.Compile("function decide(message) {\n  throw 'no ' + 'way';\n}\n");

        Assert.Equal("no way (line 2, column 9)", rule.Evaluate(RuleFolder.Message()).Error);
    }

    [Fact]
    public void Limits_that_Jint_would_silently_ignore_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => JavaScriptRule.TryCompile("r.js", "function decide(m) {}", out _, out _, new JavaScriptLimits { MaxStatements = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => JavaScriptRule.TryCompile("r.js", "function decide(m) {}", out _, out _, new JavaScriptLimits { MaxMemoryBytes = long.MaxValue }));
        Assert.Throws<ArgumentOutOfRangeException>(() => JavaScriptRule.TryCompile("r.js", "function decide(m) {}", out _, out _, new JavaScriptLimits { Timeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => JavaScriptRule.TryCompile("r.js", "function decide(m) {}", out _, out _, new JavaScriptLimits { MaxRecursionDepth = -1 }));
    }
}

/// <summary>Compiles test scripts, failing the test with the load error when one does not load.</summary>
internal static class JavaScriptScripts
{
    public static JavaScriptRule Compile(string source, string file = "rules/test.js", JavaScriptLimits? limits = null)
    {
        Assert.True(JavaScriptRule.TryCompile(file, source, out var rule, out var error, limits), error?.ToString());
        return rule;
    }
}
