using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RuleMail.Host.Actions;

/// <summary>
/// A webhook call as its side effect stores it: the exact body and, for a signed webhook, the <em>name</em> of the
/// variable holding the secret — never the secret, which is read when the request is sent. An unsigned call stores
/// its body alone (as before signing existed); a signed one stores <c>{"secret_env": VAR, "body": BODY}</c>, so a
/// retry after a restart sends the same bytes under the same signature.
/// </summary>
internal sealed record WebhookRequest(string Body, string? SecretEnv)
{
    /// <summary>The header carrying the signature: <c>sha256=</c> and the lowercase hex HMAC-SHA256 of the body.</summary>
    public const string SignatureHeader = "X-RuleMail-Signature";

    /// <summary>How a signed request starts where it is stored; a webhook body starts with <c>{"account":</c>.</summary>
    private const string SignedStart = "{\"secret_env\":";

    /// <summary>What the side effect stores for this request.</summary>
    public string Stored()
    {
        if (SecretEnv is null)
        {
            return Body;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("secret_env", SecretEnv);
            writer.WriteString("body", Body);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The request a side effect stored (see <see cref="Stored"/>); an empty object for none.</summary>
    public static WebhookRequest Read(string? stored)
    {
        if (stored is null)
        {
            return new WebhookRequest("{}", null);
        }

        if (!stored.StartsWith(SignedStart, StringComparison.Ordinal))
        {
            return new WebhookRequest(stored, null);
        }

        using var document = JsonDocument.Parse(stored);
        var root = document.RootElement;
        return new WebhookRequest(root.GetProperty("body").GetString()!, root.GetProperty("secret_env").GetString());
    }

    /// <summary>The signature header's value for <paramref name="body"/> under <paramref name="secret"/> (its UTF-8 bytes).</summary>
    public static string Signature(ReadOnlySpan<byte> body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
