using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// The JavaScript rules of a folder run one message after another: the message is read once per message for all
/// of them, each rule gets its own frozen copy in its own engine, and nothing one rule or message does reaches
/// another rule or the next message.
/// </summary>
public sealed class JavaScriptRuleSetTests
{
    /// <summary>Every way a rule might change what the next rule sees; each must throw.</summary>
    private const string Mutator = """
        function decide(message) {
          const attempts = [
            () => { message.subject = 'rewritten'; },
            () => { message.injected = 'added'; },
            () => { delete message.subject; },
            () => { Object.defineProperty(message, 'hidden', { value: 'added' }); },
            () => { Object.setPrototypeOf(message, { injected: 'inherited' }); },
            () => { message.to.push({ address: 'eve@evil.example' }); },
            () => { message.to.length = 0; },
            () => { message.to[0] = { address: 'eve@evil.example' }; },
            () => { message.to[0].address = 'eve@evil.example'; },
            () => { message.headers['x-injected'] = 'added'; },
            () => { message.security.sign.success = false; },
            () => { message.cc.push('eve@evil.example'); },
          ];
          let refused = 0;
          for (const attempt of attempts) {
            try { attempt(); } catch (e) { if (e instanceof TypeError) refused++; }
          }
          globalThis.leaked = message.subject;
          Object.prototype.leak = message.subject;
          Array.prototype.leak = message.subject;
          String.prototype.leak = message.subject;
          JSON.stringify = () => 'hijacked';
          return { tag: 'refused ' + refused + ' of ' + attempts.length };
        }
        """;

    /// <summary>Reports what it sees of the message and of the globals and prototypes the mutator changed in its own engine.</summary>
    private const string Reader = """
        function decide(message) {
          return { tag: [
            message.subject,
            message.to.map(a => a.address).join(','),
            String(message.security.sign.success),
            'keys ' + Object.keys(message).length,
            'injected ' + ('injected' in message) + ' ' + ('hidden' in message) + ' ' + ('x-injected' in message.headers),
            'cc ' + message.cc.length,
            'globals ' + typeof leaked + ' ' + String(message.leak) + ' ' + String(message.to.leak) + ' ' + String(message.subject.leak),
            JSON.stringify({ a: 1 }),
          ] };
        }
        """;

    [Fact]
    public void A_rule_that_mutates_the_message_or_pollutes_globals_changes_nothing_for_the_next_rule_or_message()
    {
        using var folder = new RuleFolder()
            .With("10-mutator.js", Mutator)
            .With("20-reader.js", Reader)
            .With("30-mutator-again.js", Mutator)
            .With("40-reader-again.js", Reader);
        var set = folder.Load();
        Assert.Empty(set.Errors);
        var signed = new SecurityResult("S/MIME", SecurityOutcome.Succeeded("ok"), null);

        var first = set.Evaluate(RuleFolder.Message(subject: "Salary review for Bob", to: "hr@rulemail.test", security: signed), RuleDirection.Incoming);
        var second = set.Evaluate(RuleFolder.Message(subject: "Lunch", to: "team@rulemail.test", security: signed), RuleDirection.Incoming);

        foreach (var (evaluation, subject, to) in new[] { (first, "Salary review for Bob", "hr@rulemail.test"), (second, "Lunch", "team@rulemail.test") })
        {
            Assert.Empty(evaluation.Errors);
            Assert.Equal(4, evaluation.Trace.Count);
            Assert.Equal(["refused 12 of 12"], evaluation.Trace[0].Decision?.Tag);
            Assert.Equal(["refused 12 of 12"], evaluation.Trace[2].Decision?.Tag);
            string[] pristine = [subject, to, "true", "keys 13", "injected false false false", "cc 0", "globals undefined undefined undefined undefined", "{\"a\":1}"];
            Assert.Equal(pristine, evaluation.Trace[1].Decision?.Tag);
            Assert.Equal(pristine, evaluation.Trace[3].Decision?.Tag);
        }
    }

    [Fact]
    public void A_rule_that_keeps_a_message_finds_none_of_it_in_the_next_message()
    {
        // Script globals live as long as their engine (a clean call gives it back), so a rule can keep the last
        // message; the next message must still be a copy of its own, made from that message alone.
        using var folder = new RuleFolder()
            .With("10-keeper.js", """
                let previous = null;
                function decide(message) {
                  const same = previous !== null && (previous === message || previous.to === message.to || previous.headers === message.headers);
                  const stale = previous !== null && (message.subject === previous.subject || message.to[0].address === previous.to[0].address);
                  previous = message;
                  return { tag: [message.subject, same ? 'same objects' : 'new objects', stale ? 'stale' : 'fresh'] };
                }
                """)
            .With("20-subject.js", "function decide(message) { return { header: { 'X-Subject': message.subject } }; }");
        var set = folder.Load();

        var first = set.Evaluate(RuleFolder.Message(subject: "Salary review for Bob", to: "hr@rulemail.test"), RuleDirection.Incoming);
        var second = set.Evaluate(RuleFolder.Message(subject: "Lunch", to: "team@rulemail.test"), RuleDirection.Incoming);

        Assert.Equal(["Salary review for Bob", "new objects", "fresh"], first.Trace[0].Decision?.Tag);
        Assert.Equal(["Lunch", "new objects", "fresh"], second.Trace[0].Decision?.Tag);
        Assert.Equal("Salary review for Bob", first.Decision.Header["X-Subject"]);
        Assert.Equal("Lunch", second.Decision.Header["X-Subject"]);
    }

