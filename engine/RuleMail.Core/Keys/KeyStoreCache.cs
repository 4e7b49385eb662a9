using System.Security.Cryptography;
using System.Text;

namespace RuleMail.Keys;

/// <summary>
/// Facts derived from the key store's files, kept in <see cref="FileName"/> inside the store folder so that a load does
/// not parse every certificate or verify every OpenPGP self-signature again, in this process or the next.
/// </summary>
/// <remarks>
/// <para>The key files stay the source of truth. A certificate's facts are keyed by its fingerprint, the SHA-256 of
/// its DER, which is also its file's name: a load takes them by name without reading the file, and the file is read
/// and checked to still be that certificate when it is used (a file changed or damaged in place is refused there, and
/// derived afresh once the cache is gone). OpenPGP key rings change in place (new subkeys, user IDs, revocations), so
/// their facts are keyed by the SHA-256 of the files' bytes, and a load reads and hashes each: a ring whose bytes
/// changed — even with the same size and time — misses and is derived again. A CRL verdict is keyed by the CRL's and
/// the issuer's fingerprints. A removed file's record is dropped, and a record is never used for other bytes than its
/// own.</para>
/// <para>Each build of RuleMail keeps its own cache file (<see cref="FileName"/>); a cache file that is damaged,
/// truncated, of another format or written by another build (its module version differs) is ignored whole and rebuilt. The cache holds nothing that is not in the key files; whoever
/// can write it can write the key files beside it, so it opens no new way to put a key in the store.</para>
/// <para>Not thread-safe while being filled; <see cref="KeyStoreSnapshot.Load"/> uses one per load.</para>
/// </remarks>
internal sealed class KeyStoreCache
{
    /// <summary>What every cache file's name starts with.</summary>
    public const string FilePrefix = ".rulemail-cache";

    /// <summary>How many cache files of other builds a write leaves in the store (the most recently written).</summary>
    private const int OtherBuildsKept = 3;

    private const int Format = 2;
    private const byte SmimeRecord = 1;
    private const byte PgpRecord = 2;
    private const byte VerdictRecord = 3;
    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
    private static readonly byte[] Magic = "RuleMail key store cache\n"u8.ToArray();

    private readonly Dictionary<string, SmimeFacts> _smime = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PgpFacts> _pgp = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _verdicts = new(StringComparer.Ordinal);

    /// <summary>The build whose derivations the cache holds: facts derived by other code are not taken on trust.</summary>
    private static Guid Build { get; } = typeof(KeyStoreCache).Assembly.ManifestModule.ModuleVersionId;

    /// <summary>
    /// This build's cache file: one per build, so that two builds sharing a store (a published service and a
    /// <c>dotnet run</c> from the source tree, or nodes during an upgrade) do not each throw the other's away and derive
    /// the whole store on every command.
    /// </summary>
    public static string FileName { get; } = $"{FilePrefix}-{Build:N}"[..(FilePrefix.Length + 13)];

    public int Count => _smime.Count + _pgp.Count + _verdicts.Count;

    /// <summary>How many facts of this cache were derived afresh rather than found in the earlier one.</summary>
    public int Derived { get; private set; }

    /// <summary>The cache file of <paramref name="root"/>; an empty cache when there is none or it cannot be used.</summary>
    public static KeyStoreCache Read(string root)
    {
        var cache = new KeyStoreCache();
        byte[] content;
        try
        {
            content = File.ReadAllBytes(Path.Combine(root, FileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return cache;
        }

        if (content.Length < Magic.Length + SHA256.HashSizeInBytes ||
            !content.AsSpan(0, Magic.Length).SequenceEqual(Magic) ||
            !SHA256.HashData(content.AsSpan(0, content.Length - SHA256.HashSizeInBytes)).AsSpan().SequenceEqual(content.AsSpan(content.Length - SHA256.HashSizeInBytes)))
        {
            return cache;
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(content, Magic.Length, content.Length - Magic.Length - SHA256.HashSizeInBytes), Encoding.UTF8);
            if (reader.ReadInt32() != Format || new Guid(reader.ReadBytes(16)) != Build)
            {
                return cache;
            }

            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var kind = reader.ReadByte();
                var key = reader.ReadString();
                switch (kind)
                {
                    case SmimeRecord:
                        cache._smime[key] = ReadSmime(reader);
                        break;
                    case PgpRecord:
                        cache._pgp[key] = ReadPgp(reader);
                        break;
                    case VerdictRecord:
                        cache._verdicts[key] = reader.ReadBoolean();
                        break;
                    default:
                        return new KeyStoreCache();
                }
            }

            return reader.BaseStream.Position == reader.BaseStream.Length ? cache : new KeyStoreCache();
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException or ArgumentException or DecoderFallbackException)
        {
            return new KeyStoreCache();
        }
    }

