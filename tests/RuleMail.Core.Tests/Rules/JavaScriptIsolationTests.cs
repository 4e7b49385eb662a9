using System.Collections.Concurrent;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

/// <summary>Calls from many workers at once, one message after another, one rule beside another: nothing crosses.</summary>
public sealed class JavaScriptIsolationTests
{
    [Fact]
    public void Concurrent_evaluations_give_each_message_its_own_result()
    {
        var echo = JavaScriptScripts.Compile("""
            function decide(message) {
              if (message.subject.endsWith('-spin')) { while (true) {} }
              let checksum = 0;
              for (const c of message.subject) checksum = (checksum * 31 + c.charCodeAt(0)) % 1000003;
              return { tag: [message.subject, String(checksum)], header: { 'X-To': message.to[0].address } };
            }
            """, "rules/echo.js");
        var domain = JavaScriptScripts.Compile("function decide(message) { return { tag: message.from.domain }; }", "rules/domain.js");
        var messages = Enumerable.Range(0, 400)
            .Select(i => RuleFolder.Message(
                subject: i % 50 == 7 ? $"m{i}-spin" : $"m{i}",
                to: $"user{i}@to{i}.example",
                from: $"sender{i}@from{i}.example"))
            .ToArray();
        var results = new ConcurrentDictionary<int, (RuleResult Echo, RuleResult Domain)>();

        Parallel.For(0, messages.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            results[i] = (echo.Evaluate(messages[i]), domain.Evaluate(messages[i])));

        for (var i = 0; i < messages.Length; i++)
        {
            var (echoed, domained) = results[i];
            Assert.Equal([$"from{i}.example"], domained.Decision?.Tag);
            if (i % 50 == 7)
            {
                // Eight workers on a shared machine may stretch the 30 ms the statement limit takes past 200 ms.
                Assert.Matches("^(statement limit reached: ran more than 100,000 statements|time limit reached: ran longer than 200 ms)$", echoed.Error);
                continue;
            }

            Assert.Null(echoed.Error);
            var subject = $"m{i}";
            Assert.Equal([subject, Checksum(subject).ToString(System.Globalization.CultureInfo.InvariantCulture)], echoed.Decision?.Tag);
            Assert.Equal($"user{i}@to{i}.example", echoed.Decision?.Header["X-To"]);
        }
    }

    [Fact]
    public void A_script_cannot_carry_the_previous_message_s_data_in_the_message_object()
    {
        var rule = JavaScriptScripts.Compile("""
            let calls = 0;
            let previous = null;
            function stash(value, secret) {
              if (value === null || typeof value !== 'object') return;
              try { value.stash = secret; } catch (e) { }
              try { Object.defineProperty(value, 'hidden', { value: secret }); } catch (e) { }
              for (const key of Object.keys(value)) {
                try { value[key] = secret; } catch (e) { }
                stash(value[key], secret);
              }
            }
            function find(value, secret, path, found) {
              if (value === secret) found.push(path);
              if (value === null || typeof value !== 'object') return found;
              for (const key of Reflect.ownKeys(value)) find(value[key], secret, path + '.' + String(key), found);
              return found;
            }
            function decide(message) {
              calls++;
              const secret = previous === null ? null : previous.subject;
              const found = secret === null ? [] : find(message, secret, 'message', []);
              const same = previous !== null && (message === previous || message.to === previous.to || message.headers === previous.headers);
              stash(message, message.subject);
              previous = message;
              return { tag: ['call ' + calls, same ? 'same objects' : 'new objects', ...(found.length ? found : ['nothing found'])] };
            }
            """);

        var first = rule.Evaluate(RuleFolder.Message(subject: "Salary review for Bob"));
        var second = rule.Evaluate(RuleFolder.Message(subject: "Lunch"));

        Assert.Equal(["call 1", "new objects", "nothing found"], first.Decision?.Tag);

        // "call 2": the same engine ran both (script globals live as long as their engine), yet none of the
        // first message's data reached the second message's objects.
        Assert.Equal(["call 2", "new objects", "nothing found"], second.Decision?.Tag);
    }

    [Fact]
    public void One_rule_s_changes_to_globals_and_prototypes_never_reach_another_rule()
    {
        var polluter = JavaScriptScripts.Compile("""
            function decide(message) {
              Object.prototype.leak = message.subject;
              Array.prototype.leak = message.subject;
              globalThis.leaked = message.subject;
              JSON.stringify = () => 'hijacked';
              return { tag: 'polluted' };
            }
            """, "rules/polluter.js");
        var reader = JavaScriptScripts.Compile("""
            function decide(message) {
              return { tag: [String(message.leak), String(message.to.leak), typeof leaked, JSON.stringify({ a: 1 })] };
            }
            """, "rules/reader.js");
        var message = RuleFolder.Message(subject: "confidential");

        Assert.Equal(["polluted"], polluter.Evaluate(message).Decision?.Tag);
        Assert.Equal(["undefined", "undefined", "undefined", "{\"a\":1}"], reader.Evaluate(message).Decision?.Tag);
    }

    [Fact]
    public void An_engine_is_thrown_away_after_a_failure_so_its_state_does_not_survive()
    {
        var rule = JavaScriptScripts.Compile("""
            let calls = 0;
            function decide(message) {
              calls++;
              if (message.subject === 'fail') throw new Error('failing on purpose');
              return { tag: 'call ' + calls };
            }
            """);

        var first = rule.Evaluate(RuleFolder.Message());
        var failed = rule.Evaluate(RuleFolder.Message(subject: "fail"));
        var after = rule.Evaluate(RuleFolder.Message());

        Assert.Equal(["call 1"], first.Decision?.Tag);
        Assert.Equal("Error: failing on purpose (line 4, column 41)", failed.Error);

        // A fresh engine ran the script again: its counter starts over.
        Assert.Equal(["call 1"], after.Decision?.Tag);
    }

    private static int Checksum(string text)
    {
        var checksum = 0L;
        foreach (var c in text)
        {
            checksum = ((checksum * 31) + c) % 1000003;
        }

        return (int)checksum;
    }
}
