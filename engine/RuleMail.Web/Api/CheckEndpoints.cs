using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RuleMail.Application;
using RuleMail.Crypto;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Json;
using RuleMail.Web.Access;

namespace RuleMail.Web.Api;

/// <summary>
/// <c>POST /api/v1/check</c>: one received message decrypted and verified, with the incoming rules as a dry run —
/// the same document as <c>rulemail check --json</c>; <c>?out=mime</c> adds the decrypted message.
/// </summary>
internal static class CheckEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/check", CheckAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Agent))
            .WithName("check")
            .WithSummary("Decrypt and verify one message; dry-run the incoming rules")
            .WithDescription("The body is the message as received (message/rfc822). account: the receiving account (name or address), whose keys are tried first. out=mime adds the decrypted message, base64, when it was decrypted and its integrity is established (authenticated encryption, OpenPGP MDC, or a valid signature), as a webhook gets it.")
            .AcceptsMessage()
            .Produces<CheckDocument>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
    }

    private static async Task<IResult> CheckAsync(
        HttpRequest request, IncomingAnalysis analysis, RuleMailConfig config, string? account, string? @out, CancellationToken cancellationToken)
    {
        if (@out is not (null or "mime"))
        {
            return Problems.ApiProblem.Result(StatusCodes.Status400BadRequest, $"out must be mime, not '{@out}'");
        }

        var (body, refusal) = await MessageBody.ReadAsync(request, cancellationToken).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        using var verdict = analysis.Analyse(body!, config.AccountAddress(account, from: null));
        // Webhook URLs redacted: an agent checks mail, it does not read the rules' credentials.
        var document = CheckDocument.From(verdict.Security, verdict.Rules).Redacted();
        if (@out == "mime" && Integrity.Held(verdict.Security))
        {
            // Only plaintext that cannot have been changed unnoticed leaves, as for a webhook: never CBC-only S/MIME
            // without a signature, never a message that failed its integrity check.
            using var decrypted = new MemoryStream();
            verdict.Message.WriteTo(decrypted, cancellationToken);
            document = document with { Mime = Convert.ToBase64String(decrypted.GetBuffer(), 0, (int)decrypted.Length) };
        }

        return TypedResults.Ok(document);
    }
}
