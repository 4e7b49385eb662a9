using System.Diagnostics;
using System.Globalization;
using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Host.Tests.Support;

/// <summary>
/// A real Dovecot 2.3 (IMAP and POP3, no TLS, plaintext logins allowed) on two free loopback ports, with its
/// configuration, sockets, log and Maildirs in its own temp folder. It runs in the foreground as this test
/// process's child and never outlives it. <see cref="StopAsync"/> and <see cref="RestartAsync"/> keep the ports
/// and the mail, for outage-and-recovery tests. The IMAP helpers log in as the given user with MailKit.
/// </summary>
/// <remarks>
/// Run as root, Dovecot refuses to run its login processes or a user's mail process as root, so the login
/// processes run as dovenull and the mail as nobody (the mail root is world-writable for that). Run as anyone
/// else, everything runs as that user. Chroots are off (they need root), and so is the per-IP penalty for failed
/// logins, which would otherwise slow every later login from 127.0.0.1 by seconds.
/// </remarks>
internal sealed class DovecotServer : IAsyncDisposable
{
    public const string Program = "/usr/sbin/dovecot";
    private const string InstallHint = "Debian: apt-get install dovecot-imapd dovecot-pop3d";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly Lazy<RunAs> Identity = new(RunAs.Resolve);

    private readonly TempDirectory _root = new("dovecot");
    private ServerProcess? _process;

    private DovecotServer(IReadOnlyDictionary<string, string> users) => Users = users;

    public string Host { get; } = LoopbackPort.Host;

    public int ImapPort { get; private set; }

    public int Pop3Port { get; private set; }

    /// <summary>The users and their passwords, as given at start.</summary>
    public IReadOnlyDictionary<string, string> Users { get; }

    public string Root => _root.Path;

    public string ConfigPath => _root.File("dovecot.conf");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Dovecot's log file and anything the master wrote to stdout/stderr; put it in failure messages.</summary>
    public string Log
    {
        get
        {
            var text = new StringBuilder();
            var logPath = _root.File("dovecot.log");
            if (File.Exists(logPath))
            {
                using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                text.Append(reader.ReadToEnd());
            }

            if (_process is not null)
            {
                text.Append(_process.Output);
            }

            return text.ToString();
        }
    }

    public static Task<DovecotServer> StartAsync(params (string User, string Password)[] users)
    {
        ArgumentNullException.ThrowIfNull(users);
        return StartCoreAsync(users);
    }

    /// <summary>The user's Maildir (INBOX; other folders are its ".Name" subfolders), created at start.</summary>
    public string MaildirOf(string user) => Path.Combine(_root.Path, "mail", user, "Maildir");

    /// <summary>
    /// Run as root, Dovecot reads and writes the Maildirs as nobody, so what a test (as root) created there must
    /// be handed over before Dovecot looks at it: this chowns the user's Maildir to the mail user. A no-op otherwise.
    /// </summary>
    public void GiveMaildirToDovecot(string user)
    {
        var who = Identity.Value;
        if (who.IsRoot)
        {
            ExternalTool.Run("chown", ["-R", string.Create(CultureInfo.InvariantCulture, $"{who.MailUid}:{who.MailGid}"), MaildirOf(user)]);
        }
    }

