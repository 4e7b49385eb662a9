using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

public sealed class YamlRuleTests : IDisposable
{
    private static readonly SecurityResult FailedSignature = new("S/MIME", SecurityOutcome.Failed(SecurityComments.CertificateNotFound), null);
    private static readonly SecurityResult GoodSignature = new("S/MIME", SecurityOutcome.Succeeded("Signed by alice"), null);
    private readonly RuleFolder _rules = new();

    private RuleEvaluation Run(string when, RuleMessage message, string direction = "incoming")
    {
        _rules.With("r.yaml", $"rules:\n  - name: r\n    on: {direction}\n    when:\n{Indent(when, 6)}\n    then:\n      tag: hit\n");
        var set = _rules.Load();
        Assert.Empty(set.Errors);
        return set.Evaluate(message, direction == "outgoing" ? RuleDirection.Outgoing : RuleDirection.Incoming);
    }

    private bool Matches(string when, RuleMessage message) => Run(when, message).Decision.Tag.Contains("hit");

    private static string Indent(string text, int spaces) =>
        string.Join("\n", text.ReplaceLineEndings("\n").Split('\n').Select(l => new string(' ', spaces) + l));

    [Fact]
    public void Equality_compares_typed_values_and_text_without_case()
    {
        Assert.True(Matches("security.sign.success: false", RuleFolder.Message(security: FailedSignature)));
        Assert.False(Matches("security.sign.success: false", RuleFolder.Message(security: GoodSignature)));
        Assert.False(Matches("security.sign.success: false", RuleFolder.Message()));
        Assert.True(Matches("subject: ORDER 4711", RuleFolder.Message()));
        Assert.True(Matches("from: Alice@Customer.Example", RuleFolder.Message()));
        Assert.True(Matches("security.sign: null", RuleFolder.Message(security: SecurityResult.None)));
        Assert.True(Matches("size: 2048", RuleFolder.Message()));
    }

    [Fact]
    public void Contains_matches_in_domain_exists_gt_and_lt_each_decide()
    {
        var message = RuleFolder.Message(subject: "Invoice 2026-11 overdue", attachment: ("invoice.pdf", "application/pdf"), size: 5_000_000);

        Assert.True(Matches("subject: {contains: INVOICE}", message));
        Assert.False(Matches("subject: {contains: receipt}", message));
        Assert.True(Matches("subject: {matches: '^Invoice \\d{4}-\\d{2}'}", message));
        Assert.False(Matches("subject: {matches: '^invoice'}", message));
        Assert.True(Matches("attachments.type: {in: [application/zip, application/pdf]}", message));
        Assert.True(Matches("from: {domain: customer.example}", message));
        Assert.True(Matches("from: {domain: example}", message));
        Assert.False(Matches("from: {domain: other.example}", message));
        Assert.True(Matches("headers.x-mailer: {exists: true}", message));
        Assert.True(Matches("headers.list-id: {exists: false}", message));
        Assert.True(Matches("size: {gt: 1000000}", message));
        Assert.False(Matches("size: {lt: 1000000}", message));
        Assert.True(Matches("date: {lt: 2027-01-01}", message));
        Assert.False(Matches("date: {gt: 2027-01-01}", message));
    }

    [Fact]
    public void A_list_field_holds_when_any_element_matches()
    {
        var message = RuleFolder.Message(to: "a@one.example", cc: "b@finance.example");

        Assert.True(Matches("cc.domain: finance.example", message));
        Assert.False(Matches("to.domain: finance.example", message));
        Assert.True(Matches("any:\n  - to.domain: finance.example\n  - cc.domain: finance.example", message));
    }

    [Fact]
    public void All_any_and_not_combine_and_the_trace_names_the_conditions_that_held()
    {
        var message = RuleFolder.Message(security: FailedSignature);

        var result = Run("all:\n  - any:\n      - security.encryption.success: false\n      - security.sign.success: false\n  - not: {from.domain: rulemail.test}", message);

        var rule = Assert.Single(result.Trace);
        Assert.True(rule.Matched);
        Assert.Equal(["security.sign.success = false", "not (from.domain: rulemail.test)"], rule.Because);
        Assert.False(Matches("not: {from.domain: customer.example}", message));
    }

