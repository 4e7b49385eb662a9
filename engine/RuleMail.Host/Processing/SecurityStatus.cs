using RuleMail.Crypto;

namespace RuleMail.Host.Processing;

/// <summary>A security result in words, for notices and logs (the CLI prints it with the seed's icons).</summary>
internal static class SecurityStatus
{
    public static string Describe(SecurityResult? security)
    {
        if (security is null)
        {
            return "not analysed";
        }

        var parts = new List<string>();
        if (security.Encryption is { } encryption)
        {
            parts.Add(encryption.Success ? $"encrypted ({encryption.Comment})" : $"could not be decrypted: {encryption.Comment}");
        }

        if (security.Sign is { } sign)
        {
            parts.Add(sign.Success ? $"signature verified ({sign.Comment})" : $"signature verification failed: {sign.Comment}");
        }

        return parts.Count == 0 ? "neither signed nor encrypted" : $"{security.Type}: {string.Join("; ", parts)}";
    }

    /// <summary>True when a signature or decryption failed: the mail the default rules quarantine.</summary>
    public static bool Failed(SecurityResult? security) =>
        security?.Sign is { Success: false } || security?.Encryption is { Success: false };
}
