using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Security;
using RuleMail.Core.Tests.Support;
using RuleMail.Host.Transport;
using RuleMail.Host.State;
using RuleMail.Host.Tests.Support;

namespace RuleMail.Host.Tests.Transport;

public sealed class Pop3SourceTests : IDisposable
{
    private const string Account = SourceTesting.Account;
    private const string User = "pop";
    private const string Password = "pop-secret-Xq7";
    private static readonly DateTimeOffset Now = SourceTesting.Now;
    private readonly TempDirectory _temp = new("pop3");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Lists_every_message_by_UIDL_then_only_those_not_recorded_and_copies_the_bytes_deleting_nothing()
    {
        await using var dovecot = await DovecotServer.StartAsync((User, Password));
        var raws = Enumerable.Range(1, 5).Select(Mail).ToList();
        foreach (var raw in raws)
        {
            await dovecot.AppendAsync(User, Password, raw);
        }

        await using var state = await SqliteStateStore.OpenAsync(_temp.File("state.db"), CancellationToken.None);
        IReadOnlyList<SourceMessage> all;
        await using (var source = Source(dovecot))
        {
            await source.ConnectAsync(CancellationToken.None);
            Assert.Equal("POP3", source.Folder);
            all = await source.ListAsync(state, Now, CancellationToken.None);

            Assert.Equal(5, all.Count);
            Assert.Equal(5, all.Select(m => m.SourceKey).Distinct(StringComparer.Ordinal).Count());
            Assert.Equal(["0", "1", "2", "3", "4"], all.Select(m => m.Location));
            for (var i = 0; i < all.Count; i++)
            {
                Assert.Equal(raws[i], await SourceTesting.CopyAsync(source, all[i]));
            }

            await SourceTesting.RecordAsync(state, "POP3", all[0].SourceKey, MessageState.Done);
            await SourceTesting.RecordAsync(state, "POP3", all[1].SourceKey, MessageState.Failed);
            await SourceTesting.RecordAsync(state, "POP3", all[2].SourceKey, MessageState.Retry, Now.AddMinutes(-1));
            await SourceTesting.RecordAsync(state, "POP3", all[3].SourceKey, MessageState.Retry, Now.AddMinutes(10));
            await SourceTesting.RecordAsync(state, "POP3", "no-longer-there", MessageState.Retry, Now.AddMinutes(-1));
            Assert.Equal([all[2].SourceKey, all[4].SourceKey], (await source.ListAsync(state, Now, CancellationToken.None)).Select(m => m.SourceKey));

            Assert.Equal(SourceActionResult.Unsupported("POP3 has no keywords"), await source.AddKeywordAsync(all[0], "Urgent", CancellationToken.None));
            Assert.Equal(SourceActionResult.Unsupported("POP3 has no folders"), await source.MoveAsync(all[0], "Quarantine", CancellationToken.None));
        }

        // Nothing was deleted: the same messages, under the same UIDLs, in a new session.
        Assert.Equal(5, await dovecot.CountAsync(User, Password));
        await using (var again = Source(dovecot))
        {
            await again.ConnectAsync(CancellationToken.None);
            await using var empty = await SqliteStateStore.OpenAsync(_temp.File("empty.db"), CancellationToken.None);
            Assert.Equal(all.Select(m => m.SourceKey), (await again.ListAsync(empty, Now, CancellationToken.None)).Select(m => m.SourceKey));
        }
    }

    [Fact]
    public async Task A_message_from_another_session_is_found_by_its_UIDL_and_an_unknown_one_is_gone()
    {
        await using var dovecot = await DovecotServer.StartAsync((User, Password));
        var raws = Enumerable.Range(1, 3).Select(Mail).ToList();
        foreach (var raw in raws)
        {
            await dovecot.AppendAsync(User, Password, raw);
        }

        await using var state = await SqliteStateStore.OpenAsync(_temp.File("state.db"), CancellationToken.None);
        IReadOnlyList<SourceMessage> listed;
        await using (var first = Source(dovecot))
        {
            await first.ConnectAsync(CancellationToken.None);
            listed = await first.ListAsync(state, Now, CancellationToken.None);
        }

        await using var source = Source(dovecot);
        await source.ConnectAsync(CancellationToken.None);
        Assert.Equal(raws[2], await SourceTesting.CopyAsync(source, listed[2] with { Location = null }));
        Assert.Equal(raws[1], await SourceTesting.CopyAsync(source, listed[1] with { Location = "0" }));
        Assert.Equal(raws[0], await SourceTesting.CopyAsync(source, listed[0] with { Location = "99" }));

        using var sink = new MemoryStream();
        Assert.False(await source.CopyToAsync(new SourceMessage("unknown-uidl", Location: "0"), sink, CancellationToken.None));
        Assert.Equal(0, sink.Length);
    }

