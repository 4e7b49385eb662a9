using System.Net;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.State;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary>
/// Every operation the service maps, with the smallest role that may call it: a new operation must be added here (so
/// its role is a decision, not an accident), a token one role below gets 403, the role itself gets past access
/// (whatever its dummy request then earns: 400, 404, 415, 422, but never 401 or 403), and no token gets 401 — except
/// for the few that need none (health, the web UI's session), which never answer 401 or 403.
/// </summary>
public sealed class RoleMatrixTests(WebFixture service) : IClassFixture<WebFixture>
{
    /// <summary>Method, route pattern, the path a request uses, and the smallest role (null: no token needed).</summary>
    private static readonly (string Method, string Pattern, string Path, ApiRole? Role)[] Operations =
    [
        ("GET", "/healthz", "healthz", null),
        ("GET", "/readyz", "readyz", ApiRole.Viewer),
        ("GET", "/metrics", "metrics", ApiRole.Viewer),
        ("POST", "/api/v1/options", "api/v1/options", ApiRole.Viewer),
        ("POST", "/api/v1/check", "api/v1/check", ApiRole.Agent),
        ("POST", "/api/v1/compose", "api/v1/compose", ApiRole.Agent),
        ("POST", "/api/v1/accounts/{name}/outbox", "api/v1/accounts/nobody/outbox", ApiRole.Agent),
        ("GET", "/api/v1/outbox", "api/v1/outbox", ApiRole.Viewer),
        ("GET", "/api/v1/outbox/{id}", "api/v1/outbox/none", ApiRole.Viewer),
        ("POST", "/api/v1/outbox/{id}/release", "api/v1/outbox/none/release", ApiRole.Agent),
        ("GET", "/api/v1/keys", "api/v1/keys", ApiRole.Viewer),
        ("GET", "/api/v1/keys/{fingerprint}", "api/v1/keys/00", ApiRole.Viewer),
        ("POST", "/api/v1/keys", "api/v1/keys", ApiRole.Admin),
        ("DELETE", "/api/v1/keys/{fingerprint}", "api/v1/keys/0000000000000000000000000000000000000000000000000000000000000000", ApiRole.Admin),
        ("GET", "/api/v1/messages", "api/v1/messages", ApiRole.Viewer),
        ("GET", "/api/v1/messages/{id}", "api/v1/messages/x", ApiRole.Viewer),
        ("POST", "/api/v1/messages/{id}/retry", "api/v1/messages/x/retry", ApiRole.Admin),
        ("POST", "/api/v1/retry", "api/v1/retry", ApiRole.Admin),
        ("GET", "/api/v1/rules", "api/v1/rules", ApiRole.Viewer),
        ("POST", "/api/v1/rules/lint", "api/v1/rules/lint", ApiRole.Viewer),
        ("POST", "/api/v1/rules/test", "api/v1/rules/test", ApiRole.Agent),
        // The web UI's session: anyone may ask whether they are signed in, sign in (with a token in the form) and out.
        ("GET", "/ui/session", "ui/session", null),
        ("POST", "/ui/session", "ui/session", null),
        ("POST", "/ui/session/end", "ui/session/end", null),
    ];

    public static TheoryData<string, string> All { get; } = Rows();

    [Fact]
    public void Every_mapped_operation_has_a_role_here()
    {
        var mapped = service.Web.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && !raw.StartsWith("/openapi", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order(StringComparer.Ordinal);

        Assert.Equal(Operations.Select(o => $"{o.Method} {o.Pattern}").Order(StringComparer.Ordinal), mapped);
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Each_operation_admits_its_role_and_refuses_the_one_below(string method, string pattern)
    {
        var (_, _, path, role) = Operations.Single(o => o.Method == method && o.Pattern == pattern);
        var anonymous = await SendAsync(service.Web.Client(), method, path);
        if (role is not { } needed)
        {
            // No token needed: the dummy request gets its answer (an empty sign-in form earns 400), never 401 or 403.
            Assert.True(anonymous.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.InternalServerError),
                $"{method} {path} without a token: {anonymous.StatusCode}");
            return;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        var admitted = await SendAsync(await service.Web.ClientAsync(needed), method, path);
        Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{method} {path} as {needed}: {admitted.StatusCode}");
        Assert.NotEqual(HttpStatusCode.InternalServerError, admitted.StatusCode);
        if (needed > ApiRole.Viewer)
        {
            var below = await SendAsync(await service.Web.ClientAsync(needed - 1), method, path);
            Assert.Equal(HttpStatusCode.Forbidden, below.StatusCode);
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST")
        {
            request.Content = new ByteArrayContent([]);
        }

        return await client.SendAsync(request);
    }

    private static TheoryData<string, string> Rows()
    {
        var rows = new TheoryData<string, string>();
        foreach (var (method, pattern, _, _) in Operations)
        {
            rows.Add(method, pattern);
        }

        return rows;
    }
}