    /// <summary>The facts <paramref name="known"/> holds for the certificate named <paramref name="fingerprint"/> (kept in this cache too), or null.</summary>
    public SmimeFacts? SmimeKnown(string fingerprint, KeyStoreCache known)
    {
        if (!_smime.TryGetValue(fingerprint, out var facts) && known._smime.TryGetValue(fingerprint, out facts))
        {
            _smime[fingerprint] = facts;
        }

        return facts;
    }

    /// <summary>Keeps the facts just derived from the certificate named <paramref name="fingerprint"/>.</summary>
    public void SmimeDerived(string fingerprint, SmimeFacts facts)
    {
        _smime[fingerprint] = facts;
        Derived++;
    }

    /// <summary>The facts of the OpenPGP key with content hash <paramref name="key"/>: from <paramref name="known"/>, or verified now.</summary>
    public PgpFacts Pgp(string key, KeyStoreCache known, Func<PgpFacts> derive) => Take(_pgp, known._pgp, key, derive);

    /// <summary>Whether the certificate <paramref name="issuer"/> signed the CRL <paramref name="crl"/> (both fingerprints).</summary>
    public bool Verdict(string crl, string issuer, KeyStoreCache known, Func<bool> derive) => Take(_verdicts, known._verdicts, crl + ":" + issuer, derive);

