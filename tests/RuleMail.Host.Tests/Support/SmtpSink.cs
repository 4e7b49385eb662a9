using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MimeKit;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Host.Tests.Support;

/// <summary>
/// A real SMTP server (python3-aiosmtpd, no TLS) on a free loopback port that keeps every message it accepts
/// as a numbered .eml file with the envelope beside it in a .json file, in its own temp folder. It can require
/// AUTH PLAIN/LOGIN with one user, refuse the next messages or some recipients with a chosen reply, hold its
/// answer to DATA (a client then waits with its message in flight), and be stopped and restarted on the same port
/// without losing what it received.
/// </summary>
internal sealed class SmtpSink : IAsyncDisposable
{
    /// <summary>Debian's python, which has aiosmtpd (a pyenv python on PATH may not).</summary>
    public const string Python = "/usr/bin/python3";
    private const string InstallHint = "Debian: apt-get install python3-aiosmtpd";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly TempDirectory _root = new("smtp");
    private readonly SmtpSinkOptions _options;
    private ServerProcess? _process;

    private SmtpSink(SmtpSinkOptions options) => _options = options;

    public string Host { get; } = LoopbackPort.Host;

    public int Port { get; private set; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>What the server printed (its errors, a python traceback); put it in failure messages.</summary>
    public string Log => _process?.Output ?? "";

    private string MessagesDirectory => _root.File("messages");

    /// <summary>Everything accepted so far, oldest first, read from disk (it survives a restart).</summary>
    public IReadOnlyList<ReceivedMail> Messages
    {
        get
        {
            var list = new List<ReceivedMail>();
            foreach (var envelopeFile in Directory.EnumerateFiles(MessagesDirectory, "*.json").Order(StringComparer.Ordinal))
            {
                // The .eml is complete before its .json appears (both are written under a temp name and renamed).
                var envelope = JsonSerializer.Deserialize<StoredEnvelope>(File.ReadAllText(envelopeFile))
                    ?? throw new InvalidDataException($"{envelopeFile} is empty");
                var raw = File.ReadAllBytes(Path.ChangeExtension(envelopeFile, ".eml"));
                using var stream = new MemoryStream(raw, writable: false);
                list.Add(new ReceivedMail(envelope.MailFrom, envelope.RcptTos, envelope.AuthLogin, MimeMessage.Load(stream), raw));
            }

            return list;
        }
    }

    public static Task<SmtpSink> StartAsync(SmtpSinkOptions? options = null) => StartCoreAsync(options ?? new SmtpSinkOptions());

    /// <summary>Waits until at least <paramref name="count"/> messages arrived; fails with what did arrive otherwise.</summary>
    public async Task<IReadOnlyList<ReceivedMail>> WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var messages = Messages;
            if (messages.Count >= count)
            {
                return messages;
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"the SMTP sink received {messages.Count} of {count} messages within {timeout.TotalSeconds} s " +
                    $"[{string.Join(", ", messages.Select(m => m.Message.Subject))}]; server output:\n{Log}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>The next <paramref name="count"/> messages are refused at DATA with this reply (e.g. 451 or 554) and not stored.</summary>
    public void FailNext(int count, int code = 451, string text = "4.3.0 try again later")
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        WriteControl("fail-next.txt", string.Create(CultureInfo.InvariantCulture, $"{count} {code} {text}"));
    }

    /// <summary>RCPT TO this address is answered with this reply from now on (e.g. 550 for a permanent refusal).</summary>
    public void RejectRecipient(string address, int code = 550, string text = "5.1.1 no such user")
    {
        var path = _root.File("reject-rcpt.txt");
        var lines = File.Exists(path) ? File.ReadAllText(path) : "";
        WriteControl("reject-rcpt.txt", lines + string.Create(CultureInfo.InvariantCulture, $"{address.ToUpperInvariant()} {code} {text}\n"));
    }

    /// <summary>RCPT TO this address is accepted again (what <see cref="RejectRecipient"/> said for it is taken back).</summary>
    public void AcceptRecipient(string address)
    {
        var path = _root.File("reject-rcpt.txt");
        var kept = File.Exists(path)
            ? File.ReadAllLines(path).Where(line => !line.StartsWith(address.ToUpperInvariant() + " ", StringComparison.Ordinal))
            : [];
        WriteControl("reject-rcpt.txt", string.Concat(kept.Select(line => line + "\n")));
    }

    /// <summary>
    /// From now on each message's DATA is answered (and the message stored) only once <see cref="Answer"/> is called:
    /// every client that sends one waits for the answer with its message in flight.
    /// </summary>
    public void Hold() => WriteControl("hold", "");

    /// <summary>Answers the held messages (they are stored) and every one after at once again.</summary>
    public void Answer() => File.Delete(_root.File("hold"));

    /// <summary>How many messages have waited for their answer since <see cref="Hold"/> (each a client waiting then).</summary>
    public int Held => Directory.Exists(_root.File("held")) ? Directory.GetFiles(_root.File("held")).Length : 0;

    /// <summary>Kills the server; its port then refuses connections. The received messages stay.</summary>
    public async Task StopAsync()
    {
        _process?.Dispose();
        _process = null;
        var deadline = Stopwatch.StartNew();
        while (LoopbackPort.Accepts(Port))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"the SMTP sink was killed but port {Port} still accepts connections");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Starts the server again (stopping it first if it runs) on the same port, keeping what it received.</summary>
    public async Task RestartAsync()
    {
        if (_process is not null)
        {
            await StopAsync();
        }

        if (!await TryLaunchAsync())
        {
            throw new InvalidOperationException($"the SMTP sink did not restart on port {Port}:\n{Log}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _process?.Dispose();
        _process = null;
        await Task.Yield();
        _root.Dispose();
    }

    private static async Task<SmtpSink> StartCoreAsync(SmtpSinkOptions options)
    {
        var sink = new SmtpSink(options);
        try
        {
            Directory.CreateDirectory(sink.MessagesDirectory);
            await File.WriteAllTextAsync(sink._root.File("sink.py"), Script);
            for (var attempt = 1; ; attempt++)
            {
                sink.Port = LoopbackPort.PickFree();
                if (await sink.TryLaunchAsync())
                {
                    return sink;
                }

                if (attempt == 5 || !sink.Log.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"the SMTP sink did not start ({sink._process?.CommandLine}):\n{sink.Log}");
                }

                sink._process?.Dispose();
                sink._process = null;
            }
        }
        catch
        {
            await sink.DisposeAsync();
            throw;
        }
    }

    private async Task<bool> TryLaunchAsync()
    {
        List<string> arguments = ["-u", _root.File("sink.py"), LoopbackPort.Host, Port.ToString(CultureInfo.InvariantCulture), _root.Path];
        if (_options.User is not null)
        {
            arguments.AddRange([_options.User, _options.Password ?? "", _options.RequireAuth ? "require" : "optional"]);
        }

        _process = ServerProcess.Start(Python, arguments, _root.Path, InstallHint);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                return false;
            }

            if (await LoopbackPort.ReadGreetingAsync(Port, "220", TimeSpan.FromSeconds(2)) is not null)
            {
                return true;
            }

            await Task.Delay(25);
        }

        return false;
    }

