using System.Net.Sockets;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace RuleMail.Host.Transport;

/// <summary>Connecting and logging in to IMAP, POP3 and SMTP servers, with every network failure turned into one <see cref="MailSourceException"/> line.</summary>
internal static class MailConnection
{
    /// <summary>Connects and authenticates (when the endpoint has a user).</summary>
    public static async Task ConnectAsync(IMailService client, ServerEndpoint server, CancellationToken cancellationToken)
    {
        client.Timeout = (int)server.Timeout.TotalMilliseconds;
        try
        {
            await client.ConnectAsync(server.Host, server.Port, server.Security, cancellationToken).ConfigureAwait(false);
            if (server.User is not null)
            {
                await client.AuthenticateAsync(server.User, server.Password ?? string.Empty, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (AuthenticationException e)
        {
            throw new MailSourceException($"{server}: the server refused the login: {OneLine(e.Message)}", e);
        }
        catch (Exception e) when (IsTransient(e))
        {
            throw new MailSourceException($"{server}: {Describe(e)}", e);
        }
    }

    /// <summary>Runs a server operation, turning network and protocol failures into <see cref="MailSourceException"/>.</summary>
    public static async Task<T> GuardAsync<T>(ServerEndpoint server, string what, Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransient(e))
        {
            throw new MailSourceException($"{server}: {what}: {Describe(e)}", e);
        }
    }

    /// <summary>The folder by its full name, created (subscribed) in the personal namespace when it is missing.</summary>
    public static async Task<IMailFolder> FolderAsync(ImapClient client, ServerEndpoint server, string name, Action? creating, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetFolderAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (FolderNotFoundException)
        {
            creating?.Invoke();
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            return await root.CreateAsync(name, true, cancellationToken).ConfigureAwait(false)
                ?? throw new MailSourceException($"{server}: could not create folder {name}");
        }
    }

    /// <summary>Disconnects politely; a server that is already gone is not an error here.</summary>
    public static async Task DisconnectQuietlyAsync(IMailService client)
    {
        try
        {
            if (client.IsConnected)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.DisconnectAsync(true, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsTransient(e) || e is OperationCanceledException)
        {
            // The session is over either way.
        }

        client.Dispose();
    }

    /// <summary>Failures that mean "not now": the network, the protocol, the server's refusal of a command, timeouts.</summary>
    public static bool IsTransient(Exception e) => e is IOException or SocketException or TimeoutException
        or ProtocolException or CommandException or ServiceNotConnectedException or ServiceNotAuthenticatedException
        or AuthenticationException or SslHandshakeException or System.Security.Authentication.AuthenticationException
        or OperationCanceledException { CancellationToken.IsCancellationRequested: false };

    private static string Describe(Exception e) => e switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused (is the server running?)",
        SocketException socket => $"network error ({socket.SocketErrorCode})",
        OperationCanceledException or TimeoutException => "the server did not answer in time",
        SslHandshakeException => $"TLS failed: {OneLine(e.Message)}",
        ImapCommandException imap => $"the server answered {imap.Response}: {imap.ResponseText}",
        Pop3CommandException pop3 => $"the server answered: {pop3.StatusText}",
        SmtpCommandException smtp => $"the server answered {(int)smtp.StatusCode}: {OneLine(smtp.Message)}",
        _ => OneLine(e.Message),
    };

    private static string OneLine(string text) => text.Split('\n')[0].Trim();
}