    [Fact]
    public void Rules_run_in_file_name_order_decisions_merge_and_stop_ends_processing()
    {
        _rules.With("20-second.yaml", """
            rules:
              - name: second
                on: outgoing
                then: {sign: never, encrypt: required, security_type: pgp, flag: [b, a], header: {X-Team: two}}
              - name: stopper
                on: outgoing
                then: {tag: stopped, stop: true}
              - name: never-reached
                on: outgoing
                then: {tag: late}
            """);
        _rules.With("10-first.yaml", """
            rules:
              - name: first
                on: outgoing
                then: {sign: preferred, encrypt: preferred, security_type: smime, flag: a, header: {x-team: one}}
              - name: incoming-only
                on: incoming
                then: {tag: incoming}
            """);

        var result = _rules.Load().Evaluate(RuleFolder.Message(direction: "outgoing"), RuleDirection.Outgoing);

        Assert.Equal(["first", "second", "stopper"], result.Trace.Select(t => t.Name));
        Assert.Equal(Preference.Preferred, result.Decision.Sign);
        Assert.Equal(Preference.Required, result.Decision.Encrypt);
        Assert.Equal(RuleMail.Crypto.SecurityType.Smime, result.Decision.SecurityType);
        Assert.Equal(["a", "b"], result.Decision.Flag);
        Assert.Equal("one", Assert.Single(result.Decision.Header).Value);
        Assert.Equal(["stopped"], result.Decision.Tag);
        Assert.True(result.Decision.Stop);
    }

    [Fact]
    public void Every_decision_key_is_read()
    {
        _rules.With("all.yaml", """
            rules:
              - name: everything
                then:
                  sign: required
                  encrypt: never
                  security_type: pgp
                  flag: [security-failed, "$Label1"]
                  move: Quarantine
                  tag: [one, two]
                  header: {X-Checked-By: RuleMail}
                  webhook: https://tickets.example/hook
                  notify: Admin@Example.org
                  hold: needs a person
                  stop: true
            """);

        var decision = _rules.Load().Evaluate(RuleFolder.Message(), RuleDirection.Incoming).Decision;

        Assert.Equal(Preference.Required, decision.Sign);
        Assert.Equal(Preference.Never, decision.Encrypt);
        Assert.Equal(RuleMail.Crypto.SecurityType.Pgp, decision.SecurityType);
        Assert.Equal(["security-failed", "$Label1"], decision.Flag);
        Assert.Equal("Quarantine", decision.Move);
        Assert.Equal(["one", "two"], decision.Tag);
        Assert.Equal("RuleMail", decision.Header["x-checked-by"]);
        Assert.Equal(["https://tickets.example/hook"], decision.Webhook);
        Assert.Equal(["admin@example.org"], decision.Notify);
        Assert.Equal("needs a person", decision.Hold);
        Assert.True(decision.Stop);
    }

    [Theory]
    [InlineData("rules:\n  - name: a\n    then: {tag: x}\n    colour: red\n", 4, 5, "unknown key 'colour'")]
    [InlineData("rules:\n  - name: a\n    on: sideways\n    then: {tag: x}\n", 3, 9, "on is incoming, outgoing or both")]
    [InlineData("rules:\n  - name: a\n    when: {subjct: x}\n    then: {tag: x}\n", 3, 12, "unknown field 'subjct'")]
    [InlineData("rules:\n  - name: a\n    when: {subject: {like: x}}\n    then: {tag: x}\n", 3, 22, "unknown operator 'like'")]
    [InlineData("rules:\n  - name: a\n    when: {subject: {matches: '(unclosed'}}\n    then: {tag: x}\n", 3, 31, "bad regular expression")]
    [InlineData("rules:\n  - name: a\n    then: {sign: always}\n", 3, 18, "expected required, preferred or never")]
    [InlineData("rules:\n  - name: a\n    then: {flag: 'two words'}\n", 3, 18, "is not an IMAP keyword")]
    [InlineData("rules:\n  - name: a\n    then: {header: {X-RuleMail-Encrypt: 'yes'}}\n", 3, 20, "RuleMail's own")]
    [InlineData("rules:\n  - name: a\n    name: b\n    then: {tag: x}\n", 3, 5, "duplicate key")]
    [InlineData("rules:\n  - name: a\n", 2, 5, "has no 'then'")]
    [InlineData("rules:\n  - name: a\n    then: {tag: [unclosed\n", 4, 1, "")]
    [InlineData("rule:\n  - name: a\n", 1, 1, "unknown key 'rule'")]
    public void Lint_errors_name_file_line_and_column(string yaml, int line, int column, string message)
    {
        _rules.With("bad.yaml", yaml);

        var error = Assert.Single(_rules.Load().Errors);

        Assert.EndsWith("bad.yaml", error.File, StringComparison.Ordinal);
        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Matches(@"bad\.yaml:\d+:\d+: ", error.ToString());
    }

