using System.CommandLine;
using RuleMail.Cli.Output;
using RuleMail.Crypto;
using RuleMail.Json;
using RuleMail.Keys;
using RuleMail.Rules;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail check FILE.eml [--json] [--out DECRYPTED.eml]</c>: decrypts and verifies one message with
/// the key store, prints its security result with the seed's icons and comments, and runs the incoming
/// rules on it as a dry run: which rule matched on which conditions, what it decided, what failed.
/// </summary>
internal static class CheckCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var file = new Argument<string>("FILE.eml") { Description = "The message, as received (RFC 5322)" };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var output = new Option<string?>("--out") { Description = "Write the message as RuleMail sees it (decrypted when it could be) to this file" };
        var account = new Option<string?>("--account") { Description = "The receiving account's address: its private keys are tried first" };
        var command = new Command("check", "Decrypt and verify one message and show its security result") { file, json, output, account };
        command.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var store = KeyStore.Open(config.Keystore, CommonOptions.KeyStoreOptions(config, console));
            store.RequirePassphrase();

            var rules = RulesCommand.Load(config);
            var path = Path.GetFullPath(parse.GetValue(file)!, console.WorkingDirectory);

            // Inspect parses the stream itself (unparseable mail is a "damaged" result); the message it returns may
            // still read from the stream, so the file stays open while the report is used.
            using var raw = Open(path);
            var size = raw.Length;
            var report = new IncomingSecurity(store, config.Security.Policy).Inspect(raw, parse.GetValue(account));

            // A locked or wrongly unlocked store would report "cannot be decrypted" about mail that can be: the keys the
            // message needed throw (exit 3) and are never a verdict; the passphrase is proven once more when none was needed.
            store.VerifyPassphrase();
            var evaluation = rules.Evaluate(RuleMessage.From(report.Message, report.Security, "incoming", parse.GetValue(account), size), RuleDirection.Incoming);

            if (parse.GetValue(output) is { } target)
            {
                report.Message.WriteTo(Path.GetFullPath(target, console.WorkingDirectory));
            }

            if (parse.GetValue(json))
            {
                console.Output.WriteLine(ContractJson.Serialize(CheckDocument.From(report.Security, evaluation), indented: true));
                return ExitCodes.Done;
            }

            SecurityText.Write(console.Output, report.Message, report.Security);
            WriteRules(console.Output, evaluation);
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
