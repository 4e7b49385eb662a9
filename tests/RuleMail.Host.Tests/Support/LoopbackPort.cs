using System.Net;
using System.Net.Sockets;

namespace RuleMail.Host.Tests.Support;

/// <summary>
/// Free TCP ports on 127.0.0.1 for the servers the tests start, and probes of whether one answers. Ports come
/// from below the kernel's ephemeral range (32768 and up on Linux), so an outgoing connection's local port never
/// takes a stopped server's port before the server is restarted on it.
/// </summary>
internal static class LoopbackPort
{
    public const string Host = "127.0.0.1";

    private const int First = 20000;
    private const int Last = 32000;

    /// <summary>A port nothing listens on right now. Whoever uses it must still retry when a parallel test wins the race.</summary>
    public static int PickFree()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(First, Last);
            if (IsBindable(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free loopback port between {First} and {Last} after 200 tries");
    }

    public static bool IsBindable(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>True when something accepts a connection on the port.</summary>
    public static bool Accepts(int port)
    {
        using var client = new TcpClient();
        try
        {
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Connects and reads the server's first line. Returns it when it starts with <paramref name="greetingPrefix"/>,
    /// or null when the port refuses, closes or says something else before <paramref name="timeout"/>.
    /// </summary>
    public static async Task<string?> ReadGreetingAsync(int port, string greetingPrefix, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancel.Token);
            using var reader = new StreamReader(client.GetStream());
            var line = await reader.ReadLineAsync(cancel.Token);
            return line is not null && line.StartsWith(greetingPrefix, StringComparison.Ordinal) ? line : null;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }
}
