using RuleMail.Host.Transport;
using RuleMail.Host.State;

namespace RuleMail.Host.Tests.Transport;

/// <summary>What the source tests do alike: put a ledger entry in place, read a message's bytes.</summary>
internal static class SourceTesting
{
    public const string Account = "support";

    public static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Records a message (without side effects) as an earlier run left it, an hour ago.</summary>
    public static Task RecordAsync(IStateStore state, string folder, string key, MessageState status, DateTimeOffset? next = null) =>
        state.RecordAsync(
            new LedgerEntry
            {
                Account = Account,
                Folder = folder,
                SourceKey = key,
                ContentHash = new string('0', 64),
                State = status,
                NextAttempt = next,
                FirstSeen = Now.AddHours(-1),
                UpdatedAt = Now.AddHours(-1),
            },
            [],
            CancellationToken.None);

    /// <summary>The message's bytes as the source copies them; fails when it says the message is gone.</summary>
    public static async Task<byte[]> CopyAsync(IMailSource source, SourceMessage message)
    {
        using var sink = new MemoryStream();
        Assert.True(await source.CopyToAsync(message, sink, CancellationToken.None));
        return sink.ToArray();
    }
}
