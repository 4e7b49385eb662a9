using MailKit.Security;
using RuleMail.Host.Configuration;

namespace RuleMail.Host.Transport;

/// <summary>A mail server to log in to, with its password already read from the environment. <see cref="ToString"/> never shows the password.</summary>
internal sealed record ServerEndpoint(string Protocol, string Host, int Port, SecureSocketOptions Security, string? User, string? Password)
{
    /// <summary>How long one network operation may take before the server counts as unreachable.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>imap 127.0.0.1:143 (support)</c>: for messages and logs.</summary>
    public override string ToString() => User is null ? $"{Protocol} {Host}:{Port}" : $"{Protocol} {Host}:{Port} ({User})";

    /// <summary>The endpoint a config block describes; the password comes from the environment variable it names.</summary>
    /// <exception cref="RuleMailException">The password variable is named but not set.</exception>
    public static ServerEndpoint From(string protocol, ServerConfig config, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        string? password = null;
        if (config.PasswordEnv is { } variable)
        {
            password = environment(variable);
            if (string.IsNullOrEmpty(password))
            {
                throw new RuleMailException($"{protocol} {config.Host}:{config.Port}: the password variable {variable} is not set");
            }
        }

        var security = config.Security switch
        {
            "none" => SecureSocketOptions.None,
            "starttls" => SecureSocketOptions.StartTls,
            _ => SecureSocketOptions.SslOnConnect,
        };
        return new ServerEndpoint(protocol, config.Host, config.Port, security, config.User, password);
    }
}
