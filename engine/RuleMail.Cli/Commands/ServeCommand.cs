using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuleMail.Host.Configuration;
using RuleMail.Host.Scheduling;
using RuleMail.Web;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail serve</c>: the HTTP API alone, on <c>http.listen</c> (127.0.0.1:8025 when the config has no
/// <c>http:</c>), without fetching or sending: for a ticket system's composer and for checking mail. It holds the
/// state as <c>run</c> does, so the two do not run on one state at once; <c>run</c> with <c>http:</c> serves both.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var log = new Option<string>("--log") { Description = "Log format: console or json", DefaultValueFactory = _ => "console" };
        log.AcceptOnlyFromAmong("console", "json");
        var command = new Command("serve", "Serve the HTTP API without running the accounts' schedules") { log };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var config = common.Resolve(parse, console);
            var options = CommonOptions.KeyStoreOptions(config, console);
            var json = parse.GetValue(log) == "json";
            var app = RuleMailWebHost.Build(new RuleMailWebHostSettings
            {
                Config = config,
                KeyStoreOptions = options,
                Environment = console.GetEnvironmentVariable,
                Logging = b => RunCommand.Logging(b, json, LogLevel.Information),
            });
            await using var disposeApp = app;
            var runtime = app.Services.GetRequiredService<HostRuntime>();
            console.Output.WriteLine($"Configuration: {config.Path ?? "(built-in defaults)"}");
            console.Output.WriteLine($"Key store:     {runtime.Services.Store.Directory} ({runtime.Services.Store.Entries.Count} entries)");
            console.Output.WriteLine($"Rules:         {config.Rules} ({runtime.Services.Rules.RuleCount} rules in {runtime.Services.Rules.FileCount} files)");
            console.Output.WriteLine($"State:         {config.State}");
            WriteListening(console, config);
            await app.RunAsync(cancellationToken);
            return ExitCodes.Done;
        });
        return command;
    }

    /// <summary>Where the API listens, and how to get a token.</summary>
    public static void WriteListening(CliConsole console, RuleMailConfig config)
    {
        var http = config.Http ?? new HttpConfig();
        var scheme = http.Tls is null ? "http" : "https";
        console.Output.WriteLine($"HTTP API:      {scheme}://{http.Listen}/api/v1 (OpenAPI: {scheme}://{http.Listen}/openapi/v1.json; tokens: rulemail tokens create NAME --role viewer|agent|admin)");
        console.Output.WriteLine($"Web UI:        {scheme}://{http.Listen}/ (sign in with a token)");
    }
}
