using System.CommandLine;
using MimeKit;
using MimeKit.Utils;
using RuleMail.Crypto;
using RuleMail.Keys;
using RuleMail.Rules;
using RuleMail.Security;

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
            if (policy.Decision.Hold is { } hold)
            {
                throw new RuleMailException($"held by the outgoing rules: {hold}. Nothing was written.");
            }

            var options = new ComposerSecurity(store, CommonOptions.ComposerSettings(config).With(policy.Decision)).For(parse.GetValue(from), recipients);
            var chosenType = parse.GetValue(type) switch
            {
                "smime" => SecurityResult.SmimeType,
                "pgp" => SecurityResult.PgpType,
                _ => options.Type ?? SecurityResult.SmimeType,
            };
            var typeOptions = chosenType == SecurityResult.PgpType ? options.Pgp : options.Smime;
            var chosenIsDefault = chosenType == options.Type;
            var signRequired = parse.GetValue(sign) || RequiredByRules(policy.Decision.Sign, parse.GetValue(noSign), "signing");
            var encryptRequired = parse.GetValue(encrypt) || RequiredByRules(policy.Decision.Encrypt, parse.GetValue(noEncrypt), "encryption");
            var doSign = Decide(signRequired, parse.GetValue(noSign), typeOptions.Sign, chosenIsDefault ? options.Sign.Active : typeOptions.Sign.Possible, "sign", chosenType);
            var doEncrypt = Decide(encryptRequired, parse.GetValue(noEncrypt), typeOptions.Encryption, chosenIsDefault ? options.Encrypt.Active : typeOptions.Encryption.Possible, "encrypt", chosenType);

            var notes = new List<string>();
            if (doSign || doEncrypt)
            {
                var result = new OutgoingSecurity(store).Protect(
                    message, new OutgoingRequest(chosenType, doSign, doEncrypt) { EncryptToSender = config.Composer.EncryptToSender });
                if (result.IsRefused)
                {
                    throw new RuleMailException(result.Refusal);
                }

                message = result.Message;
                notes.AddRange(result.Notes);
            }

            var what = (doSign, doEncrypt) switch
            {
                (true, true) => $"signed and encrypted with {chosenType}",
                (true, false) => $"signed with {chosenType}; {SecurityTexts.WillNotBeEncrypted[..^1].ToLowerInvariant()}: {typeOptions.Encryption.Message}",
                (false, true) => $"encrypted with {chosenType}, not signed",
                _ => "neither signed nor encrypted",
            };

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

    /// <summary>A rule that requires a protection makes it required; switching it off against such a rule is refused.</summary>
    private static bool RequiredByRules(Preference? preference, bool switchedOff, string what)
    {
        if (preference != Preference.Required)
        {
            return false;
        }

        return switchedOff
            ? throw new RuleMailException($"the outgoing rules require {what}; it cannot be switched off. Nothing was written.")
            : true;
    }

    /// <summary>Required and impossible is a refusal; otherwise the flag, or the button's default.</summary>
    private static bool Decide(bool required, bool refused, Possibility possibility, bool byDefault, string verb, string type)
    {
        if (required && !possibility.Possible)
        {
            throw new RuleMailException($"cannot {verb} with {type}: {possibility.Message} Nothing was written.");
        }

        return required || (!refused && byDefault && possibility.Possible);
    }

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
