using System.Globalization;
using System.Text.Json.Nodes;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Rules;

/// <summary>
/// The message as rules see it (DESIGN.md "message model"): <c>direction</c>, <c>account</c>, <c>from</c>,
/// <c>to</c>, <c>cc</c>, <c>bcc</c> (addresses with <c>address</c>, <c>name</c>, <c>domain</c>), <c>subject</c>,
/// <c>date</c>, <c>size</c>, <c>headers</c> (lower-case names, first value), <c>text</c> (the decrypted body
/// text), <c>attachments</c> (<c>name</c>, <c>type</c>, <c>size</c>) and <c>security</c>. A plain JSON-like
/// tree: YAML conditions walk it by path and JavaScript rules receive a frozen copy of it.
/// </summary>
public sealed class RuleMessage
{
    /// <summary>The <c>direction</c> of a received message.</summary>
    public const string Incoming = "incoming";

    /// <summary>The <c>direction</c> of a message going out.</summary>
    public const string Outgoing = "outgoing";

    private RuleMessage(JsonObject root) => Root = root;

    /// <summary>The model; treat as read-only.</summary>
    public JsonObject Root { get; }

    public static RuleMessage From(MimeMessage message, SecurityResult? security, string direction, string? account = null, long? size = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var headers = new JsonObject();
        foreach (var header in message.Headers)
        {
            var name = header.Field.ToLowerInvariant();
            if (!headers.ContainsKey(name))
            {
                headers[name] = header.Value;
            }
        }

        var attachments = new JsonArray();
        foreach (var part in message.Attachments.OfType<MimePart>())
        {
            attachments.Add(new JsonObject
            {
                ["name"] = part.FileName,
                ["type"] = part.ContentType.MimeType.ToLowerInvariant(),
                ["size"] = part.Content?.Stream is { CanSeek: true } stream ? stream.Length : 0,
            });
        }

        var root = new JsonObject
        {
            ["direction"] = direction,
            ["account"] = MailAddresses.Normalize(account),
            ["from"] = message.From.Mailboxes.Select(Address).FirstOrDefault(),
            ["to"] = new JsonArray([.. message.To.Mailboxes.Select(Address)]),
            ["cc"] = new JsonArray([.. message.Cc.Mailboxes.Select(Address)]),
            ["bcc"] = new JsonArray([.. message.Bcc.Mailboxes.Select(Address)]),
            ["subject"] = message.Subject ?? string.Empty,
            ["date"] = message.Date == DateTimeOffset.MinValue ? null : message.Date.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
            ["size"] = size ?? 0,
            ["headers"] = headers,
            ["text"] = message.TextBody ?? message.HtmlBody ?? string.Empty,
            ["attachments"] = attachments,
            ["security"] = security is null ? null : new JsonObject
            {
                ["type"] = security.Type,
                ["sign"] = Outcome(security.Sign),
                ["encryption"] = Outcome(security.Encryption),
            },
        };
        return new RuleMessage(root);
    }

    /// <summary>
    /// The values at <paramref name="path"/> (dot-separated). Lists along the way are flattened, so
    /// <c>to.domain</c> yields every recipient's domain; a missing field yields nothing.
    /// </summary>
    public IReadOnlyList<JsonNode?> Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        IEnumerable<JsonNode?> current = [Root];
        foreach (var segment in path.Split('.'))
        {
            current = current.SelectMany(node => Step(node, segment));
        }

        return [.. current.SelectMany(Flatten)];
    }

    private static IEnumerable<JsonNode?> Step(JsonNode? node, string segment) => node switch
    {
        JsonObject obj => Lookup(obj, segment),
        JsonArray array => array.SelectMany(item => Step(item, segment)),
        _ => [],
    };

    private static IEnumerable<JsonNode?> Lookup(JsonObject obj, string segment)
    {
        if (obj.TryGetPropertyValue(segment, out var value))
        {
            return [value];
        }

        // Header names and the like are matched without regard to case.
        var match = obj.FirstOrDefault(p => string.Equals(p.Key, segment, StringComparison.OrdinalIgnoreCase));
        return match.Key is null ? [] : [match.Value];
    }

    private static IEnumerable<JsonNode?> Flatten(JsonNode? node) => node is JsonArray array ? array : new[] { node };

    private static JsonObject Address(MailboxAddress mailbox)
    {
        var address = MailAddresses.Normalize(mailbox.Address) ?? mailbox.Address;
        return new JsonObject
        {
            ["address"] = address,
            ["name"] = mailbox.Name ?? string.Empty,
            ["domain"] = MailAddresses.Domain(address),
        };
    }

    /// <summary>The contract's <c>success</c> and <c>comment</c>, and the facts beside them (only those known).</summary>
    private static JsonObject? Outcome(SecurityOutcome? outcome)
    {
        if (outcome is null)
        {
            return null;
        }

        var json = new JsonObject { ["success"] = outcome.Success, ["comment"] = outcome.Comment };
        if (outcome.Signer is { } signer)
        {
            json["signer"] = new JsonObject { ["address"] = signer.Address, ["fingerprint"] = signer.Fingerprint };
        }

        if (outcome.Digest is { } digest)
        {
            json["digest"] = digest;
        }

        if (outcome.Key is { } key)
        {
            json["key"] = new JsonObject { ["algorithm"] = key.Algorithm, ["bits"] = key.Bits };
        }

        if (outcome.Cipher is { } cipher)
        {
            json["cipher"] = cipher;
        }

        if (outcome.Integrity is { } integrity)
        {
            json["integrity"] = integrity;
        }

        return json;
    }
}
