using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RuleMail.Web.Api;

/// <summary><c>GET /healthz</c>: the process is alive and serving (no token needed; it says nothing else).</summary>
internal static class HealthEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Text("ok\n", "text/plain"))
            .AllowAnonymous()
            .WithName("healthz")
            .WithSummary("Liveness: the process is running")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
    }
}