    [Fact]
    public void A_runaway_loop_in_the_third_rule_stops_the_third_rule_only_with_the_limit_as_its_reason()
    {
        using var folder = new RuleFolder();
        for (var i = 1; i <= 5; i++)
        {
            var body = i == 3 ? "if (message.subject === 'spin') { while (true) {} }\n  " : string.Empty;
            folder.With($"{i}0-rule.js", $"function decide(message) {{\n  {body}return {{ tag: 'rule {i}' }};\n}}\n");
        }

        var set = folder.Load();
        Assert.Empty(set.Errors);

        var spinning = set.Evaluate(RuleFolder.Message(subject: "spin"), RuleDirection.Incoming);
        var calm = set.Evaluate(RuleFolder.Message(subject: "calm"), RuleDirection.Incoming);

        // The reason is today's: the statement limit, or on a machine too busy to run 100,000 statements in
        // 200 ms, the time limit.
        const string Limit = "(statement limit reached: ran more than 100,000 statements|time limit reached: ran longer than 200 ms)";
        Assert.Equal(5, spinning.Trace.Count);
        Assert.Matches($"^{Limit}$", spinning.Trace[2].Error);
        Assert.False(spinning.Trace[2].Matched);
        var error = Assert.Single(spinning.Errors);
        Assert.Matches($@"^[^/]+/30-rule\.js: rule '30-rule': {Limit}$", error.Replace('\\', '/'));
        Assert.Equal(["rule 1", "rule 2", "rule 4", "rule 5"], spinning.Decision.Tag);
        foreach (var i in new[] { 0, 1, 3, 4 })
        {
            Assert.Null(spinning.Trace[i].Error);
        }

        // The engine the loop ran in was thrown away; the rule runs anew on the next message.
        Assert.Empty(calm.Errors);
        Assert.Equal(["rule 1", "rule 2", "rule 3", "rule 4", "rule 5"], calm.Decision.Tag);
    }

    [Fact]
    public void A_folder_of_rules_decides_as_its_rules_do_one_by_one()
    {
        using var folder = new RuleFolder()
            .With("10-domain.js", "function decide(message) { return { tag: message.from.domain }; }")
            .With("20-attachments.js", """
                function decide(message) {
                  return message.attachments.length ? { flag: 'has-attachment', tag: message.attachments.map(a => a.name + ':' + a.type + ':' + a.size) } : null;
                }
                """)
            .With("30-headers.js", "function decide(message) { return { header: { 'X-Seen-Mailer': message.headers['x-mailer'], 'X-Seen-Date': message.date } }; }")
            .With("40-broken.js", "function decide(message) { return message.nothing.here; }");
        var set = folder.Load();
        RuleMessage[] messages =
        [
            RuleFolder.Message(),
            RuleFolder.Message(from: "bob@partner.example", attachment: ("invoice.pdf", "application/pdf"), cc: "carol@partner.example"),
        ];

        foreach (var message in messages)
        {
            var together = set.Evaluate(message, RuleDirection.Incoming);
            var alone = set.Rules.Select(rule => rule.Evaluate(message)).ToList();

            Assert.Equal(alone.Select(r => (r.Name, r.Matched, r.Error)), together.Trace.Select(r => (r.Name, r.Matched, r.Error)));
            Assert.Equal(alone.Select(r => Describe(r.Decision)), together.Trace.Select(r => Describe(r.Decision)));
        }

        var withAttachment = set.Evaluate(messages[1], RuleDirection.Incoming);
        Assert.Equal(["partner.example", "invoice.pdf:application/pdf:300"], withAttachment.Decision.Tag);
        Assert.Equal("Thunderbird 140", withAttachment.Decision.Header["X-Seen-Mailer"]);
        Assert.Matches("^TypeError: ", withAttachment.Trace[3].Error);
    }

    private static string Describe(RuleDecision? decision) => decision is null
        ? "no decision"
        : $"flag {string.Join(",", decision.Flag)}; tag {string.Join(",", decision.Tag)}; header {string.Join(",", decision.Header.Select(h => h.Key + "=" + h.Value))}";
}
