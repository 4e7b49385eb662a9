using MimeKit;
using MimeKit.Cryptography;
using RuleMail.Cli.Tests.Support;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Cli.Tests.Commands;

/// <summary><c>rulemail compose</c> on the sample store: the recipients' real tools open what it writes.</summary>
public sealed class ComposeCommandTests : IDisposable
{
    private const string SamplePassphrase = "rulemail-sample-only";
    private readonly TempDirectory _work = new("cli-compose");
    private readonly string _root = CliRun.RepositoryRoot();

    private string Source(string name) => Path.Combine(_root, "keystore-sample", "source", name);

    [Fact]
    public void Compose_for_an_smime_recipient_signs_and_encrypts_and_openssl_decrypts_and_verifies_it()
    {
        var result = CliRun.Run(_root, null, "compose", "--from", "support@rulemail.test", "--to", "alice@customer.test",
            "--subject", "Your order", "--body", "Grüße — your order 4711 shipped.\nFrom here on it is tracked.", "--out", _work.File("out.eml"));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("signed and encrypted with S/MIME", result.Output, StringComparison.Ordinal);
        var openssl = new OpenSsl(_work.Path);
        openssl.Run("smime", "-decrypt", "-in", "out.eml", "-recip", Source("alice.crt"), "-inkey", Source("alice.key"),
            "-passin", $"pass:{SamplePassphrase}", "-out", "decrypted.eml");
        var verified = openssl.Run("smime", "-verify", "-in", "decrypted.eml", "-CAfile", Source("ca.crt"), "-out", "content.txt");
        Assert.Contains("Verification successful", verified.StandardError, StringComparison.Ordinal);
        var content = Assert.IsType<TextPart>(MimeEntity.Load(_work.File("content.txt")));
        Assert.Equal("Grüße — your order 4711 shipped.\nFrom here on it is tracked.", content.Text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n'));
    }

    [Fact]
    public void Compose_for_a_pgp_recipient_signs_and_encrypts_and_gpg_decrypts_and_verifies_it()
    {
        var result = CliRun.Run(_root, null, "compose", "--from", "support@rulemail.test", "--to", "bob@partner.test",
            "--subject", "Your ticket", "--body", "Ticket 99 is solved.", "--out", _work.File("out.eml"));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("signed and encrypted with PGP", result.Output, StringComparison.Ordinal);
        var message = MimeMessage.Load(_work.File("out.eml"));
        var encrypted = Assert.IsType<MultipartEncrypted>(message.Body);
        Assert.Equal("multipart/encrypted", encrypted.ContentType.MimeType);
        using var payload = new MemoryStream();
        ((MimePart)encrypted[1]).Content!.DecodeTo(payload);
        using var gpg = new GnuPG();
        gpg.Run(File.ReadAllBytes(Source("bob.sec.asc")), "--import");
        gpg.Run(File.ReadAllBytes(Source("support.pub.asc")), "--import");

        var decrypted = gpg.Run(payload.ToArray(), "--pinentry-mode", "loopback", "--passphrase", SamplePassphrase, "--status-fd", "2", "--decrypt");

        Assert.Contains("Ticket 99 is solved.", decrypted.StandardOutputText, StringComparison.Ordinal);
        Assert.Contains("GOODSIG", decrypted.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_asked_to_encrypt_for_a_recipient_without_a_certificate_exits_3_and_writes_nothing()
    {
        var result = CliRun.Run(_root, null, "compose", "--from", "support@rulemail.test", "--to", "nobody@nowhere.test",
            "--subject", "x", "--body", "secret", "--encrypt", "--out", _work.File("out.eml"));

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("The certificate for nobody@nowhere.test was not found.", line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_work.Path));
    }

    [Fact]
    public void Compose_asked_to_sign_with_pgp_for_a_sender_without_a_pgp_key_exits_3()
    {
        var result = CliRun.Run(_root, null, "compose", "--from", "alice@customer.test", "--to", "bob@partner.test",
            "--subject", "x", "--body", "y", "--sign", "--type", "pgp", "--out", _work.File("out.eml"));

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("The PGP key for alice@customer.test was not found.", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.False(File.Exists(_work.File("out.eml")));
    }

    [Fact]
    public void Compose_to_two_recipients_signs_but_does_not_encrypt_as_the_seed_says()
    {
        var result = CliRun.Run(_root, null, "compose", "--from", "support@rulemail.test", "--to", "alice@customer.test", "--cc", "carol@both.test",
            "--subject", "x", "--body", "y", "--out", _work.File("out.eml"));

        Assert.Equal(0, result.ExitCode);
        var message = MimeMessage.Load(_work.File("out.eml"));
        Assert.Equal("multipart/signed", message.Body!.ContentType.MimeType);
        Assert.Contains("single recipient", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_with_no_sign_and_no_encrypt_writes_a_plain_message_with_the_attachment()
    {
        File.WriteAllBytes(_work.File("invoice.pdf"), [0x25, 0x50, 0x44, 0x46, 0x00, 0xFF]);

        var result = CliRun.Run(_work.Path, null, "compose", "--keystore", Path.Combine(_root, "keystore-sample"), "--rules", Path.Combine(_root, "rules"), "--from", "support@rulemail.test",
            "--to", "alice@customer.test", "--subject", "x", "--body", "y", "--attach", "invoice.pdf", "--no-sign", "--no-encrypt", "--out", "out.eml");

        Assert.Equal(0, result.ExitCode);
        var message = MimeMessage.Load(_work.File("out.eml"));
        Assert.Equal("multipart/mixed", message.Body!.ContentType.MimeType);
        Assert.Single(message.Attachments);
    }

    [Fact]
    public void Compose_takes_the_text_from_a_file_or_the_standard_input_and_an_html_version_from_a_file()
    {
        File.WriteAllText(_work.File("reply.txt"), "Grüße from a file.\n");
        File.WriteAllText(_work.File("reply.html"), "<p>Grüße <b>from HTML</b>.</p>");
        string[] plain = ["compose", "--keystore", Path.Combine(_root, "keystore-sample"), "--rules", Path.Combine(_root, "rules"),
            "--from", "support@rulemail.test", "--to", "alice@customer.test", "--subject", "x", "--no-sign", "--no-encrypt"];

        var fromFile = CliRun.Run(_work.Path, null, [.. plain, "--body-file", "reply.txt", "--html-file", "reply.html", "--out", "file.eml"]);
        var fromStdin = CliRun.RunWithInput(_work.Path, null, System.Text.Encoding.UTF8.GetBytes("Grüße from stdin.\n"), [.. plain, "--body-file", "-", "--out", "stdin.eml"]);

        Assert.Equal(0, fromFile.ExitCode);
        var message = MimeMessage.Load(_work.File("file.eml"));
        Assert.Equal("multipart/alternative", message.Body!.ContentType.MimeType);
        Assert.Equal("Grüße from a file.", message.TextBody!.TrimEnd());
        Assert.Contains("<b>from HTML</b>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Equal(0, fromStdin.ExitCode);
        Assert.Equal("Grüße from stdin.", MimeMessage.Load(_work.File("stdin.eml")).TextBody!.TrimEnd());
    }

    [Theory]
    [InlineData("rulemail: give the message's text: --body TEXT or --body-file FILE (- for the standard input)")]
    [InlineData("rulemail: --body and --body-file cannot both be given", "--body", "y", "--body-file", "reply.txt")]
    public void Compose_needs_exactly_one_text(string error, params string[] body)
    {
        File.WriteAllText(_work.File("reply.txt"), "text");

        var result = CliRun.Run(_work.Path, null, ["compose", "--keystore", Path.Combine(_root, "keystore-sample"), "--from", "support@rulemail.test",
            "--to", "alice@customer.test", "--subject", "x", .. body]);

        Assert.Equal((2, error), (result.ExitCode, Assert.Single(result.ErrorLines)));
    }

    [Fact]
    public void Compose_refuses_a_body_file_that_is_not_utf8_with_one_line()
    {
        File.WriteAllBytes(_work.File("latin1.txt"), [0x47, 0x72, 0xFC, 0xDF, 0x65]);

        var result = CliRun.Run(_work.Path, null, "compose", "--keystore", Path.Combine(_root, "keystore-sample"), "--from", "support@rulemail.test",
            "--to", "alice@customer.test", "--subject", "x", "--body-file", "latin1.txt", "--no-sign", "--no-encrypt");

        Assert.Equal(3, result.ExitCode);
        Assert.EndsWith("latin1.txt: not UTF-8 text", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    public void Dispose() => _work.Dispose();
}
