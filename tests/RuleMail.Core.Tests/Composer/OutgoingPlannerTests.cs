using System.Security.Cryptography;
using System.Text;
using RuleMail.Core.Tests.Support;
using RuleMail.Crypto;
using RuleMail.Keys;
using RuleMail.Rules;
using RuleMail.Composer;

namespace RuleMail.Core.Tests.Composer;

/// <summary>
/// The decision compose and the send job share: the rules' decision × the person's choice × what is possible.
/// Most cases build <see cref="SecurityOptions"/> directly, as <see cref="ComposerSecurity"/> would; the last
/// ones take them from a real store.
/// </summary>
public sealed class OutgoingPlannerTests
{
    private const string Smime = SecurityResult.SmimeType;
    private const string Pgp = SecurityResult.PgpType;
    private const string NotFound = "The certificate for bob@customer.example was not found.";
    private const string Hold = "hold";

    private static readonly Possibility Possible = new(true, "The certificate for bob@customer.example was found.");
    private static readonly Possibility Impossible = new(false, NotFound);

    /// <summary>
    /// Options as <see cref="ComposerSecurity"/> makes them with <see cref="ComposerSettings.With"/>: the buttons are
    /// those of <paramref name="type"/> (S/MIME when null), active when possible and on by default, and a rule's
    /// <c>never</c> turns the default off.
    /// </summary>
    private static SecurityOptions Options(
        SecurityTypeOptions smime,
        SecurityTypeOptions pgp,
        string? type,
        RuleDecision? decision = null,
        bool signByDefault = true,
        bool encryptByDefault = true)
    {
        var settings = new ComposerSettings { SignByDefault = signByDefault, EncryptByDefault = encryptByDefault }.With(decision ?? RuleDecision.Empty);
        var chosen = type == Pgp ? pgp : smime;
        return new SecurityOptions(
            smime,
            pgp,
            type,
            (smime.Sign.Possible || smime.Encryption.Possible) && (pgp.Sign.Possible || pgp.Encryption.Possible),
            new SecurityButton(chosen.Sign.Possible, chosen.Sign.Possible && settings.SignByDefault, "sign"),
            new SecurityButton(chosen.Encryption.Possible, chosen.Encryption.Possible && settings.EncryptByDefault, "encrypt"));
    }

    private static SecurityTypeOptions Can(bool sign, bool encrypt) =>
        new(sign ? Possible : new Possibility(false, "The certificate for support@org.example was not found."), encrypt ? Possible : Impossible);

    private static string Outcome(OutgoingPlan plan, bool encryption) =>
        plan.IsHeld ? Hold : (encryption ? plan.Encrypt : plan.Sign) ? "on" : "off";

