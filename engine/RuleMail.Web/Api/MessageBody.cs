using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace RuleMail.Web.Api;

/// <summary>
/// A request body that is a whole message (<c>message/rfc822</c>): read to its end into a buffer that spills to a
/// temporary file past 1 MB (Kestrel has already bounded it by <c>http.max_message_mb</c>), then rewound, so the
/// analysis can read it as the seekable stream it needs.
/// </summary>
internal static class MessageBody
{
    private const int InMemoryBytes = 1024 * 1024;

    /// <summary>The media types a message may be sent as.</summary>
    public static readonly string[] MediaTypes = ["message/rfc822", "application/octet-stream"];

    /// <summary>Null (with the answer to give) when the body is not a message; else the rewound body.</summary>
    public static async Task<(Stream? Body, IResult? Refusal)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var type = request.ContentType?.Split(';')[0].Trim();
        if (type is null || !MediaTypes.Contains(type, StringComparer.OrdinalIgnoreCase))
        {
            return (null, Problems.ApiProblem.Result(StatusCodes.Status415UnsupportedMediaType,
                $"send the message as Content-Type: message/rfc822, not {type ?? "no content type"}"));
        }

        request.EnableBuffering(InMemoryBytes);
        await request.Body.DrainAsync(cancellationToken).ConfigureAwait(false);
        if (request.Body.Length == 0)
        {
            return (null, Problems.ApiProblem.Result(StatusCodes.Status400BadRequest, "the body is empty: send the message as it was received"));
        }

        request.Body.Position = 0;
        return (request.Body, null);
    }
}
