using System.CommandLine;
using MimeKit;
using RuleMail.Json;
using RuleMail.Keys;
using RuleMail.Rules;
using RuleMail.Composer;

namespace RuleMail.Cli.Commands;

/// <summary><c>rulemail options --from A --to B [--cc C] [--json]</c>: the composer's Sign and Encrypt buttons.</summary>
internal static class OptionsCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var from = new Option<string>("--from") { Description = "The sender (the organisation's address)", Required = true };
        var to = Addresses("--to", "Recipient (repeat or separate with commas)");
        var cc = Addresses("--cc", "Copy recipient (repeat or separate with commas)");
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var command = new Command("options", "Show which security buttons the composer offers for a sender and recipients") { from, to, cc, json };
        command.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var store = KeyStore.Open(config.Keystore, new KeyStoreOptions { Time = console.Time });
            var recipients = Split(parse.GetValue(to)).Concat(Split(parse.GetValue(cc))).ToList();
            var policy = OutgoingPolicy(config, Draft(parse.GetValue(from)!, Split(parse.GetValue(to)), Split(parse.GetValue(cc))));
            var options = new ComposerSecurity(store, config.Composer.Settings.With(policy.Decision)).For(parse.GetValue(from), recipients);
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

    /// <summary>An option taking addresses, repeated or comma-separated.</summary>
    public static Option<string[]> Addresses(string name, string description) =>
        new(name) { Description = description, AllowMultipleArgumentsPerToken = true };

    /// <summary>A draft with the sender and recipients, each checked to be an address (a bad one is a usage error).</summary>
    public static MimeMessage Draft(string from, IEnumerable<string> to, IEnumerable<string> cc)
    {
        var draft = new MimeMessage();
        draft.From.Add(Mailbox(from, "--from"));
        draft.To.AddRange(to.Select(a => Mailbox(a, "--to")));
        draft.Cc.AddRange(cc.Select(a => Mailbox(a, "--cc")));
        return draft;
    }

    /// <summary>What the outgoing rules decide for <paramref name="draft"/>.</summary>
    public static RuleEvaluation OutgoingPolicy(Host.Configuration.RuleMailConfig config, MimeMessage draft) =>
        RulesCommand.Load(config).Evaluate(
            RuleMessage.From(draft, null, "outgoing", draft.From.Mailboxes.FirstOrDefault()?.Address), RuleDirection.Outgoing);

    private static MailboxAddress Mailbox(string text, string option) =>
        MailboxAddress.TryParse(text, out var mailbox) && MailAddresses.Normalize(mailbox.Address) is not null
            ? mailbox
            : throw new UsageException($"{option} {text}: not an e-mail address");

    public static IEnumerable<string> Split(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static void Write(TextWriter output, SecurityOptions options)
    {
        static string Mark(Possibility p) => p.Possible ? "yes" : "no ";
        output.WriteLine($"S/MIME  sign:       {Mark(options.Smime.Sign)}  {options.Smime.Sign.Message}");
        output.WriteLine($"        encryption: {Mark(options.Smime.Encryption)}  {options.Smime.Encryption.Message}");
        output.WriteLine($"PGP     sign:       {Mark(options.Pgp.Sign)}  {options.Pgp.Sign.Message}");
        output.WriteLine($"        encryption: {Mark(options.Pgp.Encryption)}  {options.Pgp.Encryption.Message}");
        output.WriteLine();
        output.WriteLine($"Security type: {options.Type ?? "none"}{(options.Switch ? " (the composer can switch between S/MIME and PGP)" : string.Empty)}");
        output.WriteLine($"✅ Sign     {State(options.Sign)}  {options.Sign.Tooltip}");
        output.WriteLine($"🔒 Encrypt  {State(options.Encrypt)}  {options.Encrypt.Tooltip}");
    }

    private static string State(SecurityButton button) => button.Enabled ? (button.Active ? "on      " : "off     ") : "disabled";
}
