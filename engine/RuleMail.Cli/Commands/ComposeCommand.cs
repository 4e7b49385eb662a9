using System.CommandLine;
using MimeKit;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Application;
using RuleMail.Composer;
using RuleMail.Crypto;

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
        var bcc = OptionsCommand.Addresses("--bcc", "Blind copy recipient (repeat or separate with commas): each gets a copy of their own");
        var account = OptionsCommand.AccountOption();
        var subject = new Option<string>("--subject") { Description = "Subject", Required = true };
        var body = new Option<string?>("--body") { Description = "The text of the message (or --body-file)" };
        var bodyFile = new Option<string?>("--body-file") { Description = "Read the text of the message from this UTF-8 file; - reads the standard input" };
        var htmlFile = new Option<string?>("--html-file") { Description = "An HTML version of the text, from this UTF-8 file (sent as multipart/alternative)" };
        var attach = new Option<string[]>("--attach") { Description = "A file to attach (repeat for more)" };
        var sign = new Option<bool>("--sign") { Description = "Sign; refuse when it is impossible" };
        var encrypt = new Option<bool>("--encrypt") { Description = "Encrypt; refuse (never send plaintext) when it is impossible" };
        var noSign = new Option<bool>("--no-sign") { Description = "Do not sign" };
        var noEncrypt = new Option<bool>("--no-encrypt") { Description = "Do not encrypt" };
        var type = new Option<string?>("--type") { Description = "smime or pgp (default: what the composer would choose)" };
        type.AcceptOnlyFromAmong("smime", "pgp");
        var output = new Option<string?>("--out") { Description = "Write the message to this file (default: stdout); with Bcc copies, each copy beside it" };
        var command = new Command("compose", "Build an outgoing message, signed and/or encrypted as the buttons allow")
        {
            from, to, cc, bcc, account, subject, body, bodyFile, htmlFile, attach, sign, encrypt, noSign, noEncrypt, type, output,
        };
        command.SetAction(parse =>
        {
            if ((parse.GetValue(sign) && parse.GetValue(noSign)) || (parse.GetValue(encrypt) && parse.GetValue(noEncrypt)))
            {
                throw new UsageException("--sign/--no-sign and --encrypt/--no-encrypt cannot be combined with their opposite");
            }

            var config = common.Resolve(parse, console);
            var draft = OptionsCommand.Draft(config, parse.GetValue(from)!, parse.GetValue(to), parse.GetValue(cc), parse.GetValue(bcc), parse.GetValue(account));
            var text = (parse.GetValue(body), parse.GetValue(bodyFile)) switch
            {
                ({ } given, null) => given,
                (null, { } file) => ReadText(console, file, "--body-file"),
                (null, null) => throw new UsageException("give the message's text: --body TEXT or --body-file FILE (- for the standard input)"),
                _ => throw new UsageException("--body and --body-file cannot both be given"),
            };
            var content = new MessageContent(parse.GetValue(subject)!, text)
            {
                Html = parse.GetValue(htmlFile) is { } html ? ReadText(console, html, "--html-file") : null,
                Attachments = [.. (parse.GetValue(attach) ?? []).Select(f => Attachment(Path.GetFullPath(f, console.WorkingDirectory)))],
            };
            var choice = new OutgoingChoice
            {
                Sign = Chosen(parse.GetValue(sign), parse.GetValue(noSign)),
                Encrypt = Chosen(parse.GetValue(encrypt), parse.GetValue(noEncrypt)),
                Type = SecurityTypes.TryParse(parse.GetValue(type), out var chosen) ? chosen.Name() : null,
            };

            using var services = CliServices.Open(config, console, KeyReadiness.PublicOnly);
            var outgoing = services.GetRequiredService<OutgoingProcessing>();
            var outcome = outgoing.Process(content.Build(draft, console.Time), draft.Account, choice);
            if (outcome.IsHeld)
            {
                throw new RuleMailException($"{outcome.Hold}{(outcome.Hold.EndsWith('.') ? string.Empty : ".")} Nothing was written.");
            }

            if (parse.GetValue(output) is { } target)
            {
                var path = Path.GetFullPath(target, console.WorkingDirectory);
                foreach (var copy in outcome.Copies)
                {
                    Write(copy.Message, copy.BccRecipient is null ? path : BccPath(path, copy.BccRecipient));
                }

                console.Output.WriteLine($"Wrote {target}: {outcome.Description}");
                foreach (var copy in outcome.Copies.Where(c => c.BccRecipient is not null))
                {
                    console.Output.WriteLine($"  Bcc copy for {copy.BccRecipient}: {BccPath(target, copy.BccRecipient!)}");
                }

                foreach (var note in outcome.Notes)
                {
                    console.Output.WriteLine($"  {note}");
                }
            }
            else
            {
                if (outcome.Copies.Count > 1)
                {
                    throw new UsageException("a message with Bcc recipients is written as one file per copy: give --out FILE.eml");
                }

                using var stdout = new MemoryStream();
                outcome.Copies[0].Message.WriteTo(FormatOptions.Default, stdout);
                console.Output.Write(System.Text.Encoding.UTF8.GetString(stdout.ToArray()));
                console.Error.WriteLine($"rulemail: {outcome.Description}");
            }

            return ExitCodes.Done;
        });
        return command;
    }

    /// <summary>The largest body file taken: a message's text, not a mailbox.</summary>
    private const int MaxBodyBytes = 16 * 1024 * 1024;

    /// <summary>A body from a UTF-8 file (or the standard input for <c>-</c>), at most <see cref="MaxBodyBytes"/>.</summary>
    private static string ReadText(CliConsole console, string file, string option)
    {
        var name = file == "-" ? "the standard input" : Path.GetFullPath(file, console.WorkingDirectory);
        try
        {
            using var input = file == "-" ? console.OpenInput() : new FileStream(name, FileMode.Open, FileAccess.Read, FileShare.Read);
            using var copy = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = input.Read(chunk)) > 0)
            {
                if (copy.Length + read > MaxBodyBytes)
                {
                    throw new RuleMailException($"{option} {name}: more than {MaxBodyBytes / (1024 * 1024)} MB; attach large content with --attach");
                }

                copy.Write(chunk, 0, read);
            }

            return new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(copy.GetBuffer(), 0, (int)copy.Length).TrimStart('\uFEFF');
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new RuleMailException($"{option} {name}: not UTF-8 text", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuleMailException($"{option} {name}: cannot read it: {e.Message.TrimEnd('.')}", e);
        }
    }

    /// <summary>Where the copy for a Bcc recipient goes: beside the main file, named after the recipient.</summary>
    private static string BccPath(string path, string recipient)
    {
        // Readable, and unique: two addresses that read the same once made safe (jo+x and jo_x) differ in the hash.
        var safe = string.Concat(recipient.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' or '@' ? c : '_'));
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(recipient)))[..8];
        return Path.Combine(Path.GetDirectoryName(path) ?? ".", $"{Path.GetFileNameWithoutExtension(path)}.bcc-{safe}-{hash}{Path.GetExtension(path)}");
    }

    private static MessageContent.Attachment Attachment(string path)
    {
        try
        {
            return new MessageContent.Attachment(Path.GetFileName(path), null, File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuleMailException($"{path}: cannot attach the file: {e.Message}", e);
        }
    }

    /// <summary>The flag pair as a choice: <c>--sign</c> true, <c>--no-sign</c> false, neither null (the rules and the button decide).</summary>
    private static bool? Chosen(bool on, bool off) => on ? true : off ? false : null;

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
