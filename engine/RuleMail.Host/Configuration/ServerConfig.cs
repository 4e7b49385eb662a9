namespace RuleMail.Host.Configuration;

/// <summary>A mail server connection. The password comes from the environment variable named in <see cref="PasswordEnv"/>.</summary>
public sealed class ServerConfig
{
    public string Host { get; set; } = "";

    public int Port { get; set; }

    /// <summary><c>none</c>, <c>starttls</c> or <c>tls</c>.</summary>
    public string Security { get; set; } = "tls";

    public string? User { get; set; }

    public string? PasswordEnv { get; set; }

    public string? Folder { get; set; }
}