    /// <summary>Kills Dovecot and all its processes; its ports then refuse connections. The mail stays.</summary>
    public async Task StopAsync()
    {
        _process?.Dispose();
        _process = null;
        var deadline = Stopwatch.StartNew();
        while (LoopbackPort.Accepts(ImapPort) || LoopbackPort.Accepts(Pop3Port))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"Dovecot was killed but port {ImapPort} or {Pop3Port} still accepts connections");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Starts Dovecot again (stopping it first if it runs) on the same ports, with the same users and mail.</summary>
    public async Task RestartAsync()
    {
        if (_process is not null)
        {
            await StopAsync();
        }

        if (!await TryLaunchAsync())
        {
            throw new InvalidOperationException($"Dovecot did not restart on ports {ImapPort}/{Pop3Port}:\n{LogTail()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _process?.Dispose();
        _process = null;
        await Task.Yield();
        _root.Dispose();
    }

    /// <summary>An IMAP client logged in as the user; the caller disposes it.</summary>
    public async Task<ImapClient> ConnectImapAsync(string user, string password)
    {
        var client = new ImapClient();
        try
        {
            await client.ConnectAsync(Host, ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(user, password);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Appends the message to the folder (INBOX by default) and returns its UID there.</summary>
    public async Task<UniqueId> AppendAsync(
        string user, string password, MimeMessage message, string folder = "INBOX", MessageFlags flags = MessageFlags.None, IEnumerable<string>? keywords = null)
    {
        using var client = await ConnectImapAsync(user, password);
        var target = await client.GetFolderAsync(folder);
        var request = new AppendRequest(message, flags, keywords ?? []);
        var uid = await target.AppendAsync(request) ?? throw new InvalidOperationException("Dovecot did not return the appended message's UID (no UIDPLUS?)");
        await client.DisconnectAsync(true);
        return uid;
    }

    /// <summary>Appends the raw message (parsed by MimeKit, which writes an unmodified message back unchanged).</summary>
    public async Task<UniqueId> AppendAsync(
        string user, string password, byte[] raw, string folder = "INBOX", MessageFlags flags = MessageFlags.None, IEnumerable<string>? keywords = null)
    {
        using var stream = new MemoryStream(raw, writable: false);
        using var message = await MimeMessage.LoadAsync(stream);
        return await AppendAsync(user, password, message, folder, flags, keywords);
    }

    /// <summary>Every message in the folder, in UID order, with its flags, keywords, Message-ID and subject.</summary>
    public async Task<IReadOnlyList<StoredMessage>> ListAsync(string user, string password, string folder = "INBOX")
    {
        using var client = await ConnectImapAsync(user, password);
        var target = await client.GetFolderAsync(folder);
        await target.OpenAsync(FolderAccess.ReadOnly);
        var list = new List<StoredMessage>();
        if (target.Count > 0)
        {
            var summaries = await target.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.Envelope);
            foreach (var summary in summaries.OrderBy(s => s.UniqueId.Id))
            {
                list.Add(new StoredMessage(
                    summary.UniqueId,
                    summary.Flags ?? MessageFlags.None,
                    new HashSet<string>((IEnumerable<string>?)summary.Keywords ?? [], StringComparer.OrdinalIgnoreCase),
                    summary.Envelope?.MessageId,
                    summary.Envelope?.Subject));
            }
        }

        await client.DisconnectAsync(true);
        return list;
    }

    /// <summary>The whole message with that UID.</summary>
    public async Task<MimeMessage> GetMessageAsync(string user, string password, UniqueId uid, string folder = "INBOX")
    {
        using var client = await ConnectImapAsync(user, password);
        var target = await client.GetFolderAsync(folder);
        await target.OpenAsync(FolderAccess.ReadOnly);
        var message = await target.GetMessageAsync(uid);
        await client.DisconnectAsync(true);
        return message;
    }

    public async Task<int> CountAsync(string user, string password, string folder = "INBOX")
    {
        using var client = await ConnectImapAsync(user, password);
        var target = await client.GetFolderAsync(folder);
        await target.StatusAsync(StatusItems.Count);
        await client.DisconnectAsync(true);
        return target.Count;
    }

    public async Task<bool> FolderExistsAsync(string user, string password, string folder)
    {
        using var client = await ConnectImapAsync(user, password);
        try
        {
            await client.GetFolderAsync(folder);
            return true;
        }
        catch (FolderNotFoundException)
        {
            return false;
        }
        finally
        {
            await client.DisconnectAsync(true);
        }
    }

    /// <summary>Creates a top-level folder (Dovecot's hierarchy separator is ".").</summary>
    public async Task CreateFolderAsync(string user, string password, string folder)
    {
        using var client = await ConnectImapAsync(user, password);
        var personal = client.GetFolder(client.PersonalNamespaces[0]);
        await personal.CreateAsync(folder, isMessageFolder: true);
        await client.DisconnectAsync(true);
    }

    /// <summary>Adds flags and keywords to the message with that UID.</summary>
    public async Task AddFlagsAsync(string user, string password, UniqueId uid, MessageFlags flags, IEnumerable<string> keywords, string folder = "INBOX")
    {
        using var client = await ConnectImapAsync(user, password);
        var target = await client.GetFolderAsync(folder);
        await target.OpenAsync(FolderAccess.ReadWrite);
        await target.StoreAsync(uid, new StoreFlagsRequest(StoreAction.Add, flags, keywords) { Silent = true });
        await client.DisconnectAsync(true);
    }

    private static async Task<DovecotServer> StartCoreAsync((string User, string Password)[] users)
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (user, password) in users)
        {
            if (user.Length == 0 || user.IndexOfAny([':', '\n', '\r', '/', '%']) >= 0 || password.IndexOfAny([':', '\n', '\r']) >= 0)
            {
                throw new ArgumentException($"user '{user}' or its password cannot go into a Dovecot passwd-file", nameof(users));
            }

            byName.Add(user, password);
        }

        var server = new DovecotServer(byName);
        try
        {
            await server.LaunchOnFreePortsAsync();

            // Dovecot makes a user's Maildir when the user first opens INBOX; tests may want to look at it before.
            await Task.WhenAll(byName.Select(async user =>
            {
                using var client = await server.ConnectImapAsync(user.Key, user.Value);
                await client.Inbox.StatusAsync(StatusItems.Count);
                await client.DisconnectAsync(true);
            }));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task LaunchOnFreePortsAsync()
    {
        Directory.CreateDirectory(_root.File("run"));
        Directory.CreateDirectory(_root.File("state"));
        var mail = Directory.CreateDirectory(_root.File("mail"));
        if (Identity.Value.IsRoot && !OperatingSystem.IsWindows())
        {
            // The mail processes run as nobody, who must be able to create the users' folders here.
            mail.UnixFileMode = (UnixFileMode)Convert.ToInt32("777", 8);
        }

        var passwd = new StringBuilder();
        foreach (var (user, password) in Users)
        {
            passwd.Append(CultureInfo.InvariantCulture, $"{user}:{{PLAIN}}{password}\n");
        }

        await File.WriteAllTextAsync(_root.File("passwd"), passwd.ToString());

        for (var attempt = 1; ; attempt++)
        {
            ImapPort = LoopbackPort.PickFree();
            do
            {
                Pop3Port = LoopbackPort.PickFree();
            }
            while (Pop3Port == ImapPort);

            await File.WriteAllTextAsync(ConfigPath, Configuration());
            if (await TryLaunchAsync())
            {
                return;
            }

            // A parallel test may have taken a port between the probe and Dovecot's bind: pick others.
            if (attempt == 5 || !Log.Contains("Address already in use", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Dovecot did not start ({_process?.CommandLine}):\n{LogTail()}");
            }

            _process?.Dispose();
            _process = null;
        }
    }

    /// <summary>Starts the master and waits until both ports greet; false when it exits or stays silent.</summary>
    private async Task<bool> TryLaunchAsync()
    {
        // A master.pid left by a killed master would only be a problem if its pid were reused meanwhile.
        File.Delete(_root.File("run/master.pid"));
        _process = ServerProcess.Start(Program, ["-F", "-c", ConfigPath], _root.Path, InstallHint);
        var deadline = Stopwatch.StartNew();
        var imapReady = false;
        var pop3Ready = false;
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                return false;
            }

            imapReady = imapReady || await LoopbackPort.ReadGreetingAsync(ImapPort, "* OK", TimeSpan.FromSeconds(2)) is not null;
            pop3Ready = pop3Ready || await LoopbackPort.ReadGreetingAsync(Pop3Port, "+OK", TimeSpan.FromSeconds(2)) is not null;
            if (imapReady && pop3Ready)
            {
                return true;
            }

            await Task.Delay(25);
        }

        return false;
    }

    private string Configuration()
    {
        var who = Identity.Value;
        var root = _root.Path;
        return $$"""
            # Written by the RuleMail tests' DovecotServer fixture.
            protocols = imap pop3
            listen = {{LoopbackPort.Host}}
            base_dir = {{root}}/run
            state_dir = {{root}}/state
            log_path = {{root}}/dovecot.log
            info_log_path = {{root}}/dovecot.log
            debug_log_path = {{root}}/dovecot.log
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            auth_verbose = yes
            auth_failure_delay = 0
            default_login_user = {{who.LoginUser}}
            default_internal_user = {{who.InternalUser}}
            default_internal_group = {{who.InternalGroup}}
            first_valid_uid = {{who.MailUid}}
            first_valid_gid = {{who.MailGid}}
            mail_location = maildir:{{root}}/mail/%u/Maildir
            mail_max_userip_connections = 100

            passdb {
              driver = passwd-file
              args = scheme=PLAIN {{root}}/passwd
            }
            userdb {
              driver = static
              args = uid={{who.MailUid}} gid={{who.MailGid}} home={{root}}/mail/%u
            }

            service imap-login {
              chroot =
              inet_listener imap {
                address = {{LoopbackPort.Host}}
                port = {{ImapPort}}
              }
              inet_listener imaps {
                port = 0
              }
            }
            service pop3-login {
              chroot =
              inet_listener pop3 {
                address = {{LoopbackPort.Host}}
                port = {{Pop3Port}}
              }
              inet_listener pop3s {
                port = 0
              }
            }

            # The auth process finds no penalty socket under its usual name and turns the per-IP penalty off.
            service anvil {
              chroot =
              unix_listener anvil-auth-penalty {
                path = anvil-auth-penalty-off
              }
            }
            service ipc {
              chroot =
            }
            service old-stats {
              chroot =
            }
            service aggregator {
              chroot =
            }

            """;
    }

    private string LogTail()
    {
        var lines = Log.Split('\n');
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 40)));
    }

