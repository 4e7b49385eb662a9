using System.CommandLine;
using MimeKit;
using MimeKit.Utils;
using RuleMail.Crypto;
using RuleMail.Keys;
using RuleMail.Composer;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail compose</c>: builds an outgoing message and signs and/or encrypts it the way the composer's
/// buttons would. <c>--sign</c>/<c>--encrypt</c> make a protection required: when it is impossible, nothing is
/// written and the reason is the one line on stderr (exit 3). Without them, what is possible is done
/// (the buttons' defaults); <c>--no-sign</c>/<c>--no-encrypt</c> turn a button off.
/// </summary>
internal static class ComposeCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var from = new Option<string>("--from") { Description = "The sender (the organisation's address)", Required = true };
        var to = OptionsCommand.Addresses("--to", "Recipient (repeat or separate with commas)");
        to.Required = true;
        var cc = OptionsCommand.Addresses("--cc", "Copy recipient (repeat or separate with commas)");
        var subject = new Option<string>("--subject") { Description = "Subject", Required = true };
        var body = new Option<string>("--body") { Description = "The text of the message", Required = true };
        var attach = new Option<string[]>("--attach") { Description = "A file to attach (repeat for more)" };
        var sign = new Option<bool>("--sign") { Description = "Sign; refuse when it is impossible" };
        var encrypt = new Option<bool>("--encrypt") { Description = "Encrypt; refuse (never send plaintext) when it is impossible" };
        var noSign = new Option<bool>("--no-sign") { Description = "Do not sign" };
        var noEncrypt = new Option<bool>("--no-encrypt") { Description = "Do not encrypt" };
        var type = new Option<string?>("--type") { Description = "smime or pgp (default: what the composer would choose)" };
        type.AcceptOnlyFromAmong("smime", "pgp");
        var output = new Option<string?>("--out") { Description = "Write the message to this file (default: stdout)" };
        var command = new Command("compose", "Build an outgoing message, signed and/or encrypted as the buttons allow")
        {
            from, to, cc, subject, body, attach, sign, encrypt, noSign, noEncrypt, type, output,
        };
        command.SetAction(parse =>
        {
            if ((parse.GetValue(sign) && parse.GetValue(noSign)) || (parse.GetValue(encrypt) && parse.GetValue(noEncrypt)))
            {
                throw new UsageException("--sign/--no-sign and --encrypt/--no-encrypt cannot be combined with their opposite");
            }

            var config = common.Resolve(parse, console);
            var store = KeyStore.Open(config.Keystore, CommonOptions.KeyStoreOptions(config, console));
            var recipients = OptionsCommand.Split(parse.GetValue(to)).Concat(OptionsCommand.Split(parse.GetValue(cc))).ToList();
            var message = Build(parse.GetValue(from)!, OptionsCommand.Split(parse.GetValue(to)), OptionsCommand.Split(parse.GetValue(cc)),
                parse.GetValue(subject)!, parse.GetValue(body)!, parse.GetValue(attach) ?? [], console);
            var policy = OptionsCommand.OutgoingPolicy(config, message);
            var options = new ComposerSecurity(store, config.Composer.Settings.With(policy.Decision)).For(parse.GetValue(from), recipients);
            var choice = new OutgoingChoice
            {
                Sign = Chosen(parse.GetValue(sign), parse.GetValue(noSign)),
                Encrypt = Chosen(parse.GetValue(encrypt), parse.GetValue(noEncrypt)),
                Type = parse.GetValue(type) switch
                {
                    "smime" => SecurityResult.SmimeType,
                    "pgp" => SecurityResult.PgpType,
                    _ => null,
                },
            };
            var plan = OutgoingPlanner.Plan(options, policy.Decision, choice);
            if (plan.IsHeld)
            {
                throw new RuleMailException($"{plan.Hold}{(plan.Hold.EndsWith('.') ? string.Empty : ".")} Nothing was written.");
            }

            var notes = new List<string>();
            if (plan.Sign || plan.Encrypt)
            {
                var result = new OutgoingSecurity(store).Protect(message, plan.Request(config.Composer.EncryptToSender));
                if (result.IsRefused)
                {
                    throw new RuleMailException(result.Refusal);
                }

                message = result.Message;
                notes.AddRange(result.Notes);
            }

            var what = plan.Description;
            if (parse.GetValue(output) is { } target)
            {
                Write(message, Path.GetFullPath(target, console.WorkingDirectory));
                console.Output.WriteLine($"Wrote {target}: {what}");
                foreach (var note in notes)
                {
                    console.Output.WriteLine($"  {note}");
                }
            }
            else
            {
                using var stdout = new MemoryStream();
                message.WriteTo(FormatOptions.Default, stdout);
                console.Output.Write(System.Text.Encoding.UTF8.GetString(stdout.ToArray()));
                console.Error.WriteLine($"rulemail: {what}");
            }

            return ExitCodes.Done;
        });
        return command;
    }

    /// <summary>The flag pair as a choice: <c>--sign</c> true, <c>--no-sign</c> false, neither null (the rules and the button decide).</summary>
    private static bool? Chosen(bool on, bool off) => on ? true : off ? false : null;

    private static MimeMessage Build(string from, IEnumerable<string> to, IEnumerable<string> cc, string subject, string text, string[] attachments, CliConsole console)
    {
        var message = OptionsCommand.Draft(from, to, cc);
        message.Subject = subject;
        message.Date = console.Time.GetUtcNow();
        message.MessageId = MimeUtils.GenerateMessageId(MailAddresses.Domain(MailAddresses.Normalize(from) ?? "rulemail.invalid"));

        var builder = new BodyBuilder { TextBody = text };
        foreach (var file in attachments)
        {
            var path = Path.GetFullPath(file, console.WorkingDirectory);
            try
            {
                builder.Attachments.Add(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new RuleMailException($"{path}: cannot attach the file: {e.Message}", e);
            }
        }

        message.Body = builder.ToMessageBody();
        return message;
    }

    /// <summary>Writes to a temporary file and renames it, so a refused or failed compose never leaves a partial file.</summary>
    private static void Write(MimeMessage message, string path)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            message.WriteTo(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            throw new RuleMailException($"{path}: cannot write the message: {e.Message}", e);
        }
    }
}
