using Microsoft.Extensions.Time.Testing;
using MimeKit;
using RuleMail.Crypto;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// The key store of a receiving account, on a fake clock that may start at any moment (a FakeTimeProvider
/// cannot go back, so a test that needs the past starts there), and the <see cref="IncomingSecurity"/> that
/// inspects mail against it. Cheap PBKDF2 count; secret files are opened with <see cref="Passphrases.File"/>.
/// </summary>
internal sealed class MailboxStore : IDisposable
{
    public const string Account = "support@rulemail.test";

    private readonly TempDirectory _folder = new("mailbox-store");

    public MailboxStore(DateTimeOffset? start = null)
    {
        Time = new FakeTimeProvider(start ?? TimeProvider.System.GetUtcNow());
        Store = KeyStore.OpenOrCreate(Path.Combine(_folder.Path, "keystore"), new KeyStoreOptions
        {
            Time = Time,
            Passphrase = new KeyStorePassphrase(Passphrases.Store),
            Pkcs8Iterations = 1000,
        });
    }

    public FakeTimeProvider Time { get; }

    public KeyStore Store { get; }

    /// <summary>A store holding <paramref name="files"/>, imported in one go.</summary>
    public static MailboxStore With(params ImportFile[] files)
    {
        var store = new MailboxStore();
        store.Import(files);
        return store;
    }

    public MailboxStore Import(params ImportFile[] files)
    {
        if (files.Length > 0)
        {
            Store.Import(files, Passphrases.File);
        }

        return this;
    }

    /// <summary>What <see cref="IncomingSecurity"/> makes of the message, as the account's mailbox received it.</summary>
    public IncomingReport Inspect(MimeMessage message, string? accountAddress = null) =>
        new IncomingSecurity(Store).Inspect(message, accountAddress);

    /// <summary>The raw message through the product's path: structure bounds, parsing, then decryption and verification.</summary>
    public IncomingReport Inspect(byte[] message, string? accountAddress = null, SecurityPolicy? policy = null) =>
        new IncomingSecurity(Store, policy).Inspect(new MemoryStream(message, writable: false), accountAddress);

    public void Dispose() => _folder.Dispose();
}
