using System.CommandLine;
using RuleMail.Cli.Output;
using RuleMail.Host.State;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail tokens create NAME --role viewer|agent|admin</c>, <c>tokens list</c>, <c>tokens revoke NAME</c>: the
/// HTTP API's bearer tokens. A token is printed once, when made; the state keeps only its SHA-256. These work while
/// the service runs: a new token is accepted and a revoked one refused by its next request.
/// </summary>
internal static class TokensCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var command = new Command("tokens", "Make, list and revoke the HTTP API's access tokens");

        var name = new Argument<string>("NAME") { Description = "What the token is for (letters, digits, '.', '_', '-'), e.g. zammad" };
        var role = new Option<string>("--role") { Description = "viewer (reads), agent (also checks, composes, sends), admin (also keys and re-judging)", Required = true };
        role.AcceptOnlyFromAmong("viewer", "agent", "admin");
        var create = new Command("create", "Make a token; it is shown once") { name, role };
        create.SetAction(async (parse, cancellationToken) =>
        {
            var config = common.Resolve(parse, console);
            await using var tokens = await ApiTokens.OpenAsync(config, console.Time, console.GetEnvironmentVariable, cancellationToken);
            var (token, secret) = await tokens.CreateAsync(parse.GetValue(name)!, Enum.Parse<ApiRole>(parse.GetValue(role)!, ignoreCase: true), cancellationToken);
            console.Output.WriteLine(secret);
            console.Error.WriteLine($"rulemail: token {token.Name} ({Role(token.Role)}) made; it is shown only this once: keep it in the ticket system's secret store");
            return ExitCodes.Done;
        });

        var list = new Command("list", "Every token: name, role, made, revoked (never the token)");
        list.SetAction(async (parse, cancellationToken) =>
        {
            var config = common.Resolve(parse, console);
            await using var tokens = await ApiTokens.OpenAsync(config, console.Time, console.GetEnvironmentVariable, cancellationToken);
            var all = await tokens.ListAsync(cancellationToken);
            if (all.Count == 0)
            {
                console.Output.WriteLine("No tokens. Make one with: rulemail tokens create NAME --role viewer|agent|admin");
                return ExitCodes.Done;
            }

            var table = Tables.Create("Name", "Role", "Made", "Revoked");
            foreach (var token in all)
            {
                Tables.AddRow(table, token.Name, Role(token.Role), $"{token.CreatedAt:yyyy-MM-dd HH:mm}Z", token.RevokedAt is { } at ? $"{at:yyyy-MM-dd HH:mm}Z" : "-");
            }

            Tables.ConsoleFor(console.Output).Write(table);
            return ExitCodes.Done;
        });

        var revokeName = new Argument<string>("NAME") { Description = "The token's name (rulemail tokens list)" };
        var revoke = new Command("revoke", "Revoke a token: its next request is refused") { revokeName };
        revoke.SetAction(async (parse, cancellationToken) =>
        {
            var config = common.Resolve(parse, console);
            await using var tokens = await ApiTokens.OpenAsync(config, console.Time, console.GetEnvironmentVariable, cancellationToken);
            await tokens.RevokeAsync(parse.GetValue(revokeName)!, cancellationToken);
            console.Output.WriteLine($"Revoked {parse.GetValue(revokeName)}.");
            return ExitCodes.Done;
        });

        command.Subcommands.Add(create);
        command.Subcommands.Add(list);
        command.Subcommands.Add(revoke);
        return command;
    }

    private static string Role(ApiRole role) => role.ToString().ToLowerInvariant();
}
