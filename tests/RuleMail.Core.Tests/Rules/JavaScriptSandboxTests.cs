using System.Diagnostics;
using RuleMail.Rules;
using Xunit.Abstractions;

namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// Hostile scripts: each is stopped and reported in its rule's result, never thrown out of Evaluate, and the
/// same rule and another rule in the same process still work afterwards.
/// </summary>
public sealed class JavaScriptSandboxTests(ITestOutputHelper output)
{
    private static readonly JavaScriptRule Good = JavaScriptScripts.Compile("function decide(message) { return { tag: message.subject }; }", "rules/good.js");

    /// <summary>
    /// The default limits with a time limit that cannot come first on a busy test machine, for tests that
    /// expect another limit: a statement limit takes some 30 ms to reach, the time limit is 200 ms.
    /// </summary>
    private static readonly JavaScriptLimits SlowMachine = new() { Timeout = TimeSpan.FromSeconds(10) };

    private RuleResult RunHostile(string body, JavaScriptLimits? limits = null)
    {
        var rule = JavaScriptScripts.Compile($"function decide(message) {{\n  {body}\n}}\n", "rules/hostile.js", limits);
        var message = RuleFolder.Message(subject: "first");
        var before = message.Root.ToJsonString();

        var watch = Stopwatch.StartNew();
        var result = rule.Evaluate(message);
        output.WriteLine($"stopped after {watch.ElapsedMilliseconds} ms: {result.Error}");

        Assert.Equal("hostile", result.Name);
        Assert.False(result.Matched);
        Assert.Null(result.Decision);
        Assert.NotNull(result.Error);
        Assert.DoesNotContain('\n', result.Error);
        Assert.Equal(before, message.Root.ToJsonString());

        // The engine that failed was thrown away: the rule fails the same way again rather than misbehaving.
        var again = rule.Evaluate(RuleFolder.Message(subject: "second"));
        Assert.False(again.Matched);
        Assert.NotNull(again.Error);

        Assert.Equal(["still working"], Good.Evaluate(RuleFolder.Message(subject: "still working")).Decision?.Tag);
        return result;
    }

    [Fact]
    public void An_endless_loop_hits_the_statement_limit()
    {
        var result = RunHostile("while (true) {}", SlowMachine);

        Assert.Equal("statement limit reached: ran more than 100,000 statements", result.Error);
    }

    [Fact]
    public void An_endless_loop_under_a_large_statement_budget_hits_the_time_limit()
    {
        var result = RunHostile("while (true) {}", new JavaScriptLimits { MaxStatements = 1_000_000_000 });

        Assert.Equal("time limit reached: ran longer than 200 ms", result.Error);
    }

    [Fact]
    public void Deep_recursion_hits_the_recursion_limit()
    {
        var result = RunHostile("function down(n) { return down(n + 1) + 1; }\n  return down(0);", SlowMachine);

        Assert.Equal("recursion limit reached: calls nested deeper than 64", result.Error);
    }