    [Fact]
    public async Task A_wrong_password_or_a_stopped_server_is_a_MailSourceException_naming_the_server_and_user_but_not_the_password()
    {
        await using var dovecot = await DovecotServer.StartAsync((User, Password));
        await dovecot.AppendAsync(User, Password, Mail(1));

        await using (var wrong = new Pop3Source(Endpoint(dovecot, "wrong-password-Zk9"), Account))
        {
            var refused = await Assert.ThrowsAsync<MailSourceException>(() => wrong.ConnectAsync(CancellationToken.None));
            AssertNamesServer(refused, dovecot.Pop3Port, "wrong-password-Zk9");
        }

        await dovecot.StopAsync();
        await using (var down = Source(dovecot))
        {
            var e = await Assert.ThrowsAsync<MailSourceException>(() => down.ConnectAsync(CancellationToken.None));
            AssertNamesServer(e, dovecot.Pop3Port, Password);
            Assert.Contains("refused", e.Message, StringComparison.Ordinal);
        }

        // A session whose server goes away mid-run fails the same way, and disposing it does not throw.
        await dovecot.RestartAsync();
        await using var state = await SqliteStateStore.OpenAsync(_temp.File("state.db"), CancellationToken.None);
        var source = Source(dovecot);
        await source.ConnectAsync(CancellationToken.None);
        var message = Assert.Single(await source.ListAsync(state, Now, CancellationToken.None));
        await dovecot.StopAsync();
        using var sink = new MemoryStream();
        var lost = await Assert.ThrowsAsync<MailSourceException>(() => source.CopyToAsync(message, sink, CancellationToken.None));
        AssertNamesServer(lost, dovecot.Pop3Port, Password);
        await source.DisposeAsync();
    }

    [Fact]
    public async Task A_server_without_UIDL_is_refused_with_the_reason()
    {
        using var server = new ScriptedPop3Server(uidl: false);
        await using var source = new Pop3Source(new ServerEndpoint("pop3", LoopbackPort.Host, server.Port, SecureSocketOptions.None, User, Password), Account);

        var e = await Assert.ThrowsAsync<MailSourceException>(() => source.ConnectAsync(CancellationToken.None));

        Assert.Contains("does not support UIDL, which RuleMail needs to fetch each message once", e.Message, StringComparison.Ordinal);
        AssertNamesServer(e, server.Port, Password);
        Assert.DoesNotContain("DELE", server.Commands);
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_as_a_MailSourceException()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var endpoint = new ServerEndpoint("pop3", LoopbackPort.Host, port, SecureSocketOptions.None, User, Password) { Timeout = TimeSpan.FromMilliseconds(500) };
        await using var source = new Pop3Source(endpoint, Account);

        var e = await Assert.ThrowsAsync<MailSourceException>(() => source.ConnectAsync(CancellationToken.None));

        AssertNamesServer(e, port, Password);
    }

    private static Pop3Source Source(DovecotServer dovecot) => new(Endpoint(dovecot, Password), Account);

    private static ServerEndpoint Endpoint(DovecotServer dovecot, string password) =>
        new("pop3", dovecot.Host, dovecot.Pop3Port, SecureSocketOptions.None, User, password);

    private static void AssertNamesServer(MailSourceException e, int port, string password)
    {
        Assert.Contains($"{LoopbackPort.Host}:{port}", e.Message, StringComparison.Ordinal);
        Assert.Contains(User, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static byte[] Mail(int n) =>
        Encoding.ASCII.GetBytes($"Message-ID: <m{n}@test>\r\nSubject: Message {n}\r\nFrom: a@test\r\nTo: b@test\r\n\r\nbody {n}\r\n.dot-stuffed line\r\n");


    /// <summary>A one-connection POP3 server that answers USER/PASS/STAT and refuses CAPA and UIDL; it records the commands.</summary>
    private sealed class ScriptedPop3Server : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _serving;
        private readonly List<string> _commands = [];

        public ScriptedPop3Server(bool uidl)
        {
            _listener.Start();
            _serving = Task.Run(() => ServeAsync(uidl));
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public IReadOnlyList<string> Commands
        {
            get
            {
                lock (_commands)
                {
                    return [.. _commands];
                }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            try
            {
                _serving.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }
        }

        private async Task ServeAsync(bool uidl)
        {
            using var client = await _listener.AcceptTcpClientAsync();
            await using var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII);
            await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("+OK scripted POP3 ready");
            while (await reader.ReadLineAsync() is { } line)
            {
                var command = line.Split(' ')[0].ToUpperInvariant();
                lock (_commands)
                {
                    _commands.Add(command);
                }

                var answer = command switch
                {
                    "USER" or "PASS" => "+OK",
                    "STAT" => "+OK 1 120",
                    "UIDL" when uidl => "+OK 1 abc",
                    "QUIT" => "+OK bye",
                    _ => "-ERR unknown command",
                };
                await writer.WriteLineAsync(answer);
                if (command == "QUIT")
                {
                    return;
                }
            }
        }
    }
}