    [Fact]
    public void A_half_broken_rule_set_applies_its_good_half_and_reports_the_broken_rule()
    {
        _rules.With("10-mixed.yaml", """
            rules:
              - name: broken
                when: {subject: {matches: '(oops'}}
                then: {tag: never}
              - name: good
                then: {tag: good}
            """);
        _rules.With("20-unparsable.yaml", "rules: [\n");
        _rules.With("30-good.yaml", "rules:\n  - name: also-good\n    then: {flag: checked}\n");

        var set = _rules.Load();
        var result = set.Evaluate(RuleFolder.Message(), RuleDirection.Incoming);

        Assert.Equal(2, set.Errors.Count);
        Assert.Equal(["good"], result.Decision.Tag);
        Assert.Equal(["checked"], result.Decision.Flag);
        Assert.Equal(2, result.Errors.Count);
        Assert.Contains(result.Trace, t => t.Name == "broken" && t.Error is not null && !t.Matched);
    }

    [Fact]
    public void A_pattern_that_runs_too_long_is_stopped_and_reported_and_the_next_rule_still_runs()
    {
        _rules.With("10-slow.yaml", "rules:\n  - name: slow\n    when: {text: {matches: '^(a+)+$'}}\n    then: {tag: slow}\n");
        _rules.With("20-next.yaml", "rules:\n  - name: next\n    then: {tag: next}\n");

        var result = _rules.Load().Evaluate(RuleFolder.Message(text: new string('a', 40) + "!"), RuleDirection.Incoming);

        Assert.Equal(["next"], result.Decision.Tag);
        var slow = Assert.Single(result.Trace, t => t.Name == "slow");
        Assert.Contains("took longer than", slow.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disabled_rule_and_a_rule_for_the_other_direction_do_not_run()
    {
        _rules.With("r.yaml", "rules:\n  - name: off\n    enabled: false\n    then: {tag: off}\n  - name: out\n    on: outgoing\n    then: {tag: out}\n");

        var result = _rules.Load().Evaluate(RuleFolder.Message(), RuleDirection.Incoming);

        Assert.Empty(result.Trace);
        Assert.True(result.Decision.IsEmpty);
    }

    [Fact]
    public void Yaml_and_javascript_rules_combine_in_one_decision_and_a_failing_script_does_not_stop_them()
    {
        _rules.With("10-yaml.yaml", "rules:\n  - name: yaml\n    on: outgoing\n    then: {sign: preferred, tag: from-yaml}\n");
        _rules.With("20-script.js", "function decide(message) { return { encrypt: 'required', tag: ['from-js', message.to[0].domain] }; }\n");
        _rules.With("30-throws.js", "function decide(message) { throw new Error('boom'); }\n");
        _rules.With("40-yaml.yaml", "rules:\n  - name: later\n    on: outgoing\n    then: {sign: never, flag: late}\n");

        var result = _rules.Load().Evaluate(RuleFolder.Message(to: "ap@finance.example", direction: "outgoing"), RuleDirection.Outgoing);

        Assert.Equal(Preference.Preferred, result.Decision.Sign);
        Assert.Equal(Preference.Required, result.Decision.Encrypt);
        Assert.Equal(["from-yaml", "from-js", "finance.example"], result.Decision.Tag);
        Assert.Equal(["late"], result.Decision.Flag);
        var failed = Assert.Single(result.Trace, t => t.Error is not null);
        Assert.Equal("30-throws", failed.Name);
        Assert.Contains("boom", failed.Error, StringComparison.Ordinal);
        Assert.Single(result.Errors);
    }

    public void Dispose() => _rules.Dispose();
}
