using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.Processing;
using RuleMail.Host.State;
using RuleMail.Web.Access;

namespace RuleMail.Web.Api;

/// <summary>
/// <c>GET /metrics</c>: Prometheus text (viewer token) — messages by account, security status and state, actions by
/// kind and outcome, fetch and send durations, held and failed outbox messages, days until each key expires, and the
/// process's own figures. On the API's port; Prometheus sends the token with <c>authorization: {credentials_file}</c>.
/// </summary>
internal static class MetricsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        // The adapter listens from now on: a message counted before the first scrape is not lost.
        _ = app.ServiceProvider.GetRequiredService<MetricsExport>();
        app.MapGet("/metrics", WriteAsync)
            .RequireAuthorization(ApiAccess.Policy(ApiRole.Viewer))
            .WithName("metrics")
            .WithSummary("Prometheus metrics")
            .WithDescription("Prometheus text format 0.0.4 (OpenMetrics when the Accept header asks for it). rulemail_messages_total{account,status,state}, rulemail_actions_total{account,kind,outcome}, rulemail_fetch_duration_seconds and rulemail_send_duration_seconds{account,outcome} (histograms), rulemail_outbox_messages{account,state=held|failed}, rulemail_key_expiry_days{fingerprint,kind,address}, and the process's CPU, memory and GC figures. Needs a viewer token.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .ProducesProblem(StatusCodes.Status401Unauthorized);
    }

    private static async Task WriteAsync(HttpContext context, MetricsExport export, RuleMailMetrics metrics, CancellationToken cancellationToken)
    {
        // The gauges' callbacks cannot wait for the state: the outbox counts are read here first (at most every 10 s).
        await metrics.RefreshOutboxAsync(RuleMailMetrics.OutboxCountsMaxAge, cancellationToken).ConfigureAwait(false);
        await export.WriteAsync(context).ConfigureAwait(false);
    }
}
