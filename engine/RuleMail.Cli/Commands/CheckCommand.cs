using System.CommandLine;
using System.Text.Json;
using MimeKit;
using RuleMail.Cli.Output;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail check FILE.eml [--json] [--out DECRYPTED.eml]</c>: decrypts and verifies one message with
/// the key store and prints its security result with the seed's icons and comments.
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
            var path = Path.GetFullPath(parse.GetValue(file)!, console.WorkingDirectory);
            var message = Load(path);
            var report = new IncomingSecurity(store).Inspect(message, parse.GetValue(account));

            if (parse.GetValue(output) is { } target)
            {
                report.Message.WriteTo(Path.GetFullPath(target, console.WorkingDirectory));
            }

            if (parse.GetValue(json))
            {
                var document = new Dictionary<string, object?>
                {
                    ["security"] = report.Security,
                    ["rules"] = Array.Empty<object>(),
                    ["decision"] = new Dictionary<string, object>(),
                    ["errors"] = Array.Empty<string>(),
                };
                console.Output.WriteLine(JsonSerializer.Serialize(document, KeyJson.Options));
                return ExitCodes.Done;
            }

            SecurityText.Write(console.Output, report.Message, report.Security);
            return ExitCodes.Done;
        });
        return command;
    }

    private static MimeMessage Load(string path)
    {
        try
        {
            return MimeMessage.Load(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new RuleMailException($"{path}: cannot read the message: {e.Message}", e);
        }
    }
}
