namespace RuleMail.Host.Configuration;

/// <summary>One mailbox the host fetches from and sends for.</summary>
public sealed class AccountConfig
{
    public string Name { get; set; } = "";

    public string Address { get; set; } = "";

    public FetchConfig? Fetch { get; set; }

    public SendConfig? Send { get; set; }
}
