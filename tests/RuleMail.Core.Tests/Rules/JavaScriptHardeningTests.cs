using System.Text.Json.Nodes;
using Jint;

namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// The sandbox wraps some built-ins to bound their work (see JavaScriptHardening). Ordinary uses must give
/// exactly what Jint's own built-ins give: each case runs in a rule and in a plain Jint engine, and the
/// results (or the kind of error) must agree.
/// </summary>
public sealed class JavaScriptHardeningTests
{
    public static TheoryData<string> Cases => new()
    {
        // String replacement under a regular expression, expanded by the sandbox's own substitution.
        "'abcabc'.replace(/b/g, '[$&]')",
        "'abc'.replace(/(b)/, '$1$1')",
        "'abc'.replace(/b/, \"$'\")",
        "'abc'.replace(/b/, '$`')",
        "'abc'.replace(/b/, '$$')",
        "'abc'.replace(/b/, '$')",
        "'abc'.replace(/c/, 'x$')",
        "'abc'.replace(/b/, '$x$')",
        "'abc'.replace(/(?<x>b)/, '[$<x>]')",
        "'abc'.replace(/b/, '[$<x>]')",
        "'abc'.replace(/(?<x>b)/, '[$<x]')",
        "'abc'.replace(/(?<x>b)|(?<y>z)/, '[$<y>]')",
        "'abcdefghijkl'.replace(/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)/, '$11-$10-$1-$01-$00-$0-$99-$100-$12')",
        "'abc'.replace(/(b)/, '$2-$01-$10')",
        "'x'.replace(/(y)?x/, '[$1]')",
        "'aaa'.replace(/a/g, 'b')",
        "'aaa'.replaceAll(/a/g, '$&$&')",
        "'a-b-c'.replace(/-/g, { toString() { return '+'; } })",
        "'abc'.replace(/b/g, (m, offset, text) => m.toUpperCase() + offset + text)",
        "'abc'.replace('b', '$&$&')",
        "'2026-11-29'.replace(/(\\d+)-(\\d+)-(\\d+)/, '$3.$2.$1')",
        "'Re: Fwd: hello'.replace(/^((re|fwd):\\s*)+/i, '')",
        "/b/g[Symbol.replace]('abcb', '<$&>')",

        // repeat
        "'ab'.repeat(3)",
        "''.repeat(0)",
        "'x'.repeat(2.7)",
        "'x'.repeat('2')",
        "'x'.repeat(-1)",
        "'x'.repeat(Infinity)",
        "''.repeat(Infinity)",
        "String.prototype.repeat.call(null, 1)",
        "String.prototype.repeat.call(12, 2)",

        // arrays
        "[1, 2, 3].slice(1)",
        "[1, 2, 3].slice(-2, -1)",
        "[3, 1, 2].toSorted()",
        "[3, 1, 2].toSorted((a, b) => b - a)",
        "[1, 2, 3].toReversed()",
        "[1, 2, 3].with(1, 9)",
        "[1, 2, 3].with(5, 9)",
        "[1, 2, 3].map((x, i, all) => x * 2 + i + all.length)",
        "[1, [2], 3].concat(4, [5, [6]], 'x')",
        "[, 1].concat([2, , 3]).length",
        "Object.keys([, 1].concat([2, , 3]))",
        "Array.prototype.concat.call(1, 2)",
        "[1].concat({ length: 2, 0: 'a', 1: 'b', [Symbol.isConcatSpreadable]: true })",
        "[].concat()",
        "Array.prototype.slice.call('abc')",
        "Array.prototype.map.call('abc', c => c + c)",
        "Array.prototype.slice.call({ length: 2, 0: 'a', 1: 'b' })",
        "(function () { return Array.prototype.slice.call(arguments, 1); })(1, 2, 3)",
        "Array.prototype.slice.call(null)",
        "Array.prototype.concat.call(undefined)",

        // iteration: spread, for-of, destructuring
        "[...[1, 2, 3]]",
        "Math.max(...[1, 5, 2])",
        "(() => { const [a, , b, ...rest] = [1, 2, 3, 4, 5]; return [a, b, rest]; })()",
        "(() => { let n = 0; for (const x of [1, 2, 3]) n += x; return n; })()",
        "Array.from([1, 2], x => x * 2)",
        "[...new Set([1, 1, 2])]",
        "new Map([[1, 2]]).size",
        "Object.fromEntries([['a', 1]])",
        "[...'héllo']",
        "[...[1, 2].entries()]",
        "[...[1, 2].keys()]",
        "[...Array.prototype.values.call({ length: 2, 0: 'a', 1: 'b' })]",
        "(function () { return [...arguments]; })(1, 2)",
        "(() => { class A extends Array {} return [...A.of(1, 2)]; })()",
        "Array.prototype[Symbol.iterator] === Array.prototype.values",
        "Array.prototype.values.call(null)",

        // apply and construct
        "Math.max.apply(null, [1, 5, 3])",
        "Math.max.apply(null)",
        "Math.max.apply(null, 5)",
        "(function () { return Math.max.apply(null, arguments); })(4, 9)",
        "Reflect.apply(Math.min, null, [4, 2])",
        "Reflect.apply(Math.min, null)",
        "Reflect.construct(Date, [0]).getTime()",
        "(() => { class A { constructor() { this.n = new.target.name; } } class B {} return Reflect.construct(A, [], B).n; })()",
        "[Math.max.apply.name, Reflect.apply.name, [].slice.name, ''.repeat.name, RegExp.prototype[Symbol.replace].name, [].values.name]",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void An_ordinary_use_of_a_wrapped_built_in_gives_what_Jint_gives(string expression)
    {
        var script = $$"""
            function decide(message) {
              let result;
              try { result = JSON.stringify({ value: {{expression}} }); } catch (e) { result = JSON.stringify({ threw: e.name }); }
              return { header: { 'X-Result': result } };
            }
            """;
        var plain = new Engine(options => options.Strict = true);
        plain.Execute(script);
        var expected = JsonNode.Parse(plain.Evaluate("decide({})").AsObject().Get("header").AsObject().Get("X-Result").ToString()) ?? "null";

        var result = JavaScriptScripts.Compile(script).Evaluate(RuleFolder.Message());

        Assert.Null(result.Error);
        var actual = JsonNode.Parse(result.Decision!.Header["X-Result"]) ?? "null";
        Assert.Equal(expected.ToJsonString(), actual.ToJsonString());
    }

    [Fact]
    public void The_wrappers_survive_a_script_that_replaces_call_apply_and_globals()
    {
        var rule = JavaScriptScripts.Compile("""
            Function.prototype.call = function () { throw new Error('call was used'); };
            Reflect.apply = function () { throw new Error('Reflect.apply was used'); };
            String = function () { throw new Error('String was used'); };
            Math.trunc = function () { throw new Error('Math.trunc was used'); };
            Array.isArray = function () { throw new Error('Array.isArray was used'); };
            function decide(message) {
              return { tag: ['ab'.repeat(2), [1, 2].slice(1).join(), 'abc'.replace(/b/, '[$&]'), [1].concat([2]).join(), String.name] };
            }
            """);

        var result = rule.Evaluate(RuleFolder.Message());

        Assert.Null(result.Error);
        Assert.Equal(["abab", "2", "a[b]c", "1,2", "String"], result.Decision?.Tag);
    }

    [Fact]
    public void Array_s_species_cannot_be_replaced_to_slip_past_the_length_check()
    {
        var rule = JavaScriptScripts.Compile("""
            function decide(message) {
              const errors = [];
              try { Object.defineProperty(Array, Symbol.species, { get() { return Object; } }); } catch (e) { errors.push(e.name); }
              try { Array.prototype.constructor = Object; } catch (e) { errors.push(e.name); }
              return { tag: errors };
            }
            """);

        Assert.Equal(["TypeError", "TypeError"], rule.Evaluate(RuleFolder.Message()).Decision?.Tag);
    }
}
