using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// The facts beside a security result's success and comment (signer, digest, key, cipher, integrity) reach the
/// rules' message model, so YAML and JavaScript rules can judge them: "tag anything encrypted without integrity",
/// "flag SHA-1 signers".
/// </summary>
public sealed class SecurityFactsRuleTests : IDisposable
{
    private static readonly SecurityResult Facts = new(
        SecurityResult.SmimeType,
        SecurityOutcome.Succeeded("Signed by alice@customer.example (certificate CN=Alice)") with
        {
            Signer = new SignerFacts("alice@customer.example", "AB12CD34"),
            Digest = "sha1",
            Key = new KeyFacts("rsa", 2048),
        },
        SecurityOutcome.Succeeded("Decrypted with the private key of support@rulemail.test (certificate CN=Support)") with
        {
            Cipher = "aes256-cbc",
            Integrity = Integrity.None,
        });

    private readonly RuleFolder _rules = new();

    [Fact]
    public void Yaml_conditions_read_every_fact()
    {
        _rules.With("facts.yaml", """
            rules:
              - name: weak
                on: incoming
                when:
                  all:
                    - security.encryption.integrity: none
                    - security.encryption.cipher: {matches: '-cbc$'}
                    - security.sign.digest: {in: [sha1, md5]}
                    - security.sign.key.bits: {lt: 3072}
                    - security.sign.key.algorithm: rsa
                    - security.sign.signer.fingerprint: ab12cd34
                    - security.sign.signer.address: {domain: customer.example}
                then:
                  tag: weak-crypto
            """);
        var set = _rules.Load();
        Assert.Equal([], set.Errors.Select(e => e.ToString()));

        Assert.Contains("weak-crypto", set.Evaluate(RuleFolder.Message(security: Facts), RuleDirection.Incoming).Decision.Tag);
        var strong = Facts with { Encryption = Facts.Encryption! with { Integrity = Integrity.Aead, Cipher = "aes256-gcm" } };
        Assert.DoesNotContain("weak-crypto", set.Evaluate(RuleFolder.Message(security: strong), RuleDirection.Incoming).Decision.Tag);
    }

    [Fact]
    public void Javascript_rules_see_the_facts()
    {
        _rules.With("facts.js", """
            function decide(message) {
              var sign = message.security.sign, encryption = message.security.encryption;
              if (sign.digest === 'sha1' && sign.key.bits === 2048 && sign.signer.address === 'alice@customer.example'
                  && encryption.integrity === 'none' && encryption.cipher === 'aes256-cbc') {
                return { tag: 'weak-crypto' };
              }
              return null;
            }
            """);
        var set = _rules.Load();
        Assert.Empty(set.Errors);

        var evaluation = set.Evaluate(RuleFolder.Message(security: Facts), RuleDirection.Incoming);

        Assert.Empty(evaluation.Errors);
        Assert.Contains("weak-crypto", evaluation.Decision.Tag);
    }

    [Fact]
    public void Facts_that_are_not_known_are_absent_not_null()
    {
        var model = RuleFolder.Message(security: new SecurityResult(SecurityResult.PgpType, SecurityOutcome.Failed(SecurityComments.CertificateNotFound), null));

        var sign = model.Root["security"]!["sign"]!.AsObject();

        Assert.Equal(["success", "comment"], sign.Select(p => p.Key));
    }

    public void Dispose() => _rules.Dispose();
}
