using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Web.Tests.Support;

namespace RuleMail.Web.Tests.Api;

/// <summary>Answers the framework makes itself (too large, no route, wrong method) are problem JSON with one clear line too.</summary>
public sealed class ProblemTests(ProblemTests.Service service) : IClassFixture<ProblemTests.Service>, IAsyncLifetime
{
    private HttpClient _client = null!;

    public async Task InitializeAsync() => _client = await service.Web.ClientAsync(ApiRole.Agent);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_body_over_max_message_mb_is_refused_with_413()
    {
        using var content = new ByteArrayContent(new byte[(1024 * 1024) + 1]);
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        var response = await _client.PostAsync("api/v1/check", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("the request body is larger than http.max_message_mb (1 MB)", await DetailAsync(response));
    }

    [Fact]
    public async Task A_body_of_max_message_mb_is_taken()
    {
        var message = HostHarness.DemoMessage("plain");
        var padded = new byte[1024 * 1024];
        message.CopyTo(padded, 0);
        padded.AsSpan(message.Length).Fill((byte)'a');
        using var content = new ByteArrayContent(padded);
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");

        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsync("api/v1/check", content)).StatusCode);
    }

    [Fact]
    public async Task An_unknown_path_is_a_404_problem()
    {
        var response = await _client.GetAsync("api/v1/nothing-here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("there is nothing at /api/v1/nothing-here (/openapi/v1.json lists every operation)", await DetailAsync(response));
    }

    [Fact]
    public async Task A_wrong_method_is_a_405_problem()
    {
        var response = await _client.GetAsync("api/v1/options");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("GET is not allowed on /api/v1/options (/openapi/v1.json lists every operation)", await DetailAsync(response));
    }

    private static async Task<string?> DetailAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
    }

    /// <summary>The service with http.max_message_mb: 1.</summary>
    public sealed class Service : WebFixture
    {
        internal override void Configure(RuleMail.Host.Configuration.RuleMailConfig config) =>
            config.Http = new RuleMail.Host.Configuration.HttpConfig { MaxMessageMb = 1 };
    }
}
