using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;
using RuleMail.Keys;

namespace RuleMail.Web.Tests.Support;

/// <summary>
/// The real service for one test: <see cref="RuleMailWebHost.Build"/> on the test's <see cref="HostHarness"/>
/// (sample key store, shipped rules, SQLite state in a temp folder), Kestrel on a free loopback port, and clients
/// with tokens of each role. Logs are kept (<see cref="Logs"/>) so a test can check what was and was not logged.
/// </summary>
internal sealed class WebHarness : IAsyncDisposable
{
    private readonly List<HttpClient> _clients = [];

    private WebHarness(HostHarness host, WebApplication app, Uri address, LogCapture logs)
    {
        Host = host;
        App = app;
        Address = address;
        Logs = logs;
    }

    public HostHarness Host { get; }

    public WebApplication App { get; }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri Address { get; }

    public LogCapture Logs { get; }

    /// <summary>Starts the service; <paramref name="configure"/> changes the config first (<c>http:</c> is set when it leaves it null).</summary>
    /// <param name="time">The service's clock; the system's when null (a test that moves time passes the host's fake one).</param>
    public static async Task<WebHarness> StartAsync(HostHarness host, Action<RuleMailConfig>? configure = null, bool schedule = false, TimeProvider? time = null)
    {
        var config = host.Config();
        configure?.Invoke(config);
        config.Http ??= new HttpConfig();
        var logs = new LogCapture();
        var app = RuleMailWebHost.Build(new RuleMailWebHostSettings
        {
            Config = config,
            KeyStoreOptions = new KeyStoreOptions { Time = time ?? TimeProvider.System, Passphrase = new KeyStorePassphrase(HostHarness.SamplePassphrase) },
            Environment = name => host.Environment.TryGetValue(name, out var value) ? value : null,
            Schedule = schedule,
            Logging = b => b.SetMinimumLevel(LogLevel.Information).AddProvider(logs),
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
        });
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new WebHarness(host, app, new Uri(bound.EndsWith('/') ? bound : bound + "/"), logs);
    }

    /// <summary>A client with a new token of <paramref name="role"/>.</summary>
    public async Task<HttpClient> ClientAsync(ApiRole role, string? name = null)
    {
        var (_, secret) = await App.Services.GetRequiredService<ApiTokens>().CreateAsync(name ?? $"test-{role}-{Guid.NewGuid():N}"[..30], role, CancellationToken.None);
        return Client(secret);
    }

    /// <summary>A client sending <paramref name="token"/> as its bearer token (none when null).</summary>
    public HttpClient Client(string? token = null, HttpMessageHandler? handler = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler);
        client.BaseAddress = Address;
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        _clients.Add(client);
        return client;
    }

    /// <summary>
    /// Writes the test's <c>rulemail.yaml</c> (its key store, rules and state, no accounts) and runs the CLI in-process
    /// on it: the same question put to the CLI, for comparing its <c>--json</c> with the API's answer.
    /// </summary>
    public RuleMail.Cli.Tests.Support.CliResult Cli(params string[] args)
    {
        File.WriteAllText(Host.ConfigPath, $"""
            keystore: {Host.KeystoreDirectory}
            keystore_passphrase_file: {Path.Combine(HostHarness.RepositoryRoot, "keystore-sample", "passphrase.txt")}
            rules: {Host.RulesDirectory}
            state: {Host.StatePath}
            """);
        return RuleMail.Cli.Tests.Support.CliRun.Run(Host.Folder.Path, null, [.. args, "--config", Host.ConfigPath]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        await App.StopAsync();
        await App.DisposeAsync();
    }
}