    [Theory]
    [InlineData("const o = { get x() { return this.x; } };\n  return o.x;")]
    [InlineData("function F() { return new F(); }\n  return new F();")]
    [InlineData("const o = { valueOf() { return +o; } };\n  return +o;")]
    public void Recursion_the_depth_limit_does_not_count_meets_the_stack_guard(string body)
    {
        var result = RunHostile(body, SlowMachine with { MaxRecursionDepth = 1_000_000, MaxStatements = 100_000_000 });

        Assert.StartsWith("stack limit reached: RangeError: Maximum call stack size exceeded", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("let s = 'x';\n  for (;;) s += s;")]
    [InlineData("const a = [];\n  for (;;) a.push(new Array(1000).fill(a.length));")]
    [InlineData("const o = {};\n  for (let i = 0; ; i++) o['k' + i] = { i };")]
    public void A_memory_bomb_hits_the_memory_limit(string body)
    {
        var result = RunHostile(body, SlowMachine);

        Assert.Equal("memory limit reached: allocated more than 4,194,304 bytes", result.Error);
    }

    [Theory]
    [InlineData("return { tag: 'x'.repeat(2 ** 28) };", "RangeError: repeat would make 268435456 characters")]
    [InlineData("return { tag: String(new Array(1e8).toReversed().length) };", "RangeError: Array.prototype.toReversed over 100000000 elements")]
    [InlineData("return { tag: String(new Array(1e8).toSorted().length) };", "RangeError: Array.prototype.toSorted over 100000000 elements")]
    [InlineData("return { tag: String(new Array(1e8).with(0, 1).length) };", "RangeError: Array.prototype.with over 100000000 elements")]
    [InlineData("return { tag: String([].concat(new Array(1e9)).length) };", "RangeError: Array.prototype.concat over 1000000000 elements")]
    [InlineData("const a = [];\n  a.length = 2 ** 32 - 1;\n  return { tag: String(a.map(x => 1).length) };", "RangeError: Array.prototype.map over 4294967295 elements")]
    [InlineData("const a = [];\n  a.length = 2 ** 32 - 1;\n  return { tag: String(a.slice().length) };", "RangeError: Array.prototype.slice over 4294967295 elements")]
    [InlineData("return { tag: String(Math.max.apply(null, new Array(1e8))) };", "RangeError: Function.prototype.apply over 100000000 elements")]
    [InlineData("return { tag: String(Math.max(...new Array(1e8))) };", "RangeError: iterating an array over 100000000 elements")]
    [InlineData("return { tag: String([...new Array(1e8)].length) };", "RangeError: iterating an array over 100000000 elements")]
    [InlineData("return { tag: String(Reflect.apply(Math.max, null, { length: 1e8 })) };", "limit reached")]
    [InlineData("return { tag: String(Array.prototype.slice.call({ length: 1e9 }).length) };", "limit reached")]
    [InlineData("return { tag: String('a'.repeat(1e6).replace(/(?:)/g, 'b'.repeat(1000)).length) };", "limit reached")]
    [InlineData("return { tag: String('a'.repeat(1e6).replaceAll(/(?:)/g, '$&$&$&$&$&$&$&$&').length) };", "limit reached")]
    [InlineData("return { tag: String(new Uint8Array(5e8).fill(7).length) };", "ReferenceError: Uint8Array is not defined")]
    [InlineData("return { tag: String(new ArrayBuffer(1e9).byteLength) };", "ReferenceError: ArrayBuffer is not defined")]
    public void A_single_call_that_would_allocate_hugely_is_refused(string body, string expected)
    {
        var result = RunHostile(body);

        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_inside_the_sandbox_s_wrappers_points_at_the_rule_s_line()
    {
        var result = RunHostile("const width = 2 ** 28;\n  return { tag: '-'.repeat(width) };");

        Assert.Equal("RangeError: repeat would make 268435456 characters; a rule may make at most 2097152 at once (line 3, column 17)", result.Error);
    }

    [Theory]
    [InlineData("Object.defineProperty(Error.prototype, 'stack', { get() { while (true) {} } });")]
    [InlineData("Object.defineProperty(Error.prototype, 'stack', { get() { throw new Error('no stack for you'); } });")]
    [InlineData("Object.defineProperty(RangeError.prototype, 'name', { get() { while (true) {} } });")]
    [InlineData("Object.defineProperty(Error.prototype, 'message', { get() { while (true) {} } });")]
    public void A_getter_planted_on_errors_runs_under_the_limits_and_the_failure_is_still_reported(string plant)
    {
        // Jint reads an error's stack and message while the error leaves the script, so a planted getter runs
        // then, inside the call and its limits; the sandbox itself reads neither afterwards.
        var result = RunHostile(plant + "\n  return { tag: 'x'.repeat(2 ** 28) };");

        Assert.Matches("repeat would make 268435456 characters|limit reached", result.Error);
    }

    [Fact]
    public void Catastrophic_regex_backtracking_hits_the_time_limit()
    {
        var result = RunHostile("return /^(a+)+$/.test('a'.repeat(40) + 'b') ? { tag: 'x' } : null;");

        Assert.Equal("time limit reached: a regular expression ran longer than 200 ms", result.Error);
    }

    [Theory]
    [InlineData("return importNamespace('System.IO');", "ReferenceError: importNamespace is not defined")]
    [InlineData("return System.IO.File.ReadAllText('/etc/passwd');", "ReferenceError: System is not defined")]
    [InlineData("return require('fs');", "ReferenceError: require is not defined")]
    [InlineData("return process.env;", "ReferenceError: process is not defined")]
    [InlineData("return globalThis.constructor.constructor('return process')();", "String compilation has been disabled")]
    [InlineData("return message.constructor.constructor('return this')();", "String compilation has been disabled")]
    [InlineData("return this.constructor.constructor('return process')();", "TypeError: Cannot read property 'constructor' of undefined")]
    [InlineData("return eval('1');", "String compilation has been disabled")]
    [InlineData("return (0, eval)('1');", "String compilation has been disabled")]
    [InlineData("return new Function('return 1')();", "String compilation has been disabled")]
    [InlineData("return Object.getPrototypeOf(async function () {}).constructor('return 1')();", "String compilation has been disabled")]
    [InlineData("return Object.getPrototypeOf(function* () {}).constructor('yield 1')().next();", "String compilation has been disabled")]
    [InlineData("return new ShadowRealm().evaluate('1');", "ReferenceError: ShadowRealm is not defined")]
    [InlineData("return new Proxy({}, {});", "ReferenceError: Proxy is not defined")]
    [InlineData("return import('fs');", "Module loading has been disabled")]
    public void Reaching_for_the_host_fails(string body, string expected)
    {
        var result = RunHostile(body);

        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_global_object_holds_only_standard_javascript()
    {
        var rule = JavaScriptScripts.Compile("function decide(message) { return { tag: Object.getOwnPropertyNames(globalThis).filter(n => n !== 'decide') }; }");

        var names = rule.Evaluate(RuleFolder.Message()).Decision?.Tag;

        string[] standard =
        [
            "Infinity", "NaN", "undefined", "globalThis", "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent",
            "escape", "unescape", "isFinite", "isNaN", "parseFloat", "parseInt", "eval", "toString", "AggregateError", "Array",
            "AsyncDisposableStack", "AsyncIterator", "BigInt", "Boolean", "Date", "DisposableStack", "Error", "EvalError",
            "Function", "Generator", "Intl", "Iterator", "JSON", "Map", "Math", "Number", "Object", "Promise", "RangeError",
            "ReferenceError", "Reflect", "RegExp", "Set", "String", "SuppressedError", "Symbol", "SyntaxError", "Temporal",
            "TypeError", "URIError", "WeakMap", "WeakSet",
        ];
        Assert.NotNull(names);
        Assert.Empty(names.Except(standard, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("message.subject = 'x';", "TypeError: Cannot assign to read only property 'subject'")]
    [InlineData("message.to.push({ address: 'eve@evil.example' });", "TypeError: ")]
    [InlineData("delete message.from;", "TypeError: Cannot delete property 'from'")]
    [InlineData("message.to[0].address = 'eve@evil.example';", "TypeError: Cannot assign to read only property 'address'")]
    [InlineData("message.to.length = 0;", "TypeError: ")]
    [InlineData("message.security = null;", "TypeError: Cannot assign to read only property 'security'")]
    [InlineData("message.headers['x-added'] = '1';", "TypeError: ")]
    [InlineData("message.verdict = 'spam';", "TypeError: ")]
    [InlineData("Object.defineProperty(message, 'subject', { value: 'x' });", "TypeError: ")]
    [InlineData("Object.setPrototypeOf(message, { subject: 'x' });", "TypeError: ")]
    [InlineData("message.to.fill(null);", "TypeError: ")]
    [InlineData("message.to.splice(0, 1);", "TypeError: ")]
    public void Changing_the_message_throws_and_the_model_is_unchanged(string change, string expected)
    {
        // RunHostile checks that RuleMessage.Root is the same before and after.
        var result = RunHostile(change + "\n  return { tag: 'changed' };");

        Assert.StartsWith(expected, result.Error, StringComparison.Ordinal);
        Assert.Matches(@"\(line 2, column \d+\)$", result.Error);
    }

    [Fact]
    public void The_message_is_frozen_all_the_way_down()
    {
        var rule = JavaScriptScripts.Compile("""
            function decide(message) {
              const open = [];
              (function walk(value, path) {
                if (value === null || typeof value !== 'object') return;
                if (!Object.isFrozen(value)) open.push(path);
                for (const key of Object.keys(value)) walk(value[key], path + '.' + key);
              })(message, 'message');
              return { tag: open.length === 0 ? ['all frozen'] : open };
            }
            """);

        var result = rule.Evaluate(RuleFolder.Message(cc: "carol@customer.example", attachment: ("a.pdf", "application/pdf"), security: new("PGP", new(true, "ok"), new(false, "no key"))));

        Assert.Equal(["all frozen"], result.Decision?.Tag);
    }

    [Fact]
    public void A_script_that_catches_its_own_limit_errors_is_still_stopped()
    {
        var result = RunHostile("for (;;) { try { while (true) {} } catch (e) { } }", SlowMachine);

        Assert.Equal("statement limit reached: ran more than 100,000 statements", result.Error);
    }

    [Fact]
    public void A_thrown_object_with_a_hostile_message_getter_is_stopped_too()
    {
        var result = RunHostile("throw { get message() { while (true) {} } };", SlowMachine);

        Assert.Equal("statement limit reached: ran more than 100,000 statements", result.Error);
    }
}
