using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Application;
using RuleMail.Cli.Output;
using RuleMail.Json;
using RuleMail.Rules;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail check FILE.eml [--json] [--out DECRYPTED.eml]</c>: the incoming use case on one message as a dry run —
/// its security result with the seed's icons and comments, which rule matched on which conditions, what it decided,
/// what failed. The same verdict the host would reach for the same message and account.
/// </summary>
internal static class CheckCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var file = new Argument<string>("FILE.eml") { Description = "The message, as received (RFC 5322); - reads it from the standard input" };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var output = new Option<string?>("--out") { Description = "Write the message as RuleMail sees it (decrypted when it could be) to this file" };
        var account = new Option<string?>("--account") { Description = "The receiving account (its name in the config, or its address): its private keys are tried first" };
        var command = new Command("check", "Decrypt and verify one message and show its security result") { file, json, output, account };
        command.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var argument = parse.GetValue(file)!;
            var path = argument == "-" ? null : Path.GetFullPath(argument, console.WorkingDirectory);
            using var services = CliServices.Open(config, console, KeyReadiness.Verified);
            var analysis = services.GetRequiredService<IncomingAnalysis>();

            // The message it returns may still read from the file, so the file stays open while the verdict is used.
            using var spool = path is null ? StandardInput.Spool(console) : null;
            using var raw = spool?.Open() ?? Open(path!);
            using var verdict = analysis.Analyse(raw, config.AccountAddress(parse.GetValue(account), from: null));
            if (parse.GetValue(output) is { } target)
            {
                verdict.Message.WriteTo(Path.GetFullPath(target, console.WorkingDirectory));
            }

            if (parse.GetValue(json))
            {
                console.Output.WriteLine(ContractJson.Serialize(CheckDocument.From(verdict.Security, verdict.Rules), indented: true));
                return ExitCodes.Done;
            }

            SecurityText.Write(console.Output, verdict.Message, verdict.Security);
            WriteRules(console.Output, verdict.Rules);
            return ExitCodes.Done;
        });
        return command;
    }

    private static void WriteRules(TextWriter output, RuleEvaluation evaluation)
    {
        output.WriteLine();
        output.WriteLine(evaluation.Trace.Count == 0 ? "Rules:    none apply" : "Rules:");
        foreach (var rule in evaluation.Trace)
        {
            var line = rule switch
            {
                { Error: { } error } => $"  ✗ {rule.Name} ({rule.File}) failed and was skipped: {error}",
                { Matched: true } => $"  ✓ {rule.Name} ({rule.File}) matched on {string.Join(" and ", rule.Because)}: {RulesJson.Describe(rule.Decision!)}",
                _ => $"  · {rule.Name} ({rule.File}) did not match",
            };
            output.WriteLine(line);
        }

        output.WriteLine($"Decision: {RulesJson.Describe(evaluation.Decision)}");
    }

    private static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuleMailException($"{path}: cannot read the message: {e.Message}", e);
        }
    }
}
