using System.Security.Cryptography;
using System.Text;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// Every file of a store folder in every form a secret could hide in: the raw bytes, the base64 payload
/// of each PEM block, and the binary behind OpenPGP armor.
/// </summary>
internal static class StoreContents
{
    public static IEnumerable<(string File, byte[] Bytes)> AllForms(string root)
    {
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetRelativePath(root, file);
            var raw = File.ReadAllBytes(file);
            yield return (name, raw);

            var text = Encoding.ASCII.GetString(raw);
            if (text.Contains("-----BEGIN PGP ", StringComparison.Ordinal))
            {
                yield return (name + " (dearmored)", Pgp.Dearmor(raw));
                continue;
            }

            var rest = text.AsMemory();
            while (PemEncoding.TryFind(rest.Span, out var fields))
            {
                yield return ($"{name} (PEM {rest.Span[fields.Label]})", Convert.FromBase64String(rest.Span[fields.Base64Data].ToString()));
                rest = rest[fields.Location.End..];
            }
        }
    }

    /// <summary>Fails naming the file when <paramref name="needle"/> occurs anywhere in the store.</summary>
    public static void AssertNowhere(string root, byte[] needle, string what)
    {
        Assert.True(needle.Length >= 8, $"{what}: a needle of {needle.Length} bytes proves nothing");
        foreach (var (file, bytes) in AllForms(root))
        {
            Assert.False(bytes.AsSpan().IndexOf(needle) >= 0, $"{what} occurs in {file}");
        }
    }
}
