using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RuleMail.Keys;

/// <summary>
/// The key store: S/MIME certificates and private keys, OpenPGP keys and CRLs, kept as plain files in a
/// folder (<see cref="KeyStoreFolder"/> describes the layout) with private material encrypted under the
/// store passphrase. Answers "which certificate or key serves this address, for signing or encryption,
/// now?" and hands private keys to the crypto layers.
/// </summary>
/// <remarks>
/// Thread-safe: lookups read an immutable snapshot (indexed by address, fingerprint and key ID, so a lookup costs the
/// same in a store of 100 entries or 20,000); <see cref="Import"/>, <see cref="Remove"/> and <see cref="Reload"/> take
/// the lock file in the store folder (so several processes may share the folder) and swap in a new snapshot. A load
/// lists every file but reads only what <see cref="KeyStoreCache"/> cannot vouch for (certificates it has not seen,
/// every OpenPGP ring and CRL) and parses and verifies only what it does not know yet; certificates and key rings are
/// parsed when first used, and a certificate file is checked then to be the one its name says.
/// </remarks>
public sealed class KeyStore
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    private readonly KeyStoreFolder _folder;
    private readonly KeyStoreOptions _options;
    private readonly ConcurrentDictionary<string, Lazy<X509Certificate2>> _smimeKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string, long), Lazy<PgpPrivateKey>> _pgpKeys = new();
    private volatile KeyStoreSnapshot _snapshot;

    private KeyStore(KeyStoreFolder folder, KeyStoreOptions options, KeyStoreSnapshot snapshot)
    {
        _folder = folder;
        _options = options;
        _snapshot = snapshot;
    }

    /// <summary>Opens an existing key store folder.</summary>
    /// <exception cref="KeyStoreException">The folder does not exist or holds a damaged file.</exception>
    public static KeyStore Open(string directory, KeyStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        RequireStore(directory);
        var folder = new KeyStoreFolder(directory);
        return new KeyStore(folder, options ?? new KeyStoreOptions(), KeyStoreSnapshot.Load(folder));
    }

    /// <summary>Opens a key store folder, or an empty store that <see cref="Import"/> will create.</summary>
    public static KeyStore OpenOrCreate(string directory, KeyStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var folder = new KeyStoreFolder(directory);
        var snapshot = System.IO.Directory.Exists(directory) ? KeyStoreSnapshot.Load(folder) : KeyStoreSnapshot.Empty;
        return new KeyStore(folder, options ?? new KeyStoreOptions(), snapshot);
    }

    public string Directory => _folder.Root;

    public TimeProvider Time => _options.Time;

    /// <summary>Every entry, ordered by address.</summary>
    public IReadOnlyList<KeyEntry> Entries => _snapshot.Entries;

    /// <summary>Changes identity whenever the store's content changes: lets callers cache what they derive from it.</summary>
    internal object Version => _snapshot;

    public IReadOnlyList<SmimeCertificateEntry> Certificates => _snapshot.Certificates;

    public IReadOnlyList<PgpKeyEntry> PgpKeys => _snapshot.PgpKeys;

    /// <summary>CA certificates the admin imported: a signer's chain must reach one of them.</summary>
    public IReadOnlyList<SmimeCertificateEntry> TrustAnchors => _snapshot.TrustAnchors;

    /// <summary>The CA certificates (trust anchors and intermediates), without a scan of the store.</summary>
    public IReadOnlyList<SmimeCertificateEntry> CertificateAuthorities => _snapshot.CertificateAuthorities;

    /// <summary>The certificates whose private key the store holds, without a scan of the store.</summary>
    public IReadOnlyList<SmimeCertificateEntry> PrivateCertificates => _snapshot.PrivateCertificates;

    /// <summary>The OpenPGP keys with secret keys in the store, without a scan of the store.</summary>
    public IReadOnlyList<PgpKeyEntry> PrivatePgpKeys => _snapshot.PrivatePgpKeys;

    /// <summary>The entry with this whole fingerprint (upper-case hex), or null: an index lookup.</summary>
    public KeyEntry? FindByFingerprint(string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        return _snapshot.ByFingerprint(fingerprint.ToUpperInvariant());
    }

    /// <summary>The store's own entry for <paramref name="certificate"/> (same DER), or null: an index lookup by its SHA-256.</summary>
    public SmimeCertificateEntry? FindSmime(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var fingerprint = Convert.ToHexString(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256));
        return _snapshot.ByFingerprint(fingerprint) as SmimeCertificateEntry;
    }

    /// <summary>The OpenPGP entry holding the primary key or subkey <paramref name="keyId"/>, or null: an index lookup.</summary>
    public PgpKeyEntry? FindPgpByKeyId(long keyId) =>
        _snapshot.PgpByKeyId(keyId.ToString("X16", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// Re-reads the folder, picking up changes made by other processes. Fails closed: when the folder cannot be read
    /// whole (a damaged file, no marker, I/O) the content read before stays in force.
    /// </summary>
    /// <returns>What changed, by fingerprint.</returns>
    /// <exception cref="KeyStoreException">The folder cannot be read; nothing changed.</exception>
    public KeyStoreChange Reload() => LoadAndSwap(unlock: false);

    /// <summary>
    /// <see cref="Reload"/> for a store whose private keys were opened with <see cref="UnlockAll"/> (a running host):
    /// every private key of the content read is opened before that content is put in force, so a key the host cannot
    /// use (locked, or under another passphrase) is an error now, not "cannot be decrypted" on each message. Fails
    /// closed: on any error the content and keys in force before stay, and the error says why in one line.
    /// </summary>
    /// <returns>What changed, by fingerprint.</returns>
    /// <exception cref="KeyStoreException">The folder cannot be read whole, or a private key in it cannot be opened; nothing changed.</exception>
    public KeyStoreChange ReloadAndUnlockAll() => LoadAndSwap(unlock: true);

    /// <summary>
    /// Imports every file or nothing. Private keys are re-encrypted under the store passphrase; importing
    /// what is already there changes nothing.
    /// </summary>
    /// <param name="filePassphrase">Opens encrypted inputs (PKCS#12, encrypted PKCS#8, OpenPGP secret keys).</param>
    /// <param name="domainAlias">Lets the OpenPGP keys being imported serve every address of this domain.</param>
    /// <exception cref="KeyStoreException">A file cannot be read or accepted; the store is unchanged.</exception>
    public IReadOnlyList<ImportedEntry> Import(IReadOnlyList<ImportFile> files, string? filePassphrase = null, string? domainAlias = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        var alias = domainAlias is null ? null : NormalizeDomain(domainAlias);
        var material = new KeyMaterial();
        foreach (var file in files)
        {
            KeyFileReader.Read(file.Name, file.Content, filePassphrase, material);
        }

        // The lock file lives in the store folder, so taking it makes the folder: an import refused on a first import
        // must not leave an empty store behind, so it is planned against the empty store first.
        if (!System.IO.Directory.Exists(_folder.Root))
        {
            new KeyImport(KeyStoreSnapshot.Empty, _folder, _options, filePassphrase, alias).Plan(material);
        }

        IReadOnlyCollection<KeyImport.Outcome> outcomes;
        using (_folder.Lock(LockTimeout))
        {
            var current = System.IO.Directory.Exists(_folder.Root) ? KeyStoreSnapshot.Load(_folder) : KeyStoreSnapshot.Empty;
            var import = new KeyImport(current, _folder, _options, filePassphrase, alias);
            import.Plan(material);
            import.Commit();
            outcomes = import.Outcomes;
            _snapshot = KeyStoreSnapshot.Load(_folder);
        }

        var entries = _snapshot.Entries.ToDictionary(e => e.Fingerprint, StringComparer.Ordinal);
        return [.. outcomes.Select(o => new ImportedEntry(entries[o.Fingerprint], o.Change, o.Source, o.Note))];
    }

    /// <summary>Removes one entry (and its private key) named as <see cref="KeyReferences.Matches{T}"/> takes it: a fingerprint, a unique prefix of 16+ hex digits, or an OpenPGP long key ID.</summary>
    /// <exception cref="KeyStoreException">No entry or several entries match.</exception>
    public KeyEntry Remove(string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var wanted = KeyReferences.Normalize(fingerprint);
        using (_folder.Lock(LockTimeout))
        {
            var current = KeyStoreSnapshot.Load(_folder);
            var matches = wanted is null ? [] : KeyReferences.Matches(current.Entries, wanted, e => e.Fingerprint, e => (e as PgpKeyEntry)?.KeyId);

            var entry = matches.Count switch
            {
                0 => throw new KeyStoreException($"no key store entry has the fingerprint {fingerprint}"),
                1 => matches[0],
                _ => throw new KeyStoreException($"{fingerprint} matches {matches.Count} entries; give the whole fingerprint"),
            };

            // Private material goes first: a crash in between leaves a public entry, never a lost one.
            foreach (var path in FilesOf(entry))
            {
                KeyStoreFolder.Delete(path);
            }

            _snapshot = KeyStoreSnapshot.Load(_folder);
            _smimeKeys.TryRemove(entry.Fingerprint, out _);
            foreach (var key in _pgpKeys.Keys.Where(k => k.Item1 == entry.Fingerprint))
            {
                _pgpKeys.TryRemove(key, out _);
            }

            return entry;
        }
    }

    /// <summary>S/MIME certificates for <paramref name="address"/>, the best first: valid before invalid, then newest.</summary>
    public IReadOnlyList<SmimeCertificateEntry> FindSmime(string address)
    {
        var normalized = MailAddresses.Normalize(address);
        return normalized is null ? [] : BestFirst(_snapshot.SmimeFor(normalized));
    }

    /// <summary>The newest certificate valid now for <paramref name="usage"/> (with its private key when asked).</summary>
    public SmimeCertificateEntry? FindSmime(string address, KeyUsages usage, bool needPrivateKey = false)
    {
        var now = _options.Time.GetUtcNow();
        return FindSmime(address).FirstOrDefault(c => c.UsagesAt(now).HasFlag(usage) && (!needPrivateKey || c.HasPrivateKey));
    }

    /// <summary>
    /// OpenPGP keys for <paramref name="address"/>, the best first: keys naming the address, then keys whose
    /// domain alias covers it.
    /// </summary>
    public IReadOnlyList<PgpKeyEntry> FindPgp(string address)
    {
        var normalized = MailAddresses.Normalize(address);
        if (normalized is null)
        {
            return [];
        }

        var byAlias = _snapshot.PgpForDomain(MailAddresses.Domain(normalized));
        return [.. BestFirst(_snapshot.PgpFor(normalized)), .. BestFirst(byAlias).Where(k => !k.Addresses.Contains(normalized))];
    }

    /// <summary>The best OpenPGP key valid now for <paramref name="usage"/> (with its secret key when asked).</summary>
    public PgpKeyEntry? FindPgp(string address, KeyUsages usage, bool needPrivateKey = false)
    {
        var now = _options.Time.GetUtcNow();
        return FindPgp(address).FirstOrDefault(k => k.KeyFor(usage, now, needPrivateKey) is not null);
    }

    /// <summary>When an imported CRL says <paramref name="certificate"/> (from the store or from a message) was revoked, or null.</summary>
    public DateTimeOffset? RevocationOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var snapshot = _snapshot;
        return snapshot.Crls.Count == 0 ? null : snapshot.RevocationOf(SmimeCertificateEntry.Create(certificate, hasPrivateKey: false, revokedAt: null));
    }

    /// <summary>The same, for a certificate already parsed into an entry.</summary>
    internal DateTimeOffset? RevocationOf(SmimeCertificateEntry certificate) => _snapshot.RevocationOf(certificate);

    /// <summary>The certificate with its private key, opened once and cached.</summary>
    /// <exception cref="KeyStoreException">No passphrase, a wrong one, or no private key.</exception>
    public X509Certificate2 OpenPrivateKey(SmimeCertificateEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!entry.HasPrivateKey)
        {
            throw new KeyStoreException($"the key store holds no private key for {entry.Subject}");
        }

        var passphrase = Passphrase();
        return OpenOnce(_smimeKeys, entry.Fingerprint, () => PrivateKeyOpener.OpenSmime(_folder, entry, passphrase));
    }

    /// <summary>The private part of one key (primary or subkey) of an OpenPGP entry, opened once and cached.</summary>
    public PgpPrivateKey OpenPrivateKey(PgpKeyEntry entry, long keyId)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var passphrase = Passphrase();

        // The entry as the store holds it now: a removed key is not handed out, a secret key imported since is.
        var current = _snapshot.ByFingerprint(entry.Fingerprint) as PgpKeyEntry
            ?? throw new KeyStoreException($"the key store no longer holds the OpenPGP key {entry.Fingerprint} ({entry.DisplayName})");
        return OpenPgp(current, keyId, passphrase);
    }

    /// <summary>
    /// Opens every private key of the store once (and keeps them open), so that locked keys or a wrong
    /// passphrase stop a front end at start — an operational error — instead of turning encrypted mail into
    /// "cannot be decrypted" verdicts one message at a time.
    /// </summary>
    /// <returns>How many entries hold a private key (0: nothing to unlock, no passphrase needed).</returns>
    /// <exception cref="KeyStoreException">No passphrase while the store holds private keys, or one that does not open them all.</exception>
    public int UnlockAll() => Unlock(_snapshot);

    /// <summary>
    /// The cheap form of <see cref="UnlockAll"/> for a one-message command: the passphrase is proven by one private key
    /// — none more, when one was opened already (say by the message's decryption) — as every key shares it. Each key
    /// costs a deliberately slow key derivation, so a command pays for the keys it uses, not for the whole store.
    /// </summary>
    /// <exception cref="KeyStoreException">No passphrase while the store holds private keys, or one that does not open them.</exception>
    public void VerifyPassphrase()
    {
        var (certificates, pgpKeys) = PrivateEntries();
        if (_smimeKeys.Values.Any(k => k.IsValueCreated) || _pgpKeys.Values.Any(k => k.IsValueCreated))
        {
            return;
        }

        if (certificates.Count > 0)
        {
            _ = OpenPrivateKey(certificates[0]);
        }
        else if (pgpKeys.Count > 0)
        {
            _ = OpenPrivateKey(pgpKeys[0], SubkeyId(pgpKeys[0].Keys.First(k => k.HasSecretKey)));
        }
    }

    /// <summary>Refuses at once, without opening any key, a store that holds private keys when no passphrase was given.</summary>
    /// <exception cref="KeyStoreException">The store holds private keys and no passphrase was given.</exception>
    public void RequirePassphrase() => _ = PrivateEntries();

    /// <summary>A folder without the marker is refused, whatever else it holds.</summary>
    /// <exception cref="KeyStoreException">The folder is not there, or not a key store.</exception>
    private static void RequireStore(string directory)
    {
        // KeyStoreFolder.Exists tells "not there" from "not allowed to look": the second is no empty store.
        if (!KeyStoreFolder.Exists(directory) || !System.IO.Directory.Exists(directory))
        {
            throw new KeyStoreException($"{directory}: no such key store folder");
        }

        // A folder without the marker is no key store (a mount point not mounted yet, a wrong path): read as an empty
        // store it would judge every signature unknown and every encrypted message undecryptable, for good.
        if (!KeyStoreFolder.Exists(System.IO.Path.Combine(directory, KeyStoreFolder.MarkerFile)))
        {
            throw new KeyStoreException(
                $"{directory}: not a RuleMail key store (it has no {KeyStoreFolder.MarkerFile}); point keystore at the store, or make one with rulemail keys import");
        }
    }

    /// <summary>
    /// Reads the folder under the writers' lock (so an import in another process is seen whole or not at all), opens its
    /// private keys when asked, and only then puts it in force.
    /// </summary>
    private KeyStoreChange LoadAndSwap(bool unlock)
    {
        KeyStoreSnapshot before;
        KeyStoreSnapshot next;
        using (_folder.LockForReading(LockTimeout))
        {
            // Import and Remove swap the snapshot under the same lock: no reload can put an older content back.
            before = _snapshot;
            RequireStore(_folder.Root);
            next = KeyStoreSnapshot.Load(_folder);

            // The same files give the same snapshot back, so Version (and what callers cached on it) changes only when a file did.
            if (next.ContentId == before.ContentId)
            {
                next = before;
            }
            if (unlock)
            {
                _ = Unlock(next);
            }

            _snapshot = next;
        }

        ForgetKeysNotIn(next);
        return KeyStoreChange.Between(before.Entries, next.Entries);
    }

    /// <summary>Opens every private key of <paramref name="snapshot"/> (which need not be in force yet) into the caches.</summary>
    private int Unlock(KeyStoreSnapshot snapshot)
    {
        var (certificates, pgpKeys) = PrivateEntries(snapshot);
        foreach (var certificate in certificates)
        {
            _ = OpenPrivateKey(certificate);
        }

        foreach (var key in pgpKeys)
        {
            foreach (var subkey in key.Keys.Where(k => k.HasSecretKey))
            {
                _ = OpenPgp(key, SubkeyId(subkey), Passphrase());
            }
        }

        return certificates.Count + pgpKeys.Count;
    }

    private PgpPrivateKey OpenPgp(PgpKeyEntry current, long keyId, KeyStorePassphrase passphrase) =>
        OpenOnce(_pgpKeys, (current.Fingerprint, keyId), () => PrivateKeyOpener.OpenPgp(current, keyId, passphrase));

    /// <summary>Drops the opened private keys of entries <paramref name="snapshot"/> no longer holds with a private key.</summary>
    private void ForgetKeysNotIn(KeyStoreSnapshot snapshot)
    {
        var certificates = snapshot.PrivateCertificates.Select(c => c.Fingerprint).ToHashSet(StringComparer.Ordinal);
        foreach (var fingerprint in _smimeKeys.Keys.Where(f => !certificates.Contains(f)))
        {
            _smimeKeys.TryRemove(fingerprint, out _);
        }

        var pgpKeys = snapshot.PrivatePgpKeys.Select(k => k.Fingerprint).ToHashSet(StringComparer.Ordinal);
        foreach (var key in _pgpKeys.Keys.Where(k => !pgpKeys.Contains(k.Item1)))
        {
            _pgpKeys.TryRemove(key, out _);
        }
    }

    /// <summary>The entries holding a private key; refuses when there are some but no passphrase.</summary>
    private (List<SmimeCertificateEntry> Certificates, List<PgpKeyEntry> PgpKeys) PrivateEntries() => PrivateEntries(_snapshot);

    private (List<SmimeCertificateEntry> Certificates, List<PgpKeyEntry> PgpKeys) PrivateEntries(KeyStoreSnapshot snapshot)
    {
        var certificates = snapshot.PrivateCertificates.ToList();
        var pgpKeys = snapshot.PrivatePgpKeys.Where(k => k.Keys.Any(s => s.HasSecretKey)).ToList();
        var count = certificates.Count + pgpKeys.Count;
        if (count > 0 && _options.Passphrase is null)
        {
            throw new KeyStoreException(
                $"{Directory}: the key store holds {count} private key(s) but no passphrase was given: set {KeyStorePassphrase.EnvironmentVariable} (or keystore_passphrase_file in the config) to the store passphrase");
        }

        return (certificates, pgpKeys);
    }

    private static long SubkeyId(PgpSubkey subkey) =>
        long.Parse(subkey.KeyId, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Opens a private key once and keeps it; a failure is not kept, so a key imported or restored later opens.</summary>
    private static T OpenOnce<TKey, T>(ConcurrentDictionary<TKey, Lazy<T>> cache, TKey key, Func<T> open)
        where TKey : notnull
    {
        var opened = cache.GetOrAdd(key, _ => new Lazy<T>(open));
        try
        {
            return opened.Value;
        }
        catch (KeyStoreException e)
        {
            cache.TryRemove(KeyValuePair.Create(key, opened));
            if (e.InnerException is System.Security.Cryptography.CryptographicException or PgpException)
            {
                // Every key shares the store passphrase: one that fails to open says the passphrase is wrong, wherever it shows.
                throw new KeyStoreException(
                    $"{e.Message}: the passphrase in {KeyStorePassphrase.EnvironmentVariable} (or keystore_passphrase_file) is not this store's; give the right one", e);
            }

            throw;
        }
    }

    private KeyStorePassphrase Passphrase() =>
        _options.Passphrase ?? throw new KeyStoreException(
            $"private keys are locked: set {KeyStorePassphrase.EnvironmentVariable} (or keystore_passphrase_file in the config)");

    private IEnumerable<string> FilesOf(KeyEntry entry) => entry switch
    {
        SmimeCertificateEntry => [_folder.SmimeKey(entry.Fingerprint), _folder.SmimeCertificate(entry.Fingerprint)],
        PgpKeyEntry => [_folder.PgpSecret(entry.Fingerprint), _folder.PgpPublic(entry.Fingerprint), _folder.PgpSettings(entry.Fingerprint)],
        CrlEntry => [_folder.Crl(entry.Fingerprint)],
        _ => throw new InvalidOperationException($"unknown entry kind {entry.Kind}"),
    };

    private List<T> BestFirst<T>(IEnumerable<T> entries)
        where T : KeyEntry
    {
        var now = _options.Time.GetUtcNow();
        return [.. entries
            .OrderBy(e => e.StatusAt(now) == KeyStatus.Valid ? 0 : 1)
            .ThenByDescending(e => e.NotBefore)
            .ThenBy(e => e.Fingerprint, StringComparer.Ordinal)];
    }

    private static string NormalizeDomain(string domain)
    {
        var trimmed = domain.Trim().TrimStart('@').ToLowerInvariant();
        if (trimmed.Length == 0 || trimmed.Contains('@', StringComparison.Ordinal) || !trimmed.Contains('.', StringComparison.Ordinal) || trimmed.Any(char.IsWhiteSpace))
        {
            throw new KeyStoreException($"\"{domain}\" is not a domain name (expected something like example.org)");
        }

        return trimmed;
    }
}