    /// <summary>
    /// Writes the cache when it differs from <paramref name="known"/> (what the file held). Best effort: a store the
    /// process may only read keeps working without it, as does one whose disk is full.
    /// </summary>
    public void WriteIfChanged(string root, KeyStoreCache known)
    {
        if (Derived == 0 && Count == known.Count)
        {
            return;
        }

        try
        {
            Write(root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Without a cache the next load derives the facts again: slower, never wrong.
        }
    }

    /// <summary>The facts the cache holds for the certificate with fingerprint <paramref name="key"/> (SHA-256 of its DER, hex), if any.</summary>
    internal SmimeFacts? SmimeOf(string key) => _smime.GetValueOrDefault(key);

    /// <summary>Puts facts under <paramref name="key"/> as a load would (tests forge caches with it).</summary>
    internal void Put(string key, SmimeFacts facts) => _smime[key] = facts;

    /// <summary>Writes the cache whatever it holds.</summary>
    internal void Write(string root)
    {
        KeyStoreFolder.WriteAtomically(Path.Combine(root, FileName), Serialize(), secret: false);
        PruneOtherBuilds(root);
    }

    /// <summary>A cache file of some build: <see cref="FilePrefix"/> alone (builds before one file per build) or with a build's 12 hex digits.</summary>
    private static bool IsCacheFileName(string name) =>
        name == FilePrefix ||
        (name.Length == FileName.Length && name.StartsWith(FilePrefix + "-", StringComparison.Ordinal) &&
         !name.AsSpan(FilePrefix.Length + 1).ContainsAnyExcept(LowerHex));

    /// <summary>Deletes the cache files of other builds but the <see cref="OtherBuildsKept"/> most recently written (best effort).</summary>
    private static void PruneOtherBuilds(string root)
    {
        try
        {
            var others = new DirectoryInfo(root).EnumerateFiles(FilePrefix + "*")
                .Where(f => f.Name != FileName && IsCacheFileName(f.Name))
                .OrderByDescending(f => f.LastWriteTimeUtc)
                .Skip(OtherBuildsKept);
            foreach (var old in others)
            {
                old.Delete();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another process pruned it first, or the store is read-only: the files only take room.
        }
    }

    private T Take<T>(Dictionary<string, T> into, Dictionary<string, T> known, string key, Func<T> derive)
    {
        if (into.TryGetValue(key, out var value))
        {
            return value;
        }

        if (!known.TryGetValue(key, out value))
        {
            value = derive();
            Derived++;
        }

        into[key] = value;
        return value;
    }

    private byte[] Serialize()
    {
        var buffer = new MemoryStream();
        buffer.Write(Magic);
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Format);
            writer.Write(Build.ToByteArray());
            writer.Write(Count);
            foreach (var (key, facts) in _smime)
            {
                writer.Write(SmimeRecord);
                writer.Write(key);
                WriteSmime(writer, facts);
            }

            foreach (var (key, facts) in _pgp)
            {
                writer.Write(PgpRecord);
                writer.Write(key);
                WritePgp(writer, facts);
            }

            foreach (var (key, verdict) in _verdicts)
            {
                writer.Write(VerdictRecord);
                writer.Write(key);
                writer.Write(verdict);
            }
        }

        buffer.Write(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
        return buffer.ToArray();
    }

    private static void WriteSmime(BinaryWriter writer, SmimeFacts facts)
    {
        writer.Write(facts.Fingerprint);
        WriteStrings(writer, facts.Addresses);
        WriteTime(writer, facts.NotBefore);
        WriteTime(writer, facts.NotAfter);
        writer.Write((int)facts.Usages);
        writer.Write(facts.IsCertificateAuthority);
        writer.Write(facts.HasAltNameAddress);
        writer.Write(facts.IsRsa);
        writer.Write(facts.Subject);
        writer.Write(facts.Issuer);
        writer.Write(facts.SerialNumber);
        writer.Write(facts.BcSerial);
        writer.Write(facts.SubjectKey);
    }

    private static SmimeFacts ReadSmime(BinaryReader reader) => new(
        reader.ReadString(),
        ReadStrings(reader),
        ReadTime(reader),
        ReadTime(reader),
        (KeyUsages)reader.ReadInt32(),
        reader.ReadBoolean(),
        reader.ReadBoolean(),
        reader.ReadBoolean(),
        reader.ReadString(),
        reader.ReadString(),
        reader.ReadString(),
        reader.ReadString(),
        reader.ReadString());

    private static void WritePgp(BinaryWriter writer, PgpFacts facts)
    {
        writer.Write(facts.Fingerprint);
        WriteStrings(writer, facts.UserIds);
        WriteStrings(writer, facts.Addresses);
        writer.Write(facts.Keys.Count);
        foreach (var key in facts.Keys)
        {
            writer.Write(key.Fingerprint);
            writer.Write(key.KeyId);
            writer.Write(key.Algorithm);
            WriteTime(writer, key.Created);
            WriteOptionalTime(writer, key.Expires);
            writer.Write((int)key.Usages);
            WriteOptionalTime(writer, key.RevokedAt);
            writer.Write(key.HasSecretKey);
            writer.Write(key.IsPrimary);
        }
    }

    private static PgpFacts ReadPgp(BinaryReader reader)
    {
        var fingerprint = reader.ReadString();
        var userIds = ReadStrings(reader);
        var addresses = ReadStrings(reader);
        var count = reader.ReadInt32();
        if (count < 1 || count > 10_000)
        {
            throw new FormatException("implausible subkey count");
        }

        var keys = new List<PgpSubkey>(count);
        for (var i = 0; i < count; i++)
        {
            keys.Add(new PgpSubkey(
                reader.ReadString(),
                reader.ReadString(),
                reader.ReadString(),
                ReadTime(reader),
                ReadOptionalTime(reader),
                (KeyUsages)reader.ReadInt32(),
                ReadOptionalTime(reader),
                reader.ReadBoolean(),
                reader.ReadBoolean()));
        }

        return new PgpFacts(fingerprint, userIds, addresses, keys);
    }

    private static void WriteStrings(BinaryWriter writer, IReadOnlyList<string> values)
    {
        writer.Write(values.Count);
        foreach (var value in values)
        {
            writer.Write(value);
        }
    }

    private static List<string> ReadStrings(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > 10_000)
        {
            throw new FormatException("implausible list length");
        }

        var values = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            values.Add(reader.ReadString());
        }

        return values;
    }

    private static void WriteTime(BinaryWriter writer, DateTimeOffset time) => writer.Write(time.UtcTicks);

    private static DateTimeOffset ReadTime(BinaryReader reader) => new(reader.ReadInt64(), TimeSpan.Zero);

    private static void WriteOptionalTime(BinaryWriter writer, DateTimeOffset? time)
    {
        writer.Write(time is not null);
        if (time is { } value)
        {
            WriteTime(writer, value);
        }
    }

    private static DateTimeOffset? ReadOptionalTime(BinaryReader reader) => reader.ReadBoolean() ? ReadTime(reader) : null;
}
