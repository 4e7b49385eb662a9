using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RuleMail.Host.Scheduling;
using RuleMail.Host.State;
using RuleMail.Json;
using RuleMail.Web.Access;

namespace RuleMail.Web.Api;

/// <summary>
/// <c>GET /readyz</c> (viewer token): whether the service can do its work — key store unlocked, state answering, rules in
/// force, each scheduled account's last fetch and send through — as JSON; 200 when ready, 503 when not.
/// </summary>
internal static class ReadinessEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/readyz", ReadyAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Viewer))
            .WithName("readyz")
            .WithSummary("Readiness: key store, state, rules and each account's last fetch and send")
            .WithDescription("200 when every check passes, 503 with the same document when one does not. Under rulemail serve no account runs: its jobs show scheduled false and ok. A refused reload of the rules or the key store keeps what was in force and is reported in the check's detail, without making the service unready.")
            .Produces<ReadinessDocument>(StatusCodes.Status200OK)
            .Produces<ReadinessDocument>(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
    }

    private static async Task<IResult> ReadyAsync(HostReadiness readiness, CancellationToken cancellationToken)
    {
        var document = await readiness.CheckAsync(cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(document, statusCode: document.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
