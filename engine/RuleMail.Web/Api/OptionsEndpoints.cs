using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using RuleMail.Application;
using RuleMail.Composer;
using RuleMail.Crypto;
using RuleMail.Host.Configuration;
using RuleMail.Web.Problems;

namespace RuleMail.Web.Api;

/// <summary><c>POST /api/v1/options</c>: the composer's Sign and Encrypt buttons, the same JSON as <c>rulemail options --json</c>.</summary>
internal static class OptionsEndpoints
{
    /// <summary>
    /// The most addresses one request may name in to, cc and bcc together (<c>/options</c>, <c>/compose</c>): a composer
    /// names a few, and each costs key-store lookups (and for Bcc a copy of its own).
    /// </summary>
    public const int MaxAddresses = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/options", Options)
            .WithName("options")
            .WithSummary("The composer's security options (buttons) for a sender and recipients")
            .WithDescription("The Sign and Encrypt buttons with their hover texts, what each security type can do, the Bcc copies, and the outgoing rule that made a protection required or forbidden (decided_by).")
            .Accepts<OptionsRequest>("application/json")
            .Produces<SecurityOptions>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
    }

    private static Results<Ok<SecurityOptions>, ProblemHttpResult> Options(
        [FromBody] OptionsRequest request, OutgoingProcessing outgoing, RuleMailConfig config)
    {
        if (Draft(request.From, request.To, request.Cc, request.Bcc, request.Account, config, out var draft) is { } refused)
        {
            return refused;
        }

        if (request.Type is not null)
        {
            if (!SecurityTypes.TryParse(request.Type, out var type))
            {
                return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, $"type must be smime or pgp, not '{request.Type}'");
            }

            draft = draft! with { Type = type.Name() };
        }

        try
        {
            return TypedResults.Ok(outgoing.Options(draft!).Options);
        }
        catch (FormatException e)
        {
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, e.Message);
        }
    }

    /// <summary>The draft of a request's addresses; a problem when <paramref name="from"/> is missing or there are too many addresses.</summary>
    public static ProblemHttpResult? Draft(
        string? from, string[]? to, string[]? cc, string[]? bcc, string? account, RuleMailConfig config, out OutgoingDraft? draft)
    {
        draft = null;
        if (string.IsNullOrWhiteSpace(from))
        {
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, "from: the sender's address is required");
        }

        var count = (to?.Length ?? 0) + (cc?.Length ?? 0) + (bcc?.Length ?? 0);
        if (count > MaxAddresses)
        {
            return ApiProblem.Result(StatusCodes.Status400BadRequest, $"to, cc, bcc: at most {MaxAddresses} addresses in all, not {count}");
        }

        if ((to ?? []).Concat(cc ?? []).Concat(bcc ?? []).Any(a => a is null))
        {
            return ApiProblem.Result(StatusCodes.Status422UnprocessableEntity, "to, cc, bcc: an address is null; give each as a string");
        }

        draft = new OutgoingDraft(from, to ?? [], cc ?? [], bcc ?? [], config.AccountAddress(account, from));
        return null;
    }
}