    /// <summary>rule × choice × possible → on, off, or hold (with S/MIME, the default type, the button on by default).</summary>
    public static TheoryData<Preference?, bool?, bool, string> Matrix => new()
    {
        { Preference.Required, null, true, "on" },
        { Preference.Required, null, false, Hold },
        { Preference.Required, true, true, "on" },
        { Preference.Required, true, false, Hold },
        { Preference.Required, false, true, Hold },
        { Preference.Required, false, false, Hold },
        { Preference.Preferred, null, true, "on" },
        { Preference.Preferred, null, false, "off" },
        { Preference.Preferred, true, true, "on" },
        { Preference.Preferred, true, false, Hold },
        { Preference.Preferred, false, true, "off" },
        { Preference.Preferred, false, false, "off" },
        { Preference.Never, null, true, "off" },
        { Preference.Never, null, false, "off" },
        { Preference.Never, true, true, "on" },
        { Preference.Never, true, false, Hold },
        { Preference.Never, false, true, "off" },
        { Preference.Never, false, false, "off" },
        { null, null, true, "on" },
        { null, null, false, "off" },
        { null, true, true, "on" },
        { null, true, false, Hold },
        { null, false, true, "off" },
        { null, false, false, "off" },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Encryption_follows_the_rule_the_choice_and_what_is_possible(Preference? rule, bool? chosen, bool possible, string expected)
    {
        var decision = new RuleDecision { Encrypt = rule };
        var smime = new SecurityTypeOptions(Possible, possible ? Possible : Impossible);
        var options = Options(smime, Can(false, false), Smime, decision);

        var plan = OutgoingPlanner.Plan(options, decision, new OutgoingChoice { Encrypt = chosen, Sign = false });

        Assert.Equal(expected, Outcome(plan, encryption: true));
        if (plan.IsHeld)
        {
            Assert.Equal(
                chosen == false ? "the outgoing rules require encryption; it cannot be switched off" : $"cannot encrypt with S/MIME: {NotFound}",
                plan.Hold);
        }
        else
        {
            Assert.Equal(Smime, plan.Type);
            Assert.False(plan.Sign);
        }
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Signing_follows_the_rule_the_choice_and_what_is_possible(Preference? rule, bool? chosen, bool possible, string expected)
    {
        var decision = new RuleDecision { Sign = rule };
        var smime = new SecurityTypeOptions(possible ? Possible : Impossible, Possible);
        var options = Options(smime, Can(false, false), Smime, decision);

        var plan = OutgoingPlanner.Plan(options, decision, new OutgoingChoice { Sign = chosen, Encrypt = false });

        Assert.Equal(expected, Outcome(plan, encryption: false));
        if (plan.IsHeld)
        {
            Assert.Equal(
                chosen == false ? "the outgoing rules require signing; it cannot be switched off" : $"cannot sign with S/MIME: {NotFound}",
                plan.Hold);
        }
        else
        {
            Assert.False(plan.Encrypt);
        }
    }

    [Fact]
    public void A_rules_hold_holds_whatever_was_chosen_and_possible()
    {
        var decision = new RuleDecision { Hold = "needs approval", Sign = Preference.Preferred, Encrypt = Preference.Preferred };
        var options = Options(Can(true, true), Can(true, true), Smime, decision);

        var plan = OutgoingPlanner.Plan(options, decision, new OutgoingChoice { Sign = true, Encrypt = true, Type = Pgp });

        Assert.True(plan.IsHeld);
        Assert.Equal("held by the outgoing rules: needs approval", plan.Hold);
        Assert.False(plan.Sign);
        Assert.False(plan.Encrypt);
        Assert.Null(plan.Type);
        Assert.Null(plan.Description);
        Assert.Throws<InvalidOperationException>(() => plan.Request());
    }

    [Fact]
    public void Holds_come_in_compose_order_rule_hold_then_switched_off_then_impossible_signing_then_impossible_encryption()
    {
        var required = new RuleDecision { Sign = Preference.Required, Encrypt = Preference.Required };
        var nothing = Options(Can(false, false), Can(false, false), null, required);

        Assert.Equal("held by the outgoing rules: x", OutgoingPlanner.Plan(nothing, required with { Hold = "x" }, new OutgoingChoice { Sign = false, Encrypt = false }).Hold);
        Assert.Equal("the outgoing rules require signing; it cannot be switched off", OutgoingPlanner.Plan(nothing, required, new OutgoingChoice { Sign = false, Encrypt = false }).Hold);
        Assert.Equal("the outgoing rules require encryption; it cannot be switched off", OutgoingPlanner.Plan(nothing, required, new OutgoingChoice { Encrypt = false }).Hold);
        Assert.StartsWith("cannot sign with S/MIME: ", OutgoingPlanner.Plan(nothing, required, OutgoingChoice.None).Hold, StringComparison.Ordinal);
        Assert.Equal($"cannot encrypt with S/MIME: {NotFound}", OutgoingPlanner.Plan(Options(Can(true, false), Can(false, false), Smime, required), required, OutgoingChoice.None).Hold);
    }

    [Theory]
    [InlineData(true, true, "signed and encrypted with S/MIME")]
    [InlineData(true, false, "signed with S/MIME; this message will not be encrypted: Outgoing emails can only be encrypted for a single recipient.")]
    [InlineData(false, true, "encrypted with S/MIME, not signed")]
    [InlineData(false, false, "neither signed nor encrypted")]
    public void The_description_is_what_compose_prints(bool sign, bool encrypt, string expected)
    {
        var smime = new SecurityTypeOptions(Possible, encrypt ? Possible : new Possibility(false, SecurityTexts.SingleRecipientOnly));
        var options = Options(smime, Can(false, false), Smime);

        var plan = OutgoingPlanner.Plan(options, RuleDecision.Empty, new OutgoingChoice { Sign = sign, Encrypt = encrypt ? null : false });

        Assert.Equal(expected, plan.Description);
        Assert.Equal(new OutgoingRequest(Smime, sign, encrypt) { EncryptToSender = false }, plan.Request(encryptToSender: false));
    }

    [Fact]
    public void The_type_is_the_chosen_one_else_the_composers_default_else_smime()
    {
        var options = Options(Can(true, false), Can(false, true), Pgp);
        var nothing = Options(Can(false, false), Can(false, false), null);

        var byDefault = OutgoingPlanner.Plan(options, RuleDecision.Empty, OutgoingChoice.None);
        var chosen = OutgoingPlanner.Plan(options, RuleDecision.Empty, new OutgoingChoice { Type = Smime });
        var fallback = OutgoingPlanner.Plan(nothing, RuleDecision.Empty, OutgoingChoice.None);

        Assert.Equal((Pgp, false, true, "encrypted with PGP, not signed"), (byDefault.Type, byDefault.Sign, byDefault.Encrypt, byDefault.Description));
        Assert.Equal((Smime, true, false), (chosen.Type, chosen.Sign, chosen.Encrypt));
        Assert.Equal((Smime, false, false, "neither signed nor encrypted"), (fallback.Type, fallback.Sign, fallback.Encrypt, fallback.Description));
    }

    [Fact]
    public void The_rules_security_type_counts_only_through_the_composers_default_type()
    {
        // security_type is a preference that ComposerSettings.With folds into the options' type (it wins a tie);
        // the planner does not apply it a second time against a type that can do more.
        var decision = new RuleDecision { SecurityType = RuleMail.Crypto.SecurityType.Pgp };
        var options = Options(Can(true, true), Can(false, false), Smime, decision);

        var plan = OutgoingPlanner.Plan(options, decision, OutgoingChoice.None);

        Assert.Equal((Smime, true, true), (plan.Type, plan.Sign, plan.Encrypt));
    }

    [Fact]
    public void For_a_type_other_than_the_default_the_default_is_what_that_type_can_do()
    {
        // Buttons off by default for S/MIME (the site setting); PGP was chosen, so its possibilities decide.
        var options = Options(Can(true, true), Can(true, true), Smime, signByDefault: false, encryptByDefault: false);

        var smime = OutgoingPlanner.Plan(options, RuleDecision.Empty, OutgoingChoice.None);
        var pgp = OutgoingPlanner.Plan(options, RuleDecision.Empty, new OutgoingChoice { Type = Pgp });

        Assert.Equal((Smime, false, false), (smime.Type, smime.Sign, smime.Encrypt));
        Assert.Equal((Pgp, true, true), (pgp.Type, pgp.Sign, pgp.Encrypt));
    }

    [Fact]
    public void A_rules_never_keeps_a_protection_off_for_the_other_type_too_unless_it_is_chosen()
    {
        var decision = new RuleDecision { Sign = Preference.Never, Encrypt = Preference.Never };
        var options = Options(Can(true, true), Can(true, true), Smime, decision);

        var pgp = OutgoingPlanner.Plan(options, decision, new OutgoingChoice { Type = Pgp });
        var chosen = OutgoingPlanner.Plan(options, decision, new OutgoingChoice { Type = Pgp, Encrypt = true });

        Assert.Equal((Pgp, false, false), (pgp.Type, pgp.Sign, pgp.Encrypt));
        Assert.Equal((Pgp, false, true), (chosen.Type, chosen.Sign, chosen.Encrypt));
    }

    [Fact]
    public void A_chosen_type_that_is_neither_smime_nor_pgp_is_a_programming_error()
    {
        var options = Options(Can(true, true), Can(true, true), Smime);

        Assert.Throws<ArgumentException>(() => OutgoingPlanner.Plan(options, RuleDecision.Empty, new OutgoingChoice { Type = "smime" }));
    }

    /// <summary>
    /// Fail closed, over every combination: when encryption (or signing) is required — chosen, or required by a rule
    /// and not chosen — and the type cannot do it, the plan holds; a plan that sends always does what was required,
    /// never asks for the impossible, and never does what was chosen "no" or ruled "never" without a choice.
    /// </summary>
    [Fact]
    public void Every_combination_fails_closed()
    {
        Preference?[] rules = [null, Preference.Never, Preference.Preferred, Preference.Required];
        bool?[] choices = [null, true, false];
        string?[] types = [null, Smime, Pgp];
        bool[] flags = [false, true];
        var requiredAndImpossible = 0;
        var requiredAndSent = 0;
        foreach (var (signRule, encryptRule, signChoice, encryptChoice) in
                 from s in rules from e in rules from sc in choices from ec in choices select (s, e, sc, ec))
        {
            foreach (var (smime, pgp) in from a in Combinations(flags) from b in Combinations(flags) select (a, b))
            {
                foreach (var (defaultType, chosenType, signOn, encryptOn) in
                         from d in types from c in types from so in flags from eo in flags select (d, c, so, eo))
                {
                    var decision = new RuleDecision { Sign = signRule, Encrypt = encryptRule };
                    var options = Options(smime, pgp, defaultType, decision, signOn, encryptOn);
                    var choice = new OutgoingChoice { Sign = signChoice, Encrypt = encryptChoice, Type = chosenType };

                    var plan = OutgoingPlanner.Plan(options, decision, choice);

                    var type = chosenType ?? defaultType ?? Smime;
                    var can = type == Pgp ? pgp : smime;
                    var encryptRequired = encryptChoice ?? encryptRule == Preference.Required;
                    var signRequired = signChoice ?? signRule == Preference.Required;
                    var what = $"sign {signRule}/{signChoice}, encrypt {encryptRule}/{encryptChoice}, S/MIME {smime}, PGP {pgp}, default {defaultType}, chosen {chosenType}";
                    if ((encryptRequired && !can.Encryption.Possible) || (signRequired && !can.Sign.Possible)
                        || (encryptRule == Preference.Required && encryptChoice == false) || (signRule == Preference.Required && signChoice == false))
                    {
                        Assert.True(plan.IsHeld, $"sent, not held: {what}");
                        requiredAndImpossible += encryptRequired && !can.Encryption.Possible ? 1 : 0;
                        continue;
                    }

                    Assert.False(plan.IsHeld, $"held for no reason ({plan.Hold}): {what}");
                    Assert.Equal(type, plan.Type);
                    Assert.True(!encryptRequired || plan.Encrypt, $"not encrypted though required: {what}");
                    Assert.True(!signRequired || plan.Sign, $"not signed though required: {what}");
                    Assert.True(!plan.Encrypt || can.Encryption.Possible, $"asks to encrypt the impossible: {what}");
                    Assert.True(!plan.Sign || can.Sign.Possible, $"asks to sign the impossible: {what}");
                    Assert.True(!plan.Encrypt || encryptChoice == true || encryptRule != Preference.Never, $"encrypted against never: {what}");
                    Assert.True(!plan.Encrypt || encryptChoice != false, $"encrypted though chosen no: {what}");
                    Assert.True(!plan.Sign || (signChoice != false && (signChoice == true || signRule != Preference.Never)), $"signed against the choice or never: {what}");
                    requiredAndSent += encryptRequired ? 1 : 0;
                }
            }
        }

        Assert.True(requiredAndImpossible > 1000, $"only {requiredAndImpossible} required-and-impossible cases");
        Assert.True(requiredAndSent > 1000, $"only {requiredAndSent} required-and-sent cases");
    }

    private static IEnumerable<SecurityTypeOptions> Combinations(bool[] flags) =>
        from sign in flags from encrypt in flags select Can(sign, encrypt);

    /// <summary>The same decisions with options from a real store (S/MIME only) and the settings as the rules refine them.</summary>
    public sealed class WithAStore : IDisposable
    {
        private const string Sender = "support@org.example";
        private readonly TestStore _store = new();
        private readonly CertificateAuthority _ca = new();
        private readonly RSA _senderKey = RSA.Create(2048);

        public WithAStore()
        {
            var now = _store.Time.GetUtcNow();
            var sender = _ca.Issue("CN=Support", now.AddDays(-1), now.AddYears(2), [Sender], key: _senderKey);
            var alice = _ca.Issue("CN=Alice", now.AddDays(-1), now.AddYears(2), ["alice@customer.example"]);
            _store.Store.Import(
            [
                _ca.CaFile,
                CertificateAuthority.Pem("sender.crt", sender),
                new ImportFile("sender.key", Encoding.ASCII.GetBytes(_senderKey.ExportPkcs8PrivateKeyPem())),
                CertificateAuthority.Pem("alice.crt", alice),
            ]);
        }

        private OutgoingPlan Plan(RuleDecision decision, OutgoingChoice choice, params string[] recipients) =>
            OutgoingPlanner.Plan(new ComposerSecurity(_store.Store, new ComposerSettings().With(decision)).For(Sender, recipients), decision, choice);

        [Fact]
        public void The_default_rules_preferred_sign_and_encrypt_for_a_recipient_with_a_certificate()
        {
            var preferred = new RuleDecision { Sign = Preference.Preferred, Encrypt = Preference.Preferred };

            var plan = Plan(preferred, OutgoingChoice.None, "alice@customer.example");

            Assert.Equal((Smime, true, true, "signed and encrypted with S/MIME"), (plan.Type, plan.Sign, plan.Encrypt, plan.Description));
        }

        [Fact]
        public void Required_encryption_for_a_recipient_without_a_certificate_is_held_with_the_reason()
        {
            var plan = Plan(new RuleDecision { Encrypt = Preference.Required }, OutgoingChoice.None, "nobody@nowhere.example");

            Assert.Equal("cannot encrypt with S/MIME: The certificate for nobody@nowhere.example was not found.", plan.Hold);
        }

        [Fact]
        public void Preferred_encryption_for_two_recipients_signs_and_says_why_it_does_not_encrypt()
        {
            var plan = Plan(RuleDecision.Empty, OutgoingChoice.None, "alice@customer.example", "bob@customer.example");

            Assert.Equal("signed with S/MIME; this message will not be encrypted: Outgoing emails can only be encrypted for a single recipient.", plan.Description);
            Assert.Equal((true, false), (plan.Sign, plan.Encrypt));
        }

        [Fact]
        public void A_rules_never_turns_the_default_off_and_a_choice_turns_it_back_on()
        {
            var never = new RuleDecision { Sign = Preference.Never, Encrypt = Preference.Never };

            var byRule = Plan(never, OutgoingChoice.None, "alice@customer.example");
            var chosen = Plan(never, new OutgoingChoice { Encrypt = true }, "alice@customer.example");

            Assert.Equal((false, false), (byRule.Sign, byRule.Encrypt));
            Assert.Equal((false, true), (chosen.Sign, chosen.Encrypt));
        }

        [Fact]
        public void A_pgp_security_type_rule_does_not_pick_pgp_when_only_smime_can_do_anything()
        {
            var plan = Plan(new RuleDecision { SecurityType = RuleMail.Crypto.SecurityType.Pgp }, OutgoingChoice.None, "alice@customer.example");
            var forced = Plan(new RuleDecision { SecurityType = RuleMail.Crypto.SecurityType.Pgp, Encrypt = Preference.Required }, new OutgoingChoice { Type = Pgp }, "alice@customer.example");

            Assert.Equal((Smime, true, true), (plan.Type, plan.Sign, plan.Encrypt));
            Assert.Equal("cannot encrypt with PGP: The PGP key for alice@customer.example was not found.", forced.Hold);
        }

        public void Dispose()
        {
            _senderKey.Dispose();
            _ca.Dispose();
            _store.Dispose();
        }
    }
}
