using System.Diagnostics.CodeAnalysis;
using MimeKit;
using RuleMail.Crypto;

namespace RuleMail.Composer;

/// <summary>
/// What the person (or the ticket system on their behalf) chose for one outgoing message: the state they set
/// the ✅ Sign and 🔒 Encrypt buttons to, and the security type. Null means "not chosen": the outgoing rules and
/// the buttons' defaults decide. <c>compose</c> takes it from <c>--sign</c>/<c>--no-sign</c>,
/// <c>--encrypt</c>/<c>--no-encrypt</c> and <c>--type</c>; an outbox message carries it as the headers
/// <c>X-RuleMail-Sign: yes|no</c>, <c>X-RuleMail-Encrypt: yes|no</c> and <c>X-RuleMail-Type: smime|pgp</c>.
/// </summary>
/// <remarks><see cref="OutgoingPlanner"/> turns it, the rules' decision and the composer's options into a plan.</remarks>
public sealed record OutgoingChoice
{
    /// <summary>The header that carries <see cref="Sign"/>.</summary>
    public const string SignHeader = "X-RuleMail-Sign";

    /// <summary>The header that carries <see cref="Encrypt"/>.</summary>
    public const string EncryptHeader = "X-RuleMail-Encrypt";

    /// <summary>The header that carries <see cref="Type"/>.</summary>
    public const string TypeHeader = "X-RuleMail-Type";

    private const string Yes = "yes";
    private const string No = "no";

    /// <summary>Nothing chosen: the rules and the buttons' defaults decide everything.</summary>
    public static OutgoingChoice None { get; } = new();

    /// <summary>True: sign, and hold rather than send unsigned; false: do not sign; null: not chosen.</summary>
    public bool? Sign { get; init; }

    /// <summary>True: encrypt, and hold rather than send plaintext; false: do not encrypt; null: not chosen.</summary>
    public bool? Encrypt { get; init; }

    /// <summary><see cref="SecurityResult.SmimeType"/>, <see cref="SecurityResult.PgpType"/>, or null: the composer's default type.</summary>
    public string? Type { get; init; }

    /// <summary>
    /// Reads the choice from <paramref name="message"/>'s top-level <c>X-RuleMail-*</c> headers. Values are
    /// trimmed and compared ignoring case: <c>yes</c>/<c>no</c> for sign and encrypt, <c>smime</c>/<c>pgp</c>
    /// (or <c>S/MIME</c>, as the options' <c>type</c> spells it) for the type. A missing header is "not chosen".
    /// </summary>
    /// <returns>
    /// False with a one-line <paramref name="error"/> when a value is not one of those, when one header comes
    /// twice with different values, or when another <c>X-RuleMail-*</c> header is present (a misspelt
    /// <c>X-RuleMail-Encrypt</c> must not quietly send plaintext). RuleMail never writes such headers itself.
    /// </returns>
    public static bool TryFromHeaders(MimeMessage message, [NotNullWhen(true)] out OutgoingChoice? choice, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(message);
        choice = null;
        var unknown = message.Headers.FirstOrDefault(h => IsOwn(h.Field) && !IsChoiceHeader(h.Field));
        if (unknown is not null)
        {
            error = $"{unknown.Field}: not a RuleMail header (only {SignHeader}, {EncryptHeader} and {TypeHeader} are)";
            return false;
        }

        if (!TryRead(message, SignHeader, YesNo, "yes or no", out var sign, out error)
            || !TryRead(message, EncryptHeader, YesNo, "yes or no", out var encrypt, out error)
            || !TryRead(message, TypeHeader, TypeName, "smime or pgp", out var type, out error))
        {
            return false;
        }

        choice = new OutgoingChoice { Sign = sign is null ? null : sign == Yes, Encrypt = encrypt is null ? null : encrypt == Yes, Type = type };
        return true;
    }

    /// <summary>
    /// Writes this choice into <paramref name="message"/>'s <c>X-RuleMail-*</c> headers as <see cref="TryFromHeaders"/>
    /// reads them (what is not chosen is left out): a message composed in the web UI goes into the outbox as a ticket
    /// system's dropped file would.
    /// </summary>
    public void WriteHeaders(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        OwnHeaders.Remove(message);
        if (Sign is { } sign)
        {
            message.Headers.Add(SignHeader, sign ? Yes : "no");
        }

        if (Encrypt is { } encrypt)
        {
            message.Headers.Add(EncryptHeader, encrypt ? Yes : "no");
        }

        if (Type is { } type && SecurityTypes.TryParse(type, out var parsed))
        {
            message.Headers.Add(TypeHeader, parsed.Key());
        }
    }

    /// <summary>
    /// Removes every <c>X-RuleMail-*</c> header from <paramref name="message"/> (its own headers and its root
    /// part's), so none of them is sent.
    /// </summary>
    public static void RemoveHeaders(MimeMessage message) => OwnHeaders.Remove(message);

    private static bool IsOwn(string field) => OwnHeaders.IsOwn(field);

    private static bool IsChoiceHeader(string field) =>
        field.Equals(SignHeader, StringComparison.OrdinalIgnoreCase)
        || field.Equals(EncryptHeader, StringComparison.OrdinalIgnoreCase)
        || field.Equals(TypeHeader, StringComparison.OrdinalIgnoreCase);

    /// <summary>The header's value as <paramref name="canonical"/> spells it; null (and true) when the header is absent.</summary>
    private static bool TryRead(MimeMessage message, string name, Func<string, string?> canonical, string expected, out string? value, [NotNullWhen(false)] out string? error)
    {
        value = null;
        error = null;
        foreach (var header in message.Headers.Where(h => h.Field.Equals(name, StringComparison.OrdinalIgnoreCase)))
        {
            var text = header.Value?.Trim() ?? string.Empty;
            if (canonical(text) is not { } parsed)
            {
                error = $"{name}: '{text}' is not {expected}";
                return false;
            }

            if (value is not null && value != parsed)
            {
                error = $"{name}: given more than once, with different values";
                return false;
            }

            value = parsed;
        }

        return true;
    }

    private static string? YesNo(string text) => text.ToUpperInvariant() switch
    {
        "YES" => Yes,
        "NO" => No,
        _ => null,
    };

    private static string? TypeName(string text) => SecurityTypes.TryParse(text, out var type) ? type.Name() : null;
}
