using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Composer;

/// <summary>
/// Decides what happens to an outgoing message from the outgoing rules' decision, the composer's options for
/// its sender and recipients, and what the person chose. <c>rulemail compose</c> and the host's send job both
/// ask here, so a message is protected the same way whichever path it takes.
/// </summary>
/// <remarks>
/// <para>In this order:</para>
/// <list type="number">
/// <item>A rule's <c>hold</c> holds the message.</item>
/// <item>The type is the chosen one, else the composer's default type (<see cref="SecurityOptions.Type"/>, where
/// the rules' <c>security_type</c> already counts), else S/MIME.</item>
/// <item>Choosing "no" for a protection a rule <c>required</c> holds the message.</item>
/// <item>A protection is required when chosen, or when a rule requires it and nothing was chosen; required and
/// impossible with the type holds the message: never send unsigned or plaintext in place of what was required.</item>
/// <item>Otherwise it is off when chosen "no" or when a rule says <c>never</c>, and else it is the button's
/// default: the button's state for the composer's default type, or whether it is possible for the other type.</item>
/// </list>
/// <para>Pure and thread-safe.</para>
/// </remarks>
public static class OutgoingPlanner
{
    /// <summary>The plan for one message.</summary>
    /// <param name="options">
    /// The composer's options for the message's sender and To + Cc recipients, made with the site settings as the same
    /// <paramref name="decision"/> refines them: <c>new ComposerSecurity(store, settings.With(decision)).For(from, recipients)</c>.
    /// </param>
    /// <param name="decision">What the outgoing rules decided for the message.</param>
    /// <param name="choice">What the person chose; <see cref="OutgoingChoice.None"/> when nothing.</param>
    /// <exception cref="ArgumentException"><paramref name="choice"/> names a type that is neither S/MIME nor PGP.</exception>
    public static OutgoingPlan Plan(SecurityOptions options, RuleDecision decision, OutgoingChoice choice)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(choice);

        var type = choice.Type switch
        {
            null => options.Type ?? SecurityResult.SmimeType,
            SecurityResult.SmimeType or SecurityResult.PgpType => choice.Type,
            _ => throw new ArgumentException(
                $"'{choice.Type}' is not {SecurityResult.SmimeType} or {SecurityResult.PgpType}", nameof(choice)),
        };
        if (decision.Hold is { } hold)
        {
            return OutgoingPlan.Held($"held by the outgoing rules: {hold}");
        }

        if ((SwitchedOffAgainstRules(decision.Sign, choice.Sign, "signing")
             ?? SwitchedOffAgainstRules(decision.Encrypt, choice.Encrypt, "encryption")) is { } refusal)
        {
            return OutgoingPlan.Held(refusal);
        }

        var typeOptions = type == SecurityResult.PgpType ? options.Pgp : options.Smime;
        var isDefaultType = type == options.Type;
        var signRequired = choice.Sign ?? decision.Sign == Preference.Required;
        var encryptRequired = choice.Encrypt ?? decision.Encrypt == Preference.Required;
        if (signRequired && !typeOptions.Sign.Possible)
        {
            return OutgoingPlan.Held($"cannot sign with {type}: {typeOptions.Sign.Message}");
        }

        if (encryptRequired && !typeOptions.Encryption.Possible)
        {
            return OutgoingPlan.Held($"cannot encrypt with {type}: {typeOptions.Encryption.Message}");
        }

        var sign = signRequired || ByDefault(decision.Sign, choice.Sign, typeOptions.Sign, isDefaultType ? options.Sign.Active : typeOptions.Sign.Possible);
        var encrypt = encryptRequired
            || ByDefault(decision.Encrypt, choice.Encrypt, typeOptions.Encryption, isDefaultType ? options.Encrypt.Active : typeOptions.Encryption.Possible);
        var description = (sign, encrypt) switch
        {
            (true, true) => $"signed and encrypted with {type}",
            (true, false) => $"signed with {type}; {SecurityTexts.WillNotBeEncrypted[..^1].ToLowerInvariant()}: {typeOptions.Encryption.Message}",
            (false, true) => $"encrypted with {type}, not signed",
            _ => "neither signed nor encrypted",
        };
        return OutgoingPlan.Send(type, sign, encrypt, description);
    }

    /// <summary>Why choosing "no" is refused: a rule requires the protection. Null when it is not refused.</summary>
    private static string? SwitchedOffAgainstRules(Preference? rule, bool? chosen, string what) =>
        rule == Preference.Required && chosen == false ? $"the outgoing rules require {what}; it cannot be switched off" : null;

    /// <summary>Not chosen and not ruled out: the button's default, when possible.</summary>
    private static bool ByDefault(Preference? rule, bool? chosen, Possibility possibility, bool onByDefault) =>
        chosen is null && rule != Preference.Never && onByDefault && possibility.Possible;
}
