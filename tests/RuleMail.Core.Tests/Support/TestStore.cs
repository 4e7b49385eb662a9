using Microsoft.Extensions.Time.Testing;
using RuleMail.Keys;

namespace RuleMail.Core.Tests.Support;

/// <summary>
/// A key store in a temp folder, on a fake clock that starts at the real now (test material is made
/// "now"), with a cheap PBKDF2 count so tests that are not about it stay fast.
/// </summary>
internal sealed class TestStore : IDisposable
{
    public const string Passphrase = Passphrases.Store;

    private readonly TempDirectory _folder = new("store");

    public TestStore(string? passphrase = Passphrase)
    {
        Time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        Options = OptionsWith(passphrase);
        Store = KeyStore.OpenOrCreate(Directory, Options);
    }

    public FakeTimeProvider Time { get; }

    public KeyStoreOptions Options { get; }

    public KeyStore Store { get; }

    /// <summary>The store folder (a subfolder of the temp folder, so the store creates it itself).</summary>
    public string Directory => Path.Combine(_folder.Path, "keystore");

    public KeyStoreOptions OptionsWith(string? passphrase) => new()
    {
        Time = Time,
        Passphrase = passphrase is null ? null : new KeyStorePassphrase(passphrase),
        Pkcs8Iterations = 1000,
    };

    public IReadOnlyList<ImportedEntry> Import(params ImportFile[] files) => Store.Import(files);

    public IReadOnlyList<ImportedEntry> Import(string filePassphrase, params ImportFile[] files) => Store.Import(files, filePassphrase);

    /// <summary>Another <see cref="KeyStore"/> on the same folder and clock, as another process would open it.</summary>
    public KeyStore Open(string? passphrase = Passphrase) => KeyStore.Open(Directory, OptionsWith(passphrase));

    public FolderSnapshot Snapshot() => FolderSnapshot.Take(Directory);

    public string PathOf(params string[] parts) => Path.Combine([Directory, .. parts]);

    public void Dispose()
    {
        _folder.Dispose();
    }
}