    /// <summary>Which users Dovecot's processes run as: resolved once per test run with id(1).</summary>
    private sealed record RunAs(bool IsRoot, string LoginUser, string InternalUser, string InternalGroup, int MailUid, int MailGid)
    {
        public static RunAs Resolve()
        {
            var uid = Id("-u");
            if (uid != "0")
            {
                var user = Id("-un");
                return new RunAs(false, user, user, Id("-gn"), int.Parse(uid, CultureInfo.InvariantCulture), int.Parse(Id("-g"), CultureInfo.InvariantCulture));
            }

            // Debian's dovecot-core creates dovenull and dovecot; nobody:nogroup exists everywhere.
            var login = Exists("dovenull") ? "dovenull" : "nobody";
            var internalUser = Exists("dovecot") ? "dovecot" : "nobody";
            return new RunAs(
                true,
                login,
                internalUser,
                Id("-gn", internalUser),
                int.Parse(Id("-u", "nobody"), CultureInfo.InvariantCulture),
                int.Parse(Id("-g", "nobody"), CultureInfo.InvariantCulture));
        }

        private static string Id(params string[] arguments) => ExternalTool.Run("id", arguments).StandardOutputText.Trim();

        private static bool Exists(string user) => ExternalTool.TryRun("id", ["-u", user]).ExitCode == 0;
    }
}

/// <summary>One message as <see cref="DovecotServer.ListAsync"/> sees it over IMAP.</summary>
internal sealed record StoredMessage(UniqueId Uid, MessageFlags Flags, IReadOnlySet<string> Keywords, string? MessageId, string? Subject);
