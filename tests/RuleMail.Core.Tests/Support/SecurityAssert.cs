using System.Text.RegularExpressions;
using RuleMail.Crypto;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// Assertions over a <see cref="SecurityResult"/>. Comments are compared with the texts of
/// <see cref="SecurityComments"/>: exactly for constants and dated sentences, and as a family (the sentence
/// with its free parts, such as the signer's name, left open) where the test cannot know the free parts.
/// </summary>
internal static class SecurityAssert
{
    /// <summary>Stands for a free part when a <see cref="SecurityComments"/> function is called to make a template.</summary>
    public const string Any = "\u0001";

    public static void Signed(SecurityResult result, string type)
    {
        Assert.Equal(type, result.Type);
        Assert.NotNull(result.Sign);
        Assert.True(result.Sign.Success, $"the signature did not verify: {result.Sign.Comment}");
        Like(SecurityComments.SignedBy(Any, Any), result.Sign.Comment);
    }

    public static void Decrypted(SecurityResult result, string type)
    {
        Assert.Equal(type, result.Type);
        Assert.NotNull(result.Encryption);
        Assert.True(result.Encryption.Success, $"the message was not decrypted: {result.Encryption.Comment}");
        Like(SecurityComments.DecryptedFor(Any, Any), result.Encryption.Comment);
    }

    /// <summary>The signature failed with exactly <paramref name="comment"/>.</summary>
    public static void SignFailed(SecurityResult result, string type, string comment)
    {
        Assert.Equal(type, result.Type);
        Assert.NotNull(result.Sign);
        Assert.False(result.Sign.Success, $"the signature was accepted: {result.Sign.Comment}");
        Assert.Equal(comment, result.Sign.Comment);
    }

    /// <summary>The signature failed with a comment of the family <paramref name="template"/> (made with <see cref="Any"/>).</summary>
    public static void SignFailedLike(SecurityResult result, string type, string template)
    {
        Assert.Equal(type, result.Type);
        Assert.NotNull(result.Sign);
        Assert.False(result.Sign.Success, $"the signature was accepted: {result.Sign.Comment}");
        Like(template, result.Sign.Comment);
    }

    /// <summary>Decryption failed with exactly <paramref name="comment"/>.</summary>
    public static void DecryptionFailed(SecurityResult result, string type, string comment)
    {
        Assert.Equal(type, result.Type);
        Assert.NotNull(result.Encryption);
        Assert.False(result.Encryption.Success, $"the message was decrypted: {result.Encryption.Comment}");
        Assert.Equal(comment, result.Encryption.Comment);
    }

    public static void DecryptionFailedLike(SecurityResult result, string type, string template)
    {
        Assert.Equal(type, result.Type);
        Assert.NotNull(result.Encryption);
        Assert.False(result.Encryption.Success, $"the message was decrypted: {result.Encryption.Comment}");
        Like(template, result.Encryption.Comment);
    }

    /// <summary>
    /// <paramref name="actual"/> is <paramref name="template"/> with each <see cref="Any"/> replaced by some non-empty text.
    /// </summary>
    public static void Like(string template, string actual)
    {
        var pattern = "^" + string.Join("(.+)", template.Split(Any).Select(Regex.Escape)) + "$";
        Assert.True(
            Regex.IsMatch(actual, pattern, RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)),
            $"comment \"{actual}\" is not of the form \"{template.Replace(Any, "…", StringComparison.Ordinal)}\"");
    }
}
