using MimeKit;

namespace RuleMail.Crypto;

/// <summary>
/// RuleMail's own headers, <c>X-RuleMail-*</c>: the composer's choice on a submitted message, nothing else. Whatever
/// arrives from outside carrying them is never trusted, and none of them is ever sent — both sides remove them here.
/// </summary>
public static class OwnHeaders
{
    /// <summary>The prefix of every RuleMail header.</summary>
    public const string Prefix = "X-RuleMail-";

    /// <summary>Whether <paramref name="field"/> is a RuleMail header name (any case).</summary>
    public static bool IsOwn(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return field.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Removes every RuleMail header of <paramref name="headers"/>.</summary>
    public static void Remove(HeaderList headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        for (var i = headers.Count - 1; i >= 0; i--)
        {
            if (IsOwn(headers[i].Field))
            {
                headers.RemoveAt(i);
            }
        }
    }

    /// <summary>Removes every RuleMail header of <paramref name="message"/>: its own and every part's, attached messages included.</summary>
    public static void Remove(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Remove(message.Headers);
        Remove(message.Body, depth: 0);
    }

    private static void Remove(MimeEntity? entity, int depth)
    {
        // The depth bound keeps a hostile nesting from recursing without end (the parser bounds it too).
        if (entity is null || depth > 64)
        {
            return;
        }

        Remove(entity.Headers);
        switch (entity)
        {
            case Multipart multipart:
                foreach (var part in multipart)
                {
                    Remove(part, depth + 1);
                }

                break;
            case MessagePart { Message: { } attached }:
                Remove(attached.Headers);
                Remove(attached.Body, depth + 1);
                break;
        }
    }
}
