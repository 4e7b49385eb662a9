using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using RuleMail.Application;
using RuleMail.Json;
using RuleMail.Composer;
using RuleMail.Host.Configuration;
using RuleMail.Keys;

namespace RuleMail.Cli.Commands;

/// <summary><c>rulemail options --from A --to B [--cc C] [--json]</c>: the composer's Sign and Encrypt buttons.</summary>
internal static class OptionsCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var from = new Option<string>("--from") { Description = "The sender (the organisation's address)", Required = true };
        var to = Addresses("--to", "Recipient (repeat or separate with commas)");
        var cc = Addresses("--cc", "Copy recipient (repeat or separate with commas)");
        var bcc = Addresses("--bcc", "Blind copy recipient (repeat or separate with commas): each gets a copy of their own");
        var account = AccountOption();
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var command = new Command("options", "Show which security buttons the composer offers for a sender and recipients") { from, to, cc, bcc, account, json };
        command.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var draft = Draft(config, parse.GetValue(from)!, parse.GetValue(to), parse.GetValue(cc), parse.GetValue(bcc), parse.GetValue(account));
            using var services = CliServices.Open(config, console, KeyReadiness.PublicOnly, withPassphrase: false);
            var options = services.GetRequiredService<OutgoingProcessing>().Options(draft).Options;
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(ContractJson.Serialize(options, indented: true));
                return ExitCodes.Done;
            }

            Write(console.Output, options);
            return ExitCodes.Done;
        });
        return command;
    }

    /// <summary>The option naming the account the message goes out from (default: the account whose address is --from).</summary>
    public static Option<string?> AccountOption() =>
        new("--account") { Description = "The account it goes out from (its name in the config, or its address); default: the account whose address is --from" };

    /// <summary>The draft the options describe, each address checked (a bad one is a usage error).</summary>
    public static OutgoingDraft Draft(RuleMailConfig config, string from, string[]? to, string[]? cc, string[]? bcc, string? account)
    {
        var draft = new OutgoingDraft(
            Checked(from, "--from"),
            [.. Split(to).Select(a => Checked(a, "--to"))],
            [.. Split(cc).Select(a => Checked(a, "--cc"))],
            [.. Split(bcc).Select(a => Checked(a, "--bcc"))],
            config.AccountAddress(account, from));
        return draft;
    }

    /// <summary>An option taking addresses, repeated or comma-separated.</summary>
    public static Option<string[]> Addresses(string name, string description) =>
        new(name) { Description = description, AllowMultipleArgumentsPerToken = true };

    private static string Checked(string text, string option)
    {
        // An option this command does not have is taken as one more address by an option that takes several: say so.
        if (text.StartsWith('-'))
        {
            throw new UsageException($"unknown option {text} after {option}");
        }

        return MailboxAddress.TryParse(text, out var mailbox) && MailAddresses.Normalize(mailbox.Address) is not null
            ? text
            : throw new UsageException($"{option} {text}: not an e-mail address");
    }

    public static IEnumerable<string> Split(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static void Write(TextWriter output, SecurityOptions options)
    {
        static string Mark(Possibility p) => p.Possible ? "yes" : "no ";
        output.WriteLine($"S/MIME  sign:       {Mark(options.Smime.Sign)}  {options.Smime.Sign.Message}");
        output.WriteLine($"        encryption: {Mark(options.Smime.Encryption)}  {options.Smime.Encryption.Message}");
        output.WriteLine($"PGP     sign:       {Mark(options.Pgp.Sign)}  {options.Pgp.Sign.Message}");
        output.WriteLine($"        encryption: {Mark(options.Pgp.Encryption)}  {options.Pgp.Encryption.Message}");
        foreach (var bcc in options.Bcc)
        {
            output.WriteLine($"Bcc     {bcc.Address}: {Mark(new Possibility(bcc.Possible, bcc.Message))}  {bcc.Message} (a copy of its own{(bcc.Possible ? ", encrypted to them" : string.Empty)})");
        }

        output.WriteLine();
        output.WriteLine($"Security type: {options.Type ?? "none"}{(options.Switch ? " (the composer can switch between S/MIME and PGP)" : string.Empty)}");
        output.WriteLine($"✅ Sign     {State(options.Sign)}  {options.Sign.Tooltip}");
        output.WriteLine($"🔒 Encrypt  {State(options.Encrypt)}  {options.Encrypt.Tooltip}");
        foreach (var (what, choice) in new[] { ("signing", options.DecidedBy?.Sign), ("encryption", options.DecidedBy?.Encrypt) })
        {
            if (choice is not null)
            {
                output.WriteLine($"Rule:     {what} {choice.Preference} by {choice.Rule} ({Path.GetFileName(choice.File)})");
            }
        }
    }

    private static string State(SecurityButton button) => button.Enabled ? (button.Active ? "on      " : "off     ") : "disabled";
}
