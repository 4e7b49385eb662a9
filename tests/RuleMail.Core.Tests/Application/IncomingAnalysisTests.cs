using System.Text;
using RuleMail.Application;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Application;

/// <summary>
/// The incoming use case: one message and the receiving account → the security result and what the incoming rules make
/// of it, with the account and the size the rules see taken in one place; a reload between messages applies whole.
/// </summary>
public sealed class IncomingAnalysisTests(SmimeMail mail) : IClassFixture<SmimeMail>, IDisposable
{
    private const string Support = MailboxStore.Account;
    private readonly TempDirectory _rules = new("incoming-rules");
    private readonly MailboxStore _store = MailboxStore.With([mail["root.crt"], mail["inter.crt"], .. mail.WithPrivateKey(SmimeMail.Support), mail["sam.crt"]]);

    [Fact]
    public void A_signed_message_is_verified_and_the_rules_see_the_account_and_the_size_of_the_message_from_where_the_stream_stands()
    {
        Rule("""
            rules:
              - name: verified-and-large-for-support
                on: incoming
                when:
                  all:
                    - account: support@rulemail.test
                    - security.sign.success: true
                    - size: {gt: 1000}
                then:
                  tag: trusted
            """);
        var signed = IncomingMail.WithHeaders(mail.SmimeSign(IncomingMail.TextEntity("Hello"), SmimeMail.Sam), "sam@example.com", Support);
        var prefix = Encoding.ASCII.GetBytes("ignored prefix\r\n");
        using var raw = new MemoryStream([.. prefix, .. signed]);
        raw.Position = prefix.Length;

        var verdict = Analysis().Analyse(raw, Support);

        Assert.Equal(SecurityResult.SmimeType, verdict.Security.Type);
        Assert.True(verdict.Security.Sign?.Success, verdict.Security.Sign?.Comment);
        Assert.Equal(signed.LongLength, verdict.Size);
        Assert.Equal(["trusted"], verdict.Decision.Tag);
        Assert.Empty(Analysis().Analyse(new MemoryStream(signed), "other@rulemail.test").Decision.Tag);
    }

    [Fact]
    public void A_replaced_rule_set_judges_the_next_message_and_a_broken_one_is_never_put_in_force()
    {
        Rule("rules:\n  - name: a\n    on: incoming\n    then: {tag: first}\n");
        var source = new RuleSetSource(RuleSet.Load(_rules.Path));
        var analysis = new IncomingAnalysis(_store.Store, source);
        var plain = IncomingMail.WithHeaders(IncomingMail.TextEntity("Hello"), "sam@example.com", Support);
        Assert.Equal(["first"], analysis.Analyse(new MemoryStream(plain), Support).Decision.Tag);

        Rule("rules:\n  - name: a\n    on: incoming\n    then: {tag: second}\n");
        source.Replace(RuleSet.Load(_rules.Path));
        Assert.Equal(["second"], analysis.Analyse(new MemoryStream(plain), Support).Decision.Tag);

        Rule("rules:\n  - name: a\n    on: incoming\n    then: {tga: third}\n");
        Assert.Throws<ArgumentException>(() => source.Replace(RuleSet.Load(_rules.Path)));
        Assert.Equal(["second"], analysis.Analyse(new MemoryStream(plain), Support).Decision.Tag);
    }

    [Fact]
    public void A_stream_that_cannot_seek_is_refused_it_would_be_read_twice()
    {
        using var pipe = new UnseekableStream(IncomingMail.WithHeaders(IncomingMail.TextEntity("Hello"), "sam@example.com", Support));

        Assert.Throws<ArgumentException>(() => Analysis().Analyse(pipe, Support));
    }

    public void Dispose()
    {
        _store.Dispose();
        _rules.Dispose();
    }

    private IncomingAnalysis Analysis()
    {
        if (!Directory.EnumerateFiles(_rules.Path).Any())
        {
            Rule("rules:\n  - name: nothing\n    on: incoming\n    when: {subject: never-this}\n    then: {tag: x}\n");
        }

        return new IncomingAnalysis(_store.Store, new RuleSetSource(RuleSet.Load(_rules.Path)));
    }

    private void Rule(string yaml) => File.WriteAllText(Path.Combine(_rules.Path, "10-test.yaml"), yaml);

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