    private void WriteControl(string name, string content)
    {
        var temp = _root.File(name + ".tmp");
        File.WriteAllText(temp, content);
        File.Move(temp, _root.File(name), overwrite: true);
    }

    private sealed record StoredEnvelope(
        [property: System.Text.Json.Serialization.JsonPropertyName("mail_from")] string MailFrom,
        [property: System.Text.Json.Serialization.JsonPropertyName("rcpt_tos")] IReadOnlyList<string> RcptTos,
        [property: System.Text.Json.Serialization.JsonPropertyName("auth_login")] string? AuthLogin);

    /// <summary>
    /// The server: aiosmtpd's SMTP protocol on an asyncio server, a handler that stores each message and reads
    /// the control files the test writes (fail-next.txt: "COUNT CODE TEXT"; reject-rcpt.txt: "ADDRESS CODE TEXT" lines;
    /// hold: while it is there, DATA waits, each waiting one leaving a mark in held/).
    /// </summary>
    private const string Script = """
        import asyncio, json, os, sys, uuid
        from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

        host, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        user = sys.argv[4] if len(sys.argv) > 4 else None
        password = sys.argv[5] if len(sys.argv) > 5 else None
        require_auth = len(sys.argv) > 6 and sys.argv[6] == "require"
        messages = os.path.join(root, "messages")

        def write_atomically(path, data):
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)

        def take_failure():
            path = os.path.join(root, "fail-next.txt")
            try:
                with open(path) as f:
                    count, code, text = f.read().strip().split(" ", 2)
            except FileNotFoundError:
                return None
            if int(count) <= 1:
                os.remove(path)
            else:
                write_atomically(path, ("%d %s %s" % (int(count) - 1, code, text)).encode())
            return "%s %s" % (code, text)

        def rejection(address):
            try:
                with open(os.path.join(root, "reject-rcpt.txt")) as f:
                    for line in f:
                        rejected, code, text = line.rstrip("\n").split(" ", 2)
                        if rejected == address.upper():
                            return "%s %s" % (code, text)
            except FileNotFoundError:
                pass
            return None

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                refusal = rejection(address)
                if refusal:
                    return refusal
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                hold = os.path.join(root, "hold")
                if os.path.exists(hold):
                    os.makedirs(os.path.join(root, "held"), exist_ok=True)
                    open(os.path.join(root, "held", uuid.uuid4().hex), "w").close()
                    while os.path.exists(hold):
                        await asyncio.sleep(0.05)
                failure = take_failure()
                if failure:
                    return failure
                index = 1 + max([int(n[:-5]) for n in os.listdir(messages) if n.endswith(".json")], default=0)
                base = os.path.join(messages, "%06d" % index)
                write_atomically(base + ".eml", envelope.original_content or envelope.content)
                login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
                meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "auth_login": login}
                write_atomically(base + ".json", json.dumps(meta).encode())
                return "250 2.0.0 OK stored as %06d" % index

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (user is not None and isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == user and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        async def main():
            loop = asyncio.get_running_loop()
            server = await loop.create_server(
                lambda: SMTP(Handler(), hostname="smtp-sink.test", auth_require_tls=False,
                             auth_required=require_auth,
                             authenticator=authenticate if user is not None else None),
                host, port)
            print("listening on %s:%d" % (host, port), flush=True)
            await server.serve_forever()

        asyncio.run(main())
        """;
}

/// <summary>How an <see cref="SmtpSink"/> authenticates: no AUTH at all by default.</summary>
internal sealed record SmtpSinkOptions
{
    /// <summary>The one user AUTH PLAIN/LOGIN accepts; null offers no working AUTH.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>Refuse MAIL FROM until the client authenticated.</summary>
    public bool RequireAuth { get; init; }
}

/// <summary>One message the sink accepted: the SMTP envelope, the AUTH login used (if any) and the message.</summary>
internal sealed record ReceivedMail(string MailFrom, IReadOnlyList<string> RcptTo, string? AuthLogin, MimeMessage Message, byte[] Raw);
