using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary><c>/openapi/v1.json</c> describes every operation the service maps, with a summary and the bearer scheme.</summary>
public sealed class OpenApiTests(WebFixture service) : IClassFixture<WebFixture>
{
    [Fact]
    public async Task Every_mapped_operation_is_in_the_document_with_a_summary()
    {
        using var client = service.Web.Client();
        var document = JsonDocument.Parse(await client.GetStringAsync("openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");

        var mapped = service.Web.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && (raw.StartsWith("/api/", StringComparison.Ordinal) || raw.EndsWith('z')))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Path: e.RoutePattern.RawText!, Method: m.ToLowerInvariant())))
            .ToList();
        Assert.Contains(mapped, m => m.Path == "/api/v1/options");
        foreach (var (path, method) in mapped)
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is not in the OpenAPI document");
            Assert.True(item.TryGetProperty(method, out var operation), $"{method} {path} is not in the OpenAPI document");
            Assert.True(operation.TryGetProperty("summary", out var summary) && summary.GetString()!.Length > 0, $"{method} {path} has no summary");
        }

        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
    }
}
