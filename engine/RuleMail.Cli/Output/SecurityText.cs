using MimeKit;
using RuleMail.Crypto;

namespace RuleMail.Cli.Output;

/// <summary>A security result as the seed's incoming icons and hover texts show it.</summary>
internal static class SecurityText
{
    public const string Encrypted = "This message was encrypted for you.";
    public const string NotDecrypted = "This message can not be decrypted.";
    public const string Verified = "This message’s signature has been successfully verified.";
    public const string NotVerified = "The verification of the signature of this message has failed.";
    public const string Warning = "⚠️";

    public static void Write(TextWriter output, MimeMessage message, SecurityResult security)
    {
        output.WriteLine($"Message:  {message.Subject ?? "(no subject)"}");
        output.WriteLine($"From:     {string.Join(", ", message.From.Mailboxes.Select(m => m.Address))}");
        output.WriteLine($"Security: {security.Type ?? "none"}");
        if (security.Encryption is { } encryption)
        {
            output.WriteLine(encryption.Success
                ? $"🔒 Encryption: {Encrypted} {encryption.Comment}"
                : $"{Warning} Encryption: {NotDecrypted} {encryption.Comment}");
        }

        if (security.Sign is { } sign)
        {
            output.WriteLine(sign.Success
                ? $"✅ Sign: {Verified} {sign.Comment}"
                : $"{Warning} Sign: {NotVerified} {sign.Comment}");
        }

        if (security.Encryption is null && security.Sign is null)
        {
            output.WriteLine("This message is neither signed nor encrypted.");
        }
    }

    /// <summary>The seed's incoming icons for a result, as <c>run</c> and <c>retry</c> list messages (a warning alone: not analysed).</summary>
    public static string Icons(SecurityResult? security)
    {
        if (security is null)
        {
            return Warning;
        }

        var icons = new List<string>();
        if (security.Encryption is { } encryption)
        {
            icons.Add(encryption.Success ? "🔒" : Warning + "🔒");
        }

        if (security.Sign is { } sign)
        {
            icons.Add(sign.Success ? "✅" : Warning + "✅");
        }

        return icons.Count == 0 ? "✉️" : string.Join(' ', icons);
    }

    /// <summary>A result's lines with the seed's hover texts and the comment (none when not analysed).</summary>
    public static IEnumerable<string> Reasons(SecurityResult? security)
    {
        if (security is null)
        {
            yield break;
        }

        if (security.Encryption is { } encryption)
        {
            yield return encryption.Success ? $"{Encrypted} {encryption.Comment}" : $"{NotDecrypted} {encryption.Comment}";
        }

        if (security.Sign is { } sign)
        {
            yield return sign.Success ? $"{Verified} {sign.Comment}" : $"{NotVerified} {sign.Comment}";
        }

        if (security.Encryption is null && security.Sign is null)
        {
            yield return "Neither signed nor encrypted.";
        }
    }
}
