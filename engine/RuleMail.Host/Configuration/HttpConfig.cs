using System.Globalization;
using System.Net;

namespace RuleMail.Host.Configuration;

/// <summary>
/// <c>http:</c> in <c>rulemail.yaml</c>: where the HTTP API and web UI listen. <c>rulemail run</c> serves them only
/// when this section is present; <c>rulemail serve</c> uses the defaults when it is not.
/// </summary>
public sealed class HttpConfig
{
    /// <summary>The default address: loopback only, so nothing is reachable from outside unless configured.</summary>
    public const string DefaultListen = "127.0.0.1:8025";

    /// <summary><c>ADDRESS:PORT</c> (an IPv6 address in brackets: <c>[::1]:8025</c>); <c>0.0.0.0</c> or <c>[::]</c> for every interface.</summary>
    public string Listen { get; set; } = DefaultListen;

    /// <summary>HTTPS from a PEM certificate and key file; without it plain HTTP (behind a reverse proxy, or on loopback).</summary>
    public TlsConfig? Tls { get; set; }

    /// <summary>The largest request body (a message to check or send, a key upload) in MB; larger ones are refused with 413.</summary>
    public int MaxMessageMb { get; set; } = 50;

    /// <summary><see cref="MaxMessageMb"/> in bytes.</summary>
    [YamlDotNet.Serialization.YamlIgnore]
    public long MaxRequestBytes => MaxMessageMb * 1024L * 1024L;

    /// <summary><see cref="Listen"/> as an endpoint, or null (with why) when it is not one.</summary>
    public IPEndPoint? Endpoint(out string? error)
    {
        error = null;
        var text = Listen.Trim();
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1
            || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = $"http.listen must be ADDRESS:PORT with a port from 1 to 65535 (e.g. {DefaultListen}), not '{Listen}'";
            return null;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            error = $"http.listen: write an IPv6 address in brackets ([{host}]:{port.ToString(CultureInfo.InvariantCulture)}), not '{Listen}'";
            return null;
        }

        if (host == "localhost")
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            error = $"http.listen must name an IP address (or localhost), not '{host}'";
            return null;
        }

        return new IPEndPoint(address, port);
    }
}

/// <summary><c>http.tls</c>: the server certificate (PEM, with its chain after it) and its private key (PEM).</summary>
public sealed class TlsConfig
{
    public string Certificate { get; set; } = "";

    public string Key { get; set; } = "";
}
